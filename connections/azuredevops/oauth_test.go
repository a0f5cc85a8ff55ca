package azuredevops

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// oauthCallback is the registered callback of the test apps. Nothing listens there: the
// authorize helper stops at the redirect to it and reads code and state from Location.
const oauthCallback = "http://127.0.0.1:1/cb"

// oauthSim starts a simulated Azure DevOps Services with the organization fabrikam.
func oauthSim(t *testing.T) *azdosim.Server {
	t.Helper()
	return azdosimtest.StartServices(t, azdosim.Options{Collections: []string{"fabrikam"}, Seed: true})
}

// oauthEndpoint is the endpoint of the simulator's organization org.
func oauthEndpoint(t *testing.T, sim *azdosim.Server, org string) Endpoint {
	t.Helper()
	u, err := url.Parse(sim.URL())
	if err != nil || u.Host == "" {
		t.Fatalf("simulator URL %q: %v", sim.URL(), err)
	}
	return Endpoint{Scheme: u.Scheme, Host: u.Host, Collection: org}
}

// oauthHTTPClient is the client token requests go through.
func oauthHTTPClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

// oauthAuthorize plays the browser: GET authURL (the consent page), accept as "Demo User",
// and read code and state from the redirect to the callback, which is never contacted.
func oauthAuthorize(t *testing.T, authURL string) (code, state string) {
	t.Helper()
	cb, _ := url.Parse(oauthCallback)
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == cb.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	page, err := hc.Get(authURL)
	if err != nil {
		t.Fatalf("GET authorize: %v", err)
	}
	if page.StatusCode != http.StatusOK {
		page.Body.Close()
		t.Fatalf("authorize answered %d; want the consent page (URL %s)", page.StatusCode, authURL)
	}
	resp, err := azdosimtest.SubmitConsent(hc, page, "Demo User", true)
	if err != nil {
		t.Fatalf("SubmitConsent: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("consent answered %d; want 302 to the callback", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", resp.Header.Get("Location"), err)
	}
	if loc.Host != cb.Host || loc.Path != cb.Path {
		t.Fatalf("consent redirected to %s; want the callback %s", loc, oauthCallback)
	}
	q := loc.Query()
	if q.Get("error") != "" || q.Get("code") == "" {
		t.Fatalf("callback got error=%q description=%q and no code", q.Get("error"), q.Get("error_description"))
	}
	return q.Get("code"), q.Get("state")
}

// oauthWantError asserts that err is a *connections.Error of kind and reason.
func oauthWantError(t *testing.T, err error, kind error, reason connections.Reason) *connections.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %v/%s", kind, reason)
	}
	e := connections.AsError(err)
	if e == nil {
		t.Fatalf("error %T %q is not a *connections.Error", err, err)
	}
	if !errors.Is(err, kind) || e.Reason != reason {
		t.Fatalf("error kind=%v reason=%q (%q); want %v/%q", e.Kind, e.Reason, e.Message, kind, reason)
	}
	if e.Message == "" {
		t.Errorf("error %v/%s has no message", kind, reason)
	}
	return e
}

// oauthNoLeak asserts that neither the message of err nor what it logs (the cause included)
// carries any of the secrets.
func oauthNoLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	texts := []string{err.Error()}
	if e := connections.AsError(err); e != nil {
		texts = append(texts, e.LogValue().String())
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, txt := range texts {
			if strings.Contains(txt, s) {
				t.Errorf("error text carries a secret: %q", txt)
			}
		}
	}
}

