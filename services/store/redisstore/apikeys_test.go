package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
)

// TestAPIKeyHalfDoneWrites plays the states a crash between the steps of CreateAPIKey or
// DeleteAPIKey leaves behind: none of them lets a hash authenticate a key that is not listed
// or cannot be revoked, and none blocks the hash for good.
func TestAPIKeyHalfDoneWrites(t *testing.T) {
	s, client := newStore(t, Options{})
	ctx := context.Background()
	key := func(id, hash string) *store.APIKey { return &store.APIKey{ID: id, TenantID: "t1", Hash: hash} }

	t.Run("creator died after claiming", func(t *testing.T) {
		hk := s.apiKeyHashKey("h1")
		claim, _ := newClaim("t1", "ghost")
		if err := client.Set(ctx, hk, claim, 50*time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APIKeyByHash(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a bare claim authenticates: %v", err)
		}
		if err := s.CreateAPIKey(ctx, key("k1", "h1")); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("create over a pending claim: %v", err)
		}
		waitGone(t, client, hk)
		if err := s.CreateAPIKey(ctx, key("k1", "h1")); err != nil {
			t.Fatalf("create after the claim expired: %v", err)
		}
		if ttl := client.PTTL(ctx, hk).Val(); ttl != -1 {
			t.Fatalf("the claim of a created key expires: PTTL %v", ttl)
		}
	})

	t.Run("deleter died after removing the record", func(t *testing.T) {
		hk := s.apiKeyHashKey("h2")
		claim, _ := newClaim("t1", "gone")
		if err := client.Set(ctx, hk, claim, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APIKeyByHash(ctx, "h2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a claim without a record authenticates: %v", err)
		}
		if err := s.CreateAPIKey(ctx, key("k2", "h2")); err != nil {
			t.Fatalf("create over a dangling claim: %v", err)
		}
		got, err := s.APIKeyByHash(ctx, "h2")
		if err != nil || got.ID != "k2" {
			t.Fatalf("by hash after takeover: %+v %v", got, err)
		}
	})

	t.Run("creator died before making the claim permanent", func(t *testing.T) {
		if err := s.CreateAPIKey(ctx, key("k3", "h3")); err != nil {
			t.Fatal(err)
		}
		hk := s.apiKeyHashKey("h3")
		if err := client.PExpire(ctx, hk, time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		waitGone(t, client, hk)
		if _, err := s.APIKeyByHash(ctx, "h3"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a key without its claim authenticates: %v", err)
		}
		list, _, err := s.ListAPIKeys(ctx, "t1", store.Page{})
		if err != nil || !strings.Contains(keyIDs(list), "k3") {
			t.Fatalf("the record is not listed: %v %v", keyIDs(list), err)
		}
		if err := s.DeleteAPIKey(ctx, "t1", "k3"); err != nil {
			t.Fatalf("the record cannot be revoked: %v", err)
		}
	})

	t.Run("the claim names another record", func(t *testing.T) {
		if err := s.CreateAPIKey(ctx, key("k4", "h4")); err != nil {
			t.Fatal(err)
		}
		other, _ := newClaim("t1", "k4") // same tenant and id, another nonce
		if err := client.Set(ctx, s.apiKeyHashKey("h4"), other, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APIKeyByHash(ctx, "h4"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a foreign claim authenticates: %v", err)
		}
		// DeleteAPIKey leaves a claim that is not the record's alone.
		if err := s.DeleteAPIKey(ctx, "t1", "k4"); err != nil {
			t.Fatal(err)
		}
		if v := client.Get(ctx, s.apiKeyHashKey("h4")).Val(); v != other {
			t.Fatalf("delete removed a claim that was not its own: %q", v)
		}
	})
}

func keyIDs(ks []*store.APIKey) string {
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
	}
	return strings.Join(ids, ",")
}
