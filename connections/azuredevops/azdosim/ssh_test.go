package azdosim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sshTestKey is a user key made by ssh-keygen in a test directory.
type sshTestKey struct {
	path string // private key file
	pub  string // authorized_keys line
}

// newSSHKey runs ssh-keygen -t typ in t.TempDir().
func newSSHKey(t *testing.T, typ string) sshTestKey {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	path := filepath.Join(t.TempDir(), "id_"+typ)
	args := []string{"-q", "-t", typ, "-N", "", "-C", "test " + typ, "-f", path}
	if typ == "rsa" {
		args = append(args, "-b", "3072")
	}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return sshTestKey{path: path, pub: strings.TrimSpace(string(pub))}
}

// startSSHServer starts a server with SSH on a free loopback port.
func startSSHServer(t *testing.T, opts Options) *Server {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("ssh not installed")
	}
	opts.SSHAddr = "127.0.0.1:0"
	s := startServer(t, opts)
	if s.SSHAddr() == "" {
		t.Fatal("SSHAddr empty after Start")
	}
	return s
}

// knownHosts writes a known_hosts file holding the server's current host key for its SSH
// address.
func knownHosts(t *testing.T, s *Server) string {
	t.Helper()
	host, port, _ := strings.Cut(s.SSHAddr(), ":")
	path := filepath.Join(t.TempDir(), "known_hosts")
	line := "[" + host + "]:" + port + " " + s.SSHHostPublicKey() + "\n"
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sshGit runs git with GIT_SSH_COMMAND using key and the known_hosts file, in dir.
func sshGit(dir string, key sshTestKey, hosts string, args ...string) (string, error) {
	cmd := gitCmd(dir, args...)
	cmd.Env = append(cmd.Env, "GIT_SSH_COMMAND=ssh -F /dev/null -i '"+key.path+"' -o IdentitiesOnly=yes -o BatchMode=yes"+
		" -o UserKnownHostsFile='"+hosts+"' -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestSSHCloneServices(t *testing.T) {
	s := startSSHServer(t, Options{Services: true, Seed: true})
	key := newSSHKey(t, "rsa")
	if err := s.AddSSHPublicKey("", key.pub); err != nil {
		t.Fatal(err)
	}
	hosts := knownHosts(t, s)
	info := findRepo(t, s, "android app")
	want := mustGit(t, info.BarePath, "rev-parse", "refs/heads/main")
	port := strings.Split(s.SSHAddr(), ":")[1]
	dir := t.TempDir()
	url := "ssh://git@127.0.0.1:" + port + "/v3/fabrikam/Fabrikam%20Mobile/android%20app"
	t0 := time.Now()
	out, err := sshGit(dir, key, hosts, "clone", "--quiet", url, "work")
	t.Logf("clone took %v", time.Since(t0))
	t.Cleanup(func() { t.Logf("cleanup at %v", time.Since(t0)) })
	if err != nil {
		t.Fatalf("clone %s: %v\n%s", url, err, out)
	}
	if got := runGit(t, filepath.Join(dir, "work"), "rev-parse", "HEAD"); got != strings.TrimSpace(want) {
		t.Fatalf("HEAD %s, want %s", got, want)
	}
}
