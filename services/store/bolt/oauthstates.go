package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/repoconnect/repoconnect/services/store"
)

// MaxPurgePerPut bounds how many expired OAuth states one PutOAuthState deletes (in its own
// transaction), so a put stays cheap while the bucket still cannot grow without bound: every
// put removes up to this many states whose ExpiresAt has passed, oldest expiry first.
const MaxPurgePerPut = 100

// expiryPrefixLen is the length of the time part of a v1/oauth_state_expiry key.
const expiryPrefixLen = 12

// expiryKey is the v1/oauth_state_expiry key of the state stateKey expiring at: 8 big-endian
// bytes of Unix seconds with the sign bit flipped (so byte order is time order, also before
// 1970), 4 big-endian bytes of nanoseconds, then stateKey.
func expiryKey(at time.Time, stateKey string) []byte {
	k := make([]byte, expiryPrefixLen, expiryPrefixLen+len(stateKey))
	binary.BigEndian.PutUint64(k, uint64(at.Unix())^(1<<63))
	binary.BigEndian.PutUint32(k[8:], uint32(at.Nanosecond()))
	return append(k, stateKey...)
}

// expiryOf decodes the time part of an expiry index key (at least expiryPrefixLen bytes).
func expiryOf(k []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(k[8:])))
}

// PutOAuthState stores a copy of st until st.ExpiresAt, filling a zero CreatedAt with the
// current time (written back into st). A state whose ExpiresAt has already passed is accepted
// (TakeOAuthState then reports it missing). In the same transaction it deletes up to
// MaxPurgePerPut expired states. A stored but expired state with the same Key is replaced.
// Errors: store.ErrInvalid (wrapped; see store.ValidateOAuthState); store.ErrConflict when an
// unexpired state with st.Key exists (in any tenant); a context error when ctx is done.
func (s *Store) PutOAuthState(ctx context.Context, st *store.OAuthState) error {
	if err := store.ValidateOAuthState(st); err != nil {
		return err
	}
	rec := *st
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.timestamp()
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		states, idx := tx.Bucket(bucketOAuthStates), tx.Bucket(bucketOAuthExpiry)
		now := s.now()
		if err := purgeExpired(states, idx, now, MaxPurgePerPut); err != nil {
			return err
		}
		var old store.OAuthState
		found, err := getJSON(states, []byte(rec.Key), &old)
		if err != nil {
			return err
		}
		if found {
			if now.Before(old.ExpiresAt) {
				return fmt.Errorf("%w: oauth state key exists", store.ErrConflict)
			}
			if err := idx.Delete(expiryKey(old.ExpiresAt, rec.Key)); err != nil {
				return err
			}
		}
		if err := idx.Put(expiryKey(rec.ExpiresAt, rec.Key), []byte{}); err != nil {
			return err
		}
		return putJSON(states, []byte(rec.Key), &rec)
	})
	if err != nil {
		return err
	}
	st.CreatedAt = rec.CreatedAt
	return nil
}

// TakeOAuthState deletes the state stored under key (in any tenant) and returns a fresh copy
// of it, in one read-write transaction, so exactly one of several concurrent takers gets it.
// Errors: store.ErrNotFound (wrapped) when no state has that key, or when the store's clock
// (Options.Now) is at or after its ExpiresAt; the expired state is deleted then as well. A
// context error when ctx is done (nothing is deleted).
func (s *Store) TakeOAuthState(ctx context.Context, key string) (*store.OAuthState, error) {
	var st store.OAuthState
	expired := false
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		states, idx := tx.Bucket(bucketOAuthStates), tx.Bucket(bucketOAuthExpiry)
		found, err := getJSON(states, []byte(key), &st)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: oauth state", store.ErrNotFound)
		}
		if err := idx.Delete(expiryKey(st.ExpiresAt, key)); err != nil {
			return err
		}
		expired = !s.now().Before(st.ExpiresAt)
		// Returning nil commits the delete, also for an expired state.
		return states.Delete([]byte(key))
	})
	if err != nil {
		return nil, err
	}
	if expired {
		return nil, fmt.Errorf("%w: oauth state expired", store.ErrNotFound)
	}
	return &st, nil
}

// purgeExpired deletes up to limit states whose index entry says they expired at or before
// now, with their index entries, oldest expiry first.
func purgeExpired(states, idx *bbolt.Bucket, now time.Time, limit int) error {
	c := idx.Cursor()
	for n := 0; n < limit; n++ {
		k, _ := c.First()
		if k == nil {
			return nil
		}
		ik := bytes.Clone(k)
		if len(ik) >= expiryPrefixLen && now.Before(expiryOf(ik)) {
			return nil // the oldest entry is still valid, so every later one is too
		}
		// A malformed (short) index entry is dropped as well.
		if len(ik) > expiryPrefixLen {
			if err := states.Delete(ik[expiryPrefixLen:]); err != nil {
				return err
			}
		}
		if err := idx.Delete(ik); err != nil {
			return err
		}
	}
	return nil
}
