package ratelimit

import (
	"context"
	"maps"
	"net/url"
	"time"
)

// Decision of one Allow.
type Decision struct {
	// Allowed reports whether the event may happen now (it was counted).
	Allowed bool
	// RetryAfter is how long to wait before the next event would be allowed: > 0 when denied,
	// 0 when allowed.
	RetryAfter time.Duration
	// Remaining is how many more events would be allowed at once right now (>= 0), or -1 when
	// the action has no limit.
	Remaining int
}

// Limiter counts events against per-action limits, separately for each tenant.
type Limiter interface {
	// Allow counts one event of action for tenant. Actions without a configured limit are
	// always allowed (Remaining -1) without any I/O. A denied event is not counted. An error
	// (Redis unreachable, ctx done) comes with a zero Decision: the caller decides whether to
	// fail open.
	Allow(ctx context.Context, tenant, action string) (Decision, error)
}

// unlimited is the Decision of an action without a limit.
var unlimited = Decision{Allowed: true, Remaining: -1}

// cleanLimits copies limits, leaving out the ones that limit nothing (Rate or Per <= 0).
func cleanLimits(limits map[string]Limit) map[string]Limit {
	out := maps.Clone(limits)
	maps.DeleteFunc(out, func(_ string, l Limit) bool { return !l.valid() })
	return out
}

// redisKey is `{prefix}:v1:t:{<tenant>}:rate:<action>`, tenant and action escaped by
// url.QueryEscape, the tenant in a Redis Cluster hash tag.
func redisKey(prefix, tenant, action string) string {
	return prefix + ":v1:t:{" + url.QueryEscape(tenant) + "}:rate:" + url.QueryEscape(action)
}
