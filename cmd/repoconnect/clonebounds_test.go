package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// serve refuses a bad value of every clone limit flag, naming the flag.
func TestServeRefusesBadCloneLimits(t *testing.T) {
	for _, c := range [][2]string{{"--max-clone-files", "-1"}, {"--max-object-size", "lots"}, {"--min-free-space", "-1GiB"},
		{"--clone-memory", "huge"}, {"--clone-memory", "1MiB"}} {
		root := newRootCommand()
		root.SetArgs([]string{"serve", c[0], c[1], "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()})
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		if err := root.Execute(); err == nil || !strings.Contains(err.Error(), c[0]) {
			t.Fatalf("%s %s: %v", c[0], c[1], err)
		}
	}
}

// clone's limit flags reach the engine: each refuses ios-app with the setting named.
func TestCloneCommandLimitFlags(t *testing.T) {
	sim := startSim(t)
	t.Setenv("AZURE_DEVOPS_PAT", cliPAT)
	url := sim.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
	for _, c := range [][]string{{"--max-files", "1"}, {"--max-object-size", "16B"}, {"--min-free-space", "100000GiB"}, {"--memory", "1MiB"}} {
		dir := filepath.Join(t.TempDir(), "c")
		flag := c[0]
		if flag == "--memory" {
			flag = "--clone-memory" // the message names serve's setting
		}
		if _, errs, code := run(t, "", append([]string{"clone", url, "--dir", dir, "-q"}, c...)...); code != 1 || !strings.Contains(errs, flag) {
			t.Errorf("%v: exit %d %s", c, code, errs)
		}
	}
}
