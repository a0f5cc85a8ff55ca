//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// silentServer accepts connections and never answers: a server behind a firewall that lets
// the connection through and then says nothing. accepted and closed count its connections,
// closed when the client hung up.
func silentServer(t *testing.T) (addr string, accepted, closed *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted, closed = new(atomic.Int32), new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						closed.Add(1) // the client hung up (or the test ended)
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), accepted, closed
}

// firewalledServer is a loopback address whose connections hang, as behind a firewall that
// drops them: a socket listening with a backlog of 0 whose one queued connection is never
// accepted, so the kernel drops every later SYN and the client waits for its timeout (Linux).
func firewalledServer(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	filler, err := net.DialTimeout("tcp", addr, 5*time.Second) // fills the queue
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		t.Skip("this kernel completes connections past a full backlog; no firewalled server to test against")
	}
	return addr
}

// fillServerForm fills the Server form's fields.
func fillServerForm(serverURL, vd, collection, pat string) chromedp.Action {
	js := fmt.Sprintf(`(() => { const v = {name: "on-prem", serverUrl: %q, virtualDirectory: %q, collection: %q, pat: %q};
		for (const [id, val] of Object.entries(v)) { const e = document.getElementById(id); if (!e) { return id; } e.value = val; }
		return ""; })()`, serverURL, vd, collection, pat)
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var missing string
		if err := chromedp.Evaluate(js, &missing).Do(ctx); err != nil {
			return err
		}
		if missing != "" {
			return fmt.Errorf("the form has no #%s", missing)
		}
		return nil
	})
}

