package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

// claimTTL is how long a new API key's hash claim lives before CreateAPIKey makes it
// permanent; a creator that dies in between leaves a claim that expires after it.
const claimTTL = time.Minute

// CreateAPIKey stores a copy of k, filling a zero CreatedAt with the current time (written
// back into k). The hash is global and the record is the tenant's, so there are three steps
// (see the package doc): claim the hash (apikey_hash, SET NX, expiring after claimTTL),
// write the record with its index entry (one script), make the claim permanent. A
// permanent claim whose record is gone (left by a DeleteAPIKey that stopped half-way) is
// taken over. Errors: store.ErrInvalid (wrapped) for a missing ID, TenantID or Hash;
// store.ErrConflict for an existing id in the tenant or an existing Hash in any tenant
// (also one being created right now); a context or Redis error (nothing is left that
// authenticates).
func (s *Store) CreateAPIKey(ctx context.Context, k *store.APIKey) (err error) {
	defer unavailable(&err)
	if err := store.ValidateAPIKey(k); err != nil {
		return err
	}
	rec := *k
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.timestamp()
	}
	data, err := encode(&rec)
	if err != nil {
		return err
	}
	claim, err := newClaim(rec.TenantID, rec.ID)
	if err != nil {
		return fmt.Errorf("redisstore: create api key: %w", err)
	}
	hk := s.apiKeyHashKey(rec.Hash)
	if err := s.claimHash(ctx, hk, claim); err != nil {
		return err
	}
	// From here on, a failure gives the claim back (best effort: it expires anyway).
	release := func() { _, _ = s.runScript(context.WithoutCancel(ctx), scriptDeleteIf, []string{hk}, claim) }
	t := rec.TenantID
	res, err := s.runWrite(ctx, scriptCreateAPIKey, t, []string{s.apiKeyKey(t, rec.ID), s.apiKeyIndexKey(t)},
		store.SortKey(rec.CreatedAt, rec.ID), rec.Hash, claim, data)
	if err != nil {
		release()
		return err
	}
	switch res {
	case resOK:
	case resIDTaken:
		release()
		return fmt.Errorf("%w: api key id %q exists", store.ErrConflict, rec.ID)
	default:
		release()
		return fmt.Errorf("redisstore: create api key: unexpected script result %d", res)
	}
	kept, err := s.runScript(ctx, scriptPersistIf, []string{hk}, claim)
	if err != nil || kept != 1 {
		// The claim expired (or Redis failed): undo the record, which authenticates nothing
		// without its claim, so that the caller's error is the whole truth.
		if memo, merr := s.memoKey(t); merr == nil {
			_, _ = scriptDeleteAPIKey.Run(context.WithoutCancel(ctx), s.client,
				[]string{s.apiKeyKey(t, rec.ID), s.apiKeyIndexKey(t), memo}).Result()
		}
		release()
		if err == nil {
			err = errors.New("redisstore: create api key: the hash claim expired before the key was stored")
		}
		return err
	}
	k.CreatedAt = rec.CreatedAt
	return nil
}

// claimHash sets the apikey_hash key hk to claim, expiring after claimTTL. When hk exists
// it is ErrConflict, unless it is a permanent claim whose record is gone or names another
// claim: that one is replaced (compare-and-set, so one of several creators wins).
func (s *Store) claimHash(ctx context.Context, hk, claim string) error {
	conflict := fmt.Errorf("%w: api key hash exists", store.ErrConflict)
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := s.client.SetNX(ctx, hk, claim, claimTTL).Result()
		if err != nil {
			return fmt.Errorf("redisstore: create api key: %w", err)
		}
		if ok {
			return nil
		}
		var get *redis.StringCmd
		var pttl *redis.DurationCmd
		if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			get, pttl = p.Get(ctx, hk), p.PTTL(ctx, hk)
			return nil
		}); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("redisstore: create api key: %w", err)
		}
		cur, err := get.Result()
		if errors.Is(err, redis.Nil) {
			continue // gone meanwhile: claim again
		}
		if cur == claim {
			return nil // our own SET NX ran, and go-redis sent it again (see scripts.go)
		}
		if pttl.Val() != -1 {
			return conflict // a create in progress (or one that died: it expires)
		}
		if s.claimLive(ctx, cur) {
			return conflict
		}
		swapped, err := s.runScript(ctx, scriptReplaceIf, []string{hk}, cur, claim, claimTTL.Milliseconds(), "1")
		if err != nil {
			return err
		}
		if swapped == 1 {
			return nil
		}
	}
	return conflict
}

