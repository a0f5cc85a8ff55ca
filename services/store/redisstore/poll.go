package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store"
)

var _ store.Polling = (*Store)(nil)

// pollRefsKey is "P:v1:t:{T}:poll_refs:<profile id>", a string holding the JSON map of the
// branch tips the last poll of the profile saw.
func (s *Store) pollRefsKey(tenant, profileID string) string {
	return s.tenantKey(tenant, "poll_refs:"+esc(profileID))
}

// HookRefs implements store.Polling.HookRefs with SCAN over the global hook keys
// ("P:v1:hook:*"; on a Cluster, on every master). The prefix is [A-Za-z0-9._-] only, so it
// holds no glob character; "hook_event:" keys do not match "hook:*".
func (s *Store) HookRefs(ctx context.Context) (_ []*store.HookRef, err error) {
	defer unavailable(&err)
	pattern := s.prefix + ":v1:hook:*"
	var (
		mu  sync.Mutex
		out []*store.HookRef
	)
	scan := func(ctx context.Context, c redis.Cmdable) error {
		it := c.Scan(ctx, 0, pattern, 200).Iterator()
		for it.Next(ctx) {
			k := it.Val()
			raw, err := c.Get(ctx, k).Result()
			if errors.Is(err, redis.Nil) {
				continue // deleted since the scan saw it
			}
			if err != nil {
				return err
			}
			h, err := decode[store.HookRef](k, raw)
			if err != nil {
				return err
			}
			mu.Lock()
			out = append(out, h)
			mu.Unlock()
		}
		return it.Err()
	}
	if err = s.eachMaster(ctx, scan); err != nil {
		return nil, fmt.Errorf("redisstore: hook refs: %w", err)
	}
	return out, nil
}

// PollRefs implements store.Polling.PollRefs.
func (s *Store) PollRefs(ctx context.Context, tenantID, profileID string) (_ map[string]string, _ bool, err error) {
	defer unavailable(&err)
	k := s.pollRefsKey(tenantID, profileID)
	raw, err := s.client.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: poll refs: %w", err)
	}
	m, err := decode[map[string]string](k, raw)
	if err != nil {
		return nil, false, err
	}
	if *m == nil {
		*m = map[string]string{}
	}
	return *m, true, nil
}

// PutPollRefs implements store.Polling.PutPollRefs.
func (s *Store) PutPollRefs(ctx context.Context, tenantID, profileID string, refs map[string]string) (err error) {
	defer unavailable(&err)
	if tenantID == "" || profileID == "" {
		return fmt.Errorf("%w: tenant and profile id", store.ErrInvalid)
	}
	if refs == nil {
		refs = map[string]string{}
	}
	data, err := encode(refs)
	if err != nil {
		return err
	}
	if err := s.client.Set(ctx, s.pollRefsKey(tenantID, profileID), data, 0).Err(); err != nil {
		return fmt.Errorf("redisstore: put poll refs: %w", err)
	}
	return nil
}

// eachMaster runs scan on every master of a Cluster (at once, as go-redis' ForEachMaster
// does), or once on the single server or Sentinel master: a SCAN sees only the keys of the
// node it runs on.
func (s *Store) eachMaster(ctx context.Context, scan func(context.Context, redis.Cmdable) error) error {
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	}
	return scan(ctx, s.client)
}
