package gitops_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/gitops"
)

// makeRepo creates repository name in the simulator's project "Engine" and fills it with the
// commits build makes in a work tree (commit(msg) commits everything), pushed to main.
func makeRepo(t *testing.T, sim *azdosim.Server, name string, build func(work string, commit func(msg string))) azdosim.RepoInfo {
	t.Helper()
	r, err := sim.CreateRepository("DefaultCollection", "Engine", name)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	gitOut(t, work, "init", "-q", "-b", "main")
	commit := func(msg string) {
		gitOut(t, work, "add", "-A")
		gitOut(t, work, "-c", "user.name=Engine Test", "-c", "user.email=engine@example.invalid", "commit", "-q", "--allow-empty", "-m", msg)
	}
	build(work, commit)
	gitOut(t, work, "push", "-q", r.BarePath, "main")
	return r
}

// gitClone clones with the git CLI, the reference the engine is compared with.
func gitClone(t *testing.T, url, dir string, args ...string) {
	t.Helper()
	h := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+pat))
	cmd := exec.Command("git", append([]string{"-c", "http.extraHeader=" + h, "-c", "protocol.file.allow=never", "clone", "-q"}, append(args, url, dir)...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
}

// sameClone checks that the engine's clone a equals git's clone b: HEAD, its tree, the index
// (modes and ids), every file's bytes, type and executable bit; and that git finds the
// engine's clone clean and sound.
func sameClone(t *testing.T, a, b string) {
	t.Helper()
	for _, args := range [][]string{{"rev-parse", "HEAD", "HEAD^{tree}"}, {"ls-files", "-s"}} {
		if x, y := gitOut(t, a, args...), gitOut(t, b, args...); x != y {
			t.Fatalf("git %v differs:\nengine %s\ngit    %s", args, x, y)
		}
	}
	if st := gitOut(t, a, "status", "--porcelain", "--ignore-submodules=none"); st != "" {
		t.Fatalf("the engine's clone is not clean:\n%s", st)
	}
	gitOut(t, a, "fsck", "--full", "--no-progress")
	fa, fb := treeFiles(t, a), treeFiles(t, b)
	if len(fa) != len(fb) {
		t.Fatalf("the engine wrote %d paths, git %d:\n%v\n%v", len(fa), len(fb), keys(fa), keys(fb))
	}
	for p, v := range fb {
		if fa[p] != v {
			t.Fatalf("%s differs from git's checkout", p)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// treeFiles describes every path of a work tree outside .git directories (a submodule's too).
func treeFiles(tb testing.TB, root string) map[string]string {
	return gitops.DescribeTree(tb, root, false)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func write(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// engineRepos are the correctness cases: large binary files, a long history of edits (deep
// delta chains), and a tree with symbolic links, executables, spaces, non-ASCII and empty files.
func engineRepos(t *testing.T, sim *azdosim.Server) []azdosim.RepoInfo {
	binaries := makeRepo(t, sim, "binaries", func(w string, commit func(string)) {
		for i := range 3 {
			write(t, filepath.Join(w, fmt.Sprintf("asset-%d.bin", i)), randomBytes(4<<20), 0o644)
		}
		write(t, filepath.Join(w, "README.md"), []byte("# binaries\n"), 0o644)
		commit("three binaries")
		write(t, filepath.Join(w, "asset-1.bin"), randomBytes(4<<20), 0o644)
		commit("replace one")
		// A small change to a large file: a delta on a base past gitops' streaming threshold.
		f, err := os.OpenFile(filepath.Join(w, "asset-2.bin"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write([]byte("appended\n"))
		f.Close()
		write(t, filepath.Join(w, "copy-of-0.bin"), mustRead(t, filepath.Join(w, "asset-0.bin")), 0o755)
		commit("append to one, copy another")
	})
	history := makeRepo(t, sim, "history", func(w string, commit func(string)) {
		var text bytes.Buffer
		for i := range 4000 {
			fmt.Fprintf(&text, "line %d: the quick brown fox jumps over the lazy dog\n", i)
		}
		content := text.Bytes()
		for c := range 40 {
			content = bytes.Replace(content, []byte(fmt.Sprintf("line %d:", c*97)), []byte(fmt.Sprintf("edited %d:", c)), 1)
			write(t, filepath.Join(w, "big.txt"), content, 0o644)
			write(t, filepath.Join(w, "pkg", fmt.Sprintf("m%d", c%5), "f.go"), []byte(fmt.Sprintf("package m\n\nconst V = %d\n", c)), 0o644)
			commit(fmt.Sprintf("edit %d", c))
		}
	})
	layout := makeRepo(t, sim, "layout", func(w string, commit func(string)) {
		write(t, filepath.Join(w, "a dir", "ünïcode", "file with spaces.txt"), []byte("hello\n"), 0o644)
		write(t, filepath.Join(w, "build.sh"), []byte("#!/bin/sh\necho build\n"), 0o755)
		write(t, filepath.Join(w, "empty"), nil, 0o644)
		write(t, filepath.Join(w, "same-1.txt"), []byte("same\n"), 0o644)
		write(t, filepath.Join(w, "same-2.txt"), []byte("same\n"), 0o644)
		if err := os.Symlink("a dir/ünïcode/file with spaces.txt", filepath.Join(w, "link")); err != nil {
			t.Fatal(err)
		}
		commit("layout")
	})
	return []azdosim.RepoInfo{binaries, history, layout}
}

// The engine's clones equal git's for the correctness repositories, full and shallow.
func TestCloneEqualsGitCLI(t *testing.T) {
	sim := startSim(t)
	for _, r := range engineRepos(t, sim) {
		for _, depth := range []int{0, 1} {
			t.Run(fmt.Sprintf("%s/depth%d", r.Name, depth), func(t *testing.T) {
				a, b := filepath.Join(t.TempDir(), "engine"), filepath.Join(t.TempDir(), "git")
				if _, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: a, Depth: depth, PAT: pat}); err != nil {
					t.Fatalf("Clone: %v", err)
				}
				var args []string
				if depth > 0 {
					args = append(args, "--depth", fmt.Sprint(depth))
				}
				gitClone(t, cloneURL(sim, r), b, args...)
				sameClone(t, a, b)
			})
		}
	}
}

// Commit checks out an older commit, detached; a commit outside the fetched history is
// ErrNotFound and leaves nothing behind.
func TestCloneCommit(t *testing.T) {
	sim := startSim(t)
	r := engineRepos(t, sim)[1]
	old := gitOut(t, r.BarePath, "rev-parse", "main~7")
	dir := filepath.Join(t.TempDir(), "c")
	res, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, Commit: old, PAT: pat})
	if err != nil || res.Commit != old || res.Branch != "" {
		t.Fatalf("Clone at %s: %+v, %v", old, res, err)
	}
	if tree := gitOut(t, dir, "rev-parse", "HEAD^{tree}"); tree != gitOut(t, r.BarePath, "rev-parse", old+"^{tree}") {
		t.Fatalf("tree %s", tree)
	}
	if sym, _ := exec.Command("git", "-C", dir, "symbolic-ref", "-q", "HEAD").Output(); len(sym) != 0 {
		t.Fatalf("HEAD is %s, want detached", sym)
	}
	if st := gitOut(t, dir, "status", "--porcelain"); st != "" {
		t.Fatalf("not clean: %s", st)
	}
	dir2 := filepath.Join(t.TempDir(), "shallow")
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir2, Commit: old, Depth: 1, PAT: pat})
	if !errors.Is(err, connections.ErrNotFound) || !strings.Contains(err.Error(), old) {
		t.Fatalf("a commit outside a depth-1 history: %v", err)
	}
	leftNothing(t, dir2)
}

// MaxBytes stops a clone whose pack is larger, and nothing is left behind.
func TestCloneMaxBytes(t *testing.T) {
	sim := startSim(t)
	r := engineRepos(t, sim)[0]
	dir := filepath.Join(t.TempDir(), "c")
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, MaxBytes: 1 << 20, PAT: pat})
	if err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Fatalf("a 16 MiB pack with a 1 MiB limit: %v", err)
	}
	leftNothing(t, dir)
}

