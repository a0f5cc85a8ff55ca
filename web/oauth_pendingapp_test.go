package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// refusedSecret is a new client secret the simulator's Azure DevOps OAuth app does not know.
const refusedSecret = "pending-secret-the-provider-refuses-0123456789"

// declinedCallback opens authURL, declines the consent, and returns the callback URL (on
// instance 0) the provider redirected to, without calling it.
func (e *oauthEnv) declinedCallback(authURL string) string {
	e.t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), e.apis[0].URL) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	page, err := hc.Get(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := azdosimtest.SubmitConsent(hc, page, "Ada Lovelace", false)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, e.apis[0].URL+"/connector/callback?") || !strings.Contains(loc, "error=access_denied") {
		e.t.Fatalf("declined consent redirected to %q", loc)
	}
	return loc
}

// stillLegacy fails unless the connection is authorized on its own Azure DevOps OAuth app,
// warns legacy_oauth_app, and lists its projects, also after its access token expired (the
// refresh uses the app's secret).
func (e *oauthEnv) stillLegacy(id string) {
	e.t.Helper()
	conn := e.get(id)
	wantStatus(e.t, conn, "authorized", "")
	if o, _ := conn["oauth"].(map[string]any); o["provider"] != azuredevops.ProviderAzureDevOps || o["clientId"] != azdoClientID {
		e.t.Fatalf("the connection's app: %v", conn["oauth"])
	}
	if _, ok := legacyWarning(conn); !ok {
		e.t.Fatalf("the legacy_oauth_app warning went: %v", conn["warnings"])
	}
	for _, when := range []string{"now", "after a refresh"} {
		if code, m := e.call("GET", "/api/v1/connections/"+id+"/projects", nil); code != http.StatusOK {
			e.t.Fatalf("projects %s: %d %v", when, code, m)
		}
		e.clock.Advance(2 * time.Hour) // past the access token's hour
	}
	wantStatus(e.t, e.get(id), "authorized", "")
}

