package services_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

// Apps registered with the simulator in the pending-app tests.
const (
	pendOrg          = "fabrikam"
	pendTenant       = "acme"
	pendAzdoID       = "7a1e-azdo-pending"
	pendAzdoSecret   = "azdo-secret-pending-0123456789abcdef"
	pendEntraID      = "9c4d-entra-pending"
	pendEntraSecret  = "entra-secret-pending-0123456789abcdef"
	pendWrongSecret  = "refused-secret-PENDING-never-in-clear-42"
	pendCallbackPath = "/connector/callback"
)

// statesSeen is a store that keeps, as JSON, every OAuth state that reaches the backend.
type statesSeen struct {
	store.Store
	mu   sync.Mutex
	json []string
	raw  []*store.OAuthState
}

func (s *statesSeen) PutOAuthState(ctx context.Context, st *store.OAuthState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	cp := *st
	s.mu.Lock()
	s.json, s.raw = append(s.json, string(b)), append(s.raw, &cp)
	s.mu.Unlock()
	return s.Store.PutOAuthState(ctx, st)
}

func (s *statesSeen) last() (string, *store.OAuthState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.json[len(s.json)-1], s.raw[len(s.raw)-1]
}

// syncLog is a log buffer safe for concurrent writers.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pendEnv is a Services simulator with an Azure DevOps OAuth app and an Entra app, and one
// service on a bbolt file whose default app is the Entra app. The registered redirect URI is
// never contacted: the test's "browser" stops at it and hands its query to CompleteSignIn.
type pendEnv struct {
	t      *testing.T
	sim    *azdosim.Server
	svc    *services.Service
	states *statesSeen
	dbPath string
	clock  *storetest.Clock
	logs   *syncLog
}

