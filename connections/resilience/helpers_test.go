package resilience_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/connections/resilience"
)

const testPAT = "resilience-test-pat"

// startSim starts an empty simulator (its default collection has no projects) with faults
// and the test PAT.
func startSim(t *testing.T, faults ...string) *azdosim.Server {
	t.Helper()
	return startSimWith(t, false, faults...)
}

// startSimWith is startSim, with the demo data when seed is set.
func startSimWith(t *testing.T, seed bool, faults ...string) *azdosim.Server {
	t.Helper()
	var fs []azdosim.Fault
	for _, spec := range faults {
		f, err := azdosim.ParseFault(spec)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	return azdosimtest.Start(t, azdosim.Options{Seed: seed, Faults: fs}, azdosim.PAT{Token: testPAT})
}

// fastOptions retry quickly: backoff of a few milliseconds.
func fastOptions() resilience.Options {
	return resilience.Options{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}
}

// newClient is a REST client of sim's default collection over a fresh base transport wrapped
// by resilience.NewTransport(opts).
func newClient(t *testing.T, sim *azdosim.Server, opts resilience.Options) *azuredevops.Client {
	t.Helper()
	ep, err := azuredevops.NewEndpoint(sim.URL(), "DefaultCollection")
	if err != nil {
		t.Fatal(err)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: testPAT},
		azuredevops.Options{Transport: resilience.NewTransport(base, opts), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recordingPacer is a Memory pacer that records every NotBefore answer per key.
type recordingPacer struct {
	*resilience.Memory
	mu   sync.Mutex
	seen map[string][]time.Time
}

func newRecordingPacer() *recordingPacer {
	return &recordingPacer{Memory: resilience.NewMemory(nil), seen: map[string][]time.Time{}}
}

func (p *recordingPacer) NotBefore(ctx context.Context, key string) (time.Time, error) {
	t, err := p.Memory.NotBefore(ctx, key)
	p.mu.Lock()
	p.seen[key] = append(p.seen[key], t)
	p.mu.Unlock()
	return t, err
}

func (p *recordingPacer) answers(key string) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.seen[key]...)
}

// setFault replaces sim's faults by spec and clears its request counts.
func setFault(t *testing.T, sim *azdosim.Server, spec string) {
	t.Helper()
	f, err := azdosim.ParseFault(spec)
	if err != nil {
		t.Fatal(err)
	}
	sim.ClearFaults()
	sim.ResetRequests()
	sim.AddFault(f)
}