func TestNormalizeScopes(t *testing.T) {
	sortedDefaults := slices.Sorted(slices.Values(DefaultScopes))
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"nil", nil, sortedDefaults},
		{"empty entries", []string{"", " , ", "\t"}, sortedDefaults},
		{"sorted and deduplicated", []string{"vso.project", "vso.code", "vso.project", "vso.code"}, []string{"vso.code", "vso.project"}},
		{"space separated", []string{"vso.threads_full vso.code  vso.code_status"}, []string{"vso.code", "vso.code_status", "vso.threads_full"}},
		{"comma separated", []string{"vso.project,vso.code, vso.work_full"}, []string{"vso.code", "vso.project", "vso.work_full"}},
		{"mixed entries", []string{"vso.code,vso.project", "vso.project vso.notification"}, []string{"vso.code", "vso.notification", "vso.project"}},
		{"entra resource prefix", []string{AzureDevOpsResourceID + "/vso.code", "vso.code", AzureDevOpsResourceID + "/vso.serviceendpoint_query"}, []string{"vso.code", "vso.serviceendpoint_query"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeScopes("scopes", tc.in)
			if err != nil {
				t.Fatalf("NormalizeScopes(%q): %v", tc.in, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("NormalizeScopes(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}

	t.Run("defaults are a copy", func(t *testing.T) {
		before := slices.Clone(DefaultScopes)
		got, _ := NormalizeScopes("scopes", nil)
		got[0] = "vso.changed"
		if !slices.Equal(DefaultScopes, before) {
			t.Fatalf("changing the result changed DefaultScopes: %q", DefaultScopes)
		}
	})

	bad := []struct{ in, named string }{
		{"code", "code"},
		{"vso.Code", "vso.Code"},
		{"vso.", "vso."},
		{"vso.code;rm", "vso.code;rm"},
		{AzureDevOpsResourceID + "/.default", ".default"},
		{"00000003-0000-0000-c000-000000000000/vso.code", "00000003-0000-0000-c000-000000000000/vso.code"},
		{"vso.code offline_access", "offline_access"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.in, func(t *testing.T) {
			got, err := NormalizeScopes("oauth.scopes", []string{"vso.project", tc.in})
			e := oauthWantError(t, err, connections.ErrInvalidInput, connections.ReasonInvalidInput)
			if got != nil {
				t.Errorf("result %q next to the error", got)
			}
			if e.Field != "oauth.scopes" {
				t.Errorf("field %q; want oauth.scopes", e.Field)
			}
			if !strings.Contains(e.Message, `"`+tc.named+`"`) {
				t.Errorf("message %q does not name the bad scope %q", e.Message, tc.named)
			}
		})
	}
}

func TestOAuthAppValidate(t *testing.T) {
	good := OAuthApp{Provider: ProviderAzureDevOps, ClientID: "app-1", ClientSecret: "s3cret-value",
		Scopes: []string{"vso.code"}, CallbackURL: "https://repoconnect.example.com/connector/callback"}
	if err := good.Validate("oauth."); err != nil {
		t.Fatalf("valid Azure DevOps app: %v", err)
	}
	entra := good
	entra.Provider, entra.ClientSecret, entra.Scopes = ProviderEntra, "", nil
	if err := entra.Validate("oauth."); err != nil {
		t.Fatalf("an Entra app without a secret (public client) must be valid: %v", err)
	}
	entra.CallbackURL = "http://127.0.0.1:8080/connector/callback"
	if err := entra.Validate("oauth."); err != nil {
		t.Fatalf("an http loopback callback must be valid: %v", err)
	}

	cases := []struct {
		name  string
		edit  func(*OAuthApp)
		field string
	}{
		{"no provider", func(a *OAuthApp) { a.Provider = "" }, "provider"},
		{"unknown provider", func(a *OAuthApp) { a.Provider = "github" }, "provider"},
		{"provider case", func(a *OAuthApp) { a.Provider = "Entra" }, "provider"},
		{"no client id", func(a *OAuthApp) { a.ClientID = "" }, "clientId"},
		{"blank client id", func(a *OAuthApp) { a.ClientID = "   " }, "clientId"},
		{"client id with space", func(a *OAuthApp) { a.ClientID = "app 1" }, "clientId"},
		{"client id with newline", func(a *OAuthApp) { a.ClientID = "app1\n" }, "clientId"},
		{"client id too long", func(a *OAuthApp) { a.ClientID = strings.Repeat("a", 201) }, "clientId"},
		{"azure devops without secret", func(a *OAuthApp) { a.ClientSecret = "" }, "clientSecret"},
		{"no callback", func(a *OAuthApp) { a.CallbackURL = "" }, "callbackUrl"},
		{"relative callback", func(a *OAuthApp) { a.CallbackURL = "/connector/callback" }, "callbackUrl"},
		{"ftp callback", func(a *OAuthApp) { a.CallbackURL = "ftp://example.com/connector/callback" }, "callbackUrl"},
		{"callback with user info", func(a *OAuthApp) { a.CallbackURL = "https://u:p@example.com/connector/callback" }, "callbackUrl"},
		{"callback with fragment", func(a *OAuthApp) { a.CallbackURL = "https://example.com/connector/callback#x" }, "callbackUrl"},
		{"callback without host", func(a *OAuthApp) { a.CallbackURL = "https:///connector/callback" }, "callbackUrl"},
		{"unparsable callback", func(a *OAuthApp) { a.CallbackURL = "https://exa mple.com/%zz" }, "callbackUrl"},
		{"bad scope", func(a *OAuthApp) { a.Scopes = []string{"vso.code", "repo"} }, "scopes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := good
			tc.edit(&a)
			err := a.Validate("oauth.")
			e := oauthWantError(t, err, connections.ErrInvalidInput, connections.ReasonInvalidInput)
			if e.Field != "oauth."+tc.field {
				t.Fatalf("field %q (%s); want %q", e.Field, e.Message, "oauth."+tc.field)
			}
			oauthNoLeak(t, err, good.ClientSecret.Reveal())
		})
	}

	t.Run("entra still needs a client id", func(t *testing.T) {
		a := good
		a.Provider, a.ClientSecret, a.ClientID = ProviderEntra, "", ""
		e := oauthWantError(t, a.Validate("connection.oauth."), connections.ErrInvalidInput, connections.ReasonInvalidInput)
		if e.Field != "connection.oauth.clientId" {
			t.Fatalf("field %q; want connection.oauth.clientId", e.Field)
		}
	})
}

func TestOAuthAuthCodeURL(t *testing.T) {
	t.Run("azure devops", func(t *testing.T) {
		app := OAuthApp{Provider: ProviderAzureDevOps, ClientID: "ado-client", ClientSecret: "ado-secret",
			Scopes: []string{"vso.project", "vso.code"}, CallbackURL: "https://rc.example.com/connector/callback",
			AzureDevOpsURL: "http://127.0.0.1:9/_vssps/"}
		raw, verifier := app.AuthCodeURL("st-1", "some-tenant")
		if verifier != "" {
			t.Errorf("verifier %q; Azure DevOps OAuth has no PKCE", verifier)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Scheme + "://" + u.Host + u.Path; got != "http://127.0.0.1:9/_vssps/oauth2/authorize" {
			t.Errorf("authorize endpoint %s", got)
		}
		q := u.Query()
		for k, want := range map[string]string{"response_type": "Assertion", "client_id": "ado-client",
			"state": "st-1", "redirect_uri": "https://rc.example.com/connector/callback"} {
			if q.Get(k) != want {
				t.Errorf("%s=%q; want %q (URL %s)", k, q.Get(k), want, raw)
			}
		}
		if got := strings.Fields(q.Get("scope")); !slices.Equal(got, []string{"vso.code", "vso.project"}) {
			t.Errorf("scope %q; want the registered scopes vso.code vso.project", q.Get("scope"))
		}
		for _, k := range []string{"code_challenge", "code_challenge_method", "client_secret", "client_assertion"} {
			if q.Has(k) {
				t.Errorf("URL has %s: %s", k, raw)
			}
		}
		if strings.Contains(raw, "ado-secret") {
			t.Errorf("the authorize URL carries the client secret: %s", raw)
		}
	})

	t.Run("azure devops defaults", func(t *testing.T) {
		app := OAuthApp{Provider: ProviderAzureDevOps, ClientID: "c", ClientSecret: "s", CallbackURL: "https://rc.example.com/cb"}
		raw, _ := app.AuthCodeURL("st", "")
		if !strings.HasPrefix(raw, DefaultAzureDevOpsOAuthURL+"/oauth2/authorize?") {
			t.Errorf("URL %s; want the public endpoint", raw)
		}
		u, _ := url.Parse(raw)
		if got := strings.Fields(u.Query().Get("scope")); !slices.Equal(got, slices.Sorted(slices.Values(DefaultScopes))) {
			t.Errorf("scope %q; want the default set", got)
		}
	})

	entra := OAuthApp{Provider: ProviderEntra, ClientID: "entra-client", Scopes: []string{"vso.code", "vso.project"},
		CallbackURL: "https://rc.example.com/connector/callback", EntraAuthorityURL: "http://127.0.0.1:9/_entra"}
	for _, tc := range []struct{ tenant, path string }{
		{"72f988bf-86f1-41af-91ab-2d7cd011db47", "/_entra/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/authorize"},
		{"", "/_entra/organizations/oauth2/v2.0/authorize"},
	} {
		t.Run("entra tenant="+tc.tenant, func(t *testing.T) {
			raw, verifier := entra.AuthCodeURL("st-2", tc.tenant)
			if verifier == "" {
				t.Fatal("no PKCE verifier for Entra")
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if u.Host != "127.0.0.1:9" || u.Path != tc.path {
				t.Errorf("authorize endpoint %s%s; want %s", u.Host, u.Path, tc.path)
			}
			q := u.Query()
			for k, want := range map[string]string{"response_type": "code", "client_id": "entra-client", "state": "st-2",
				"redirect_uri": "https://rc.example.com/connector/callback", "code_challenge_method": "S256"} {
				if q.Get(k) != want {
					t.Errorf("%s=%q; want %q", k, q.Get(k), want)
				}
			}
			sum := sha256.Sum256([]byte(verifier))
			if q.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) {
				t.Errorf("code_challenge %q is not S256 of the verifier", q.Get("code_challenge"))
			}
			scopes := strings.Fields(q.Get("scope"))
			for _, want := range []string{AzureDevOpsResourceID + "/vso.code", AzureDevOpsResourceID + "/vso.project", "offline_access"} {
				if !slices.Contains(scopes, want) {
					t.Errorf("scope %q lacks %s", q.Get("scope"), want)
				}
			}
			if slices.Contains(scopes, "vso.code") {
				t.Errorf("scope %q has an unprefixed Azure DevOps scope", q.Get("scope"))
			}
		})
	}

	t.Run("entra defaults", func(t *testing.T) {
		a := entra
		a.EntraAuthorityURL = ""
		raw, v1 := a.AuthCodeURL("st", "")
		if !strings.HasPrefix(raw, DefaultEntraAuthorityURL+"/organizations/oauth2/v2.0/authorize?") {
			t.Errorf("URL %s; want the public organizations authority", raw)
		}
		_, v2 := a.AuthCodeURL("st", "")
		if v1 == v2 {
			t.Errorf("two authorize URLs share the verifier %q", v1)
		}
	})
}

func TestOAuthAzureDevOpsFlow(t *testing.T) {
	sim := oauthSim(t)
	ctx := t.Context()
	hc := oauthHTTPClient()
	ep := oauthEndpoint(t, sim, "fabrikam")
	const secret = "ado-client-secret-0123456789"
	sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: "ado-app", ClientSecret: secret,
		Scopes: DefaultScopes, CallbackURL: oauthCallback})
	app := OAuthApp{Provider: ProviderAzureDevOps, ClientID: "ado-app", ClientSecret: secret,
		CallbackURL: oauthCallback, AzureDevOpsURL: sim.AzureDevOpsOAuthURL()}
	if err := app.Validate("oauth."); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	leaks := []string{secret}
	var errs []error

	authURL, verifier := app.AuthCodeURL("state-ado-1", "")
	if verifier != "" {
		t.Fatalf("verifier %q for Azure DevOps OAuth", verifier)
	}
	code, state := oauthAuthorize(t, authURL)
	if state != "state-ado-1" {
		t.Fatalf("state %q came back; want state-ado-1", state)
	}

	tok, err := app.Exchange(ctx, hc, code, "", "")
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.Access.Empty() || tok.Refresh.Empty() || tok.Access == tok.Refresh {
		t.Fatalf("token access empty=%v refresh empty=%v", tok.Access.Empty(), tok.Refresh.Empty())
	}
	// The simulator answers expires_in "3599" (a JSON string) for its one-hour tokens.
	if tok.Lifetime < 3590*time.Second || tok.Lifetime > 3600*time.Second {
		t.Errorf("Lifetime %v; want about 3599s", tok.Lifetime)
	}
	if d := time.Until(tok.Expiry); d < 3580*time.Second || d > 3600*time.Second {
		t.Errorf("Expiry in %v; want about an hour", d)
	}
	if got := slices.Sorted(slices.Values(tok.Scopes)); !slices.Equal(got, slices.Sorted(slices.Values(DefaultScopes))) {
		t.Errorf("Scopes %q; want the registered %q", tok.Scopes, DefaultScopes)
	}
	leaks = append(leaks, tok.Access.Reveal(), tok.Refresh.Reveal(), code)

	t.Run("code used twice", func(t *testing.T) {
		_, err := app.Exchange(ctx, hc, code, "", "")
		oauthWantError(t, err, connections.ErrUnauthorized, connections.ReasonGrantInvalid)
		if IsTransient(err) {
			t.Error("a refused code is transient")
		}
		errs = append(errs, err)
	})

	t.Run("wrong client secret", func(t *testing.T) {
		bad := app
		bad.ClientSecret = "not-the-secret-9876543210"
		leaks = append(leaks, bad.ClientSecret.Reveal())
		_, err := bad.Exchange(ctx, hc, "any-code", "", "")
		oauthWantError(t, err, connections.ErrUnauthorized, connections.ReasonClientInvalid)
		errs = append(errs, err)
		_, err = bad.Refresh(ctx, hc, tok.Refresh, "")
		oauthWantError(t, err, connections.ErrUnauthorized, connections.ReasonClientInvalid)
		if IsTransient(err) {
			t.Error("a refused client is transient")
		}
		errs = append(errs, err)
	})

	client := func(t *testing.T, access connections.Secret) *Client {
		t.Helper()
		c, err := New(ep, Credential{Bearer: access, OAuthProvider: ProviderAzureDevOps}, Options{Door: LoopbackDoor})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return c
	}

	t.Run("policy off", func(t *testing.T) {
		res, err := client(t, tok.Access).CheckToken(ctx)
		if err != nil {
			t.Fatalf("CheckToken: %v", err)
		}
		if res.Valid || res.Reason != connections.ReasonOAuthPolicyDisabled {
			t.Fatalf("valid=%v reason=%q message=%q; want oauth_policy_disabled", res.Valid, res.Reason, res.Message)
		}
		if !strings.Contains(res.Message, ep.CollectionURL()+"/_settings/organizationPolicy") {
			t.Errorf("message %q does not name %s/_settings/organizationPolicy", res.Message, ep.CollectionURL())
		}
		if len(res.Steps) == 0 {
			t.Fatal("no steps")
		}
		last := res.Steps[len(res.Steps)-1]
		if last.Name != StepOAuthPolicy || last.OK || last.Message != res.Message {
			t.Errorf("last step %+v; want a failed %s with the message", last, StepOAuthPolicy)
		}
		for _, s := range res.Steps[:len(res.Steps)-1] {
			if !s.OK {
				t.Errorf("step %+v before the policy step failed", s)
			}
		}
		for _, s := range leaks {
			if strings.Contains(res.Message, s) {
				t.Errorf("check message carries a secret: %q", res.Message)
			}
		}

		// The same 401 TF400813 for an Entra token is not the policy (Entra apps are not governed).
		e := classifyResponse(&response{status: http.StatusUnauthorized, header: http.Header{},
			body: []byte(`{"message":"TF400813: The user 'x' is not authorized to access this resource.","typeKey":"UnauthorizedRequestException"}`)},
			ep, Credential{Bearer: "b", OAuthProvider: ProviderEntra})
		oauthWantError(t, e, connections.ErrUnauthorized, connections.ReasonInvalidToken)
		pe := oauthWantError(t, PolicyDisabledError(ep), connections.ErrPolicyDisabled, connections.ReasonOAuthPolicyDisabled)
		if !strings.Contains(pe.Message, "fabrikam") {
			t.Errorf("PolicyDisabledError %q does not name the organization", pe.Message)
		}
	})

	if err := sim.SetOAuthPolicy("fabrikam", true); err != nil {
		t.Fatalf("SetOAuthPolicy: %v", err)
	}

	t.Run("policy on", func(t *testing.T) {
		res, err := client(t, tok.Access).CheckToken(ctx)
		if err != nil {
			t.Fatalf("CheckToken: %v", err)
		}
		if !res.Valid {
			t.Fatalf("not valid: %s: %s (steps %+v)", res.Reason, res.Message, res.Steps)
		}
		i := slices.IndexFunc(res.Steps, func(s connections.CheckStep) bool { return s.Name == StepOAuthPolicy })
		if i < 0 || !res.Steps[i].OK {
			t.Errorf("steps %+v; want a passed %s", res.Steps, StepOAuthPolicy)
		}
		if res.User == nil || res.User.DisplayName != "Demo User" {
			t.Errorf("user %+v; want the consenting Demo User", res.User)
		}
	})

	t.Run("refresh", func(t *testing.T) {
		next, err := app.Refresh(ctx, hc, tok.Refresh, "")
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		leaks = append(leaks, next.Access.Reveal(), next.Refresh.Reveal())
		if next.Access.Empty() || next.Access == tok.Access {
			t.Errorf("refresh gave no new access token")
		}
		if next.Refresh.Empty() || next.Refresh == tok.Refresh {
			t.Errorf("refresh did not rotate the refresh token")
		}
		if next.Lifetime < 3590*time.Second || next.Lifetime > 3600*time.Second {
			t.Errorf("Lifetime %v after refresh; want about 3599s", next.Lifetime)
		}
		if got := slices.Sorted(slices.Values(next.Scopes)); !slices.Equal(got, slices.Sorted(slices.Values(DefaultScopes))) {
			t.Errorf("Scopes %q after refresh", next.Scopes)
		}
		res, err := client(t, next.Access).CheckToken(ctx)
		if err != nil || !res.Valid {
			t.Fatalf("the refreshed token does not pass the check: %v %+v", err, res)
		}

		// The refresh token used is gone (rotation).
		_, err = app.Refresh(ctx, hc, tok.Refresh, "")
		oauthWantError(t, err, connections.ErrUnauthorized, connections.ReasonGrantInvalid)
		if IsTransient(err) {
			t.Error("a refused refresh token is transient")
		}
		errs = append(errs, err)

		// The TokenSource itself: Bearer type, new pair, one request per call.
		before := sim.TokenStats().AzureDevOpsRefreshes
		ot, err := app.TokenSource(ctx, hc, next.Refresh, "").Token()
		if err != nil {
			t.Fatalf("TokenSource.Token: %v", err)
		}
		leaks = append(leaks, ot.AccessToken, ot.RefreshToken)
		if ot.TokenType != "Bearer" || ot.AccessToken == "" || ot.RefreshToken == "" || ot.RefreshToken == next.Refresh.Reveal() {
			t.Errorf("TokenSource token type=%q access empty=%v refresh rotated=%v", ot.TokenType, ot.AccessToken == "",
				ot.RefreshToken != next.Refresh.Reveal())
		}
		if ot.Expiry.IsZero() {
			t.Error("TokenSource token has no expiry")
		}
		if got := sim.TokenStats().AzureDevOpsRefreshes - before; got != 1 {
			t.Errorf("TokenSource sent %d refresh requests; want 1", got)
		}
		_, err = app.TokenSource(ctx, hc, next.Refresh, "").Token()
		oauthWantError(t, err, connections.ErrUnauthorized, connections.ReasonGrantInvalid)
		errs = append(errs, err)
	})

	t.Run("no secret leaks", func(t *testing.T) {
		if len(errs) < 5 {
			t.Fatalf("only %d errors collected", len(errs))
		}
		for _, err := range errs {
			oauthNoLeak(t, err, leaks...)
		}
	})
}

func TestOAuthEntraFlow(t *testing.T) {
	sim := oauthSim(t)
	ctx := t.Context()
	hc := oauthHTTPClient()
	ep := oauthEndpoint(t, sim, "fabrikam")
	const secret = "entra-client-secret-abcdef"
	sim.RegisterEntraApp(azdosim.EntraApp{ClientID: "11111111-2222-3333-4444-555555555555", ClientSecret: secret,
		RedirectURIs: []string{oauthCallback}})
	app := OAuthApp{Provider: ProviderEntra, ClientID: "11111111-2222-3333-4444-555555555555", ClientSecret: secret,
		CallbackURL: oauthCallback, EntraAuthorityURL: sim.EntraAuthorityURL()}
	tenant := sim.TenantID()
	if tenant == "" {
		t.Fatal("the simulator has no tenant")
	}
	leaks := []string{secret}
	var errs []error

	authURL, verifier := app.AuthCodeURL("state-entra", tenant)
	if !strings.HasPrefix(authURL, sim.EntraAuthorityURL()+"/"+tenant+"/oauth2/v2.0/authorize?") {
		t.Fatalf("authorize URL %s is not at the tenant's authority", authURL)
	}
	code, state := oauthAuthorize(t, authURL)
	if state != "state-entra" {
		t.Fatalf("state %q; want state-entra", state)
	}
	leaks = append(leaks, code, verifier)

	// A wrong verifier is refused and leaves the code unredeemed (PKCE mismatch).
	_, err := app.Exchange(ctx, hc, code, oauth2.GenerateVerifier(), tenant)
	e := oauthWantError(t, err, connections.ErrUnauthorized, connections.ReasonGrantInvalid)
	if !strings.Contains(e.Message, "AADSTS50148") {
		t.Errorf("message %q does not carry AADSTS50148", e.Message)
	}
	if IsTransient(err) {
		t.Error("a PKCE mismatch is transient")
	}
	errs = append(errs, err)

	tok, err := app.Exchange(ctx, hc, code, verifier, tenant)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.Access.Empty() || tok.Refresh.Empty() {
		t.Fatalf("Entra token access empty=%v refresh empty=%v (offline_access asked for)", tok.Access.Empty(), tok.Refresh.Empty())
	}
	leaks = append(leaks, tok.Access.Reveal(), tok.Refresh.Reveal())
	if tok.Lifetime < 3590*time.Second || tok.Lifetime > 3600*time.Second {
		t.Errorf("Lifetime %v; want about 3599s", tok.Lifetime)
	}
	if got := slices.Sorted(slices.Values(tok.Scopes)); !slices.Equal(got, slices.Sorted(slices.Values(DefaultScopes))) {
		t.Errorf("Scopes %q; want the short default scopes without offline_access", tok.Scopes)
	}

	// The code is single use.
	_, err = app.Exchange(ctx, hc, code, verifier, tenant)
	oauthWantError(t, err, connections.ErrUnauthorized, connections.ReasonGrantInvalid)
	errs = append(errs, err)

	// A wrong secret is the client's fault.
	bad := app
	bad.ClientSecret = "wrong-entra-secret-000"
	leaks = append(leaks, bad.ClientSecret.Reveal())
	_, err = bad.Refresh(ctx, hc, tok.Refresh, tenant)
	oauthWantError(t, err, connections.ErrUnauthorized, connections.ReasonClientInvalid)
	errs = append(errs, err)

	// The organization policy is off, which does not govern Entra tokens.
	c, err := New(ep, Credential{Bearer: tok.Access, OAuthProvider: ProviderEntra}, Options{Door: LoopbackDoor})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res, err := c.CheckToken(ctx)
	if err != nil {
		t.Fatalf("CheckToken: %v", err)
	}
	if !res.Valid {
		t.Fatalf("Entra token refused while the OAuth policy is off: %s: %s", res.Reason, res.Message)
	}
	if slices.ContainsFunc(res.Steps, func(s connections.CheckStep) bool { return s.Name == StepOAuthPolicy }) {
		t.Errorf("steps %+v carry %s for an Entra token", res.Steps, StepOAuthPolicy)
	}

	next, err := app.Refresh(ctx, hc, tok.Refresh, tenant)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	leaks = append(leaks, next.Access.Reveal(), next.Refresh.Reveal())
	if next.Access.Empty() || next.Access == tok.Access || next.Refresh.Empty() {
		t.Fatalf("Refresh gave no new pair")
	}
	if next.Lifetime < 3590*time.Second || next.Lifetime > 3600*time.Second {
		t.Errorf("Lifetime %v after refresh", next.Lifetime)
	}
	c2, _ := New(ep, Credential{Bearer: next.Access, OAuthProvider: ProviderEntra}, Options{Door: LoopbackDoor})
	if res, err := c2.CheckToken(ctx); err != nil || !res.Valid {
		t.Fatalf("refreshed Entra token refused: %v %+v", err, res)
	}

	// An unknown refresh token is a refused grant.
	_, err = app.Refresh(ctx, hc, "not-a-refresh-token", tenant)
	oauthWantError(t, err, connections.ErrUnauthorized, connections.ReasonGrantInvalid)
	errs = append(errs, err)

	t.Run("public client", func(t *testing.T) {
		sim.RegisterEntraApp(azdosim.EntraApp{ClientID: "public-client", RedirectURIs: []string{oauthCallback}})
		pub := OAuthApp{Provider: ProviderEntra, ClientID: "public-client", Scopes: []string{"vso.code", "vso.project"},
			CallbackURL: oauthCallback, EntraAuthorityURL: sim.EntraAuthorityURL()}
		if err := pub.Validate("oauth."); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		u, v := pub.AuthCodeURL("s", "") // "organizations"
		code, _ := oauthAuthorize(t, u)
		tok, err := pub.Exchange(ctx, hc, code, v, "")
		if err != nil {
			t.Fatalf("Exchange (public client): %v", err)
		}
		if got := slices.Sorted(slices.Values(tok.Scopes)); !slices.Equal(got, []string{"vso.code", "vso.project"}) {
			t.Errorf("Scopes %q", tok.Scopes)
		}
		if tok.Refresh.Empty() {
			t.Error("no refresh token")
		}
	})

	for _, err := range errs {
		oauthNoLeak(t, err, leaks...)
	}
}

func TestParseOAuthError(t *testing.T) {
	long := strings.Repeat("d", 500)
	cases := []struct {
		name       string
		status     int
		body       string
		code, desc string
	}{
		{"azure devops PascalCase", 400, `{"Error":"invalid_grant","ErrorDescription":"The refresh token is not valid."}`, "invalid_grant", "The refresh token is not valid."},
		{"entra snake_case", 400, `{"error":"invalid_grant","error_description":"AADSTS50148: PKCE mismatch.","error_codes":[50148],"trace_id":"t"}`, "invalid_grant", "AADSTS50148: PKCE mismatch."},
		{"upper snake", 401, `{"ERROR":"invalid_client","Error_Description":"bad secret"}`, "invalid_client", "bad secret"},
		{"non-string values ignored", 400, `{"error":42,"error_description":["x"]}`, "", ""},
		{"not JSON", 502, `<html><body>Bad Gateway</body></html>`, "", ""},
		{"empty", 503, ``, "", ""},
		{"long description", 400, `{"error":"invalid_request","error_description":"` + long + `"}`, "invalid_request", long[:400] + "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := parseOAuthError(tc.status, []byte(tc.body))
			if e.Status != tc.status || e.Code != tc.code || e.Description != tc.desc {
				t.Fatalf("parseOAuthError = {%d %q %q}; want {%d %q %q}", e.Status, e.Code, e.Description, tc.status, tc.code, tc.desc)
			}
			msg := e.Error()
			if !strings.Contains(msg, "HTTP "+strconv.Itoa(tc.status)) || !strings.Contains(msg, tc.code) || !strings.Contains(msg, tc.desc) {
				t.Errorf("Error() %q does not say status, code and description", msg)
			}
			if strings.Contains(msg, "<html") {
				t.Errorf("Error() %q carries the raw body", msg)
			}
		})
	}
}

// TestParseOAuthErrorTruncatesOnRuneBoundary: a long description is cut at 400 bytes, which
// can split a multi-byte character (Entra localizes its descriptions).
func TestParseOAuthErrorTruncatesOnRuneBoundary(t *testing.T) {
	e := parseOAuthError(400, []byte(`{"error":"invalid_grant","error_description":"a`+strings.Repeat("é", 300)+`"}`))
	if !utf8.ValidString(e.Description) || !strings.HasSuffix(e.Description, "…") || len(e.Description) > 400+len("…") {
		t.Fatalf("truncated description is not valid UTF-8 or too long: %q", e.Description)
	}
}

func TestOAuthErrorPermanent(t *testing.T) {
	for status, want := range map[int]bool{400: true, 401: true, 403: true, 408: false, 429: false, 500: false, 503: false, 0: false} {
		if got := (&OAuthError{Status: status}).Permanent(); got != want {
			t.Errorf("Permanent() for %d = %v; want %v", status, got, want)
		}
	}
}

// oauthFakeTokenEndpoint answers every token request with status, content type and body.
func oauthFakeTokenEndpoint(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClassifyOAuthTokenEndpoint(t *testing.T) {
	const secret, refresh = "fake-client-secret-555", "fake-refresh-token-777"
	closed := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}
	cases := []struct {
		name      string
		base      func(t *testing.T) string
		kind      error
		reason    connections.Reason
		transient bool
	}{
		{"503", func(t *testing.T) string {
			return oauthFakeTokenEndpoint(t, 503, "text/html", "<html>Service Unavailable</html>")
		}, connections.ErrUnreachable, connections.ReasonUnreachable, true},
		{"500 json", func(t *testing.T) string {
			return oauthFakeTokenEndpoint(t, 500, "application/json", `{"error":"server_error"}`)
		}, connections.ErrUnreachable, connections.ReasonUnreachable, true},
		{"408", func(t *testing.T) string {
			return oauthFakeTokenEndpoint(t, 408, "text/plain", "timeout")
		}, connections.ErrUnreachable, connections.ReasonUnreachable, true},
		{"429", func(t *testing.T) string {
			return oauthFakeTokenEndpoint(t, 429, "application/json", `{"error":"temporarily_unavailable"}`)
		}, connections.ErrRateLimited, connections.ReasonRateLimited, true},
		{"200 without access_token", func(t *testing.T) string {
			return oauthFakeTokenEndpoint(t, 200, "application/json", `{}`)
		}, connections.ErrProtocol, connections.ReasonOAuthError, false},
		{"200 garbage JSON", func(t *testing.T) string {
			return oauthFakeTokenEndpoint(t, 200, "application/json", `{"access_token":`)
		}, connections.ErrProtocol, connections.ReasonOAuthError, false},
		{"400 invalid_request", func(t *testing.T) string {
			return oauthFakeTokenEndpoint(t, 400, "application/json", `{"Error":"invalid_request","ErrorDescription":"missing field"}`)
		}, connections.ErrProtocol, connections.ReasonOAuthError, false},
		{"401 without code", func(t *testing.T) string {
			return oauthFakeTokenEndpoint(t, 401, "text/plain", "no")
		}, connections.ErrUnauthorized, connections.ReasonClientInvalid, false},
		{"400 unauthorized_client", func(t *testing.T) string {
			return oauthFakeTokenEndpoint(t, 400, "application/json", `{"error":"unauthorized_client"}`)
		}, connections.ErrUnauthorized, connections.ReasonClientInvalid, false},
		{"closed port", closed, connections.ErrUnreachable, connections.ReasonUnreachable, true},
	}
	for _, tc := range cases {
		for _, provider := range []string{ProviderAzureDevOps, ProviderEntra} {
			t.Run(tc.name+"/"+provider, func(t *testing.T) {
				base := tc.base(t)
				app := OAuthApp{Provider: provider, ClientID: "c", ClientSecret: secret, CallbackURL: oauthCallback,
					AzureDevOpsURL: base, EntraAuthorityURL: base}
				hc := oauthHTTPClient()
				_, xerr := app.Exchange(t.Context(), hc, "some-code", "some-verifier", "t")
				_, rerr := app.Refresh(t.Context(), hc, refresh, "t")
				for what, err := range map[string]error{"Exchange": xerr, "Refresh": rerr} {
					e := connections.AsError(err)
					if e == nil || !errors.Is(err, tc.kind) || e.Reason != tc.reason {
						t.Errorf("%s: %T %v; want %v/%s", what, err, err, tc.kind, tc.reason)
						continue
					}
					if IsTransient(err) != tc.transient {
						t.Errorf("%s: IsTransient = %v; want %v", what, IsTransient(err), tc.transient)
					}
					oauthNoLeak(t, err, secret, refresh)
				}
			})
		}
	}
}

func TestDiscoverTenant(t *testing.T) {
	hc := oauthHTTPClient()
	sim := oauthSim(t)

	t.Run("organization", func(t *testing.T) {
		got, err := DiscoverTenant(t.Context(), hc, oauthEndpoint(t, sim, "fabrikam"))
		if err != nil {
			t.Fatalf("DiscoverTenant: %v", err)
		}
		if got == "" || got != sim.TenantID() {
			t.Fatalf("tenant %q; want %q", got, sim.TenantID())
		}
	})

	t.Run("unknown organization", func(t *testing.T) {
		_, err := DiscoverTenant(t.Context(), hc, oauthEndpoint(t, sim, "nosuchorg"))
		e := oauthWantError(t, err, connections.ErrInvalidInput, connections.ReasonCollectionNotFound)
		if e.Field != "organization" {
			t.Errorf("field %q; want organization", e.Field)
		}
		if !strings.Contains(e.Message, "nosuchorg") {
			t.Errorf("message %q does not name the organization", e.Message)
		}
	})

	t.Run("personal-account organization", func(t *testing.T) {
		zero := azdosimtest.StartServices(t, azdosim.Options{Collections: []string{"fabrikam"}, Seed: true,
			TenantID: "00000000-0000-0000-0000-000000000000"})
		got, err := DiscoverTenant(t.Context(), hc, oauthEndpoint(t, zero, "fabrikam"))
		if err != nil || got != EntraDefaultTenant {
			t.Fatalf("DiscoverTenant = %q, %v; want %q", got, err, EntraDefaultTenant)
		}
	})

	header := func(challenge, resourceTenant string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			if challenge != "" {
				w.Header().Set("WWW-Authenticate", challenge)
			}
			if resourceTenant != "" {
				w.Header().Set("X-VSS-ResourceTenant", resourceTenant)
			}
			w.WriteHeader(http.StatusUnauthorized)
		}
	}
	const msft = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	for _, tc := range []struct {
		name, challenge, resourceTenant, want string
	}{
		{"authorization_uri only", "Bearer authorization_uri=https://login.microsoftonline.com/" + msft, "", msft},
		{"quoted with Basic", `Bearer authorization_uri="https://login.microsoftonline.com/` + msft + `", Basic realm="https://dev.azure.com/"`, "", msft},
		{"X-VSS-ResourceTenant only", "", msft, msft},
		{"X-VSS-ResourceTenant first", "Bearer authorization_uri=https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111", msft, msft},
		{"zero X-VSS-ResourceTenant", "", zeroTenant, EntraDefaultTenant},
		{"no challenge", "", "", EntraDefaultTenant},
		{"Basic only", `Basic realm="x"`, "", EntraDefaultTenant},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(header(tc.challenge, tc.resourceTenant)))
			t.Cleanup(srv.Close)
			u, _ := url.Parse(srv.URL)
			got, err := DiscoverTenant(t.Context(), hc, Endpoint{Scheme: "http", Host: u.Host, Collection: "contoso"})
			if err != nil || got != tc.want {
				t.Fatalf("DiscoverTenant = %q, %v; want %q", got, err, tc.want)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, err = DiscoverTenant(t.Context(), hc, Endpoint{Scheme: "http", Host: addr, Collection: "contoso"})
		oauthWantError(t, err, connections.ErrUnreachable, connections.ReasonUnreachable)
	})

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := DiscoverTenant(ctx, hc, oauthEndpoint(t, sim, "fabrikam")); err == nil {
			t.Fatal("no error with a cancelled context")
		}
	})
}

// A failing Services host (5xx) is reported as unreachable, not hidden behind the default
// tenant.
func TestDiscoverTenantServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	_, err := DiscoverTenant(context.Background(), srv.Client(), Endpoint{Scheme: "http", Host: u.Host, Collection: "fabrikam"})
	if !errors.Is(err, connections.ErrUnreachable) {
		t.Fatalf("DiscoverTenant on HTTP 503: %v, want ErrUnreachable", err)
	}
}
