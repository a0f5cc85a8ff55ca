package azdosim_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// TestAzureDevOpsOAuthFlow runs the Azure DevOps OAuth app flow of docs/azure-devops-protocol.md §6 end to
// end with a cookie-less net/http client.
func TestAzureDevOpsOAuthFlow(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	if got, want := sim.AzureDevOpsOAuthURL(), strings.TrimSuffix(sim.URL(), "/")+"/_vssps"; got != want {
		t.Fatalf("AzureDevOpsOAuthURL %q, want %q", got, want)
	}
	// Authorize: the consent page names the app and the scopes.
	page := call(t, http.MethodGet, authorizeURL(sim.AzureDevOpsOAuthURL()+"/oauth2/authorize", azdoAuthorizeParams()), "")
	if page.status != 200 || !strings.Contains(page.body, appID) || !strings.Contains(page.body, "<li>vso.code</li>") ||
		!strings.Contains(page.body, `action="/_vssps/oauth2/consent"`) {
		t.Fatalf("consent page %d %s", page.status, page.body)
	}
	code := azdoCode(t, sim, "Ada Lovelace")

	r := azdoToken(t, sim, "code", code, appSecret, "client_id", "ignored", "code", "ignored", "client_secret", "ignored")
	if r.status != 200 || !regexp.MustCompile(`"expires_in":"3599"`).MatchString(r.body) {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	tok := r.decode(t)
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	if tok["token_type"] != "jwt-bearer" || tok["scope"] != "vso.code vso.project" || len(access) < 43 || len(refresh) < 43 {
		t.Fatalf("token answer %v", tok)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}

	// The organization policy is off: TF400813 naming the user id, on REST and git.
	projects := sim.URL() + "/fabrikam/_apis/projects?api-version=7.1"
	denied := call(t, http.MethodGet, projects, bearer(access))
	m := regexp.MustCompile(`^TF400813: The user '([0-9a-f-]{36})' is not authorized to access this resource\.$`)
	env := denied.decode(t)
	msg, _ := env["message"].(string)
	if denied.status != 401 || env["typeKey"] != "UnauthorizedRequestException" || !m.MatchString(msg) ||
		env["typeName"] != "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException" {
		t.Fatalf("policy off: %d %s", denied.status, denied.body)
	}
	userID := m.FindStringSubmatch(msg)[1]
	gitURL := sim.URL() + "/fabrikam/Platform/_git/Platform/info/refs?service=git-upload-pack"
	if g := call(t, http.MethodGet, gitURL, bearer(access)); g.status != 401 || strings.TrimSpace(g.body) != msg {
		t.Fatalf("git with policy off: %d %q", g.status, g.body)
	}
	if err := sim.SetOAuthPolicy("nope", true); err == nil {
		t.Fatal("SetOAuthPolicy accepted an unknown organization")
	}
	if err := sim.SetOAuthPolicy("Fabrikam", true); err != nil {
		t.Fatal(err)
	}
	ok := call(t, http.MethodGet, projects, bearer(access))
	if ok.status != 200 || ok.header.Get("X-VSS-UserData") != userID+`:DOMAIN\ada` {
		t.Fatalf("policy on: %d %v %s", ok.status, ok.header, ok.body)
	}
	cd := call(t, http.MethodGet, sim.URL()+"/fabrikam/_apis/connectionData?api-version=7.1-preview", bearer(access)).decode(t)
	if u := cd["authenticatedUser"].(map[string]any); u["providerDisplayName"] != "Ada Lovelace" || u["id"] != userID {
		t.Fatalf("connectionData user %v", u)
	}
	if g := call(t, http.MethodGet, gitURL, bearer(access)); g.status != 200 {
		t.Fatalf("git with policy on: %d %q", g.status, g.body)
	}

	// The jwt-bearer scheme (token_type copied) answers 203, even with Suppress.
	if a := call(t, http.MethodGet, projects, "jwt-bearer "+access); a.status != 203 || !strings.Contains(a.body, "<html") {
		t.Fatalf("jwt-bearer scheme: %d %s", a.status, a.body)
	}

	// A code is single use.
	if a := azdoToken(t, sim, "code", code, appSecret); a.status != 400 || a.decode(t)["Error"] != "invalid_grant" {
		t.Fatalf("code reuse: %d %s", a.status, a.body)
	}

	// Refresh rotates: a new refresh token, the old one refused at once.
	a := azdoToken(t, sim, "refresh_token", refresh, appSecret)
	if a.status != 200 {
		t.Fatalf("refresh: %d %s", a.status, a.body)
	}
	next := a.decode(t)
	if next["refresh_token"] == refresh || next["access_token"] == access || next["expires_in"] != "3599" {
		t.Fatalf("refresh answer %v", next)
	}
	// A used refresh token: the body captured in MicrosoftDocs/azure-devops-docs#8583.
	if a := azdoToken(t, sim, "refresh_token", refresh, appSecret); a.status != 400 || a.body != `{"Error":"invalid_request","ErrorDescription":"The access token is not valid"}` {
		t.Fatalf("old refresh token: %d %s", a.status, a.body)
	}

	// Expiry: VS30063, not TF400813; a refresh gives a working token again.
	sim.ExpireAccessTokens()
	wantEnvelope(t, call(t, http.MethodGet, projects, bearer(next["access_token"].(string))), 401,
		"UnauthorizedRequestException", "VS30063: You are not authorized to access "+sim.URL()+".", true)
	if g := call(t, http.MethodGet, gitURL, bearer(access)); g.status != 401 || !strings.HasPrefix(g.body, "VS30063") {
		t.Fatalf("git with expired token: %d %q", g.status, g.body)
	}
	a = azdoToken(t, sim, "refresh_token", next["refresh_token"].(string), appSecret)
	if a.status != 200 || call(t, http.MethodGet, projects, bearer(a.decode(t)["access_token"].(string))).status != 200 {
		t.Fatalf("refresh after expiry: %d %s", a.status, a.body)
	}
	if got, want := sim.TokenStats(), (azdosim.TokenStats{AzureDevOpsExchanges: 2, AzureDevOpsRefreshes: 3}); got != want {
		t.Fatalf("TokenStats %+v, want %+v", got, want)
	}
}

func TestAzureDevOpsAuthorizeErrors(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	base := sim.AzureDevOpsOAuthURL() + "/oauth2/authorize"
	cases := []struct {
		name, key, value string
		status           int
		wantError        string
	}{
		{"unknown client", "client_id", "nope", 400, ""},
		{"redirect_uri differs", "redirect_uri", callback + "&x=1", 400, ""},
		{"redirect_uri other host", "redirect_uri", "https://evil.example/cb", 400, ""},
		{"response_type code", "response_type", "code", 302, "unsupported_response_type"},
		{"scope subset", "scope", "vso.code", 302, "InvalidScope"},
		{"scope superset", "scope", "vso.code vso.project vso.build", 302, "InvalidScope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := azdoAuthorizeParams()
			p[c.key] = c.value
			r := call(t, http.MethodGet, authorizeURL(base, p), "")
			if c.status == 400 {
				if r.status != 400 || r.header.Get("Location") != "" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
					t.Fatalf("%d %v", r.status, r.header)
				}
				return
			}
			q := r.location(t).Query()
			if q.Get("error") != c.wantError || q.Get("state") != weirdState || q.Get("code") != "" {
				t.Fatalf("callback query %v", q)
			}
		})
	}
	t.Run("deny", func(t *testing.T) {
		q := consent(t, authorizeURL(base, azdoAuthorizeParams()), "Ada", false)
		if q.Get("error") != "access_denied" || q.Get("state") != weirdState || q.Get("code") != "" {
			t.Fatalf("callback query %v", q)
		}
	})
	t.Run("consent id is single use", func(t *testing.T) {
		hc := noRedirect()
		page := read(t)(hc.Get(authorizeURL(base, azdoAuthorizeParams())))
		id := regexp.MustCompile(`name="consent" value="([^"]+)"`).FindStringSubmatch(page.body)[1]
		form := map[string][]string{"consent": {id}, "user": {"Ada"}, "decision": {"accept"}}
		if r := read(t)(hc.PostForm(sim.AzureDevOpsOAuthURL()+"/oauth2/consent", form)); r.status != 302 {
			t.Fatalf("first post %d", r.status)
		}
		if r := read(t)(hc.PostForm(sim.AzureDevOpsOAuthURL()+"/oauth2/consent", form)); r.status != 400 {
			t.Fatalf("second post %d", r.status)
		}
	})
}

