// Package pacing holds the Pacer that instances on one Redis share: when Azure DevOps asks one
// instance to slow a connection down (Retry-After, even on a 200, or a falling
// X-RateLimit-Remaining; docs/azure-devops-protocol.md §8), every instance waits before that connection's
// next request. The in-process Pacer is resilience.Memory; this package adds the Redis one.
package pacing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/connections/resilience"
)

// DefaultPrefix is the key prefix NewRedis uses when it is given "".
const DefaultPrefix = "repoconnect"

// ttlMargin keeps a not-before key this long after its time has passed, then Redis drops it.
const ttlMargin = time.Second

// deferScript sets KEYS[1] to ARGV[1] (Unix milliseconds) with a PX TTL of ARGV[2] only when
// ARGV[1] is later than the value held (max semantics), so concurrent instances never
// shorten a wait. It is idempotent: running it twice (a retried command) changes nothing more.
var deferScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local t = tonumber(ARGV[1])
if t > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)

// Redis is a resilience.Pacer on Redis: one string key per pacing key (a connection id),
//
//	{prefix}:v1:pace:<key>
//
// holding the not-before time in Unix milliseconds, set by a max-semantics Lua script and
// expiring a second after that time. Times come from the clocks of the instances, which are
// assumed to agree within a fraction of a second. Safe for concurrent use.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ resilience.Pacer = (*Redis)(nil)

// NewRedis returns a Redis pacer on client with the deployment's key prefix (DefaultPrefix
// when ""); now nil means time.Now.
func NewRedis(client redis.UniversalClient, prefix string, now func() time.Time) *Redis {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if now == nil {
		now = time.Now
	}
	return &Redis{rdb: client, prefix: prefix, now: now}
}

func (r *Redis) key(k string) string { return r.prefix + ":v1:pace:" + url.QueryEscape(k) }

// NotBefore implements resilience.Pacer: the zero time when key holds nothing. Errors are
// go-redis errors wrapped with context (the transport then sends unpaced).
func (r *Redis) NotBefore(ctx context.Context, key string) (time.Time, error) {
	v, err := r.rdb.Get(ctx, r.key(key)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("pacing: redis get: %w", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("pacing: key %s holds %q, not Unix milliseconds", r.key(key), v)
	}
	return time.UnixMilli(ms), nil
}

// Defer implements resilience.Pacer with max semantics. A time already past is ignored.
func (r *Redis) Defer(ctx context.Context, key string, t time.Time) error {
	ttl := t.Sub(r.now()) + ttlMargin
	if ttl <= ttlMargin {
		return nil
	}
	err := deferScript.Run(ctx, r.rdb, []string{r.key(key)}, t.UnixMilli(), ttl.Milliseconds()).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("pacing: redis defer: %w", err)
	}
	return nil
}
