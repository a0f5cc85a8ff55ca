package gitops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/gitops"
)

// A reused workspace through Clone (CloneOptions.Reuse): a repeat run after a push updates the
// kept work tree in place, restores what a build dirtied, and rebuilds a damaged one.

func reuseOpts(c *gitops.Cache, url, dir string) gitops.CloneOptions {
	return gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, Dir: dir, PAT: pat, Cache: c, CacheKey: keyA, Reuse: true}
}

func cloneReuse(t *testing.T, opts gitops.CloneOptions) *gitops.Result {
	t.Helper()
	res, err := gitops.Clone(context.Background(), opts)
	if err != nil {
		t.Fatalf("Clone with Reuse: %v", err)
	}
	return res
}

func TestReuseWorkspaceAfterPush(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	url := cloneURL(sim, r)
	c := newCache(t, 0)
	ws := filepath.Join(t.TempDir(), "workspace")

	first := cloneReuse(t, reuseOpts(c, url, ws))
	if first.Path != ws || first.Source == gitops.SourceWorkspace || first.Stats.WrittenFiles == 0 {
		t.Fatalf("first run: %+v, want a checkout into %s (cold or cache)", first, ws)
	}
	readme, err := os.Stat(filepath.Join(ws, "README.md"))
	if err != nil {
		t.Fatal(err)
	}

	// What a build leaves: a tracked file modified, untracked and ignored output.
	tracked := gitOut(t, ws, "ls-files")
	var victim string
	for _, f := range splitLines(tracked) {
		if f != "README.md" && f != "NOTES.txt" {
			victim = f
			break
		}
	}
	if victim == "" {
		t.Fatalf("no tracked file to dirty in %q", tracked)
	}
	mustWrite(t, filepath.Join(ws, victim), "edited by the build\n")
	mustWrite(t, filepath.Join(ws, "build", "out.o"), "object code")
	mustWrite(t, filepath.Join(ws, "untracked.txt"), "left behind")
	mustWrite(t, filepath.Join(ws, ".git", "info", "exclude"), "build/\n")

	pushed := pushFile(t, sim, r, "main", "NOTES.txt", "added by a push\n")
	posts := sim.RouteRequests("git-upload-pack")
	second := cloneReuse(t, reuseOpts(c, url, ws))
	if second.Source != gitops.SourceWorkspace || second.Path != ws || second.Commit != pushed {
		t.Fatalf("second run: %+v, want source workspace at %s in %s", second, pushed, ws)
	}
	// The file the push added and the one the build modified; the build's two outputs.
	if second.Stats.WrittenFiles != 2 || second.Stats.RemovedFiles < 2 {
		t.Errorf("stats %+v, want 2 files written (the pushed one, the restored one) and the build's output removed", second.Stats)
	}
	if n := second.Stats.FetchedObjects; n == 0 || n > 4 {
		t.Errorf("fetched %d objects, want what the push made", n)
	}
	if got := sim.RouteRequests("git-upload-pack") - posts; got != 1 {
		t.Errorf("%d upload-pack requests, want 1", got)
	}
	if st := gitOut(t, ws, "status", "--porcelain", "--ignored"); st != "" {
		t.Errorf("the workspace is not clean after the update:\n%s", st)
	}
	for _, p := range []string{"build", "untracked.txt"} {
		if _, err := os.Lstat(filepath.Join(ws, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived the update (%v)", p, err)
		}
	}
	if after, err := os.Stat(filepath.Join(ws, "README.md")); err != nil || !os.SameFile(readme, after) || !after.ModTime().Equal(readme.ModTime()) {
		t.Errorf("README.md, unchanged, was rewritten (%v)", err)
	}
	sameAsCold(t, ws, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat})

	// A damaged workspace (its index gone) is rebuilt from the cache, never trusted.
	if err := os.Remove(filepath.Join(ws, ".git", "index")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(ws, "stray.txt"), "x")
	third := cloneReuse(t, reuseOpts(c, url, ws))
	if third.Source != gitops.SourceCache || third.Path != ws || third.Stats.FetchedObjects != 0 {
		t.Errorf("damaged workspace: %+v, want a fresh checkout from the cache into the same path, nothing fetched", third)
	}
	if _, err := os.Lstat(filepath.Join(ws, "stray.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the rebuilt workspace kept stray.txt (%v)", err)
	}
	sameAsCold(t, ws, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat})

	// A build that deleted the workspace's objects: the update links the store's packs again
	// (it needs only the new commit's objects, not the old HEAD's) and the tree is right.
	packs, err := filepath.Glob(filepath.Join(ws, ".git", "objects", "pack", "*"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("no packs in the workspace (%v)", err)
	}
	for _, p := range packs {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	fourth := cloneReuse(t, reuseOpts(c, url, ws))
	if fourth.Path != ws || fourth.Stats.WrittenFiles != 0 {
		t.Errorf("objects deleted by a build: %+v, want the same path and nothing rewritten", fourth)
	}
	sameAsCold(t, ws, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat})

	// Access is checked on every run: a wrong credential leaves the workspace as it was.
	opts := reuseOpts(c, url, ws)
	opts.PAT = "wrong"
	if _, err := gitops.Clone(context.Background(), opts); !errors.Is(err, connections.ErrUnauthorized) {
		t.Errorf("wrong PAT on a workspace: %v, want ErrUnauthorized", err)
	}
	if _, err := os.Stat(filepath.Join(ws, "README.md")); err != nil {
		t.Errorf("a refused run removed the workspace: %v", err)
	}
}

func TestReuseNeedsTheCache(t *testing.T) {
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{URL: "https://dev.azure.com/o/p/_git/r", Dir: t.TempDir(), Reuse: true})
	var ce *connections.Error
	if !errors.As(err, &ce) || ce.Field != "reuse" {
		t.Errorf("Reuse without a cache: %v, want an invalid input naming reuse", err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// A corrupt index (a build wrote garbage over it) is not trusted: the workspace is rebuilt from
// the cache, nothing fetched, and its tree is a cold clone's.
func TestReuseCorruptIndexRebuilds(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	url := cloneURL(sim, r)
	c := newCache(t, 0)
	ws := filepath.Join(t.TempDir(), "workspace")
	cloneReuse(t, reuseOpts(c, url, ws))
	mustWrite(t, filepath.Join(ws, ".git", "index"), "DIRC garbage written by a build")
	mustWrite(t, filepath.Join(ws, "stray.txt"), "x")
	res := cloneReuse(t, reuseOpts(c, url, ws))
	if res.Source != gitops.SourceCache || res.Path != ws || res.Stats.FetchedObjects != 0 {
		t.Errorf("corrupt index: %+v, want a fresh checkout from the cache into the same path", res)
	}
	if _, err := os.Lstat(filepath.Join(ws, "stray.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the rebuilt workspace kept stray.txt (%v)", err)
	}
	sameAsCold(t, ws, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat})
}
