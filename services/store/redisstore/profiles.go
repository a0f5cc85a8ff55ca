package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

// CreateBuildProfile stores a copy of p with Version 1, filling a zero CreatedAt with the
// current time; Version and CreatedAt are written back into p. The record, its name, its
// index entry and its entry in the connection's profile set are written by one script that
// also checks the connection. Errors: store.ErrInvalid (wrapped) for a missing ID,
// TenantID, Name or ConnectionID; store.ErrNotFound when p.ConnectionID is not a connection
// of p.TenantID; store.ErrConflict for an existing id or name in the tenant.
func (s *Store) CreateBuildProfile(ctx context.Context, p *store.BuildProfile) (err error) {
	defer unavailable(&err)
	if err := store.ValidateBuildProfile(p); err != nil {
		return err
	}
	rec := *p
	rec.Version = 1
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.timestamp()
	}
	data, err := encode(&rec)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t := rec.TenantID
	res, err := s.runWrite(ctx, scriptCreateProfile, t,
		[]string{s.connKey(t, rec.ConnectionID), s.profileKey(t, rec.ID), s.profileNamesKey(t),
			s.profileIndexKey(t), s.connProfilesKey(t, rec.ConnectionID)},
		rec.ID, rec.Name, store.SortKey(rec.CreatedAt, rec.ID), data, rec.ConnectionID)
	if err != nil {
		return err
	}
	switch res {
	case resOK:
	case resNotFound:
		return fmt.Errorf("%w: connection %q", store.ErrNotFound, rec.ConnectionID)
	case resIDTaken:
		return fmt.Errorf("%w: build profile id %q exists", store.ErrConflict, rec.ID)
	case resNameTaken:
		return fmt.Errorf("%w: build profile name %q exists", store.ErrConflict, rec.Name)
	default:
		return fmt.Errorf("redisstore: create build profile: unexpected script result %d", res)
	}
	p.Version, p.CreatedAt = rec.Version, rec.CreatedAt
	return nil
}

// GetBuildProfile returns a fresh copy of the build profile id of tenantID, or
// store.ErrNotFound (wrapped) when it is absent or belongs to another tenant.
func (s *Store) GetBuildProfile(ctx context.Context, tenantID, id string) (_ *store.BuildProfile, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, found, err := getJSON[store.BuildProfile](ctx, s, s.profileKey(tenantID, id))
	if err == nil && !found {
		err = fmt.Errorf("%w: build profile %q", store.ErrNotFound, id)
	}
	return p, err
}

// ListBuildProfiles returns fresh copies of the build profiles of tenantID ordered by
// CreatedAt, then ID, one page at a time (store.Page), with the next page's cursor ("" after
// the last); an empty (non-nil) slice when there are none. A malformed cursor is
// store.ErrInvalid.
func (s *Store) ListBuildProfiles(ctx context.Context, tenantID string, page store.Page) (list []*store.BuildProfile, next string, err error) {
	defer unavailable(&err)
	return listJSON[store.BuildProfile](ctx, s, s.profileIndexKey(tenantID),
		func(id string) string { return s.profileKey(tenantID, id) }, page)
}

// DeleteBuildProfile removes the build profile id of tenantID with its name, index and
// profile-set entries, in one script. Errors: store.ErrNotFound (absent or another
// tenant's).
func (s *Store) DeleteBuildProfile(ctx context.Context, tenantID, id string) (err error) {
	defer unavailable(&err)
	notFound := fmt.Errorf("%w: build profile %q", store.ErrNotFound, id)
	if tenantID == "" { // no record has an empty tenant; and {} is no hash tag
		return notFound
	}
	key := s.profileKey(tenantID, id)
	before, _, _ := getJSON[store.BuildProfile](ctx, s, key) // for its runs and hook, dropped after
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return err
		}
		connID, err := s.client.HGet(ctx, key, "c").Result()
		if errors.Is(err, redis.Nil) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("redisstore: delete build profile: %w", err)
		}
		res, err := s.runWrite(ctx, scriptDeleteProfile, tenantID,
			[]string{key, s.profileNamesKey(tenantID), s.profileIndexKey(tenantID), s.connProfilesKey(tenantID, connID)},
			id, connID)
		if err != nil {
			return err
		}
		switch res {
		case resOK:
			if before != nil {
				// Best effort: the profile is gone; its runs cannot be listed without it.
				_ = s.dropProfileRuns(ctx, before)
			}
			return nil
		case resNotFound:
			return notFound
		case resChanged:
			continue // deleted and created anew for another connection since the read
		default:
			return fmt.Errorf("redisstore: delete build profile: unexpected script result %d", res)
		}
	}
	return fmt.Errorf("redisstore: delete build profile %q: it kept changing", id)
}
