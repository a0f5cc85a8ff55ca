package gitops_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/gitops"
)

// The repository cache (issue 18), against the simulator's real git http-backend (multi_ack
// required, as Azure DevOps): repeat runs fetch what changed, deepen, survive a damaged store,
// keep tenants apart, share one fetch, and stay within their size bound.

var keyA = gitops.CacheKey{Tenant: "t1", Connection: "c1", Repository: "ios-app"}

func newCache(t *testing.T, maxBytes int64) *gitops.Cache {
	t.Helper()
	c, err := gitops.NewCache(filepath.Join(t.TempDir(), "cache"), maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cloneVia clones through the cache into a new directory and returns the result.
func cloneVia(t *testing.T, c *gitops.Cache, key gitops.CacheKey, url string, mod func(*gitops.CloneOptions)) *gitops.Result {
	t.Helper()
	opts := gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, Dir: filepath.Join(t.TempDir(), "w"), PAT: pat, Cache: c, CacheKey: key}
	if mod != nil {
		mod(&opts)
	}
	res, err := gitops.Clone(context.Background(), opts)
	if err != nil {
		t.Fatalf("Clone through the cache: %v", err)
	}
	return res
}

// pushFile commits one file to branch of the simulator's repository r with the git CLI and
// pushes it over smart HTTP with the PAT; it returns the new commit.
func pushFile(t *testing.T, sim *azdosim.Server, r azdosim.RepoInfo, branch, name, content string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), "push")
	auth := "http.extraHeader=Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("build:"+pat))
	gitOut(t, "", "-c", auth, "clone", "--quiet", "--branch", branch, cloneURL(sim, r), work)
	if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitOut(t, work, "add", name)
	gitOut(t, work, "commit", "--quiet", "-m", "change "+name)
	gitOut(t, work, "-c", auth, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
	return gitOut(t, work, "rev-parse", "HEAD")
}

// sameAsCold checks that the work tree dir is what a cold clone of the same options gives:
// the same HEAD, the same index (git ls-files -s), a clean status and a sound repository.
func sameAsCold(t *testing.T, dir string, opts gitops.CloneOptions) {
	t.Helper()
	opts.Cache, opts.Dir = nil, filepath.Join(t.TempDir(), "cold")
	if _, err := gitops.Clone(context.Background(), opts); err != nil {
		t.Fatalf("cold clone: %v", err)
	}
	for _, args := range [][]string{{"rev-parse", "HEAD"}, {"ls-files", "-s"}, {"symbolic-ref", "-q", "--short", "HEAD"}} {
		got, want := gitQuiet(dir, args...), gitQuiet(opts.Dir, args...)
		if got != want {
			t.Errorf("git %v: the cache's tree gives\n%s\na cold clone\n%s", args, got, want)
		}
	}
	if st := gitOut(t, dir, "status", "--porcelain"); st != "" {
		t.Errorf("work tree differs from HEAD:\n%s", st)
	}
	gitOut(t, dir, "fsck", "--no-progress", "--no-dangling")
	gitOut(t, dir, "log", "--oneline", "-1")
}

// gitQuiet runs git and returns its output, errors included (symbolic-ref fails when detached).
func gitQuiet(dir string, args ...string) string {
	out, err := gitCmd(dir, args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		s += " (" + err.Error() + ")"
	}
	return s
}

