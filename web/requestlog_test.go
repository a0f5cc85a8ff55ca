package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/resilience"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/web"
)

// newLoggedEnv is newEnv whose service logs through web.LogHandler too (as serve wires it),
// so the service's own lines of a request carry its requestId.
// Retries are quick (faultEnv's).
func newLoggedEnv(t *testing.T, simOpts azdosim.Options) *env {
	t.Helper()
	return newEnvWith(t, simOpts, func(o *services.Options) {
		o.Logger = slog.New(web.LogHandler(o.Logger.Handler()))
		o.Retry = resilience.Options{MaxAttempts: faultAttempts, InitialInterval: time.Millisecond,
			MaxInterval: 5 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	})
}

// send is raw with extra request headers (name, value pairs); it returns the answer.
func (e *env) send(method, path string, body string, headers ...string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.api.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// linesWith returns the log lines that contain every one of parts.
func linesWith(logs string, parts ...string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		ok := l != ""
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// A sane X-Request-Id is kept and echoed; a missing, too long or odd one is replaced by a
// fresh UUID, different per request.
func TestRequestIDEchoedOrGenerated(t *testing.T) {
	e := newEnv(t)
	resp, _ := e.send("GET", "/livez", "", "X-Request-Id", "trace-01.abc:def_9")
	if got := resp.Header.Get("X-Request-Id"); got != "trace-01.abc:def_9" {
		t.Errorf("sane id: answered %q", got)
	}
	seen := map[string]bool{}
	for _, bad := range []string{"", strings.Repeat("a", 129), "has space", "quote\"", "semi;colon", "é"} {
		resp, _ := e.send("GET", "/livez", "", "X-Request-Id", bad)
		got := resp.Header.Get("X-Request-Id")
		if _, err := uuid.Parse(got); err != nil || got == bad || seen[got] {
			t.Errorf("id %q: answered %q, want a new UUID", bad, got)
		}
		seen[got] = true
	}
	resp, _ = e.send("GET", "/livez", "", "X-Request-Id", strings.Repeat("b", 128))
	if got := resp.Header.Get("X-Request-Id"); got != strings.Repeat("b", 128) {
		t.Errorf("128-character id: answered %q", got)
	}
}

// The request id is in the problem body of a failure and in every log line of the request:
// the access line (with its fields, without the query string) and the service's own lines.
func TestRequestIDInProblemsAndLogLines(t *testing.T) {
	e := newLoggedEnv(t, azdosim.Options{VirtualDir: "tfs", Seed: true})
	id := e.createConnection()

	resp, raw := e.send("GET", "/api/v1/no-such-thing?code=SECRETCODE&state=SECRETSTATE", "", "X-Request-Id", "req-404", "User-Agent", "probe/1.0")
	var p map[string]any
	_ = json.Unmarshal(raw, &p)
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" || p["code"] != "not_found" ||
		p["requestId"] != "req-404" || !strings.Contains(p["detail"].(string), "/api/v1/openapi.json") {
		t.Errorf("unknown route: %d %s", resp.StatusCode, raw)
	}
	logs := e.logs.String()
	if strings.Contains(logs, "SECRETCODE") || strings.Contains(logs, "SECRETSTATE") {
		t.Errorf("the query string was logged:\n%s", logs)
	}
	access := linesWith(logs, "msg=request ", "requestId=req-404")
	if len(access) != 1 {
		t.Fatalf("access lines of req-404: %q\n%s", access, logs)
	}
	for _, field := range []string{"method=GET", "path=/api/v1/no-such-thing ", "status=404", "bytes=" + resp.Header.Get("Content-Length"),
		"ms=", "remote=127.0.0.1:", "userAgent=probe/1.0"} {
		if !strings.Contains(access[0], field) {
			t.Errorf("access line lacks %q: %s", field, access[0])
		}
	}

	// A listing calls Azure DevOps: the client's debug lines are logged with the request's
	// context, so they carry its id as the access line does.
	resp, _ = e.send("GET", "/api/v1/connections/"+id+"/repositories", "", "X-Request-Id", "req-list")
	if resp.StatusCode != 200 {
		t.Fatalf("list repositories: %d", resp.StatusCode)
	}
	logs = e.logs.String()
	if n := len(linesWith(logs, "azure devops request", "requestId=req-list")); n == 0 {
		t.Errorf("no service line carries the request id:\n%s", logs)
	}
	access = linesWith(logs, "msg=request ", "requestId=req-list")
	if len(access) != 1 || !strings.Contains(access[0], "route=/api/v1/connections/:id/repositories") ||
		!strings.Contains(access[0], "path=/api/v1/connections/"+id+"/repositories") {
		t.Errorf("access line of the listing: %q", access)
	}
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "req-list") && !strings.Contains(l, "requestId=req-list") {
			t.Errorf("a line names the id outside requestId: %s", l)
		}
	}
}

// withoutRequestID is a problem body without its requestId, which differs per request, for
// tests that compare two answers.
func withoutRequestID(body []byte) []byte {
	return regexp.MustCompile(`,"requestId":"[A-Za-z0-9._:-]*"`).ReplaceAll(body, nil)
}

var uuidText = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`

// A failure Azure DevOps answered is logged with its ActivityId and X-VSS-E2EID (the
// simulator sends fresh UUIDs in both, as Azure DevOps does): a 5xx at error, a 4xx
// (throttling) at warn, both with the request's id. The ids stay out of the answer.
func TestUpstreamFailuresLogAzureDevOpsIDs(t *testing.T) {
	e := (&faultEnv{newLoggedEnv(t, azdosim.Options{})})
	conn := e.connection()
	conn["collection"] = "DefaultCollection"
	code, body, _ := e.call("POST", "/api/v1/connections", conn)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, body)
	}
	id := body["id"].(string)
	cases := []struct {
		fault, reqID, level string
		status              int
	}{
		{"projects=503", "req-503", "ERROR", 503},
		{"repositories=429,retry-after=7", "req-429", "WARN", 429},
	}
	for _, tc := range cases {
		e.fault(tc.fault)
		path := "/api/v1/connections/" + id + "/projects"
		if strings.HasPrefix(tc.fault, "repositories") {
			path = "/api/v1/connections/" + id + "/repositories"
		}
		resp, raw := e.send("GET", path, "", "X-Request-Id", tc.reqID)
		if resp.StatusCode != tc.status || strings.Contains(string(raw), "activityId") || !strings.Contains(string(raw), `"requestId":"`+tc.reqID+`"`) {
			t.Errorf("%s: %d %s", tc.fault, resp.StatusCode, raw)
		}
		lines := linesWith(e.logs.String(), "level="+tc.level, "requestId="+tc.reqID)
		re := regexp.MustCompile(`activityId=` + uuidText + `.*e2eId=` + uuidText)
		found := false
		for _, l := range lines {
			found = found || re.MatchString(l)
		}
		if !found {
			t.Errorf("%s: no %s line with the Azure DevOps ids and the request id:\n%s", tc.fault, tc.level, e.logs.String())
		}
	}
}

// /livez answers while the process does; /readyz lists its checks and answers 503 not_ready
// with the failing one when a check fails; /healthz is unchanged.
func TestLivezAndReadyz(t *testing.T) {
	var failing atomic.Bool
	checks := []web.ReadyCheck{
		{Name: "clone-queue", Check: func(context.Context) error { return nil }},
		{Name: "sealing-keys", Check: func(context.Context) error {
			if failing.Load() {
				return io.ErrUnexpectedEOF
			}
			return nil
		}},
	}
	logs := &syncBuffer{}
	api := httptest.NewServer(web.New(web.Options{Ready: func(context.Context) error { return nil }, Checks: checks,
		Logger: slog.New(slog.NewTextHandler(logs, nil))}))
	t.Cleanup(api.Close)
	get := func(path string) (int, map[string]any, http.Header) {
		t.Helper()
		resp, err := http.Get(api.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m, resp.Header
	}
	if code, m, _ := get("/livez"); code != 200 || m["status"] != "ok" {
		t.Errorf("livez: %d %v", code, m)
	}
	code, m, _ := get("/readyz")
	raw, _ := json.Marshal(m["checks"])
	if code != 200 || m["status"] != "ok" || string(raw) != `[{"name":"store","status":"ok"},{"name":"clone-queue","status":"ok"},{"name":"sealing-keys","status":"ok"}]` {
		t.Errorf("readyz: %d %v", code, m)
	}
	failing.Store(true)
	code, m, h := get("/readyz")
	raw, _ = json.Marshal(m["checks"])
	if code != 503 || h.Get("Content-Type") != "application/problem+json" || m["code"] != "not_ready" || h.Get("Retry-After") == "" ||
		string(raw) != `[{"name":"store","status":"ok"},{"name":"clone-queue","status":"ok"},{"name":"sealing-keys","status":"failed"}]` ||
		!strings.Contains(m["detail"].(string), "sealing-keys (failed)") || m["requestId"] == nil {
		t.Errorf("readyz failing: %d %v %v", code, m, h)
	}
	if len(linesWith(logs.String(), "readiness check failed", "check=sealing-keys", "unexpected EOF")) != 1 {
		t.Errorf("the failed check is not logged with its error:\n%s", logs)
	}
	if code, m, _ := get("/livez"); code != 200 || m["status"] != "ok" {
		t.Errorf("livez while not ready: %d %v", code, m)
	}
	if code, m, _ := get("/healthz"); code != 200 || m["status"] != "ok" {
		t.Errorf("healthz (store only): %d %v", code, m)
	}
}

// With the service's own checks: ready while it runs, not ready (clone-queue) once
// StopClones began a shutdown, while /livez still answers.
func TestReadyzWithServiceChecks(t *testing.T) {
	e := newEnv(t)
	api := httptest.NewServer(web.New(web.Options{Service: e.svc, Checks: []web.ReadyCheck{
		{Name: "clone-queue", Check: e.svc.CheckClones}, {Name: "sealing-keys", Check: e.svc.CheckSealingKeys}}}))
	t.Cleanup(api.Close)
	status := func(path string) (int, string) {
		resp, err := http.Get(api.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	if code, body := status("/readyz"); code != 200 || !strings.Contains(body, `{"name":"sealing-keys","status":"ok"}`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	e.svc.StopClones()
	if code, body := status("/readyz"); code != 503 || !strings.Contains(body, `{"name":"clone-queue","status":"failed"}`) ||
		!strings.Contains(body, `{"name":"sealing-keys","status":"ok"}`) {
		t.Errorf("readyz after StopClones: %d %s", code, body)
	}
	if code, _ := status("/livez"); code != 200 {
		t.Errorf("livez after StopClones: %d", code)
	}
}
