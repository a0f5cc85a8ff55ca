package storetest

import (
	"slices"
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
)

// testProfileServiceEndpoints: a profile's service endpoint ids are stored on create, read
// back in order, replaced by an update (store.Runs) and dropped when emptied.
func testProfileServiceEndpoints(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "conn")), "create connection")
	p := newProfile("t1", "p1", "profile", "c1")
	ids := []string{"6e1e2f54-0b1d-4c3a-9f7e-111111111111", "0a0b0c0d-0000-4000-8000-222222222222"}
	p.ServiceEndpoints = slices.Clone(ids)
	must(t, s.CreateBuildProfile(ctx(), p), "create profile")
	got, err := s.GetBuildProfile(ctx(), "t1", "p1")
	must(t, err, "get profile")
	if !slices.Equal(got.ServiceEndpoints, ids) {
		t.Fatalf("service endpoints read back %v, want %v", got.ServiceEndpoints, ids)
	}
	ps, _, err := s.ListBuildProfiles(ctx(), "t1", store.Page{Limit: 10})
	must(t, err, "list profiles")
	if len(ps) != 1 || !slices.Equal(ps[0].ServiceEndpoints, ids) {
		t.Fatalf("listed profile's service endpoints: %+v", ps)
	}
	rs, ok := s.(store.Runs)
	if !ok {
		return
	}
	got.ServiceEndpoints = ids[1:]
	must(t, rs.UpdateBuildProfile(ctx(), got), "update profile")
	again, err := s.GetBuildProfile(ctx(), "t1", "p1")
	must(t, err, "get profile after update")
	if !slices.Equal(again.ServiceEndpoints, ids[1:]) {
		t.Fatalf("after update %v, want %v", again.ServiceEndpoints, ids[1:])
	}
	again.ServiceEndpoints = nil
	must(t, rs.UpdateBuildProfile(ctx(), again), "clear service endpoints")
	if last, err := s.GetBuildProfile(ctx(), "t1", "p1"); err != nil || len(last.ServiceEndpoints) != 0 {
		t.Fatalf("after clearing: %+v %v", last, err)
	}
}
