package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
)

// sameConn fails the test unless got and want hold the same data (times compared as instants).
func sameConn(t *testing.T, what string, got, want *store.Connection) {
	t.Helper()
	if g, w := normConn(got), normConn(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got  %s\n want %s", what, dump(g), dump(w))
	}
}

func connIDs(cs []*store.Connection) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// dump renders c with its OAuth details (which %+v would print as a pointer).
func dump(c *store.Connection) string {
	if c.OAuth == nil {
		return fmt.Sprintf("%+v", *c)
	}
	o := *c.OAuth
	secretExpiry := "<nil>"
	if o.ClientSecretExpiry != nil {
		secretExpiry = o.ClientSecretExpiry.String()
	}
	return fmt.Sprintf("%+v OAuth:%+v ClientSecretExpiry:%s", *c, o, secretExpiry)
}

func testConnectionCRUD(t *testing.T, s store.Store) {
	c := newOAuthConn("t1", "c1", "first")
	must(t, s.CreateConnection(ctx(), c), "create")
	if c.Version != 1 {
		t.Fatalf("create: Version = %d, want 1", c.Version)
	}
	got, err := s.GetConnection(ctx(), "t1", "c1")
	must(t, err, "get")
	sameConn(t, "get after create", got, c)

	list, err := whole(s.ListConnections(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	checkIDs(t, "list", connIDs(list), "c1")
	sameConn(t, "listed", list[0], c)

	got.Name, got.Status, got.SealedCredential = "renamed", "failed", []byte{9, 9}
	got.StatusReason, got.StatusMessage = "scope_mismatch", "Grant vso.build."
	got.StatusHistory = append(got.StatusHistory, store.StatusChange{At: at(5), From: "needs_reauth", To: "failed"})
	newSecretExpiry := at(172800)
	got.OAuth.TokenExpiry, got.OAuth.ClientSecretExpiry = at(7200), &newSecretExpiry
	got.OAuth.Scopes = append(got.OAuth.Scopes, "vso.build")
	must(t, s.UpdateConnection(ctx(), got), "update")
	if got.Version != 2 {
		t.Fatalf("update: Version = %d, want 2", got.Version)
	}
	if !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("update changed CreatedAt: %v, want %v", got.CreatedAt, c.CreatedAt)
	}
	again, err := s.GetConnection(ctx(), "t1", "c1")
	must(t, err, "get after update")
	sameConn(t, "get after update", again, got)
	list, err = whole(s.ListConnections(ctx(), "t1", store.Page{}))
	must(t, err, "list after update")
	checkIDs(t, "list after update", connIDs(list), "c1")
	sameConn(t, "listed after update", list[0], got)

	// The old name is free after a rename.
	must(t, s.CreateConnection(ctx(), newConn("t1", "c2", "first")), "reuse old name")

	must(t, s.DeleteConnection(ctx(), "t1", "c1"), "delete")
	_, err = s.GetConnection(ctx(), "t1", "c1")
	wantErr(t, err, store.ErrNotFound, "get after delete")
	wantErr(t, s.DeleteConnection(ctx(), "t1", "c1"), store.ErrNotFound, "delete twice")
	wantErr(t, s.UpdateConnection(ctx(), again), store.ErrNotFound, "update deleted")
	_, err = s.GetConnection(ctx(), "t1", "never")
	wantErr(t, err, store.ErrNotFound, "get missing")

	// The deleted connection's name is free again.
	must(t, s.CreateConnection(ctx(), newConn("t1", "c3", "renamed")), "reuse deleted name")
	list, err = whole(s.ListConnections(ctx(), "t1", store.Page{}))
	must(t, err, "list after delete")
	checkIDs(t, "list after delete", connIDs(list), "c2", "c3")
}

func testConnectionInvalid(t *testing.T, s store.Store) {
	wantErr(t, s.CreateConnection(ctx(), nil), store.ErrInvalid, "nil")
	wantErr(t, s.CreateConnection(ctx(), newConn("t1", "", "n")), store.ErrInvalid, "empty id")
	wantErr(t, s.CreateConnection(ctx(), newConn("", "c1", "n")), store.ErrInvalid, "empty tenant")
	wantErr(t, s.CreateConnection(ctx(), newConn("t1", "c1", "")), store.ErrInvalid, "empty name")
	for _, tenant := range []string{"t1", ""} {
		list, err := whole(s.ListConnections(ctx(), tenant, store.Page{}))
		must(t, err, "list")
		if len(list) != 0 {
			t.Fatalf("tenant %q: invalid records were stored: %q", tenant, connIDs(list))
		}
	}
	_, err := s.GetConnection(ctx(), "", "c1")
	wantErr(t, err, store.ErrNotFound, "get record with empty tenant")
	// A valid record with the same id/name can still be created.
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "n")), "create valid")
}

