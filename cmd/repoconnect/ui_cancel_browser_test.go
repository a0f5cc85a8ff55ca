package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// Cancel on a running clone in a real browser, at 1280×900 and 375×812: the clone is held at
// the server; the panel shows it running with a Cancel button, and Clone now turns off with
// the reason while it runs (also after a reload, which follows the run live again). Pressing
// Cancel shows the clone cancelled, the button gone, Clone now back, and the API reports the
// job failed with the "cancelled" problem.
func TestBrowserCancelClone(t *testing.T) {
	d := runDemo(t, "--allow-destinations", "loopback") // the holding front is not one of demo's simulators
	front, held := heldServer(t, d.serverURL)
	conn := d.api("POST", "/api/v1/connections", `{"name":"held","type":"server-pat","serverUrl":"`+front+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	connID := conn["id"].(string)
	repo := d.api("GET", "/api/v1/connections/"+connID+"/repositories?q=ios-app", "")["value"].([]any)[0].(map[string]any)
	prof := d.api("POST", "/api/v1/build-profiles", `{"name":"ios held","connectionId":"`+connID+`","repositoryId":"`+repo["id"].(string)+`","branch":"main"}`)
	page := d.service + "/ui/build-profiles/" + prof["id"].(string)
	b := bt.New(t)
	waitHeld := chromedp.ActionFunc(func(ctx context.Context) error {
		select {
		case <-held:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("the clone did not reach the server: %w", ctx.Err())
		}
	})

	for _, size := range []struct {
		name string
		w, h int64
	}{{"wide", 1280, 900}, {"phone", 375, 812}} {
		step := func(s string) string { return size.name + ": " + s }
		var jobID string
		b.Run(step("clone now"),
			bt.Viewport(size.w, size.h, size.w < 600),
			chromedp.Navigate(page),
			chromedp.WaitVisible(`#clone-now`, chromedp.ByQuery),
			bt.WaitJS(`!document.querySelector('#clone-now').disabled`),
			chromedp.Click(`#clone-now`, chromedp.ByQuery),
			waitHeld,
			chromedp.WaitVisible(`#clone .clone-live [data-state=running]`, chromedp.ByQuery),
			chromedp.WaitVisible(`#clone .clone-live button[data-testid=cancel-clone]`, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector('#clone .clone-progress').dataset.job`, &jobID),
			// The runs poll turns Clone now off, with the reason, while the run is active.
			chromedp.WaitVisible(`[data-testid=clone-blocked]`, chromedp.ByQuery),
			bt.WaitJS(`document.querySelector('#clone-now').disabled`),
		)
		var label, line, blocked string
		b.Run(step("read the panel"),
			bt.Text(`#clone button[data-testid=cancel-clone]`, &label),
			bt.Text(`#clone [data-state=running] .clone-headline`, &line),
			bt.Text(`[data-testid=clone-blocked]`, &blocked),
		)
		if label != "Cancel the clone" { // the visible "Cancel" and the screen reader's rest
			t.Errorf("%s: the Cancel button's text is %q", size.name, label)
		}
		if line == "" || line == "Objects 0 of 0" {
			t.Errorf("%s: the running panel says %q", size.name, line)
		}
		if want := "Clone now is off while run "; len(blocked) < len(want) || blocked[:len(want)] != want {
			t.Errorf("%s: the reason Clone now is off: %q", size.name, blocked)
		}
		b.Shot(size.name + "-clone-running")
		accessible(t, b, size.name+"-clone-running")

		var again string
		b.Run(step("reload while it runs"),
			chromedp.Reload(),
			chromedp.WaitVisible(`#clone .clone-live [data-state=running]`, chromedp.ByQuery),
			chromedp.WaitVisible(`#clone .clone-live button[data-testid=cancel-clone]`, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector('#clone .clone-progress').dataset.job`, &again),
			bt.WaitJS(`document.querySelector('#clone-now').disabled`),
		)
		if again != jobID {
			t.Errorf("%s: after a reload the panel follows job %q, want %q", size.name, again, jobID)
		}

		if size.name == "wide" {
			// A second tab whose Clone now was still on: the server refuses in place, and
			// "Start another run anyway" starts a second clone; it is cancelled through the API.
			var refusal, second string
			b.Run(step("a second start is refused in place"),
				chromedp.Evaluate(`(() => { const b = document.querySelector('#clone-now'); b.disabled = false; b.closest('form').removeAttribute('data-sent'); b.click(); })()`, nil),
				chromedp.WaitVisible(`#clone .clone-refused[data-code=run_active] [data-testid=force-run]`, chromedp.ByQuery),
				bt.Text(`#clone .clone-refused [role=alert]`, &refusal),
			)
			if !strings.HasPrefix(refusal, "A run is already active. Run ") || !strings.HasSuffix(refusal, "start another run anyway.") {
				t.Errorf("the refusal says %q", refusal)
			}
			b.Shot("wide-clone-refused")
			accessible(t, b, "wide-clone-refused")
			b.Run(step("the refusal stays while the first run goes on"),
				bt.WaitJS(`performance.getEntriesByType('resource').filter(e => e.name.includes('/runs?')).length >= 2`),
				chromedp.WaitVisible(`#clone .clone-refused`, chromedp.ByQuery),
			)
			b.Run(step("start another run anyway"),
				chromedp.Click(`#clone [data-testid=force-run]`, chromedp.ByQuery),
				// Queued or running: it may wait for the repository cache the first clone holds.
				chromedp.WaitVisible(`#clone .clone-live .clone-progress:not([data-job="`+jobID+`"])`, chromedp.ByQuery),
				chromedp.WaitVisible(`#clone .clone-live button[data-testid=cancel-clone]`, chromedp.ByQuery),
				chromedp.Evaluate(`document.querySelector('#clone .clone-progress').dataset.job`, &second),
			)
			// The refusal's 409 is logged by the browser as a failed resource: expected here.
			for _, e := range b.ConsoleErrors() {
				if !strings.Contains(e, "409 (Conflict)") {
					t.Errorf("the pages reported an error: %q", e)
				}
			}
			if second == "" || second == jobID {
				t.Fatalf("the forced start follows job %q (the first is %q)", second, jobID)
			}
			d.api("DELETE", "/api/v1/clones/"+jobID, "") // the first; Cancel below ends the second
			jobID = second
		}

		var status string
		var wide bool
		b.Run(step("cancel"),
			chromedp.Click(`#clone button[data-testid=cancel-clone]`, chromedp.ByQuery),
			chromedp.WaitVisible(`#clone [data-state=failed] .alert.info[role=status][data-code=cancelled]`, chromedp.ByQuery),
			bt.WaitJS(`!document.querySelector('#clone [data-testid=cancel-clone]') && !document.querySelector('#clone [sse-connect]')`),
			bt.Text(`#clone [data-state=failed] [role=status]`, &status),
			bt.WaitJS(`!document.querySelector('#clone-now').disabled && !document.querySelector('[data-testid=clone-blocked]')`),
			chromedp.Evaluate(`document.documentElement.scrollWidth > document.documentElement.clientWidth`, &wide),
		)
		var alerts int
		b.Run(step("cancel-once"), chromedp.Evaluate(`document.querySelectorAll('#clone [role=alert], #clone .alert.error').length`, &alerts))
		// Said once, as information (the user's own action), not in red.
		if status != "The clone was cancelled: nothing of it was kept." || wide || alerts != 0 {
			t.Errorf("%s: after Cancel the panel says %q (sideways scroll %v, %d alerts)", size.name, status, wide, alerts)
		}
		b.Shot(size.name + "-clone-cancelled")
		accessible(t, b, size.name+"-clone-cancelled")

		job := d.api("GET", "/api/v1/clones/"+jobID, "")
		if p, _ := job["error"].(map[string]any); job["state"] != "failed" || p == nil || p["code"] != "cancelled" {
			t.Fatalf("%s: the job after Cancel: %v", size.name, job)
		}
	}

	// The run page of a live run refreshes its facts (finished, path taken) when the run ends,
	// without a reload: here the run ends by a Cancel through the API.
	var runHref, job string
	b.Run("run page: clone now",
		bt.Viewport(1280, 900, false),
		chromedp.Navigate(page),
		bt.WaitJS(`!document.querySelector('#clone-now').disabled`),
		chromedp.Click(`#clone-now`, chromedp.ByQuery),
		waitHeld,
		chromedp.WaitVisible(`#clone .clone-live [data-state=running]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#clone .clone-progress').dataset.job`, &job),
		chromedp.WaitVisible(`[data-testid=clone-blocked] a`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('[data-testid=clone-blocked] a').href`, &runHref),
	)
	b.Run("run page: live",
		chromedp.ActionFunc(func(ctx context.Context) error { return chromedp.Navigate(runHref).Do(ctx) }),
		chromedp.WaitVisible(`#clone .clone-live [data-state=running]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#run-facts[data-finished=false]`, chromedp.ByQuery),
	)
	d.api("DELETE", "/api/v1/clones/"+job, "")
	var finished string
	b.Run("run page: facts after the end",
		chromedp.WaitVisible(`#run-facts[data-finished=true]`, chromedp.ByQuery),
		bt.Text(`#run-facts`, &finished),
	)
	if strings.Contains(finished, "Not finished.") {
		t.Errorf("the run page's facts after the run ended still say it is not finished:\n%s", finished)
	}
	accessible(t, b, "run-page-ended")
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}