func TestCacheRepeatAfterPush(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	url := cloneURL(sim, r)
	c := newCache(t, 0)

	first := cloneVia(t, c, keyA, url, nil)
	if first.Source != gitops.SourceCold || first.Stats.FetchedObjects == 0 || first.Stats.WrittenFiles == 0 {
		t.Fatalf("first run: %+v, want source cold with objects fetched and files written", first)
	}
	sameAsCold(t, first.Path, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat})

	pushed := pushFile(t, sim, r, "main", "README.md", "changed by a push\n")
	posts := sim.RouteRequests("git-upload-pack")
	refs := sim.RouteRequests("info/refs")
	second := cloneVia(t, c, keyA, url, nil)
	if second.Source != gitops.SourceCache || second.Commit != pushed {
		t.Fatalf("second run: %+v, want source cache at %s", second, pushed)
	}
	// The commit, its root tree and the one blob: what changed, not the repository.
	if n := second.Stats.FetchedObjects; n == 0 || n > 3 {
		t.Errorf("the repeat run fetched %d objects, want the 3 that changed", n)
	}
	if second.Stats.WrittenFiles != first.Stats.WrittenFiles {
		t.Errorf("written files %d, the first run wrote %d", second.Stats.WrittenFiles, first.Stats.WrittenFiles)
	}
	if got := sim.RouteRequests("git-upload-pack") - posts; got != 1 {
		t.Errorf("%d upload-pack requests, want 1", got)
	}
	sameAsCold(t, second.Path, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat})
	if got := gitOut(t, second.Path, "rev-list", "--count", "HEAD"); got != gitOut(t, r.BarePath, "rev-list", "--count", "main") {
		t.Errorf("history of %s commits", got)
	}

	// Nothing new: the access check (info/refs) and no fetch.
	posts, refs = sim.RouteRequests("git-upload-pack"), sim.RouteRequests("info/refs")-refs
	third := cloneVia(t, c, keyA, url, nil)
	if third.Source != gitops.SourceCache || third.Stats.FetchedObjects != 0 || sim.RouteRequests("git-upload-pack") != posts {
		t.Errorf("third run: %+v, %d upload-pack requests, want none", third, sim.RouteRequests("git-upload-pack")-posts)
	}
	if refs < 1 {
		t.Errorf("the second run did not ask for the references")
	}

	// Access is checked on every run: a wrong credential gets nothing from the cache.
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, Dir: filepath.Join(t.TempDir(), "x"),
		PAT: "wrong", Cache: c, CacheKey: keyA})
	if !errors.Is(err, connections.ErrUnauthorized) {
		t.Errorf("wrong PAT through the cache: %v, want ErrUnauthorized", err)
	}
}

func TestCacheDepthThenFullDeepens(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	url := cloneURL(sim, r)
	c := newCache(t, 0)
	shallow := cloneVia(t, c, keyA, url, func(o *gitops.CloneOptions) { o.Depth = 1 })
	if n := gitOut(t, shallow.Path, "rev-list", "--count", "HEAD"); n != "1" {
		t.Fatalf("depth 1 through the cache: %s commits", n)
	}
	sameAsCold(t, shallow.Path, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat, Depth: 1})

	// A push, and depth 1 again: what changed comes, not the whole tree again.
	pushed := pushFile(t, sim, r, "main", "README.md", "changed by a push\n")
	next := cloneVia(t, c, keyA, url, func(o *gitops.CloneOptions) { o.Depth = 1 })
	if next.Commit != pushed || next.Source != gitops.SourceCache || next.Stats.FetchedObjects == 0 || next.Stats.FetchedObjects > 3 {
		t.Errorf("depth 1 after a push: %+v, want the 3 objects that changed", next)
	}
	sameAsCold(t, next.Path, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat, Depth: 1})

	posts := sim.RouteRequests("git-upload-pack")
	full := cloneVia(t, c, keyA, url, nil)
	if sim.RouteRequests("git-upload-pack") != posts+1 || full.Stats.FetchedObjects == 0 {
		t.Fatalf("full after depth 1: %+v, want one fetch deepening the store", full)
	}
	if got, want := gitOut(t, full.Path, "rev-list", "--count", "HEAD"), gitOut(t, r.BarePath, "rev-list", "--count", "main"); got != want {
		t.Errorf("full run through a deepened store: %s commits, want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(full.Path, ".git", "shallow")); err == nil {
		t.Errorf("the full run's .git is shallow")
	}
	sameAsCold(t, full.Path, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat})

	// A deeper store serves a shallower run without a fetch.
	posts = sim.RouteRequests("git-upload-pack")
	again := cloneVia(t, c, keyA, url, func(o *gitops.CloneOptions) { o.Depth = 1 })
	if sim.RouteRequests("git-upload-pack") != posts || again.Stats.FetchedObjects != 0 {
		t.Errorf("depth 1 after full fetched again: %+v", again)
	}
	// A push, then depth 1 into the full store: what changed, and the store stays full.
	pushed = pushFile(t, sim, r, "main", "README.md", "changed by another push\n")
	after := cloneVia(t, c, keyA, url, func(o *gitops.CloneOptions) { o.Depth = 1 })
	if after.Commit != pushed || after.Stats.FetchedObjects == 0 || after.Stats.FetchedObjects > 3 {
		t.Errorf("depth 1 after a push into a full store: %+v, want the 3 objects that changed", after)
	}
	if got, want := gitOut(t, after.Path, "rev-list", "--count", "HEAD"), gitOut(t, r.BarePath, "rev-list", "--count", "main"); got != want {
		t.Errorf("the full store became shallow: %s commits, want %s", got, want)
	}
	sameAsCold(t, after.Path, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat, Depth: 1})
}

