package catalogcache

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

// backendCase builds a fresh, empty backend for one test.
type backendCase struct {
	name string
	new  func(t testing.TB) Backend
}

func backendCases() []backendCase {
	return []backendCase{
		{"memory", func(testing.TB) Backend { return NewMemory(1000) }},
		{"redis", func(t testing.TB) Backend {
			srv := redistest.Start(t, redistest.Options{})
			return NewRedis(srv.Client(), "")
		}},
	}
}

// clock is an injectable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// loader is a load function that counts its calls and returns its current value.
type loader struct {
	calls atomic.Int64
	mu    sync.Mutex
	value []byte
	err   error
	gate  chan struct{} // when non-nil, each call waits for it to close
}

func (l *loader) set(v string, err error) {
	l.mu.Lock()
	l.value, l.err = []byte(v), err
	l.mu.Unlock()
}

func (l *loader) load(ctx context.Context) ([]byte, error) {
	l.calls.Add(1)
	l.mu.Lock()
	gate, v, err := l.gate, l.value, l.err
	l.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return v, err
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustFetch(t *testing.T, c *Cache, tenant, conn, key string, l *loader) ([]byte, bool) {
	t.Helper()
	v, hit, err := c.Fetch(context.Background(), tenant, conn, key, l.load)
	if err != nil {
		t.Fatalf("Fetch(%s, %s, %s): %v", tenant, conn, key, err)
	}
	return v, hit
}

var errForge = errors.New("forge unreachable")

func TestCache(t *testing.T) {
	ctx := context.Background()
	opts := func(clk *clock) Options {
		return Options{Fresh: time.Minute, Keep: 10 * time.Minute, RefreshTimeout: 10 * time.Second, Now: clk.Now}
	}
	tests := []struct {
		name string
		run  func(t *testing.T, b Backend)
	}{
		{"miss then hit with identical bytes", func(t *testing.T, b Backend) {
			c := New(b, opts(newClock()))
			defer c.Close()
			want := []byte(`{"value":[{"name":"repo \u00e9"}],"bin":"\x00\xff"}`)
			l := &loader{value: want}
			v, hit := mustFetch(t, c, "acme", "conn-1", "repos:p1:g1", l)
			if hit || !bytes.Equal(v, want) {
				t.Fatalf("first Fetch = %q, hit %v; want %q, miss", v, hit, want)
			}
			v, hit = mustFetch(t, c, "acme", "conn-1", "repos:p1:g1", l)
			if !hit || !bytes.Equal(v, want) {
				t.Fatalf("second Fetch = %q, hit %v; want %q, hit", v, hit, want)
			}
			if n := l.calls.Load(); n != 1 {
				t.Fatalf("load ran %d times, want 1", n)
			}
			if s := c.Stats(); s.Hits != 1 || s.Misses != 1 || s.Loads != 1 {
				t.Fatalf("stats %+v", s)
			}
		}},
		{"stale served at once and refreshed once under 20 concurrent fetches", func(t *testing.T, b Backend) {
			clk := newClock()
			c := New(b, opts(clk))
			defer c.Close()
			l := &loader{value: []byte("old")}
			mustFetch(t, c, "acme", "conn-1", "k", l)
			clk.Advance(2 * time.Minute) // stale, not expired
			gate := make(chan struct{})
			l.mu.Lock()
			l.value, l.gate = []byte("new"), gate
			l.mu.Unlock()

			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					v, hit, err := c.Fetch(ctx, "acme", "conn-1", "k", l.load)
					if err != nil || !hit || string(v) != "old" {
						t.Errorf("stale Fetch = %q, hit %v, err %v; want old, hit", v, hit, err)
					}
				})
			}
			wg.Wait() // every stale Fetch returned while the refresh is still held at the gate
			close(gate)
			eventually(t, "the refreshed entry", func() bool {
				e, ok, err := b.Get(ctx, "acme", "conn-1", "k")
				return err == nil && ok && string(e.Value) == "new"
			})
			if n := l.calls.Load(); n != 2 {
				t.Fatalf("load ran %d times, want 2 (the miss and one refresh)", n)
			}
			v, hit := mustFetch(t, c, "acme", "conn-1", "k", l)
			if !hit || string(v) != "new" {
				t.Fatalf("after refresh Fetch = %q, hit %v", v, hit)
			}
			if s := c.Stats(); s.StaleHits != 20 || s.BackgroundRefreshes != 1 || s.Loads != 2 || s.Hits != 1 {
				t.Fatalf("stats %+v", s)
			}
		}},
		{"failed refresh keeps the stale entry and is logged without values", func(t *testing.T, b Backend) {
			clk := newClock()
			var logs syncBuffer
			o := opts(clk)
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			c := New(b, o)
			l := &loader{value: []byte("secret-catalog")}
			mustFetch(t, c, "acme", "conn-1", "k", l)
			clk.Advance(2 * time.Minute)
			l.set("other", errForge)
			if v, hit := mustFetch(t, c, "acme", "conn-1", "k", l); !hit || string(v) != "secret-catalog" {
				t.Fatalf("stale Fetch = %q, hit %v", v, hit)
			}
			c.Close() // waits for the refresh
			if s := c.Stats(); s.LoadErrors != 1 || s.BackgroundRefreshes != 1 {
				t.Fatalf("stats %+v", s)
			}
			e, ok, err := b.Get(ctx, "acme", "conn-1", "k")
			if err != nil || !ok || string(e.Value) != "secret-catalog" {
				t.Fatalf("entry after failed refresh = %q, %v, %v", e.Value, ok, err)
			}
			out := logs.String()
			if !bytes.Contains([]byte(out), []byte("background refresh failed")) || bytes.Contains([]byte(out), []byte("secret-catalog")) {
				t.Fatalf("log = %q", out)
			}
		}},
		{"load error is returned and not cached", func(t *testing.T, b Backend) {
			c := New(b, opts(newClock()))
			defer c.Close()
			l := &loader{err: errForge}
			_, _, err := c.Fetch(ctx, "acme", "conn-1", "k", l.load)
			if !errors.Is(err, errForge) {
				t.Fatalf("Fetch error = %v, want %v", err, errForge)
			}
			if _, ok, _ := b.Get(ctx, "acme", "conn-1", "k"); ok {
				t.Fatal("a failed load left an entry")
			}
			l.set("ok", nil)
			if v, hit := mustFetch(t, c, "acme", "conn-1", "k", l); hit || string(v) != "ok" {
				t.Fatalf("Fetch after error = %q, hit %v; want ok, miss", v, hit)
			}
			if s := c.Stats(); s.LoadErrors != 1 || s.Loads != 2 {
				t.Fatalf("stats %+v", s)
			}
		}},
		{"panicking load is an error", func(t *testing.T, b Backend) {
			c := New(b, opts(newClock()))
			defer c.Close()
			_, _, err := c.Fetch(ctx, "acme", "conn-1", "k", func(context.Context) ([]byte, error) { panic("bug") })
			if err == nil {
				t.Fatal("Fetch of a panicking load returned no error")
			}
		}},
		{"drop removes only that connection", func(t *testing.T, b Backend) {
			c := New(b, opts(newClock()))
			defer c.Close()
			l := &loader{value: []byte("v")}
			groups := [][2]string{{"acme", "conn-1"}, {"acme", "conn-2"}, {"globex", "conn-1"}, {"acme:conn-1", ""}}
			for _, g := range groups {
				for _, k := range []string{"projects", "repos:p1"} {
					mustFetch(t, c, g[0], g[1], k, l)
				}
			}
			if err := c.Drop(ctx, "acme", "conn-1"); err != nil {
				t.Fatal(err)
			}
			for _, g := range groups {
				for _, k := range []string{"projects", "repos:p1"} {
					_, ok, err := b.Get(ctx, g[0], g[1], k)
					if err != nil {
						t.Fatal(err)
					}
					if want := g != groups[0]; ok != want {
						t.Errorf("after Drop(acme, conn-1): entry %v/%s present = %v, want %v", g, k, ok, want)
					}
				}
			}
			if _, hit := mustFetch(t, c, "acme", "conn-1", "projects", l); hit {
				t.Fatal("Fetch after Drop was a hit")
			}
			if err := c.Drop(ctx, "nobody", "none"); err != nil {
				t.Fatalf("Drop of an empty group: %v", err)
			}
		}},
		{"older than keep is a miss", func(t *testing.T, b Backend) {
			clk := newClock()
			c := New(b, opts(clk))
			defer c.Close()
			l := &loader{value: []byte("v1")}
			mustFetch(t, c, "acme", "conn-1", "k", l)
			clk.Advance(10 * time.Minute)
			l.set("v2", nil)
			if v, hit := mustFetch(t, c, "acme", "conn-1", "k", l); hit || string(v) != "v2" {
				t.Fatalf("Fetch past Keep = %q, hit %v; want v2, miss", v, hit)
			}
			if s := c.Stats(); s.StaleHits != 0 || s.BackgroundRefreshes != 0 || s.Misses != 2 {
				t.Fatalf("stats %+v", s)
			}
		}},
		{"concurrent misses share one load", func(t *testing.T, b Backend) {
			c := New(b, opts(newClock()))
			defer c.Close()
			gate := make(chan struct{})
			l := &loader{value: []byte("v"), gate: gate}
			var wg sync.WaitGroup
			for range 10 {
				wg.Go(func() {
					v, hit, err := c.Fetch(ctx, "acme", "conn-1", "k", l.load)
					if err != nil || hit || string(v) != "v" {
						t.Errorf("Fetch = %q, hit %v, err %v", v, hit, err)
					}
				})
			}
			eventually(t, "10 misses", func() bool { return c.Stats().Misses == 10 })
			close(gate)
			wg.Wait()
			if n := l.calls.Load(); n != 1 {
				t.Fatalf("load ran %d times, want 1", n)
			}
		}},
		{"a caller giving up does not cancel the shared load", func(t *testing.T, b Backend) {
			c := New(b, opts(newClock()))
			defer c.Close()
			gate := make(chan struct{})
			l := &loader{value: []byte("v"), gate: gate}
			cctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { _, _, err := c.Fetch(cctx, "acme", "conn-1", "k", l.load); done <- err }()
			eventually(t, "the load to start", func() bool { return l.calls.Load() == 1 })
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Fetch after cancel: %v, want context.Canceled", err)
			}
			close(gate)
			eventually(t, "the entry", func() bool { _, ok, _ := b.Get(ctx, "acme", "conn-1", "k"); return ok })
			if _, hit := mustFetch(t, c, "acme", "conn-1", "k", l); !hit {
				t.Fatal("the load of the caller that left was not stored")
			}
		}},
		{"close waits for an in-flight refresh", func(t *testing.T, b Backend) {
			clk := newClock()
			c := New(b, opts(clk))
			l := &loader{value: []byte("old")}
			mustFetch(t, c, "acme", "conn-1", "k", l)
			clk.Advance(2 * time.Minute)
			gate := make(chan struct{})
			l.mu.Lock()
			l.value, l.gate = []byte("new"), gate
			l.mu.Unlock()
			mustFetch(t, c, "acme", "conn-1", "k", l) // stale: starts the refresh
			eventually(t, "the refresh to start", func() bool { return l.calls.Load() == 2 })
			closed := make(chan struct{})
			go func() { c.Close(); close(closed) }()
			select {
			case <-closed:
				t.Fatal("Close returned while a refresh was held")
			default:
			}
			close(gate)
			<-closed
			// Close returned, so the refresh has finished and stored its value.
			e, ok, err := b.Get(ctx, "acme", "conn-1", "k")
			if err != nil || !ok || string(e.Value) != "new" {
				t.Fatalf("entry after Close = %q, %v, %v; want new", e.Value, ok, err)
			}
			// After Close: a stale entry is served without a refresh, a miss loads synchronously.
			clk.Advance(2 * time.Minute)
			if v, hit := mustFetch(t, c, "acme", "conn-1", "k", l); !hit || string(v) != "new" {
				t.Fatalf("stale Fetch after Close = %q, %v", v, hit)
			}
			if v, hit := mustFetch(t, c, "acme", "conn-1", "k2", l); hit || string(v) != "new" {
				t.Fatalf("miss after Close = %q, %v", v, hit)
			}
			if n := l.calls.Load(); n != 3 {
				t.Fatalf("load ran %d times, want 3", n)
			}
			c.Close() // twice is fine
		}},
	}
	for _, bc := range backendCases() {
		t.Run(bc.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, bc.new(t)) })
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	c := New(NewMemory(0), Options{Fresh: time.Hour, Keep: time.Minute})
	if c.opts.Keep != time.Hour || c.opts.RefreshTimeout != DefaultRefreshTimeout || c.opts.Now == nil {
		t.Fatalf("options %+v", c.opts)
	}
	c = New(NewMemory(0), Options{})
	if c.opts.Fresh != DefaultFresh || c.opts.Keep != DefaultKeep {
		t.Fatalf("options %+v", c.opts)
	}
}

func TestFetchCanceledContext(t *testing.T) {
	c := New(NewMemory(10), Options{})
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l := &loader{value: []byte("v")}
	if _, _, err := c.Fetch(ctx, "a", "b", "c", l.load); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if n := l.calls.Load(); n != 0 {
		t.Fatalf("load ran %d times", n)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTextLogger(w *syncBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
