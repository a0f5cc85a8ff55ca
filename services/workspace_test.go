package services_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// Repeat builds (issue 18), the service's side: the workspace setting, the cache on every
// clone, the reused workspace's path and lock, the janitor, and the runs' source and stats.
//

// withCache gives the env's service a repository cache in a directory of its own.
func withCache(t *testing.T) func(*services.Options) {
	dir := filepath.Join(t.TempDir(), "cache")
	return func(o *services.Options) { o.CacheDir, o.CacheMaxBytes = dir, 1<<30 }
}

// setWorkspace patches acme's profile's workspace setting.
func setWorkspace(t *testing.T, svc *services.Service, profile, v string) *store.BuildProfile {
	t.Helper()
	p, _, err := svc.UpdateBuildProfile(context.Background(), "acme", profile, services.BuildProfilePatch{Workspace: &v})
	check(t, err)
	return p
}

// validSource reports whether s is one of the paths a clone can take.
func validSource(s string) bool {
	switch gitops.Source(s) {
	case gitops.SourceCold, gitops.SourceCache, gitops.SourceWorkspace:
		return true
	}
	return false
}

// pushChange commits content to file on the bare repository's main branch (a clone of its
// own, then git push) and returns the new commit.
func pushChange(t *testing.T, bare, file, content string) string {
	t.Helper()
	w := t.TempDir()
	azdosimtest.Git(t, w, "clone", "-q", bare, ".")
	check(t, os.WriteFile(filepath.Join(w, file), []byte(content), 0o644))
	azdosimtest.Git(t, w, "add", file)
	azdosimtest.Git(t, w, "commit", "-qm", "change "+file)
	azdosimtest.Git(t, w, "push", "-q", "origin", "HEAD:refs/heads/main")
	return azdosimtest.Git(t, w, "rev-parse", "HEAD")
}

// A bad workspace setting is a field error naming workspace and the allowed values, on
// create and on update; nothing is stored. A profile is created fresh by default, and
// PATCH switches it to reuse.
func TestWorkspaceSetting(t *testing.T) {
	e := newEnv(t, onMemory, 1)
	ctx := context.Background()
	before, _, err := e.svc.ListBuildProfiles(ctx, "acme", 0, "")
	check(t, err)
	p, err := e.svc.GetBuildProfile(ctx, "acme", e.profile)
	check(t, err)
	if services.WorkspaceOf(p) != services.WorkspaceFresh || p.Workspace != services.WorkspaceFresh {
		t.Fatalf("a new profile's workspace: %q", p.Workspace)
	}
	_, err = e.svc.CreateBuildProfile(ctx, "acme", services.BuildProfileInput{Name: "bad", ConnectionID: p.ConnectionID,
		RepositoryID: p.RepositoryID, Workspace: "sometimes"})
	ce := connections.AsError(err)
	if !errors.Is(err, connections.ErrInvalidInput) || ce == nil || ce.Field != "workspace" ||
		!strings.Contains(ce.Message, `"fresh"`) || !strings.Contains(ce.Message, `"reuse"`) {
		t.Fatalf("create with a bad workspace: %v (%+v)", err, ce)
	}
	if after, _, err := e.svc.ListBuildProfiles(ctx, "acme", 0, ""); err != nil || len(after) != len(before) {
		t.Fatalf("a profile was stored: %d profiles, want %d (%v)", len(after), len(before), err)
	}
	for _, bad := range []string{"Reuse", "", " fresh", strings.Repeat("x", 5000)} {
		v := bad
		_, _, err := e.svc.UpdateBuildProfile(ctx, "acme", e.profile, services.BuildProfilePatch{Workspace: &v, Name: ptr("renamed")})
		if bad == "" { // "" is the default: fresh
			check(t, err)
			continue
		}
		if ce := connections.AsError(err); ce == nil || ce.Field != "workspace" || len(ce.Message) > 300 {
			t.Fatalf("update with workspace %.20q: %v", bad, err)
		}
	}
	got, err := e.svc.GetBuildProfile(ctx, "acme", e.profile)
	check(t, err)
	if got.Workspace != services.WorkspaceFresh || got.Version != p.Version+1 {
		t.Fatalf("after the refused updates: workspace %q version %d (was %d)", got.Workspace, got.Version, p.Version)
	}
	if up := setWorkspace(t, e.svc, e.profile, services.WorkspaceReuse); up.Workspace != services.WorkspaceReuse {
		t.Fatalf("PATCH to reuse answered %q", up.Workspace)
	}
	if got, _ := e.svc.GetBuildProfile(ctx, "acme", e.profile); got.Workspace != services.WorkspaceReuse {
		t.Fatalf("PATCH to reuse stored %q", got.Workspace)
	}
	created, err := e.svc.CreateBuildProfile(ctx, "acme", services.BuildProfileInput{Name: "reusing", ConnectionID: p.ConnectionID,
		RepositoryID: p.RepositoryID, Workspace: services.WorkspaceReuse})
	check(t, err)
	if created.Workspace != services.WorkspaceReuse {
		t.Fatalf("created with reuse: %q", created.Workspace)
	}
}