func TestCacheCorruptedStoreIsRefetched(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	url := cloneURL(sim, r)
	c := newCache(t, 0)
	cloneVia(t, c, keyA, url, nil)
	packs, _ := filepath.Glob(filepath.Join(c.Dir(), "*", "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("%d packs in the cache, want 1", len(packs))
	}
	data, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x55
	if err := os.Chmod(packs[0], 0o644); err != nil {
		t.Fatal(err)
	}
	// Written in place: the inode the earlier work tree links is damaged too, as a disk would.
	if err := os.WriteFile(packs[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	posts := sim.RouteRequests("git-upload-pack")
	res := cloneVia(t, c, keyA, url, nil)
	if sim.RouteRequests("git-upload-pack") != posts+1 || res.Source != gitops.SourceCold {
		t.Fatalf("after the damage: %+v, %d fetches; want the store dropped and fetched again", res, sim.RouteRequests("git-upload-pack")-posts)
	}
	sameAsCold(t, res.Path, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat})
}

func TestCacheKeysAreSeparate(t *testing.T) {
	sim := startSim(t)
	url := cloneURL(sim, repoByName(t, sim, "ios-app"))
	c := newCache(t, 0)
	keyB := keyA
	keyB.Tenant = "t2"
	keyC := keyA
	keyC.Connection = "c2"
	posts := sim.RouteRequests("git-upload-pack")
	for _, k := range []gitops.CacheKey{keyA, keyB, keyC} {
		if res := cloneVia(t, c, k, url, nil); res.Source != gitops.SourceCold {
			t.Errorf("key %+v: source %s, want its own store, fetched cold", k, res.Source)
		}
	}
	if got := sim.RouteRequests("git-upload-pack") - posts; got != 3 {
		t.Errorf("%d fetches for 3 keys, want 3", got)
	}
	dirs, _ := filepath.Glob(filepath.Join(c.Dir(), "*", "state"))
	if len(dirs) != 3 {
		t.Errorf("%d stores, want 3", len(dirs))
	}
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, Dir: filepath.Join(t.TempDir(), "x"),
		PAT: pat, Cache: c, CacheKey: gitops.CacheKey{Tenant: "t1", Repository: "r"}})
	if ce := connections.AsError(err); ce == nil || ce.Field != "cacheKey" {
		t.Errorf("a key without a connection: %v, want a field error cacheKey", err)
	}
}

func TestCacheConcurrentRunsShareOneFetch(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	url := cloneURL(sim, r)
	c := newCache(t, 0)
	posts := sim.RouteRequests("git-upload-pack")
	var wg sync.WaitGroup
	results := make([]*gitops.Result, 8)
	errs := make([]error, 8)
	root := t.TempDir()
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url,
				Dir: filepath.Join(root, strconv.Itoa(i)), PAT: pat, Cache: c, CacheKey: keyA})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if got := sim.RouteRequests("git-upload-pack") - posts; got != 1 {
		t.Errorf("8 concurrent runs made %d fetches, want 1", got)
	}
	want := gitOut(t, r.BarePath, "rev-parse", "main")
	for i, res := range results {
		if res.Commit != want {
			t.Errorf("run %d: %s, want %s", i, res.Commit, want)
		}
		if st := gitOut(t, res.Path, "status", "--porcelain"); st != "" {
			t.Errorf("run %d: work tree differs from HEAD:\n%s", i, st)
		}
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	sim := startSim(t)
	urlA := cloneURL(sim, repoByName(t, sim, "ios-app"))
	urlB := cloneURL(sim, repoByName(t, sim, "android app"))
	keyB := gitops.CacheKey{Tenant: "t1", Connection: "c1", Repository: "android app"}
	// The sizes of both stores, measured in an unbounded cache.
	probe := newCache(t, 0)
	cloneVia(t, probe, keyA, urlA, nil)
	sizeA := probe.Size()
	cloneVia(t, probe, keyB, urlB, nil)
	sizeB := probe.Size() - sizeA
	// Room for either store, not both.
	c := newCache(t, max(sizeA, sizeB)+1)
	cloneVia(t, c, keyA, urlA, nil)
	cloneVia(t, c, keyB, urlB, nil)
	if c.Has(keyA) || !c.Has(keyB) {
		t.Fatalf("after A then B: has A %v, B %v; want only B, the most recently used", c.Has(keyA), c.Has(keyB))
	}
	res := cloneVia(t, c, keyA, urlA, nil)
	if !c.Has(keyA) || c.Has(keyB) || res.Source != gitops.SourceCold {
		t.Fatalf("after A again: has A %v, B %v, %s", c.Has(keyA), c.Has(keyB), res.Source)
	}
	if c.Size() > max(sizeA, sizeB)+1 {
		t.Errorf("cache of %d bytes, bound %d", c.Size(), max(sizeA, sizeB)+1)
	}
	// A store in use is never evicted: B's run, with A held, leaves A and evicts B itself.
	release := c.Hold(keyA)
	cloneVia(t, c, keyB, urlB, nil)
	if !c.Has(keyA) {
		t.Errorf("the store in use was evicted")
	}
	release()
	// A cache reopened on the directory knows its stores.
	again, err := gitops.NewCache(c.Dir(), 0)
	if err != nil || !again.Has(keyA) {
		t.Errorf("reopened: %v, has A %v", err, again != nil && again.Has(keyA))
	}
}

