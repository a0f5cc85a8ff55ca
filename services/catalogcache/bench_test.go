package catalogcache

import (
	"context"
	"testing"
)

func BenchmarkFetchHit(b *testing.B) {
	value := make([]byte, 4<<10) // a typical repository list
	for _, bc := range backendCases() {
		b.Run(bc.name, func(b *testing.B) {
			c := New(bc.new(b), Options{})
			defer c.Close()
			ctx := context.Background()
			load := func(context.Context) ([]byte, error) { return value, nil }
			if _, _, err := c.Fetch(ctx, "acme", "conn-1", "repos:p1:g1", load); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, hit, err := c.Fetch(ctx, "acme", "conn-1", "repos:p1:g1", load); err != nil || !hit {
					b.Fatalf("hit %v, err %v", hit, err)
				}
			}
		})
	}
}
