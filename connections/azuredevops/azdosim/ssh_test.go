package azdosim

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// sshPort is the port of s's SSH listener.
func sshPort(s *Server) string {
	_, port, _ := strings.Cut(s.SSHAddr(), ":")
	return port
}

// cloneHead clones url over SSH into a new directory and returns the clone's HEAD commit.
func cloneHead(t *testing.T, key sshTestKey, hosts, url string, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"clone", "--quiet"}, extra...)
	if out, err := sshGit(dir, key, hosts, append(args, url, "work")...); err != nil {
		t.Fatalf("clone %s: %v\n%s", url, err, out)
	}
	return runGit(t, filepath.Join(dir, "work"), "rev-parse", "HEAD")
}

// head is the commit refs/heads/main of the seeded repository name.
func head(t *testing.T, s *Server, name string) string {
	t.Helper()
	return strings.TrimSpace(mustGit(t, findRepo(t, s, name).BarePath, "rev-parse", "refs/heads/main"))
}

func TestSSHCloneServices(t *testing.T) {
	s := startSSHServer(t, Options{Services: true, Seed: true})
	key := newSSHKey(t, "rsa")
	if err := s.AddSSHPublicKey("", key.pub); err != nil {
		t.Fatal(err)
	}
	hosts := knownHosts(t, s)
	base := "ssh://git@127.0.0.1:" + sshPort(s)
	for _, tc := range []struct{ name, url, repo string }{
		{"v3 encoded spaces", base + "/v3/fabrikam/Fabrikam%20Mobile/android%20app", "android app"},
		{"v3 raw spaces", base + "/v3/fabrikam/Fabrikam Mobile/android app", "android app"},
		{"v3 other case", base + "/v3/FABRIKAM/platform/PLATFORM", "Platform"},
		{"v3 team and _full", base + "/v3/fabrikam/Platform/Team%20A/_full/build%20scripts", "build scripts"},
		{"legacy vs-ssh", "ssh://fabrikam@127.0.0.1:" + sshPort(s) + "/Fabrikam%20Mobile/_ssh/ios-app", "ios-app"},
		{"legacy vs-ssh DefaultCollection", "ssh://fabrikam@127.0.0.1:" + sshPort(s) + "/DefaultCollection/Platform/_ssh/Platform", "Platform"},
		{"legacy short form", "ssh://fabrikam@127.0.0.1:" + sshPort(s) + "/DefaultCollection/_ssh/Platform", "Platform"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := cloneHead(t, key, hosts, tc.url), head(t, s, tc.repo); got != want {
				t.Fatalf("HEAD %s, want %s", got, want)
			}
		})
	}
	t.Run("scp form", func(t *testing.T) {
		// The scp-like form cannot carry a port: ssh gets it from -p.
		dir := t.TempDir()
		cmd := gitCmd(dir, "clone", "--quiet", "git@127.0.0.1:v3/fabrikam/Platform/Platform", "work")
		cmd.Env = append(cmd.Env, "GIT_SSH_COMMAND=ssh -F /dev/null -p "+sshPort(s)+" -i '"+key.path+"' -o IdentitiesOnly=yes -o BatchMode=yes"+
			" -o UserKnownHostsFile='"+hosts+"' -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("clone: %v\n%s", err, out)
		}
		if got, want := runGit(t, filepath.Join(dir, "work"), "rev-parse", "HEAD"), head(t, s, "Platform"); got != want {
			t.Fatalf("HEAD %s, want %s", got, want)
		}
	})
}

func TestSSHCloneServer(t *testing.T) {
	s := startSSHServer(t, Options{Seed: true, VirtualDir: "tfs"})
	key := newSSHKey(t, "rsa")
	if err := s.AddSSHPublicKey("Demo User", key.pub); err != nil {
		t.Fatal(err)
	}
	hosts := knownHosts(t, s)
	base := "ssh://127.0.0.1:" + sshPort(s)
	for _, tc := range []struct{ name, url, repo string }{
		{"_git", base + "/tfs/DefaultCollection/Fabrikam%20Mobile/_git/android%20app", "android app"},
		{"_ssh", base + "/tfs/DefaultCollection/Fabrikam%20Mobile/_ssh/android%20app", "android app"},
		{"_ssh raw spaces", base + "/tfs/DefaultCollection/Fabrikam Mobile/_ssh/android app", "android app"},
		{"user git and vdir case", "ssh://git@127.0.0.1:" + sshPort(s) + "/TFS/DefaultCollection/Platform/_git/build%20scripts", "build scripts"},
		{"short form", base + "/tfs/DefaultCollection/_git/Platform", "Platform"},
		{"team and _optimized", base + "/tfs/DefaultCollection/Platform/Team/_ssh/_optimized/Platform", "Platform"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := cloneHead(t, key, hosts, tc.url), head(t, s, tc.repo); got != want {
				t.Fatalf("HEAD %s, want %s", got, want)
			}
		})
	}
	t.Run("shallow", func(t *testing.T) {
		if got, want := cloneHead(t, key, hosts, base+"/tfs/DefaultCollection/Fabrikam%20Mobile/_git/ios-app", "--depth=1"), head(t, s, "ios-app"); got != want {
			t.Fatalf("HEAD %s, want %s", got, want)
		}
	})
}

