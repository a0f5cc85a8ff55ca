package resilience_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/resilience"
)

// TestFaultOnceIsRetried: every fault kind met once is absorbed: the operation succeeds and
// the simulator saw exactly two requests of the route.
func TestFaultOnceIsRetried(t *testing.T) {
	sim := startSim(t)
	for _, kind := range []string{"429", "500", "502", "503", "504", "reset"} {
		t.Run(kind, func(t *testing.T) {
			setFault(t, sim, "projects="+kind+":1")
			opts := fastOptions() // the 429 carries Retry-After: 1, waited for
			if _, err := newClient(t, sim, opts).ListProjects(context.Background()); err != nil {
				t.Fatalf("ListProjects: %v", err)
			}
			if n := sim.RouteRequests("projects"); n != 2 {
				t.Fatalf("simulator saw %d projects requests, want 2 (one fault, one retry)", n)
			}
			t.Logf("fault %s once: %d requests", kind, sim.RouteRequests("projects"))
		})
	}
}

// TestFaultAlwaysRunsOut: a fault on every request costs MaxAttempts requests, then an
// *connections.Error naming Azure DevOps with RetryAfter set: rate_limited for 429,
// azure_devops_unavailable for 5xx and resets.
func TestFaultAlwaysRunsOut(t *testing.T) {
	cases := []struct {
		kind   string
		sent   error
		reason connections.Reason
	}{
		{"429", connections.ErrRateLimited, connections.ReasonRateLimited},
		{"500", connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable},
		{"502", connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable},
		{"503", connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable},
		{"504", connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable},
		{"reset", connections.ErrUpstreamUnavailable, connections.ReasonUpstreamUnavailable},
	}
	sim := startSim(t)
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			setFault(t, sim, "projects="+tc.kind)
			opts := fastOptions()
			opts.MaxAttempts = 3 // the 429s carry Retry-After: 1, waited for twice
			_, err := newClient(t, sim, opts).ListProjects(context.Background())
			ce := connections.AsError(err)
			if ce == nil || !errors.Is(err, tc.sent) || ce.Reason != tc.reason {
				t.Fatalf("err = %v (%#v), want kind %v reason %s", err, ce, tc.sent, tc.reason)
			}
			wantAfter := resilience.DefaultRetryAfter // Azure DevOps named none
			if tc.kind == "429" {
				wantAfter = time.Second // the simulator's Retry-After: 1, passed on uncapped
			}
			if ce.RetryAfter != wantAfter {
				t.Fatalf("RetryAfter = %v, want %v", ce.RetryAfter, wantAfter)
			}
			if !bytes.Contains([]byte(ce.Message), []byte("Azure DevOps")) || !bytes.Contains([]byte(ce.Message), []byte("3 attempts")) {
				t.Fatalf("message %q does not name Azure DevOps and the attempts", ce.Message)
			}
			if n := sim.RouteRequests("projects"); n != 3 {
				t.Fatalf("simulator saw %d requests, want MaxAttempts = 3", n)
			}
			t.Logf("fault %s always: %d requests, then %s (Retry-After %v)", tc.kind, sim.RouteRequests("projects"), ce.Reason, ce.RetryAfter)
		})
	}
}

// TestRetryAfterHonoured: after a 429 with Retry-After: 1 the retry reaches the simulator no
// sooner than one second after the throttled request (simulator timestamps).
func TestRetryAfterHonoured(t *testing.T) {
	sim := startSim(t, "projects=429:1,retry-after=1")
	if _, err := newClient(t, sim, fastOptions()).ListProjects(context.Background()); err != nil {
		t.Fatal(err)
	}
	hits := sim.Hits("projects")
	if len(hits) != 2 || hits[0].Fault != "429" || hits[1].Fault != "" {
		t.Fatalf("hits = %+v, want a 429 then a clean request", hits)
	}
	if gap := hits[1].At.Sub(hits[0].At); gap < time.Second {
		t.Fatalf("the retry came %v after the 429, before its Retry-After: 1", gap)
	}
}

