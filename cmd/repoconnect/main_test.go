package main

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

const cliPAT = "clipat0123456789abcdefghij"

// run executes the CLI in process and returns stdout, stderr and the exit status main would use.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	code := 0
	if err := root.Execute(); err != nil {
		var msg string
		code, msg = exitStatus(err)
		errb.WriteString(msg)
	}
	return out.String(), errb.String(), code
}

func startSim(t *testing.T) *azdosim.Server {
	t.Helper()
	return azdosimtest.Start(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: cliPAT, UserName: "CLI User"})
}

func TestCheckTokenExitStatus(t *testing.T) {
	sim := startSim(t)
	cases := []struct {
		name, env, stdin string
		args             []string
		code             int
		says             string
	}{
		{"valid from env", cliPAT, "", []string{"--server-url", sim.URL(), "--collection", "DefaultCollection"}, 0, "The token is valid: authenticated as CLI User"},
		{"valid from stdin", "", cliPAT + "\n", []string{"--server-url", sim.URL(), "--collection", "DefaultCollection"}, 0, "project Fabrikam Mobile"},
		{"owner form", cliPAT, "", []string{"--server-url", strings.TrimSuffix(sim.URL(), "/tfs"), "--collection", "tfs/DefaultCollection"}, 0, "valid"},
		{"wrong PAT", "wrong", "", []string{"--server-url", sim.URL(), "--collection", "DefaultCollection"}, 1, "invalid_token"},
		{"missing collection", cliPAT, "", []string{"--server-url", sim.URL(), "--collection", "Nope"}, 1, "collection_not_found"},
		{"no server URL", cliPAT, "", []string{"--collection", "DefaultCollection"}, 2, "--server-url (or --remote-url) is required"},
		{"remote URL", cliPAT, "", []string{"--remote-url", sim.URL() + "/DefaultCollection/_git/Platform"}, 0, "project Platform"},
		{"remote URL with owner", cliPAT, "", []string{"--remote-url", sim.URL() + "/DefaultCollection/Platform/_git/Platform", "--virtual-dir", "tfs/DefaultCollection"}, 0, "valid"},
		// The tfs rule settles this URL, so the server is not asked about the repository (as
		// for a Services URL): the check is the collection's.
		{"remote URL, settled, no such repository", cliPAT, "", []string{"--remote-url", sim.URL() + "/DefaultCollection/_git/nope"}, 0, "The token is valid"},
		// A path the tfs rule does not settle is asked of the server (with and without its
		// last segment, a team's place), which knows no such repository.
		{"remote URL, no such repository", cliPAT, "", []string{"--remote-url", sim.URL() + "/DefaultCollection/Platform/Team/Extra/_git/nope"}, 2, "no repository"},
		{"remote URL and server URL", cliPAT, "", []string{"--remote-url", sim.URL() + "/DefaultCollection/_git/Platform", "--server-url", sim.URL()}, 2, "not both"},
		{"remote URL rejected", cliPAT, "", []string{"--remote-url", "https://dev.azure.com.evil.example/o/p/_git/r"}, 2, "not Azure DevOps Services"},
		{"bad server URL", cliPAT, "", []string{"--server-url", "ftp://x", "--collection", "c"}, 2, "http"},
		{"no PAT", "", "", []string{"--server-url", sim.URL(), "--collection", "DefaultCollection"}, 2, "AZURE_DEVOPS_PAT"},
		{"unknown flag", cliPAT, "", []string{"--bogus"}, 2, "unknown flag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("AZURE_DEVOPS_PAT", c.env)
			out, errs, code := run(t, c.stdin, append([]string{"check-token"}, c.args...)...)
			if code != c.code || !strings.Contains(out+errs, c.says) {
				t.Errorf("exit %d (want %d); output does not say %q:\n%s%s", code, c.code, c.says, out, errs)
			}
			if strings.Contains(out+errs, cliPAT) {
				t.Error("the PAT was printed")
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		t.Setenv("AZURE_DEVOPS_PAT", cliPAT)
		out, _, code := run(t, "", "check-token", "--server-url", sim.URL(), "--collection", "DefaultCollection", "--json")
		var res struct {
			Valid      bool   `json:"valid"`
			APIVersion string `json:"apiVersion"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &res) != nil || !res.Valid || res.APIVersion != "6.0" {
			t.Fatalf("exit %d, output %s", code, out)
		}
	})
}

func TestCloneCommand(t *testing.T) {
	sim := startSim(t)
	t.Setenv("AZURE_DEVOPS_PAT", cliPAT)
	dir := filepath.Join(t.TempDir(), "c")
	out, errs, code := run(t, "", "clone", sim.URL()+"/DefaultCollection/Fabrikam%20Mobile/_git/android%20app", "--dir", dir, "--branch", "feature/login", "--depth", "1", "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct{ Commit, Branch string }
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Branch != "feature/login" || len(res.Commit) != 40 {
		t.Fatalf("output %q: %v", out, err)
	}
	if head := azdosimtest.Git(t, dir, "rev-parse", "HEAD"); head != res.Commit {
		t.Errorf("HEAD %s, printed %s", head, res.Commit)
	}
	if _, errs, code := run(t, "", "clone", "https://dev.azure.com/o/p/r", "--dir", t.TempDir()); code != 2 || !strings.Contains(errs, "_git") {
		t.Errorf("bad URL: exit %d %s", code, errs)
	}
	if _, _, code := run(t, "", "clone", sim.URL()+"/DefaultCollection/Platform/_git/Platform"); code != 2 {
		t.Errorf("no --dir: exit %d", code)
	}
	for _, u := range []string{"user:" + cliPAT + "@host/C/P/_git/R", "https://u:" + cliPAT + "@host/C/P/_git/R", "https:/u:" + cliPAT + "@host/C/P/_git/R"} {
		out, errs, code := run(t, "", "clone", u, "--dir", t.TempDir())
		if code != 2 || strings.Contains(out+errs, cliPAT) {
			t.Errorf("a URL with the PAT in it: exit %d, output %q", code, out+errs)
		}
	}
	if _, errs, code := run(t, "", "bogus"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: exit %d %s", code, errs)
	}
}

func TestAPIKeyCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("REPOCONNECT_SEALING_KEYS", "")
	t.Setenv("REPOCONNECT_SEALING_KEYS_FILE", "")
	out, _, code := run(t, "", "apikey", "create", "--data-dir", dir, "--tenant", "team-a")
	key := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(key, "rck_") || strings.Contains(key, "\n") {
		t.Fatalf("apikey create: exit %d, %q", code, out)
	}
	out, _, code = run(t, "", "apikey", "list", "--data-dir", dir, "--tenant", "team-a")
	if code != 0 || !strings.Contains(out, "team-a") || strings.Contains(out, key) {
		t.Fatalf("apikey list: exit %d, %q", code, out)
	}
	if _, _, code := run(t, "", "apikey", "create", "--data-dir", dir, "--tenant", "bad tenant"); code == 0 {
		t.Error("a tenant name with a space was accepted")
	}
}

// serve refuses a --max-clones below 1 before it listens or opens anything.
func TestServeRefusesBadCloneFlags(t *testing.T) {
	for _, c := range [][2]string{{"--max-clones", "0"}, {"--max-clones", "-3"}, {"--clone-timeout", "0s"},
		{"--clone-timeout", "-1m"}, {"--max-clone-size", "lots"}, {"--max-clone-size", "-5MiB"}, {"--clone-retention", "-1h"}} {
		root := newRootCommand()
		root.SetArgs([]string{"serve", c[0], c[1], "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()})
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), c[0]) {
			t.Fatalf("%s %s: %v", c[0], c[1], err)
		}
	}
}

// serve refuses a --poll-interval (or REPOCONNECT_POLL_INTERVAL) below one minute, or
// negative, with a usage error that names the flag.
func TestServeRefusesBadPollInterval(t *testing.T) {
	for _, v := range []string{"30s", "-1m", "59s"} {
		root := newRootCommand()
		root.SetArgs([]string{"serve", "--poll-interval", v, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()})
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--poll-interval") {
			t.Fatalf("--poll-interval %s: %v", v, err)
		}
	}
	t.Setenv("REPOCONNECT_POLL_INTERVAL", "10s")
	if _, errs, code := run(t, "", "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()); code != 2 || !strings.Contains(errs, "--poll-interval") {
		t.Fatalf("REPOCONNECT_POLL_INTERVAL=10s: exit %d %s", code, errs)
	}
}

// Without a terminal, clone prints one line per phase on stderr (receiving with the pack's
// object count, resolving, checkout); --max-size stops a clone past the limit; a bad size is
// a usage error.
func TestCloneCommandProgressAndLimits(t *testing.T) {
	sim := startSim(t)
	t.Setenv("AZURE_DEVOPS_PAT", cliPAT)
	url := sim.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
	_, errs, code := run(t, "", "clone", url, "--dir", filepath.Join(t.TempDir(), "c"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"receiving ", "objects,", "checkout "} {
		if !strings.Contains(errs, want) {
			t.Errorf("progress lacks %q:\n%s", want, errs)
		}
	}
	dir := filepath.Join(t.TempDir(), "small")
	if _, errs, code := run(t, "", "clone", url, "--dir", dir, "--max-size", "100B", "-q"); code == 0 || !strings.Contains(errs, "size limit") {
		t.Errorf("--max-size 100B: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "", "clone", url, "--dir", dir, "--max-size", "lots"); code != 2 || !strings.Contains(errs, "--max-size") {
		t.Errorf("--max-size lots: exit %d %s", code, errs)
	}
}