// claimLive reports whether the record a claim names exists and holds that claim. A Redis
// error counts as live (the caller then refuses, failing closed).
func (s *Store) claimLive(ctx context.Context, claim string) bool {
	tenant, id, ok := parseClaim(claim)
	if !ok {
		return false
	}
	c, err := s.client.HGet(ctx, s.apiKeyKey(tenant, id), "c").Result()
	if errors.Is(err, redis.Nil) {
		return false
	}
	return err != nil || c == claim
}

// APIKeyByHash returns a fresh copy of the key whose Hash equals hash (hex SHA-256), in any
// tenant: the hash's claim names the record, which must hold the same claim. Errors:
// store.ErrNotFound (wrapped) when none matches (also for a claim whose record is gone).
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (_ *store.APIKey, err error) {
	defer unavailable(&err)
	notFound := fmt.Errorf("%w: api key", store.ErrNotFound)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if hash == "" {
		return nil, notFound
	}
	claim, err := s.client.Get(ctx, s.apiKeyHashKey(hash)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: api key by hash: %w", err)
	}
	tenant, id, ok := parseClaim(claim)
	if !ok {
		return nil, notFound
	}
	key := s.apiKeyKey(tenant, id)
	vals, err := s.client.HMGet(ctx, key, "c", "j").Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: api key by hash: %w", err)
	}
	c, _ := vals[0].(string)
	raw, ok := vals[1].(string)
	if !ok || c != claim {
		return nil, notFound
	}
	k, err := decode[store.APIKey](key, raw)
	if err != nil {
		return nil, err
	}
	if k.Hash != hash {
		return nil, notFound
	}
	return k, nil
}

// ListAPIKeys returns fresh copies of the API keys of tenantID ordered by CreatedAt, then
// ID, one page at a time (store.Page), with the next page's cursor ("" after the last); an
// empty (non-nil) slice when there are none. A malformed cursor is store.ErrInvalid.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID string, page store.Page) (list []*store.APIKey, next string, err error) {
	defer unavailable(&err)
	return listJSON[store.APIKey](ctx, s, s.apiKeyIndexKey(tenantID),
		func(id string) string { return s.apiKeyKey(tenantID, id) }, page)
}

// DeleteAPIKey removes the API key id of tenantID with its index entry (one script; from
// then on its hash authenticates nothing), then its hash claim if the claim is still the
// record's. A failure of that second step leaves a claim without a record, which
// authenticates nothing and is taken over by the next CreateAPIKey of that hash; it is not
// reported. Errors: store.ErrNotFound (absent or another tenant's).
func (s *Store) DeleteAPIKey(ctx context.Context, tenantID, id string) (err error) {
	defer unavailable(&err)
	notFound := fmt.Errorf("%w: api key %q", store.ErrNotFound, id)
	if tenantID == "" { // no record has an empty tenant; and {} is no hash tag
		return notFound
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	memo, err := s.memoKey(tenantID)
	if err != nil {
		return err
	}
	vals, err := scriptDeleteAPIKey.Run(ctx, s.client,
		[]string{s.apiKeyKey(tenantID, id), s.apiKeyIndexKey(tenantID), memo}).StringSlice()
	if errors.Is(err, redis.Nil) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("redisstore: delete api key: %w", err)
	}
	if len(vals) == 2 && vals[0] != "" {
		_, _ = s.runScript(context.WithoutCancel(ctx), scriptDeleteIf, []string{s.apiKeyHashKey(vals[0])}, vals[1])
	}
	return nil
}
