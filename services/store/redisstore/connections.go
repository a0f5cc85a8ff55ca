package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

// CreateConnection stores a copy of c with Version 1, filling a zero CreatedAt with the
// current time and a zero UpdatedAt with CreatedAt; those three fields are written back into
// c. The record, its name and its index entry are written by one script. Errors:
// store.ErrInvalid (wrapped) for a missing ID, TenantID or Name; store.ErrConflict for an
// existing id or name in the tenant; a context or Redis error.
func (s *Store) CreateConnection(ctx context.Context, c *store.Connection) (err error) {
	defer unavailable(&err)
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
	data, err := encode(&rec)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t := rec.TenantID
	res, err := s.runWrite(ctx, scriptCreateConn, t,
		[]string{s.connKey(t, rec.ID), s.connNamesKey(t), s.connIndexKey(t)},
		rec.ID, rec.Name, store.SortKey(rec.CreatedAt, rec.ID), data)
	if err != nil {
		return err
	}
	switch res {
	case resOK:
	case resIDTaken:
		return fmt.Errorf("%w: connection id %q exists", store.ErrConflict, rec.ID)
	case resNameTaken:
		return fmt.Errorf("%w: connection name %q exists", store.ErrConflict, rec.Name)
	default:
		return fmt.Errorf("redisstore: create connection: unexpected script result %d", res)
	}
	c.Version, c.CreatedAt, c.UpdatedAt = rec.Version, rec.CreatedAt, rec.UpdatedAt
	return nil
}

// GetConnection returns a fresh copy of the connection id of tenantID, or store.ErrNotFound
// (wrapped) when it is absent or belongs to another tenant.
func (s *Store) GetConnection(ctx context.Context, tenantID, id string) (_ *store.Connection, err error) {
	defer unavailable(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, found, err := getJSON[store.Connection](ctx, s, s.connKey(tenantID, id))
	if err == nil && !found {
		err = fmt.Errorf("%w: connection %q", store.ErrNotFound, id)
	}
	return c, err
}

// ListConnections returns fresh copies of the connections of tenantID ordered by CreatedAt,
// then ID, one page at a time (store.Page), with the next page's cursor ("" after the last);
// an empty (non-nil) slice when there are none. A malformed cursor is store.ErrInvalid.
func (s *Store) ListConnections(ctx context.Context, tenantID string, page store.Page) (list []*store.Connection, next string, err error) {
	defer unavailable(&err)
	return listJSON[store.Connection](ctx, s, s.connIndexKey(tenantID),
		func(id string) string { return s.connKey(tenantID, id) }, page)
}

// UpdateConnection replaces the stored connection (c.TenantID, c.ID) with c when c.Version
// equals the stored Version. CreatedAt is kept from the stored record, UpdatedAt is set to
// the current time and Version to stored+1; all three are written back into c. A rename is
// allowed when the new name is free. The stored CreatedAt is read first; the script writes
// only if the record still has that CreatedAt and the expected Version, so a concurrent
// writer makes this one fail with ErrStale rather than be overwritten. Errors:
// store.ErrInvalid, store.ErrNotFound (absent or another tenant's), store.ErrStale (version
// mismatch; nothing written, c unchanged), store.ErrConflict (new name taken).
func (s *Store) UpdateConnection(ctx context.Context, c *store.Connection) (err error) {
	defer unavailable(&err)
	if err := store.ValidateConnection(c); err != nil {
		return err
	}
	rec := *c
	t := rec.TenantID
	key := s.connKey(t, rec.ID)
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return err
		}
		vals, err := s.client.HMGet(ctx, key, "v", "j").Result()
		if err != nil {
			return fmt.Errorf("redisstore: update connection: %w", err)
		}
		ver, _ := vals[0].(string)
		raw, ok := vals[1].(string)
		if !ok {
			return fmt.Errorf("%w: connection %q", store.ErrNotFound, rec.ID)
		}
		if ver != strconv.FormatInt(rec.Version, 10) {
			return fmt.Errorf("%w: connection %q is at version %s, update carried %d",
				store.ErrStale, rec.ID, ver, rec.Version)
		}
		old, err := decode[store.Connection](key, raw)
		if err != nil {
			return err
		}
		rec.CreatedAt = old.CreatedAt
		rec.UpdatedAt = s.timestamp()
		rec.Version = c.Version + 1
		data, err := encode(&rec)
		if err != nil {
			return err
		}
		res, err := s.runWrite(ctx, scriptUpdateConn, t, []string{key, s.connNamesKey(t)},
			rec.ID, c.Version, store.SortKey(old.CreatedAt, rec.ID), rec.Version, rec.Name, data)
		if err != nil {
			return err
		}
		switch res {
		case resOK:
			c.Version, c.CreatedAt, c.UpdatedAt = rec.Version, rec.CreatedAt, rec.UpdatedAt
			return nil
		case resNotFound:
			return fmt.Errorf("%w: connection %q", store.ErrNotFound, rec.ID)
		case resStale:
			return fmt.Errorf("%w: connection %q changed concurrently, update carried version %d",
				store.ErrStale, rec.ID, c.Version)
		case resNameTaken:
			return fmt.Errorf("%w: connection name %q exists", store.ErrConflict, rec.Name)
		case resChanged:
			continue // deleted and created anew since the read: read again
		default:
			return fmt.Errorf("redisstore: update connection: unexpected script result %d", res)
		}
	}
	return fmt.Errorf("%w: connection %q kept changing during the update", store.ErrStale, rec.ID)
}

// DeleteConnection removes the connection id of tenantID, its name, its index entry and
// every build profile of that tenant that refers to it, in one script. The ids of the
// profiles are read first; the script deletes only if they are still exactly those (else it
// reads again). Errors: store.ErrNotFound (absent or another tenant's).
func (s *Store) DeleteConnection(ctx context.Context, tenantID, id string) (err error) {
	defer unavailable(&err)
	if tenantID == "" { // no record has an empty tenant; and {} is no hash tag
		return fmt.Errorf("%w: connection %q", store.ErrNotFound, id)
	}
	key, set := s.connKey(tenantID, id), s.connProfilesKey(tenantID, id)
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return err
		}
		pids, err := s.client.SMembers(ctx, set).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("redisstore: delete connection: %w", err)
		}
		keys := []string{key, s.connNamesKey(tenantID), s.connIndexKey(tenantID), set,
			s.profileNamesKey(tenantID), s.profileIndexKey(tenantID)}
		args := []any{id}
		for _, pid := range pids {
			keys = append(keys, s.profileKey(tenantID, pid))
			args = append(args, pid)
		}
		// The profiles as they are, for their runs and hook index entries, dropped after.
		var before []*store.BuildProfile
		for _, pid := range pids {
			if p, found, _ := getJSON[store.BuildProfile](ctx, s, s.profileKey(tenantID, pid)); found {
				before = append(before, p)
			}
		}
		res, err := s.runWrite(ctx, scriptDeleteConn, tenantID, keys, args...)
		if err != nil {
			return err
		}
		switch res {
		case resOK:
			for _, p := range before {
				_ = s.dropProfileRuns(ctx, p) // best effort: the profiles are gone
			}
			return nil
		case resNotFound:
			return fmt.Errorf("%w: connection %q", store.ErrNotFound, id)
		case resChanged:
			continue // a profile was added or removed since SMEMBERS
		default:
			return fmt.Errorf("redisstore: delete connection: unexpected script result %d", res)
		}
	}
	return fmt.Errorf("redisstore: delete connection %q: its build profiles kept changing", id)
}
