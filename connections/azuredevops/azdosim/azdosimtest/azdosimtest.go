// Package azdosimtest starts the Azure DevOps simulator for tests of other packages, the way
// httptest starts a server: on a free loopback port, stopped and cleaned up by tb.Cleanup.
package azdosimtest

import (
	"os"
	"os/exec"
	"strings"
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

// StartServices is Start with opts.Services set: a simulated Azure DevOps Services whose
// Options.Collections are organizations (default ["fabrikam"]), with the OAuth endpoints at
// sim.AzureDevOpsOAuthURL() and sim.EntraAuthorityURL(). Like Start it seeds only when
// opts.Seed is set, registers pats, listens on 127.0.0.1 with a free port and closes at
// cleanup; a failure stops the test with tb.Fatal.
func StartServices(tb testing.TB, opts azdosim.Options, pats ...azdosim.PAT) *azdosim.Server {
	tb.Helper()
	opts.Services = true
	return Start(tb, opts, pats...)
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

// Git runs the git CLI in dir (the current directory when empty) with the user's and the
// system's configuration ignored, a fixed identity and no prompts, and returns its output with
// surrounding space trimmed; a failure stops the test with git's output.
func Git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}
