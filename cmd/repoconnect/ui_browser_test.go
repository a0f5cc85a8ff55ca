package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// Connect, screen 1 of the import flow, in a real browser against `serve --demo`.

// shown is a JS expression: the element sel is on the page and displayed.
func shown(sel string) string {
	return `(() => { const e = document.querySelector('` + sel + `'); return !!e && e.offsetParent !== null; })()`
}

// summaryLinks reads the error summary's links (their targets, in order) and whether it has focus.
const summaryLinks = `(() => { const s = document.querySelector('[data-error-summary]'); if (!s) return null;
  return {links: [...s.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href').slice(1)), focused: document.activeElement === s,
    title: s.querySelector('h2').textContent.trim()}; })()`

// summaryState is what summaryLinks reads.
type summaryState struct {
	Links   []string `json:"links"`
	Focused bool     `json:"focused"`
	Title   string   `json:"title"`
}

// emptyServerForm submits the Connect form with Server chosen and nothing filled in, and
// checks the one error summary: every field listed, linked, and focused; its first link moves
// focus to the server URL field.
func emptyServerForm(t *testing.T, b *bt.Browser, service, step string, submit chromedp.Action) {
	t.Helper()
	var got summaryState
	var active string
	b.Run(step+": submit an empty Server form",
		chromedp.Navigate(service+"/ui/connections/new"),
		chromedp.WaitVisible(`#remoteUrl`, chromedp.ByQuery),
		chromedp.Click(`label:has(#kind-server)`, chromedp.ByQuery),
		bt.WaitJS(shown(`#serverUrl`)),
		submit,
		chromedp.WaitVisible(`[data-error-summary]`, chromedp.ByQuery),
		bt.WaitJS(`document.activeElement === document.querySelector('[data-error-summary]')`),
		chromedp.Evaluate(summaryLinks, &got),
	)
	if want := "serverUrl collection name pat"; strings.Join(got.Links, " ") != want || !got.Focused || got.Title != "There are 4 problems:" {
		t.Errorf("%s: the summary %+v, want links %s, focused", step, got, want)
	}
	b.Shot(step + "-empty-form")
	accessible(t, b, step+" empty form")
	for _, e := range b.ConsoleErrors() { // the refused form's 400 is logged as a failed load; nothing else may be
		if !strings.Contains(e, "status of 400") || !strings.HasSuffix(e, "/ui/connections") {
			t.Errorf("%s: the page reported %q", step, e)
		}
	}
	b.Run(step+": follow the summary's first link",
		chromedp.Click(`[data-error-summary] a[href="#serverUrl"]`, chromedp.ByQuery),
		bt.WaitJS(`document.activeElement && document.activeElement.id === 'serverUrl'`),
		chromedp.Evaluate(`document.activeElement.id`, &active),
	)
}