func testConnectionTenantIsolation(t *testing.T, s store.Store) {
	c := newConn("t1", "c1", "shared")
	must(t, s.CreateConnection(ctx(), c), "create")

	_, err := s.GetConnection(ctx(), "t2", "c1")
	wantErr(t, err, store.ErrNotFound, "get other tenant")
	wantErr(t, s.DeleteConnection(ctx(), "t2", "c1"), store.ErrNotFound, "delete other tenant")
	foreign := newConn("t2", "c1", "hijacked")
	foreign.Version = 1
	wantErr(t, s.UpdateConnection(ctx(), foreign), store.ErrNotFound, "update other tenant")

	list, err := whole(s.ListConnections(ctx(), "t2", store.Page{}))
	must(t, err, "list other tenant")
	if len(list) != 0 {
		t.Fatalf("tenant t2 sees %q", connIDs(list))
	}
	got, err := s.GetConnection(ctx(), "t1", "c1")
	must(t, err, "get own")
	sameConn(t, "owner's record untouched", got, c)
}

func testConnectionNameConflict(t *testing.T, s store.Store) {
	must(t, s.CreateConnection(ctx(), newConn("t1", "c1", "dup")), "create")
	wantErr(t, s.CreateConnection(ctx(), newConn("t1", "c2", "dup")), store.ErrConflict, "same name")
	wantErr(t, s.CreateConnection(ctx(), newConn("t1", "c1", "other")), store.ErrConflict, "same id")
	must(t, s.CreateConnection(ctx(), newConn("t2", "c9", "dup")), "same name, other tenant")

	must(t, s.CreateConnection(ctx(), newConn("t1", "c3", "third")), "create third")
	c3, err := s.GetConnection(ctx(), "t1", "c3")
	must(t, err, "get third")
	c3.Name = "dup"
	wantErr(t, s.UpdateConnection(ctx(), c3), store.ErrConflict, "rename onto taken name")
	got, err := s.GetConnection(ctx(), "t1", "c3")
	must(t, err, "get after refused rename")
	if got.Name != "third" || got.Version != 1 {
		t.Fatalf("refused rename was applied: name %q version %d", got.Name, got.Version)
	}
	list, err := whole(s.ListConnections(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	checkIDs(t, "list", connIDs(list), "c1", "c3")
}

func testConnectionVersioning(t *testing.T, s store.Store) {
	c := newConn("t1", "c1", "v")
	c.Version = 42 // ignored by Create
	must(t, s.CreateConnection(ctx(), c), "create")
	if c.Version != 1 {
		t.Fatalf("create: Version = %d, want 1", c.Version)
	}
	stale := *c
	for want := int64(2); want <= 3; want++ {
		c.Status = "step"
		must(t, s.UpdateConnection(ctx(), c), "update")
		if c.Version != want {
			t.Fatalf("update: Version = %d, want %d", c.Version, want)
		}
	}
	stale.Status = "stale write"
	wantErr(t, s.UpdateConnection(ctx(), &stale), store.ErrStale, "stale update")
	if stale.Version != 1 {
		t.Fatalf("refused update changed the argument's Version to %d", stale.Version)
	}
	future := *c
	future.Version = 99
	wantErr(t, s.UpdateConnection(ctx(), &future), store.ErrStale, "future version")
	got, err := s.GetConnection(ctx(), "t1", "c1")
	must(t, err, "get")
	if got.Version != 3 || got.Status != "step" {
		t.Fatalf("stale update applied: version %d status %q", got.Version, got.Status)
	}
}

func testConnectionOrdering(t *testing.T, s store.Store) {
	// Inserted out of order; two share a CreatedAt and must be ordered by ID.
	for _, c := range []struct {
		tenant, id string
		sec        int
	}{{"t1", "late", 30}, {"t1", "b-same", 10}, {"t1", "early", -5}, {"t1", "a-same", 10}, {"t2", "zz", -100}} {
		rec := newConn(c.tenant, c.id, "name-"+c.id)
		rec.CreatedAt = at(c.sec)
		must(t, s.CreateConnection(ctx(), rec), "create "+c.id)
	}
	list, err := whole(s.ListConnections(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	checkIDs(t, "ordering", connIDs(list), "early", "a-same", "b-same", "late")

	zero := newConn("t3", "z", "zero")
	zero.CreatedAt = time.Time{}
	must(t, s.CreateConnection(ctx(), zero), "create with zero CreatedAt")
	got, err := s.GetConnection(ctx(), "t3", "z")
	must(t, err, "get")
	if got.CreatedAt.IsZero() {
		t.Fatal("zero CreatedAt was not filled")
	}
}
