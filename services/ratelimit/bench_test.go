package ratelimit

import (
	"context"
	"testing"
	"time"
)

func BenchmarkAllow(b *testing.B) {
	// A budget that never runs out: the cost of an allowed event.
	limits := map[string]Limit{"catalog": {Rate: 1 << 30, Per: time.Second}}
	for _, lc := range limiterCases() {
		b.Run(lc.name, func(b *testing.B) {
			l := lc.new(b, limits)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if d, err := l.Allow(ctx, "acme", "catalog"); err != nil || !d.Allowed {
					b.Fatalf("%+v, %v", d, err)
				}
			}
		})
	}
}
