package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// The whole Server PAT flow in a real browser against `serve --demo`: paste a /tfs/ clone URL
// from the demo banner, see a wrong PAT explained, fix it, create the connection, filter the
// repository picker to a name with a space, choose a branch, clone, and see the commit SHA the
// API reports for that branch. Screenshots of each step land in the test's artifact directory.
func TestBrowserServerPATFlow(t *testing.T) {
	d := runDemo(t)
	b := bt.New(t)

	var cloneURL, pat string
	b.Run("open the demo",
		chromedp.Navigate(d.service+"/"),
		chromedp.WaitVisible(`aside.demo`, chromedp.ByQuery),
		bt.WaitText(`main`, "No connection yet"),
		bt.Text(`[data-demo=cloneUrl]`, &cloneURL),
		bt.Text(`[data-demo=pat]`, &pat),
	)
	if !strings.Contains(cloneURL, "/tfs/DefaultCollection/") || pat == "" {
		t.Fatalf("demo banner: clone URL %q, PAT %q", cloneURL, pat)
	}
	b.Shot("connections-empty")
	accessible(t, b, "connections-empty")

	b.Run("choose Server",
		chromedp.Click(`a.button[href="/ui/connections/new"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`a.choice[href$="kind=server"]`, chromedp.ByQuery),
		chromedp.Click(`a.choice[href$="kind=server"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#remoteUrl`, chromedp.ByQuery),
	)
	var serverURL, vd, collection string
	b.Run("paste the clone URL",
		chromedp.SendKeys(`#name`, "on-prem", chromedp.ByQuery),
		chromedp.SetValue(`#remoteUrl`, cloneURL, chromedp.ByQuery),
		chromedp.SendKeys(`#remoteUrl`, " "+kb.Backspace, chromedp.ByQuery), // an input event, as a paste makes
		chromedp.WaitVisible(`.understood`, chromedp.ByQuery),
		chromedp.Value(`#serverUrl`, &serverURL, chromedp.ByQuery),
		chromedp.Value(`#virtualDirectory`, &vd, chromedp.ByQuery),
		chromedp.Value(`#collection`, &collection, chromedp.ByQuery),
	)
	if !strings.HasPrefix(serverURL, "http://127.0.0.1:") || vd != "tfs" || collection != "DefaultCollection" {
		t.Fatalf("fields filled from the clone URL: server %q, virtual directory %q, collection %q", serverURL, vd, collection)
	}
	b.Shot("clone-url-understood")

	var failed string
	b.Run("check a wrong PAT",
		chromedp.SendKeys(`#pat`, "not-the-right-token", chromedp.ByQuery),
		chromedp.Click(`button[hx-post="/ui/connections/new/check"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#check-result .check[data-valid=false]`, chromedp.ByQuery),
		bt.Text(`#check-result [data-step=authenticate].fail .step-msg`, &failed),
	)
	if !strings.Contains(failed, "rejected the personal access token") || !strings.Contains(failed, "create a new PAT") {
		t.Fatalf("wrong PAT explained as: %q", failed)
	}
	b.Shot("wrong-pat-explained")
	accessible(t, b, "wrong-pat-explained")

	var passed string
	b.Run("fix the PAT and check again",
		chromedp.Evaluate(`document.querySelector('#pat').value = ''`, nil),
		chromedp.SendKeys(`#pat`, pat, chromedp.ByQuery),
		chromedp.Click(`button[hx-post="/ui/connections/new/check"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#check-result .check[data-valid=true]`, chromedp.ByQuery),
		bt.Text(`#check-result`, &passed),
	)
	if !strings.Contains(passed, "Demo User") || strings.Contains(passed, "✗") {
		t.Fatalf("passing check shows: %q", passed)
	}
	b.Shot("check-passed")

	var blocked []string
	b.Run("create the connection",
		chromedp.Click(`form.wizard button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#conn-status [data-status=authorized]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#repo-list .repo`, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('#repo-list .repo.blocked')].map(e => e.dataset.repo + ':' + e.querySelector('.badge').textContent)`, &blocked),
	)
	if strings.Join(blocked, ",") != "empty-repo:empty,legacy-tools:disabled" {
		t.Fatalf("repositories shown as not selectable: %v", blocked)
	}
	b.Shot("repository-picker")
	accessible(t, b, "repository-picker")

	var shown []string
	b.Run("filter to a name with a space",
		chromedp.SendKeys(`#repo-filter`, "droid", chromedp.ByQuery),
		bt.WaitText(`#repo-list [role=status]`, "1 repository"),
		chromedp.Evaluate(`[...document.querySelectorAll('#repo-list .repo')].map(e => e.dataset.repo)`, &shown),
	)
	if len(shown) != 1 || shown[0] != "android app" {
		t.Fatalf("filtered repositories: %v", shown)
	}
	b.Shot("repository-filtered")

	b.Run("choose a branch",
		chromedp.Click(`#repo-list a.repo-name`, chromedp.ByQuery),
		chromedp.WaitVisible(`#branch`, chromedp.ByQuery),
		chromedp.SetValue(`#branch`, "feature/login", chromedp.ByQuery),
		chromedp.SetValue(`#profile-name`, "android login", chromedp.ByQuery),
	)
	b.Shot("branch-chosen")
	accessible(t, b, "branch-chosen")

	var commit, branch, phase, received string
	b.Run("clone now",
		chromedp.Click(`form[action="/ui/build-profiles"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=branch]`, chromedp.ByQuery),
		bt.Text(`[data-testid=branch]`, &branch),
		chromedp.Click(`form[hx-post$="/clones"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#clone [data-state=succeeded] [data-testid=commit]`, chromedp.ByQuery),
		bt.Text(`#clone [data-testid=commit]`, &commit),
		bt.Text(`#clone [data-testid=phase]`, &phase),
		bt.Text(`#clone [data-testid=bytes]`, &received),
	)
	if phase != "done" || received == "0 B" || !strings.HasSuffix(received, "B") {
		t.Fatalf("after the clone: phase %q, received %q", phase, received)
	}
	b.Shot("cloned")
	accessible(t, b, "cloned")
	if branch != "feature/login" || !hex40.MatchString(commit) {
		t.Fatalf("clone of %q shows commit %q", branch, commit)
	}
	conns := d.api("GET", "/api/v1/connections", "")["value"].([]any)
	connID := conns[0].(map[string]any)["id"].(string)
	repos := d.api("GET", "/api/v1/connections/"+connID+"/repositories?q=android", "")["value"].([]any)
	repoID := repos[0].(map[string]any)["id"].(string)
	var want string
	for _, br := range d.api("GET", "/api/v1/connections/"+connID+"/repositories/"+repoID+"/branches", "")["value"].([]any) {
		if m := br.(map[string]any); m["name"] == "feature/login" {
			want = m["commit"].(string)
		}
	}
	if commit != want {
		t.Fatalf("page shows commit %s, the branch is at %s", commit, want)
	}

	var before, after string
	row := `#conn-` + connID
	b.Run("check the connection again from the list",
		chromedp.Navigate(d.service+"/ui/connections"),
		chromedp.WaitVisible(row+` time`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('`+row+` time').getAttribute('datetime')`, &before),
	)
	b.Run("check again", // a second step: the wait below is built from before's value
		chromedp.Click(row+` button[hx-post$="/check"]`, chromedp.ByQuery),
		bt.WaitJS(`document.querySelector('`+row+` time').getAttribute('datetime') !== '`+before+`'`),
		chromedp.Evaluate(`document.querySelector('`+row+` time').getAttribute('datetime')`, &after),
		chromedp.WaitVisible(row+` [data-status=authorized]`, chromedp.ByQuery),
	)
	t0, err0 := time.Parse(time.RFC3339Nano, before)
	t1, err1 := time.Parse(time.RFC3339Nano, after)
	if err0 != nil || err1 != nil || !t1.After(t0) {
		t.Fatalf("last check %s, after checking again %s", before, after)
	}
	b.Run("delete the connection", chromedp.Click(row+` a.danger`, chromedp.ByQuery))
	b.Run("see the confirmation", chromedp.WaitVisible(`form.actions button.danger`, chromedp.ByQuery))
	b.Run("confirm",
		chromedp.Click(`form.actions button.danger`, chromedp.ByQuery),
	)
	b.Run("see it gone", bt.WaitText(`main`, "No connection yet"))
	if n := d.api("GET", "/api/v1/connections", "")["count"].(float64); n != 0 {
		t.Fatalf("%v connections after deleting the only one", n)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}

// The pages at phone width: nothing scrolls sideways and the connection list becomes cards;
// the first Tab lands on the skip link, which leads to the page's first action; every form
// control has a label.
func TestBrowserPhoneWidthAndKeyboard(t *testing.T) {
	d := runDemo(t)
	d.api("POST", "/api/v1/connections", `{"name":"on-prem","type":"server-pat","serverUrl":"`+d.serverURL+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	b := bt.New(t)
	const overflow = `document.documentElement.scrollWidth > document.documentElement.clientWidth`
	const unlabelled = `[...document.querySelectorAll('input:not([type=hidden]),select,textarea')].filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name)`
	for _, page := range []string{"/ui/connections", "/ui/connections/new?kind=server", "/ui/connections/new?kind=services", "/ui/build-profiles"} {
		var wide bool
		var bare []string
		var axe []bt.Violation
		b.Run("phone "+page,
			bt.Viewport(390, 844, true),
			chromedp.Navigate(d.service+page),
			chromedp.WaitVisible(`main h1`, chromedp.ByQuery),
			chromedp.Evaluate(overflow, &wide),
			chromedp.Evaluate(unlabelled, &bare),
			bt.Axe(&axe),
		)
		for _, v := range axe {
			t.Errorf("%s: accessibility: %v", page, v)
		}
		if wide {
			t.Errorf("%s scrolls sideways at 390 px", page)
		}
		if len(bare) > 0 {
			t.Errorf("%s has form controls without a label: %v", page, bare)
		}
		b.Shot("phone" + strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(page))
	}

	var display, first, afterSkip string
	b.Run("keyboard",
		chromedp.Navigate(d.service+"/ui/connections"),
		chromedp.WaitVisible(`table.connections tbody tr`, chromedp.ByQuery),
		chromedp.Evaluate(`getComputedStyle(document.querySelector('table.connections tbody tr')).display`, &display),
		chromedp.KeyEvent(kb.Tab),
		chromedp.Evaluate(`document.activeElement.className`, &first),
		chromedp.KeyEvent(kb.Enter),
		chromedp.KeyEvent(kb.Tab),
		chromedp.Evaluate(`document.activeElement.textContent.trim()`, &afterSkip),
	)
	if display != "block" {
		t.Errorf("at phone width a connection row displays as %q, want block (a card)", display)
	}
	if first != "skip" || afterSkip != "New connection" {
		t.Errorf("keyboard: first Tab on %q, after the skip link on %q", first, afterSkip)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}

// The OAuth path in a real browser: Services, "Sign in with Azure DevOps", the simulator's
// consent page, Accept, and back on the connection's page, authorized.
func TestBrowserOAuthFlow(t *testing.T) {
	d := runDemo(t)
	b := bt.New(t)
	b.Run("start the sign-in",
		chromedp.Navigate(d.service+"/ui/connections/new?kind=services"),
		chromedp.WaitVisible(`#collection`, chromedp.ByQuery),
		chromedp.SendKeys(`#name`, "cloud", chromedp.ByQuery),
		chromedp.SendKeys(`#collection`, "fabrikam", chromedp.ByQuery),
		chromedp.Click(`form.wizard button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[value=accept]`, chromedp.ByQuery),
	)
	b.Shot("consent")
	var notice string
	b.Run("accept",
		chromedp.Click(`button[value=accept]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#conn-status [data-status=authorized]`, chromedp.ByQuery),
		bt.Text(`p.alert.ok`, &notice),
		chromedp.WaitVisible(`#repo-list .repo`, chromedp.ByQuery),
	)
	b.Shot("signed-in")
	accessible(t, b, "signed-in")
	if !strings.Contains(notice, "Signed in") {
		t.Fatalf("after the sign-in the page says %q", notice)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}

// A Services connection with a PAT in a real browser: the organization on the (simulated)
// Services URL, Check, create, and the organization's repositories listed.
func TestBrowserServicesPAT(t *testing.T) {
	d := runDemo(t)
	b := bt.New(t)
	var passed string
	b.Run("check a Services PAT",
		chromedp.Navigate(d.service+"/ui/connections/new?kind=services&auth=pat"),
		chromedp.WaitVisible(`#pat`, chromedp.ByQuery),
		chromedp.SendKeys(`#name`, "fabrikam-pat", chromedp.ByQuery),
		chromedp.SendKeys(`#collection`, "fabrikam", chromedp.ByQuery),
		chromedp.SendKeys(`#pat`, d.pat, chromedp.ByQuery),
		chromedp.Click(`button[hx-post="/ui/connections/new/check"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#check-result .check[data-valid=true]`, chromedp.ByQuery),
		bt.Text(`#check-result`, &passed),
	)
	if !strings.Contains(passed, "Demo User") {
		t.Fatalf("Services PAT check shows: %q", passed)
	}
	b.Shot("services-pat-checked")
	b.Run("create it",
		chromedp.Click(`form.wizard button[type=submit]`, chromedp.ByQuery),
	)
	b.Run("see its repositories",
		chromedp.WaitVisible(`#conn-status [data-status=authorized]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#repo-list .repo`, chromedp.ByQuery),
	)
	b.Shot("services-pat-connection")
	accessible(t, b, "services-pat-connection")
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}
