// Package catalogcache caches the catalog of a connection (its projects, repositories and
// branches, as opaque bytes) with a TTL: fresh entries are served as they are, stale ones are
// served at once while one background refresh per key runs, older ones are misses, and Drop
// forgets a connection at once.
//
// The cache is not the authority on which entries are current across instances: the caller
// puts the connection's catalog generation (a counter in the shared store, read on every
// request and bumped when the connection changes) into the key, so no instance reads an
// entry of an earlier generation. Drop only frees memory early.
//
// Two backends: NewMemory (in-process LRU, for the embedded deployment) and NewRedis (one
// hash per connection, shared by every instance).
package catalogcache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults of Options.
const (
	DefaultFresh          = 60 * time.Second
	DefaultKeep           = 15 * time.Minute
	DefaultRefreshTimeout = 30 * time.Second
)

// Options configure a Cache; the zero value takes every default.
type Options struct {
	// Fresh: an entry younger than this is served as is; default DefaultFresh (60s).
	Fresh time.Duration
	// Keep: an entry older than Fresh but younger than Keep is served and refreshed in the
	// background; older is a miss. Default DefaultKeep (15m); a Keep below Fresh is raised to
	// Fresh (no stale window). It is also the hard expiry given to the backend.
	Keep time.Duration
	// RefreshTimeout bounds every load the cache runs on its own context: background refreshes
	// and the shared load of a miss. Default DefaultRefreshTimeout (30s).
	RefreshTimeout time.Duration
	// Now is the clock of FetchedAt and of ages; default time.Now.
	Now func() time.Time
	// Logger receives background refresh failures and backend errors (never values); nil
	// discards them.
	Logger *slog.Logger
}

// Stats are counts since New.
type Stats struct {
	Hits                int64 // fresh entries served
	StaleHits           int64 // stale entries served (each may have started a refresh)
	Misses              int64 // Fetches that found nothing usable and waited for a load
	Loads               int64 // calls of a load function (misses and refreshes)
	BackgroundRefreshes int64 // loads started to refresh a stale entry
	LoadErrors          int64 // loads that failed (errors and panics)
}

// Cache is a read-through cache over a Backend. It is safe for concurrent use.
type Cache struct {
	b    Backend
	opts Options
	log  *slog.Logger

	flight singleflight.Group // one load per key in this process, misses and refreshes alike

	mu     sync.Mutex // guards closed and wg.Add
	closed bool
	wg     sync.WaitGroup

	hits, staleHits, misses, loads, refreshes, loadErrors atomic.Int64
}

