package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// The build profile page in a real browser against `serve --demo`: give the profile a push
// trigger, read the hook's manual setup (URL, user, the password shown once), see "Check for
// a test delivery" say none arrived, send a delivery with that credential as Azure DevOps
// would, see the check say it arrived, and find the push's run in the runs table.
func TestBrowserProfileTriggersHookAndRuns(t *testing.T) {
	d := runDemo(t)
	conn := d.api("POST", "/api/v1/connections", `{"name":"demo","type":"server-pat","serverUrl":"`+d.serverURL+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	connID := conn["id"].(string)
	repo := d.api("GET", "/api/v1/connections/"+connID+"/repositories?q=ios-app", "")["value"].([]any)[0].(map[string]any)
	prof := d.api("POST", "/api/v1/build-profiles", `{"name":"ios","connectionId":"`+connID+`","repositoryId":"`+repo["id"].(string)+`","branch":"main"}`)
	profID := prof["id"].(string)
	// A manual run finds the branch's commit, which the delivery below names as pushed.
	run := d.api("POST", "/api/v1/build-profiles/"+profID+"/runs", `{}`)
	deadline := time.Now().Add(time.Minute)
	for run["state"] != "succeeded" && run["state"] != "failed" && time.Now().Before(deadline) {
		run = d.api("GET", "/api/v1/runs/"+run["id"].(string), "")
	}
	tip, _ := run["commit"].(string)
	if !hex40.MatchString(tip) {
		t.Fatalf("manual run: %v", run)
	}

	b := bt.New(t)
	var hookURL, user, password, check string
	b.Run("save a push trigger",
		chromedp.Navigate(d.service+"/ui/build-profiles/"+profID),
		chromedp.WaitVisible(`#push-branches`, chromedp.ByQuery),
		chromedp.SendKeys(`#push-branches`, "main\nrelease/*", chromedp.ByQuery),
		chromedp.Click(`#save-triggers`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=hook-password]`, chromedp.ByQuery),
		bt.Text(`[data-testid=hook-url]`, &hookURL),
		bt.Text(`[data-testid=hook-user]`, &user),
		bt.Text(`[data-testid=hook-password]`, &password),
	)
	if !strings.HasPrefix(hookURL, d.service+"/hooks/azure-devops/") || !strings.HasPrefix(user, "repoconnect-") || len(password) < 20 {
		t.Fatalf("manual setup: url %q user %q password %d chars", hookURL, user, len(password))
	}
	b.Shot("profile-hook-setup")
	accessible(t, b, "profile-hook-setup")

	b.Run("check before any delivery",
		chromedp.Click(`#check-delivery`, chromedp.ByQuery),
		chromedp.WaitVisible(`#delivery-check [data-arrived=false]`, chromedp.ByQuery),
	)

	payload, _ := json.Marshal(map[string]any{"id": "browser-evt-1", "eventType": "git.push", "publisherId": "tfs", "resourceVersion": "1.0",
		"resource": map[string]any{
			"refUpdates": []any{map[string]any{"name": "refs/heads/main", "oldObjectId": strings.Repeat("0", 39) + "1", "newObjectId": tip}},
			"repository": map[string]any{"id": repo["id"], "name": repo["name"], "project": repo["project"]},
			"pushedBy":   map[string]any{"displayName": "Jamal Hartnett", "uniqueName": "fabrikamfiber4@hotmail.com"},
		}})
	req, _ := http.NewRequest("POST", hookURL, bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delivery: %d", resp.StatusCode)
	}

	b.Run("check after the delivery",
		chromedp.Click(`#check-delivery`, chromedp.ByQuery),
		chromedp.WaitVisible(`#delivery-check [data-arrived=true]`, chromedp.ByQuery),
		bt.Text(`#delivery-check`, &check),
	)
	if !strings.Contains(check, "the service hook works") {
		t.Errorf("the check says %q", check)
	}
	var row string
	b.Run("see the push's run",
		chromedp.Navigate(d.service+"/ui/build-profiles/"+profID),
		chromedp.WaitVisible(`#runs tr[data-kind=push]`, chromedp.ByQuery),
		bt.Text(`#runs tr[data-kind=push]`, &row),
	)
	if !strings.Contains(row, tip[:8]) || !strings.Contains(row, "Jamal Hartnett") {
		t.Errorf("the push run's row: %q", row)
	}
	b.Shot("profile-runs")
	accessible(t, b, "profile-runs")
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}
