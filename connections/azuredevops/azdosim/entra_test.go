package azdosim_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

const entraScopes = adoResource + "/vso.code " + adoResource + "/vso.project offline_access openid"

// entraCode runs authorize and consent at tenant for user and returns the code.
func entraCode(t *testing.T, sim *azdosim.Server, tenant, scope, challenge, user string) string {
	t.Helper()
	u := authorizeURL(sim.EntraAuthorityURL()+"/"+tenant+"/oauth2/v2.0/authorize", entraAuthorizeParams(scope, challenge))
	q := consent(t, u, user, true)
	if q.Get("state") != weirdState || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	return q.Get("code")
}

func redeemForm(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {entraCB},
		"code_verifier": {verifier}, "client_id": {entraID}, "client_secret": {entraSecret}}
}

func refreshForm(refresh string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {entraID}, "client_secret": {entraSecret},
		"scope": {entraScopes}}
}

// TestEntraFlow runs the Microsoft Entra authorization code flow with PKCE of
// docs/azure-devops-protocol.md §6.
func TestEntraFlow(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{TenantID: "72F988BF-86F1-41AF-91AB-2D7CD011DB47"})
	tenant := "72f988bf-86f1-41af-91ab-2d7cd011db47"
	if sim.TenantID() != tenant || sim.EntraAuthorityURL() != sim.URL()+"/_entra" {
		t.Fatalf("TenantID %q EntraAuthorityURL %q", sim.TenantID(), sim.EntraAuthorityURL())
	}
	verifier, challenge := pkce("v3rifier-")
	code := entraCode(t, sim, tenant, entraScopes, challenge, "Grace Hopper")

	wrong := redeemForm(code, strings.Repeat("x", 50))
	r := entraToken(t, sim, tenant, wrong)
	wantEntraError(t, r, 400, "invalid_grant", 50148)
	if !strings.Contains(r.body, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.") {
		t.Fatalf("AADSTS50148 text: %s", r.body)
	}
	r = entraToken(t, sim, tenant, redeemForm(code, verifier))
	if r.status != 200 || !regexp.MustCompile(`"expires_in":3599,`).MatchString(r.body) {
		t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	tok := r.decode(t)
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	if tok["token_type"] != "Bearer" || tok["ext_expires_in"] != float64(3599) || tok["scope"] != entraScopes || len(access) < 43 || refresh == "" {
		t.Fatalf("token answer %v", tok)
	}
	wantEntraError(t, entraToken(t, sim, tenant, redeemForm(code, verifier)), 400, "invalid_grant", 54005)

	// The organization policy does not govern Entra tokens.
	a := call(t, http.MethodGet, sim.URL()+"/fabrikam/_apis/git/repositories?api-version=7.1", bearer(access))
	if a.status != 200 || !strings.HasSuffix(a.header.Get("X-VSS-UserData"), `:DOMAIN\grace`) {
		t.Fatalf("Entra token, policy off: %d %s", a.status, a.body)
	}
	if g := call(t, http.MethodGet, sim.URL()+"/fabrikam/Platform/_git/Platform/info/refs?service=git-upload-pack", bearer(access)); g.status != 200 {
		t.Fatalf("git: %d %s", g.status, g.body)
	}

	// Refresh: a new refresh token, and the old one keeps working (unlike Azure DevOps OAuth).
	r = entraToken(t, sim, tenant, refreshForm(refresh))
	if r.status != 200 || r.decode(t)["refresh_token"] == refresh {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if r := entraToken(t, sim, "organizations", refreshForm(refresh)); r.status != 200 {
		t.Fatalf("second refresh with the old token: %d %s", r.status, r.body)
	}
	// A refresh without scope is refused as a request for the app itself (AADSTS90009).
	noScope := refreshForm(refresh)
	noScope.Del("scope")
	wantEntraError(t, entraToken(t, sim, tenant, noScope), 400, "invalid_request", 90009)

	// A refresh narrowed to one consented scope; an unconsented one is refused.
	narrow := refreshForm(refresh)
	narrow.Set("scope", adoResource+"/vso.code")
	r = entraToken(t, sim, "common", narrow)
	if r.status != 200 || r.decode(t)["scope"] != adoResource+"/vso.code" {
		t.Fatalf("narrowed refresh: %d %s", r.status, r.body)
	}
	if p := call(t, http.MethodGet, sim.URL()+"/fabrikam/_apis/projects", bearer(r.decode(t)["access_token"].(string))); p.status != 401 {
		t.Fatalf("vso.code token on projects: %d", p.status)
	}
	narrow.Set("scope", adoResource+"/vso.build")
	wantEntraError(t, entraToken(t, sim, tenant, narrow), 400, "invalid_grant", 65001)

	// Client authentication: wrong secret (form or Basic), and HTTP Basic accepted.
	bad := refreshForm(refresh)
	bad.Set("client_secret", "wrong")
	wantEntraError(t, entraToken(t, sim, tenant, bad), 401, "invalid_client", 7000215)
	req, _ := http.NewRequest(http.MethodPost, sim.EntraAuthorityURL()+"/"+tenant+"/oauth2/v2.0/token",
		strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {entraScopes}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(entraID), url.QueryEscape(entraSecret))
	if r := read(t)(noRedirect().Do(req)); r.status != 200 {
		t.Fatalf("Basic client authentication: %d %s", r.status, r.body)
	}
	wantEntraError(t, entraToken(t, sim, "contoso", refreshForm(refresh)), 400, "invalid_request", 90002)

	// Regenerating an Entra secret leaves the tokens alive; the old secret is refused.
	secret, err := sim.RegenerateClientSecret(entraID)
	if err != nil {
		t.Fatal(err)
	}
	if call(t, http.MethodGet, sim.URL()+"/fabrikam/_apis/projects", bearer(access)).status != 200 {
		t.Fatal("Entra access token died with the secret")
	}
	wantEntraError(t, entraToken(t, sim, tenant, refreshForm(refresh)), 401, "invalid_client", 7000215)
	withNew := refreshForm(refresh)
	withNew.Set("client_secret", secret)
	if r := entraToken(t, sim, tenant, withNew); r.status != 200 {
		t.Fatalf("refresh with the new secret: %d %s", r.status, r.body)
	}
	if got, want := sim.TokenStats(), (azdosim.TokenStats{EntraExchanges: 3, EntraRefreshes: 10}); got != want {
		t.Fatalf("TokenStats %+v, want %+v", got, want)
	}

	// Revocation and deactivation make the refresh fail.
	if err := sim.RevokeAuthorization(entraID, "Grace Hopper"); err != nil {
		t.Fatal(err)
	}
	wantEntraError(t, entraToken(t, sim, tenant, withNew), 400, "invalid_grant", 50173)
	wantEnvelope(t, call(t, http.MethodGet, sim.URL()+"/fabrikam/_apis/projects", bearer(access)), 401, "UnauthorizedRequestException", "TF400813", false)
	sim.RegisterEntraApp(azdosim.EntraApp{ClientID: entraID, ClientSecret: entraSecret, RedirectURIs: []string{entraCB}})
	_, challenge = pkce("second-")
	code = entraCode(t, sim, "common", entraScopes, challenge, "Grace Hopper")
	v2, _ := pkce("second-")
	r = entraToken(t, sim, "common", redeemForm(code, v2))
	if r.status != 200 {
		t.Fatalf("redeem after re-consent: %d %s", r.status, r.body)
	}
	sim.DeactivateUser("grace hopper")
	wantEntraError(t, entraToken(t, sim, tenant, refreshForm(r.decode(t)["refresh_token"].(string))), 400, "invalid_grant", 50057)
	wantEnvelope(t, call(t, http.MethodGet, sim.URL()+"/fabrikam/_apis/projects", bearer(r.decode(t)["access_token"].(string))), 401, "UnauthorizedRequestException", "TF400813", false)
}

// TestEntraRefreshTokenOnlyWithOfflineAccess checks the scope rules: no refresh token without
// offline_access, ".default" grants full access, and a public client sends no secret.
func TestEntraRefreshTokenOnlyWithOfflineAccess(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	sim.RegisterEntraApp(azdosim.EntraApp{ClientID: "public-app", RedirectURIs: []string{entraCB}})
	verifier, challenge := pkce("pub-")
	u := authorizeURL(sim.EntraAuthorityURL()+"/organizations/oauth2/v2.0/authorize", map[string]string{
		"client_id": "public-app", "response_type": "code", "redirect_uri": entraCB, "scope": adoResource + "/.default",
		"state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
	code := consent(t, u, "Ada", true).Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {entraCB},
		"code_verifier": {verifier}, "client_id": {"public-app"}, "client_secret": {"not-allowed"}}
	wantEntraError(t, entraToken(t, sim, "common", form), 400, "invalid_client", 700025)
	form.Del("client_secret")
	r := entraToken(t, sim, "common", form)
	tok := r.decode(t)
	if r.status != 200 || tok["refresh_token"] != nil || strings.Contains(r.body, "refresh_token") {
		t.Fatalf("without offline_access: %d %s", r.status, r.body)
	}
	// An app that withholds offline_access: asked for, not granted, no refresh token.
	sim.RegisterEntraApp(azdosim.EntraApp{ClientID: entraID, ClientSecret: entraSecret, RedirectURIs: []string{entraCB}, NoOfflineAccess: true})
	v2, c2 := pkce("nooffline-")
	r2 := entraToken(t, sim, "common", redeemForm(entraCode(t, sim, "common", entraScopes, c2, "Ada"), v2))
	if m := r2.decode(t); r2.status != 200 || m["refresh_token"] != nil || strings.Contains(m["scope"].(string), "offline_access") {
		t.Fatalf("NoOfflineAccess: %d %s", r2.status, r2.body)
	}
	// .default is full access: projects and repositories.
	for _, p := range []string{"/fabrikam/_apis/projects", "/fabrikam/_apis/git/repositories"} {
		if a := call(t, http.MethodGet, sim.URL()+p, bearer(tok["access_token"].(string))); a.status != 200 {
			t.Fatalf("%s with .default: %d", p, a.status)
		}
	}
}

func TestEntraAuthorizeErrors(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	_, challenge := pkce("c-")
	cases := []struct {
		name, tenant, key, value string
		status                   int
		wantError, aadsts        string
	}{
		{"unknown tenant", "contoso.example", "", "", 400, "", "AADSTS90002"},
		{"unknown client", "common", "client_id", "nope", 400, "", "AADSTS700016"},
		{"unregistered redirect_uri", "common", "redirect_uri", entraCB + "/x", 400, "", "AADSTS50011"},
		{"response_type token", "common", "response_type", "token", 302, "unsupported_response_type", "AADSTS700054"},
		{"scope of another resource", "common", "scope", "https://graph.microsoft.com/User.Read", 302, "invalid_scope", "AADSTS70011"},
		{"bare vso scope", "common", "scope", "vso.code offline_access", 302, "invalid_scope", "AADSTS70011"},
		{".default mixed", "common", "scope", adoResource + "/.default " + adoResource + "/vso.code", 302, "invalid_scope", "AADSTS70011"},
		{"no scope", "common", "scope", "", 302, "invalid_request", "AADSTS900144"},
		{"no code_challenge", "common", "code_challenge", "", 302, "invalid_request", "AADSTS"},
		{"plain method", "common", "code_challenge_method", "plain", 302, "invalid_request", "AADSTS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := entraAuthorizeParams(entraScopes, challenge)
			if c.key != "" {
				p[c.key] = c.value
			}
			r := call(t, http.MethodGet, authorizeURL(sim.EntraAuthorityURL()+"/"+c.tenant+"/oauth2/v2.0/authorize", p), "")
			if c.status == 400 {
				if r.status != 400 || r.header.Get("Location") != "" || !strings.Contains(r.body, c.aadsts+":") {
					t.Fatalf("%d %s", r.status, r.body)
				}
				return
			}
			q := r.location(t).Query()
			if q.Get("error") != c.wantError || !strings.HasPrefix(q.Get("error_description"), c.aadsts) ||
				q.Get("state") != weirdState || q.Get("code") != "" {
				t.Fatalf("callback query %v", q)
			}
		})
	}
	t.Run("deny", func(t *testing.T) {
		q := consent(t, authorizeURL(sim.EntraAuthorityURL()+"/common/oauth2/v2.0/authorize", entraAuthorizeParams(entraScopes, challenge)), "Ada", false)
		if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004") || q.Get("state") != weirdState {
			t.Fatalf("callback query %v", q)
		}
	})
}
