package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
)

// Bounds of the lock tests: probe is how long a Lock attempt on a held lock must keep waiting
// (it must end with context.DeadlineExceeded); patience is how long a waiter that should get
// the lock may take before the test fails.
const (
	probe    = 30 * time.Millisecond
	patience = 5 * time.Second
)

// lockWithin calls Lock with a context that expires after d.
func lockWithin(s store.Store, name string, ttl, d time.Duration) (store.Unlock, error) {
	c, cancel := context.WithTimeout(ctx(), d)
	defer cancel()
	return s.Lock(c, name, ttl)
}

// wantHeld fails the test unless a Lock attempt on name waits for the whole probe time.
func wantHeld(t *testing.T, s store.Store, name, what string) {
	t.Helper()
	unlock, err := lockWithin(s, name, time.Minute, probe)
	if err == nil {
		_ = unlock(ctx())
		t.Fatalf("%s: lock %q was taken while held", what, name)
	}
	wantErr(t, err, context.DeadlineExceeded, what)
}

// await returns the first value sent on ch, failing the test after patience.
func await(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(patience):
		t.Fatalf("%s: still waiting after %v", what, patience)
		return nil
	}
}

func testLockBasics(t *testing.T, s store.Store) {
	_, err := s.Lock(ctx(), "", time.Minute)
	wantErr(t, err, store.ErrInvalid, "empty name")
	for _, ttl := range []time.Duration{0, -time.Second} {
		_, err = s.Lock(ctx(), "a", ttl)
		wantErr(t, err, store.ErrInvalid, "ttl "+ttl.String())
	}

	unlockA, err := s.Lock(ctx(), "a", time.Minute)
	must(t, err, "lock a")
	unlockB, err := lockWithin(s, "b", time.Minute, patience)
	must(t, err, "lock b while a is held")
	wantHeld(t, s, "a", "a is held")
	must(t, unlockA(ctx()), "unlock a")
	wantErr(t, unlockA(ctx()), store.ErrLockLost, "second unlock of a")

	again, err := lockWithin(s, "a", time.Minute, patience)
	must(t, err, "lock a after unlock")
	wantErr(t, unlockA(ctx()), store.ErrLockLost, "stale unlock while another holds a")
	wantHeld(t, s, "a", "a after a stale unlock")
	must(t, again(ctx()), "unlock a again")
	must(t, unlockB(ctx()), "unlock b")
}

func testLockMutualExclusion(t *testing.T, s store.Store) {
	const n = 32
	counter := 0 // deliberately not atomic: the race detector checks the lock
	var inside atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			c, cancel := context.WithTimeout(ctx(), patience)
			defer cancel()
			unlock, err := s.Lock(c, "counter", time.Minute)
			if err != nil {
				t.Errorf("lock: %v", err)
				return
			}
			if inside.Add(1) != 1 {
				t.Error("two holders inside the lock at once")
			}
			counter++
			inside.Add(-1)
			if err := unlock(ctx()); err != nil {
				t.Errorf("unlock: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if counter != n {
		t.Fatalf("counter = %d, want %d", counter, n)
	}
}

func testLockWaiterBlocked(t *testing.T, s store.Store) {
	unlock, err := s.Lock(ctx(), "w", time.Minute)
	must(t, err, "lock")
	var released atomic.Bool
	got := make(chan error, 1)
	go func() {
		u, err := lockWithin(s, "w", time.Minute, patience)
		if err == nil {
			if !released.Load() {
				err = errors.New("the waiter got the lock before the holder unlocked")
			}
			if uerr := u(ctx()); err == nil {
				err = uerr
			}
		}
		got <- err
	}()
	wantHeld(t, s, "w", "while held") // also gives the waiter time to start waiting
	select {
	case err := <-got:
		t.Fatalf("the waiter returned while the lock was held: %v", err)
	default:
	}
	released.Store(true)
	must(t, unlock(ctx()), "unlock")
	must(t, await(t, got, "waiter"), "waiter")
}

func testLockContextCancel(t *testing.T, s store.Store) {
	unlock, err := s.Lock(ctx(), "c", time.Minute)
	must(t, err, "lock")
	c, cancel := context.WithCancel(ctx())
	defer cancel()
	got := make(chan error, 1)
	go func() {
		u, err := s.Lock(c, "c", time.Minute)
		if err == nil {
			_ = u(ctx())
			err = errors.New("a waiter got a held lock")
		}
		got <- err
	}()
	wantHeld(t, s, "c", "while held")
	cancel()
	wantErr(t, await(t, got, "canceled waiter"), context.Canceled, "canceled waiter")
	must(t, unlock(ctx()), "unlock after the waiter gave up")
	u, err := lockWithin(s, "c", time.Minute, patience)
	must(t, err, "lock after unlock")
	must(t, u(ctx()), "unlock")
}

func testLockExpiry(t *testing.T, s store.Store) {
	unlockOld, err := s.Lock(ctx(), "e", 50*time.Millisecond)
	must(t, err, "lock with a short ttl")
	// The old holder never unlocks in time: a waiter gets the lock once the ttl passes.
	unlockNew, err := lockWithin(s, "e", time.Minute, patience)
	must(t, err, "lock after the ttl passed")
	wantErr(t, unlockOld(ctx()), store.ErrLockLost, "unlock by the expired holder")
	wantHeld(t, s, "e", "after the expired holder's unlock")
	must(t, unlockNew(ctx()), "unlock by the new holder")
	wantErr(t, unlockOld(ctx()), store.ErrLockLost, "expired holder's second unlock")
	wantErr(t, unlockNew(ctx()), store.ErrLockLost, "new holder's second unlock")
}
