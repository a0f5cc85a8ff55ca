package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

var _ store.Runs = (*Store)(nil)

// Keys of runs, hooks and seen events (see the package doc for the key scheme):
//
//	P:v1:t:{T}:run:<id>            hash k (sort key, newest first), p (profile id), j (Run JSON)
//	P:v1:t:{T}:runs:<profile id>   sorted set of the profile's run sort keys (lexicographic)
//	P:v1:hook:<hook id>            HookRef JSON (global: a delivery names no tenant)
//	P:v1:hook_event:<key>          "1" with the event TTL (SET NX PX)
func (s *Store) runKey(tenant, id string) string { return s.tenantKey(tenant, "run:"+esc(id)) }
func (s *Store) runIndexKey(tenant, profileID string) string {
	return s.tenantKey(tenant, "runs:"+esc(profileID))
}
func (s *Store) hookKey(id string) string       { return s.globalKey("hook", id) }
func (s *Store) hookEventKey(key string) string { return s.globalKey("hook_event", key) }

// KEYS: profile record, names. ARGV: id, expected version, new version, new name, json.
// The profile's connection (field c) and sort key (k) are kept.
var scriptUpdateProfile = memoized(`
local cur = redis.call('HMGET', KEYS[1], 'v', 'n')
if not cur[1] then return 1 end
if cur[1] ~= ARGV[2] then return 4 end
if cur[2] ~= ARGV[4] then
  if redis.call('HEXISTS', KEYS[2], ARGV[4]) == 1 then return 3 end
  if redis.call('HGET', KEYS[2], cur[2]) == ARGV[1] then redis.call('HDEL', KEYS[2], cur[2]) end
  redis.call('HSET', KEYS[2], ARGV[4], ARGV[1])
end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'n', ARGV[4], 'j', ARGV[5])
return 0`)

// UpdateBuildProfile implements store.Runs.UpdateBuildProfile. A new hook id is claimed in
// the global index (SET NX) before the profile is written, and released again when the write
// fails; the old one is deleted after it (the hook keys are global, in another Cluster slot
// than the tenant's, so this is not one script).
func (s *Store) UpdateBuildProfile(ctx context.Context, p *store.BuildProfile) (err error) {
	defer unavailable(&err)
	if err := store.ValidateBuildProfile(p); err != nil {
		return err
	}
	t := p.TenantID
	key := s.profileKey(t, p.ID)
	old, found, err := getJSON[store.BuildProfile](ctx, s, key)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%w: build profile %q", store.ErrNotFound, p.ID)
	}
	rec := *p
	rec.CreatedAt, rec.ConnectionID = old.CreatedAt, old.ConnectionID
	rec.Version = p.Version + 1
	oldHook, newHook := store.HookID(old.Hook), store.HookID(rec.Hook)
	if newHook != oldHook && newHook != "" {
		ref, _ := encodeJSON(&store.HookRef{HookID: newHook, TenantID: t, ProfileID: p.ID})
		ok, err := s.setNXOwn(ctx, s.hookKey(newHook), ref, 0)
		if err != nil {
			return fmt.Errorf("redisstore: update build profile: %w", err)
		}
		if !ok {
			return fmt.Errorf("%w: hook id exists", store.ErrConflict)
		}
	}
	release := func() {
		if newHook != oldHook && newHook != "" {
			s.client.Del(context.WithoutCancel(ctx), s.hookKey(newHook))
		}
	}
	data, err := encode(&rec)
	if err != nil {
		release()
		return err
	}
	res, err := s.runWrite(ctx, scriptUpdateProfile, t, []string{key, s.profileNamesKey(t)},
		rec.ID, strconv.FormatInt(p.Version, 10), rec.Version, rec.Name, data)
	if err != nil {
		release()
		return err
	}
	switch res {
	case resOK:
	case resNotFound:
		release()
		return fmt.Errorf("%w: build profile %q", store.ErrNotFound, p.ID)
	case resStale:
		release()
		return fmt.Errorf("%w: build profile %q changed concurrently, update carried version %d", store.ErrStale, p.ID, p.Version)
	case resNameTaken:
		release()
		return fmt.Errorf("%w: build profile name %q exists", store.ErrConflict, rec.Name)
	default:
		release()
		return fmt.Errorf("redisstore: update build profile: unexpected script result %d", res)
	}
	if newHook != oldHook && oldHook != "" {
		if err := s.client.Del(ctx, s.hookKey(oldHook)).Err(); err != nil {
			return fmt.Errorf("redisstore: update build profile: drop the old hook: %w", err)
		}
	}
	p.Version, p.CreatedAt = rec.Version, rec.CreatedAt
	return nil
}