// Submodules are cloned at the recorded commit, through a relative URL, with the same
// credentials, as git clone --recurse-submodules does.
func TestCloneSubmodules(t *testing.T) {
	sim := startSim(t)
	lib := makeRepo(t, sim, "lib", func(w string, commit func(string)) {
		write(t, filepath.Join(w, "lib.go"), []byte("package lib\n"), 0o644)
		commit("lib 1")
		write(t, filepath.Join(w, "lib.go"), []byte("package lib\n\nconst V = 2\n"), 0o644)
		commit("lib 2")
	})
	pinned := gitOut(t, lib.BarePath, "rev-parse", "main~1") // not the tip: found in the history
	super := makeRepo(t, sim, "super", func(w string, commit func(string)) {
		write(t, filepath.Join(w, ".gitmodules"), []byte("[submodule \"vendor/lib\"]\n\tpath = vendor/lib\n\turl = ../lib\n"), 0o644)
		write(t, filepath.Join(w, "main.go"), []byte("package main\n"), 0o644)
		gitOut(t, w, "add", "-A")
		gitOut(t, w, "update-index", "--add", "--cacheinfo", "160000,"+pinned+",vendor/lib")
		// commit, not commit(): "add -A" would drop the gitlink, whose directory is absent.
		gitOut(t, w, "-c", "user.name=Engine Test", "-c", "user.email=engine@example.invalid", "commit", "-q", "-m", "with a submodule")
	})
	a, b := filepath.Join(t.TempDir(), "engine"), filepath.Join(t.TempDir(), "git")
	if _, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, super), Dir: a, Submodules: true, PAT: pat}); err != nil {
		t.Fatalf("Clone: %v", err)
	}
	gitClone(t, cloneURL(sim, super), b, "--recurse-submodules")
	sameClone(t, a, b)
	if got := gitOut(t, filepath.Join(a, "vendor", "lib"), "rev-parse", "HEAD"); got != pinned {
		t.Fatalf("the submodule is at %s, want %s", got, pinned)
	}
	x, _ := os.ReadFile(filepath.Join(a, "vendor", "lib", "lib.go"))
	if y, _ := os.ReadFile(filepath.Join(b, "vendor", "lib", "lib.go")); !bytes.Equal(x, y) || len(x) == 0 {
		t.Fatalf("the submodule's file differs from git's: %q vs %q", x, y)
	}
	// MaxBytes is for the whole clone: a limit the superproject's pack fits in but not the
	// submodule's as well stops the clone, and nothing is left.
	packs, _ := filepath.Glob(filepath.Join(a, ".git", "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("packs of the superproject: %v", packs)
	}
	fi, err := os.Stat(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "limited")
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, super), Dir: dir, Submodules: true, PAT: pat, MaxBytes: fi.Size() + 64})
	if ce := connections.AsError(err); ce == nil || ce.Reason != connections.ReasonTooLarge {
		t.Fatalf("a limit the submodule does not fit in: %v", err)
	}
	leftNothing(t, dir)
}