func ptr[T any](v T) *T { return &v }

// A profile that reuses its workspace clones into {work}/{tenant}/{profile}/workspace each
// time; after a push the second clone updates that work tree (not a new directory). A
// profile going back to fresh loses its workspace; deleting a profile removes it too.
func TestReusedWorkspaceSamePath(t *testing.T) {
	e := newEnv(t, onMemory, 2, withCache(t))
	e.gate.release()
	ctx := context.Background()
	if fi, err := os.Stat(e.svc.CacheDir()); err != nil || !fi.IsDir() {
		t.Fatalf("the cache directory %q: %v", e.svc.CacheDir(), err)
	}
	setWorkspace(t, e.svc, e.profile, services.WorkspaceReuse)
	ws := e.svc.WorkspacePath("acme", e.profile)
	first, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{}, nil)
	check(t, err)
	if first.Path != ws || !validSource(string(first.Source)) {
		t.Fatalf("first clone: path %s source %q, want %s", first.Path, first.Source, ws)
	}
	// The first clone fills the empty store: every object from the server (cold).
	if first.Source != gitops.SourceCold || first.Stats.FetchedObjects == 0 || first.Stats.WrittenFiles == 0 {
		t.Errorf("first clone: source %q stats %+v, want cold with objects fetched and files written", first.Source, first.Stats)
	}
	marker := filepath.Join(ws, "build-output.txt") // what a build leaves: removed by the next run
	check(t, os.WriteFile(marker, []byte("left by the build"), 0o644))
	commit := pushChange(t, e.iosBare, "CHANGED.md", "second version\n")
	second, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{}, nil)
	check(t, err)
	if second.Path != ws || second.Commit != commit || second.Source != gitops.SourceWorkspace {
		t.Fatalf("second clone: path %s commit %s source %q; want %s, %s, workspace", second.Path, second.Commit, second.Source, ws, commit)
	}
	if b, err := os.ReadFile(filepath.Join(ws, "CHANGED.md")); err != nil || string(b) != "second version\n" {
		t.Fatalf("the workspace was not updated: %q, %v", b, err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the build's untracked file is still there: %v", err)
	}
	if second.Stats.WrittenFiles < 1 || second.Stats.RemovedFiles < 1 {
		t.Errorf("second clone's stats %+v: it wrote the changed file and removed the build's", second.Stats)
	}
	for _, d := range cloneDirs(t, e.svc.CloneRoot("acme", e.profile)) {
		if d != "workspace" && d != "workspace.lock" {
			t.Errorf("the profile has a clone directory %s besides its workspace", d)
		}
	}
}

// Going back to fresh removes the workspace; deleting a profile removes its workspace.
func TestWorkspaceRemovedWithSettingAndProfile(t *testing.T) {
	e := newEnv(t, onMemory, 2, withCache(t))
	e.gate.release()
	ctx := context.Background()
	for _, p := range []string{e.profile, e.develop} {
		setWorkspace(t, e.svc, p, services.WorkspaceReuse)
		res, err := e.svc.CloneBuildProfile(ctx, "acme", p, services.CloneInput{Depth: 1}, nil)
		check(t, err)
		if res.Path != e.svc.WorkspacePath("acme", p) {
			t.Fatalf("clone of %s went to %s", p, res.Path)
		}
	}
	setWorkspace(t, e.svc, e.profile, services.WorkspaceFresh)
	if _, err := os.Stat(e.svc.WorkspacePath("acme", e.profile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the workspace of a profile back to fresh: %v", err)
	}
	res, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{Depth: 1}, nil)
	check(t, err)
	if filepath.Dir(res.Path) != e.svc.CloneRoot("acme", e.profile) || filepath.Base(res.Path) == "workspace" {
		t.Errorf("a fresh profile cloned into %s", res.Path)
	}
	check(t, e.svc.DeleteBuildProfile(ctx, "acme", e.develop))
	if _, err := os.Stat(e.svc.WorkspacePath("acme", e.develop)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the workspace of a deleted profile: %v", err)
	}
}

