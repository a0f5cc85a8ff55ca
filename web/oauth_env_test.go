package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store/storetest"
	"github.com/repoconnect/repoconnect/web"
)

// OAuth apps registered with the simulator in every OAuth test.
const (
	azdoClientID     = "6d2b1c0e-azdo-app"
	azdoClientSecret = "azdo-client-secret-do-not-leak-0123456789"
	entraClientID    = "8f0c3e1a-entra-app"
	entraSecret      = "entra-client-secret-do-not-leak-0123456789"
	org              = "fabrikam"
)

// oauthEnv is a Services simulator, one store, and one or more service instances on loopback
// sharing it (as stateless instances share a store).
type oauthEnv struct {
	t     *testing.T
	sim   *azdosim.Server
	clock *storetest.Clock
	be    *backend
	kr    *secrets.Keyring
	dir   string
	apis  []*httptest.Server
	svcs  []*services.Service
	key   string
	logs  *syncBuffer
}

// newOAuthEnv starts the simulator (policy off, as for a new organization) with both apps, and
// instances service instances whose default app is of provider ("" = none).
func newOAuthEnv(t *testing.T, provider string, instances int) *oauthEnv {
	t.Helper()
	return newOAuthEnvOn(t, onBolt, provider, instances)
}

// newOAuthEnvOn is newOAuthEnv on a deployment's store (onBolt or onRedis); on Redis every
// instance has its own client, catalog cache and lock connections, as separate processes do.
func newOAuthEnvOn(t *testing.T, kind, provider string, instances int) *oauthEnv {
	t.Helper()
	e := &oauthEnv{t: t, clock: storetest.NewClock(time.Now()), dir: t.TempDir(), logs: &syncBuffer{}}
	e.sim = azdosimtest.StartServices(t, azdosim.Options{Collections: []string{org}, Seed: true})
	kr, _, err := secrets.LoadOrCreateFile(filepath.Join(e.dir, "sealing.key"))
	if err != nil {
		t.Fatal(err)
	}
	e.kr = kr
	e.be = newBackend(t, kind, e.clock.Now)
	for range instances {
		e.addInstance(provider)
	}
	callback := e.apis[0].URL + "/connector/callback"
	e.sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: azdoClientID, ClientSecret: azdoClientSecret,
		Scopes: azuredevops.DefaultScopes, CallbackURL: callback})
	e.sim.RegisterEntraApp(azdosim.EntraApp{ClientID: entraClientID, ClientSecret: entraSecret, RedirectURIs: []string{callback}})
	e.key, _, err = e.svcs[0].CreateAPIKey(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// addInstance starts one more service instance on the shared store. Every instance uses the
// first instance's callback URL, as instances behind one load balancer do.
func (e *oauthEnv) addInstance(provider string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	callback := "http://" + ln.Addr().String() + "/connector/callback"
	if len(e.apis) > 0 {
		callback = e.apis[0].URL + "/connector/callback"
	}
	o := services.OAuthSettings{CallbackURL: callback, ServicesURL: e.sim.URL(),
		AzureDevOpsOAuthURL: e.sim.AzureDevOpsOAuthURL(), EntraAuthorityURL: e.sim.EntraAuthorityURL()}
	switch provider {
	case azuredevops.ProviderAzureDevOps:
		o.Provider, o.ClientID, o.ClientSecret = provider, azdoClientID, azdoClientSecret
	case azuredevops.ProviderEntra:
		o.Provider, o.ClientID, o.ClientSecret = provider, entraClientID, entraSecret
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, cache, _ := e.be.instance(nil)
	svc, err := services.New(services.Options{Door: loopbackDoor, Store: st, Keyring: e.kr, WorkDir: filepath.Join(e.dir, "work"),
		Logger: log, Now: e.clock.Now, OAuth: o, Catalog: cache})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(svc.Close)
	api := &httptest.Server{Listener: ln, Config: &http.Server{Handler: validated(e.t, web.New(web.Options{Service: svc, Logger: log}))}}
	api.Start()
	e.t.Cleanup(api.Close)
	e.apis, e.svcs = append(e.apis, api), append(e.svcs, svc)
}

// call sends an API request to instance 0 (see callOn).
func (e *oauthEnv) call(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	return e.callOn(0, method, path, body)
}

// callOn sends a request with the API key to instance i, fails the test when the answer
// carries a secret of the apps, and decodes the JSON answer.
func (e *oauthEnv) callOn(i int, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.apis[i].URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	e.noSecrets(method+" "+path, string(raw))
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// noSecrets fails when text carries a client secret or anything shaped like a token field.
func (e *oauthEnv) noSecrets(what, text string) {
	e.t.Helper()
	for _, s := range []string{azdoClientSecret, entraSecret, `"access_token"`, `"refresh_token"`, `"accessToken"`, `"refreshToken"`, "sealed"} {
		if strings.Contains(text, s) {
			e.t.Fatalf("%s: the answer carries %q: %s", what, s, text)
		}
	}
}

// create posts a services-oauth connection and returns its JSON (status 201 required).
func (e *oauthEnv) create(body map[string]any) map[string]any {
	e.t.Helper()
	body["type"] = "services-oauth"
	if body["organization"] == nil {
		body["organization"] = org
	}
	code, m := e.call("POST", "/api/v1/connections", body)
	if code != http.StatusCreated {
		e.t.Fatalf("create: %d %v", code, m)
	}
	if u, _ := m["authorizationUrl"].(string); u == "" {
		e.t.Fatalf("create: no authorizationUrl: %v", m)
	}
	return m
}

// consent opens an authorization URL in a "browser" (an http.Client following redirects),
// submits the consent page as user, and returns the final page after the callback.
func (e *oauthEnv) consent(authURL, user string, accept bool) (int, string) {
	e.t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	page, err := hc.Get(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	if page.Request.URL.Host != strings.TrimPrefix(e.sim.URL(), "http://") {
		// The provider sent the browser straight back (e.g. error=InvalidScope).
		defer page.Body.Close()
		b, _ := io.ReadAll(page.Body)
		e.noSecrets("callback page", string(b))
		return page.StatusCode, string(b)
	}
	if page.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(page.Body)
		page.Body.Close()
		e.t.Fatalf("consent page: %d %s", page.StatusCode, b)
	}
	resp, err := azdosimtest.SubmitConsent(hc, page, user, accept)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	e.noSecrets("callback page", string(b))
	return resp.StatusCode, string(b)
}

// signIn creates a connection and completes its sign-in as user; it returns the connection
// id and the connection's JSON after the callback.
func (e *oauthEnv) signIn(body map[string]any, user string) (string, map[string]any) {
	e.t.Helper()
	c := e.create(body)
	id := c["id"].(string)
	if code, page := e.consent(c["authorizationUrl"].(string), user, true); code != http.StatusOK {
		e.t.Fatalf("callback: %d %s", code, page)
	}
	return id, e.get(id)
}

func (e *oauthEnv) get(id string) map[string]any {
	e.t.Helper()
	code, m := e.call("GET", "/api/v1/connections/"+id, nil)
	if code != http.StatusOK {
		e.t.Fatalf("get connection: %d %v", code, m)
	}
	return m
}

// wantStatus fails unless the connection has status and (when not empty) statusReason.
func wantStatus(t *testing.T, conn map[string]any, status, reason string) {
	t.Helper()
	if conn["status"] != status || (reason != "" && conn["statusReason"] != reason) {
		t.Fatalf("connection status %v/%v (%v), want %s/%s", conn["status"], conn["statusReason"], conn["statusMessage"], status, reason)
	}
}
