package azdosim

import (
	"path/filepath"
	"strings"
	"testing"
)

// repoOverREST reads one repository's answer.
func repoOverREST(t *testing.T, url string) repoWire {
	t.Helper()
	a := get(t, url, testPAT, false)
	mustStatus(t, a, 200)
	var r repoWire
	a.json(t, &r)
	return r
}

func TestSSHURLInAnswers(t *testing.T) {
	key := newSSHKey(t, "rsa")
	t.Run("services", func(t *testing.T) {
		s := startSSHServer(t, Options{Services: true, Seed: true})
		if err := s.AddSSHPublicKey("", key.pub); err != nil {
			t.Fatal(err)
		}
		r := repoOverREST(t, s.URL()+"/fabrikam/Fabrikam%20Mobile/_apis/git/repositories/android%20app?api-version=7.1")
		if want := "ssh://git@" + s.SSHAddr() + "/v3/fabrikam/Fabrikam%20Mobile/android%20app"; r.SSHURL != want {
			t.Fatalf("sshUrl %q, want %q", r.SSHURL, want)
		}
		if got, want := cloneHead(t, key, knownHosts(t, s), r.SSHURL), head(t, s, "android app"); got != want {
			t.Fatalf("HEAD %s, want %s", got, want)
		}
	})
	t.Run("server", func(t *testing.T) {
		s := startSSHServer(t, Options{Seed: true, VirtualDir: "a/b"})
		if err := s.AddSSHPublicKey("", key.pub); err != nil {
			t.Fatal(err)
		}
		r := repoOverREST(t, s.URL()+"/DefaultCollection/Platform/_apis/git/repositories/build%20scripts?api-version=7.0")
		if want := "ssh://" + s.SSHAddr() + "/a/b/DefaultCollection/Platform/_git/build%20scripts"; r.SSHURL != want {
			t.Fatalf("sshUrl %q, want %q", r.SSHURL, want)
		}
		dir := t.TempDir()
		if out, err := sshGit(dir, key, knownHosts(t, s), "clone", "--quiet", r.SSHURL, "work"); err != nil {
			t.Fatalf("clone %s: %v\n%s", r.SSHURL, err, out)
		}
		if got := runGit(t, filepath.Join(dir, "work"), "show", "HEAD:build.sh"); !strings.Contains(got, "echo build") {
			t.Fatalf("build.sh %q", got)
		}
	})
	t.Run("ssh off", func(t *testing.T) {
		s := startServer(t, Options{Seed: true})
		if s.SSHAddr() != "" {
			t.Fatalf("SSHAddr %q without Options.SSHAddr", s.SSHAddr())
		}
		r := repoOverREST(t, s.URL()+"/DefaultCollection/Platform/_apis/git/repositories/Platform?api-version=7.0")
		if want := "ssh://127.0.0.1:22/DefaultCollection/Platform/_git/Platform"; r.SSHURL != want {
			t.Fatalf("sshUrl %q, want %q", r.SSHURL, want)
		}
	})
}
