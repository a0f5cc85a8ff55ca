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

// probe is an htmx button added to a real page of the demo (the page's own htmx and app.js
// handle it): it loads the build profiles page's heading into #probe-out, so the test does not
// depend on which of the pages' buttons use htmx.
const probe = `(() => {
  const s = document.createElement('section');
  s.innerHTML = '<h2>Probe</h2><button type="button" id="probe" hx-get="/ui/build-profiles" hx-select="main h1" hx-target="#probe-out">Load the heading</button>' +
    '<button type="button" id="probe-error" hx-get="/ui/connections/no-such-connection" hx-target="#probe-out">Load an error</button><div id="probe-out"></div>';
  document.querySelector('main').appendChild(s);
  htmx.process(s);
  document.getElementById('probe').focus();
  window.__sent = 0;
  document.addEventListener('htmx:beforeRequest', () => window.__sent++);
  return true;
})()`

// A request of the pages that cannot reach the service, or gets no answer, says so where its
// answer would have gone, with a Retry button that repeats it; while it runs its target is
// aria-busy and its button aria-disabled with focus kept on it, and more clicks start no
// second request. Chromium's own network layer fails or holds the request (DevTools Fetch),
// so htmx sees what a browser sees when the service is down or stuck. Errors take focus: on
// the error page's load, and when a swap brings one.
func TestBrowserRequestFailsInPlace(t *testing.T) {
	d := runDemo(t)
	b := bt.New(t)

	var mu sync.Mutex
	mode := "fail"
	var held []fetch.RequestID
	var reached int
	b.Listen(func(ev any) {
		e, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		mu.Lock()
		m := mode
		reached++
		if m == "hold" {
			held = append(held, e.RequestID)
		}
		mu.Unlock()
		go func() {
			switch m {
			case "fail":
				_ = chromedp.Run(b.Context(), fetch.FailRequest(e.RequestID, network.ErrorReasonConnectionRefused))
			case "pass":
				_ = chromedp.Run(b.Context(), fetch.ContinueRequest(e.RequestID))
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
		return reached
	}
	// Only the probe's requests: the page itself loads before Fetch is enabled.
	pattern := []*fetch.RequestPattern{{URLPattern: "*/ui/build-profiles"}}
	const region = `document.getElementById('probe-out')`

	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 375, 812}} {
		var active string
		b.Run("the error page's alert takes focus "+size.name,
			bt.Viewport(size.w, size.h, size.name == "phone"),
			chromedp.Navigate(d.service+"/ui/connections/no-such-connection"),
			chromedp.WaitVisible(`main [role=alert]`, chromedp.ByQuery),
			bt.WaitJS(`document.activeElement && document.activeElement.matches('main [role=alert]')`),
		)

		setMode("fail")
		// Three steps, so that a failure names the one that did not happen.
		b.Run("open the connections page "+size.name,
			chromedp.Navigate(d.service+"/ui/connections"),
			chromedp.WaitVisible(`main h1`, chromedp.ByQuery),
			bt.WaitJS(`document.readyState === 'complete' && !!window.htmx`),
			chromedp.Evaluate(probe, nil),
			// The key goes to the probe once the page's deferred scripts have settled.
			bt.WaitJS(`document.activeElement && document.activeElement.id === 'probe'`),
			fetch.Enable().WithPatterns(pattern),
		)
		b.Run("refused "+size.name,
			// Focus again right before the key: nothing on the page may have taken it since.
			chromedp.Evaluate(`document.getElementById('probe').focus(); document.activeElement.id === 'probe'`, nil),
			chromedp.KeyEvent("\r"), // on the focused probe button
			bt.WaitJS(`window.__sent > 0`),
		)
		b.Run("the failure shows "+size.name,
			chromedp.WaitVisible(`#probe-out [data-request-failed=send]`, chromedp.ByQuery),
		)
		var text, busy string
		b.Run("read the failure "+size.name,
			bt.Text(`#probe-out [data-request-failed=send]`, &text),
			chromedp.Evaluate(`document.activeElement.textContent.trim()`, &active),
			chromedp.Evaluate(`String(`+region+`.getAttribute('aria-busy'))`, &busy),
		)
		if !strings.HasPrefix(text, "Could not reach repoconnect. The connection to 127.0.0.1:") || !strings.HasSuffix(text, "Retry") {
			t.Errorf("%s: the failure reads %q", size.name, text)
		}
		if active != "Retry" {
			t.Errorf("%s: focus on %q after the failure, want the Retry button", size.name, active)
		}
		if busy != "null" {
			t.Errorf("%s: aria-busy %q after the request ended", size.name, busy)
		}
		b.Shot("request-failed-" + size.name)
		accessible(t, b, "request-failed-"+size.name)

		// Retry repeats the request; held, it shows busy, keeps focus on the button, and
		// more clicks send nothing.
		setMode("hold")
		before := count()
		var disabled string
		b.Run("retry held "+size.name,
			chromedp.Evaluate(`window.__sent = 0; true`, nil),
			chromedp.KeyEvent("\r"), // on the focused Retry button
			bt.WaitJS(region+`.getAttribute('aria-busy') === 'true'`),
			chromedp.Evaluate(`String(document.getElementById('probe').getAttribute('aria-disabled'))`, &disabled),
			chromedp.Evaluate(`document.activeElement.id`, &active),
			chromedp.Evaluate(`document.getElementById('probe').click(); document.getElementById('probe').click(); true`, nil),
		)
		if disabled != "true" || active != "probe" {
			t.Errorf("%s: while its request runs the button is aria-disabled %q and focus on %q, want true and the button", size.name, disabled, active)
		}
		b.Shot("request-busy-" + size.name)
		mu.Lock()
		ids := held
		held = nil
		mode = "pass"
		mu.Unlock()
		for _, id := range ids {
			b.Run("release", fetch.ContinueRequest(id))
		}
		var sent int
		b.Run("answered "+size.name,
			bt.WaitText(`#probe-out`, "Build profiles"),
			bt.WaitJS(`!document.querySelector('[data-request-failed]') && `+region+`.getAttribute('aria-busy') === null && document.getElementById('probe').getAttribute('aria-disabled') === null`),
			chromedp.Evaluate(`window.__sent`, &sent),
		)
		if n := count() - before; sent != 1 || n != 1 {
			t.Errorf("%s: %d requests started and %d reached the network after Retry and two more clicks, want 1", size.name, sent, n)
		}

		// No answer within the bound: the request is ended and said so.
		setMode("hold")
		b.Run("timeout "+size.name,
			chromedp.Evaluate(`htmx.config.timeout = 300; document.getElementById('probe').click(); true`, nil),
			chromedp.WaitVisible(`#probe-out [data-request-failed=timeout]`, chromedp.ByQuery),
			bt.Text(`#probe-out [data-request-failed=timeout]`, &text),
			fetch.Disable(),
		)
		if !strings.HasPrefix(text, "No answer from repoconnect in 300 ms.") || !strings.HasSuffix(text, "Retry") {
			t.Errorf("%s: the timeout reads %q", size.name, text)
		}
		accessible(t, b, "request-timeout-"+size.name)
		mu.Lock()
		held = nil
		mu.Unlock()

		// A swap that brings an error moves focus to it (the service sends the errors of
		// htmx requests to the page's #alerts region).
		b.Run("a swapped-in error takes focus "+size.name,
			chromedp.Evaluate(`htmx.config.timeout = 35000; document.getElementById('probe-error').focus(); true`, nil),
			chromedp.KeyEvent("\r"),
			bt.WaitJS(`document.activeElement && document.activeElement.matches('#alerts [role=alert]')`),
		)
	}
	var errs []string
	for _, e := range b.ConsoleErrors() {
		// htmx logs the failures the test makes, Chromium the refused loads and the 404s.
		if !strings.Contains(e, "htmx:") && !strings.Contains(e, "ERR_CONNECTION_REFUSED") && !strings.Contains(e, "404 (Not Found)") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Errorf("the pages reported errors: %q", errs)
	}
}
