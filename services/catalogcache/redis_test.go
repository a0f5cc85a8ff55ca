package catalogcache

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

func TestRedisInstancesShareEntriesAndDrop(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	clk := newClock()
	opts := Options{Fresh: time.Minute, Keep: 10 * time.Minute, Now: clk.Now}
	a := New(NewRedis(srv.Client(), "rc"), opts)
	b := New(NewRedis(srv.Client(), "rc"), opts)
	defer a.Close()
	defer b.Close()

	la, lb := &loader{value: []byte("from a")}, &loader{value: []byte("from b")}
	if v, hit := mustFetch(t, a, "acme", "conn-1", "k", la); hit || string(v) != "from a" {
		t.Fatalf("a: %q, %v", v, hit)
	}
	if v, hit := mustFetch(t, b, "acme", "conn-1", "k", lb); !hit || string(v) != "from a" {
		t.Fatalf("b sees %q, hit %v; want a's entry", v, hit)
	}
	if err := b.Drop(ctx, "acme", "conn-1"); err != nil {
		t.Fatal(err)
	}
	if v, hit := mustFetch(t, a, "acme", "conn-1", "k", la); hit || string(v) != "from a" {
		t.Fatalf("a after b's Drop: %q, hit %v; want a miss", v, hit)
	}
	if lb.calls.Load() != 0 || la.calls.Load() != 2 {
		t.Fatalf("loads: a %d, b %d", la.calls.Load(), lb.calls.Load())
	}
}

func TestRedisKeyLayoutAndExpiry(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	c := New(NewRedis(rdb, ""), Options{Keep: 5 * time.Minute})
	defer c.Close()
	l := &loader{value: []byte("v")}
	mustFetch(t, c, "acme corp/x", "conn:1{a}", "repos:p 1", l)
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := "repoconnect:v1:t:{acme+corp%2Fx}:catalog:conn%3A1%7Ba%7D"
	if len(keys) != 1 || keys[0] != want {
		t.Fatalf("keys %q, want [%q]", keys, want)
	}
	if fields, _ := rdb.HKeys(ctx, want).Result(); len(fields) != 1 || fields[0] != "repos:p 1" {
		t.Fatalf("fields %q", fields)
	}
	ttl, err := rdb.PTTL(ctx, want).Result()
	if err != nil || ttl <= 0 || ttl > 5*time.Minute {
		t.Fatalf("PTTL = %v, %v; want in (0, 5m]", ttl, err)
	}
}

func TestRedisMalformedEntryIsAMiss(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	b := NewRedis(rdb, "rc")
	if err := rdb.HSet(ctx, "rc:v1:t:{acme}:catalog:c", "k", "junk").Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Get(ctx, "acme", "c", "k"); err == nil {
		t.Fatal("malformed entry decoded")
	}
	c := New(b, Options{})
	defer c.Close()
	l := &loader{value: []byte("fresh")}
	if v, hit := mustFetch(t, c, "acme", "c", "k", l); hit || string(v) != "fresh" {
		t.Fatalf("Fetch = %q, %v", v, hit)
	}
	if v, hit := mustFetch(t, c, "acme", "c", "k", l); !hit || string(v) != "fresh" {
		t.Fatalf("Fetch = %q, %v (the load should have overwritten the junk)", v, hit)
	}
}

func TestRedisDownIsAMiss(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	defer rdb.Close()
	var logs syncBuffer
	c := New(NewRedis(rdb, ""), Options{Logger: newTextLogger(&logs)})
	defer c.Close()
	l := &loader{value: []byte("v1")}
	mustFetch(t, c, "acme", "c", "k", l)

	srv.Kill()
	l.set("v2", nil)
	for i := range 2 { // every Fetch loads: Get fails (a miss), Set fails (ignored)
		v, hit, err := c.Fetch(ctx, "acme", "c", "k", l.load)
		if err != nil || hit || string(v) != "v2" {
			t.Fatalf("Fetch %d with redis down = %q, hit %v, err %v; want the loaded value", i, v, hit, err)
		}
	}
	if n := l.calls.Load(); n != 3 {
		t.Fatalf("load ran %d times, want 3", n)
	}
	if out := logs.String(); !strings.Contains(out, "backend get failed") || !strings.Contains(out, "backend set failed") {
		t.Fatalf("log = %q", out)
	}

	srv.Restart() // empty: no persistence
	l.set("v3", nil)
	eventually(t, "the cache to work again", func() bool {
		v, hit, err := c.Fetch(ctx, "acme", "c", "k", l.load)
		return err == nil && hit && string(v) == "v3"
	})
}