// New returns a Cache over b with opts (defaults filled in).
func New(b Backend, opts Options) *Cache {
	if opts.Fresh <= 0 {
		opts.Fresh = DefaultFresh
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Keep < opts.Fresh {
		opts.Keep = opts.Fresh
	}
	if opts.RefreshTimeout <= 0 {
		opts.RefreshTimeout = DefaultRefreshTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Cache{b: b, opts: opts, log: log}
}

// Fetch returns the value of (tenant, conn, key).
//
//   - Fresh entry (younger than Fresh): returned with hit = true.
//   - Stale entry (younger than Keep): returned at once with hit = true, and one background
//     refresh of the key runs in this process (later stale Fetches join it); it stores the
//     new value only if load succeeds, and logs a failure.
//   - Miss: load runs and its value is stored and returned with hit = false. Concurrent misses
//     of one key in this process share one load, which runs on a context detached from the
//     caller's (keeping its values) and bounded by RefreshTimeout, so a caller that gives up
//     (its ctx ends, and Fetch returns ctx.Err()) neither cancels the others nor wastes the
//     load. load's errors are returned as they are and never cached.
//
// A backend error on Get or Set is logged and treated as a miss / ignored: the forge's answer
// is still returned. After Close, a miss loads synchronously on ctx and a stale entry is
// served without a refresh.
func (c *Cache) Fetch(ctx context.Context, tenant, conn, key string, load func(ctx context.Context) ([]byte, error)) (value []byte, hit bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	e, ok, err := c.b.Get(ctx, tenant, conn, key)
	if err != nil {
		c.log.WarnContext(ctx, "catalog cache: backend get failed; loading", "tenant", tenant, "conn", conn, "err", err)
		ok = false
	}
	if ok {
		age := c.opts.Now().Sub(e.FetchedAt)
		switch {
		case age < c.opts.Fresh: // includes negative ages (clock skew between instances)
			c.hits.Add(1)
			return e.Value, true, nil
		case age < c.opts.Keep:
			c.staleHits.Add(1)
			c.start(ctx, tenant, conn, key, load, true)
			return e.Value, true, nil
		}
	}
	c.misses.Add(1)
	ch, ok := c.start(ctx, tenant, conn, key, load, false)
	if !ok { // closed: no work of our own goroutines
		v, err, _ := c.flight.Do(flightKey(tenant, conn, key), func() (any, error) {
			return c.loadAndStore(ctx, tenant, conn, key, load, false)
		})
		return bytesOf(v), false, err
	}
	select {
	case r := <-ch:
		return bytesOf(r.Val), false, r.Err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// start joins or starts the shared load of the key and returns the channel of its result.
// The work is tracked so that Close waits for it; ok is false (and nothing starts) after
// Close.
func (c *Cache) start(ctx context.Context, tenant, conn, key string, load func(context.Context) ([]byte, error), background bool) (_ <-chan singleflight.Result, ok bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false
	}
	c.wg.Add(1)
	c.mu.Unlock()

	// DoChan registers the call before it returns, so every Fetch that got here while the
	// load runs joins it, however the goroutines are scheduled.
	in := c.flight.DoChan(flightKey(tenant, conn, key), func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.RefreshTimeout)
		defer cancel()
		return c.loadAndStore(lctx, tenant, conn, key, load, background)
	})
	out := make(chan singleflight.Result, 1)
	go func() {
		defer c.wg.Done()
		out <- <-in // buffered: never blocks, even when nobody waits
	}()
	return out, true
}

// loadAndStore runs load and stores its value with FetchedAt = the time load started. A
// panic of load becomes an error (it would otherwise take the process down from
// singleflight's goroutine).
func (c *Cache) loadAndStore(ctx context.Context, tenant, conn, key string, load func(context.Context) ([]byte, error), background bool) (_ any, err error) {
	c.loads.Add(1)
	if background {
		c.refreshes.Add(1)
	}
	fetchedAt := c.opts.Now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("catalogcache: load panicked: %v", p)
		}
		if err != nil {
			c.loadErrors.Add(1)
			if background {
				c.log.WarnContext(ctx, "catalog cache: background refresh failed", "tenant", tenant, "conn", conn, "key", key, "err", err)
			}
		}
	}()
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.b.Set(ctx, tenant, conn, key, Entry{Value: v, FetchedAt: fetchedAt}, c.opts.Keep); err != nil {
		c.log.WarnContext(ctx, "catalog cache: backend set failed", "tenant", tenant, "conn", conn, "err", err)
	}
	return v, nil
}

// Drop removes every entry of the connection; call it after the connection changes or is
// deleted (after bumping its catalog generation). A refresh of the connection already running
// may store its entry afterwards, under the key it was given (the old generation's), which
// then only waits for expiry. Errors are the backend's.
func (c *Cache) Drop(ctx context.Context, tenant, conn string) error {
	return c.b.Drop(ctx, tenant, conn)
}

// Close waits for background refreshes and shared loads to finish (each bounded by
// RefreshTimeout). Fetch after Close starts no background work. Close may be called more
// than once.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
}

// Stats returns the counts since New.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:                c.hits.Load(),
		StaleHits:           c.staleHits.Load(),
		Misses:              c.misses.Load(),
		Loads:               c.loads.Load(),
		BackgroundRefreshes: c.refreshes.Load(),
		LoadErrors:          c.loadErrors.Load(),
	}
}

func bytesOf(v any) []byte {
	b, _ := v.([]byte)
	return b
}
