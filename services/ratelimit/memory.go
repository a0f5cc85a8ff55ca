package ratelimit

import (
	"context"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// DefaultMemoryKeys bounds how many (tenant, action) limiters NewMemory keeps.
const DefaultMemoryKeys = 16384

type memKey struct{ tenant, action string }

type memory struct {
	limits   map[string]Limit
	limiters *lru.Cache[memKey, *rate.Limiter]
	now      func() time.Time // time.Now; tests replace it
}

var _ Limiter = (*memory)(nil)

// NewMemory returns an in-process Limiter: a token bucket (golang.org/x/time/rate) per
// (tenant, action), refilled at Rate/Per and holding the burst. It keeps the
// DefaultMemoryKeys most recently used buckets; an evicted bucket starts full again when
// next used, so memory stays bounded whatever the number of tenants. Limits that limit nothing
// (Rate or Per <= 0) are ignored. It is safe for concurrent use and never returns errors
// except ctx's.
func NewMemory(limits map[string]Limit) Limiter {
	c, err := lru.New[memKey, *rate.Limiter](DefaultMemoryKeys)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return &memory{limits: cleanLimits(limits), limiters: c, now: time.Now}
}

func (m *memory) Allow(ctx context.Context, tenant, action string) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	l, ok := m.limits[action]
	if !ok {
		return unlimited, nil
	}
	k := memKey{tenant, action}
	lim, ok := m.limiters.Get(k)
	if !ok {
		fresh := rate.NewLimiter(rate.Limit(float64(l.Rate)/l.Per.Seconds()), l.burst())
		if prev, found, _ := m.limiters.PeekOrAdd(k, fresh); found {
			lim = prev // another goroutine added it first
		} else {
			lim = fresh
		}
	}
	now := m.now()
	r := lim.ReserveN(now, 1)
	if !r.OK() { // cannot happen with a burst >= 1; deny rather than wait forever
		return Decision{RetryAfter: l.Per}, nil
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a denied event is not counted
		return Decision{RetryAfter: d}, nil
	}
	return Decision{Allowed: true, Remaining: max(0, int(lim.TokensAt(now)))}, nil
}