// The token check in a real browser, at 1280×900 and 375×812: against a server that never
// answers it says what it is doing (the host, the 30 s bound), disables itself, marks its
// region busy, and Cancel ends it in place (the connection to the server closed); a wrong PAT's
// result lands right after the PAT field, in view, with focus on its heading, its sentence
// once on the page.
func TestBrowserCheckLive(t *testing.T) {
	d := runDemo(t, "--allow-destinations", "loopback") // the silent server is not one of demo's simulators
	silent, accepted, closed := silentServer(t)
	firewalled := firewalledServer(t)
	demo, err := url.Parse(d.serverURL)
	if err != nil {
		t.Fatal(err)
	}
	vd := strings.Trim(demo.Path, "/")
	b := bt.New(t)
	for _, vp := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"1280", 1280, 900, false}, {"375", 375, 812, true}} {
		b.Run("open the Server form at "+vp.name,
			bt.Viewport(vp.width, vp.height, vp.mobile),
			chromedp.Navigate(d.service+"/ui/connections/new?kind=server"),
			chromedp.WaitVisible(`button[data-check]`, chromedp.ByQuery),
		)

		// (a) a server that never answers (its connection dropped): the wait shows, and
		// Cancel ends it.
		var doing string
		var disabled bool
		var busy string
		b.Run("check against a firewalled server at "+vp.name,
			fillServerForm("http://"+firewalled, "", "DefaultCollection", d.pat),
			chromedp.Click(`button[data-check]`, chromedp.ByQuery),
			bt.WaitText(`#check-result .doing-text`, "Reaching "+firewalled),
			bt.Text(`#check-result .doing-text`, &doing),
			// aria-disabled, not disabled: a disabled button would drop the keyboard focus.
			chromedp.Evaluate(`document.querySelector('button[data-check]').getAttribute('aria-disabled') === 'true'`, &disabled),
			chromedp.Evaluate(`document.querySelector('#check-result').getAttribute('aria-busy') || ''`, &busy),
			chromedp.WaitVisible(`#check-result .check-cancel`, chromedp.ByQuery),
			chromedp.WaitVisible(`#check-result .steps [data-step=reach_host].pending`, chromedp.ByQuery),
		)
		if doing != "Reaching "+firewalled+"… up to 30 s" {
			t.Errorf("%s: the check says %q", vp.name, doing)
		}
		if !disabled || busy != "true" {
			t.Errorf("%s: while checking the button is disabled %v, the region aria-busy %q", vp.name, disabled, busy)
		}
		b.Shot("check-waiting-" + vp.name)
		accessible(t, b, "check waiting at "+vp.name)

		var enabled bool
		var focused string
		b.Run("cancel the check at "+vp.name,
			chromedp.Click(`#check-result .check-cancel`, chromedp.ByQuery),
			bt.WaitText(`#check-result`, "Check cancelled."),
			chromedp.Evaluate(`document.querySelector('button[data-check]').getAttribute('aria-disabled') !== 'true' && !document.querySelector('#check-result').hasAttribute('aria-busy')`, &enabled),
			chromedp.Evaluate(`document.activeElement.matches('button[data-check]') ? 'check button' : document.activeElement.outerHTML`, &focused),
		)
		// After Cancel the focus goes back to the Check button, to check again.
		if !enabled || focused != "check button" {
			t.Errorf("%s: after Cancel the button is enabled and the region idle: %v; focus on %q", vp.name, enabled, focused)
		}
		b.Shot("check-cancelled-" + vp.name)
		accessible(t, b, "check cancelled at "+vp.name)

		if vp.name == "1280" {
			// A server that takes the connection and never answers: the check says it is
			// connected and waiting, and Cancel closes its connection to the server.
			before, closedBefore := accepted.Load(), closed.Load()
			b.Run("check against a silent server",
				fillServerForm("http://"+silent, "", "DefaultCollection", d.pat),
				chromedp.Click(`button[data-check]`, chromedp.ByQuery),
				bt.WaitText(`#check-result .doing-text`, "Connected to "+silent+", waiting for its answer… up to 30 s"),
				chromedp.WaitVisible(`#check-result .steps [data-step=reach_host].ok`, chromedp.ByQuery),
				checkWaitFor("the check to reach the silent server", func() bool { return accepted.Load() > before }),
				chromedp.Click(`#check-result .check-cancel`, chromedp.ByQuery),
				bt.WaitText(`#check-result`, "Check cancelled."),
				checkWaitFor("the connection to the silent server to close after Cancel", func() bool { return closed.Load() > closedBefore }),
			)
		}

		// (b) a wrong PAT: the result beside the PAT field, in view, focused, said once.
		var after, heading string
		var inView bool
		var count int
		const said = "The server rejected the personal access token"
		b.Run("check a wrong PAT at "+vp.name,
			fillServerForm(demo.Scheme+"://"+demo.Host, vd, d.collection, "not-the-right-token"),
			chromedp.Click(`button[data-check]`, chromedp.ByQuery),
			chromedp.WaitVisible(`#check-result .check[data-valid=false][data-field=pat]`, chromedp.ByQuery),
			bt.WaitJS(`(() => { const r = document.querySelector('#check-result .check-heading').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; })()`),
			chromedp.Evaluate(`(() => { const p = document.querySelector('#check-result').previousElementSibling; return p ? (p.querySelector('#pat') ? 'pat field' : p.outerHTML.slice(0, 80)) : 'nothing'; })()`, &after),
			chromedp.Evaluate(`(() => { const r = document.querySelector('#check-result .check-heading').getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth; })()`, &inView),
			chromedp.Evaluate(`document.activeElement.matches('#check-result .check-heading') ? document.activeElement.textContent : 'focus on ' + document.activeElement.tagName`, &heading),
			chromedp.Evaluate(`document.body.innerText.split(`+"`"+said+"`"+`).length - 1`, &count),
		)
		if after != "pat field" || !inView || !strings.Contains(heading, "The token check failed") || count != 1 {
			t.Errorf("%s: the wrong PAT's result follows %q, in view %v, focus %q, sentence said %d times", vp.name, after, inView, heading, count)
		}
		var link string
		b.Run("read the fix at "+vp.name, chromedp.Evaluate(`(document.querySelector('#check-result .fix a') || {}).href || ''`, &link))
		if !strings.HasSuffix(link, "/"+d.collection+"/_usersSettings/tokens") {
			t.Errorf("%s: the PAT page link is %q", vp.name, link)
		}
		b.Shot("check-wrong-pat-" + vp.name)
		accessible(t, b, "check wrong PAT at "+vp.name)

		// A right PAT passes, in green, nothing failed.
		var passed string
		b.Run("check the right PAT at "+vp.name,
			chromedp.Evaluate(`document.getElementById('pat').value = `+fmt.Sprintf("%q", d.pat), nil),
			chromedp.Click(`button[data-check]`, chromedp.ByQuery),
			chromedp.WaitVisible(`#check-result .check[data-valid=true]`, chromedp.ByQuery),
			bt.Text(`#check-result`, &passed),
		)
		if !strings.Contains(passed, "The token check passed") || strings.Contains(passed, "✗") || strings.Contains(passed, said) {
			t.Errorf("%s: the passing check shows %q", vp.name, passed)
		}
		accessible(t, b, "check passed at "+vp.name)
	}

	// Check again on a connection's page streams the same way into #check-outcome, and
	// updates the status badge.
	conn := d.api("POST", "/api/v1/connections", `{"name":"again","type":"server-pat","serverUrl":"`+d.serverURL+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	var outcome string
	var focusedAgain bool
	b.Run("check again",
		bt.Viewport(1280, 900, false),
		chromedp.Navigate(d.service+"/ui/connections/"+conn["id"].(string)),
		chromedp.WaitVisible(`button[data-check$="/check"][data-check-target="#check-outcome"]`, chromedp.ByQuery),
		chromedp.Click(`button[data-check$="/check"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#check-outcome .check[data-valid=true]`, chromedp.ByQuery),
		bt.Text(`#check-outcome`, &outcome),
		chromedp.Evaluate(`document.activeElement.matches('#check-outcome .check-heading') && !document.querySelector('button[data-check]').disabled`, &focusedAgain),
		chromedp.WaitVisible(`#conn-status [data-status=authorized]`, chromedp.ByQuery),
	)
	if !strings.Contains(outcome, "The token check passed") || !focusedAgain {
		t.Errorf("check again shows %q, focus on its heading and the button back: %v", outcome, focusedAgain)
	}
	accessible(t, b, "check again passed")
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}

// checkWaitFor polls cond every 20 ms until it holds or the step's deadline passes.
func checkWaitFor(what string, cond func() bool) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for !cond() {
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
		return nil
	})
}