// A clone of a reusing profile while another run holds the workspace goes to a fresh
// directory of the profile at once, and both succeed; the next clone gets the workspace.
func TestWorkspaceBusyGoesFresh(t *testing.T) {
	e := newEnv(t, onMemory, 2, withCache(t))
	ctx := context.Background()
	setWorkspace(t, e.svc, e.profile, services.WorkspaceReuse)
	ws := e.svc.WorkspacePath("acme", e.profile)
	type result struct {
		res *gitops.Result
		err error
	}
	clone := func() chan result {
		ch := make(chan result, 1)
		go func() {
			// With a progress writer the server sends progress, after which the gate stalls.
			res, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{}, io.Discard)
			ch <- result{res, err}
		}()
		return ch
	}
	a := clone()
	select { // a holds the workspace, stalled in its fetch
	case <-e.gate.stalled:
	case r := <-a:
		t.Fatalf("the first clone ended before it fetched: %+v, %v", r.res, r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("the first clone did not reach the server within 30 s")
	}
	b := clone()
	// b has chosen its directory once its clone is marked as running (janitor.go's marker).
	markers := filepath.Join(e.workDir, services.MarkerDir)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if entries, _ := os.ReadDir(markers); len(entries) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second clone did not start within 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.gate.release()
	ra, rb := <-a, <-b
	check(t, ra.err)
	check(t, rb.err)
	if ra.res.Path != ws {
		t.Errorf("the first clone went to %s, want the workspace %s", ra.res.Path, ws)
	}
	if rb.res.Path == ws || filepath.Dir(rb.res.Path) != e.svc.CloneRoot("acme", e.profile) {
		t.Errorf("the clone while the workspace was held went to %s, want a fresh directory of the profile", rb.res.Path)
	}
	if rb.res.Source == gitops.SourceWorkspace || !validSource(string(rb.res.Source)) {
		t.Errorf("the fresh clone's source: %q", rb.res.Source)
	}
	t.Run("the next clone takes the workspace", func(t *testing.T) {
		again, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{}, nil)
		check(t, err)
		if again.Path != ws {
			t.Errorf("once free, the workspace was not taken: %s", again.Path)
		}
	})
}

// The janitor never removes a reused workspace, however old; it still removes the profile's
// old fresh directories.
func TestJanitorLeavesWorkspace(t *testing.T) {
	e := newEnv(t, onMemory, 1, withCache(t), func(o *services.Options) { o.CloneRetention = 24 * time.Hour })
	e.gate.release()
	ctx := context.Background()
	recv(t, services.JanitorFirstSweep(e.svc))
	setWorkspace(t, e.svc, e.profile, services.WorkspaceReuse)
	res, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{Depth: 1}, nil)
	check(t, err)
	old := filepath.Join(e.svc.CloneRoot("acme", e.profile), "20240101T000000Z-old")
	check(t, os.MkdirAll(old, 0o700))
	at := e.clock.Now().Add(-48 * time.Hour)
	check(t, os.Chtimes(old, at, at))
	check(t, os.Chtimes(res.Path, at, at))
	e.clock.Advance(72 * time.Hour)
	if n, err := e.svc.SweepClones(ctx); n != 1 || err != nil {
		t.Fatalf("sweep removed %d, %v; want 1 (the old fresh directory)", n, err)
	}
	if _, err := os.Stat(filepath.Join(res.Path, ".git")); err != nil {
		t.Fatalf("the janitor removed the workspace: %v", err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old fresh directory is still there: %v", err)
	}
}

// A run records the path its clone took and what it moved, on either clone queue (the Redis
// queue carries the job's result through Redis); the clone job's result carries them too.
func TestRunRecordsSourceAndStats(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1, withCache(t))
		e.gate.release()
		ctx := context.Background()
		setWorkspace(t, e.svc, e.profile, services.WorkspaceReuse)
		r, err := e.svc.StartManualRun(ctx, "acme", e.profile, "")
		check(t, err)
		if r.Source != "" || r.Stats != nil {
			t.Fatalf("a run just started has a source: %+v", r)
		}
		var got *store.Run
		for deadline := time.Now().Add(60 * time.Second); ; {
			if got, err = e.svc.GetRun(ctx, "acme", r.ID); err == nil && got.FinishedAt != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the run did not finish within 60 s: %+v, %v", got, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got.State != services.CloneSucceeded || !validSource(got.Source) || got.Stats == nil {
			t.Fatalf("finished run: state %s source %q stats %+v (error %s)", got.State, got.Source, got.Stats, got.Error)
		}
		if got.Source != string(gitops.SourceCold) || got.Stats.FetchedObjects == 0 || got.Stats.WrittenFiles == 0 {
			t.Errorf("the profile's first run: source %q stats %+v, want cold (the store was empty) with objects fetched and files written", got.Source, got.Stats)
		}
		job, err := e.svc.CloneJob(ctx, "acme", got.CloneJobID)
		check(t, err)
		if job.Result == nil || string(job.Result.Source) != got.Source || job.Result.Path != e.svc.WorkspacePath("acme", e.profile) {
			t.Fatalf("the run's job result %+v, want source %q in the workspace", job.Result, got.Source)
		}
		list, _, err := e.svc.ListRuns(ctx, "acme", e.profile, 10, "")
		check(t, err)
		if len(list) == 0 || list[0].ID != r.ID || list[0].Source != got.Source || list[0].Stats == nil {
			t.Fatalf("listed runs: %+v", list)
		}
	})
}
