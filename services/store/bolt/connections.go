package bolt

import (
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/repoconnect/repoconnect/services/store"
)

func connOrder(c *store.Connection) (time.Time, string) { return c.CreatedAt, c.ID }

// CreateConnection stores a copy of c with Version 1, filling a zero CreatedAt with the
// current time and a zero UpdatedAt with CreatedAt; those three fields are written back into
// c. Errors: store.ErrInvalid (wrapped) for a missing ID, TenantID or Name; store.ErrConflict
// for an existing id or name in the tenant; a context error when ctx is done.
func (s *Store) CreateConnection(ctx context.Context, c *store.Connection) error {
	if err := store.ValidateConnection(c); err != nil {
		return err
	}
	rec := *c
	rec.Version = 1
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.timestamp()
	}
	if rec.UpdatedAt.IsZero() {
		rec.UpdatedAt = rec.CreatedAt
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		recs, names := tx.Bucket(bucketConnections), tx.Bucket(bucketConnNames)
		k, nk := key(rec.TenantID, rec.ID), key(rec.TenantID, rec.Name)
		if recs.Get(k) != nil {
			return fmt.Errorf("%w: connection id %q exists", store.ErrConflict, rec.ID)
		}
		if names.Get(nk) != nil {
			return fmt.Errorf("%w: connection name %q exists", store.ErrConflict, rec.Name)
		}
		if err := names.Put(nk, []byte(rec.ID)); err != nil {
			return err
		}
		return putJSON(recs, k, &rec)
	})
	if err != nil {
		return err
	}
	c.Version, c.CreatedAt, c.UpdatedAt = rec.Version, rec.CreatedAt, rec.UpdatedAt
	return nil
}

// GetConnection returns a fresh copy of the connection id of tenantID, or store.ErrNotFound
// (wrapped) when it is absent or belongs to another tenant.
func (s *Store) GetConnection(ctx context.Context, tenantID, id string) (*store.Connection, error) {
	var c store.Connection
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketConnections), key(tenantID, id), &c)
		if err == nil && !found {
			err = fmt.Errorf("%w: connection %q", store.ErrNotFound, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ListConnections returns fresh copies of every connection of tenantID ordered by CreatedAt, then ID,
// one page at a time (store.Page), with the next page's cursor ("" after the last); an empty
// (non-nil) slice when there are none. A malformed cursor is store.ErrInvalid.
func (s *Store) ListConnections(ctx context.Context, tenantID string, page store.Page) (list []*store.Connection, next string, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		list, next, err = listJSON(tx.Bucket(bucketConnections), tenantPrefix(tenantID), connOrder, page)
		return err
	})
	return list, next, err
}

// UpdateConnection replaces the stored connection (c.TenantID, c.ID) with c when c.Version
// equals the stored Version. CreatedAt is kept from the stored record, UpdatedAt is set to
// the current time and Version to stored+1; all three are written back into c. A rename is
// allowed when the new name is free. Errors: store.ErrInvalid, store.ErrNotFound (absent or
// another tenant's), store.ErrStale (version mismatch; nothing written), store.ErrConflict
// (new name taken).
func (s *Store) UpdateConnection(ctx context.Context, c *store.Connection) error {
	if err := store.ValidateConnection(c); err != nil {
		return err
	}
	rec := *c
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		recs, names := tx.Bucket(bucketConnections), tx.Bucket(bucketConnNames)
		k := key(rec.TenantID, rec.ID)
		var old store.Connection
		found, err := getJSON(recs, k, &old)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: connection %q", store.ErrNotFound, rec.ID)
		}
		if old.Version != rec.Version {
			return fmt.Errorf("%w: connection %q is at version %d, update carried %d",
				store.ErrStale, rec.ID, old.Version, rec.Version)
		}
		if old.Name != rec.Name {
			nk := key(rec.TenantID, rec.Name)
			if names.Get(nk) != nil {
				return fmt.Errorf("%w: connection name %q exists", store.ErrConflict, rec.Name)
			}
			if err := names.Delete(key(old.TenantID, old.Name)); err != nil {
				return err
			}
			if err := names.Put(nk, []byte(rec.ID)); err != nil {
				return err
			}
		}
		rec.CreatedAt = old.CreatedAt
		rec.UpdatedAt = s.timestamp()
		rec.Version = old.Version + 1
		return putJSON(recs, k, &rec)
	})
	if err != nil {
		return err
	}
	c.Version, c.CreatedAt, c.UpdatedAt = rec.Version, rec.CreatedAt, rec.UpdatedAt
	return nil
}

// DeleteConnection removes the connection id of tenantID, its name, and every build profile
// of that tenant that refers to it, in one transaction. Errors: store.ErrNotFound (absent or
// another tenant's).
func (s *Store) DeleteConnection(ctx context.Context, tenantID, id string) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		recs := tx.Bucket(bucketConnections)
		k := key(tenantID, id)
		var old store.Connection
		found, err := getJSON(recs, k, &old)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: connection %q", store.ErrNotFound, id)
		}
		if err := deleteProfilesOf(tx, tenantID, id); err != nil {
			return err
		}
		if err := tx.Bucket(bucketConnNames).Delete(key(tenantID, old.Name)); err != nil {
			return err
		}
		return recs.Delete(k)
	})
}
