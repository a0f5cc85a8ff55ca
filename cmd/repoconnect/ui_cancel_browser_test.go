package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// Cancel on a running clone in a real browser: the clone is held at the server, the panel
// shows it running with a Cancel button; pressing it shows the clone cancelled, the button
// gone, and the API reports the job failed with the "cancelled" problem.
func TestBrowserCancelClone(t *testing.T) {
	d := runDemo(t, "--allow-destinations", "loopback") // the holding front is not one of demo's simulators
	front, held := heldServer(t, d.serverURL)
	conn := d.api("POST", "/api/v1/connections", `{"name":"held","type":"server-pat","serverUrl":"`+front+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	connID := conn["id"].(string)
	repo := d.api("GET", "/api/v1/connections/"+connID+"/repositories?q=ios-app", "")["value"].([]any)[0].(map[string]any)
	prof := d.api("POST", "/api/v1/build-profiles", `{"name":"ios held","connectionId":"`+connID+`","repositoryId":"`+repo["id"].(string)+`","branch":"main"}`)
	b := bt.New(t)

	var jobID string
	b.Run("clone now",
		chromedp.Navigate(d.service+"/ui/build-profiles/"+prof["id"].(string)),
		chromedp.WaitVisible(`form[hx-post$="/clones"] button`, chromedp.ByQuery),
		chromedp.Click(`form[hx-post$="/clones"] button`, chromedp.ByQuery),
		chromedp.ActionFunc(func(ctx context.Context) error {
			select {
			case <-held:
				return nil
			case <-ctx.Done():
				return fmt.Errorf("the clone did not reach the server: %w", ctx.Err())
			}
		}),
		chromedp.WaitVisible(`#clone [data-state=running] button[data-testid=cancel-clone]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#clone .clone-progress').dataset.job`, &jobID),
	)
	var label string
	b.Run("read the Cancel button", bt.Text(`#clone button[data-testid=cancel-clone]`, &label))
	if label != "Cancel the clone" { // the visible "Cancel" and the screen reader's rest
		t.Errorf("the Cancel button's text is %q", label)
	}
	b.Shot("clone-running")
	accessible(t, b, "clone-running")

	var status string
	b.Run("cancel",
		chromedp.Click(`#clone button[data-testid=cancel-clone]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#clone [data-state=failed] [role=alert][data-code=cancelled]`, chromedp.ByQuery),
		bt.WaitJS(`!document.querySelector('#clone [data-testid=cancel-clone]') && !document.querySelector('#clone [sse-connect]')`),
		bt.Text(`#clone [data-state=failed] [role=status]`, &status),
	)
	if status != "The clone was cancelled" {
		t.Errorf("after Cancel the panel says %q", status)
	}
	b.Shot("clone-cancelled")
	accessible(t, b, "clone-cancelled")

	job := d.api("GET", "/api/v1/clones/"+jobID, "")
	if p, _ := job["error"].(map[string]any); job["state"] != "failed" || p == nil || p["code"] != "cancelled" {
		t.Fatalf("the job after Cancel: %v", job)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}
