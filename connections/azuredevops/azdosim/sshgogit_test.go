package azdosim

import (
	"os"
	"strings"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/crypto/ssh"
)

// TestGoGitCloneOverSSH checks go-git's SSH transport against the simulator's SSH server, as
// TestGoGitClone does over HTTP: without multi_ack the clone fails with TF401041, with the
// documented workaround it clones; the host key is checked with a fixed key and a changed
// host key fails the clone. It changes a process-wide go-git variable, so it must not run in
// parallel.
func TestGoGitCloneOverSSH(t *testing.T) {
	s := startSSHServer(t, Options{Seed: true, Services: true})
	key := newSSHKey(t, "rsa")
	if err := s.AddSSHPublicKey("", key.pub); err != nil {
		t.Fatal(err)
	}
	auth, err := gitssh.NewPublicKeysFromFile("git", key.path, "")
	if err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.SSHHostPublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	auth.HostKeyCallback = ssh.FixedHostKey(hostKey)
	opts := &gogit.CloneOptions{URL: s.SSHURL("", "Fabrikam Mobile", "android app"), Auth: auth}
	if _, err := gogit.Clone(memory.NewStorage(), nil, opts); err == nil || !strings.Contains(err.Error(), "TF401041") {
		t.Fatalf("default go-git clone over SSH (no multi_ack): %v, want TF401041", err)
	}

	saved := transport.UnsupportedCapabilities
	transport.UnsupportedCapabilities = []capability.Capability{capability.ThinPack}
	defer func() { transport.UnsupportedCapabilities = saved }()

	repo, err := gogit.Clone(memory.NewStorage(), nil, opts)
	if err != nil {
		t.Fatalf("clone over SSH with the workaround: %v", err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	if want := mustGit(t, findRepo(t, s, "android app").BarePath, "rev-parse", "refs/heads/main"); head.Hash().String()+"\n" != want {
		t.Fatalf("HEAD %s, want %s", head.Hash(), want)
	}

	other := newSSHKey(t, "ecdsa")
	pem := mustReadFile(t, other.path)
	if err := s.SetSSHHostKey(pem); err != nil {
		t.Fatal(err)
	}
	if _, err := gogit.Clone(memory.NewStorage(), nil, opts); err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Fatalf("clone after the host key changed: %v, want a host key mismatch", err)
	}
}

func mustReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoGitSSHErrors records what go-git's SSH transport reports for the simulator's SSH
// refusals, for the SSH check's diagnosis.
func TestGoGitSSHErrors(t *testing.T) {
	s := startSSHServer(t, Options{Seed: true, Services: true})
	key, other := newSSHKey(t, "rsa"), newSSHKey(t, "rsa")
	if err := s.AddSSHPublicKey("", key.pub); err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.SSHHostPublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	authFor := func(k sshTestKey) *gitssh.PublicKeys {
		a, err := gitssh.NewPublicKeysFromFile("git", k.path, "")
		if err != nil {
			t.Fatal(err)
		}
		a.HostKeyCallback = ssh.FixedHostKey(hostKey)
		return a
	}
	for _, tc := range []struct {
		name string
		auth *gitssh.PublicKeys
		url  string
		want string
	}{
		{"unknown repository", authFor(key), s.SSHURL("", "Platform", "nope"), "TF401019"},
		{"key not added", authFor(other), s.SSHURL("", "Platform", "Platform"), "unable to authenticate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gogit.Clone(memory.NewStorage(), nil, &gogit.CloneOptions{URL: tc.url, Auth: tc.auth})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("clone: %v, want an error with %q", err, tc.want)
			}
			t.Logf("go-git says: %v", err)
		})
	}
}
