package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// alertRE finds the message boxes of a page (class "alert …").
var alertRE = regexp.MustCompile(`class="alert ([a-z]+)[ "]`)

// stateRE finds a message about the connection's state (the warnings of an authorized
// connection, such as legacy_oauth_app, are other messages).
var stateRE = regexp.MustCompile(`class="alert (error|ok|info)[ "]`)

// mainOf is the <main> element of a page: what the page says, without the header.
func mainOf(t *testing.T, page string) string {
	t.Helper()
	i, j := strings.Index(page, "<main"), strings.Index(page, "</main>")
	if i < 0 || j < i {
		t.Fatalf("no <main> in the page: %s", page)
	}
	return page[i:j]
}

// pageSignIn starts a sign-in of connection id from its page in browser a (the Sign in /
// Re-authorize button, POST /ui/connections/{id}/authorize) and returns the simulator's
// authorization URL it redirects to.
func (e *oauthEnv) pageSignIn(a *uiBrowser, id string) string {
	e.t.Helper()
	resp, body := a.do("POST", "/ui/connections/"+id+"/authorize", url.Values{})
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(authURL, e.sim.AzureDevOpsOAuthURL()+"/") {
		e.t.Fatalf("sign in from the page: %d to %q %s", resp.StatusCode, authURL, body)
	}
	return authURL
}

