package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
)

// runsOf returns s as a store.Runs, skipping the test when the backend lacks the capability.
func runsOf(t *testing.T, s store.Store) store.Runs {
	t.Helper()
	r, ok := s.(store.Runs)
	if !ok {
		t.Skip("backend does not implement store.Runs")
	}
	return r
}

// withProfile stores connection c1 and profile p1 of tenant t1.
func withProfile(t *testing.T, s store.Store) *store.BuildProfile {
	t.Helper()
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "conn")), "create connection")
	p := newProfile("t1", "p1", "profile", "c1")
	must(t, s.CreateBuildProfile(ctx(), p), "create profile")
	return p
}

func newRun(id string, sec int) *store.Run {
	return &store.Run{ID: id, TenantID: "t1", BuildProfileID: "p1", State: "queued",
		Commit: "0123456789abcdef0123456789abcdef01234567", CreatedAt: at(sec),
		Trigger: store.RunTrigger{Kind: "push", Ref: "refs/heads/main", Commit: "0123456789abcdef0123456789abcdef01234567", PushedBy: "Jamal Hartnett"}}
}

func runIDs(rs []*store.Run) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

func testRunsNewestFirstAndPaging(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	withProfile(t, s)
	for i, id := range []string{"r1", "r2", "r3", "r4", "r5"} {
		must(t, rs.CreateRun(ctx(), newRun(id, i), 0), "create run "+id)
	}
	wantErr(t, rs.CreateRun(ctx(), newRun("r1", 9), 0), store.ErrConflict, "duplicate run id")
	r := newRun("rx", 9)
	r.BuildProfileID = "nope"
	wantErr(t, rs.CreateRun(ctx(), r, 0), store.ErrNotFound, "run of a missing profile")
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		list, next, err := rs.ListRuns(ctx(), "t1", "p1", store.Page{Limit: 2, After: after})
		must(t, err, "list runs")
		got = append(got, runIDs(list)...)
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		after = next
	}
	checkIDs(t, "runs newest first", got, "r5", "r4", "r3", "r2", "r1")
	other, _, err := rs.ListRuns(ctx(), "t2", "p1", store.Page{})
	must(t, err, "list of another tenant")
	checkIDs(t, "another tenant's runs", runIDs(other))
	_, err = rs.GetRun(ctx(), "t2", "r1")
	wantErr(t, err, store.ErrNotFound, "run of another tenant")

	one, err := rs.GetRun(ctx(), "t1", "r3")
	must(t, err, "get run")
	if one.Trigger.PushedBy != "Jamal Hartnett" || !one.CreatedAt.Equal(at(2)) {
		t.Fatalf("run read back: %+v", one)
	}
	one.State = "succeeded"
	fin := at(100)
	one.FinishedAt = &fin
	one.Report = &store.RunReport{Error: "status post refused"}
	must(t, rs.UpdateRun(ctx(), one), "update run")
	again, err := rs.GetRun(ctx(), "t1", "r3")
	must(t, err, "get run again")
	if again.State != "succeeded" || again.FinishedAt == nil || !again.FinishedAt.Equal(fin) || again.Report == nil {
		t.Fatalf("updated run read back: %+v", again)
	}
	gone := newRun("never", 3)
	wantErr(t, rs.UpdateRun(ctx(), gone), store.ErrNotFound, "update of a missing run")
	if _, err := rs.GetRun(ctx(), "t1", "never"); err == nil {
		t.Fatal("UpdateRun of a missing run created it")
	}
}

func testRunsRetention(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	withProfile(t, s)
	for i := range 6 {
		must(t, rs.CreateRun(ctx(), newRun(fmt.Sprintf("r%d", i), i*60), 4), "create run")
	}
	list, _, err := rs.ListRuns(ctx(), "t1", "p1", store.Page{})
	must(t, err, "list")
	checkIDs(t, "kept by count", runIDs(list), "r5", "r4", "r3", "r2")
	if _, err := rs.GetRun(ctx(), "t1", "r1"); err == nil {
		t.Fatal("a run beyond the count limit is still readable")
	}
	n, err := rs.PruneRuns(ctx(), "t1", "p1", at(180)) // r2 (120 s) goes, r3 (180 s) stays
	must(t, err, "prune")
	if n != 1 {
		t.Fatalf("pruned %d runs, want 1", n)
	}
	list, _, err = rs.ListRuns(ctx(), "t1", "p1", store.Page{})
	must(t, err, "list after prune")
	checkIDs(t, "kept by age", runIDs(list), "r5", "r4", "r3")
	must(t, s.DeleteBuildProfile(ctx(), "t1", "p1"), "delete profile")
	if _, err := rs.GetRun(ctx(), "t1", "r5"); err == nil {
		t.Fatal("a deleted profile's run is still readable")
	}
}

