package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/web"
)

const simPAT = "apitestpat9876543210zyxwvutsrqponm"

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is one service on loopback with its own bolt store, and a simulator.
type env struct {
	t      *testing.T
	sim    *azdosim.Server
	api    *httptest.Server
	key    string
	dbPath string
	logs   *syncBuffer
	svc    *services.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, nil)
}

// newEnvWith is newEnv with the simulator's options and a tune function that may change the
// service's options (nil: none) before the service starts, e.g. its Door or Retry.
func newEnvWith(t *testing.T, simOpts azdosim.Options, tune func(*services.Options)) *env {
	t.Helper()
	sim := azdosimtest.Start(t, simOpts, azdosim.PAT{Token: simPAT, UserName: "API Tester"})
	dir := t.TempDir()
	kr, _, err := secrets.LoadOrCreateFile(filepath.Join(dir, "sealing.key"))
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "repoconnect.db")
	st, err := bolt.Open(dbPath, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := services.Options{Door: loopbackDoor, Store: st, Keyring: kr, WorkDir: filepath.Join(dir, "work"), Logger: log}
	if tune != nil {
		tune(&opts)
	}
	svc, err := services.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	key, _, err := svc.CreateAPIKey(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(validated(t, web.New(web.Options{Service: svc, Logger: log})))
	t.Cleanup(api.Close)
	return &env{t: t, sim: sim, api: api, key: key, dbPath: dbPath, logs: logs, svc: svc}
}

// call sends a request with the API key and decodes the JSON answer into a map (or nil).
func (e *env) call(method, path string, body any) (int, map[string]any, http.Header) {
	e.t.Helper()
	status, raw, h := e.raw(method, path, body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return status, m, h
}

// raw is call without decoding: the answer's bytes. It fails the test when they carry the PAT.
func (e *env) raw(method, path string, body any) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.api.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.key)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(raw), simPAT) {
		e.t.Fatalf("%s %s answered with the PAT", method, path)
	}
	return resp.StatusCode, raw, resp.Header
}

func (e *env) connection() map[string]any {
	return map[string]any{"name": "fabrikam", "type": "server-pat", "serverUrl": e.sim.URL(), "collection": "DefaultCollection", "pat": simPAT}
}

func (e *env) createConnection() string {
	e.t.Helper()
	code, body, _ := e.call("POST", "/api/v1/connections", e.connection())
	if code != 201 {
		e.t.Fatalf("create connection: %d %v", code, body)
	}
	return body["id"].(string)
}

