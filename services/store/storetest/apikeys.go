package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/repoconnect/repoconnect/services/store"
)

// sameKey fails the test unless got and want hold the same data.
func sameKey(t *testing.T, what string, got, want *store.APIKey) {
	t.Helper()
	g, w := *got, *want
	g.CreatedAt, w.CreatedAt = g.CreatedAt.UTC(), w.CreatedAt.UTC()
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, g, w)
	}
}

func keyIDs(ks []*store.APIKey) []string {
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
	}
	return ids
}

// hashOf returns the hex SHA-256 of seed, shaped like a real APIKey.Hash.
func hashOf(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])
}

func testAPIKeyCRUD(t *testing.T, s store.Store) {
	k := newKey("t1", "k1", hashOf("aa"))
	must(t, s.CreateAPIKey(ctx(), k), "create")
	got, err := s.APIKeyByHash(ctx(), hashOf("aa"))
	must(t, err, "by hash")
	sameKey(t, "by hash", got, k)
	list, err := whole(s.ListAPIKeys(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	checkIDs(t, "list", keyIDs(list), "k1")
	sameKey(t, "listed", list[0], k)

	_, err = s.APIKeyByHash(ctx(), hashOf("bb"))
	wantErr(t, err, store.ErrNotFound, "unknown hash")
	_, err = s.APIKeyByHash(ctx(), "")
	wantErr(t, err, store.ErrNotFound, "empty hash")

	must(t, s.DeleteAPIKey(ctx(), "t1", "k1"), "delete")
	_, err = s.APIKeyByHash(ctx(), hashOf("aa"))
	wantErr(t, err, store.ErrNotFound, "by hash after delete")
	wantErr(t, s.DeleteAPIKey(ctx(), "t1", "k1"), store.ErrNotFound, "delete twice")
	list, err = whole(s.ListAPIKeys(ctx(), "t1", store.Page{}))
	must(t, err, "list after delete")
	if len(list) != 0 {
		t.Fatalf("deleted key still listed: %q", keyIDs(list))
	}
	must(t, s.CreateAPIKey(ctx(), newKey("t1", "k2", hashOf("aa"))), "reuse hash after delete")
}

func testAPIKeyInvalid(t *testing.T, s store.Store) {
	wantErr(t, s.CreateAPIKey(ctx(), nil), store.ErrInvalid, "nil")
	wantErr(t, s.CreateAPIKey(ctx(), newKey("t1", "", hashOf("aa"))), store.ErrInvalid, "empty id")
	wantErr(t, s.CreateAPIKey(ctx(), newKey("", "k1", hashOf("aa"))), store.ErrInvalid, "empty tenant")
	wantErr(t, s.CreateAPIKey(ctx(), newKey("t1", "k1", "")), store.ErrInvalid, "empty hash")
	_, err := s.APIKeyByHash(ctx(), hashOf("aa"))
	wantErr(t, err, store.ErrNotFound, "invalid key was stored")
}

func testAPIKeyTenantIsolation(t *testing.T, s store.Store) {
	k := newKey("t1", "k1", hashOf("aa"))
	must(t, s.CreateAPIKey(ctx(), k), "create")
	wantErr(t, s.DeleteAPIKey(ctx(), "t2", "k1"), store.ErrNotFound, "delete other tenant")
	list, err := whole(s.ListAPIKeys(ctx(), "t2", store.Page{}))
	must(t, err, "list other tenant")
	if len(list) != 0 {
		t.Fatalf("tenant t2 sees %q", keyIDs(list))
	}
	got, err := s.APIKeyByHash(ctx(), hashOf("aa"))
	must(t, err, "by hash")
	sameKey(t, "owner's key untouched", got, k)
}

func testAPIKeyConflicts(t *testing.T, s store.Store) {
	must(t, s.CreateAPIKey(ctx(), newKey("t1", "k1", hashOf("aa"))), "create")
	wantErr(t, s.CreateAPIKey(ctx(), newKey("t1", "k1", hashOf("bb"))), store.ErrConflict, "same id")
	wantErr(t, s.CreateAPIKey(ctx(), newKey("t1", "k2", hashOf("aa"))), store.ErrConflict, "same hash")
	wantErr(t, s.CreateAPIKey(ctx(), newKey("t2", "k3", hashOf("aa"))), store.ErrConflict, "same hash, other tenant")
	got, err := s.APIKeyByHash(ctx(), hashOf("aa"))
	must(t, err, "by hash")
	if got.ID != "k1" || got.TenantID != "t1" {
		t.Fatalf("hash resolves to %s/%s, want t1/k1", got.TenantID, got.ID)
	}
	_, err = s.APIKeyByHash(ctx(), hashOf("bb"))
	wantErr(t, err, store.ErrNotFound, "refused key was stored")
}

func testAPIKeyOrderingAndCopies(t *testing.T, s store.Store) {
	for _, c := range []struct {
		id  string
		sec int
	}{{"late", 30}, {"b-same", 10}, {"early", -5}, {"a-same", 10}} {
		k := newKey("t1", c.id, hashOf(c.id))
		k.CreatedAt = at(c.sec)
		must(t, s.CreateAPIKey(ctx(), k), "create "+c.id)
		k.TenantID = "mutated-arg"
	}
	list, err := whole(s.ListAPIKeys(ctx(), "t1", store.Page{}))
	must(t, err, "list")
	checkIDs(t, "ordering", keyIDs(list), "early", "a-same", "b-same", "late")
	list[0].TenantID = "mutated-list"
	got, err := s.APIKeyByHash(ctx(), hashOf("early"))
	must(t, err, "by hash")
	if got.TenantID != "t1" {
		t.Fatalf("store shares memory with callers: TenantID = %q", got.TenantID)
	}
	got.Hash = "mutated-get"
	again, err := s.APIKeyByHash(ctx(), hashOf("early"))
	must(t, err, "by hash again")
	if again.Hash != hashOf("early") {
		t.Fatalf("store shares memory with callers: Hash = %q", again.Hash)
	}
}
