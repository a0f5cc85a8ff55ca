package storetest

import (
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
)

// testProfileWorkspace: a profile's workspace setting is stored on create, read back and
// listed, changed by an update (store.Runs); a profile saved without one reads back "".
func testProfileWorkspace(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "conn")), "create connection")
	p := newProfile("t1", "p1", "profile", "c1")
	p.Workspace = "reuse"
	must(t, s.CreateBuildProfile(ctx(), p), "create profile")
	must(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p2", "older", "c1")), "create profile without a workspace")
	got, err := s.GetBuildProfile(ctx(), "t1", "p1")
	must(t, err, "get profile")
	if got.Workspace != "reuse" {
		t.Fatalf("workspace read back %q, want reuse", got.Workspace)
	}
	if old, err := s.GetBuildProfile(ctx(), "t1", "p2"); err != nil || old.Workspace != "" {
		t.Fatalf("profile saved without a workspace: %+v, %v", old, err)
	}
	ps, _, err := s.ListBuildProfiles(ctx(), "t1", store.Page{Limit: 10})
	must(t, err, "list profiles")
	if len(ps) != 2 || ps[0].Workspace != "reuse" && ps[1].Workspace != "reuse" {
		t.Fatalf("listed profiles lost the workspace: %+v %+v", ps[0], ps[1])
	}
	rs, ok := s.(store.Runs)
	if !ok {
		return
	}
	got.Workspace = "fresh"
	must(t, rs.UpdateBuildProfile(ctx(), got), "update profile")
	if again, err := s.GetBuildProfile(ctx(), "t1", "p1"); err != nil || again.Workspace != "fresh" {
		t.Fatalf("after update: %+v, %v", again, err)
	}
}

// testRunSourceAndStats: a run's clone source and stats are stored by UpdateRun, read back
// by GetRun and ListRuns, and absent (""/nil) on a run whose clone has not ended.
func testRunSourceAndStats(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	withProfile(t, s)
	r := newRun("r1", 0)
	must(t, rs.CreateRun(ctx(), r, 0), "create run")
	if got, err := rs.GetRun(ctx(), "t1", "r1"); err != nil || got.Source != "" || got.Stats != nil {
		t.Fatalf("a new run: %+v, %v", got, err)
	}
	want := store.CloneStats{FetchedObjects: 12, FetchedBytes: 3174, WrittenFiles: 1, WrittenBytes: 2048, RemovedFiles: 4}
	r.State, r.Source, r.Stats = "succeeded", "workspace", &want
	must(t, rs.UpdateRun(ctx(), r), "update run")
	got, err := rs.GetRun(ctx(), "t1", "r1")
	must(t, err, "get run")
	if got.Source != "workspace" || got.Stats == nil || *got.Stats != want {
		t.Fatalf("run read back: source %q stats %+v, want workspace %+v", got.Source, got.Stats, want)
	}
	got.Stats.FetchedObjects = 99 // a copy: the store keeps its own
	list, _, err := rs.ListRuns(ctx(), "t1", "p1", store.Page{})
	must(t, err, "list runs")
	if len(list) != 1 || list[0].Source != "workspace" || list[0].Stats == nil || *list[0].Stats != want {
		t.Fatalf("listed run: %+v", list)
	}
}
