package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

// uiBrowser is a client of the pages at base with a cookie jar that follows no redirect, so
// each one is seen. ui_test.go uses it too (uiEnv.browser).
type uiBrowser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newUIBrowser(t *testing.T, base string) *uiBrowser {
	jar, _ := cookiejar.New(nil)
	return &uiBrowser{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends method path (relative to base), form (when not nil) as the urlencoded body and the
// header pairs, and returns the answer with its body read.
func (b *uiBrowser) do(method, path string, form url.Values, header ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1] // the header a client sends; req.Header's is ignored
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp, string(raw)
}

// signIn signs the browser in with an API key through the sign-in form.
func (b *uiBrowser) signIn(key string) *uiBrowser {
	b.t.Helper()
	if resp, body := b.do("POST", "/ui/sign-in", url.Values{"apiKey": {key}}); resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	return b
}

// sessionCookie returns the rc_session cookie resp sets, or nil.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "rc_session" {
			return c
		}
	}
	return nil
}

// signInNonce returns the rc_signin cookie resp sets, or nil.
func signInNonce(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "rc_signin" {
			return c
		}
	}
	return nil
}

// startOnPages starts a sign-in from the pages in browser a: the new-connection form for a
// new connection (id ""), the re-authorize button otherwise. It checks the redirect to the
// simulator and the nonce cookie, and returns the connection id and the authorization URL.
func (e *oauthEnv) startOnPages(a *uiBrowser, name, id string) (string, string) {
	e.t.Helper()
	var resp *http.Response
	var body string
	if id == "" {
		resp, body = a.do("POST", "/ui/connections", url.Values{"kind": {"services"}, "auth": {"oauth"}, "name": {name}, "collection": {org}})
	} else {
		resp, body = a.do("POST", "/ui/connections/"+id+"/authorize", url.Values{})
	}
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(authURL, e.sim.AzureDevOpsOAuthURL()+"/") {
		e.t.Fatalf("start %s: %d to %q %s", name, resp.StatusCode, authURL, body)
	}
	ck := signInNonce(resp)
	if ck == nil || ck.Path != "/" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || len(ck.Value) != 43 || ck.MaxAge <= 0 {
		e.t.Fatalf("start %s: nonce cookie %+v", name, ck)
	}
	if id == "" {
		code, list := e.call("GET", "/api/v1/connections", nil)
		for _, c := range list["value"].([]any) {
			if m := c.(map[string]any); m["name"] == name {
				id = m["id"].(string)
			}
		}
		if code != http.StatusOK || id == "" {
			e.t.Fatalf("no connection %s: %d %v", name, code, list)
		}
	}
	return id, authURL
}

// refused fetches a callback URL with browser b and checks it is refused with reason, shown
// on the page (HTML) or as the problem's code (JSON).
func refused(t *testing.T, b *uiBrowser, callback, accept, reason, sentence string) {
	t.Helper()
	resp, body := b.do("GET", strings.TrimPrefix(callback, b.base), nil, "Accept", accept)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("callback (Accept %q): %d %v %s", accept, resp.StatusCode, resp.Header, body)
	}
	if accept == "" {
		if !strings.Contains(body, "Sign-in refused") || !strings.Contains(body, sentence) {
			t.Errorf("callback page: %s", body)
		}
		return
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(body), &p); err != nil || p["code"] != reason || p["field"] != "state" {
		t.Errorf("callback problem: %s", body)
	}
}

// newOAuthUIEnv is newOAuthEnv with the Azure DevOps app and the organization allowing OAuth.
func newOAuthUIEnv(t *testing.T) *oauthEnv {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	return e
}

