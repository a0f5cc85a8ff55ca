package gitops_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/gitops"
)

// gitIn runs git in dir with stdin and returns its trimmed output.
func gitIn(t *testing.T, dir string, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// treeBytes is a tree object's content with the entries (mode, name, id) in the order given,
// which git's own commands would refuse to write: what a hostile server can still send.
func treeBytes(entries ...[3]string) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		id, _ := hex.DecodeString(e[2])
		b.WriteString(e[0] + " " + e[1] + "\x00")
		b.Write(id)
	}
	return b.Bytes()
}

// hostileRepo makes a repository of the simulator whose main is one commit of the tree
// build returns (given a function that writes a blob and returns its id).
func hostileRepo(t *testing.T, sim *azdosim.Server, name string, build func(blob func(data string) string) []byte) azdosim.RepoInfo {
	t.Helper()
	r, err := sim.CreateRepository("DefaultCollection", "Engine", name)
	if err != nil {
		t.Fatal(err)
	}
	blob := func(data string) string { return gitIn(t, r.BarePath, []byte(data), "hash-object", "-w", "--stdin") }
	tree := gitIn(t, r.BarePath, build(blob), "hash-object", "-t", "tree", "--literally", "-w", "--stdin")
	commit := gitIn(t, r.BarePath, nil, "commit-tree", tree, "-m", "hostile")
	gitIn(t, r.BarePath, nil, "update-ref", "refs/heads/main", commit)
	gitIn(t, r.BarePath, nil, "symbolic-ref", "HEAD", "refs/heads/main")
	return r
}

// Trees a hostile server could send are refused and nothing is written anywhere: a name
// twice (a symbolic link, then a file written through it outside the clone), names git
// refuses for .git, a file entry that names a tree.
func TestCloneRefusesHostileTrees(t *testing.T) {
	sim := startSim(t)
	outside := filepath.Join(t.TempDir(), "written-outside")
	cases := []struct {
		name, want string
		build      func(blob func(string) string) []byte
	}{
		{"symlink then file of one name", "appears twice", func(blob func(string) string) []byte {
			b := blob(outside)
			return treeBytes([3]string{"120000", "x", b}, [3]string{"100644", "x", b})
		}},
		{"upper-case .GIT", "not a safe path", func(blob func(string) string) []byte {
			return treeBytes([3]string{"100644", ".GIT", blob("[core]\n")})
		}},
		{"NTFS short name", "not a safe path", func(blob func(string) string) []byte {
			return treeBytes([3]string{"100644", "GIT~1", blob("x")})
		}},
		{"trailing dot", "not a safe path", func(blob func(string) string) []byte {
			return treeBytes([3]string{"100644", ".git.", blob("x")})
		}},
		{"file naming a tree", "not a blob", func(blob func(string) string) []byte {
			return treeBytes([3]string{"100644", "f", "4b825dc642cb6eb9a060e54bf8d69288fbee4904"}) // the empty tree
		}},
	}
	for k, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := hostileRepo(t, sim, "hostile-"+string(rune('a'+k)), c.build)
			dir := filepath.Join(t.TempDir(), "c")
			_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the hostile tree: %v, want an error saying %q", err, c.want)
			}
			if _, err := os.Lstat(outside); err == nil {
				t.Fatalf("a file was written outside the clone: %s", outside)
			}
			leftNothing(t, dir)
		})
	}
}

// A cancel that arrives while the pack is resolved or checked out fails the clone with
// ctx's error and leaves nothing behind; a malformed commit is refused before any progress.
func TestCloneCancelledLate(t *testing.T) {
	sim := startSim(t)
	r := engineRepos(t, sim)[1]
	for _, phase := range []string{gitops.PhaseResolving, gitops.PhaseCheckout} {
		t.Run(phase, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dir := filepath.Join(t.TempDir(), "c")
			_, err := gitops.Clone(ctx, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat, OnProgress: func(p gitops.Progress) {
				if p.Phase == phase {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled at %s: %v", phase, err)
			}
			leftNothing(t, dir)
		})
	}
	called := false
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: filepath.Join(t.TempDir(), "c"),
		PAT: pat, Commit: "main", OnProgress: func(gitops.Progress) { called = true }})
	if ce := connections.AsError(err); ce == nil || ce.Field != "commit" || called {
		t.Fatalf("a malformed commit: %v (progress reported: %v)", err, called)
	}
	tree := gitOut(t, r.BarePath, "rev-parse", "main^{tree}")
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: filepath.Join(t.TempDir(), "c"), PAT: pat, Commit: tree})
	if ce := connections.AsError(err); ce == nil || ce.Field != "commit" || !strings.Contains(ce.Message, "not a commit") {
		t.Fatalf("a tree as the commit: %v", err)
	}
}

// A .gitmodules that is a symbolic link is not read (git refuses it since CVE-2018-11235).
func TestCloneRefusesSymlinkedGitmodules(t *testing.T) {
	sim := startSim(t)
	r := hostileRepo(t, sim, "linked-gitmodules", func(blob func(string) string) []byte {
		return treeBytes([3]string{"120000", ".gitmodules", blob("/etc/passwd")},
			[3]string{"160000", "sub", "0123456789abcdef0123456789abcdef01234567"})
	})
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: filepath.Join(t.TempDir(), "c"), PAT: pat, Submodules: true})
	if ce := connections.AsError(err); ce == nil || ce.Field != "submodules" || !strings.Contains(ce.Message, "symbolic link") {
		t.Fatalf("a symlinked .gitmodules: %v", err)
	}
}

// leftNothing fails the test when a failed or cancelled clone left dir behind.
func leftNothing(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failed clone left %s behind (%v)", dir, err)
	}
}
