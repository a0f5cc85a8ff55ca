package web_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/resilience"
	"github.com/repoconnect/repoconnect/services"
)

// faultEnv is a service on loopback (bolt store) whose REST requests retry quickly (3
// attempts, millisecond backoff, a Retry-After above 2 s not waited for), and a simulator to inject
// faults into.
type faultEnv struct{ *env }

const faultAttempts = 3

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	return &faultEnv{newEnvWith(t, azdosim.Options{}, func(o *services.Options) {
		o.Retry = resilience.Options{MaxAttempts: faultAttempts, InitialInterval: time.Millisecond,
			MaxInterval: 5 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	})}
}

func (e *faultEnv) fault(spec string) {
	e.t.Helper()
	f, err := azdosim.ParseFault(spec)
	if err != nil {
		e.t.Fatal(err)
	}
	e.sim.ClearFaults()
	e.sim.AddFault(f)
}

// do sends a request with the API key; it returns the status, the decoded body and headers.
func (e *faultEnv) do(method, path, body string) (int, map[string]any, http.Header) {
	e.t.Helper()
	if body == "" {
		return e.call(method, path, nil)
	}
	return e.call(method, path, body)
}

// TestAzureDevOpsFaultsThroughTheAPI: through the HTTP API, a fault met once is absorbed
// (one retry), and a fault on every attempt answers 503 azure_devops_unavailable (5xx,
// reset) or 429 rate_limited with a Retry-After header and a detail naming Azure DevOps, after
// exactly faultAttempts requests; the token check of a connection does the same.
func TestAzureDevOpsFaultsThroughTheAPI(t *testing.T) {
	e := newFaultEnv(t)
	cases := []struct {
		fault, path, route string
		status             int
		code               string
		requests           int64
		retryAfter         int // the Retry-After header (seconds) of a failure
	}{
		{"projects=503:1", "/projects", "projects", 200, "", 2, 0},
		{"projects=reset:1", "/projects", "projects", 200, "", 2, 0},
		{"projects=429:1", "/projects", "projects", 200, "", 2, 0},
		{"projects=503", "/projects", "projects", 503, "azure_devops_unavailable", faultAttempts, 30},
		{"projects=502,retry-after=4", "/projects", "projects", 503, "azure_devops_unavailable", 1, 4}, // above the cap: no wait
		{"projects=reset", "/projects", "projects", 503, "azure_devops_unavailable", faultAttempts, 30},
		{"projects=429", "/projects", "projects", 429, "rate_limited", faultAttempts, 1},
		{"projects=429,retry-after=7", "/projects", "projects", 429, "rate_limited", 1, 7},
		{"repositories=500", "/repositories", "repositories", 503, "azure_devops_unavailable", faultAttempts, 30},
		{"connectionData=504", "/check", "connectionData", 503, "azure_devops_unavailable", faultAttempts, 30},
	}
	for i, tc := range cases {
		// A new connection each time: the catalog cache would answer a second list.
		e.sim.ClearFaults()
		conn := `{"name":"c` + strconv.Itoa(i) + `","type":"server-pat","serverUrl":"` + e.sim.URL() + `","collection":"DefaultCollection","pat":"` + simPAT + `"}`
		code, body, _ := e.do("POST", "/api/v1/connections", conn)
		if code != http.StatusCreated {
			t.Fatalf("create: %d %v", code, body)
		}
		id := body["id"].(string)
		e.fault(tc.fault)
		e.sim.ResetRequests()
		method := "GET"
		if tc.path == "/check" {
			method = "POST"
		}
		code, body, h := e.do(method, "/api/v1/connections/"+id+tc.path, "")
		if tc.status == 200 {
			if code != 200 {
				t.Errorf("%s: %d %v, want 200", tc.fault, code, body)
			}
		} else {
			ra, _ := strconv.Atoi(h.Get("Retry-After"))
			if code != tc.status || body["code"] != tc.code || ra != tc.retryAfter || !strings.Contains(body["detail"].(string), "Azure DevOps") {
				t.Errorf("%s: %d %v Retry-After %q, want %d %s with Retry-After", tc.fault, code, body, h.Get("Retry-After"), tc.status, tc.code)
			}
		}
		n := e.sim.RouteRequests(tc.route)
		// Go's own transport replays an idempotent request once when a kept-alive connection
		// is reset before any answer byte (net/http: isReused && transportReadFromServerError),
		// so a reset on every attempt may cost one request more than faultAttempts.
		if tc.fault == "projects=reset" && n == tc.requests+1 {
			n = tc.requests
		}
		if n != tc.requests {
			t.Errorf("%s: the simulator saw %d %s requests, want %d", tc.fault, n, tc.route, tc.requests)
		}
		t.Logf("%-28s -> HTTP %d after %d requests (Retry-After %q)", tc.fault, code, e.sim.RouteRequests(tc.route), h.Get("Retry-After"))
	}
}

// TestOAuthSignInKeepsTokensWhenAzureDevOpsFails: when Azure DevOps keeps failing during the
// callback's token check, the sign-in's tokens are kept and the status says why
// (azure_devops_unavailable); once Azure DevOps answers, a check authorizes the connection
// without a new sign-in. The service retries with its defaults here (4 attempts).
func TestOAuthSignInKeepsTokensWhenAzureDevOpsFails(t *testing.T) {
	e := newOAuthEnv(t, "", 1)
	c := e.create(map[string]any{"name": "entra", "oauth": map[string]any{"provider": "entra",
		"clientId": entraClientID, "clientSecret": entraSecret}})
	f, err := azdosim.ParseFault("projects=503")
	if err != nil {
		t.Fatal(err)
	}
	e.sim.AddFault(f)
	e.sim.ResetRequests()
	if code, page := e.consent(c["authorizationUrl"].(string), "Grace Hopper", true); code != http.StatusOK {
		t.Fatalf("callback: %d %s", code, page)
	}
	if n := e.sim.RouteRequests("projects"); n != resilience.DefaultMaxAttempts {
		t.Fatalf("the callback's check sent %d projects requests, want %d", n, resilience.DefaultMaxAttempts)
	}
	id := c["id"].(string)
	wantStatus(t, e.get(id), "not_authorized", "azure_devops_unavailable")
	e.sim.ClearFaults()
	code, res := e.call("POST", "/api/v1/connections/"+id+"/check", nil)
	if code != http.StatusOK || res["valid"] != true {
		t.Fatalf("check once Azure DevOps answers: %d %v", code, res)
	}
	wantStatus(t, e.get(id), "authorized", "")
}