// A sign-in started from the pages completes only in the browser that started it: the
// provider's redirect followed by another browser (no nonce cookie) is refused with
// state_other_browser and leaves the connection unauthorized, while the starting browser's
// callback goes through /ui/signed-in on to screen 2 of the import flow, and its re-authorize
// of a refused connection authorizes it (coming back through /ui/signed-in too).
func TestUIOAuthSignInBoundToBrowser(t *testing.T) {
	e := newOAuthUIEnv(t)
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	var refusedIDs []string
	for i, accept := range []string{"", "application/json"} {
		id, authURL := e.startOnPages(a, "other-browser-"+string(rune('0'+i)), "")
		// Browser b consents and follows the provider's redirect, without a's cookies.
		b := newUIBrowser(t, e.apis[0].URL)
		refused(t, b, e.callbackURL(authURL), accept, "state_other_browser", "started in another browser")
		wantStatus(t, e.get(id), "not_authorized", "authorization_pending")
		refusedIDs = append(refusedIDs, id)
	}

	id, authURL := e.startOnPages(a, "same-browser", "")
	resp, body := a.do("GET", strings.TrimPrefix(e.callbackURL(authURL), a.base), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/signed-in?") ||
		!strings.Contains(loc, "connectionId="+id) || !strings.Contains(loc, "status=authorized") {
		t.Fatalf("callback in the starting browser: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, _ = a.do("GET", resp.Header.Get("Location"), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/ui/new/choose?connection="+id {
		t.Fatalf("signed-in: %d %q, want screen 2 of the import flow", resp.StatusCode, loc)
	}
	wantStatus(t, e.get(id), "authorized", "")

	// The starting browser re-authorizes a connection whose sign-in another browser spoiled.
	id, authURL = e.startOnPages(a, "", refusedIDs[0])
	resp, body = a.do("GET", strings.TrimPrefix(e.callbackURL(authURL), a.base), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/signed-in?") ||
		!strings.Contains(loc, "connectionId="+id) || !strings.Contains(loc, "status=authorized") {
		t.Fatalf("callback of the re-authorize: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	wantStatus(t, e.get(id), "authorized", "")
}

// A sign-in started through the JSON API carries no browser binding, so a browser without
// any cookie completes it, as API clients always could.
func TestUIOAuthAPISignInNeedsNoCookie(t *testing.T) {
	e := newOAuthUIEnv(t)
	c := e.create(map[string]any{"name": "api", "returnUrl": "/ui/signed-in"})
	resp, body := newUIBrowser(t, e.apis[0].URL).do("GET", strings.TrimPrefix(e.callbackURL(c["authorizationUrl"].(string)), e.apis[0].URL), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "status=authorized") {
		t.Fatalf("callback without cookies: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	wantStatus(t, e.get(c["id"].(string)), "authorized", "")
}

// A browser signed in to tenant X that lands on the callback of tenant Y's sign-in is
// refused (state_other_tenant), and Y's connection stays unauthorized.
func TestUIOAuthCallbackOtherTenantBrowser(t *testing.T) {
	e := newOAuthUIEnv(t)
	xKey, _, err := e.svcs[0].CreateAPIKey(context.Background(), "tenant-x")
	if err != nil {
		t.Fatal(err)
	}
	x := newUIBrowser(t, e.apis[0].URL).signIn(xKey)
	for i, accept := range []string{"", "application/json"} {
		c := e.create(map[string]any{"name": "y" + string(rune('0'+i)), "returnUrl": "/ui/signed-in"})
		refused(t, x, e.callbackURL(c["authorizationUrl"].(string)), accept, "state_other_tenant", "started by another workspace")
		wantStatus(t, e.get(c["id"].(string)), "not_authorized", "")
	}
}

// One browser can run two sign-ins at once (two tabs): both carry the browser's one nonce, so
// the first still completes after the second started.
func TestUIOAuthTwoSignInsInOneBrowser(t *testing.T) {
	e := newOAuthUIEnv(t)
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	first, firstURL := e.startOnPages(a, "tab-1", "")
	second, secondURL := e.startOnPages(a, "tab-2", "")
	for _, s := range []struct{ id, authURL string }{{first, firstURL}, {second, secondURL}} {
		resp, body := a.do("GET", strings.TrimPrefix(e.callbackURL(s.authURL), a.base), nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "status=authorized") {
			t.Fatalf("callback of %s: %d %v %s", s.id, resp.StatusCode, resp.Header, body)
		}
		wantStatus(t, e.get(s.id), "authorized", "")
	}
}