// lastRefusal is the last refusal s recorded, or stops the test when there is none.
func lastRefusal(t *testing.T, s *Server) SSHRefusal {
	t.Helper()
	rs := s.SSHRefusals()
	if len(rs) == 0 {
		t.Fatal("no SSH refusal recorded")
	}
	return rs[len(rs)-1]
}

func TestSSHRefusals(t *testing.T) {
	s := startSSHServer(t, Options{Services: true, Seed: true})
	added, other, ed := newSSHKey(t, "rsa"), newSSHKey(t, "rsa"), newSSHKey(t, "ed25519")
	if err := s.AddSSHPublicKey("", added.pub); err != nil {
		t.Fatal(err)
	}
	hosts := knownHosts(t, s)
	base := "ssh://git@127.0.0.1:" + sshPort(s) + "/v3/fabrikam"
	clone := func(key sshTestKey, url string) string {
		t.Helper()
		out, err := sshGit(t.TempDir(), key, hosts, "clone", "--quiet", url, "work")
		if err == nil {
			t.Fatalf("clone %s succeeded:\n%s", url, out)
		}
		return out
	}

	t.Run("key not added", func(t *testing.T) {
		out := clone(other, base+"/Platform/Platform")
		if !strings.Contains(out, "Permission denied (publickey)") {
			t.Fatalf("output:\n%s", out)
		}
		if r := lastRefusal(t, s); r.Reason != SSHRefusedNotAdded || r.SSHUser != "git" || r.KeyType != "ssh-rsa" {
			t.Fatalf("refusal %+v", r)
		}
	})
	t.Run("key type refused", func(t *testing.T) {
		if err := s.AddSSHPublicKey("", ed.pub); err == nil || !strings.Contains(err.Error(), "ssh-ed25519") {
			t.Fatalf("AddSSHPublicKey(ed25519) = %v, want a refusal naming the type", err)
		}
		out := clone(ed, base+"/Platform/Platform")
		if !strings.Contains(out, "Permission denied (publickey)") {
			t.Fatalf("output:\n%s", out)
		}
		if r := lastRefusal(t, s); r.Reason != SSHRefusedKeyType || r.KeyType != "ssh-ed25519" {
			t.Fatalf("refusal %+v", r)
		}
	})
	t.Run("key removed", func(t *testing.T) {
		s2 := startSSHServer(t, Options{Services: true, Seed: true})
		if err := s2.AddSSHPublicKey("", added.pub); err != nil {
			t.Fatal(err)
		}
		keys := s2.SSHPublicKeys("Demo User")
		if len(keys) != 1 || keys[0].Name != "test rsa" || keys[0].Type != "ssh-rsa" {
			t.Fatalf("keys %+v", keys)
		}
		if err := s2.RemoveSSHPublicKey("demo user", keys[0].Fingerprint); err != nil {
			t.Fatal(err)
		}
		if keys := s2.SSHPublicKeys(""); len(keys) != 0 {
			t.Fatalf("keys after removal %+v", keys)
		}
		out, err := sshGit(t.TempDir(), added, knownHosts(t, s2), "ls-remote", "ssh://git@127.0.0.1:"+sshPort(s2)+"/v3/fabrikam/Platform/Platform")
		if err == nil || !strings.Contains(out, "Permission denied (publickey)") {
			t.Fatalf("ls-remote with a removed key: %v\n%s", err, out)
		}
	})
	for _, tc := range []struct{ name, path, want string }{
		{"unknown repository", "/Platform/nope", "remote: TF401019: The Git repository with name or identifier nope does not exist"},
		{"unknown project", "/Nope/Platform", "remote: TF200016: The following project does not exist: Nope."},
		{"disabled repository", "/Fabrikam%20Mobile/legacy-tools", "remote: TF401019: The Git repository with name or identifier legacy-tools does not exist"},
		{"not a repository path", "/Platform", "remote: TF401019"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := clone(added, base+tc.path)
			if !strings.Contains(out, tc.want) || !strings.Contains(out, "Could not read from remote repository") {
				t.Fatalf("output:\n%s", out)
			}
		})
	}
	t.Run("unknown organization", func(t *testing.T) {
		out := clone(added, "ssh://git@127.0.0.1:"+sshPort(s)+"/v3/contoso/Platform/Platform")
		if !strings.Contains(out, "remote: TF401019: The Git repository with name or identifier Platform does not exist") {
			t.Fatalf("output:\n%s", out)
		}
	})
}

