package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"golang.org/x/crypto/ssh"
)

// A demo with --ssh-addr: the key from --ssh-authorized-keys clones the sshUrl of the REST
// answer, checking the simulator's default host key; the summary names the address, the host
// key fingerprint and the keys page.
func TestCommandSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh not installed")
	}
	key, pub := azdosimtest.SSHKey(t, "rsa")
	keysFile := filepath.Join(t.TempDir(), "authorized_keys")
	if err := os.WriteFile(keysFile, []byte("# demo keys\n\n"+pub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	first, stop := startCommand(t, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--pat", secretPAT,
		"--ssh-addr", "127.0.0.1:0", "--ssh-authorized-keys", keysFile)

	req, _ := http.NewRequest(http.MethodGet, first+"/DefaultCollection/Platform/_apis/git/repositories/Platform?api-version=7.0", nil)
	req.SetBasicAuth("", secretPAT)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var repo struct{ SSHURL string }
	if err := json.Unmarshal(body, &repo); err != nil || !strings.HasPrefix(repo.SSHURL, "ssh://127.0.0.1:") {
		t.Fatalf("repository answer %s (%v)", body, err)
	}
	u, err := url.Parse(repo.SSHURL)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(azdosim.DefaultSSHHostKey))
	if err != nil {
		t.Fatal(err)
	}
	hosts := filepath.Join(t.TempDir(), "known_hosts")
	line := "[127.0.0.1]:" + u.Port() + " " + string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	if err := os.WriteFile(hosts, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("git", "clone", "--quiet", repo.SSHURL, filepath.Join(dir, "work"))
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_SSH_COMMAND="+azdosimtest.GitSSHCommand(key, hosts))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clone %s: %v\n%s", repo.SSHURL, err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "work", "README.md")); err != nil || string(b) != "# Platform\n" {
		t.Fatalf("README.md %q, %v", b, err)
	}

	rest, _ := stop()
	for _, want := range []string{"ssh: 127.0.0.1:" + u.Port() + " host key " + azdosim.DefaultSSHHostKeyFingerprint + ", 1 public keys for Demo User",
		"ssh public keys page: " + first + "/DefaultCollection/_usersSettings/keys"} {
		if !strings.Contains(rest, want) {
			t.Errorf("summary lacks %q:\n%s", want, rest)
		}
	}
}

func TestCommandSSHFlagErrors(t *testing.T) {
	edFile := filepath.Join(t.TempDir(), "keys")
	_, edPub := azdosimtest.SSHKey(t, "ed25519")
	if err := os.WriteFile(edFile, []byte(edPub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--ssh-key-type", "rsa"}, 2, "need --ssh-addr"},
		{[]string{"--ssh-rsa-sha1-only"}, 2, "need --ssh-addr"},
		{[]string{"--ssh-addr", "127.0.0.1:0", "--ssh-key-type", "dsa"}, 2, `unknown SSH key type "dsa"`},
		{[]string{"--ssh-addr", "127.0.0.1:0", "--ssh-host-key", filepath.Join(t.TempDir(), "missing")}, 2, "--ssh-host-key"},
		{[]string{"--ssh-addr", "127.0.0.1:0", "--ssh-authorized-keys", edFile}, 2, "line 1: keys of type ssh-ed25519 are not supported"},
		{[]string{"--ssh-addr", "127.0.0.1:99999"}, 1, "SSH listen"},
	} {
		var out, errs strings.Builder
		cmd := newRootCommand(t.Context(), &out, &errs)
		cmd.SetArgs(append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, c.args...))
		err := cmd.Execute()
		if err == nil {
			t.Errorf("azdosim %v: no error", c.args)
			continue
		}
		if code, msg := exitStatus(err); code != c.code || !strings.Contains(msg, c.says) {
			t.Errorf("azdosim %v: exit %d %q, want %d and %q", c.args, code, msg, c.code, c.says)
		}
	}
}
