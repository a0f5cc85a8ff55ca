package web_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/catalogcache"
	"github.com/repoconnect/repoconnect/services/ratelimit"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

// The two deployments every multi-instance test runs on.
const (
	onBolt  = "bolt"  // one process, the embedded store (instances share the one *bolt.Store)
	onRedis = "redis" // instances each with their own client of one real redis-server
)

var deployments = []string{onBolt, onRedis}

// backend makes the per-instance parts of a deployment: a store handle on the shared data, the
// catalog cache and the rate limiter, as `repoconnect serve` builds them for that store.
type backend struct {
	t     *testing.T
	kind  string
	now   func() time.Time
	redis *redistest.Server // onRedis only

	mu   sync.Mutex
	bolt *bolt.Store // onBolt: opened once, shared by the instances of the process
	n    int
}

// newBackend starts the deployment's store: a bbolt file, or a redis-server with AOF and
// appendfsync always (the setting the README asks for). now is the clock of the stores.
func newBackend(t *testing.T, kind string, now func() time.Time) *backend {
	t.Helper()
	b := &backend{t: t, kind: kind, now: now}
	switch kind {
	case onBolt:
		st, err := bolt.Open(filepath.Join(t.TempDir(), "repoconnect.db"), bolt.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		b.bolt = st
	case onRedis:
		redisstore.LogTo(slog.New(slog.DiscardHandler)) // the crash test's dial failures are expected
		b.redis = redistest.Start(t, redistest.Options{AppendOnly: true, AppendFsync: "always"})
	default:
		t.Fatalf("unknown deployment %q", kind)
	}
	return b
}

// instance returns the store, cache and limiter of one more service instance. limits may be nil.
func (b *backend) instance(limits map[string]ratelimit.Limit) (store.Store, *catalogcache.Cache, ratelimit.Limiter) {
	b.t.Helper()
	copts := catalogcache.Options{Now: b.now}
	if b.kind == onBolt {
		var lim ratelimit.Limiter
		if limits != nil {
			lim = ratelimit.NewMemory(limits)
		}
		return b.bolt, catalogcache.New(catalogcache.NewMemory(services.DefaultCatalogEntries), copts), lim
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := redisstore.Open(ctx, b.redis.URL(0), redisstore.Options{Now: b.now, Prefix: "rctest"})
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { rs.Close() })
	var lim ratelimit.Limiter
	if limits != nil {
		lim = ratelimit.NewRedis(rs.Client(), rs.Prefix(), limits)
	}
	return rs, catalogcache.New(catalogcache.NewRedis(rs.Client(), rs.Prefix()), copts), lim
}

// forEachDeployment runs fn as a subtest per deployment.
func forEachDeployment(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range deployments {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}
