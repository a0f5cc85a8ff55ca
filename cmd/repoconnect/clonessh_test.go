package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// clone over SSH: the key from --ssh-key-file, the host key pinned with
// --ssh-host-key-fingerprint; without a pin the clone stops and shows the server's
// fingerprint; no PAT is read; SSH flags without a key or an SSH URL are usage errors.
func TestCloneCommandSSH(t *testing.T) {
	sim := azdosimtest.Start(t, azdosim.Options{VirtualDir: "tfs", Seed: true, SSHAddr: "127.0.0.1:0"}, azdosim.PAT{Token: cliPAT, UserName: "CLI User"})
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(&priv.PublicKey)
	if err := sim.AddSSHPublicKey("CLI User", strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_DEVOPS_PAT", "")
	url := "ssh://" + sim.SSHAddr() + "/tfs/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
	fp := sim.SSHHostKeyFingerprint()

	dir := filepath.Join(t.TempDir(), "c")
	_, errs, code := run(t, "", "clone", url, "--dir", dir, "-q", "--ssh-key-file", keyFile)
	if code != 1 || !strings.Contains(errs, fp) || strings.Contains(errs, "PRIVATE KEY") {
		t.Fatalf("without a pinned host key: exit %d %s", code, errs)
	}
	out, errs, code := run(t, "", "clone", url, "--dir", dir, "-q", "--ssh-key-file", keyFile, "--ssh-host-key-fingerprint", "SHA256:other", "--ssh-host-key-fingerprint", fp)
	if code != 0 || !strings.Contains(out, `"branch":"main"`) {
		t.Fatalf("clone over SSH: exit %d %s %s", code, out, errs)
	}
	if got := azdosimtest.Git(t, dir, "config", "remote.origin.url"); got != url {
		t.Fatalf("remote.origin.url %q", got)
	}
	for _, c := range [][]string{
		{"--ssh-host-key-fingerprint", fp},                        // no key
		{"--ssh-key-file", keyFile, "--https"},                    // not an SSH URL (replaced below)
		{"--ssh-key-file", filepath.Join(t.TempDir(), "missing")}, // no such file
	} {
		u := url
		if c[len(c)-1] == "--https" {
			c, u = c[:len(c)-1], sim.URL()+"/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
		}
		if _, errs, code := run(t, "", append([]string{"clone", u, "--dir", filepath.Join(t.TempDir(), "x"), "-q"}, c...)...); code != 2 || !strings.Contains(errs, "ssh") {
			t.Errorf("%v: exit %d %s", c, code, errs)
		}
	}
}
