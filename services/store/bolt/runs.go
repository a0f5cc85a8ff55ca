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

var _ store.Runs = (*Store)(nil)

// UpdateBuildProfile implements store.Runs.UpdateBuildProfile.
func (s *Store) UpdateBuildProfile(ctx context.Context, p *store.BuildProfile) error {
	if err := store.ValidateBuildProfile(p); err != nil {
		return err
	}
	rec := *p
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		recs, names, hooks := tx.Bucket(bucketProfiles), tx.Bucket(bucketProfileNames), tx.Bucket(bucketHooks)
		k := key(rec.TenantID, rec.ID)
		var old store.BuildProfile
		found, err := getJSON(recs, k, &old)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: build profile %q", store.ErrNotFound, rec.ID)
		}
		if old.Version != rec.Version {
			return fmt.Errorf("%w: build profile %q is at version %d, update carried %d", store.ErrStale, rec.ID, old.Version, rec.Version)
		}
		if old.Name != rec.Name {
			nk := key(rec.TenantID, rec.Name)
			if names.Get(nk) != nil {
				return fmt.Errorf("%w: build profile name %q exists", store.ErrConflict, rec.Name)
			}
			if err := names.Delete(key(old.TenantID, old.Name)); err != nil {
				return err
			}
			if err := names.Put(nk, []byte(rec.ID)); err != nil {
				return err
			}
		}
		oldHook, newHook := store.HookID(old.Hook), store.HookID(rec.Hook)
		if oldHook != newHook {
			if newHook != "" {
				if hooks.Get([]byte(newHook)) != nil {
					return fmt.Errorf("%w: hook id exists", store.ErrConflict)
				}
				if err := putJSON(hooks, []byte(newHook), &store.HookRef{HookID: newHook, TenantID: rec.TenantID, ProfileID: rec.ID}); err != nil {
					return err
				}
			}
			if oldHook != "" {
				if err := hooks.Delete([]byte(oldHook)); err != nil {
					return err
				}
			}
		}
		rec.CreatedAt, rec.ConnectionID = old.CreatedAt, old.ConnectionID
		rec.Version = old.Version + 1
		return putJSON(recs, k, &rec)
	})
	if err != nil {
		return err
	}
	p.Version, p.CreatedAt = rec.Version, rec.CreatedAt
	return nil
}

// HookByID implements store.Runs.HookByID.
func (s *Store) HookByID(ctx context.Context, id string) (*store.HookRef, error) {
	var h store.HookRef
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketHooks), []byte(id), &h)
		if err == nil && !found {
			err = fmt.Errorf("%w: hook", store.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &h, nil
}

// TouchHook implements store.Runs.TouchHook; an unknown hook is ErrNotFound.
func (s *Store) TouchHook(ctx context.Context, id string, at time.Time) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketHooks)
		var h store.HookRef
		found, err := getJSON(b, []byte(id), &h)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: hook", store.ErrNotFound)
		}
		at = at.UTC()
		h.LastDeliveryAt = &at
		return putJSON(b, []byte(id), &h)
	})
}

// maxEventPurge bounds the expired events one ClaimEvent deletes.
const maxEventPurge = 64

// ClaimEvent implements store.Runs.ClaimEvent: one bbolt write transaction, so claims are
// serialized. Expired entries are purged a few at a time on later claims.
func (s *Store) ClaimEvent(ctx context.Context, k string, ttl time.Duration) (bool, error) {
	if k == "" || ttl <= 0 {
		return false, fmt.Errorf("%w: event key and ttl", store.ErrInvalid)
	}
	now := s.now()
	won := false
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketEvents)
		if v := b.Get([]byte(k)); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano() {
			return nil
		}
		// Purge a few expired entries (a linear walk bounded by maxEventPurge deletions).
		var stale [][]byte
		c := b.Cursor()
		for ek, v := c.First(); ek != nil && len(stale) < maxEventPurge; ek, v = c.Next() {
			if len(v) == 8 && int64(binary.BigEndian.Uint64(v)) <= now.UnixNano() {
				stale = append(stale, bytes.Clone(ek))
			}
		}
		for _, ek := range stale {
			if err := b.Delete(ek); err != nil {
				return err
			}
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], uint64(now.Add(ttl).UnixNano()))
		won = true
		return b.Put([]byte(k), v[:])
	})
	return won && err == nil, err
}

func runNewestFirst(r *store.Run) (time.Time, string) { return store.RunOrder(r.CreatedAt), r.ID }