// The move to Entra started from the page and abandoned (the tab closed at Entra's sign-in)
// leaves the connection on its Azure DevOps OAuth app: authorized, listing projects, warning,
// the move still offered. Declined at the consent page, the page says so and nothing changes.
func TestLegacyOAuthMoveAbandonedOnPage(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderEntra, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	id, _ := e.signIn(map[string]any{"name": "legacy", "oauth": ownAzureDevOpsApp()}, "Ada Lovelace")
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)

	resp, body := a.do("POST", "/ui/connections/"+id+"/authorize", url.Values{"to": {"entra"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), e.sim.EntraAuthorityURL()+"/") {
		t.Fatalf("move: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// The browser never comes back.
	e.stillLegacy(id)
	if _, page := a.do("GET", "/ui/connections/"+id, nil); !strings.Contains(page, `id="move-to-entra-button"`) {
		t.Errorf("the page no longer offers the move: %s", page)
	}

	resp, _ = a.do("POST", "/ui/connections/"+id+"/authorize", url.Values{"to": {"entra"}})
	callback := e.declinedCallback(resp.Header.Get("Location"))
	resp, body = a.do("GET", strings.TrimPrefix(callback, a.base), nil)
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || back.Path != "/ui/connections/"+id || back.Query().Get("unchanged") != "true" ||
		back.Query().Get("reason") != "access_denied" || back.Query().Get("status") != "not_authorized" {
		t.Fatalf("callback of the declined move: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if _, page := a.do("GET", back.RequestURI(), nil); !strings.Contains(page, "did not complete (access_denied)") ||
		!strings.Contains(page, "left as it was, on its previous app, and is authorized") {
		t.Errorf("the page after the declined move: %s", page)
	}
	e.stillLegacy(id)
}

// A re-authorization with a new client secret that Azure DevOps refuses at the code exchange
// is reported (a 422 problem for a JSON caller, a page otherwise) and leaves the connection on
// its app with its secret and tokens; the refused secret appears in no answer and no log line.
func TestOAuthReauthorizeRefusedSecretKeepsApp(t *testing.T) {
	e := newOAuthEnv(t, "", 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	id, _ := e.signIn(map[string]any{"name": "own", "oauth": ownAzureDevOpsApp()}, "Ada Lovelace")
	newApp := map[string]any{"oauth": map[string]any{"provider": "azure-devops", "clientId": azdoClientID, "clientSecret": refusedSecret}}
	var answers []string
	reauthorize := func() string {
		t.Helper()
		code, re := e.call("POST", "/api/v1/connections/"+id+"/authorize", newApp)
		raw, _ := json.Marshal(re)
		answers = append(answers, string(raw))
		if o, _ := re["oauth"].(map[string]any); code != http.StatusOK || re["authorizationUrl"] == nil || re["status"] != "authorized" || o["provider"] != "azure-devops" {
			t.Fatalf("re-authorize: %d %v", code, re)
		}
		return re["authorizationUrl"].(string)
	}

	req, _ := http.NewRequest("GET", e.callbackURL(reauthorize()), nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	answers = append(answers, string(raw))
	var p map[string]any
	_ = json.Unmarshal(raw, &p)
	if resp.StatusCode != http.StatusUnprocessableEntity || p["code"] != "client_invalid" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("JSON callback: %d %s", resp.StatusCode, raw)
	}
	e.stillLegacy(id)

	code, page := e.consent(reauthorize(), "Ada Lovelace", true)
	answers = append(answers, page)
	if code != http.StatusOK || !strings.Contains(page, "The sign-in failed") || !strings.Contains(page, "left as it was") {
		t.Fatalf("callback page: %d %s", code, page)
	}
	e.stillLegacy(id)

	for what, text := range map[string]string{"answers": strings.Join(answers, "\n"), "logs": e.logs.String()} {
		if strings.Contains(text, refusedSecret) {
			t.Errorf("the %s carry the refused client secret", what)
		}
	}
}

// On either store, with two instances: a move to Entra started through the API on one
// instance leaves the connection on its app for every instance until the callback, which
// another instance completes with the state's pending app; then every instance sees it on
// Entra.
func TestLegacyOAuthPendingMoveAcrossInstances(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		e := newOAuthEnvOn(t, kind, azuredevops.ProviderEntra, 2)
		if err := e.sim.SetOAuthPolicy(org, true); err != nil {
			t.Fatal(err)
		}
		id, _ := e.signIn(map[string]any{"name": "legacy", "oauth": ownAzureDevOpsApp()}, "Ada Lovelace")
		code, re := e.call("POST", "/api/v1/connections/"+id+"/authorize", map[string]any{"oauth": map[string]any{"provider": "entra"}})
		authURL, _ := re["authorizationUrl"].(string)
		if o, _ := re["oauth"].(map[string]any); code != http.StatusOK || o["provider"] != azuredevops.ProviderAzureDevOps ||
			!strings.HasPrefix(authURL, e.sim.EntraAuthorityURL()+"/"+e.sim.TenantID()+"/") {
			t.Fatalf("move: %d %v", code, re)
		}
		_, other := e.callOn(1, "GET", "/api/v1/connections/"+id, nil)
		if o, _ := other["oauth"].(map[string]any); o["provider"] != azuredevops.ProviderAzureDevOps {
			t.Fatalf("instance 1 sees the pending app already: %v", other["oauth"])
		}
		callback := e.apis[1].URL + strings.TrimPrefix(e.callbackURL(authURL), e.apis[0].URL)
		if code, page := browserGet(t, callback, ""); code != http.StatusOK || !strings.Contains(page, "Connected to Azure DevOps") {
			t.Fatalf("callback on instance 1: %d %s", code, page)
		}
		for i := range e.apis {
			_, conn := e.callOn(i, "GET", "/api/v1/connections/"+id, nil)
			wantStatus(t, conn, "authorized", "")
			if o, _ := conn["oauth"].(map[string]any); o["provider"] != azuredevops.ProviderEntra || o["defaultApp"] != true {
				t.Errorf("instance %d: the app after the move is %v", i, conn["oauth"])
			}
			if code, m := e.callOn(i, "GET", "/api/v1/connections/"+id+"/projects", nil); code != http.StatusOK {
				t.Errorf("instance %d: projects after the move: %d %v", i, code, m)
			}
		}
	})
}