// The Server PAT flow of Connect: an empty form first (one summary listing every field, with
// focus), then the demo's clone URL pasted on the form as it opens (Services chosen): Server
// is picked by itself, the fields filled and the connection named after the host; a wrong
// PAT explained by the check, fixed, and Create leaves for screen 2 with the connection made.
// Then the connection is checked again from the list and deleted. Screenshots of each step
// land in the test's artifact directory.
func TestBrowserServerPATFlow(t *testing.T) {
	d := runDemo(t)
	b := bt.New(t)

	var cloneURL, pat string
	b.Run("open the demo",
		bt.Viewport(1280, 900, false),
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

	emptyServerForm(t, b, d.service, "desktop", chromedp.Click(`form.wizard button[type=submit]`, chromedp.ByQuery))
	if n := d.api("GET", "/api/v1/connections", "")["count"].(float64); n != 0 {
		t.Fatalf("the empty form stored %v connections", n)
	}

	var kindServices bool
	b.Run("open Connect from New build profile",
		chromedp.Navigate(d.service+"/ui/connections"),
		chromedp.Click(`header a.nav-new`, chromedp.ByQuery),
		chromedp.WaitVisible(`#remoteUrl`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#kind-services').checked`, &kindServices),
	)
	if !kindServices {
		t.Errorf("Connect opens without Services chosen")
	}
	var serverURL, vd, collection, name string
	var kindServer, patShown bool
	b.Run("paste the clone URL",
		chromedp.SetValue(`#remoteUrl`, cloneURL, chromedp.ByQuery),
		chromedp.SendKeys(`#remoteUrl`, " "+kb.Backspace, chromedp.ByQuery), // an input event, as a paste makes
		chromedp.WaitVisible(`.understood[data-kind=server]`, chromedp.ByQuery),
		bt.WaitJS(shown(`#serverUrl`)),
		bt.WaitJS(shown(`#pat`)),
		chromedp.Evaluate(`document.querySelector('#kind-server').checked`, &kindServer),
		chromedp.Evaluate(shown(`#pat`), &patShown),
		chromedp.Value(`#serverUrl`, &serverURL, chromedp.ByQuery),
		chromedp.Value(`#virtualDirectory`, &vd, chromedp.ByQuery),
		chromedp.Value(`#collection`, &collection, chromedp.ByQuery),
		chromedp.Value(`#name`, &name, chromedp.ByQuery),
	)
	if !kindServer || !patShown {
		t.Errorf("after pasting a Server URL: Server chosen %v, PAT field shown %v", kindServer, patShown)
	}
	if !strings.HasPrefix(serverURL, "http://127.0.0.1:") || vd != "tfs" || collection != "DefaultCollection" || name != "127.0.0.1" {
		t.Fatalf("fields filled from the clone URL: server %q, virtual directory %q, collection %q, name %q", serverURL, vd, collection, name)
	}
	var scopes string
	b.Run("read the scopes of a Server PAT", bt.Text(`.scope-set[data-scopes=server-pat]:not([hidden])`, &scopes))
	scopes = strings.Join(strings.Fields(scopes), " ")
	if !strings.HasPrefix(scopes, "Required Code → Read & status vso.code vso.code_status") || !strings.Contains(scopes, "Optional") ||
		strings.Index(scopes, "vso.threads_full") < strings.Index(scopes, "Optional") {
		t.Errorf("the Server PAT's scopes read %q", scopes)
	}
	b.Shot("clone-url-understood")
	accessible(t, b, "clone-url-understood")

	var failed string
	b.Run("check a wrong PAT",
		chromedp.SendKeys(`#pat`, "not-the-right-token", chromedp.ByQuery),
		chromedp.Click(`button[data-check]`, chromedp.ByQuery),
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
		chromedp.Click(`button[data-check]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#check-result .check[data-valid=true]`, chromedp.ByQuery),
		bt.Text(`#check-result`, &passed),
	)
	if !strings.Contains(passed, "Demo User") || strings.Contains(passed, "✗") {
		t.Fatalf("passing check shows: %q", passed)
	}
	b.Shot("check-passed")

	var where string
	b.Run("name it and create the connection",
		chromedp.Evaluate(`document.querySelector('#name').value = ''`, nil),
		chromedp.SendKeys(`#name`, "on-prem", chromedp.ByQuery),
		chromedp.Click(`form.wizard button[type=submit]`, chromedp.ByQuery),
		bt.WaitJS(`!location.pathname.startsWith('/ui/connections/new') && location.pathname !== '/ui/connections'`),
		bt.WaitText(`main`, "on-prem"), // screen 2 (for now the connection's page) names the connection
		chromedp.Evaluate(`location.pathname + location.search`, &where),
	)
	conns := d.api("GET", "/api/v1/connections", "")["value"].([]any)
	if len(conns) != 1 {
		t.Fatalf("%d connections after Create", len(conns))
	}
	conn := conns[0].(map[string]any)
	connID := conn["id"].(string)
	if conn["name"] != "on-prem" || conn["type"] != "server-pat" || conn["status"] != "authorized" || !strings.Contains(where, connID) {
		t.Fatalf("after Create the browser is at %s; the connection %v", where, conn)
	}
	b.Shot("connection-created")
	accessible(t, b, "connection-created")

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

// The pages at phone width (375×812): nothing scrolls sideways and the connection list becomes
// cards; every form control has a label. On the Connect form an empty Server form sent with
// Enter shows the one error summary, focused, listing every field. The first Tab lands on the
// skip link, which leads to the page's first action.
func TestBrowserPhoneWidthAndKeyboard(t *testing.T) {
	d := runDemo(t)
	d.api("POST", "/api/v1/connections", `{"name":"on-prem","type":"server-pat","serverUrl":"`+d.serverURL+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	b := bt.New(t)
	const overflow = `document.documentElement.scrollWidth > document.documentElement.clientWidth`
	const unlabelled = `[...document.querySelectorAll('input:not([type=hidden]),select,textarea')].filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name)`
	for _, page := range []string{"/ui/connections", "/ui/connections/new", "/ui/connections/new?kind=server", "/ui/connections/new?kind=services&auth=pat", "/ui/build-profiles"} {
		var wide bool
		var bare []string
		var axe []bt.Violation
		b.Run("phone "+page,
			bt.Viewport(375, 812, true),
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
			t.Errorf("%s scrolls sideways at 375 px", page)
		}
		if len(bare) > 0 {
			t.Errorf("%s has form controls without a label: %v", page, bare)
		}
		b.Shot("phone" + strings.NewReplacer("/", "-", "?", "-", "=", "-", "&", "-").Replace(page))
	}

	// Enter in the name field sends the form, as a submit button would.
	emptyServerForm(t, b, d.service, "phone", chromedp.ActionFunc(func(ctx context.Context) error {
		return chromedp.Run(ctx, chromedp.Focus(`#name`, chromedp.ByQuery), chromedp.KeyEvent(kb.Enter))
	}))
	var wide bool
	b.Run("phone: the summary fits", chromedp.Evaluate(overflow, &wide))
	if wide {
		t.Errorf("the error summary scrolls sideways at 375 px")
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

// The OAuth path in a real browser: Connect opens on Services with "Sign in with Azure
// DevOps"; the organization typed names the connection; the simulator's consent page, Accept,
// and on to screen 2 (choosing a repository) with the connection authorized.
func TestBrowserOAuthFlow(t *testing.T) {
	d := runDemo(t)
	b := bt.New(t)
	var name, button string
	b.Run("start the sign-in",
		chromedp.Navigate(d.service+"/ui/connections/new?kind=services"),
		chromedp.WaitVisible(`#collection`, chromedp.ByQuery),
		chromedp.SendKeys(`#collection`, "fabrikam", chromedp.ByQuery),
		chromedp.Value(`#name`, &name, chromedp.ByQuery),
		bt.Text(`form.wizard button[type=submit] span:not([hidden])`, &button),
	)
	if name != "fabrikam" || button != "Sign in with Azure DevOps" {
		t.Errorf("before the sign-in: name %q, button %q", name, button)
	}
	b.Shot("sign-in-form")
	accessible(t, b, "sign-in-form")
	b.Run("sign in",
		chromedp.Click(`form.wizard button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[value=accept]`, chromedp.ByQuery),
	)
	b.Shot("consent")
	var location, from string
	b.Run("accept",
		chromedp.Click(`button[value=accept]`, chromedp.ByQuery),
		// A sign-in that authorized the connection goes on to screen 2, choosing a repository.
		chromedp.WaitVisible(`#repo-list[data-total] .repo`, chromedp.ByQuery),
		chromedp.Location(&location),
		bt.Text(`main`, &from),
	)
	b.Shot("signed-in")
	accessible(t, b, "signed-in")
	if !strings.Contains(location, "/ui/new/choose?connection=") || !strings.Contains(from, "fabrikam") {
		t.Fatalf("after the sign-in: %s, the page says %q", location, from)
	}
	if conns := d.api("GET", "/api/v1/connections", "")["value"].([]any); len(conns) != 1 || conns[0].(map[string]any)["name"] != "fabrikam" {
		t.Fatalf("connections after the sign-in: %v", conns)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}

// A Services connection with a PAT in a real browser, chosen with the switches: Connect opens
// on Services signing in; choosing "Personal access token" shows the PAT field, the Check and
// the PAT's scopes; the organization names the connection; Check, Create, and the browser goes
// on to screen 2 with the connection made.
func TestBrowserServicesPAT(t *testing.T) {
	d := runDemo(t)
	b := bt.New(t)
	var patHidden bool
	b.Run("open Connect",
		chromedp.Navigate(d.service+"/ui/connections/new"),
		chromedp.WaitVisible(`#collection`, chromedp.ByQuery),
		chromedp.Evaluate(`!(`+shown(`#pat`)+`)`, &patHidden),
	)
	if !patHidden {
		t.Errorf("the sign-in form shows a PAT field")
	}
	var passed, name, button string
	b.Run("check a Services PAT",
		chromedp.Click(`label:has(#auth-pat)`, chromedp.ByQuery),
		bt.WaitJS(shown(`#pat`)),
		bt.WaitJS(shown(`.scope-set[data-scopes=services-pat]`)),
		chromedp.SendKeys(`#collection`, "fabrikam", chromedp.ByQuery),
		chromedp.SendKeys(`#pat`, d.pat, chromedp.ByQuery),
		chromedp.Value(`#name`, &name, chromedp.ByQuery),
		bt.Text(`form.wizard button[type=submit] span:not([hidden])`, &button),
		chromedp.Click(`button[data-check]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#check-result .check[data-valid=true]`, chromedp.ByQuery),
		bt.Text(`#check-result`, &passed),
	)
	if !strings.Contains(passed, "Demo User") || name != "fabrikam" || button != "Create connection" {
		t.Fatalf("Services PAT check shows %q; name %q, button %q", passed, name, button)
	}
	b.Shot("services-pat-checked")
	accessible(t, b, "services-pat-checked")
	var where string
	b.Run("create it",
		chromedp.Click(`form.wizard button[type=submit]`, chromedp.ByQuery),
		bt.WaitJS(`!location.pathname.startsWith('/ui/connections/new') && location.pathname !== '/ui/connections'`),
		bt.WaitText(`main`, "fabrikam"),
		chromedp.Evaluate(`location.pathname + location.search`, &where),
	)
	conns := d.api("GET", "/api/v1/connections", "")["value"].([]any)
	if len(conns) != 1 {
		t.Fatalf("%d connections after Create", len(conns))
	}
	conn := conns[0].(map[string]any)
	if conn["name"] != "fabrikam" || conn["type"] != "services-pat" || !strings.Contains(where, conn["id"].(string)) {
		t.Fatalf("after Create the browser is at %s; the connection %v", where, conn)
	}
	b.Shot("services-pat-connection")
	accessible(t, b, "services-pat-connection")
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}
