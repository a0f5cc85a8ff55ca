package azdosimtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

func TestSSHHelpersClone(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh not installed")
	}
	for _, services := range []bool{false, true} {
		opts := azdosim.Options{Seed: true, Services: services, DataDir: t.TempDir()}
		sim := azdosimtest.StartSSH(t, opts)
		key, pub := azdosimtest.SSHKey(t, "rsa")
		if err := sim.AddSSHPublicKey("", pub); err != nil {
			t.Fatal(err)
		}
		url := sim.SSHURL("", "Fabrikam Mobile", "ios-app")
		dir := t.TempDir()
		cmd := exec.Command("git", "clone", "--quiet", url, filepath.Join(dir, "work"))
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_SSH_COMMAND="+azdosimtest.GitSSHCommand(key, azdosimtest.KnownHosts(t, sim)))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("services=%v: clone %s: %v\n%s", services, url, err, out)
		}
		want := azdosimtest.Git(t, azdosimtest.Repository(t, sim, "ios-app").BarePath, "rev-parse", "refs/heads/main")
		if got := azdosimtest.Git(t, filepath.Join(dir, "work"), "rev-parse", "HEAD"); got != want {
			t.Fatalf("services=%v: HEAD %s, want %s", services, got, want)
		}
		if services != strings.Contains(url, "/v3/fabrikam/") {
			t.Fatalf("services=%v: URL %s", services, url)
		}
	}
}
