package gitops_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/gitops"
)

const pat = "clonetestpat0123456789"

func startSim(t *testing.T) *azdosim.Server { return startSimTB(t) }

func startSimTB(tb testing.TB) *azdosim.Server {
	return azdosimtest.Start(tb, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: pat})
}

var repoByName = azdosimtest.Repository

func cloneURL(sim *azdosim.Server, r azdosim.RepoInfo) string {
	return sim.URL() + "/DefaultCollection/" + url.PathEscape(r.ProjectName) + "/_git/" + url.PathEscape(r.Name)
}

var gitOut = azdosimtest.Git

func TestCloneMatchesSource(t *testing.T) {
	sim := startSim(t)
	cases := []struct {
		repo, branch string
		depth        int
	}{
		{"ios-app", "", 0},
		{"ios-app", "release/1.0", 0},
		{"ios-app", "develop", 1},
		{"android app", "feature/login", 1},
	}
	for _, c := range cases {
		t.Run(c.repo+"@"+c.branch, func(t *testing.T) {
			r := repoByName(t, sim, c.repo)
			dir := filepath.Join(t.TempDir(), "clone")
			res, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir,
				Branch: c.branch, Depth: c.depth, PAT: pat})
			if err != nil {
				t.Fatalf("Clone: %v", err)
			}
			branch := c.branch
			if branch == "" {
				branch = strings.TrimPrefix(r.DefaultBranch, "refs/heads/")
			}
			want := gitOut(t, r.BarePath, "rev-parse", "refs/heads/"+branch)
			if res.Commit != want || res.Branch != branch || res.Path != dir {
				t.Errorf("result %+v, want commit %s branch %s", res, want, branch)
			}
			if got, want := gitOut(t, dir, "rev-parse", "HEAD^{tree}"), gitOut(t, r.BarePath, "rev-parse", branch+"^{tree}"); got != want {
				t.Errorf("tree %s, want %s", got, want)
			}
			gitOut(t, dir, "fsck", "--no-progress")
			if st := gitOut(t, dir, "status", "--porcelain"); st != "" {
				t.Errorf("work tree differs from HEAD:\n%s", st)
			}
			if c.depth == 1 {
				if n := gitOut(t, dir, "rev-list", "--count", "HEAD"); n != "1" {
					t.Errorf("depth 1 clone has %s commits", n)
				}
			}
			if cfg, _ := os.ReadFile(filepath.Join(dir, ".git", "config")); strings.Contains(string(cfg), pat) {
				t.Error("the PAT was written into .git/config")
			}
		})
	}
}

func TestCloneFailures(t *testing.T) {
	sim := startSim(t)
	ios := repoByName(t, sim, "ios-app")
	cases := []struct {
		name  string
		opts  gitops.CloneOptions
		kind  error
		field string
	}{
		{"wrong PAT", gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, ios), PAT: "wrong"}, connections.ErrUnauthorized, ""},
		{"no such branch", gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, ios), PAT: pat, Branch: "nope"}, connections.ErrNotFound, ""},
		{"no such repository", gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: sim.URL() + "/DefaultCollection/Platform/_git/nope", PAT: pat}, connections.ErrNotFound, ""},
		{"empty repository", gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, repoByName(t, sim, "empty-repo")), PAT: pat}, connections.ErrInvalidInput, ""},
		{"disabled repository", gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, repoByName(t, sim, "legacy-tools")), PAT: pat}, connections.ErrNotFound, ""}, // 404 TF401019, as the real service (renovate#13013)
		{"credentials in the URL", gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: strings.Replace(cloneURL(sim, ios), "http://", "http://u:"+pat+"@", 1), PAT: pat}, connections.ErrInvalidInput, "url"},
		{"not http", gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: "file:///etc", PAT: pat}, connections.ErrInvalidInput, "url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "clone")
			c.opts.Dir = dir
			_, err := gitops.Clone(context.Background(), c.opts)
			if !errors.Is(err, c.kind) {
				t.Fatalf("err = %v, want %v", err, c.kind)
			}
			if ce := connections.AsError(err); ce == nil || ce.Field != c.field || strings.Contains(ce.Message, pat) {
				t.Errorf("error %+v", ce)
			}
			leftNothing(t, dir)
		})
	}
}

func TestCloneRefusesNonEmptyDirAndKeepsIt(t *testing.T) {
	sim := startSim(t)
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, repoByName(t, sim, "ios-app")), Dir: dir, PAT: pat})
	if ce := connections.AsError(err); ce == nil || ce.Field != "dir" {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the existing file was touched: %v", err)
	}
}

func TestCloneCancelledLeavesNothing(t *testing.T) {
	sim := startSim(t)
	dir := filepath.Join(t.TempDir(), "clone")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := gitops.Clone(ctx, gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, repoByName(t, sim, "ios-app")), Dir: dir, PAT: pat, Timeout: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	leftNothing(t, dir)
}
