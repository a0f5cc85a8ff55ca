package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-redsync/redsync/v4"

	"github.com/repoconnect/repoconnect/services/store"
)

// Retry delays of a Lock waiting for a held lock: the first retry waits 1-2 ms, each later
// one up to twice as long as the one before, up to lockMaxDelay, with full jitter.
const (
	lockMinDelay = time.Millisecond
	lockMaxDelay = 16 * time.Millisecond
)

// Lock takes the lock called name (key P:v1:lock:<name>) for at most ttl, rounded up to a
// millisecond: a redsync mutex on this Redis (SET NX PX with a random value), retried with a
// short jittered delay (1 to 17 ms) until it is free or ctx is done. It serializes every
// process that shares the Redis and the prefix. It is not fair. Expiry is Redis' key expiry:
// a holder that dies leaves the lock to expire after ttl.
//
// Errors: store.ErrInvalid (wrapped) for an empty name or a ttl <= 0; an error wrapping
// ctx.Err() when ctx is done before the lock is taken (also when it is already done on
// entry); an error wrapping store.ErrUnavailable when Redis cannot be reached (go-redis has
// retried the SET NX by then), so an outage is reported at once rather than at ctx's end.
//
// Unlock deletes the lock when it still holds this grant's value (compare-and-delete script)
// and returns nil when, besides, the grant's validity (its ttl less the time the take took
// and a 1% clock-drift allowance, by this process's clock) has not passed. Otherwise it
// returns an error wrapping store.ErrLockLost: when the lock had expired (whether or not
// another holder took it since; another holder's lock is never released), when the validity
// passed before the Unlock, and on every Unlock after the first. A Redis error is returned
// as such (the lock is then released by its ttl, or by a later Unlock).
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (_ store.Unlock, err error) {
	defer unavailable(&err)
	if name == "" {
		return nil, fmt.Errorf("%w: lock: empty name", store.ErrInvalid)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("%w: lock %q: ttl %v is not positive", store.ErrInvalid, name, ttl)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisstore: lock %q: %w", name, err)
	}
	m := s.locks.NewMutex(s.lockKey(name),
		redsync.WithExpiry(roundUpMs(ttl)),
		// Each SET NX may take half the ttl (default 5%, too tight for short ttls).
		redsync.WithTimeoutFactor(0.5),
	)
	// One attempt at a time (TryLockContext), so that an outage ends the wait at once
	// (go-redis has already retried the command) instead of holding the request until ctx
	// is done; a lock held by another is waited for.
	var timer *time.Timer
	for tries := 0; ; tries++ {
		if tries > 0 {
			if timer == nil {
				timer = time.NewTimer(lockRetryDelay(tries))
				defer timer.Stop()
			} else {
				timer.Reset(lockRetryDelay(tries))
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("redisstore: lock %q: %w", name, ctx.Err())
			case <-timer.C:
			}
		}
		err := m.TryLockContext(ctx)
		if err == nil {
			break
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("redisstore: lock %q: %w", name, cerr)
		}
		if isOutage(err) {
			return nil, fmt.Errorf("redisstore: lock %q: %w", name, err)
		}
	}
	g := &grant{name: name, m: m}
	return g.unlock, nil
}

// grant is one holding of a lock.
type grant struct {
	name string
	m    *redsync.Mutex

	mu   sync.Mutex
	done bool // an Unlock had a definite outcome
}

// unlock is the store.Unlock of g; see Lock.
func (g *grant) unlock(ctx context.Context) (err error) {
	defer unavailable(&err)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return fmt.Errorf("%w: lock %q: released already", store.ErrLockLost, g.name)
	}
	ok, err := g.m.UnlockContext(ctx)
	var taken *redsync.ErrTaken
	switch {
	case ok:
		g.done = true
		if time.Now().After(g.m.Until()) {
			return fmt.Errorf("%w: lock %q: ttl passed before unlock", store.ErrLockLost, g.name)
		}
		return nil
	case errors.Is(err, redsync.ErrLockAlreadyExpired), errors.As(err, &taken), err == nil:
		g.done = true
		return fmt.Errorf("%w: lock %q: expired, or taken by another holder", store.ErrLockLost, g.name)
	default:
		return fmt.Errorf("redisstore: unlock %q: %w", g.name, err)
	}
}

// lockRetryDelay is the redsync delay before retry number tries (1, 2, …).
func lockRetryDelay(tries int) time.Duration {
	ceiling := min(lockMinDelay<<min(tries, 5), lockMaxDelay)
	return lockMinDelay + rand.N(ceiling)
}
