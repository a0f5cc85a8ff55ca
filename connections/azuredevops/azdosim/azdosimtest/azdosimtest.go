// Package azdosimtest starts the Azure DevOps simulator for tests of other packages, the way
// httptest starts a server: on a free loopback port, stopped and cleaned up by tb.Cleanup.
package azdosimtest

import (
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// Start creates a simulator with opts, registers pats, starts it on 127.0.0.1 with a free port
// and returns it; a failure stops the test with tb.Fatal. Its base URL is s.URL().
func Start(tb testing.TB, opts azdosim.Options, pats ...azdosim.PAT) *azdosim.Server {
	tb.Helper()
	sim, err := azdosim.New(opts)
	if err != nil {
		tb.Fatalf("azdosim.New: %v", err)
	}
	tb.Cleanup(func() { _ = sim.Close() })
	for _, p := range pats {
		sim.AddPAT(p)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("azdosim.Start: %v", err)
	}
	return sim
}

// Repository returns the repository named name in the simulator's default collection, or stops
// the test when there is none.
func Repository(tb testing.TB, sim *azdosim.Server, name string) azdosim.RepoInfo {
	tb.Helper()
	for _, r := range sim.Repositories("") {
		if r.Name == name {
			return r
		}
	}
	tb.Fatalf("no repository %q in the simulator", name)
	return azdosim.RepoInfo{}
}
