package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/ratelimit"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/web"
)

// fleet is a simulated Azure DevOps Server and n service instances on one deployment's store,
// each behind its own loopback listener, as several stateless instances behind a load
// balancer. Tenants "acme" and "other" have an API key each.
type fleet struct {
	t    *testing.T
	be   *backend
	sim  *azdosim.Server
	apis []*httptest.Server
	svcs []*services.Service
	keys map[string]string // tenant → API key
	logs *syncBuffer
	kr   *secrets.Keyring
	dir  string
}

func newFleet(t *testing.T, kind string, n int, limits map[string]ratelimit.Limit) *fleet {
	t.Helper()
	f := &fleet{t: t, be: newBackend(t, kind, nil), keys: map[string]string{}, logs: &syncBuffer{}}
	f.sim = azdosimtest.Start(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: simPAT, UserName: "API Tester"})
	f.dir = t.TempDir()
	kr, _, err := secrets.LoadOrCreateFile(filepath.Join(f.dir, "sealing.key"))
	if err != nil {
		t.Fatal(err)
	}
	f.kr = kr
	for range n {
		f.addInstance(limits)
	}
	for _, tenant := range []string{"acme", "other"} {
		key, _, err := f.svcs[0].CreateAPIKey(context.Background(), tenant)
		if err != nil {
			t.Fatal(err)
		}
		f.keys[tenant] = key
	}
	return f
}

// addInstance starts one more instance on the fleet's store and returns its index.
func (f *fleet) addInstance(limits map[string]ratelimit.Limit) int {
	f.t.Helper()
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, cache, lim := f.be.instance(limits)
	svc, err := services.New(services.Options{Door: loopbackDoor, Store: st, Keyring: f.kr, WorkDir: filepath.Join(f.dir, "work"),
		Logger: log, Catalog: cache, Limiter: lim, CloneQueue: f.be.cloneQueue()}) // cloneQueue: clones_test.go
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(svc.Close)
	api := httptest.NewServer(validated(f.t, web.New(web.Options{Service: svc, Logger: log})))
	f.t.Cleanup(api.Close)
	f.apis, f.svcs = append(f.apis, api), append(f.svcs, svc)
	return len(f.apis) - 1
}

// do sends a request to instance i as tenant and returns the status, the raw body and the
// headers; it fails the test when the body carries the PAT or the service logged it.
func (f *fleet) do(i int, tenant, method, path string, body any) (int, []byte, http.Header) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, f.apis[i].URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+f.keys[tenant])
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(raw), simPAT) || strings.Contains(f.logs.String(), simPAT) {
		f.t.Fatalf("%s %s: the PAT leaked into an answer or the log", method, path)
	}
	return resp.StatusCode, raw, resp.Header
}

// json sends a request (see do) and decodes a JSON object answer.
func (f *fleet) json(i int, tenant, method, path string, body any) (int, map[string]any) {
	f.t.Helper()
	code, raw, _ := f.do(i, tenant, method, path, body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return code, m
}

// connectionBody is a valid server-pat connection of the simulator named name.
func (f *fleet) connectionBody(name string) map[string]any {
	return map[string]any{"name": name, "type": "server-pat", "serverUrl": f.sim.URL(), "collection": "DefaultCollection", "pat": simPAT}
}

// create creates a connection through instance i and returns its id.
func (f *fleet) create(i int, tenant, name string) string {
	f.t.Helper()
	code, m := f.json(i, tenant, "POST", "/api/v1/connections", f.connectionBody(name))
	if code != http.StatusCreated {
		f.t.Fatalf("create %s on instance %d: %d %v", name, i, code, m)
	}
	return m["id"].(string)
}

// repoID returns the id of the repository named name, listed through instance i.
func (f *fleet) repoID(i int, tenant, connID, name string) string {
	f.t.Helper()
	code, m := f.json(i, tenant, "GET", "/api/v1/connections/"+connID+"/repositories", nil)
	if code != http.StatusOK {
		f.t.Fatalf("repositories: %d %v", code, m)
	}
	return repoNamed(f.t, m, name)["id"].(string)
}
