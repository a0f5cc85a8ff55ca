package ratelimit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/services/store/redisstore"
)

// DefaultPrefix is the key prefix NewRedis uses when it is given "".
const DefaultPrefix = "repoconnect"

type redisLimiter struct {
	limits map[string]Limit
	rl     *redis_rate.Limiter
	prefix string
}

var _ Limiter = (*redisLimiter)(nil)

// NewRedis returns a Limiter whose budgets live in Redis, shared by every instance using the
// same prefix (DefaultPrefix when ""): GCRA through github.com/go-redis/redis_rate/v10, one
// atomic script call per Allow, timed by the Redis server's clock. The key of (tenant,
// action) is
//
//	{prefix}:v1:t:{<tenant>}:rate:<action>
//
// with tenant and action escaped by url.QueryEscape and the tenant in a Redis Cluster hash
// tag; it expires by itself once the budget is full again. Limits that limit nothing (Rate or
// Per <= 0) are ignored. Errors are go-redis errors wrapped with context (and with
// store.ErrUnavailable for an outage: redisstore.Unavailable); the prefix must not
// contain '{' or '}'.
func NewRedis(client redis.UniversalClient, prefix string, limits map[string]Limit) Limiter {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &redisLimiter{
		limits: cleanLimits(limits),
		rl:     redis_rate.NewLimiter(unprefixed{client}),
		prefix: prefix,
	}
}

func (r *redisLimiter) Allow(ctx context.Context, tenant, action string) (Decision, error) {
	l, ok := r.limits[action]
	if !ok {
		return unlimited, nil
	}
	res, err := r.rl.Allow(ctx, redisKey(r.prefix, tenant, action),
		redis_rate.Limit{Rate: l.Rate, Burst: l.burst(), Period: l.Per})
	if err != nil {
		return Decision{}, redisstore.Unavailable(fmt.Errorf("ratelimit: redis: %w", err))
	}
	if res.Allowed == 0 {
		// GCRA's retry_after is > 0 when denied; keep the contract even at the edge.
		return Decision{RetryAfter: max(res.RetryAfter, time.Millisecond)}, nil
	}
	return Decision{Allowed: true, Remaining: max(0, res.Remaining)}, nil
}

// redisRatePrefix is the prefix redis_rate puts before every key it is given.
const redisRatePrefix = "rate:"

// unprefixed is the client given to redis_rate: it removes the "rate:" redis_rate adds to our
// keys, so that the keys in Redis start with our prefix (one layout for the deployment: ACLs,
// SCAN, eviction policies by prefix) and keep the tenant's hash tag.
type unprefixed struct{ redis.UniversalClient }

func trim(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.TrimPrefix(k, redisRatePrefix)
	}
	return out
}

func (u unprefixed) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return u.UniversalClient.Eval(ctx, script, trim(keys), args...)
}

func (u unprefixed) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return u.UniversalClient.EvalSha(ctx, sha1, trim(keys), args...)
}

func (u unprefixed) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return u.UniversalClient.EvalRO(ctx, script, trim(keys), args...)
}

func (u unprefixed) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return u.UniversalClient.EvalShaRO(ctx, sha1, trim(keys), args...)
}

func (u unprefixed) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return u.UniversalClient.Del(ctx, trim(keys)...)
}