// An empty repository: with AllowEmpty the clone is what git clone leaves (no commit, no
// files, the remote configured, git fsck clean); without it, or with a branch named (git
// refuses that too), it is ErrInvalidInput and nothing is left behind.
func TestCloneEmptyRepository(t *testing.T) {
	sim := startSim(t)
	r, err := sim.CreateRepository("DefaultCollection", "Engine", "nothing yet")
	if err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(t.TempDir(), "engine"), filepath.Join(t.TempDir(), "git")
	res, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: a, PAT: pat, AllowEmpty: true})
	if err != nil || !res.Empty || res.Commit != "" || res.Branch == "" || res.Path != a {
		t.Fatalf("Clone of an empty repository: %+v, %v", res, err)
	}
	gitClone(t, cloneURL(sim, r), b)
	for _, dir := range []string{a, b} {
		if out, err := exec.Command("git", "-C", dir, "rev-parse", "--verify", "-q", "HEAD").Output(); err == nil {
			t.Fatalf("%s has a HEAD commit %s", dir, out)
		}
		if got := gitOut(t, dir, "config", "remote.origin.url"); got != cloneURL(sim, r) {
			t.Fatalf("%s: remote.origin.url %q", dir, got)
		}
		if files := gitOut(t, dir, "ls-files"); files != "" {
			t.Fatalf("%s: index %q", dir, files)
		}
	}
	gitOut(t, a, "fsck", "--full", "--no-progress")
	if fa, fb := treeFiles(t, a), treeFiles(t, b); len(fa) != 0 || len(fb) != 0 { // nothing but .git
		t.Fatalf("work trees: engine %v, git %v", keys(fa), keys(fb))
	}
	for _, o := range []gitops.CloneOptions{{}, {AllowEmpty: true, Branch: "main"}} {
		o.URL, o.Dir, o.PAT, o.Door = cloneURL(sim, r), filepath.Join(t.TempDir(), "refused"), pat, gitops.LoopbackDoor
		_, err := gitops.Clone(context.Background(), o)
		if !errors.Is(err, connections.ErrInvalidInput) || !strings.Contains(err.Error(), "empty") {
			t.Fatalf("AllowEmpty %v, Branch %q: %v", o.AllowEmpty, o.Branch, err)
		}
		leftNothing(t, o.Dir)
	}
}
