package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// pageMessages is what a connection page shows about the connection's state, read in the
// browser: the message boxes of <main> (warnings about the app aside), the one message's
// state and text, and whether anything waits for repositories.
type pageMessages struct {
	Boxes   []string `json:"boxes"`   // class names of every .alert in main but warnings
	State   string   `json:"state"`   // data-state of the #conn-state message
	Text    string   `json:"text"`    // its text
	Loading bool     `json:"loading"` // main says "Loading repositories"
	NoRepos bool     `json:"noRepos"` // main says the repositories wait for the authorization
	SignIn  bool     `json:"signIn"`  // the message has a sign-in button
}

const readMessages = `(() => {
  const m = document.querySelector('main');
  const box = document.querySelector('#conn-state .alert');
  return {
    boxes: [...m.querySelectorAll('.alert:not([data-warning])')].map(e => e.className),
    state: box ? box.dataset.state : '',
    text: box ? box.textContent.replace(/\s+/g, ' ').trim() : '',
    loading: m.textContent.includes('Loading repositories'),
    noRepos: !!m.querySelector('[data-repositories=unavailable]'),
    signIn: !!(box && box.querySelector('button.sign-in')),
  };
})()`

// oneFailure fails unless the page shows exactly one message, a red one (alert error) in
// state, and no repository loading.
func oneFailure(t *testing.T, b *bt.Browser, step, state string) pageMessages {
	t.Helper()
	var got pageMessages
	b.Run("read the messages of "+step, chromedp.Evaluate(readMessages, &got))
	// A declined sign-in is information (the user pressed Deny, nothing failed); the
	// failures are red.
	want := "alert error conn-state"
	if state == "declined" {
		want = "alert info conn-state"
	}
	if len(got.Boxes) != 1 || got.Boxes[0] != want || got.State != state {
		t.Errorf("%s: the page shows %q (state %q), want one %q %s message", step, got.Boxes, got.State, want, state)
	}
	if got.Loading || !got.NoRepos {
		t.Errorf("%s: repositories: loading %v, says they wait for the authorization %v", step, got.Loading, got.NoRepos)
	}
	return got
}

// fitsWidth fails when the page scrolls sideways (wider than the viewport).
func fitsWidth(t *testing.T, b *bt.Browser, step string) {
	t.Helper()
	var w struct {
		Scroll float64 `json:"scroll"`
		View   float64 `json:"view"`
	}
	b.Run("measure the width of "+step, chromedp.Evaluate(`({scroll: document.documentElement.scrollWidth, view: window.innerWidth})`, &w))
	if w.Scroll > w.View {
		t.Errorf("%s: the page is %.0f px wide in a %.0f px viewport", step, w.Scroll, w.View)
	}
}

// bannerHeight measures the demo banner (aside.demo) in CSS pixels.
func bannerHeight(b *bt.Browser, step string) float64 {
	var h float64
	b.Run("measure the demo banner "+step, chromedp.Evaluate(`document.querySelector('aside.demo').getBoundingClientRect().height`, &h))
	return h
}

