package ratelimit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

type limiterCase struct {
	name string
	new  func(t testing.TB, limits map[string]Limit) Limiter
}

func limiterCases() []limiterCase {
	return []limiterCase{
		{"memory", func(_ testing.TB, limits map[string]Limit) Limiter { return NewMemory(limits) }},
		{"redis", func(t testing.TB, limits map[string]Limit) Limiter {
			srv := redistest.Start(t, redistest.Options{})
			return NewRedis(srv.Client(), "", limits)
		}},
	}
}

// exhaust spends a burst of n for (tenant, action), checking Remaining counts down, then
// checks the next event is denied with 0 < RetryAfter <= maxRetry.
func exhaust(t *testing.T, l Limiter, tenant, action string, n int, maxRetry time.Duration) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		d, err := l.Allow(ctx, tenant, action)
		if err != nil || !d.Allowed || d.Remaining != n-1-i || d.RetryAfter != 0 {
			t.Fatalf("event %d of %s/%s: %+v, %v; want allowed with %d remaining", i+1, tenant, action, d, err, n-1-i)
		}
	}
	for range 3 {
		d, err := l.Allow(ctx, tenant, action)
		if err != nil || d.Allowed || d.Remaining != 0 || d.RetryAfter <= 0 || d.RetryAfter > maxRetry {
			t.Fatalf("event past the burst of %s/%s: %+v, %v; want denied with RetryAfter in (0, %v]", tenant, action, d, err, maxRetry)
		}
	}
}

func TestLimiter(t *testing.T) {
	ctx := context.Background()
	limits := map[string]Limit{
		"clone":   {Rate: 3, Per: time.Hour},
		"catalog": {Rate: 1, Per: time.Hour, Burst: 5},
		"off":     {Rate: 0, Per: time.Hour}, // limits nothing: ignored
	}
	tests := []struct {
		name string
		run  func(t *testing.T, l Limiter)
	}{
		{"burst of Rate then denied", func(t *testing.T, l Limiter) {
			exhaust(t, l, "acme", "clone", 3, time.Hour/3)
		}},
		{"explicit burst", func(t *testing.T, l Limiter) {
			exhaust(t, l, "acme", "catalog", 5, time.Hour)
		}},
		{"tenants are independent", func(t *testing.T, l Limiter) {
			exhaust(t, l, "acme", "clone", 3, time.Hour/3)
			exhaust(t, l, "globex", "clone", 3, time.Hour/3)
			// Escaping keeps look-alike tenants apart.
			exhaust(t, l, "acme}:rate:clone", "clone", 3, time.Hour/3)
		}},
		{"actions are independent", func(t *testing.T, l Limiter) {
			exhaust(t, l, "acme", "clone", 3, time.Hour/3)
			exhaust(t, l, "acme", "catalog", 5, time.Hour)
		}},
		{"actions without a limit are always allowed", func(t *testing.T, l Limiter) {
			for _, action := range []string{"status", "off"} {
				for range 50 {
					d, err := l.Allow(ctx, "acme", action)
					if err != nil || d != (Decision{Allowed: true, Remaining: -1}) {
						t.Fatalf("Allow(%s) = %+v, %v", action, d, err)
					}
				}
			}
		}},
	}
	for _, lc := range limiterCases() {
		t.Run(lc.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, lc.new(t, limits)) })
			}
		})
	}
}

func TestMemoryRefillAndDeniedNotCounted(t *testing.T) {
	ctx := context.Background()
	l := NewMemory(map[string]Limit{"clone": {Rate: 2, Per: time.Minute}}).(*memory)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	exhaust(t, l, "acme", "clone", 2, 30*time.Second)
	for range 10 { // denied events must not push the next allowed one further
		if d, _ := l.Allow(ctx, "acme", "clone"); d.Allowed || d.RetryAfter != 30*time.Second {
			t.Fatalf("denied event: %+v; want RetryAfter exactly 30s on a still clock", d)
		}
	}
	now = now.Add(30 * time.Second)
	if d, _ := l.Allow(ctx, "acme", "clone"); !d.Allowed {
		t.Fatalf("after Per/Rate: %+v; want allowed", d)
	}
	if d, _ := l.Allow(ctx, "acme", "clone"); d.Allowed || d.RetryAfter != 30*time.Second {
		t.Fatalf("then: %+v; want denied for 30s", d)
	}
}

func TestMemoryCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewMemory(map[string]Limit{"a": {Rate: 1, Per: time.Second}}).Allow(ctx, "t", "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestRedisLimitersShareTheBudget(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	limits := map[string]Limit{"clone": {Rate: 3, Per: time.Hour}}
	a := NewRedis(srv.Client(), "rc", limits)
	b := NewRedis(srv.Client(), "rc", limits)
	for i, l := range []Limiter{a, b, a} {
		if d, err := l.Allow(ctx, "acme", "clone"); err != nil || !d.Allowed {
			t.Fatalf("event %d: %+v, %v", i, d, err)
		}
	}
	for i, l := range []Limiter{b, a} {
		if d, err := l.Allow(ctx, "acme", "clone"); err != nil || d.Allowed || d.RetryAfter <= 0 {
			t.Fatalf("event past the shared burst on limiter %d: %+v, %v", i, d, err)
		}
	}
	// Another prefix is another deployment.
	if d, err := NewRedis(srv.Client(), "other", limits).Allow(ctx, "acme", "clone"); err != nil || !d.Allowed {
		t.Fatalf("other prefix: %+v, %v", d, err)
	}
}

func TestRedisKeys(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	limits := map[string]Limit{"clone": {Rate: 3, Per: time.Hour}, "list repos": {Rate: 3, Per: time.Minute}}
	l := NewRedis(rdb, "", limits)
	for _, ta := range [][2]string{{"acme", "clone"}, {"acme corp/x", "list repos"}} {
		if _, err := l.Allow(ctx, ta[0], ta[1]); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	iter := rdb.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"repoconnect:v1:t:{acme}:rate:clone":               true,
		"repoconnect:v1:t:{acme+corp%2Fx}:rate:list+repos": true,
	}
	if len(keys) != len(want) {
		t.Fatalf("keys %q, want %v", keys, want)
	}
	for _, k := range keys {
		if !want[k] || !strings.HasPrefix(k, "repoconnect:") {
			t.Fatalf("unexpected key %q (all keys %q)", k, keys)
		}
		if ttl, err := rdb.PTTL(ctx, k).Result(); err != nil || ttl <= 0 {
			t.Fatalf("key %q PTTL = %v, %v; want an expiry", k, ttl, err)
		}
	}
}

func TestRedisDownIsAnError(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialerRetries: 1})
	defer rdb.Close()
	l := NewRedis(rdb, "", map[string]Limit{"clone": {Rate: 3, Per: time.Hour}})
	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := l.Allow(ctx, "acme", "clone")
	if err == nil || d != (Decision{}) {
		t.Fatalf("Allow with redis down = %+v, %v; want an error and a zero Decision", d, err)
	}
	// Unlimited actions need no Redis.
	if d, err := l.Allow(ctx, "acme", "status"); err != nil || !d.Allowed {
		t.Fatalf("unlimited action with redis down = %+v, %v", d, err)
	}
}