func newPendEnv(t *testing.T) *pendEnv {
	t.Helper()
	e := &pendEnv{t: t, clock: storetest.NewClock(time.Now()), logs: &syncLog{}, dbPath: filepath.Join(t.TempDir(), "db")}
	e.sim = azdosimtest.StartServices(t, azdosim.Options{Collections: []string{pendOrg}, Seed: true})
	if err := e.sim.SetOAuthPolicy(pendOrg, true); err != nil {
		t.Fatal(err)
	}
	callback := "http://127.0.0.1:9" + pendCallbackPath
	e.sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: pendAzdoID, ClientSecret: pendAzdoSecret, Scopes: azuredevops.DefaultScopes, CallbackURL: callback})
	e.sim.RegisterEntraApp(azdosim.EntraApp{ClientID: pendEntraID, ClientSecret: pendEntraSecret, RedirectURIs: []string{callback}})
	st, err := bolt.Open(e.dbPath, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.states = &statesSeen{Store: st}
	e.svc, err = services.New(services.Options{Store: e.states, Keyring: browserKeyring(t, "k1"), Now: e.clock.Now, Door: services.LoopbackDoor,
		WorkDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OAuth: services.OAuthSettings{Provider: azuredevops.ProviderEntra, ClientID: pendEntraID, ClientSecret: pendEntraSecret,
			CallbackURL: callback, ServicesURL: e.sim.URL(), AzureDevOpsOAuthURL: e.sim.AzureDevOpsOAuthURL(), EntraAuthorityURL: e.sim.EntraAuthorityURL()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.svc.Close)
	return e
}

// consent opens authURL, answers the consent page as Ada (accept or deny), and returns the
// callback the provider redirected to, without calling it.
func (e *pendEnv) consent(authURL string, accept bool) services.CallbackInput {
	e.t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Path == pendCallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	page, err := hc.Get(authURL)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := azdosimtest.SubmitConsent(hc, page, "Ada Lovelace", accept)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || u.Path != pendCallbackPath {
		e.t.Fatalf("consent redirected to %q (%d)", resp.Header.Get("Location"), resp.StatusCode)
	}
	q := u.Query()
	return services.CallbackInput{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), ErrorDescription: q.Get("error_description")}
}

// complete runs the callback of in and returns its result (no error allowed).
func (e *pendEnv) complete(in services.CallbackInput) *services.CallbackResult {
	e.t.Helper()
	res, err := e.svc.CompleteSignIn(context.Background(), in)
	if err != nil {
		e.t.Fatalf("callback: %v", err)
	}
	return res
}

// legacy creates a connection on its own Azure DevOps OAuth app and signs it in.
func (e *pendEnv) legacy(name string) string {
	e.t.Helper()
	c, err := e.svc.CreateConnection(context.Background(), pendTenant, services.ConnectionInput{Name: name, Type: services.TypeServicesOAuth,
		Organization: pendOrg, OAuth: &services.OAuthAppInput{Provider: azuredevops.ProviderAzureDevOps, ClientID: pendAzdoID, ClientSecret: pendAzdoSecret}})
	if err != nil {
		e.t.Fatal(err)
	}
	if res := e.complete(e.consent(c.AuthorizationURL, true)); res.Connection.Status != services.StatusAuthorized || !res.Outcome.Applied {
		e.t.Fatalf("first sign-in: %+v", res.Outcome)
	}
	return c.ID
}

// wantOn fails unless the connection signs in with provider (own app clientID, "" for the
// default app), is authorized, and lists its projects, also after its access token expired
// (the refresh runs with the app's secret).
func (e *pendEnv) wantOn(id, provider, clientID string) *services.Connection {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.svc.GetConnection(ctx, pendTenant, id)
	if err != nil {
		e.t.Fatal(err)
	}
	if c.OAuth.Provider != provider || c.OAuth.ClientID != clientID || c.Status != services.StatusAuthorized {
		e.t.Fatalf("connection on %s/%q, status %s (%s %s); want %s/%q authorized", c.OAuth.Provider, c.OAuth.ClientID, c.Status, c.StatusReason, c.StatusMessage, provider, clientID)
	}
	if ps, err := e.svc.ListProjects(ctx, pendTenant, id); err != nil || len(ps) == 0 {
		e.t.Fatalf("projects: %v %v", ps, err)
	}
	e.clock.Advance(2 * time.Hour) // past the access token's hour: the next call refreshes it
	if ps, err := e.svc.ListProjects(ctx, pendTenant, id); err != nil || len(ps) == 0 {
		e.t.Fatalf("projects after a refresh: %v %v", ps, err)
	}
	if c, err = e.svc.GetConnection(ctx, pendTenant, id); err != nil || c.Status != services.StatusAuthorized {
		e.t.Fatalf("after the refresh: %+v %v", c, err)
	}
	return c
}

func hasWarning(c *services.Connection, code string) bool {
	for _, w := range c.Warnings {
		if string(w.Code) == code {
			return true
		}
	}
	return false
}

// The move to Entra started and abandoned (the tab closed, or consent declined) leaves the
// connection on its Azure DevOps OAuth app: authorized, listing projects, refreshing with its
// own secret, still warning. Completed, it moves: the Entra app and tokens arrive together.
func TestPendingAppMoveToEntraAbandonedThenCompleted(t *testing.T) {
	e := newPendEnv(t)
	ctx := context.Background()
	id := e.legacy("legacy")

	started, err := e.svc.MoveToEntra(ctx, pendTenant, id, services.ReauthorizeInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(started.AuthorizationURL, e.sim.EntraAuthorityURL()+"/"+e.sim.TenantID()+"/") ||
		started.OAuth.Provider != azuredevops.ProviderAzureDevOps {
		t.Fatalf("move started: %s on %s", started.AuthorizationURL, started.OAuth.Provider)
	}
	_, st := e.states.last()
	if st.PendingApp == nil || st.PendingApp.Provider != azuredevops.ProviderEntra || st.PendingApp.EntraTenant != e.sim.TenantID() || st.PendingApp.ClientID != "" {
		t.Fatalf("the state's pending app: %+v", st.PendingApp)
	}
	// Abandoned: nobody signs in.
	c := e.wantOn(id, azuredevops.ProviderAzureDevOps, pendAzdoID)
	if !hasWarning(c, services.WarningLegacyOAuthApp) {
		t.Errorf("the warning went with an abandoned move: %v", c.Warnings)
	}

	// Declined at the consent page: reported, and the connection is as it was.
	moved, err := e.svc.MoveToEntra(ctx, pendTenant, id, services.ReauthorizeInput{})
	if err != nil {
		t.Fatal(err)
	}
	res := e.complete(e.consent(moved.AuthorizationURL, false))
	if res.Outcome.Applied || res.Outcome.Status != services.StatusNotAuthorized || res.Outcome.Reason != "access_denied" ||
		res.Outcome.Err() == nil || res.Connection.Status != services.StatusAuthorized || res.Connection.OAuth.Provider != azuredevops.ProviderAzureDevOps {
		t.Fatalf("declined move: outcome %+v, connection %s on %s", res.Outcome, res.Connection.Status, res.Connection.OAuth.Provider)
	}
	e.wantOn(id, azuredevops.ProviderAzureDevOps, pendAzdoID)

	// Completed: on the default Entra app, authorized, no warning, refreshing with Entra.
	moved, err = e.svc.MoveToEntra(ctx, pendTenant, id, services.ReauthorizeInput{})
	if err != nil {
		t.Fatal(err)
	}
	if res = e.complete(e.consent(moved.AuthorizationURL, true)); !res.Outcome.Applied || res.Outcome.Err() != nil {
		t.Fatalf("completed move: %+v", res.Outcome)
	}
	c = e.wantOn(id, azuredevops.ProviderEntra, "")
	if hasWarning(c, services.WarningLegacyOAuthApp) || c.OAuth.EntraTenant != e.sim.TenantID() {
		t.Errorf("after the move: warnings %v, tenant %q", c.Warnings, c.OAuth.EntraTenant)
	}
}

// A re-authorization with a new client secret that the provider refuses at the code exchange
// leaves the connection on its app with its secret and tokens. The new secret reaches the
// store only sealed: not in the state as the backend receives it, not in the bbolt file, not
// in the logs or any answer.
func TestPendingAppRefusedSecretKeepsAppAndNeverInClear(t *testing.T) {
	e := newPendEnv(t)
	ctx := context.Background()
	id := e.legacy("own")

	re, err := e.svc.Authorize(ctx, pendTenant, id, services.ReauthorizeInput{OAuth: &services.OAuthAppInput{
		Provider: azuredevops.ProviderAzureDevOps, ClientID: pendAzdoID, ClientSecret: pendWrongSecret}})
	if err != nil {
		t.Fatal(err)
	}
	raw, st := e.states.last()
	if st.PendingApp == nil || len(st.PendingApp.SealedClientSecret) == 0 || st.PendingApp.ClientID != pendAzdoID {
		t.Fatalf("the state's pending app: %+v", st.PendingApp)
	}
	res := e.complete(e.consent(re.AuthorizationURL, true))
	if res.Outcome.Applied || res.Outcome.Status != services.StatusNotAuthorized || res.Outcome.Reason == "" ||
		res.Connection.Status != services.StatusAuthorized {
		t.Fatalf("refused secret: outcome %+v, connection %s", res.Outcome, res.Connection.Status)
	}
	e.wantOn(id, azuredevops.ProviderAzureDevOps, pendAzdoID) // the refresh proves the old secret is kept

	// Bad input is refused before anything is stored: no new state, the app unchanged.
	n := len(e.states.json)
	if _, err := e.svc.Authorize(ctx, pendTenant, id, services.ReauthorizeInput{OAuth: &services.OAuthAppInput{
		Provider: azuredevops.ProviderAzureDevOps, ClientID: pendAzdoID, ClientSecret: pendWrongSecret, Scopes: []string{"not a scope!"}}}); err == nil {
		t.Fatal("unknown scope accepted")
	}
	if len(e.states.json) != n {
		t.Errorf("a refused re-authorization stored a state")
	}

	answers, _ := json.Marshal([]any{re, res.Connection, res.Outcome.Err().Error()})
	db, err := os.ReadFile(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"the state sent to the store": raw, "the bbolt file": string(db), "the logs": e.logs.String(), "the answers": string(answers)} {
		if strings.Contains(text, pendWrongSecret) || strings.Contains(text, "PENDING-never-in-clear") {
			t.Errorf("%s carries the pending client secret", what)
		}
	}
}

// Two sign-ins in flight for one connection: the one that completes wins. A failure of the
// older one after the other moved the connection leaves it on its new app; an older one that
// completes last moves it back.
func TestPendingAppTwoSignInsInFlight(t *testing.T) {
	e := newPendEnv(t)
	ctx := context.Background()
	id := e.legacy("twice")

	again := func() string { // a plain re-authorization of the Azure DevOps app
		c, err := e.svc.Authorize(ctx, pendTenant, id, services.ReauthorizeInput{})
		if err != nil {
			t.Fatal(err)
		}
		return c.AuthorizationURL
	}
	plainDenied, plainLater := again(), again()
	move, err := e.svc.MoveToEntra(ctx, pendTenant, id, services.ReauthorizeInput{})
	if err != nil {
		t.Fatal(err)
	}
	if res := e.complete(e.consent(move.AuthorizationURL, true)); !res.Outcome.Applied {
		t.Fatalf("move: %+v", res.Outcome)
	}
	// The older sign-in fails now: its app is not the connection's any more, so nothing changes.
	if res := e.complete(e.consent(plainDenied, false)); res.Outcome.Applied || res.Connection.OAuth.Provider != azuredevops.ProviderEntra {
		t.Fatalf("older sign-in declined: %+v on %s", res.Outcome, res.Connection.OAuth.Provider)
	}
	e.wantOn(id, azuredevops.ProviderEntra, "")
	// The other older one completes: it wins, with its own app and tokens.
	if res := e.complete(e.consent(plainLater, true)); !res.Outcome.Applied {
		t.Fatalf("older sign-in completed: %+v", res.Outcome)
	}
	e.wantOn(id, azuredevops.ProviderAzureDevOps, pendAzdoID)
}