func testHookIndex(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	p := withProfile(t, s)
	_, err := rs.HookByID(ctx(), "h1")
	wantErr(t, err, store.ErrNotFound, "hook before it exists")
	p.Hook = &store.Hook{ID: "h1", User: "u", SealedPassword: []byte{9}, CreatedAt: at(0)}
	p.Triggers = &store.Triggers{Push: &store.BranchFilter{Branches: []string{"main", "release/*"}}}
	p.Name = "renamed"
	must(t, rs.UpdateBuildProfile(ctx(), p), "update profile")
	if p.Version != 2 {
		t.Fatalf("version after update %d, want 2", p.Version)
	}
	stale := *p
	stale.Version = 1
	wantErr(t, rs.UpdateBuildProfile(ctx(), &stale), store.ErrStale, "stale update")
	got, err := s.GetBuildProfile(ctx(), "t1", "p1")
	must(t, err, "get profile")
	if got.Name != "renamed" || got.Triggers == nil || len(got.Triggers.Push.Branches) != 2 || got.Hook == nil || got.Hook.ID != "h1" {
		t.Fatalf("profile read back: %+v", got)
	}
	ref, err := rs.HookByID(ctx(), "h1")
	must(t, err, "hook by id")
	if ref.TenantID != "t1" || ref.ProfileID != "p1" || ref.LastDeliveryAt != nil {
		t.Fatalf("hook ref: %+v", ref)
	}
	must(t, rs.TouchHook(ctx(), "h1", at(30)), "touch hook")
	ref, err = rs.HookByID(ctx(), "h1")
	must(t, err, "hook by id after touch")
	if ref.LastDeliveryAt == nil || !ref.LastDeliveryAt.Equal(at(30)) {
		t.Fatalf("last delivery: %v", ref.LastDeliveryAt)
	}
	// Rotation to a new id drops the old one.
	p.Hook = &store.Hook{ID: "h2", User: "u", SealedPassword: []byte{8}, CreatedAt: at(1)}
	must(t, rs.UpdateBuildProfile(ctx(), p), "rotate hook")
	_, err = rs.HookByID(ctx(), "h1")
	wantErr(t, err, store.ErrNotFound, "old hook after rotation")
	// Another profile cannot take h2.
	q := newProfile("t1", "p2", "other", "c1")
	must(t, s.CreateBuildProfile(ctx(), q), "create second profile")
	q.Hook = &store.Hook{ID: "h2"}
	wantErr(t, rs.UpdateBuildProfile(ctx(), q), store.ErrConflict, "hook id taken")
	if got, _ := s.GetBuildProfile(ctx(), "t1", "p2"); got.Hook != nil {
		t.Fatal("a refused update stored the hook")
	}
	must(t, s.DeleteBuildProfile(ctx(), "t1", "p1"), "delete profile")
	_, err = rs.HookByID(ctx(), "h2")
	wantErr(t, err, store.ErrNotFound, "hook of a deleted profile")
}

func testClaimEventOnce(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	ok, err := rs.ClaimEvent(ctx(), "hook1/event-a", time.Hour)
	must(t, err, "claim")
	if !ok {
		t.Fatal("first claim lost")
	}
	ok, err = rs.ClaimEvent(ctx(), "hook1/event-a", time.Hour)
	must(t, err, "claim again")
	if ok {
		t.Fatal("second claim of the same event won")
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := rs.ClaimEvent(ctx(), "hook1/event-b", time.Hour)
			if err != nil {
				t.Errorf("concurrent claim: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent claims won, want 1", wins.Load())
	}
}

func testDeleteConnectionDropsRunsAndHook(t *testing.T, s store.Store) {
	rs := runsOf(t, s)
	p := withProfile(t, s)
	p.Hook = &store.Hook{ID: "hc", User: "u"}
	must(t, rs.UpdateBuildProfile(ctx(), p), "give the profile a hook")
	must(t, rs.CreateRun(ctx(), newRun("r1", 1), 0), "create run")
	must(t, s.DeleteConnection(ctx(), "t1", "c1"), "delete connection")
	if _, err := rs.GetRun(ctx(), "t1", "r1"); err == nil {
		t.Fatal("a run outlived its connection's deletion")
	}
	_, err := rs.HookByID(ctx(), "hc")
	wantErr(t, err, store.ErrNotFound, "hook after the connection's deletion")
}
