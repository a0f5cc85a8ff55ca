package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// a11yPage is one page state of the walk: its path and what shows it has loaded.
type a11yPage struct {
	name, path, ready string
}

// Every page of the demo, at 1280×900 and at 375×812: axe-core at 0 violations and the
// focus-contrast rule at 0 (every focusable element's indicator ≥ 3:1 against the colours
// beside it, ≥ 2 CSS px), no sideways scroll, every form control labelled, and the first Tab
// on the skip link. The lowest focus ratio of each page is written to focus-ratios.txt in the
// test's artifact directory.
func TestBrowserA11yEveryPage(t *testing.T) {
	d := runDemo(t)
	conn := d.api("POST", "/api/v1/connections", `{"name":"on-prem","type":"server-pat","serverUrl":"`+d.serverURL+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	connID := conn["id"].(string)
	repo := d.api("GET", "/api/v1/connections/"+connID+"/repositories?q=ios-app", "")["value"].([]any)[0].(map[string]any)
	prof := d.api("POST", "/api/v1/build-profiles", `{"name":"ios","connectionId":"`+connID+`","repositoryId":"`+repo["id"].(string)+`","branch":"main"}`)
	profID := prof["id"].(string)
	run := d.api("POST", "/api/v1/build-profiles/"+profID+"/runs", `{}`)
	for deadline := time.Now().Add(time.Minute); run["state"] != "succeeded" && run["state"] != "failed"; {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not end: %v", run)
		}
		run = d.api("GET", "/api/v1/runs/"+run["id"].(string), "")
	}
	pages := []a11yPage{
		{"connections", "/ui/connections", `table.connections tbody tr`},
		{"new-connection", "/ui/connections/new", `main h1`},
		{"new-server", "/ui/connections/new?kind=server", `#remoteUrl`},
		{"new-services-oauth", "/ui/connections/new?kind=services", `main form`},
		{"new-services-pat", "/ui/connections/new?kind=services&auth=pat", `#pat`},
		{"connection", "/ui/connections/" + connID, `main h1`},
		{"choose", "/ui/new/choose?connection=" + connID, `main h1`},
		{"delete-connection", "/ui/connections/" + connID + "/delete", `main h1`},
		{"profiles", "/ui/build-profiles", `main h1`},
		{"profile", "/ui/build-profiles/" + profID, `main h1`},
		{"run", "/ui/build-profiles/" + profID + "/runs/" + run["id"].(string), `main h1`},
		{"error-unknown-connection", "/ui/connections/no-such-connection", `main [role=alert]`},
	}
	b := bt.New(t)
	const overflow = `document.documentElement.scrollWidth > document.documentElement.clientWidth`
	const unlabelled = `[...document.querySelectorAll('input:not([type=hidden]),select,textarea')].filter(e => e.getClientRects().length && !e.labels.length && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')).map(e => e.id || e.name)`
	// tooWide names the innermost elements reaching past the viewport's right edge.
	const tooWide = `[...document.querySelectorAll('body *')].filter(e => { const r = e.getBoundingClientRect(); return r.width && r.right > document.documentElement.clientWidth + 1 && ![...e.children].some(c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 1); }).slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right) + 'px: ' + e.textContent.trim().slice(0, 40))`
	var ratios []string
	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 375, 812}} {
		for _, p := range pages {
			step := p.name + "-" + size.name
			var wide bool
			var bare []string
			var first string
			b.Run(step,
				bt.Viewport(size.w, size.h, size.name == "phone"),
				chromedp.Navigate(d.service+p.path),
				chromedp.WaitVisible(p.ready, chromedp.ByQuery),
				chromedp.Evaluate(overflow, &wide),
				chromedp.Evaluate(unlabelled, &bare),
				bt.FirstTab(&first),
			)
			if !strings.HasPrefix(first, "a.skip") {
				t.Errorf("%s: the first Tab lands on %q, want the skip link", step, first)
			}
			if wide {
				var culprits []string
				b.Run("what is too wide on "+step, chromedp.Evaluate(tooWide, &culprits))
				t.Errorf("%s scrolls sideways at %d px: %v", step, size.w, culprits)
			}
			if len(bare) > 0 {
				t.Errorf("%s has form controls without a label: %v", step, bare)
			}
			focus := accessible(t, b, step)
			if len(focus.Elements) < 4 {
				t.Errorf("%s: focus contrast checked %d elements, want at least the skip link and the header's three links", step, len(focus.Elements))
			}
			ratios = append(ratios, fmt.Sprintf("%-34s %3d elements, lowest %5.2f:1 (%s, %s on %s)", step, len(focus.Elements), focus.Worst.Ratio, focus.Worst.Target, focus.Worst.Indicator, focus.Worst.Background))
			b.Shot("a11y-" + step)
		}
	}
	var errs []string
	for _, e := range b.ConsoleErrors() {
		// The error page answers 404, which Chromium logs as a failed load.
		if !strings.Contains(e, "404 (Not Found)") || !strings.Contains(e, "/no-such-connection") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Errorf("the pages reported errors: %q", errs)
	}
	report := strings.Join(ratios, "\n") + "\n"
	t.Log("focus contrast, lowest per page:\n" + report)
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "focus-ratios.txt"), []byte(report), 0o644); err != nil {
		t.Error(err)
	}
}

