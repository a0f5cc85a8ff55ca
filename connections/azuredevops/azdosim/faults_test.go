package azdosim

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	good := map[string]Fault{
		"projects=429:1,retry-after=2": {Route: "projects", Kind: Fault429, Count: 1, RetryAfter: 2 * time.Second},
		"*=503":                        {Route: "*", Kind: Fault503},
		"git-upload-pack=reset:always": {Route: "git-upload-pack", Kind: FaultReset},
		"refs=slow:3,delay=150ms":      {Route: "refs", Kind: FaultSlow, Count: 3, Delay: 150 * time.Millisecond},
		"/x/_apis/*=throttle-headers":  {Route: "/x/_apis/*", Kind: FaultThrottleHeaders},
	}
	for spec, want := range good {
		got, err := ParseFault(spec)
		if err != nil || got != want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
		if again, err := ParseFault(got.String()); err != nil || again != got {
			t.Errorf("round trip of %q via %q = %+v, %v", spec, got.String(), again, err)
		}
	}
	for _, spec := range []string{"", "projects", "projects=418", "projects=429:0", "projects=429:x",
		"projects=429,retry-after=-1", "projects=slow,delay=soon", "projects=503,color=red"} {
		if _, err := ParseFault(spec); err == nil {
			t.Errorf("ParseFault(%q) accepted", spec)
		}
	}
}

// TestFaultKinds: each kind answers as documented on its route only, and counts run down.
func TestFaultKinds(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	base := s.URL() + "/DefaultCollection/_apis/projects"
	other := s.URL() + "/DefaultCollection/_apis/git/repositories"

	s.AddFault(Fault{Route: "projects", Kind: Fault429, Count: 1, RetryAfter: 3 * time.Second})
	a := get(t, base, testPAT, false)
	wantEnvelope(t, a, http.StatusTooManyRequests, "RequestBlockedException", "TF400733")
	if a.header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After = %q, want 3", a.header.Get("Retry-After"))
	}
	mustStatus(t, get(t, base, testPAT, false), http.StatusOK) // count ran out

	s.AddFault(Fault{Route: "projects", Kind: Fault502})
	mustStatus(t, get(t, base, testPAT, false), http.StatusBadGateway)
	mustStatus(t, get(t, base, testPAT, false), http.StatusBadGateway) // always
	mustStatus(t, get(t, other, testPAT, false), http.StatusOK)        // another route
	s.ClearFaults()

	s.AddFault(Fault{Route: "projects", Kind: FaultThrottleHeaders, Count: 1})
	a = get(t, base, testPAT, false)
	mustStatus(t, a, http.StatusOK)
	for _, h := range []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Delay"} {
		if a.header.Get(h) == "" {
			t.Errorf("throttle-headers: no %s", h)
		}
	}

	s.AddFault(Fault{Route: "projects", Kind: FaultReset, Count: 1})
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, base, nil)
	req.SetBasicAuth("", testPAT)
	resp, err := tr.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("reset: got HTTP %d, want a broken connection", resp.StatusCode)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "closed") {
		t.Errorf("reset: err = %v, want a reset or EOF", err)
	}

	s.AddFault(Fault{Route: "*", Kind: FaultSlow, Count: 1, Delay: 200 * time.Millisecond})
	before := time.Now()
	mustStatus(t, get(t, other, testPAT, false), http.StatusOK)
	if time.Since(before) < 200*time.Millisecond {
		t.Error("slow: answered before its delay")
	}

	hits := s.Hits("projects")
	if n := s.RouteRequests("projects"); n != int64(len(hits)) || n != 6 {
		t.Errorf("RouteRequests(projects) = %d, hits %d, want 6", n, len(hits))
	}
	if hits[0].Fault != Fault429 || hits[1].Fault != "" {
		t.Errorf("hits = %+v", hits[:2])
	}
}

// TestFaultControlEndpoint: off by default (404), on with FaultControl: POST adds specs,
// GET lists them with counts, DELETE clears.
func TestFaultControlEndpoint(t *testing.T) {
	off := startServer(t, Options{})
	resp, err := http.Post(off.URL()+"/_azdosim/faults", "text/plain", strings.NewReader("*=503"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || len(off.Faults()) != 0 {
		t.Fatalf("control endpoint without FaultControl: %d, faults %v", resp.StatusCode, off.Faults())
	}

	s := startServer(t, Options{Seed: true, FaultControl: true})
	ctl := s.URL() + "/_azdosim/faults"
	resp, err = http.Post(ctl, "text/plain", strings.NewReader("projects=503:2\n# comment\nrefs=reset"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || len(s.Faults()) != 2 {
		t.Fatalf("POST: %d, faults %v", resp.StatusCode, s.Faults())
	}
	resp, err = http.Post(ctl, "text/plain", strings.NewReader("projects=teapot"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad spec: %d", resp.StatusCode)
	}
	mustStatus(t, get(t, s.URL()+"/DefaultCollection/_apis/projects", testPAT, false), http.StatusServiceUnavailable)
	var view controlView
	a := get(t, ctl, "", false)
	a.json(t, &view)
	if len(view.Faults) != 2 || view.Faults[0] != "projects=503:1" || view.Requests["projects"] != 1 {
		t.Fatalf("GET = %+v", view)
	}
	req, _ := http.NewRequest(http.MethodDelete, ctl, nil)
	mustStatus(t, send(t, req), http.StatusNoContent)
	if len(s.Faults()) != 0 {
		t.Fatalf("faults after DELETE: %v", s.Faults())
	}
	mustStatus(t, get(t, s.URL()+"/DefaultCollection/_apis/projects", testPAT, false), http.StatusOK)
}