func TestAzureDevOpsTokenErrors(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	code := azdoCode(t, sim, "Ada")
	cases := []struct {
		name, grant, assertion, secret string
		extra                          []string
		status                         int
		wantError                      string
	}{
		{"unknown secret", "code", code, "wrong", nil, 400, "invalid_client"},
		{"missing secret", "code", code, "", nil, 400, "invalid_request"},
		{"missing assertion", "code", "", appSecret, nil, 400, "invalid_request"},
		{"missing redirect_uri", "code", code, appSecret, []string{"redirect_uri", ""}, 400, "invalid_request"},
		{"redirect_uri mismatch", "code", code, appSecret, []string{"redirect_uri", "https://ci.example/other"}, 400, "invalid_request"},
		{"wrong grant_type", "authorization_code", code, appSecret, nil, 400, "invalid_request"},
		{"wrong assertion type", "code", code, appSecret, []string{"client_assertion_type", "secret"}, 400, "invalid_request"},
		{"unknown code", "code", "not-a-code", appSecret, nil, 400, "invalid_grant"},
		{"unknown refresh token", "refresh_token", "not-a-token", appSecret, nil, 400, "invalid_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := azdoToken(t, sim, c.grant, c.assertion, c.secret, c.extra...)
			m := r.decode(t)
			if r.status != c.status || m["Error"] != c.wantError || m["ErrorDescription"] == "" || m["error"] != nil {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	// None of the failures used the code up.
	if r := azdoToken(t, sim, "code", code, appSecret); r.status != 200 {
		t.Fatalf("exchange after failures: %d %s", r.status, r.body)
	}
}

// TestAzureDevOpsTokensDie covers RegenerateClientSecret, RevokeAuthorization and
// DeactivateUser.
func TestAzureDevOpsTokensDie(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	if err := sim.SetOAuthPolicy("fabrikam", true); err != nil {
		t.Fatal(err)
	}
	projects := sim.URL() + "/fabrikam/_apis/projects"
	unknown := "TF400813: Resource not available for anonymous access."
	// Every refused refresh token gets the one answer of MicrosoftDocs/azure-devops-docs#8583.
	wantRefreshFails := func(t *testing.T, refresh, secret string) {
		t.Helper()
		r := azdoToken(t, sim, "refresh_token", refresh, secret)
		m := r.decode(t)
		if r.status != 400 || m["Error"] != "invalid_request" || m["ErrorDescription"] != "The access token is not valid" {
			t.Fatalf("refresh: %d %s", r.status, r.body)
		}
	}

	t.Run("regenerated secret", func(t *testing.T) {
		access, refresh := azdoTokens(t, sim, "Ada")
		secret, err := sim.RegenerateClientSecret(appID)
		if err != nil || secret == appSecret || len(secret) < 32 {
			t.Fatalf("RegenerateClientSecret: %q %v", secret, err)
		}
		t.Cleanup(func() {
			sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: appID, ClientSecret: appSecret, Scopes: appScopes, CallbackURL: callback})
		})
		wantEnvelope(t, call(t, http.MethodGet, projects, bearer(access)), 401, "UnauthorizedRequestException", unknown, false)
		if r := azdoToken(t, sim, "refresh_token", refresh, appSecret); r.status != 400 || r.decode(t)["Error"] != "invalid_client" {
			t.Fatalf("old secret: %d %s", r.status, r.body)
		}
		wantRefreshFails(t, refresh, secret)
		r := azdoToken(t, sim, "code", azdoCode(t, sim, "Ada"), secret)
		if r.status != 200 || call(t, http.MethodGet, projects, bearer(r.decode(t)["access_token"].(string))).status != 200 {
			t.Fatalf("new flow with the new secret: %d %s", r.status, r.body)
		}
		if _, err := sim.RegenerateClientSecret("nope"); err == nil {
			t.Fatal("RegenerateClientSecret accepted an unknown client")
		}
	})
	t.Run("revoked authorization", func(t *testing.T) {
		access, refresh := azdoTokens(t, sim, "Ada")
		otherAccess, otherRefresh := azdoTokens(t, sim, "Grace Hopper")
		if err := sim.RevokeAuthorization(appID, "ada"); err != nil {
			t.Fatal(err)
		}
		wantEnvelope(t, call(t, http.MethodGet, projects, bearer(access)), 401, "UnauthorizedRequestException", unknown, false)
		wantRefreshFails(t, refresh, appSecret)
		if call(t, http.MethodGet, projects, bearer(otherAccess)).status != 200 || azdoToken(t, sim, "refresh_token", otherRefresh, appSecret).status != 200 {
			t.Fatal("another user's tokens were revoked too")
		}
		if err := sim.RevokeAuthorization("nope", "Ada"); err == nil {
			t.Fatal("RevokeAuthorization accepted an unknown client")
		}
	})
	t.Run("deactivated user", func(t *testing.T) {
		access, refresh := azdoTokens(t, sim, "Linus")
		code := azdoCode(t, sim, "Linus")
		sim.DeactivateUser("LINUS")
		wantEnvelope(t, call(t, http.MethodGet, projects, bearer(access)), 401, "UnauthorizedRequestException", unknown, false)
		wantRefreshFails(t, refresh, appSecret)
		if r := azdoToken(t, sim, "code", code, appSecret); r.status != 400 || r.decode(t)["Error"] != "invalid_grant" {
			t.Fatalf("code of a deactivated user: %d %s", r.status, r.body)
		}
		q := consent(t, authorizeURL(sim.AzureDevOpsOAuthURL()+"/oauth2/authorize", azdoAuthorizeParams()), "Linus", true)
		if q.Get("error") != "access_denied" {
			t.Fatalf("consent by a deactivated user: %v", q)
		}
		if call(t, http.MethodGet, projects, "Basic "+basic(svcPAT)).status != 200 {
			t.Fatal("PAT stopped working")
		}
	})
}