// CreateRun implements store.Runs.CreateRun.
func (s *Store) CreateRun(ctx context.Context, r *store.Run, keep int) error {
	if err := store.ValidateRun(r); err != nil {
		return err
	}
	rec := *r
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.timestamp()
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketProfiles).Get(key(rec.TenantID, rec.BuildProfileID)) == nil {
			return fmt.Errorf("%w: build profile %q", store.ErrNotFound, rec.BuildProfileID)
		}
		recs := tx.Bucket(bucketRuns)
		k := key(rec.TenantID, rec.ID)
		if recs.Get(k) != nil {
			return fmt.Errorf("%w: run id %q exists", store.ErrConflict, rec.ID)
		}
		if err := tx.Bucket(bucketRunsByProfile).Put(key(rec.TenantID, rec.BuildProfileID, rec.ID), []byte{}); err != nil {
			return err
		}
		if err := putJSON(recs, k, &rec); err != nil {
			return err
		}
		if keep <= 0 {
			return nil
		}
		runs, err := runsOf(tx, rec.TenantID, rec.BuildProfileID)
		if err != nil {
			return err
		}
		if len(runs) <= keep {
			return nil
		}
		drop := map[string]bool{}
		for _, old := range runs[keep:] { // runs is newest first
			drop[old.ID] = true
		}
		_, err = deleteRunsOf(tx, rec.TenantID, rec.BuildProfileID, func(x *store.Run) bool { return drop[x.ID] })
		return err
	})
	if err != nil {
		return err
	}
	r.CreatedAt = rec.CreatedAt
	return nil
}

// runsOf returns a profile's runs newest first.
func runsOf(tx *bbolt.Tx, tenantID, profileID string) ([]*store.Run, error) {
	prefix := append(key(tenantID, profileID), 0)
	var out []*store.Run
	for _, k := range keysWithPrefix(tx.Bucket(bucketRunsByProfile), prefix) {
		var r store.Run
		found, err := getJSON(tx.Bucket(bucketRuns), key(tenantID, string(k[len(prefix):])), &r)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, &r)
		}
	}
	sortRuns(out)
	return out, nil
}

// sortRuns orders runs newest first (by the same key ListRuns pages with).
func sortRuns(rs []*store.Run) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && store.SortKey(runNewestFirst(rs[j])) < store.SortKey(runNewestFirst(rs[j-1])); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// deleteRunsOf deletes the runs of a profile for which del is true, with their index entries.
func deleteRunsOf(tx *bbolt.Tx, tenantID, profileID string, del func(*store.Run) bool) (int, error) {
	prefix := append(key(tenantID, profileID), 0)
	idx, recs := tx.Bucket(bucketRunsByProfile), tx.Bucket(bucketRuns)
	n := 0
	for _, k := range keysWithPrefix(idx, prefix) {
		rk := key(tenantID, string(k[len(prefix):]))
		var r store.Run
		found, err := getJSON(recs, rk, &r)
		if err != nil {
			return n, err
		}
		if found && !del(&r) {
			continue
		}
		if err := recs.Delete(rk); err != nil {
			return n, err
		}
		if err := idx.Delete(k); err != nil {
			return n, err
		}
		if found {
			n++
		}
	}
	return n, nil
}

// UpdateRun implements store.Runs.UpdateRun.
func (s *Store) UpdateRun(ctx context.Context, r *store.Run) error {
	if err := store.ValidateRun(r); err != nil {
		return err
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		recs := tx.Bucket(bucketRuns)
		k := key(r.TenantID, r.ID)
		var old store.Run
		found, err := getJSON(recs, k, &old)
		if err != nil {
			return err
		}
		if !found || old.BuildProfileID != r.BuildProfileID {
			return fmt.Errorf("%w: run %q", store.ErrNotFound, r.ID)
		}
		rec := *r
		rec.CreatedAt = old.CreatedAt
		return putJSON(recs, k, &rec)
	})
}

// GetRun implements store.Runs.GetRun.
func (s *Store) GetRun(ctx context.Context, tenantID, id string) (*store.Run, error) {
	var r store.Run
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketRuns), key(tenantID, id), &r)
		if err == nil && !found {
			err = fmt.Errorf("%w: run %q", store.ErrNotFound, id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// ListRuns implements store.Runs.ListRuns.
func (s *Store) ListRuns(ctx context.Context, tenantID, profileID string, page store.Page) (list []*store.Run, next string, err error) {
	after, err := store.SortKeyOfCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		runs, err := runsOf(tx, tenantID, profileID)
		if err != nil {
			return err
		}
		list = []*store.Run{}
		for _, r := range runs {
			if sk := store.SortKey(runNewestFirst(r)); sk > after {
				if page.Limit > 0 && len(list) == page.Limit {
					next = store.Cursor(store.SortKey(runNewestFirst(list[len(list)-1])))
					break
				}
				list = append(list, r)
			}
		}
		return nil
	})
	return list, next, err
}

// PruneRuns implements store.Runs.PruneRuns.
func (s *Store) PruneRuns(ctx context.Context, tenantID, profileID string, cutoff time.Time) (n int, err error) {
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		n, err = deleteRunsOf(tx, tenantID, profileID, func(r *store.Run) bool { return r.CreatedAt.Before(cutoff) })
		return err
	})
	return n, err
}
