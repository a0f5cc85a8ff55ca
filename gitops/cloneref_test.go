package gitops_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/gitops"
)

// A pull request's merge ref (refs/pull/{id}/merge, which Azure DevOps keeps for an active
// pull request) is fetched alone and checked out detached (CloneOptions.Ref).
func TestCloneRefOutsideBranches(t *testing.T) {
	sim := startSim(t)
	r := repoByName(t, sim, "ios-app")
	mainTip := gitOut(t, r.BarePath, "rev-parse", "refs/heads/main")
	dev := gitOut(t, r.BarePath, "rev-parse", "refs/heads/develop")
	merge := gitOut(t, r.BarePath, "commit-tree", dev+"^{tree}", "-p", mainTip, "-p", dev, "-m", "Merge pull request 1")
	gitOut(t, r.BarePath, "update-ref", "refs/pull/1/merge", merge)

	for _, depth := range []int{0, 1} {
		dir := filepath.Join(t.TempDir(), "clone")
		res, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir,
			Ref: "refs/pull/1/merge", Commit: merge, Depth: depth, PAT: pat})
		if err != nil {
			t.Fatalf("depth %d: Clone: %v", depth, err)
		}
		if res.Commit != merge || res.Branch != "" {
			t.Fatalf("depth %d: result %+v, want commit %s detached", depth, res, merge)
		}
		if got := gitOut(t, dir, "rev-parse", "HEAD"); got != merge {
			t.Fatalf("depth %d: HEAD %s, want %s", depth, got, merge)
		}
		if st := gitOut(t, dir, "status", "--porcelain"); st != "" {
			t.Errorf("depth %d: work tree differs from HEAD:\n%s", depth, st)
		}
	}

	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r),
		Dir: filepath.Join(t.TempDir(), "missing"), Ref: "refs/pull/99/merge", PAT: pat})
	if !errors.Is(err, connections.ErrNotFound) {
		t.Fatalf("missing ref: %v, want ErrNotFound", err)
	}
	for _, c := range []struct{ ref, branch string }{{"refs/heads/main", ""}, {"pull/1/merge", ""}, {"refs/pull/1/merge", "main"}, {"refs/pull/../x", ""}} {
		_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r),
			Dir: filepath.Join(t.TempDir(), "bad"), Ref: c.ref, Branch: c.branch, PAT: pat})
		if ce := connections.AsError(err); ce == nil || ce.Field != "ref" {
			t.Errorf("Ref %q Branch %q: %v, want a field error ref", c.ref, c.branch, err)
		}
	}
}
