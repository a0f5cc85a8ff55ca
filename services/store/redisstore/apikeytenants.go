package redisstore

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// APIKeyTenants returns the tenants that hold at least one API key, sorted, or an empty
// (non-nil) slice when none does. It SCANs for the tenants' API key indexes
// ("P:v1:t:{T}:apikey_index"; on a Cluster, on every master): Redis removes a sorted set
// with its last member, so a tenant whose keys were all revoked is not listed. The prefix is
// [A-Za-z0-9._-] only, so it holds no glob character.
func (s *Store) APIKeyTenants(ctx context.Context) (_ []string, err error) {
	defer unavailable(&err)
	head, tail := s.prefix+":v1:t:{", "}:apikey_index"
	pattern := head + "*" + tail
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	scan := func(ctx context.Context, c redis.Cmdable) error {
		it := c.Scan(ctx, 0, pattern, 200).Iterator()
		for it.Next(ctx) {
			k := it.Val()
			rest, ok1 := strings.CutPrefix(k, head)
			escaped, ok2 := strings.CutSuffix(rest, tail)
			if !ok1 || !ok2 || strings.ContainsAny(escaped, "{}:") {
				continue
			}
			tenant, err := url.QueryUnescape(escaped)
			if err != nil {
				continue // not a key this layout writes
			}
			mu.Lock()
			seen[tenant] = true
			mu.Unlock()
		}
		return it.Err()
	}
	if err = s.eachMaster(ctx, scan); err != nil {
		return nil, fmt.Errorf("redisstore: API key tenants: %w", err)
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, nil
}