// TestRetryAfterBeyondDeadline: when Retry-After would outlast the request's deadline, the
// transport stops at once instead of sleeping past it.
func TestRetryAfterBeyondDeadline(t *testing.T) {
	sim := startSim(t, "projects=429,retry-after=20")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := newClient(t, sim, resilience.Options{}).ListProjects(ctx)
	ce := connections.AsError(err)
	if ce == nil || ce.Reason != connections.ReasonRateLimited || ce.RetryAfter != 20*time.Second {
		t.Fatalf("err = %v (%#v), want rate_limited with RetryAfter 20s", err, ce)
	}
	if ctx.Err() != nil {
		t.Fatal("the transport waited until the deadline")
	}
	if n := sim.RouteRequests("projects"); n != 1 {
		t.Fatalf("simulator saw %d requests, want 1", n)
	}
}

// TestRetryAfterBeyondCap: a Retry-After above MaxRetryAfter is not waited for: the error
// passes it on after one request.
func TestRetryAfterBeyondCap(t *testing.T) {
	sim := startSim(t, "projects=503,retry-after=20")
	_, err := newClient(t, sim, resilience.Options{MaxRetryAfter: 5 * time.Second}).ListProjects(context.Background())
	ce := connections.AsError(err)
	if ce == nil || ce.Reason != connections.ReasonUpstreamUnavailable || ce.RetryAfter != 20*time.Second {
		t.Fatalf("err = %v (%#v), want azure_devops_unavailable with RetryAfter 20s", err, ce)
	}
	if n := sim.RouteRequests("projects"); n != 1 {
		t.Fatalf("simulator saw %d requests, want 1", n)
	}
}

// TestSlowAnswerNotRetriedPastDeadline: an answer slower than the request's deadline is a
// timeout, and the request is not sent again.
func TestSlowAnswerNotRetriedPastDeadline(t *testing.T) {
	sim := startSim(t, "projects=slow,delay=10s")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := newClient(t, sim, fastOptions()).ListProjects(ctx)
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, connections.ErrUnreachable) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if n := sim.RouteRequests("projects"); n != 1 {
		t.Fatalf("simulator saw %d requests, want 1 (no retry past the deadline)", n)
	}
}

// rawRequest sends method path with the test PAT through a resilience transport.
func rawRequest(t *testing.T, rt http.RoundTripper, method, url string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("git:"+testPAT)))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// TestPostNeverRetried: a POST other than git-upload-pack is sent once, whatever comes back.
func TestPostNeverRetried(t *testing.T) {
	sim := startSim(t, "projects=503")
	rt := resilience.NewTransport(nil, fastOptions())
	resp := rawRequest(t, rt, http.MethodPost, sim.URL()+"/DefaultCollection/_apis/projects", []byte(`{"name":"x"}`))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want the 503 handed back", resp.StatusCode)
	}
	if n := sim.RouteRequests("projects"); n != 1 {
		t.Fatalf("simulator saw %d POSTs, want 1", n)
	}
}

// TestUploadPackRetriedBeforeAnswer: git's POST …/git-upload-pack (a read) is retried after a
// reset before any answer, with its body replayed: the second attempt gets git's 200.
func TestUploadPackRetriedBeforeAnswer(t *testing.T) {
	sim := startSimWith(t, true, "git-upload-pack=reset:1")
	repo := sim.Repositories("DefaultCollection")[0]
	rt := resilience.NewTransport(nil, fastOptions())
	url := sim.URL() + "/DefaultCollection/" + repo.ProjectName + "/_git/" + repo.Name + "/git-upload-pack"
	resp := rawRequest(t, rt, http.MethodPost, url, []byte("0000"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200 from git-upload-pack", resp.StatusCode)
	}
	if n := sim.RouteRequests("git-upload-pack"); n != 2 {
		t.Fatalf("simulator saw %d upload-pack requests, want 2", n)
	}
}
