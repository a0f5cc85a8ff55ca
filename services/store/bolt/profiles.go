package bolt

import (
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/repoconnect/repoconnect/services/store"
)

func profileOrder(p *store.BuildProfile) (time.Time, string) { return p.CreatedAt, p.ID }

// CreateBuildProfile stores a copy of p with Version 1, filling a zero CreatedAt with the
// current time; Version and CreatedAt are written back into p. Errors: store.ErrInvalid
// (wrapped) for a missing ID, TenantID, Name or ConnectionID; store.ErrNotFound when
// p.ConnectionID is not a connection of p.TenantID; store.ErrConflict for an existing id or
// name in the tenant.
func (s *Store) CreateBuildProfile(ctx context.Context, p *store.BuildProfile) error {
	if err := store.ValidateBuildProfile(p); err != nil {
		return err
	}
	rec := *p
	rec.Version = 1
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.timestamp()
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketConnections).Get(key(rec.TenantID, rec.ConnectionID)) == nil {
			return fmt.Errorf("%w: connection %q", store.ErrNotFound, rec.ConnectionID)
		}
		recs, names := tx.Bucket(bucketProfiles), tx.Bucket(bucketProfileNames)
		k, nk := key(rec.TenantID, rec.ID), key(rec.TenantID, rec.Name)
		if recs.Get(k) != nil {
			return fmt.Errorf("%w: build profile id %q exists", store.ErrConflict, rec.ID)
		}
		if names.Get(nk) != nil {
			return fmt.Errorf("%w: build profile name %q exists", store.ErrConflict, rec.Name)
		}
		if err := names.Put(nk, []byte(rec.ID)); err != nil {
			return err
		}
		byConn := key(rec.TenantID, rec.ConnectionID, rec.ID)
		if err := tx.Bucket(bucketProfilesByConn).Put(byConn, []byte{}); err != nil {
			return err
		}
		return putJSON(recs, k, &rec)
	})
	if err != nil {
		return err
	}
	p.Version, p.CreatedAt = rec.Version, rec.CreatedAt
	return nil
}

// GetBuildProfile returns a fresh copy of the build profile id of tenantID, or
// store.ErrNotFound (wrapped) when it is absent or belongs to another tenant.
func (s *Store) GetBuildProfile(ctx context.Context, tenantID, id string) (*store.BuildProfile, error) {
	var p store.BuildProfile
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketProfiles), key(tenantID, id), &p)
		if err == nil && !found {
			err = fmt.Errorf("%w: build profile %q", store.ErrNotFound, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ListBuildProfiles returns fresh copies of every build profile of tenantID ordered by CreatedAt, then ID,
// one page at a time (store.Page), with the next page's cursor ("" after the last); an empty
// (non-nil) slice when there are none. A malformed cursor is store.ErrInvalid.
func (s *Store) ListBuildProfiles(ctx context.Context, tenantID string, page store.Page) (list []*store.BuildProfile, next string, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		list, next, err = listJSON(tx.Bucket(bucketProfiles), tenantPrefix(tenantID), profileOrder, page)
		return err
	})
	return list, next, err
}

// DeleteBuildProfile removes the build profile id of tenantID and its index entries.
// Errors: store.ErrNotFound (absent or another tenant's).
func (s *Store) DeleteBuildProfile(ctx context.Context, tenantID, id string) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		found, err := deleteProfile(tx, tenantID, id)
		if err == nil && !found {
			err = fmt.Errorf("%w: build profile %q", store.ErrNotFound, id)
		}
		return err
	})
}

// deleteProfile removes one profile with its name and by-connection entries; found is false
// when it does not exist.
func deleteProfile(tx *bbolt.Tx, tenantID, id string) (found bool, err error) {
	recs := tx.Bucket(bucketProfiles)
	k := key(tenantID, id)
	var old store.BuildProfile
	if found, err = getJSON(recs, k, &old); err != nil || !found {
		return found, err
	}
	if err := tx.Bucket(bucketProfileNames).Delete(key(tenantID, old.Name)); err != nil {
		return true, err
	}
	if err := tx.Bucket(bucketProfilesByConn).Delete(key(tenantID, old.ConnectionID, id)); err != nil {
		return true, err
	}
	if old.Hook != nil {
		if err := tx.Bucket(bucketHooks).Delete([]byte(old.Hook.ID)); err != nil {
			return true, err
		}
	}
	if _, err := deleteRunsOf(tx, tenantID, id, func(*store.Run) bool { return true }); err != nil {
		return true, err
	}
	return true, recs.Delete(k)
}

// deleteProfilesOf removes every profile of tenantID that refers to connection connID.
func deleteProfilesOf(tx *bbolt.Tx, tenantID, connID string) error {
	prefix := append(key(tenantID, connID), 0)
	for _, k := range keysWithPrefix(tx.Bucket(bucketProfilesByConn), prefix) {
		id := string(k[len(prefix):])
		if _, err := deleteProfile(tx, tenantID, id); err != nil {
			return err
		}
		// Drop a dangling index entry even if the profile record was already gone.
		if err := tx.Bucket(bucketProfilesByConn).Delete(k); err != nil {
			return err
		}
	}
	return nil
}