// A request of the pages that cannot reach the service, or gets no answer, says so where its
// answer would have gone, with a Retry button that repeats it; while it runs its target is
// aria-busy and its button aria-disabled (focus stays on it), and a second click starts no
// second request. Chromium's own network layer fails the request (DevTools Fetch), so htmx
// sees what a browser sees when the service is down.
func TestBrowserRequestFailsInPlace(t *testing.T) {
	d := runDemo(t)
	conn := d.api("POST", "/api/v1/connections", `{"name":"on-prem","type":"server-pat","serverUrl":"`+d.serverURL+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	connID := conn["id"].(string)
	b := bt.New(t)

	// Requests to the check are held (paused) or failed as the test says.
	var mu sync.Mutex
	mode := "fail"
	var held []fetch.RequestID
	var checks int
	b.Listen(func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		mu.Lock()
		m := mode
		checks++
		if m == "hold" {
			held = append(held, e.RequestID)
		}
		mu.Unlock()
		go func() {
			ctx := b.Context()
			switch m {
			case "fail":
				_ = chromedp.Run(ctx, fetch.FailRequest(e.RequestID, network.ErrorReasonConnectionRefused))
			case "pass":
				_ = chromedp.Run(ctx, fetch.ContinueRequest(e.RequestID))
			}
		}()
	})
	setMode := func(m string) {
		mu.Lock()
		mode = m
		mu.Unlock()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return checks
	}
	pattern := []*fetch.RequestPattern{{URLPattern: "*/ui/connections/" + connID + "/check"}}

	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 375, 812}} {
		setMode("fail")
		b.Run("refused check "+size.name,
			bt.Viewport(size.w, size.h, size.name == "phone"),
			chromedp.Navigate(d.service+"/ui/connections/"+connID),
			chromedp.WaitVisible(`button[hx-post$="/check"]`, chromedp.ByQuery),
			fetch.Enable().WithPatterns(pattern),
			chromedp.Evaluate(`document.querySelector('button[hx-post$="/check"]').focus(); true`, nil),
			chromedp.KeyEvent("\r"),
			chromedp.WaitVisible(`[data-request-failed=send]`, chromedp.ByQuery),
		)
		var text, focused, busy string
		b.Run("read the failure "+size.name,
			bt.Text(`[data-request-failed=send]`, &text),
			chromedp.Evaluate(`document.activeElement.textContent.trim()`, &focused),
			chromedp.Evaluate(`String(document.querySelector('#check-outcome').getAttribute('aria-busy'))`, &busy),
		)
		if !strings.HasPrefix(text, "Could not reach repoconnect.") || !strings.Contains(text, "Retry") {
			t.Errorf("%s: the failure reads %q", size.name, text)
		}
		if focused != "Retry" {
			t.Errorf("%s: focus on %q after the failure, want the Retry button", size.name, focused)
		}
		if busy != "null" {
			t.Errorf("%s: aria-busy %q after the request ended", size.name, busy)
		}
		b.Shot("request-failed-" + size.name)
		accessible(t, b, "request-failed-"+size.name)

		// Retry repeats the request; held, it shows busy and a second press sends nothing.
		setMode("hold")
		before := count()
		var disabled string
		var sent int
		b.Run("retry held "+size.name,
			chromedp.Evaluate(`window.__sent = 0; document.addEventListener('htmx:beforeRequest', () => window.__sent++); true`, nil),
			chromedp.KeyEvent("\r"), // on the focused Retry button
			bt.WaitJS(`document.querySelector('#check-outcome').getAttribute('aria-busy') === 'true'`),
			chromedp.Evaluate(`String(document.querySelector('button[hx-post$="/check"]').getAttribute('aria-disabled'))`, &disabled),
			chromedp.Evaluate(`document.querySelector('button[hx-post$="/check"]').click(); document.querySelector('button[hx-post$="/check"]').click(); true`, nil),
		)
		if disabled != "true" {
			t.Errorf("%s: the Check button is not aria-disabled while its request runs (%q)", size.name, disabled)
		}
		// The held request is let go; the answer replaces the failure.
		mu.Lock()
		ids := held
		held = nil
		mode = "pass"
		mu.Unlock()
		for _, id := range ids {
			b.Run("release", fetch.ContinueRequest(id))
		}
		b.Run("answered "+size.name,
			bt.WaitJS(`!document.querySelector('[data-request-failed]') && document.querySelector('#check-outcome').getAttribute('aria-busy') === null && document.querySelector('#check-outcome').textContent.trim() !== ''`),
			chromedp.Evaluate(`window.__sent`, &sent),
			fetch.Disable(),
		)
		if n := count() - before; sent != 1 || n != 1 {
			t.Errorf("%s: %d requests started and %d reached the network after Retry and two more clicks, want 1", size.name, sent, n)
		}

		// No answer in the bound: the request is ended and said so.
		setMode("hold")
		b.Run("timeout "+size.name,
			fetch.Enable().WithPatterns(pattern),
			chromedp.Evaluate(`htmx.config.timeout = 300; document.querySelector('button[hx-post$="/check"]').click(); true`, nil),
			chromedp.WaitVisible(`[data-request-failed=timeout]`, chromedp.ByQuery),
			bt.Text(`[data-request-failed=timeout]`, &text),
			fetch.Disable(),
		)
		if !strings.HasPrefix(text, "No answer from repoconnect in 300 ms.") || !strings.Contains(text, "Retry") {
			t.Errorf("%s: the timeout reads %q", size.name, text)
		}
		accessible(t, b, "request-timeout-"+size.name)
		mu.Lock()
		held = nil
		mu.Unlock()
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Logf("console (failed loads are expected here): %q", errs)
	}
}
