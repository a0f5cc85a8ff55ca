package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/repoconnect/repoconnect/services/store"
)

func apiKeyOrder(k *store.APIKey) (time.Time, string) { return k.CreatedAt, k.ID }

// CreateAPIKey stores a copy of k, filling a zero CreatedAt with the current time (written
// back into k). Errors: store.ErrInvalid (wrapped) for a missing ID, TenantID or Hash;
// store.ErrConflict for an existing id in the tenant or an existing Hash in any tenant.
func (s *Store) CreateAPIKey(ctx context.Context, k *store.APIKey) error {
	if err := store.ValidateAPIKey(k); err != nil {
		return err
	}
	rec := *k
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.timestamp()
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		recs, hashes := tx.Bucket(bucketAPIKeys), tx.Bucket(bucketAPIKeyHashes)
		rk := key(rec.TenantID, rec.ID)
		if recs.Get(rk) != nil {
			return fmt.Errorf("%w: api key id %q exists", store.ErrConflict, rec.ID)
		}
		if hashes.Get([]byte(rec.Hash)) != nil {
			return fmt.Errorf("%w: api key hash exists", store.ErrConflict)
		}
		if err := hashes.Put([]byte(rec.Hash), rk); err != nil {
			return err
		}
		return putJSON(recs, rk, &rec)
	})
	if err != nil {
		return err
	}
	k.CreatedAt = rec.CreatedAt
	return nil
}

// APIKeyByHash returns a fresh copy of the key whose Hash equals hash (hex SHA-256), in any
// tenant, or store.ErrNotFound (wrapped) when none matches.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*store.APIKey, error) {
	var k store.APIKey
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		rk := tx.Bucket(bucketAPIKeyHashes).Get([]byte(hash))
		if rk == nil {
			return fmt.Errorf("%w: api key", store.ErrNotFound)
		}
		found, err := getJSON(tx.Bucket(bucketAPIKeys), rk, &k)
		if err == nil && !found {
			err = fmt.Errorf("%w: api key", store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &k, nil
}

// ListAPIKeys returns fresh copies of every API key of tenantID ordered by CreatedAt, then ID,
// one page at a time (store.Page), with the next page's cursor ("" after the last); an empty
// (non-nil) slice when there are none. A malformed cursor is store.ErrInvalid.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, page store.Page) (list []*store.APIKey, next string, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		list, next, err = listJSON(tx.Bucket(bucketAPIKeys), tenantPrefix(tenantID), apiKeyOrder, page)
		return err
	})
	return list, next, err
}

// DeleteAPIKey removes the API key id of tenantID and its hash index entry.
// Errors: store.ErrNotFound (absent or another tenant's).
func (s *Store) DeleteAPIKey(ctx context.Context, tenantID, id string) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		recs, hashes := tx.Bucket(bucketAPIKeys), tx.Bucket(bucketAPIKeyHashes)
		rk := key(tenantID, id)
		var old store.APIKey
		found, err := getJSON(recs, rk, &old)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: api key %q", store.ErrNotFound, id)
		}
		if cur := hashes.Get([]byte(old.Hash)); bytes.Equal(cur, rk) {
			if err := hashes.Delete([]byte(old.Hash)); err != nil {
				return err
			}
		}
		return recs.Delete(rk)
	})
}
