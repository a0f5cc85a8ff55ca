package azdosim_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

const (
	svcPAT      = "services-test-pat-0123456789"
	appID       = "4f7c2a1e-azdo-app"
	appSecret   = "azdo-app-secret-value"
	callback    = "https://ci.example/oauth/callback?from=azdo"
	entraID     = "8d1e0f3c-entra-app"
	entraSecret = "entra-app-secret-value"
	entraCB     = "https://ci.example/oauth/entra"
	adoResource = "499b84ac-1321-427f-aa17-267ca6975798"
	weirdState  = "st ate+/&=é%"
)

var appScopes = []string{"vso.code", "vso.project"}

// startOAuth starts a Services simulator (seeded) with svcPAT, the Azure DevOps OAuth app and
// the confidential Entra app registered.
func startOAuth(t *testing.T, opts azdosim.Options) *azdosim.Server {
	t.Helper()
	opts.Seed = true
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	sim := azdosimtest.StartServices(t, opts, azdosim.PAT{Token: svcPAT})
	sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: appID, ClientSecret: appSecret, Scopes: appScopes, CallbackURL: callback})
	sim.RegisterEntraApp(azdosim.EntraApp{ClientID: entraID, ClientSecret: entraSecret, RedirectURIs: []string{entraCB}})
	return sim
}

// noRedirect is a cookie-less client that returns 302 answers instead of following them.
func noRedirect() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// resp is a read HTTP answer.
type resp struct {
	status int
	header http.Header
	body   string
}

func (r resp) decode(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return m
}

// location parses the Location of a 302.
func (r resp) location(t *testing.T) *url.URL {
	t.Helper()
	if r.status != http.StatusFound {
		t.Fatalf("status %d, want 302; body %s", r.status, r.body)
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// read returns a function that reads an answer (usable as read(t)(client.Get(u))).
func read(t *testing.T) func(*http.Response, error) resp {
	return func(hr *http.Response, err error) resp {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer hr.Body.Close()
		b, err := io.ReadAll(hr.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp{status: hr.StatusCode, header: hr.Header, body: string(b)}
	}
}

// call sends method u with the Authorization value auth ("" = none), Accept JSON and
// X-TFS-FedAuthRedirect: Suppress.
func call(t *testing.T, method, u, auth string) resp {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	hr, err := noRedirect().Do(req)
	return read(t)(hr, err)
}

func bearer(tok string) string { return "Bearer " + tok }

// basic is the Basic credential value of ":" + pat.
func basic(pat string) string { return b64(":" + pat) }

// b64 is standard base64.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// wantEnvelope checks a JSON error envelope's status, typeKey and message.
func wantEnvelope(t *testing.T, r resp, status int, typeKey, message string, exact bool) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	m := r.decode(t)
	msg, _ := m["message"].(string)
	if m["typeKey"] != typeKey || (exact && msg != message) || (!exact && !strings.Contains(msg, message)) {
		t.Fatalf("envelope %v, want typeKey %s message %q", m, typeKey, message)
	}
}

// authorizeURL builds an authorize URL from base and params.
func authorizeURL(base string, params map[string]string) string {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return base + "?" + q.Encode()
}

// azdoAuthorizeParams are the parameters of a valid Azure DevOps authorize request.
func azdoAuthorizeParams() map[string]string {
	return map[string]string{"client_id": appID, "response_type": "Assertion", "state": weirdState,
		"scope": "vso.project vso.code vso.code", "redirect_uri": callback}
}

// consent GETs the authorize URL u, answers the consent page as user (accept or deny) and
// returns the query of the redirect to the callback.
func consent(t *testing.T, u, user string, accept bool) url.Values {
	t.Helper()
	hc := noRedirect()
	page, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	if page.StatusCode != http.StatusOK {
		t.Fatalf("authorize: status %d", page.StatusCode)
	}
	hr, err := azdosimtest.SubmitConsent(hc, page, user, accept)
	return read(t)(hr, err).location(t).Query()
}

// azdoCode runs authorize and consent for user and returns the code (checking the state).
func azdoCode(t *testing.T, sim *azdosim.Server, user string) string {
	t.Helper()
	q := consent(t, authorizeURL(sim.AzureDevOpsOAuthURL()+"/oauth2/authorize", azdoAuthorizeParams()), user, true)
	if q.Get("state") != weirdState || q.Get("code") == "" || q.Get("from") != "azdo" {
		t.Fatalf("callback query %v", q)
	}
	return q.Get("code")
}

// azdoToken posts to the Azure DevOps token endpoint.
func azdoToken(t *testing.T, sim *azdosim.Server, grantType, assertion, secret string, extra ...string) resp {
	t.Helper()
	gt := grantType
	if gt == "code" {
		gt = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	}
	f := url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {secret}, "grant_type": {gt}, "assertion": {assertion}, "redirect_uri": {callback}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	hr, err := noRedirect().PostForm(sim.AzureDevOpsOAuthURL()+"/oauth2/token", f)
	return read(t)(hr, err)
}

// azdoTokens runs the whole Azure DevOps flow for user and returns the access and refresh
// tokens.
func azdoTokens(t *testing.T, sim *azdosim.Server, user string) (access, refresh string) {
	t.Helper()
	r := azdoToken(t, sim, "code", azdoCode(t, sim, user), appSecret)
	if r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	m := r.decode(t)
	return m["access_token"].(string), m["refresh_token"].(string)
}

// pkce returns a verifier and its S256 challenge.
func pkce(seed string) (verifier, challenge string) {
	verifier = strings.Repeat(seed, 50)[:50]
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// entraAuthorizeParams are the parameters of a valid Entra authorize request.
func entraAuthorizeParams(scope, challenge string) map[string]string {
	return map[string]string{"client_id": entraID, "response_type": "code", "redirect_uri": entraCB,
		"scope": scope, "state": weirdState, "code_challenge": challenge, "code_challenge_method": "S256"}
}

// entraToken posts form to the Entra token endpoint of tenant.
func entraToken(t *testing.T, sim *azdosim.Server, tenant string, form url.Values) resp {
	t.Helper()
	hr, err := noRedirect().PostForm(sim.EntraAuthorityURL()+"/"+tenant+"/oauth2/v2.0/token", form)
	return read(t)(hr, err)
}

// wantEntraError checks an Entra error answer.
func wantEntraError(t *testing.T, r resp, status int, errCode string, aadsts int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	m := r.decode(t)
	codes, _ := m["error_codes"].([]any)
	desc, _ := m["error_description"].(string)
	if m["error"] != errCode || len(codes) != 1 || codes[0] != float64(aadsts) || !strings.HasPrefix(desc, "AADSTS"+strconv.Itoa(aadsts)+": ") {
		t.Fatalf("error %v, want %s AADSTS%d", m, errCode, aadsts)
	}
}