// backFrom follows the provider's redirect (callback URL) in browser a through the callback
// and /ui/signed-in, checks each hop, and returns where the browser lands.
func backFrom(t *testing.T, a *uiBrowser, callback string) *url.URL {
	t.Helper()
	resp, body := a.do("GET", strings.TrimPrefix(callback, a.base), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/signed-in?") {
		t.Fatalf("callback: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = a.do("GET", resp.Header.Get("Location"), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signed-in: %d %s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// oneMessage fails unless the page's main part holds exactly one message box, of class want,
// with data-state state, and returns that box's markup.
func oneMessage(t *testing.T, page, want, state string) string {
	t.Helper()
	m := mainOf(t, page)
	boxes := alertRE.FindAllStringSubmatch(m, -1)
	if len(boxes) != 1 || boxes[0][1] != want {
		t.Fatalf("the page shows %d message boxes %v, want one %q:\n%s", len(boxes), boxes, want, m)
	}
	i := strings.Index(m, `class="alert `)
	box := m[i:]
	box = box[:strings.Index(box, "</div>")]
	if !strings.Contains(box, `data-state="`+state+`"`) {
		t.Fatalf("the message is not %s: %s", state, box)
	}
	return box
}

// After Deny on the consent page, the browser lands on the connection's page with one red
// message saying the user declined (not that Azure DevOps refused a credential) and a Sign in
// again button; no green or yellow box, no repository loading, no way on to screen 2. The
// list says the same in the connection's row. Signing in again and accepting goes on to
// screen 2 of the import flow.
func TestUIConnectionPageDeclined(t *testing.T) {
	e := newOAuthUIEnv(t)
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	id := e.create(map[string]any{"name": "declined"})["id"].(string)

	back := backFrom(t, a, e.declinedCallback(e.pageSignIn(a, id)))
	if back.Path != "/ui/connections/"+id || back.Query().Get("status") != "not_authorized" || back.Query().Get("reason") != "access_denied" {
		t.Fatalf("after Deny the browser goes to %s", back)
	}
	wantStatus(t, e.get(id), "not_authorized", "access_denied")
	resp, page := a.do("GET", back.RequestURI(), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the connection page: %d %s", resp.StatusCode, page)
	}
	box := oneMessage(t, page, "info", "declined") // the user pressed Deny: nothing failed
	const declined = "You declined the sign-in on Azure DevOps, so nothing was authorized."
	m := mainOf(t, page)
	if !strings.Contains(box, declined) || strings.Count(m, declined) != 1 || !strings.Contains(box, `role="status"`) {
		t.Errorf("the message: %s", box)
	}
	if !regexp.MustCompile(`<form method="post" action="/ui/connections/` + id + `/authorize"[^>]*><button type="submit"[^>]*>Sign in again</button>`).MatchString(box) {
		t.Errorf("no Sign in again button in the message: %s", box)
	}
	for _, bad := range []string{"refused the connection's credential", "Loading repositories", `hx-trigger="load"`, "/ui/new/choose", "crumbs", "Signed in"} {
		if strings.Contains(m, bad) {
			t.Errorf("the page shows %q:\n%s", bad, m)
		}
	}
	if !strings.Contains(m, "cannot be listed until it is authorized") {
		t.Errorf("the page does not say the repositories wait for the sign-in:\n%s", m)
	}
	// A reload says the same: the message follows the stored status, not the query.
	if _, again := a.do("GET", "/ui/connections/"+id, nil); !strings.Contains(oneMessage(t, again, "info", "declined"), declined) {
		t.Errorf("the reloaded page: %s", again)
	}
	// The list's row says it in the same words, as information.
	_, list := a.do("GET", "/ui/connections", nil)
	if !strings.Contains(list, `<div class="small conn-msg info" data-state="declined">`+declined+`</div>`) {
		t.Errorf("the list row: %s", mainOf(t, list))
	}

	// Sign in again, accept: on to screen 2.
	back = backFrom(t, a, e.callbackURL(e.pageSignIn(a, id)))
	if back.String() != "/ui/new/choose?connection="+id {
		t.Fatalf("after the accepted sign-in the browser goes to %s, want screen 2", back)
	}
	wantStatus(t, e.get(id), "authorized", "")
	_, page = a.do("GET", "/ui/connections/"+id, nil)
	m = mainOf(t, page)
	if stateRE.MatchString(m) || !strings.Contains(m, `href="/ui/new/choose?connection=`+id+`"`) || !strings.Contains(m, "Choose a repository") {
		t.Errorf("the authorized connection's page:\n%s", m)
	}
}

// With the organization's OAuth policy off the sign-in lands on the connection's page with one
// red message naming the setting, a real link to the organization's policy settings (for the
// simulator, its own URL) and Check again; once an administrator turns the policy on, Check
// again authorizes the connection, and the page no longer shows the message and leads to
// screen 2.
func TestUIConnectionPagePolicyOff(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1) // the policy is off, as for a new organization
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	id := e.create(map[string]any{"name": "policy"})["id"].(string)

	back := backFrom(t, a, e.callbackURL(e.pageSignIn(a, id)))
	if back.Path != "/ui/connections/"+id || back.Query().Get("status") != "oauth_policy_disabled" {
		t.Fatalf("after the policy-off sign-in the browser goes to %s", back)
	}
	wantStatus(t, e.get(id), "oauth_policy_disabled", "oauth_policy_disabled")
	_, page := a.do("GET", back.RequestURI(), nil)
	box := oneMessage(t, page, "error", "policy")
	link := `<a href="` + e.sim.URL() + `/` + org + `/_settings/organizationPolicy"`
	for _, want := range []string{"The organization " + org + " does not allow third-party applications to use OAuth", link,
		"Third-party application access via OAuth", "Then press Check again."} {
		if !strings.Contains(box, want) {
			t.Errorf("the policy message lacks %q: %s", want, box)
		}
	}
	// The PAT instead: the Services PAT form of the same organization, not /ui/new.
	if !strings.Contains(box, `<a href="/ui/connections/new?kind=services&amp;auth=pat&amp;collection=`+org+`" class="pat-instead">`) {
		t.Errorf("no link to the PAT form of %s: %s", org, box)
	}
	if _, form := a.do("GET", "/ui/connections/new?kind=services&auth=pat&collection="+org, nil); !strings.Contains(inputTag(form, "collection"), `value="`+org+`"`) ||
		!strings.Contains(form, `id="auth-pat" type="radio" name="auth" value="pat" checked`) {
		t.Errorf("the PAT form from the link: %s", mainOf(t, form))
	}
	m := mainOf(t, page)
	for _, bad := range []string{"refused the connection's credential", "Loading repositories", "/ui/new/choose", "TF400813"} {
		if strings.Contains(m, bad) {
			t.Errorf("the page shows %q:\n%s", bad, m)
		}
	}
	if !strings.Contains(m, `data-check="/ui/connections/`+id+`/check"`) || !strings.Contains(m, `id="check-outcome"`) {
		t.Errorf("no Check again on the page:\n%s", m)
	}

	// Check again while the policy is still off: the message stays.
	resp, out := a.do("POST", "/ui/connections/"+id+"/check", url.Values{}, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("check again: %d %s", resp.StatusCode, out)
	}
	wantStatus(t, e.get(id), "oauth_policy_disabled", "")

	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	if resp, out = a.do("POST", "/ui/connections/"+id+"/check", url.Values{}, "HX-Request", "true"); resp.StatusCode != http.StatusOK {
		t.Fatalf("check again: %d %s", resp.StatusCode, out)
	}
	wantStatus(t, e.get(id), "authorized", "")
	// The check's answer updates what depends on the status out of band: #conn-next now
	// offers Choose a repository.
	if i := strings.Index(out, `<div id="conn-next" hx-swap-oob="true">`); i < 0 || !strings.Contains(out[i:], `href="/ui/new/choose?connection=`+id+`"`) ||
		strings.Contains(out[i:], "cannot be listed") {
		t.Errorf("the check's answer has no #conn-next with Choose a repository: %s", out)
	}
	_, page = a.do("GET", "/ui/connections/"+id, nil)
	m = mainOf(t, page)
	if stateRE.MatchString(m) || !strings.Contains(m, `href="/ui/new/choose?connection=`+id+`"`) {
		t.Errorf("the page after the policy was turned on:\n%s", m)
	}
}

// A connection whose sign-in was never completed (the user closed the consent page) is not a
// failure: one neutral message with the sign-in button, and no repository loading.
func TestUIConnectionPagePending(t *testing.T) {
	e := newOAuthUIEnv(t)
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	id := e.create(map[string]any{"name": "pending"})["id"].(string)
	_, page := a.do("GET", "/ui/connections/"+id, nil)
	box := oneMessage(t, page, "info", "pending")
	if !strings.Contains(box, "Sign in with Azure DevOps</button>") || !strings.Contains(box, `role="status"`) {
		t.Errorf("the pending message: %s", box)
	}
	if m := mainOf(t, page); strings.Contains(m, "Loading repositories") || !strings.Contains(m, "cannot be listed until it is authorized") {
		t.Errorf("the pending connection's page:\n%s", m)
	}
	// Never checked: "never", with no made-up date, on the page and in the list.
	if m := mainOf(t, page); strings.Contains(m, `datetime="0001`) || !strings.Contains(m, "<time>") {
		t.Errorf("the last check of a connection never checked:\n%s", m)
	}
	if _, list := a.do("GET", "/ui/connections", nil); strings.Contains(list, `datetime="0001`) {
		t.Errorf("the list gives a never-checked connection a date:\n%s", mainOf(t, list))
	}
}

// /ui/signed-in passes only plain codes on: a reason that is not one is dropped.
func TestUISignedInDropsOddReason(t *testing.T) {
	e := newOAuthUIEnv(t)
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	resp, _ := a.do("GET", "/ui/signed-in?connectionId=abc&status=not_authorized&reason="+url.QueryEscape("<b>x</b>"), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/ui/connections/abc?status=not_authorized" {
		t.Fatalf("signed-in: %d %q", resp.StatusCode, loc)
	}
}

// With no connection the list leads into the import flow: "New build profile" (/ui/new), in
// whole sentences.
func TestUIConnectionsEmptyState(t *testing.T) {
	e := newUIEnv(t, false)
	_, page := e.browser().signIn(e.keys["acme"]).do("GET", "/ui/connections", nil)
	m := mainOf(t, page)
	if !strings.Contains(m, `<a class="button" href="/ui/new">New build profile</a>`) || !strings.Contains(m, "No connection yet.") {
		t.Errorf("the empty list:\n%s", m)
	}
}

// A PAT connection whose PAT Azure DevOps refuses shows one red message that leads to the
// Replace-the-PAT form, Check again, and no way on to screen 2.
func TestUIConnectionPagePATRefused(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "onprem")
	e.sim.AddPAT(azdosim.PAT{Token: simPAT, UserName: "UI Tester", Expires: time.Now().Add(-time.Hour)})
	b := e.browser().signIn(e.keys["acme"])
	if resp, body := b.do("POST", "/ui/connections/"+id+"/check", url.Values{}, "HX-Request", "true"); resp.StatusCode != http.StatusOK {
		t.Fatalf("check again: %d %s", resp.StatusCode, body)
	}
	_, page := b.do("GET", "/ui/connections/"+id, nil)
	box := oneMessage(t, page, "error", "pat_refused")
	m := mainOf(t, page)
	if !strings.Contains(box, "personal access token no longer works, so the connection cannot be used until the PAT is replaced.") || !strings.Contains(box, `<a href="/ui/connections/`+id+`#authorize">Replace the PAT</a>`) {
		t.Errorf("the message: %s\n%s", box, m)
	}
	if !strings.Contains(m, `id="new-pat"`) || !strings.Contains(m, `data-check="/ui/connections/`+id+`/check"`) || strings.Contains(m, "/ui/new/choose") {
		t.Errorf("the page:\n%s", m)
	}
}

// The demo banner is one line (a closed <details>) holding every value with a copy button
// named for what it copies; the values stay readable (textContent) while it is closed.
func TestUIDemoBannerCompact(t *testing.T) {
	e := newUIEnv(t, true)
	_, page := e.browser().do("GET", "/ui/connections", nil)
	i, j := strings.Index(page, `<aside class="demo"`), strings.Index(page, "</aside>")
	if i < 0 || j < i {
		t.Fatalf("no demo banner: %s", page)
	}
	banner := page[i:j]
	if !strings.Contains(banner, `<details class="demo-details">`) || strings.Contains(banner, "<details open") || !strings.Contains(banner, "<summary>") {
		t.Errorf("the banner is not a closed details: %s", banner)
	}
	for _, v := range []struct{ id, attr, value, name string }{
		{"demo-pat", "pat", simPAT, "the PAT"}, {"demo-server", "serverUrl", e.sim.URL(), "the server URL"},
		{"demo-collection", "collection", "DefaultCollection", "the collection"}, {"demo-clone", "cloneUrl", e.sim.URL() + "/DefaultCollection/", "the clone URL"},
	} {
		if !strings.Contains(banner, `<code id="`+v.id+`" data-demo="`+v.attr+`">`+v.value) {
			t.Errorf("the banner lacks %s's value %q", v.attr, v.value)
		}
		button := `<button type="button" class="copy" id="copy-` + v.id + `" data-copy="#` + v.id + `" aria-labelledby="copy-` + v.id + ` copy-` + v.id + `-what">Copy</button><span id="copy-` + v.id + `-what" hidden>` + v.name + `</span>`
		if !strings.Contains(banner, button) {
			t.Errorf("no copy button named Copy %s", v.name)
		}
	}
}

// Retrying a sign-in from the Connect form (Back, Deny, the wrong account, then "Sign in with
// Azure DevOps" again) signs in again for the connection the first try made, whose name the
// form defaulted: no name clash, no second connection. A name taken by another connection
// is refused with a link to it.
func TestUIWizardSignInRetry(t *testing.T) {
	e := newOAuthUIEnv(t)
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	form := url.Values{"kind": {"services"}, "auth": {"oauth"}, "collection": {org}, "name": {""}}
	start := func(step string) string {
		t.Helper()
		resp, body := a.do("POST", "/ui/connections", form)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, e.sim.AzureDevOpsOAuthURL()+"/") {
			t.Fatalf("%s: %d to %q %s", step, resp.StatusCode, loc, body)
		}
		return loc
	}
	back := backFrom(t, a, e.declinedCallback(start("the first sign-in")))
	id := strings.TrimPrefix(back.Path, "/ui/connections/")
	wantStatus(t, e.get(id), "not_authorized", "access_denied")
	// Again, with the name defaulted and then typed: a new sign-in of the same connection.
	start("the retry with the defaulted name")
	form.Set("name", org)
	back = backFrom(t, a, e.callbackURL(start("the retry with the typed name")))
	if back.String() != "/ui/new/choose?connection="+id {
		t.Fatalf("the retried sign-in goes to %s, want screen 2 of %s", back, id)
	}
	wantStatus(t, e.get(id), "authorized", "")
	_, list := a.do("GET", "/ui/connections", nil)
	if n := strings.Count(list, `<tr id="conn-`); n != 1 {
		t.Errorf("%d connections after the retries, want 1", n)
	}
	// The connection is authorized now: a new Create of the name is refused, linking it.
	resp, body := a.do("POST", "/ui/connections", form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `<a href="/ui/connections/`+id+`" data-taken-by="`+id+`">Open the connection `+org+`</a>`) {
		t.Errorf("a taken name: %d %s", resp.StatusCode, mainOf(t, body))
	}
}

// A connection on a legacy Azure DevOps OAuth app: the page's "Move to Microsoft Entra ID"
// section says why (the warning, once, inside the section) and what to do; About does not
// repeat it, and the page gives no API instructions.
func TestUIConnectionPageLegacyOAuthOnce(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderEntra, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	id, conn := e.signIn(map[string]any{"name": "legacy", "oauth": ownAzureDevOpsApp()}, "Ada Lovelace")
	if _, ok := legacyWarning(conn); !ok {
		t.Fatalf("no legacy_oauth_app warning in the API: %v", conn["warnings"])
	}
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	_, page := a.do("GET", "/ui/connections/"+id, nil)
	m := mainOf(t, page)
	_, section, _ := strings.Cut(m, `id="move-to-entra"`)
	if section == "" || strings.Count(m, `data-warning="legacy_oauth_app"`) != 1 || !strings.Contains(section, `data-warning="legacy_oauth_app"`) ||
		strings.Contains(m, "/api/v1/") || strings.Count(m, "Microsoft Entra ID") > 4 {
		t.Errorf("the legacy connection's page:\n%s", m)
	}
}
