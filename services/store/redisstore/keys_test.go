package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

// fill creates one record of every kind in tenant t1 of s, and holds a lock.
func fill(t *testing.T, s *Store, hash string) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateConnection(ctx, &store.Connection{ID: "c1", TenantID: "t1", Name: "conn"}))
	must(s.CreateBuildProfile(ctx, &store.BuildProfile{ID: "p1", TenantID: "t1", Name: "prof", ConnectionID: "c1"}))
	must(s.CreateAPIKey(ctx, &store.APIKey{ID: "k1", TenantID: "t1", Hash: hash}))
	must(s.PutOAuthState(ctx, &store.OAuthState{Key: "st-" + hash, TenantID: "t1", ConnectionID: "c1", ExpiresAt: time.Now().Add(time.Hour)}))
	_, err := s.Lock(ctx, "refresh:c1", time.Minute)
	must(err)
}

// scanKeys returns every key of db 0 of c.
func scanKeys(t *testing.T, c redis.UniversalClient) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(context.Background(), 0, "*", 100).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestKeyLayout(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	client := srv.Client()
	ctx := context.Background()
	alpha, err := New(client, Options{Prefix: "alpha"})
	if err != nil {
		t.Fatal(err)
	}
	beta, err := New(client, Options{Prefix: "beta.2"})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, alpha, "hash-a")

	keys := scanKeys(t, client)
	if len(keys) < 10 {
		t.Fatalf("only %d keys: %q", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "alpha:v1:") {
			t.Errorf("key %q does not start with the prefix and the version", k)
		}
		if strings.HasPrefix(k, "alpha:v1:t:") && !strings.HasPrefix(k, "alpha:v1:t:{t1}:") {
			t.Errorf("tenant key %q lacks the tenant's hash tag", k)
		}
	}

	// The other prefix sees none of it, and its own records do not clash.
	if list, _, err := beta.ListConnections(ctx, "t1", store.Page{}); err != nil || len(list) != 0 {
		t.Fatalf("beta lists alpha's connections: %v %v", list, err)
	}
	if _, err := beta.GetBuildProfile(ctx, "t1", "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("beta gets alpha's profile: %v", err)
	}
	if _, err := beta.APIKeyByHash(ctx, "hash-a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("beta finds alpha's api key: %v", err)
	}
	if _, err := beta.TakeOAuthState(ctx, "st-hash-a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("beta takes alpha's oauth state: %v", err)
	}
	fill(t, beta, "hash-a") // same ids, names, hash, state key and lock name: no conflict
	for _, k := range scanKeys(t, client) {
		if !strings.HasPrefix(k, "alpha:v1:") && !strings.HasPrefix(k, "beta.2:v1:") {
			t.Errorf("key %q has neither prefix", k)
		}
	}
	if err := alpha.DeleteConnection(ctx, "t1", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := beta.GetBuildProfile(ctx, "t1", "p1"); err != nil {
		t.Fatalf("alpha's cascade reached beta: %v", err)
	}
}

// TestEscapedKeys: ids, names and tenants with the characters that structure keys (':',
// '{', '}', '%', '+', ' ') make distinct records and never break the hash tag.
func TestEscapedKeys(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s, err := New(srv.Client(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	testEscapedKeys(t, s)
}

func testEscapedKeys(t *testing.T, s *Store) {
	ctx := context.Background()
	pairs := [][2]string{{"a:b", "c"}, {"a", "b:c"}, {"a}", "{b"}, {"{a", "}b"}, {"a b", "c"}, {"a+b", "c"}, {"a%20b", "c"}, {"a", "conn_names"}}
	for _, p := range pairs {
		c := &store.Connection{ID: p[1], TenantID: p[0], Name: p[0] + "/" + p[1]}
		if err := s.CreateConnection(ctx, c); err != nil {
			t.Fatalf("create %q: %v", p, err)
		}
		prof := &store.BuildProfile{ID: p[1], TenantID: p[0], Name: p[1], ConnectionID: p[1]}
		if err := s.CreateBuildProfile(ctx, prof); err != nil {
			t.Fatalf("create profile %q: %v", p, err)
		}
	}
	for _, p := range pairs {
		got, err := s.GetConnection(ctx, p[0], p[1])
		if err != nil || got.Name != p[0]+"/"+p[1] {
			t.Fatalf("get %q: %+v %v", p, got, err)
		}
		list, _, err := s.ListBuildProfiles(ctx, p[0], store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if l.TenantID != p[0] {
				t.Fatalf("tenant %q lists a profile of %q", p[0], l.TenantID)
			}
		}
	}
	for _, p := range pairs {
		if err := s.DeleteConnection(ctx, p[0], p[1]); err != nil {
			t.Fatalf("delete %q: %v", p, err)
		}
		if _, err := s.GetBuildProfile(ctx, p[0], p[1]); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("profile %q outlived its connection: %v", p, err)
		}
	}
	if keys := withoutMemos(t, s, scanKeysWithPrefix(t, s)); len(keys) != 0 {
		t.Fatalf("keys left after deleting everything: %q", keys)
	}
}

// withoutMemos returns keys without the write memos (scripts.go), after checking that each
// of those expires by itself within a minute.
func withoutMemos(t *testing.T, s *Store, keys []string) []string {
	t.Helper()
	var rest []string
	for _, k := range keys {
		if !strings.Contains(k, ":write:") {
			rest = append(rest, k)
			continue
		}
		if ttl := s.Client().PTTL(context.Background(), k).Val(); ttl <= 0 || ttl > time.Minute {
			t.Errorf("write memo %q has PTTL %v, want at most a minute", k, ttl)
		}
	}
	return rest
}

// scanKeysWithPrefix returns the keys of s's prefix on every node of its client.
func scanKeysWithPrefix(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	var (
		mu   sync.Mutex // ForEachMaster scans the masters concurrently
		keys []string
	)
	scan := func(c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, s.Prefix()+":*", 100).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			keys = append(keys, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.Client().(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(c) })
	} else {
		err = scan(s.Client())
	}
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