// The OAuth failures in a real browser, from the demo: a Services connection made through the
// API, its sign-in started from its page. Deny on the simulator's consent page lands on one
// neutral (info) message saying the user declined, with Sign in again; the demo's policy-off
// organization lands on one red message whose link opens the organization's policy page,
// where turning the policy on and pressing Check again authorizes the connection and leads
// to Choose a repository. Each state passes axe at 1280×900 and 375×812, and the demo banner
// takes a small part of the phone's first screen.
func TestBrowserOAuthDenyAndPolicyOff(t *testing.T) {
	d := runDemo(t)
	b := bt.New(t)
	declinedID := d.api("POST", "/api/v1/connections", `{"name":"declined","type":"services-oauth","organization":"fabrikam"}`)["id"].(string)
	b.Run("open the new connection",
		chromedp.Navigate(d.service+"/ui/connections/"+declinedID),
		chromedp.WaitVisible(`#conn-state [data-state=pending] button.sign-in`, chromedp.ByQuery),
	)
	accessible(t, b, "not yet signed in")
	b.Run("sign in and deny",
		chromedp.Click(`#conn-state button.sign-in`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[value=deny]`, chromedp.ByQuery),
		chromedp.Click(`button[value=deny]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#conn-state [data-state=declined]`, chromedp.ByQuery),
	)
	got := oneFailure(t, b, "the declined sign-in", "declined")
	var focused string
	b.Run("see where the focus is", chromedp.Evaluate(`document.activeElement.dataset.state || document.activeElement.tagName`, &focused))
	if focused != "declined" {
		t.Errorf("after Deny the focus is on %q, want the message", focused)
	}
	if !strings.HasPrefix(got.Text, "You declined the sign-in on Azure DevOps, so nothing was authorized.") || !got.SignIn {
		t.Errorf("after Deny the message reads %q (sign-in button %v)", got.Text, got.SignIn)
	}
	b.Shot("oauth-declined")
	accessible(t, b, "declined")

	// The phone: the same one message, and a banner that leaves the screen to the page.
	b.Run("phone width", bt.Viewport(375, 812, true), chromedp.Reload(),
		chromedp.WaitVisible(`#conn-state [data-state=declined]`, chromedp.ByQuery))
	oneFailure(t, b, "the declined sign-in at 375 px", "declined")
	fitsWidth(t, b, "the declined sign-in at 375 px")
	closed := bannerHeight(b, "closed")
	b.Shot("oauth-declined-phone")
	accessible(t, b, "declined at 375 px")
	var copied string
	b.Run("open the banner and copy the PAT",
		chromedp.Click(`aside.demo summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[data-copy="#demo-pat"]`, chromedp.ByQuery),
		chromedp.Click(`button[data-copy="#demo-pat"]`, chromedp.ByQuery),
		bt.WaitJS(`document.querySelector('button[data-copy="#demo-pat"]').textContent !== 'Copy'`),
		bt.Text(`button[data-copy="#demo-pat"]`, &copied),
	)
	opened := bannerHeight(b, "opened")
	fitsWidth(t, b, "the demo banner opened at 375 px")
	b.Shot("demo-banner-open-phone")
	accessible(t, b, "the demo banner opened at 375 px")
	t.Logf("demo banner at 375×812: %.0f px closed (%.1f%% of the first screen), %.0f px opened; the copy button said %q",
		closed, closed*100/812, opened, copied)
	if closed > 812/8 {
		t.Errorf("the closed demo banner is %.0f px high at 375×812, want at most an eighth of the screen (%d px)", closed, 812/8)
	}
	if copied != "Copied" && copied != "Select and copy by hand" {
		t.Errorf("the copy button said %q", copied)
	}
	var pat string
	b.Run("read the PAT", bt.Text(`[data-demo=pat]`, &pat))
	if pat != d.pat {
		t.Errorf("the banner's PAT %q, want the demo's", pat)
	}

	// The policy-off organization, at 1280×900.
	policyID := d.api("POST", "/api/v1/connections", `{"name":"nopolicy","type":"services-oauth","organization":"contoso-nopolicy"}`)["id"].(string)
	b.Run("desktop width", bt.Viewport(1280, 900, false))
	b.Run("sign in to the policy-off organization",
		chromedp.Navigate(d.service+"/ui/connections/"+policyID),
		chromedp.Click(`#conn-state button.sign-in`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[value=accept]`, chromedp.ByQuery),
		chromedp.Click(`button[value=accept]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#conn-state [data-state=policy]`, chromedp.ByQuery),
	)
	got = oneFailure(t, b, "the policy-off sign-in", "policy")
	var href string
	var hasHref bool
	b.Run("read the policy link", chromedp.AttributeValue(`#conn-state a.policy-link`, "href", &href, &hasHref, chromedp.ByQuery))
	if !hasHref || !strings.HasPrefix(href, "http://127.0.0.1:") || !strings.HasSuffix(href, "/contoso-nopolicy/_settings/organizationPolicy") {
		t.Errorf("the policy link: %q (%v)", href, hasHref)
	}
	if !strings.Contains(got.Text, "contoso-nopolicy does not allow third-party applications to use OAuth") ||
		!strings.Contains(got.Text, "Third-party application access via OAuth") || strings.Contains(got.Text, "TF400813") {
		t.Errorf("the policy message reads %q", got.Text)
	}
	var patHref string
	var hasPAT bool
	b.Run("read the PAT link", chromedp.AttributeValue(`#conn-state a.pat-instead`, "href", &patHref, &hasPAT, chromedp.ByQuery))
	if patHref != "/ui/connections/new?kind=services&auth=pat&collection=contoso-nopolicy" {
		t.Errorf("the link to connect with a PAT instead: %q (%v)", patHref, hasPAT)
	}
	b.Shot("oauth-policy-off")
	accessible(t, b, "policy off")
	b.Run("phone width", bt.Viewport(375, 812, true), chromedp.Reload(),
		chromedp.WaitVisible(`#conn-state [data-state=policy]`, chromedp.ByQuery))
	oneFailure(t, b, "the policy-off sign-in at 375 px", "policy")
	fitsWidth(t, b, "the policy-off sign-in at 375 px")
	b.Shot("oauth-policy-off-phone")
	accessible(t, b, "policy off at 375 px")

	// The link works: the organization's policy page turns the policy on; Check again then
	// authorizes the connection and the page leads on to screen 2.
	b.Run("turn the policy on",
		bt.Viewport(1280, 900, false),
		chromedp.Navigate(href),
		chromedp.WaitVisible(`#oauth-policy[data-allowed=false]`, chromedp.ByQuery),
		chromedp.Click(`#toggle-oauth-policy`, chromedp.ByQuery),
		chromedp.WaitVisible(`#oauth-policy[data-allowed=true]`, chromedp.ByQuery),
	)
	b.Run("check again",
		chromedp.Navigate(d.service+"/ui/connections/"+policyID),
		chromedp.WaitVisible(`#conn-state [data-state=policy]`, chromedp.ByQuery),
		chromedp.Click(`.conn-check button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#conn-status [data-status=authorized]`, chromedp.ByQuery),
	)
	// Without a reload, what the page offers next follows the check: Choose a repository, and
	// no longer "cannot be listed until it is authorized".
	var stale bool
	b.Run("the page after Check again, before a reload",
		chromedp.WaitVisible(`#conn-next #choose-repository`, chromedp.ByQuery),
		chromedp.Evaluate(`!!document.querySelector('[data-repositories=unavailable]')`, &stale),
	)
	if stale {
		t.Errorf("after Check again authorized the connection the page still says its repositories cannot be listed")
	}
	b.Run("reload", chromedp.Reload(), chromedp.WaitVisible(`#choose-repository`, chromedp.ByQuery))
	var after pageMessages
	b.Run("read the authorized page", chromedp.Evaluate(readMessages, &after))
	if len(after.Boxes) != 0 || after.NoRepos {
		t.Errorf("the authorized connection's page still shows %q (repositories unavailable %v)", after.Boxes, after.NoRepos)
	}
	b.Shot("oauth-policy-fixed")
	accessible(t, b, "policy fixed")

	// The list says the same, in the same colours, at both widths.
	var rows []string
	b.Run("the connections list",
		chromedp.Navigate(d.service+"/ui/connections"),
		chromedp.WaitVisible(`#conn-`+declinedID, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('table.connections .conn-msg')].map(e => e.className + ': ' + e.textContent)`, &rows),
	)
	if len(rows) != 1 || rows[0] != "small conn-msg info: You declined the sign-in on Azure DevOps, so nothing was authorized." {
		t.Errorf("the list's messages: %q", rows)
	}
	b.Shot("connections-list")
	accessible(t, b, "the connections list")
	b.Run("the list at 375 px", bt.Viewport(375, 812, true), chromedp.Reload(), chromedp.WaitVisible(`#conn-`+declinedID, chromedp.ByQuery))
	fitsWidth(t, b, "the connections list at 375 px")
	b.Shot("connections-list-phone")
	accessible(t, b, "the connections list at 375 px")
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Fatalf("the pages reported errors: %q", errs)
	}
}
