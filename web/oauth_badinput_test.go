package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// callbackURL captures the redirect to the callback after consent, without following it.
func (e *oauthEnv) callbackURL(authURL string) string {
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
	resp, err := azdosimtest.SubmitConsent(hc, page, "Ada Lovelace", true)
	if err != nil {
		e.t.Fatal(err)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, e.apis[0].URL+"/connector/callback?") {
		e.t.Fatalf("consent redirected to %q", loc)
	}
	return loc
}

// get sends a browser-like GET (optionally with an API key) and returns status and body.
func browserGet(t *testing.T, u, apiKey string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Unknown, replayed, expired and other-tenant states are refused with a clear page and change
// nothing; a code exchanged twice (through a fresh state) ends in grant_invalid.
func TestOAuthCallbackBadState(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	cb := e.apis[0].URL + "/connector/callback"
	for _, q := range []string{"", "?code=x", "?state=unknown&code=x", "?state=" + strings.Repeat("a", 600) + "&code=x"} {
		if code, page := browserGet(t, cb+q, ""); code != http.StatusBadRequest || !strings.Contains(page, "start") {
			t.Errorf("callback%s: %d %s", q, code, page)
		}
	}

	c := e.create(map[string]any{"name": "replay"})
	id := c["id"].(string)
	loc := e.callbackURL(c["authorizationUrl"].(string))
	if code, page := browserGet(t, loc, ""); code != http.StatusOK {
		t.Fatalf("first callback: %d %s", code, page)
	}
	wantStatus(t, e.get(id), "authorized", "")
	if code, page := browserGet(t, loc, ""); code != http.StatusBadRequest || !strings.Contains(page, "completed already") {
		t.Fatalf("replayed callback: %d %s", code, page)
	}
	wantStatus(t, e.get(id), "authorized", "")

	// The same code under a new state: the provider refuses it (single use).
	code, re := e.call("POST", "/api/v1/connections/"+id+"/authorize", nil)
	if code != http.StatusOK {
		t.Fatalf("authorize: %d %v", code, re)
	}
	au, _ := url.Parse(re["authorizationUrl"].(string))
	old, _ := url.Parse(loc)
	if code, page := browserGet(t, cb+"?state="+url.QueryEscape(au.Query().Get("state"))+"&code="+url.QueryEscape(old.Query().Get("code")), ""); code != http.StatusOK {
		t.Fatalf("callback with a used code: %d %s", code, page)
	}
	wantStatus(t, e.get(id), "not_authorized", "grant_invalid")

	// A state started by this tenant, completed by a caller of another tenant.
	other, _, err := e.svcs[0].CreateAPIKey(context.Background(), "other-workspace")
	if err != nil {
		t.Fatal(err)
	}
	c2 := e.create(map[string]any{"name": "tenant-bound"})
	loc2 := e.callbackURL(c2["authorizationUrl"].(string))
	if code, page := browserGet(t, loc2, other); code != http.StatusBadRequest || !strings.Contains(page, "another workspace") {
		t.Fatalf("callback of another tenant: %d %s", code, page)
	}
	wantStatus(t, e.get(c2["id"].(string)), "not_authorized", "authorization_pending")

	// An expired state (sign-ins last 10 minutes).
	c3 := e.create(map[string]any{"name": "slow"})
	loc3 := e.callbackURL(c3["authorizationUrl"].(string))
	e.clock.Advance(11 * time.Minute)
	if code, page := browserGet(t, loc3, ""); code != http.StatusBadRequest || !strings.Contains(page, "expired") {
		t.Fatalf("expired state: %d %s", code, page)
	}
	wantStatus(t, e.get(c3["id"].(string)), "not_authorized", "authorization_pending")
}

// Entra without offline_access granted: the token answer has no refresh token; the sign-in
// ends in not_authorized/no_refresh_token and no token is kept.
func TestOAuthEntraWithoutOfflineAccess(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderEntra, 1)
	e.sim.RegisterEntraApp(azdosim.EntraApp{ClientID: entraClientID, ClientSecret: entraSecret,
		RedirectURIs: []string{e.apis[0].URL + "/connector/callback"}, NoOfflineAccess: true})
	c := e.create(map[string]any{"name": "no-offline"})
	if code, page := e.consent(c["authorizationUrl"].(string), "Grace Hopper", true); code != http.StatusOK || !strings.Contains(page, "offline_access") {
		t.Fatalf("callback: %d %s", code, page)
	}
	conn := e.get(c["id"].(string))
	wantStatus(t, conn, "not_authorized", "no_refresh_token")
	if code, _ := e.call("GET", "/api/v1/connections/"+c["id"].(string)+"/projects", nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("projects without a token: %d", code)
	}
}

// Bad creation input is a 400 naming the field, and nothing is stored.
func TestOAuthCreateBadInput(t *testing.T) {
	e := newOAuthEnv(t, "", 1)
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no default app", map[string]any{"organization": org}, "oauth.clientId"},
		{"no organization", map[string]any{"oauth": map[string]any{"provider": "entra", "clientId": entraClientID}}, "organization"},
		{"unknown organization", map[string]any{"organization": "nosuchorg", "oauth": map[string]any{"provider": "entra", "clientId": entraClientID}}, "organization"},
		{"bad provider", map[string]any{"organization": org, "oauth": map[string]any{"provider": "github", "clientId": "x"}}, "oauth.provider"},
		{"azdo without secret", map[string]any{"organization": org, "oauth": map[string]any{"provider": "azure-devops", "clientId": "x"}}, "oauth.clientSecret"},
		{"bad scope", map[string]any{"organization": org, "oauth": map[string]any{"provider": "entra", "clientId": "x", "scopes": []string{"repo:read"}}}, "oauth.scopes"},
		{"pat given", map[string]any{"organization": org, "pat": "abc", "oauth": map[string]any{"provider": "entra", "clientId": "x"}}, "pat"},
		{"foreign return URL", map[string]any{"organization": org, "returnUrl": "https://evil.example/x", "oauth": map[string]any{"provider": "entra", "clientId": "x"}}, "returnUrl"},
		{"server remote URL", map[string]any{"remoteUrl": "https://tfs.example.com/tfs/DefaultCollection/P/_git/R", "oauth": map[string]any{"provider": "entra", "clientId": "x"}}, "remoteUrl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.body["name"], tc.body["type"] = "bad", "services-oauth"
			code, m := e.call("POST", "/api/v1/connections", tc.body)
			if code != http.StatusBadRequest || m["field"] != tc.field {
				t.Fatalf("%d %v, want 400 on %s", code, m, tc.field)
			}
		})
	}
	if code, m := e.call("GET", "/api/v1/connections", nil); code != http.StatusOK || m["count"] != float64(0) {
		t.Fatalf("connections stored after bad input: %v", m)
	}
}