func TestSSHHostKey(t *testing.T) {
	s := startSSHServer(t, Options{Seed: true})
	key := newSSHKey(t, "rsa")
	if err := s.AddSSHPublicKey("", key.pub); err != nil {
		t.Fatal(err)
	}
	if got := s.SSHHostKeyFingerprint(); got != DefaultSSHHostKeyFingerprint {
		t.Fatalf("fingerprint %s, want the default %s", got, DefaultSSHHostKeyFingerprint)
	}
	pubFile := filepath.Join(t.TempDir(), "host.pub")
	if err := os.WriteFile(pubFile, []byte(s.SSHHostPublicKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh-keygen", "-lf", pubFile).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -lf: %v\n%s", err, out)
	}
	if f := strings.Fields(string(out)); len(f) < 2 || f[0] != "3072" || f[1] != s.SSHHostKeyFingerprint() || !strings.HasSuffix(strings.TrimSpace(string(out)), "(RSA)") {
		t.Fatalf("ssh-keygen -lf: %s, want 3072 %s … (RSA)", out, s.SSHHostKeyFingerprint())
	}
	hosts := knownHosts(t, s)
	url := "ssh://127.0.0.1:" + sshPort(s) + "/DefaultCollection/Platform/_git/Platform"
	if out, err := sshGit(t.TempDir(), key, hosts, "ls-remote", url); err != nil {
		t.Fatalf("ls-remote with the pinned host key: %v\n%s", err, out)
	}

	// A new host key: ssh with the old known_hosts refuses to connect.
	newHost := newSSHKey(t, "ecdsa")
	pem, err := os.ReadFile(newHost.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSSHHostKey(pem); err != nil {
		t.Fatal(err)
	}
	if s.SSHHostKeyFingerprint() == DefaultSSHHostKeyFingerprint {
		t.Fatal("fingerprint unchanged after SetSSHHostKey")
	}
	got, err := sshGit(t.TempDir(), key, hosts, "ls-remote", url)
	if err == nil || !strings.Contains(got, "Host key verification failed") {
		t.Fatalf("ls-remote after the host key changed: %v\n%s", err, got)
	}
	if err := s.SetSSHHostKey("-----BEGIN garbage"); err == nil {
		t.Fatal("SetSSHHostKey accepted garbage")
	}
	if err := s.SetSSHHostKey(nil); err != nil || s.SSHHostKeyFingerprint() != DefaultSSHHostKeyFingerprint {
		t.Fatalf("SetSSHHostKey(nil) = %v, fingerprint %s", err, s.SSHHostKeyFingerprint())
	}
	if out, err := sshGit(t.TempDir(), key, hosts, "ls-remote", url); err != nil {
		t.Fatalf("ls-remote with the default host key back: %v\n%s", err, out)
	}
}

func TestSSHRSASHA1Only(t *testing.T) {
	s := startSSHServer(t, Options{Seed: true, SSHRSASHA1Only: true})
	key := newSSHKey(t, "rsa")
	if err := s.AddSSHPublicKey("", key.pub); err != nil {
		t.Fatal(err)
	}
	hosts := knownHosts(t, s)
	url := "ssh://127.0.0.1:" + sshPort(s) + "/DefaultCollection/Platform/_git/Platform"
	// OpenSSH 8.8 and later turned ssh-rsa (SHA-1) signatures off.
	out, err := sshGit(t.TempDir(), key, hosts, "ls-remote", url)
	if err == nil || !strings.Contains(out, "no matching host key type found. Their offer: ssh-rsa") {
		t.Fatalf("ls-remote with OpenSSH's defaults: %v\n%s", err, out)
	}
	cmd := gitCmd(t.TempDir(), "ls-remote", url)
	cmd.Env = append(cmd.Env, "GIT_SSH_COMMAND=ssh -F /dev/null -i '"+key.path+"' -o IdentitiesOnly=yes -o BatchMode=yes"+
		" -o UserKnownHostsFile='"+hosts+"' -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes"+
		" -o HostKeyAlgorithms=+ssh-rsa -o PubkeyAcceptedAlgorithms=+ssh-rsa")
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "refs/heads/main") {
		t.Fatalf("ls-remote with ssh-rsa allowed: %v\n%s", err, b)
	}
}
