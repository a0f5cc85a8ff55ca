package gitops_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/connections/resilience"
	"github.com/repoconnect/repoconnect/gitops"
)

// A clone through a door with the retrying transport (as the service and the CLI build it)
// absorbs Azure DevOps' faults during negotiation: a 503 or 429 on info/refs and a reset of the
// upload-pack request are retried, and the simulator sees exactly one request more; a fault on
// every attempt ends in the classified error, with Retry-After, after MaxAttempts requests.
func TestCloneRetriesFaults(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	door := egress.New(egress.Options{Policy: egress.Policy{Allow: egress.Loopback()},
		Wrap: func(rt http.RoundTripper) http.RoundTripper {
			return resilience.NewTransport(rt, resilience.Options{MaxAttempts: 3, InitialInterval: 10 * time.Millisecond})
		}})
	clone := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := gitops.Clone(ctx, gitops.CloneOptions{Door: door, URL: cloneURL(sim, r), Dir: filepath.Join(t.TempDir(), "c"), PAT: pat, Depth: 1})
		return err
	}
	for _, c := range []struct{ spec, route string }{
		{"info/refs=503:1", "info/refs"},
		{"info/refs=429:1,retry-after=1", "info/refs"},
		{"git-upload-pack=reset:1", "git-upload-pack"},
		{"git-upload-pack=502:1", "git-upload-pack"},
	} {
		t.Run(c.spec, func(t *testing.T) {
			f, err := azdosim.ParseFault(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			sim.ClearFaults()
			sim.ResetRequests()
			sim.AddFault(f)
			if err := clone(); err != nil {
				t.Fatalf("the clone did not absorb one fault: %v", err)
			}
			if got := sim.RouteRequests(c.route); got != 2 {
				t.Fatalf("%s saw %d requests, want 2 (one retry)", c.route, got)
			}
		})
	}
	f, _ := azdosim.ParseFault("info/refs=503,retry-after=1")
	sim.ClearFaults()
	sim.ResetRequests()
	sim.AddFault(f)
	t.Cleanup(sim.ClearFaults)
	err := clone()
	var ce *connections.Error
	if !errors.As(err, &ce) || !errors.Is(err, connections.ErrUpstreamUnavailable) || ce.RetryAfter != time.Second {
		t.Fatalf("a 503 on every attempt gave %v, want azure_devops_unavailable with Retry-After 1s", err)
	}
	if got := sim.RouteRequests("info/refs"); got != 3 {
		t.Fatalf("info/refs saw %d requests, want 3 (MaxAttempts)", got)
	}
}
