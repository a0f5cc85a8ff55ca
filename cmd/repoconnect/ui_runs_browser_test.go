package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// hookDelivery sends a git.push of ref to commit as Azure DevOps would to the hook at url,
// with its basic authentication, pushed by Jamal Hartnett.
func hookDelivery(t *testing.T, url, user, password, eventID string, repo map[string]any, ref, commit string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"id": eventID, "eventType": "git.push", "publisherId": "tfs", "resourceVersion": "1.0",
		"resource": map[string]any{
			"refUpdates": []any{map[string]any{"name": ref, "oldObjectId": strings.Repeat("0", 39) + "1", "newObjectId": commit}},
			"repository": map[string]any{"id": repo["id"], "name": repo["name"], "project": repo["project"]},
			"pushedBy":   map[string]any{"displayName": "Jamal Hartnett", "uniqueName": "fabrikamfiber4@hotmail.com"},
		}})
	req, _ := http.NewRequest("POST", url, bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delivery %s: %d", eventID, resp.StatusCode)
	}
}

// The build profile page in a real browser against `serve --demo`, at 1280×900 and 375×812:
// give the profile a push trigger and read the hook's manual setup (URL, user, the password
// shown once, each with a copy button), see "Check for a test delivery" say none arrived;
// then, with the page open, a push delivered through the hook appears in the runs without a
// reload, with its trigger, who pushed and the path taken, and ends succeeded. Two clicks on
// Clone now in one go start exactly one run; a reload keeps the last run's result. No step
// scrolls sideways at 375 px (the runs table becomes cards) and axe finds nothing.
func TestBrowserProfileTriggersHookAndRuns(t *testing.T) {
	d := runDemo(t)
	conn := d.api("POST", "/api/v1/connections", `{"name":"demo","type":"server-pat","serverUrl":"`+d.serverURL+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	connID := conn["id"].(string)
	repo := d.api("GET", "/api/v1/connections/"+connID+"/repositories?q=ios-app", "")["value"].([]any)[0].(map[string]any)
	prof := d.api("POST", "/api/v1/build-profiles", `{"name":"ios","connectionId":"`+connID+`","repositoryId":"`+repo["id"].(string)+`","branch":"main"}`)
	profID := prof["id"].(string)
	runsOf := func() []any { return d.api("GET", "/api/v1/build-profiles/"+profID+"/runs", "")["value"].([]any) }
	// A manual run finds the branch's commit, which the deliveries below name as pushed.
	run := d.api("POST", "/api/v1/build-profiles/"+profID+"/runs", `{}`)
	deadline := time.Now().Add(time.Minute)
	for run["state"] != "succeeded" && run["state"] != "failed" && time.Now().Before(deadline) {
		run = d.api("GET", "/api/v1/runs/"+run["id"].(string), "")
	}
	tip, _ := run["commit"].(string)
	if !hex40.MatchString(tip) {
		t.Fatalf("manual run: %v", run)
	}
	page := d.service + "/ui/build-profiles/" + profID
	// Each width gets a push of its own: main's tip, then release/1.0's (the trigger's
	// release/* matches it), so the second is not the same push again.
	pushes := [][2]string{{"refs/heads/main", tip}}
	for _, br := range d.api("GET", "/api/v1/connections/"+connID+"/repositories/"+repo["id"].(string)+"/branches", "")["value"].([]any) {
		if m := br.(map[string]any); m["name"] == "release/1.0" {
			pushes = append(pushes, [2]string{"refs/heads/release/1.0", m["commit"].(string)})
		}
	}
	if len(pushes) != 2 {
		t.Fatal("the demo repository has no release/1.0 branch")
	}

	b := bt.New(t)
	var hookURL, user, password, check string
	var copyNames []string
	b.Run("save a push trigger",
		chromedp.Navigate(page),
		chromedp.WaitVisible(`#push-branches`, chromedp.ByQuery),
		chromedp.SendKeys(`#push-branches`, "main\nrelease/*", chromedp.ByQuery),
		chromedp.Click(`#save-triggers`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=hook-password]`, chromedp.ByQuery),
		bt.Text(`[data-testid=hook-url]`, &hookURL),
		bt.Text(`[data-testid=hook-user]`, &user),
		bt.Text(`[data-testid=hook-password]`, &password),
		chromedp.Evaluate(`[...document.querySelectorAll('#hook button.copy')].map(b => b.getAttribute('aria-label') + ' → ' + b.dataset.copy)`, &copyNames),
	)
	if !strings.HasPrefix(hookURL, d.service+"/hooks/azure-devops/") || !strings.HasPrefix(user, "repoconnect-") || len(password) < 20 {
		t.Fatalf("manual setup: url %q user %q password %d chars", hookURL, user, len(password))
	}
	if want := "Copy the URL → #hook-url,Copy the user name → #hook-user,Copy the password → #hook-password"; strings.Join(copyNames, ",") != want {
		t.Errorf("copy buttons: %q", copyNames)
	}
	b.Shot("profile-hook-setup")
	accessible(t, b, "profile-hook-setup")

	b.Run("check before any delivery",
		chromedp.Click(`#check-delivery`, chromedp.ByQuery),
		chromedp.WaitVisible(`#delivery-check [data-arrived=false]`, chromedp.ByQuery),
	)

	const overflow = `document.documentElement.scrollWidth > document.documentElement.clientWidth`
	for i, size := range []struct {
		name string
		w, h int64
	}{{"wide", 1280, 900}, {"phone", 375, 812}} {
		step := func(s string) string { return size.name + ": " + s }
		b.Run(step("open the profile"),
			bt.Viewport(size.w, size.h, size.w < 600),
			chromedp.Navigate(page),
			chromedp.WaitVisible(`#runs-list table.runs`, chromedp.ByQuery),
			chromedp.Evaluate(`window.rcStill = true`, nil),
		)

		// (a) A push through the service hook, with the page open: no reload.
		before := len(runsOf())
		hookDelivery(t, hookURL, user, password, fmt.Sprintf("browser-evt-%d", i), repo, pushes[i][0], pushes[i][1])
		var row, who, trigger, source string
		var still bool
		sel := `#runs-list tr[data-kind=push][data-commit="` + pushes[i][1] + `"]`
		b.Run(step("see the push's run appear and succeed"),
			chromedp.WaitVisible(sel+`[data-state=succeeded] [data-testid=source]`, chromedp.ByQuery),
			bt.Text(sel, &row),
			bt.Text(sel+` [data-testid=who]`, &who),
			bt.Text(sel+` [data-testid=trigger]`, &trigger),
			bt.Text(sel+` [data-testid=source]`, &source),
			chromedp.Evaluate(`window.rcStill === true`, &still),
		)
		if !still {
			t.Fatalf("%s: the page reloaded to show the push's run", size.name)
		}
		if !strings.HasPrefix(trigger, "push") || who != "Jamal Hartnett" || !strings.Contains(row, pushes[i][1][:8]) ||
			(source != "Full clone from the server" && source != "From the repository cache" && source != "Reused workspace, updated in place") {
			t.Errorf("%s: the push's row: trigger %q who %q source %q row %q", size.name, trigger, who, source, row)
		}
		if n := len(runsOf()); n != before+1 {
			t.Errorf("%s: one delivery made %d runs", size.name, n-before)
		}
		// The polls send what the page shows; an unchanged list is answered 204 (no rebuild).
		b.Run(step("see an unchanged poll answered 204"),
			bt.WaitJS(`performance.getEntriesByType('resource').some(e => e.name.includes('/runs?') && e.name.includes('sig=') && e.responseStatus === 204)`),
		)
		if i == 0 {
			b.Run(step("check after the delivery"),
				chromedp.Click(`#check-delivery`, chromedp.ByQuery),
				chromedp.WaitVisible(`#delivery-check [data-arrived=true]`, chromedp.ByQuery),
				bt.Text(`#delivery-check`, &check),
			)
			if !strings.Contains(check, "the service hook works") {
				t.Errorf("the check says %q", check)
			}
		}
		var wide bool
		b.Run(step("no sideways scroll"), chromedp.Evaluate(overflow, &wide))
		if wide {
			t.Errorf("%s: the page scrolls sideways", size.name)
		}
		b.Shot(size.name + "-profile-runs")
		accessible(t, b, size.name+"-profile-runs")

		// (b) The double-click guard: two clicks in one go start one run.
		before = len(runsOf())
		var disabled bool
		b.Run(step("click Clone now twice"),
			bt.WaitJS(`!document.querySelector('#clone-now').disabled`),
			chromedp.Evaluate(`(() => { const b = document.querySelector('#clone-now'); b.click(); b.click(); return b.disabled; })()`, &disabled),
			chromedp.WaitVisible(`#clone .clone-progress[data-state=succeeded] [data-testid=commit]`, chromedp.ByQuery),
		)
		if !disabled {
			t.Errorf("%s: Clone now stays enabled right after a click", size.name)
		}
		var refused bool
		b.Run(step("no second request was refused"), chromedp.Evaluate(`!!document.querySelector('#clone .clone-refused')`, &refused))
		if refused {
			t.Errorf("%s: the second click reached the server (and was refused)", size.name)
		}
		var commit string
		b.Run(step("see the run's result and Clone now back"),
			bt.Text(`#clone [data-testid=commit]`, &commit),
			bt.WaitJS(`!document.querySelector('#clone-now').disabled && !document.querySelector('[data-testid=clone-blocked]')`),
		)
		if commit != tip {
			t.Errorf("%s: the clone shows commit %q, want %s", size.name, commit, tip)
		}
		if n := len(runsOf()); n != before+1 {
			t.Fatalf("%s: two clicks on Clone now started %d runs", size.name, n-before)
		}
		b.Shot(size.name + "-cloned")
		accessible(t, b, size.name+"-cloned")

		// (c) A reload keeps the result.
		var state, path string
		b.Run(step("reload"),
			chromedp.Reload(),
			chromedp.WaitVisible(`#clone .run-result [data-testid=commit]`, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector('#clone .run-result').dataset.state`, &state),
			bt.Text(`#clone [data-testid=commit]`, &commit),
			bt.Text(`#clone [data-testid=clone-source]`, &path),
			chromedp.Evaluate(overflow, &wide),
		)
		if state != "succeeded" || commit != tip || path == "" || wide {
			t.Errorf("%s: after a reload the panel shows %q, commit %q, path %q (sideways scroll %v)", size.name, state, commit, path, wide)
		}
		b.Shot(size.name + "-reloaded")
		accessible(t, b, size.name+"-reloaded")
	}

	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}

	// Offline (at 375 px): Clone now and the runs refresh say in place that the service did
	// not answer, with the way to try again; back online, Retry clears it.
	all := []*network.Conditions{{DownloadThroughput: -1, UploadThroughput: -1}}
	offline := func(on bool) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := network.EmulateNetworkConditionsByRule(on, all).Do(ctx)
			return err
		})
	}
	var cloneSays, pollSays string
	b.Run("offline: clone now and the refresh fail in place",
		network.Enable(),
		offline(true),
		chromedp.Click(`#clone-now`, chromedp.ByQuery),
		chromedp.WaitVisible(`#clone [role=alert]`, chromedp.ByQuery),
		bt.Text(`#clone [role=alert]`, &cloneSays),
		bt.WaitJS(`!document.querySelector('#clone-now').disabled`),
		chromedp.WaitVisible(`#runs-poll button`, chromedp.ByQuery),
		bt.Text(`#runs-poll`, &pollSays),
	)
	if cloneSays != "The service did not answer, so no run started. Check the connection and press Clone now again." ||
		!strings.HasPrefix(pollSays, "The runs could not be updated: the service did not answer.") || !strings.HasSuffix(pollSays, "Retry") {
		t.Errorf("offline: Clone now says %q, the runs %q", cloneSays, pollSays)
	}
	b.Shot("phone-offline")
	accessible(t, b, "phone-offline")
	b.Run("online again: Retry",
		offline(false),
		chromedp.Click(`#runs-poll button`, chromedp.ByQuery),
		bt.WaitJS(`document.querySelector('#runs-poll').textContent === ''`),
	)
	for _, e := range b.ConsoleErrors() { // the browser logs each request that found no network
		// htmx logs the failed requests too (htmx:sendError, and htmx:afterRequest as an error).
		if !strings.Contains(e, "ERR_INTERNET_DISCONNECTED") && !strings.Contains(e, "htmx:sendError") && !strings.Contains(e, "htmx:afterRequest") {
			t.Errorf("the pages reported an error: %q", e)
		}
	}
}
