package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

func openClocked(t *testing.T) (*Store, *storetest.Clock) {
	t.Helper()
	clock := storetest.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	s, err := Open(filepath.Join(t.TempDir(), "repoconnect.db"), Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clock
}

// countOAuth returns the number of records and of index entries of the OAuth state buckets.
func countOAuth(t *testing.T, s *Store) (states, index int) {
	t.Helper()
	err := s.db.View(func(tx *bbolt.Tx) error {
		states = tx.Bucket(bucketOAuthStates).Stats().KeyN
		index = tx.Bucket(bucketOAuthExpiry).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return states, index
}

func TestOAuthStateExpiryByStoreClock(t *testing.T) {
	s, clock := openClocked(t)
	ctx := context.Background()
	st := &store.OAuthState{Key: "k1", TenantID: "t1", ConnectionID: "c1", ExpiresAt: clock.Now().Add(time.Minute)}
	if err := s.PutOAuthState(ctx, st); err != nil {
		t.Fatal(err)
	}
	if !st.CreatedAt.Equal(clock.Now()) {
		t.Fatalf("CreatedAt = %v, want the store clock's %v", st.CreatedAt, clock.Now())
	}
	clock.Advance(time.Minute) // now == ExpiresAt: expired
	if _, err := s.TakeOAuthState(ctx, "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("take at ExpiresAt: got %v, want ErrNotFound", err)
	}
	if n, idx := countOAuth(t, s); n != 0 || idx != 0 {
		t.Fatalf("expired state not deleted by take: %d states, %d index entries", n, idx)
	}
}

func TestOAuthStatePurgeIsBounded(t *testing.T) {
	s, clock := openClocked(t)
	ctx := context.Background()
	const expired = MaxPurgePerPut + 20
	err := s.db.Update(func(tx *bbolt.Tx) error { // one transaction: fast
		states, idx := tx.Bucket(bucketOAuthStates), tx.Bucket(bucketOAuthExpiry)
		for i := range expired {
			st := store.OAuthState{Key: fmt.Sprintf("old-%03d", i), TenantID: "t1", ConnectionID: "c1",
				ExpiresAt: clock.Now().Add(time.Duration(i) * time.Second)}
			if err := idx.Put(expiryKey(st.ExpiresAt, st.Key), []byte{}); err != nil {
				return err
			}
			if err := putJSON(states, []byte(st.Key), &st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour) // every "old" state has expired
	live := func(k string) *store.OAuthState {
		return &store.OAuthState{Key: k, TenantID: "t1", ConnectionID: "c1", ExpiresAt: clock.Now().Add(time.Hour)}
	}
	if err := s.PutOAuthState(ctx, live("new-1")); err != nil {
		t.Fatal(err)
	}
	if n, idx := countOAuth(t, s); n != expired-MaxPurgePerPut+1 || idx != n {
		t.Fatalf("after one put: %d states, %d index entries; want %d", n, idx, expired-MaxPurgePerPut+1)
	}
	// The oldest expiries went first.
	if _, err := s.TakeOAuthState(ctx, "old-000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("oldest state: got %v, want ErrNotFound", err)
	}
	if err := s.PutOAuthState(ctx, live("new-2")); err != nil {
		t.Fatal(err)
	}
	if n, idx := countOAuth(t, s); n != 2 || idx != 2 {
		t.Fatalf("after two puts: %d states, %d index entries; want the 2 live ones", n, idx)
	}
	for _, k := range []string{"new-1", "new-2"} {
		if _, err := s.TakeOAuthState(ctx, k); err != nil {
			t.Fatalf("take %s: %v", k, err)
		}
	}
}

func TestExpiryKeyOrder(t *testing.T) {
	times := []time.Time{time.Unix(-5, 999), time.Unix(-5, 1000), time.Unix(0, 0), time.Unix(0, 1), time.Unix(1<<40, 0)}
	for i, at := range times {
		k := expiryKey(at, "x")
		if got := expiryOf(k); !got.Equal(at) {
			t.Errorf("expiryOf(expiryKey(%v)) = %v", at, got)
		}
		if i > 0 && string(expiryKey(times[i-1], "x")) >= string(k) {
			t.Errorf("key of %v does not sort after the key of %v", at, times[i-1])
		}
	}
}

func TestLockExpiredWithoutTakeover(t *testing.T) {
	s, clock := openClocked(t)
	ctx := context.Background()
	unlock, err := s.Lock(ctx, "x", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second) // now == expiry: the grant is void
	if err := unlock(ctx); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("unlock after the ttl: got %v, want ErrLockLost", err)
	}
	if err := unlock(ctx); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("second unlock: got %v, want ErrLockLost", err)
	}
	// The expired grant is free for the next taker, which is not disturbed by stale unlocks.
	next, err := s.Lock(ctx, "x", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(ctx); !errors.Is(err, store.ErrLockLost) {
		t.Fatalf("stale unlock: got %v, want ErrLockLost", err)
	}
	if err := next(ctx); err != nil {
		t.Fatalf("unlock by the current holder: %v", err)
	}
}

func TestLockSweepsAbandonedGrants(t *testing.T) {
	s, clock := openClocked(t)
	ctx := context.Background()
	for i := range maxSweepPerTake / 2 {
		if _, err := s.Lock(ctx, fmt.Sprintf("abandoned-%d", i), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Minute)
	unlock, err := s.Lock(ctx, "fresh", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.locks.mu.Lock()
	n := len(s.locks.held)
	s.locks.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d grants held after a sweep, want only the fresh one", n)
	}
	if err := unlock(ctx); err != nil {
		t.Fatal(err)
	}
}