func encodeJSON(v any) (string, error) { return encode(v) }

// HookByID implements store.Runs.HookByID.
func (s *Store) HookByID(ctx context.Context, id string) (_ *store.HookRef, err error) {
	defer unavailable(&err)
	raw, err := s.client.Get(ctx, s.hookKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: hook", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: hook: %w", err)
	}
	return decode[store.HookRef](s.hookKey(id), raw)
}

// TouchHook implements store.Runs.TouchHook (read, then compare-and-set: a concurrent
// deletion or rotation wins).
func (s *Store) TouchHook(ctx context.Context, id string, at time.Time) (err error) {
	defer unavailable(&err)
	k := s.hookKey(id)
	raw, err := s.client.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("%w: hook", store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("redisstore: touch hook: %w", err)
	}
	h, err := decode[store.HookRef](k, raw)
	if err != nil {
		return err
	}
	at = at.UTC()
	h.LastDeliveryAt = &at
	data, err := encode(h)
	if err != nil {
		return err
	}
	return scriptTouchHook.Run(ctx, s.client, []string{k}, raw, data).Err()
}

// KEYS: hook key. ARGV: expected value, new value. Replaces it only when it is the expected
// one (a concurrent rotation or deletion wins); 1 when replaced or already new.
var scriptTouchHook = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[2] then return 1 end
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`)

// setNXOwn is SET NX that also reports true when the key already holds exactly value: a
// go-redis retry of a SET NX whose first copy ran (see scripts.go) must not look like a loss.
// value must be unique to the caller (a nonce, or a value naming the caller).
func (s *Store) setNXOwn(ctx context.Context, key, value string, ttl time.Duration) (bool, error) {
	ok, err := s.client.SetNX(ctx, key, value, ttl).Result()
	if err != nil || ok {
		return ok, err
	}
	cur, err := s.client.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil && cur == value, err
}

// ClaimEvent implements store.Runs.ClaimEvent with SET NX PX.
func (s *Store) ClaimEvent(ctx context.Context, key string, ttl time.Duration) (_ bool, err error) {
	defer unavailable(&err)
	if key == "" || ttl <= 0 {
		return false, fmt.Errorf("%w: event key and ttl", store.ErrInvalid)
	}
	nonce, err := s.memoKey("event") // any random value unique to this call
	if err != nil {
		return false, err
	}
	ok, err := s.setNXOwn(ctx, s.hookEventKey(key), nonce, ttl)
	if err != nil {
		return false, fmt.Errorf("redisstore: claim event: %w", err)
	}
	return ok, nil
}

func runSortKey(r *store.Run) string { return store.SortKey(store.RunOrder(r.CreatedAt), r.ID) }

// CreateRun implements store.Runs.CreateRun: the record (HSETNX of its JSON) and its index
// entry, then retention by count (the oldest beyond keep deleted).
func (s *Store) CreateRun(ctx context.Context, r *store.Run, keep int) (err error) {
	defer unavailable(&err)
	if err := store.ValidateRun(r); err != nil {
		return err
	}
	rec := *r
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.timestamp()
	}
	t := rec.TenantID
	if n, err := s.client.Exists(ctx, s.profileKey(t, rec.BuildProfileID)).Result(); err != nil {
		return fmt.Errorf("redisstore: create run: %w", err)
	} else if n == 0 {
		return fmt.Errorf("%w: build profile %q", store.ErrNotFound, rec.BuildProfileID)
	}
	data, err := encode(&rec)
	if err != nil {
		return err
	}
	k := s.runKey(t, rec.ID)
	ok, err := s.client.HSetNX(ctx, k, "j", data).Result()
	if err != nil {
		return fmt.Errorf("redisstore: create run: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w: run id %q exists", store.ErrConflict, rec.ID)
	}
	sk := runSortKey(&rec)
	idx := s.runIndexKey(t, rec.BuildProfileID)
	if _, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "k", sk, "p", rec.BuildProfileID)
		p.ZAdd(ctx, idx, redis.Z{Member: sk})
		return nil
	}); err != nil {
		return fmt.Errorf("redisstore: create run: %w", err)
	}
	r.CreatedAt = rec.CreatedAt
	if keep > 0 {
		old, err := s.client.ZRange(ctx, idx, int64(keep), -1).Result()
		if err != nil {
			return fmt.Errorf("redisstore: create run: retention: %w", err)
		}
		if err := s.dropRuns(ctx, t, rec.BuildProfileID, old); err != nil {
			return err
		}
	}
	return nil
}

// dropRuns deletes the runs of the index members ms.
func (s *Store) dropRuns(ctx context.Context, tenant, profileID string, ms []string) error {
	if len(ms) == 0 {
		return nil
	}
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range ms {
			p.Del(ctx, s.runKey(tenant, store.IDOfSortKey(m)))
			p.ZRem(ctx, s.runIndexKey(tenant, profileID), m)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: drop runs: %w", err)
	}
	return nil
}

// UpdateRun implements store.Runs.UpdateRun (HSET XX semantics via a check of the profile
// field: a deleted run is not written back).
func (s *Store) UpdateRun(ctx context.Context, r *store.Run) (err error) {
	defer unavailable(&err)
	if err := store.ValidateRun(r); err != nil {
		return err
	}
	k := s.runKey(r.TenantID, r.ID)
	old, found, err := getJSON[store.Run](ctx, s, k)
	if err != nil {
		return err
	}
	if !found || old.BuildProfileID != r.BuildProfileID {
		return fmt.Errorf("%w: run %q", store.ErrNotFound, r.ID)
	}
	rec := *r
	rec.CreatedAt = old.CreatedAt
	data, err := encode(&rec)
	if err != nil {
		return err
	}
	res, err := scriptUpdateRun.Run(ctx, s.client, []string{k}, data).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: update run: %w", err)
	}
	if res == 0 {
		return fmt.Errorf("%w: run %q", store.ErrNotFound, r.ID)
	}
	return nil
}

// KEYS: run record. ARGV: json. Writes only a record that exists.
var scriptUpdateRun = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'j', ARGV[1])
return 1`)