func TestEndToEnd(t *testing.T) {
	e := newEnv(t)
	code, conn, hdr := e.call("POST", "/api/v1/connections", e.connection())
	if code != 201 {
		t.Fatalf("create connection: %d %v", code, conn)
	}
	id := conn["id"].(string)
	if conn["status"] != "authorized" || conn["virtualDirectory"] != "tfs" || conn["collection"] != "DefaultCollection" ||
		conn["user"].(map[string]any)["displayName"] != "API Tester" || hdr.Get("Location") != "/api/v1/connections/"+id {
		t.Errorf("connection = %v", conn)
	}

	code, projects, _ := e.call("GET", "/api/v1/connections/"+id+"/projects", nil)
	if code != 200 || projects["count"].(float64) < 2 {
		t.Fatalf("projects: %d %v", code, projects)
	}
	code, repos, _ := e.call("GET", "/api/v1/connections/"+id+"/repositories?project=Fabrikam%20Mobile&q=APP", nil)
	if code != 200 {
		t.Fatalf("repositories: %d %v", code, repos)
	}
	var android map[string]any
	for _, r := range repos["value"].([]any) {
		m := r.(map[string]any)
		if !strings.Contains(strings.ToLower(m["name"].(string)), "app") {
			t.Errorf("q=APP kept %v", m["name"])
		}
		if m["name"] == "android app" {
			android = m
		}
	}
	if android == nil {
		t.Fatalf("no 'android app' in %v", repos)
	}
	rid := android["id"].(string)
	for _, f := range []string{"id", "name", "project", "defaultBranch", "remoteUrl", "webUrl", "size", "isDisabled"} {
		if _, ok := android[f]; !ok {
			t.Errorf("repository lacks %q: %v", f, android)
		}
	}
	code, branches, _ := e.call("GET", "/api/v1/connections/"+id+"/repositories/"+rid+"/branches", nil)
	if code != 200 || branches["count"].(float64) != 2 {
		t.Fatalf("branches: %d %v", code, branches)
	}

	code, prof, _ := e.call("POST", "/api/v1/build-profiles", map[string]any{"name": "android", "connectionId": id, "repositoryId": rid, "branch": "feature/login"})
	if code != 201 {
		t.Fatalf("build profile: %d %v", code, prof)
	}
	code, cl, _ := e.call("POST", "/api/v1/build-profiles/"+prof["id"].(string)+"/clone", map[string]any{"depth": 1})
	if code != 200 {
		t.Fatalf("clone: %d %v", code, cl)
	}
	var bare string
	for _, r := range e.sim.Repositories("DefaultCollection") {
		if r.ID == rid {
			bare = r.BarePath
		}
	}
	want := git(t, bare, "rev-parse", "feature/login")
	if cl["commit"] != want || cl["branch"] != "feature/login" {
		t.Errorf("clone answered %v, want commit %s", cl, want)
	}
	path := cl["path"].(string)
	if got := git(t, path, "rev-parse", "HEAD^{tree}"); got != git(t, bare, "rev-parse", "feature/login^{tree}") {
		t.Errorf("cloned tree %s differs from the source", got)
	}
	if st := git(t, path, "status", "--porcelain"); st != "" {
		t.Errorf("work tree differs from HEAD: %s", st)
	}

	raw, err := os.ReadFile(e.dbPath) // while the connection is certainly stored
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(simPAT)) || !bytes.Contains(raw, []byte(id)) {
		t.Error("the PAT is readable in the store file, or the connection is not in it")
	}

	code, _, _ = e.call("DELETE", "/api/v1/connections/"+id, nil)
	if code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _, _ = e.call("GET", "/api/v1/build-profiles/"+prof["id"].(string), nil); code != 404 {
		t.Errorf("the build profile outlived its connection: %d", code)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the clone outlived its build profile: %v", err)
	}
	if strings.Contains(e.logs.String(), simPAT) {
		t.Error("the PAT is in the log")
	}
	if !strings.Contains(e.logs.String(), "connection created") {
		t.Error("the log does not show the connection being created (is the logger wired?)")
	}
}

func TestConnectionStatusFollowsTheToken(t *testing.T) {
	e := newEnv(t)
	id := e.createConnection()
	e.sim.AddPAT(azdosim.PAT{Token: simPAT, Expires: time.Now().Add(-time.Minute)}) // the PAT expires
	code, p, _ := e.call("GET", "/api/v1/connections/"+id+"/repositories", nil)
	if code != 422 || p["code"] != "invalid_token" || !strings.Contains(p["detail"].(string), "expired") {
		t.Fatalf("expired PAT: %d %v", code, p)
	}
	if _, c, _ := e.call("GET", "/api/v1/connections/"+id, nil); c["status"] != "invalid_token" {
		t.Fatalf("status after the expiry: %v", c["status"])
	}
	e.sim.AddPAT(azdosim.PAT{Token: simPAT}) // renewed
	if code, _, _ := e.call("GET", "/api/v1/connections/"+id+"/repositories", nil); code != 200 {
		t.Fatalf("renewed PAT: %d", code)
	}
	if _, c, _ := e.call("GET", "/api/v1/connections/"+id, nil); c["status"] != "authorized" {
		t.Fatalf("status after the renewal: %v", c["status"])
	}
}

var git = azdosimtest.Git
