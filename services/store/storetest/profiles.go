package storetest

import (
	"reflect"
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
)

// sameProfile fails the test unless got and want hold the same data.
func sameProfile(t *testing.T, what string, got, want *store.BuildProfile) {
	t.Helper()
	g, w := *got, *want
	g.CreatedAt, w.CreatedAt = g.CreatedAt.UTC(), w.CreatedAt.UTC()
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func profileIDs(ps []*store.BuildProfile) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

func testBuildProfileCRUD(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "conn")), "create connection")
	p := newProfile("t1", "p1", "nightly", "c1")
	p.Version = 7 // ignored by Create
	must(t, s.CreateBuildProfile(ctx(), p), "create")
	if p.Version != 1 {
		t.Fatalf("create: Version = %d, want 1", p.Version)
	}
	got, err := s.GetBuildProfile(ctx(), "t1", "p1")
	must(t, err, "get")
	sameProfile(t, "get", got, p)
	list, err := whole(s.ListBuildProfiles(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	checkIDs(t, "list", profileIDs(list), "p1")
	sameProfile(t, "listed", list[0], p)

	must(t, s.DeleteBuildProfile(ctx(), "t1", "p1"), "delete")
	_, err = s.GetBuildProfile(ctx(), "t1", "p1")
	wantErr(t, err, store.ErrNotFound, "get after delete")
	wantErr(t, s.DeleteBuildProfile(ctx(), "t1", "p1"), store.ErrNotFound, "delete twice")
	_, err = s.GetBuildProfile(ctx(), "t1", "never")
	wantErr(t, err, store.ErrNotFound, "get missing")
	must(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p2", "nightly", "c1")), "reuse deleted name")
	// The connection itself survives deleting its profile.
	_, err = s.GetConnection(ctx(), "t1", "c1")
	must(t, err, "connection after profile delete")
}

func testBuildProfileInvalid(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "conn")), "create connection")
	wantErr(t, s.CreateBuildProfile(ctx(), nil), store.ErrInvalid, "nil")
	wantErr(t, s.CreateBuildProfile(ctx(), newProfile("t1", "", "n", "c1")), store.ErrInvalid, "empty id")
	wantErr(t, s.CreateBuildProfile(ctx(), newProfile("", "p1", "n", "c1")), store.ErrInvalid, "empty tenant")
	wantErr(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p1", "", "c1")), store.ErrInvalid, "empty name")
	wantErr(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p1", "n", "")), store.ErrInvalid, "empty connection")
	list, err := whole(s.ListBuildProfiles(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	if len(list) != 0 {
		t.Fatalf("invalid profiles were stored: %q", profileIDs(list))
	}
}

func testBuildProfileTenantIsolation(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "conn")), "create connection")
	p := newProfile("t1", "p1", "nightly", "c1")
	must(t, s.CreateBuildProfile(ctx(), p), "create")
	_, err := s.GetBuildProfile(ctx(), "t2", "p1")
	wantErr(t, err, store.ErrNotFound, "get other tenant")
	wantErr(t, s.DeleteBuildProfile(ctx(), "t2", "p1"), store.ErrNotFound, "delete other tenant")
	list, err := whole(s.ListBuildProfiles(ctx(), "t2", store.Page{}))
	must(t, err, "list other tenant")
	if len(list) != 0 {
		t.Fatalf("tenant t2 sees %q", profileIDs(list))
	}
	got, err := s.GetBuildProfile(ctx(), "t1", "p1")
	must(t, err, "get own")
	sameProfile(t, "owner's record untouched", got, p)
}

func testBuildProfileNameConflict(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "conn")), "create connection")
	must(t, s.CreateConnection(ctx(), newConn("t2", "c1", "conn")), "create other tenant connection")
	must(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p1", "dup", "c1")), "create")
	wantErr(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p2", "dup", "c1")), store.ErrConflict, "same name")
	wantErr(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p1", "other", "c1")), store.ErrConflict, "same id")
	must(t, s.CreateBuildProfile(ctx(), newProfile("t2", "p9", "dup", "c1")), "same name, other tenant")
	list, err := whole(s.ListBuildProfiles(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	checkIDs(t, "list", profileIDs(list), "p1")
}

func testBuildProfileNeedsConnection(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t2", "c2", "conn")), "create other tenant connection")
	wantErr(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p1", "n", "missing")), store.ErrNotFound, "missing connection")
	wantErr(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p1", "n", "c2")), store.ErrNotFound, "other tenant's connection")
	list, err := whole(s.ListBuildProfiles(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	if len(list) != 0 {
		t.Fatalf("refused profiles were stored: %q", profileIDs(list))
	}
}

func testBuildProfileOrderingAndCopies(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "conn")), "create connection")
	for _, c := range []struct {
		id  string
		sec int
	}{{"late", 30}, {"b-same", 10}, {"early", -5}, {"a-same", 10}} {
		p := newProfile("t1", c.id, "name-"+c.id, "c1")
		p.CreatedAt = at(c.sec)
		must(t, s.CreateBuildProfile(ctx(), p), "create "+c.id)
		p.Branch = "mutated-arg"
	}
	list, err := whole(s.ListBuildProfiles(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	checkIDs(t, "ordering", profileIDs(list), "early", "a-same", "b-same", "late")
	list[0].Branch = "mutated-list"
	got, err := s.GetBuildProfile(ctx(), "t1", "early")
	must(t, err, "get")
	if got.Branch != "main" {
		t.Fatalf("store shares memory with callers: Branch = %q", got.Branch)
	}
}

func testDeleteConnectionCascades(t *testing.T, s store.Store) {
	for _, c := range []*store.Connection{newConn("t1", "a", "A"), newConn("t1", "b", "B"), newConn("t2", "a", "A")} {
		must(t, s.CreateConnection(ctx(), c), "create connection")
	}
	for _, p := range []*store.BuildProfile{
		newProfile("t1", "p1", "one", "a"), newProfile("t1", "p2", "two", "a"),
		newProfile("t1", "p3", "three", "b"), newProfile("t2", "p4", "four", "a"),
	} {
		must(t, s.CreateBuildProfile(ctx(), p), "create profile "+p.ID)
	}
	must(t, s.DeleteConnection(ctx(), "t1", "a"), "delete connection")

	for _, id := range []string{"p1", "p2"} {
		_, err := s.GetBuildProfile(ctx(), "t1", id)
		wantErr(t, err, store.ErrNotFound, "profile of deleted connection "+id)
	}
	_, err := s.GetBuildProfile(ctx(), "t1", "p3")
	must(t, err, "profile of another connection")
	_, err = s.GetBuildProfile(ctx(), "t2", "p4")
	must(t, err, "other tenant's profile of a same-id connection")
	_, err = s.GetConnection(ctx(), "t2", "a")
	must(t, err, "other tenant's same-id connection")
	list, err := whole(s.ListBuildProfiles(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	checkIDs(t, "remaining profiles", profileIDs(list), "p3")

	// Names of cascaded profiles are free again.
	must(t, s.CreateBuildProfile(ctx(), newProfile("t1", "p5", "one", "b")), "reuse cascaded name")
}
