package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

// PutOAuthState stores a copy of st under its Key (global, not scoped by tenant) until
// st.ExpiresAt, filling a zero CreatedAt with the current time (written back into st). The
// key expires in Redis at ExpiresAt by Options.Now (rounded up to the millisecond; SET NX
// PX). A state whose ExpiresAt has already passed is accepted but not stored
// (TakeOAuthState reports it missing), after checking that no unexpired state holds the
// key. A stored state that has expired by Options.Now but not yet in Redis is replaced;
// one identical to st (the same JSON: a retried SET NX) counts as stored by this call.
// Errors: store.ErrInvalid (wrapped; see store.ValidateOAuthState); store.ErrConflict when
// an unexpired state with st.Key exists (in any tenant); a context or Redis error.
func (s *Store) PutOAuthState(ctx context.Context, st *store.OAuthState) (err error) {
	defer unavailable(&err)
	if err := store.ValidateOAuthState(st); err != nil {
		return err
	}
	rec := *st
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.timestamp()
	}
	data, err := encode(&rec)
	if err != nil {
		return err
	}
	key := s.oauthStateKey(rec.Key)
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := s.now()
		ttl := roundUpMs(rec.ExpiresAt.Sub(now))
		if ttl > 0 {
			ok, err := s.client.SetNX(ctx, key, data, ttl).Result()
			if err != nil {
				return fmt.Errorf("redisstore: put oauth state: %w", err)
			}
			if ok {
				st.CreatedAt = rec.CreatedAt
				return nil
			}
		}
		old, err := s.client.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			if ttl <= 0 {
				st.CreatedAt = rec.CreatedAt
				return nil // accepted, and never returned by Take: nothing to store
			}
			continue // expired or taken meanwhile: SET NX again
		}
		if err != nil {
			return fmt.Errorf("redisstore: put oauth state: %w", err)
		}
		if old == data && ttl > 0 {
			// This very state: our SET NX ran and go-redis sent it again (see scripts.go).
			st.CreatedAt = rec.CreatedAt
			return nil
		}
		prev, err := decode[store.OAuthState](key, old)
		if err != nil {
			return err
		}
		if now.Before(prev.ExpiresAt) {
			return fmt.Errorf("%w: oauth state key exists", store.ErrConflict)
		}
		if ttl <= 0 {
			st.CreatedAt = rec.CreatedAt
			return nil // both expired: Take reports the key missing either way
		}
		swapped, err := s.runScript(ctx, scriptReplaceIf, []string{key}, old, data, ttl.Milliseconds(), "0")
		if err != nil {
			return err
		}
		if swapped == 1 {
			st.CreatedAt = rec.CreatedAt
			return nil
		}
	}
	return fmt.Errorf("%w: oauth state key kept changing", store.ErrConflict)
}

// TakeOAuthState deletes the state stored under key (in any tenant) and returns a fresh copy
// of it, with one GETDEL, so exactly one of several concurrent takers gets it. Errors:
// store.ErrNotFound (wrapped) when no state has that key, or when Options.Now is at or after
// its ExpiresAt (the state is deleted then as well); a context or Redis error.
func (s *Store) TakeOAuthState(ctx context.Context, key string) (_ *store.OAuthState, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k := s.oauthStateKey(key)
	raw, err := s.client.GetDel(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: oauth state", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: take oauth state: %w", err)
	}
	st, err := decode[store.OAuthState](k, raw)
	if err != nil {
		return nil, err
	}
	if !s.now().Before(st.ExpiresAt) {
		return nil, fmt.Errorf("%w: oauth state expired", store.ErrNotFound)
	}
	return st, nil
}

// roundUpMs rounds a positive d up to a whole millisecond (Redis' PX unit); d <= 0 is
// returned as it is.
func roundUpMs(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}