func TestCachePullRequestRef(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	url := cloneURL(sim, r)
	mainTip := gitOut(t, r.BarePath, "rev-parse", "refs/heads/main")
	dev := gitOut(t, r.BarePath, "rev-parse", "refs/heads/develop")
	merge := gitOut(t, r.BarePath, "commit-tree", dev+"^{tree}", "-p", mainTip, "-p", dev, "-m", "Merge pull request 1")
	gitOut(t, r.BarePath, "update-ref", "refs/pull/1/merge", merge)
	c := newCache(t, 0)
	// main at depth 1 in the store first: the merge ref comes into a shallow store.
	cloneVia(t, c, keyA, url, func(o *gitops.CloneOptions) { o.Depth = 1 })
	pr := func(o *gitops.CloneOptions) { o.Ref, o.Depth = "refs/pull/1/merge", 1 }
	res := cloneVia(t, c, keyA, url, pr)
	if res.Commit != merge || res.Branch != "" || res.Source != gitops.SourceCache {
		t.Fatalf("merge ref through the cache: %+v, want %s detached", res, merge)
	}
	sameAsCold(t, res.Path, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat, Ref: "refs/pull/1/merge", Depth: 1})
	posts := sim.RouteRequests("git-upload-pack")
	if again := cloneVia(t, c, keyA, url, pr); again.Stats.FetchedObjects != 0 || sim.RouteRequests("git-upload-pack") != posts {
		t.Errorf("the merge ref again fetched: %+v", again)
	}
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, Dir: filepath.Join(t.TempDir(), "x"),
		PAT: pat, Cache: c, CacheKey: keyA, Ref: "refs/pull/99/merge"})
	if !errors.Is(err, connections.ErrNotFound) {
		t.Errorf("missing ref through the cache: %v, want ErrNotFound", err)
	}
}

// gitCmd is the git CLI in dir with the user's and the system's configuration ignored.
func gitCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	return cmd
}

// The reused workspace's step: a work tree of an earlier run gets the packs a later run fetched
// into the store, and git reads the new commit from it.
func TestCacheLinkObjectsIntoAnEarlierGitDir(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	url := cloneURL(sim, r)
	c := newCache(t, 0)
	first := cloneVia(t, c, keyA, url, func(o *gitops.CloneOptions) { o.Depth = 1 })
	pushed := pushFile(t, sim, r, "main", "README.md", "for the workspace\n")
	cloneVia(t, c, keyA, url, func(o *gitops.CloneOptions) { o.Depth = 1 })
	if err := c.LinkObjects(keyA, filepath.Join(first.Path, ".git")); err != nil {
		t.Fatal(err)
	}
	gitOut(t, first.Path, "cat-file", "-e", pushed+"^{tree}")
	gitOut(t, first.Path, "fsck", "--no-progress", "--no-dangling")

	// The whole step around the workspace's update: HEAD, the branch and the remote ref move.
	pushed = pushFile(t, sim, r, "main", "README.md", "again\n")
	got, err := gitops.AdvanceGitDir(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, PAT: pat,
		Depth: 1, Cache: c, CacheKey: keyA}, first.Path)
	if err != nil || got != pushed {
		t.Fatalf("AdvanceGitDir: %s, %v; want %s", got, err, pushed)
	}
	for _, ref := range []string{"HEAD", "refs/heads/main", "refs/remotes/origin/main"} {
		if h := gitOut(t, first.Path, "rev-parse", ref); h != pushed {
			t.Errorf("%s at %s, want %s", ref, h, pushed)
		}
	}
	if b := gitOut(t, first.Path, "symbolic-ref", "--short", "HEAD"); b != "main" {
		t.Errorf("HEAD on %q, want main", b)
	}
	gitOut(t, first.Path, "fsck", "--no-progress", "--no-dangling")
	other := keyA
	other.Tenant = "nobody"
	if err := c.LinkObjects(other, filepath.Join(first.Path, ".git")); err == nil {
		t.Errorf("linked from a store that does not exist")
	}
}
