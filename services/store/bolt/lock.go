package bolt

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
)

// maxSweepPerTake bounds how many other entries one successful Lock inspects to drop expired
// holdings that were never unlocked (map iteration starts at a random entry, so repeated takes
// cover the whole table).
const maxSweepPerTake = 32

// lockTable holds the named locks of one Store. The zero value is not ready: held must be set.
type lockTable struct {
	mu   sync.Mutex
	held map[string]*holding // by lock name; an entry may be expired until taken or swept
}

// holding is one grant of a lock.
type holding struct {
	expires time.Time     // by the store's clock; the grant is void at or after it
	done    chan struct{} // closed when the grant ends (released, replaced or swept)
}

// Lock takes the lock called name for at most ttl, waiting while another holder has it and
// its ttl has not passed. The returned store.Unlock releases it.
//
// The lock lives in the memory of this process: a bbolt file is opened by one process only
// (Open takes an exclusive file lock), so this serializes every user of the store. It is not
// persisted (a restart frees every lock), it does not touch the file and keeps working after
// Close, and it is not fair (any waiter may win when the lock frees). Expiry is judged by the
// store's clock (Options.Now): a grant ends once Now() is at or after the take time plus ttl.
// Waiters are woken when the holder unlocks or, by a timer, when the grant's ttl runs out; no
// polling.
//
// Errors: store.ErrInvalid (wrapped) for an empty name or a ttl <= 0; ctx.Err() when ctx is
// done before the lock is taken (also when it is already done on entry).
//
// Unlock (its ctx is not consulted; releasing never blocks) returns nil when this grant still
// holds the lock and its ttl has not passed, and releases it. Otherwise it releases nothing
// held by anyone else and returns an error wrapping store.ErrLockLost: when the ttl passed
// (whether or not another holder has taken the lock since), and on every Unlock after the
// first, so a second Unlock of the same grant is ErrLockLost too.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (store.Unlock, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: lock: empty name", store.ErrInvalid)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("%w: lock %q: ttl %v is not positive", store.ErrInvalid, name, ttl)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, wait, done := s.locks.tryTake(name, ttl, s.now())
		if h != nil {
			return func(context.Context) error { return s.locks.release(name, h, s.now()) }, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-done:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
}

// tryTake grants the lock name until now+ttl when it is free or its grant has expired.
// Otherwise it returns nil, how long the current grant has left by the store's clock, and a
// channel closed when that grant ends.
func (t *lockTable) tryTake(name string, ttl time.Duration, now time.Time) (*holding, time.Duration, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.held[name]; cur != nil {
		if now.Before(cur.expires) {
			return nil, cur.expires.Sub(now), cur.done
		}
		close(cur.done) // wake the other waiters: they wait for the new grant now
	}
	t.sweep(now, name)
	h := &holding{expires: now.Add(ttl), done: make(chan struct{})}
	t.held[name] = h
	return h, 0, nil
}

// release ends grant h of lock name; see Lock for the result. t.mu must not be held.
func (t *lockTable) release(name string, h *holding, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held[name] != h {
		return fmt.Errorf("%w: lock %q: released already, or expired and taken by another holder",
			store.ErrLockLost, name)
	}
	delete(t.held, name)
	close(h.done)
	if !now.Before(h.expires) {
		return fmt.Errorf("%w: lock %q: ttl passed before unlock", store.ErrLockLost, name)
	}
	return nil
}

// sweep drops up to maxSweepPerTake expired grants other than skip's. t.mu must be held.
func (t *lockTable) sweep(now time.Time, skip string) {
	n := 0
	for name, h := range t.held {
		if n++; n > maxSweepPerTake {
			return
		}
		if name != skip && !now.Before(h.expires) {
			delete(t.held, name)
			close(h.done)
		}
	}
}
