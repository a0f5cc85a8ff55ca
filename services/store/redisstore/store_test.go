package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

// newStore returns a Store with a fresh prefix on a server of its own, and that server's client.
func newStore(t *testing.T, opts Options) (*Store, *redis.Client) {
	t.Helper()
	client := redistest.Start(t, redistest.Options{}).Client()
	if opts.Prefix == "" {
		opts.Prefix = nextPrefix()
	}
	s, err := New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, client
}

// waitGone polls until key no longer exists (its expiry passed), failing after 5 s.
func waitGone(t *testing.T, c *redis.Client, key string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		n, err := c.Exists(context.Background(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("key %q did not expire", key)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOAuthStateByStoreClock(t *testing.T) {
	clock := storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	s, client := newStore(t, Options{Now: clock.Now})
	ctx := context.Background()
	st := &store.OAuthState{Key: "k1", TenantID: "t1", ConnectionID: "c1", ExpiresAt: clock.Now().Add(time.Minute + 500*time.Microsecond)}
	if err := s.PutOAuthState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if !st.CreatedAt.Equal(clock.Now()) {
		t.Fatalf("CreatedAt = %v, want the store clock's %v", st.CreatedAt, clock.Now())
	}
	// Redis expires the key at ExpiresAt by the store's clock, rounded up to the millisecond.
	if ttl := client.PTTL(ctx, s.oauthStateKey("k1")).Val(); ttl <= 59*time.Second || ttl > time.Minute+time.Millisecond {
		t.Fatalf("PTTL = %v, want about a minute", ttl)
	}
	clock.Advance(time.Minute + time.Millisecond) // past ExpiresAt, though Redis still has it
	if _, err := s.TakeOAuthState(ctx, "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("take after ExpiresAt: got %v, want ErrNotFound", err)
	}
	if n := client.Exists(ctx, s.oauthStateKey("k1")).Val(); n != 0 {
		t.Fatal("an expired state was not deleted by take")
	}

	// A state expired by the store's clock but still in Redis does not block its key.
	old := &store.OAuthState{Key: "k2", TenantID: "t1", ConnectionID: "old", ExpiresAt: clock.Now().Add(time.Minute)}
	if err := s.PutOAuthState(ctx, old); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	fresh := &store.OAuthState{Key: "k2", TenantID: "t1", ConnectionID: "new", ExpiresAt: clock.Now().Add(time.Minute)}
	if err := s.PutOAuthState(ctx, fresh); err != nil {
		t.Fatalf("put over a state expired by the store's clock: %v", err)
	}
	got, err := s.TakeOAuthState(ctx, "k2")
	if err != nil || got.ConnectionID != "new" {
		t.Fatalf("take: %+v %v", got, err)
	}
	// An already expired state is accepted without being stored, unless a live one holds the key.
	if err := s.PutOAuthState(ctx, &store.OAuthState{Key: "k3", TenantID: "t1", ConnectionID: "c", ExpiresAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if n := client.Exists(ctx, s.oauthStateKey("k3")).Val(); n != 0 {
		t.Fatal("an expired state was stored")
	}
	if err := s.PutOAuthState(ctx, &store.OAuthState{Key: "k4", TenantID: "t1", ConnectionID: "c", ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	err = s.PutOAuthState(ctx, &store.OAuthState{Key: "k4", TenantID: "t2", ConnectionID: "c", ExpiresAt: clock.Now().Add(-time.Hour)})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("an expired state over a live one: got %v, want ErrConflict", err)
	}
}

func TestCanceledContext(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CreateConnection(ctx, &store.Connection{ID: "c1", TenantID: "t1", Name: "n"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("create with a canceled ctx: got %v", err)
	}
	if _, err := s.GetConnection(context.Background(), "t1", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record stored despite a canceled ctx: %v", err)
	}
	if _, err := s.Lock(ctx, "l", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock with a canceled ctx: got %v", err)
	}
	if _, _, err := s.ListConnections(ctx, "t1", store.Page{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("list with a canceled ctx: got %v", err)
	}
}

// TestListSkipsVanishedRecords: index members whose record is gone (as when a delete runs
// between the ZRANGE and the fetch) are skipped, and pages stay full.
func TestListSkipsVanishedRecords(t *testing.T) {
	s, client := newStore(t, Options{})
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c", "d"} {
		c := &store.Connection{ID: id, TenantID: "t1", Name: id, CreatedAt: time.Unix(int64(10*i), 0)}
		if err := s.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		// A phantom member sorting right after each record.
		if err := client.ZAdd(ctx, s.connIndexKey("t1"), redis.Z{Member: store.SortKey(c.CreatedAt, id+"-gone")}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	after, pages := "", 0
	for {
		list, next, err := s.ListConnections(ctx, "t1", store.Page{After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(list) == 0 && next != "" {
			t.Fatal("an empty page with a next cursor")
		}
		for _, c := range list {
			got = append(got, c.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if strings.Join(got, ",") != "a,b,c,d" || pages > 3 {
		t.Fatalf("listed %q in %d pages", got, pages)
	}
}

func TestOpenAndClose(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()

	s, err := Open(ctx, srv.URL(2)+"?prefix=from-url", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Prefix() != "from-url" {
		t.Fatalf("prefix %q, want the URL's", s.Prefix())
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateConnection(ctx, &store.Connection{ID: "c1", TenantID: "t1", Name: "n"}); err != nil {
		t.Fatal(err)
	}
	db2 := redis.NewClient(&redis.Options{Addr: srv.Addr(), DB: 2})
	defer db2.Close()
	if keys := db2.Keys(ctx, "from-url:v1:*").Val(); len(keys) == 0 {
		t.Fatal("the URL's database 2 holds no keys of the store")
	}
	if keys := srv.Client().Keys(ctx, "*").Val(); len(keys) != 0 {
		t.Fatalf("database 0 holds %q", keys)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Client().Ping(ctx).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("Open's client still usable after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s, err = Open(ctx, srv.URL(2)+"?prefix=from-url", Options{Prefix: "from-opts"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Prefix() != "from-opts" {
		t.Fatalf("prefix %q, want Options.Prefix", s.Prefix())
	}
	s.Close()

	// Unreachable: the error names the URL without its password.
	dead := "redis://u:Sup3rSecret@127.0.0.1:1/0?dial_timeout=200ms&max_retries=-1"
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := Open(short, dead, Options{}); err == nil || strings.Contains(err.Error(), "Sup3rSecret") ||
		!strings.Contains(err.Error(), "redis://u:xxxxx@127.0.0.1:1/0") {
		t.Fatalf("Open of an unreachable server: %v", err)
	}
	for _, bad := range []string{"", "a b", strings.Repeat("p", 65), "x{y}"} {
		if _, err := New(srv.Client(), Options{Prefix: bad}); err == nil && bad != "" {
			t.Errorf("prefix %q accepted", bad)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("nil client accepted")
	}

	// New does not own the client: Close leaves it open.
	client := srv.Client()
	s, err = New(client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Prefix() != DefaultPrefix {
		t.Fatalf("default prefix %q", s.Prefix())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("Close closed a client it does not own: %v", err)
	}
}

func TestLockTTLPassedBeforeUnlock(t *testing.T) {
	s, client := newStore(t, Options{})
	ctx := context.Background()
	unlock, err := s.Lock(ctx, "x", 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, client, s.lockKey("x")) // the holder overruns its ttl; nobody else takes the lock
	if err := unlock(ctx); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("unlock after the ttl: got %v, want ErrLockLost", err)
	}
	if err := unlock(ctx); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("second unlock: got %v, want ErrLockLost", err)
	}
	next, err := s.Lock(ctx, "x", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := next(ctx); err != nil {
		t.Fatal(err)
	}
}
