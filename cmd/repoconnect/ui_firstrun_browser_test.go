package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// From nothing to a first run, as a newcomer meets it: `serve --demo` with no connection, the
// landing page, "New build profile" in the header, screen 1 (paste the demo's clone URL: Server
// is chosen and the name filled by itself; the PAT; Create connection), screen 2 (type "droid",
// Enter), screen 3 (defaults kept: Create and run), and the profile page following the run live
// until it succeeds with the branch's commit. At 1280×900 and at 375×812, each with its own
// demo, axe and the focus-contrast rule at every screen, no sideways scroll at 375. It counts
// the screens and the interactions (a click, a paste, a typed value, a key) from landing to the
// first run and logs them; the counts are asserted so a step added to the flow is noticed.
func TestBrowserFirstRunFromNothing(t *testing.T) {
	for _, vp := range pageWidths {
		t.Run(vp.name, func(t *testing.T) {
			d := runDemo(t)
			b := bt.New(t)
			screens, interactions := 0, 0
			check := func(step string) {
				t.Helper()
				b.Shot(vp.name + "-" + step)
				accessible(t, b, vp.name+" "+step)
				var wide bool
				b.Run("sideways scroll at "+step, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &wide))
				if wide {
					t.Errorf("%s: the page scrolls sideways at %d px", step, vp.width)
				}
			}

			var cloneURL, pat string
			b.Run("land",
				bt.Viewport(vp.width, vp.height, vp.mobile),
				chromedp.Navigate(d.service+"/"),
				chromedp.WaitVisible(`a.nav-new`, chromedp.ByQuery),
				bt.Text(`[data-demo=cloneUrl]`, &cloneURL),
				bt.Text(`[data-demo=pat]`, &pat),
			)
			check("landing")

			interactions++ // New build profile
			b.Run("New build profile",
				chromedp.Click(`a.nav-new`, chromedp.ByQuery),
				chromedp.WaitVisible(`#remoteUrl`, chromedp.ByQuery),
			)
			screens++ // 1: Connect
			var current string
			b.Run("screen 1", bt.Text(`.import-steps [aria-current=step]`, &current))
			if !strings.Contains(current, "Connect") {
				t.Fatalf("screen 1's current step: %q", current)
			}
			check("connect")

			interactions++ // paste the clone URL
			var name, kind string
			b.Run("paste the clone URL",
				chromedp.SetValue(`#remoteUrl`, cloneURL, chromedp.ByQuery),
				chromedp.SendKeys(`#remoteUrl`, " "+kb.Backspace, chromedp.ByQuery), // the input event a paste makes
				chromedp.WaitVisible(`.understood`, chromedp.ByQuery),
				chromedp.WaitVisible(`#pat`, chromedp.ByQuery),
				bt.WaitJS(`document.querySelector('#name').value !== ''`),
				chromedp.Value(`#name`, &name, chromedp.ByQuery),
				chromedp.Evaluate(`(document.querySelector('input[name=kind]:checked') || {}).value || ''`, &kind),
			)
			if kind != "server" || name == "" {
				t.Fatalf("after the paste: kind %q, name %q", kind, name)
			}
			check("connect-pasted")
			interactions++ // the PAT
			interactions++ // Create connection
			b.Run("PAT and Create",
				chromedp.SendKeys(`#pat`, pat, chromedp.ByQuery),
				chromedp.Click(`form.connect button[type=submit]`, chromedp.ByQuery),
				chromedp.WaitVisible(`#repo-filter`, chromedp.ByQuery),
				chromedp.WaitVisible(`#repo-list[data-total] .repo`, chromedp.ByQuery),
			)
			screens++ // 2: Choose
			check("choose")

			interactions += 2 // type "droid", Enter
			b.Run("filter and Enter",
				chromedp.SendKeys(`#repo-filter`, "droid", chromedp.ByQuery),
				chromedp.WaitVisible(`#repo-list[data-query="droid"][data-single]`, chromedp.ByQuery),
				chromedp.SendKeys(`#repo-filter`, kb.Enter, chromedp.ByQuery),
				chromedp.WaitVisible(`#create-and-run`, chromedp.ByQuery),
			)
			screens++ // 3: Configure and run
			var profileName, branch string
			b.Run("screen 3's defaults",
				chromedp.Value(`#profile-name`, &profileName, chromedp.ByQuery),
				chromedp.Value(`#branch`, &branch, chromedp.ByQuery),
			)
			if profileName != "android app" || branch != "main" {
				t.Fatalf("screen 3 defaults: name %q, branch %q", profileName, branch)
			}
			check("configure")

			interactions++ // Create and run
			var commit string
			b.Run("Create and run, and the run succeeds",
				chromedp.Click(`#create-and-run`, chromedp.ByQuery),
				chromedp.WaitVisible(`#runs [data-run]`, chromedp.ByQuery),
				chromedp.WaitVisible(`#clone [data-state=succeeded] [data-testid=commit]`, chromedp.ByQuery),
				bt.Text(`#clone [data-testid=commit]`, &commit),
				// The runs list and Clone now catch up with the run's end without a reload.
				chromedp.WaitVisible(`#runs [data-run][data-state=succeeded]`, chromedp.ByQuery),
				bt.WaitJS(`!document.querySelector('#clone-now').disabled`),
			)
			check("first-run")
			if !hex40.MatchString(commit) {
				t.Fatalf("the first run shows commit %q", commit)
			}
			conns := d.api("GET", "/api/v1/connections", "")["value"].([]any)
			connID := conns[0].(map[string]any)["id"].(string)
			repo := d.api("GET", "/api/v1/connections/"+connID+"/repositories?q=android", "")["value"].([]any)[0].(map[string]any)
			var want string
			for _, br := range d.api("GET", "/api/v1/connections/"+connID+"/repositories/"+repo["id"].(string)+"/branches", "")["value"].([]any) {
				if m := br.(map[string]any); m["name"] == "main" {
					want = m["commit"].(string)
				}
			}
			if commit != want {
				t.Fatalf("the run shows commit %s; main is at %s", commit, want)
			}
			t.Logf("%s: from landing to a first run with no connection: %d screens, %d interactions", vp.name, screens, interactions)
			if screens != 3 || interactions != 7 {
				t.Errorf("%d screens and %d interactions from nothing to a first run; the flow was 3 and 7", screens, interactions)
			}
			if errs := b.ConsoleErrors(); len(errs) > 0 {
				t.Fatalf("the pages reported errors: %q", errs)
			}
		})
	}
}