// GetRun implements store.Runs.GetRun.
func (s *Store) GetRun(ctx context.Context, tenantID, id string) (_ *store.Run, err error) {
	defer unavailable(&err)
	r, found, err := getJSON[store.Run](ctx, s, s.runKey(tenantID, id))
	if err == nil && !found {
		err = fmt.Errorf("%w: run %q", store.ErrNotFound, id)
	}
	return r, err
}

// ListRuns implements store.Runs.ListRuns.
func (s *Store) ListRuns(ctx context.Context, tenantID, profileID string, page store.Page) (list []*store.Run, next string, err error) {
	defer unavailable(&err)
	return listJSON[store.Run](ctx, s, s.runIndexKey(tenantID, profileID),
		func(id string) string { return s.runKey(tenantID, id) }, page)
}

// PruneRuns implements store.Runs.PruneRuns: the index members sort newest first, so the
// runs created before cutoff are those at or after the cutoff's sort key.
func (s *Store) PruneRuns(ctx context.Context, tenantID, profileID string, cutoff time.Time) (_ int, err error) {
	defer unavailable(&err)
	idx := s.runIndexKey(tenantID, profileID)
	// After the cutoff's time part followed by 0xff (above any id byte): the runs created
	// exactly at cutoff are kept.
	start := "(" + store.SortKey(store.RunOrder(cutoff), "\xff")
	ms, err := s.client.ZRangeArgs(ctx, redis.ZRangeArgs{Key: idx, Start: start, Stop: "+", ByLex: true}).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: prune runs: %w", err)
	}
	return len(ms), s.dropRuns(ctx, tenantID, profileID, ms)
}

// dropProfileRuns deletes every run of a deleted profile and its hook index entry.
func (s *Store) dropProfileRuns(ctx context.Context, p *store.BuildProfile) error {
	idx := s.runIndexKey(p.TenantID, p.ID)
	ms, err := s.client.ZRange(ctx, idx, 0, -1).Result()
	if err != nil {
		return err
	}
	if err := s.dropRuns(ctx, p.TenantID, p.ID, ms); err != nil {
		return err
	}
	if p.Hook != nil {
		return s.client.Del(ctx, s.hookKey(p.Hook.ID)).Err()
	}
	return nil
}
