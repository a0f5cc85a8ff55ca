package catalogcache

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	b := NewMemory(3)
	m := b.(*memory)
	set := func(conn, key string) {
		t.Helper()
		if err := b.Set(ctx, "acme", conn, key, Entry{Value: []byte(key), FetchedAt: time.Now()}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	has := func(conn, key string) bool {
		t.Helper()
		_, ok, err := b.Get(ctx, "acme", conn, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	set("c1", "a")
	set("c1", "b")
	set("c2", "c")
	has("c1", "a") // a is now the most recently used; b the least
	set("c2", "d")
	if has("c1", "b") {
		t.Fatal("b was not evicted")
	}
	for _, k := range [][2]string{{"c1", "a"}, {"c2", "c"}, {"c2", "d"}} {
		if !has(k[0], k[1]) {
			t.Fatalf("%v was evicted", k)
		}
	}
	// The group index follows evictions and drops.
	for i := range 10 {
		set("c3", fmt.Sprint(i))
	}
	if len(m.groups) != 1 || len(m.groups[group{"acme", "c3"}]) != 3 || m.lru.Len() != 3 {
		t.Fatalf("index %v, lru %d", m.groups, m.lru.Len())
	}
	if err := b.Drop(ctx, "acme", "c3"); err != nil {
		t.Fatal(err)
	}
	if len(m.groups) != 0 || m.lru.Len() != 0 {
		t.Fatalf("after Drop: index %v, lru %d", m.groups, m.lru.Len())
	}
}

func TestMemoryHardExpiryAndCopies(t *testing.T) {
	ctx := context.Background()
	b := NewMemory(10)
	m := b.(*memory)
	now := time.Now()
	m.now = func() time.Time { return now }
	v := []byte("value")
	if err := b.Set(ctx, "t", "c", "k", Entry{Value: v, FetchedAt: now}, time.Minute); err != nil {
		t.Fatal(err)
	}
	v[0] = 'X' // the caller's slice is not the cached one
	e, ok, _ := b.Get(ctx, "t", "c", "k")
	if !ok || string(e.Value) != "value" {
		t.Fatalf("Get = %q, %v", e.Value, ok)
	}
	e.Value[0] = 'Y' // nor is the returned one
	if e, _, _ := b.Get(ctx, "t", "c", "k"); string(e.Value) != "value" {
		t.Fatalf("cached value altered: %q", e.Value)
	}
	now = now.Add(time.Minute)
	if _, ok, _ := b.Get(ctx, "t", "c", "k"); ok {
		t.Fatal("entry served past its keep")
	}
	if len(m.groups) != 0 {
		t.Fatalf("expired entry left in the index: %v", m.groups)
	}
	if err := b.Set(ctx, "t", "c", "k", Entry{}, 0); err == nil {
		t.Fatal("Set with keep 0 accepted")
	}
}
