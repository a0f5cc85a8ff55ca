package services_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

const simPAT = "clonejobstestpat0123456789abcdef"

// gate, a reverse proxy before the simulator, stalls every git-upload-pack answer after its
// first progress packet until release: the server's first line ("Enumerating objects") has
// reached the clone by then, so a clone is held in the counting phase deterministically.
type gate struct {
	hold    chan struct{}
	stalled chan struct{} // a value per stalled answer
	release func()        // lets the stalled answers go on
}

// stallingBody passes whole pkt-lines until one of band 2 (progress) ending a line went
// through, then waits for the gate or the request's end.
type stallingBody struct {
	io.ReadCloser
	rd             *bufio.Reader
	passed, waited bool
	g              *gate
	ctx            context.Context
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if !b.passed { // progress packets are small: one fits the bufio.Reader and p
		hdr, err := b.rd.Peek(4)
		n, _ := strconv.ParseUint(string(hdr), 16, 16)
		pkt, err2 := b.rd.Peek(max(int(n), 4))
		if err != nil || err2 != nil {
			return 0, errors.Join(err, err2)
		}
		b.passed = n > 5 && pkt[4] == 2 && strings.ContainsAny(string(pkt[n-1:]), "\r\n")
		return b.rd.Read(p[:len(pkt)])
	}
	if !b.waited {
		b.waited = true
		b.g.stalled <- struct{}{}
		select {
		case <-b.g.hold:
		case <-b.ctx.Done():
			return 0, b.ctx.Err()
		}
	}
	return b.rd.Read(p)
}

// The two clone queues every clone job test runs on.
const (
	onMemory = "memory" // the in-process queue, on a bbolt store
	onRedis  = "redis"  // the Redis queue, on a Redis store (a real redis-server)
)

// forEachQueue runs fn as a subtest per clone queue.
func forEachQueue(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range []string{onMemory, onRedis} {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}

// env is a simulator behind a gate, a service on a store and clone queue of its kind with a
// settable clock, and a build profile of tenant "acme" on ios-app@main (profile) and
// @develop (develop). On Redis, more instances can join (instance).
type env struct {
	t                *testing.T
	kind             string
	sim              *azdosim.Server
	svc              *services.Service
	gate             *gate
	clock            *storetest.Clock
	profile, develop string
	iosBare          string
	workDir          string
	dir              string
	kr               *secrets.Keyring
	bolt             *bolt.Store       // onMemory
	redis            *redistest.Server // onRedis
}

// newEnv starts the env; opts tune the Options of its service.
func newEnv(t *testing.T, kind string, maxClones int, opts ...func(*services.Options)) *env {
	t.Helper()
	sim := azdosimtest.Start(t, azdosim.Options{Seed: true}, azdosim.PAT{Token: simPAT})
	g := &gate{hold: make(chan struct{}), stalled: make(chan struct{}, 100)} // more than a test's clones
	g.release = sync.OnceFunc(func() { close(g.hold) })
	target, _ := url.Parse(sim.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method == http.MethodPost && strings.HasSuffix(r.Request.URL.Path, "/git-upload-pack") {
			r.Body = &stallingBody{ReadCloser: r.Body, rd: bufio.NewReader(r.Body), g: g, ctx: r.Request.Context()}
		}
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	t.Cleanup(g.release) // before front.Close: a stalled answer must not hold it up
	dir := t.TempDir()
	kr, _, err := secrets.LoadOrCreateFile(filepath.Join(dir, "sealing.key"))
	check(t, err)
	e := &env{t: t, kind: kind, sim: sim, gate: g, clock: storetest.NewClock(time.Now()), dir: dir, kr: kr, workDir: filepath.Join(dir, "work")}
	switch kind {
	case onMemory:
		e.bolt, err = bolt.Open(filepath.Join(dir, "db"), bolt.Options{})
		check(t, err)
		t.Cleanup(func() { e.bolt.Close() })
	case onRedis:
		e.redis = redistest.Start(t, redistest.Options{})
	}
	e.svc = e.instance(maxClones, e.workDir, opts...)
	ctx := context.Background()
	conn, err := e.svc.CreateConnection(ctx, "acme", services.ConnectionInput{Name: "sim", Type: "server-pat",
		ServerURL: front.URL, Collection: "DefaultCollection", PAT: connections.Secret(simPAT)})
	check(t, err)
	ios := azdosimtest.Repository(t, sim, "ios-app")
	e.iosBare = ios.BarePath
	profile := func(branch string) string {
		p, err := e.svc.CreateBuildProfile(ctx, "acme", services.BuildProfileInput{Name: branch, ConnectionID: conn.ID, RepositoryID: ios.ID, Branch: branch})
		check(t, err)
		return p.ID
	}
	e.profile, e.develop = profile("main"), profile("develop")
	return e
}

// instance starts a service instance on the env's store (on Redis with a client and a clone
// queue of its own, as `repoconnect serve` builds them) with its clones in workDir; it is
// closed when the test ends.
func (e *env) instance(maxClones int, workDir string, opts ...func(*services.Options)) *services.Service {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(testLog{e.t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o := services.Options{Door: services.LoopbackDoor, Keyring: e.kr, WorkDir: workDir, MaxClones: maxClones, Now: e.clock.Now, Logger: log}
	if e.kind == onMemory {
		o.Store = e.bolt
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rs, err := redisstore.Open(ctx, e.redis.URL(0), redisstore.Options{Prefix: "cjtest", Now: e.clock.Now})
		check(e.t, err)
		e.t.Cleanup(func() { rs.Close() })
		o.Store = rs
		o.CloneQueue = services.NewRedisCloneQueue(rs.Client(), rs.Prefix(), services.RedisCloneQueueOptions{PollInterval: 50 * time.Millisecond})
	}
	for _, fn := range opts {
		fn(&o)
	}
	svc, err := services.New(o)
	check(e.t, err)
	e.t.Cleanup(svc.Close)
	return svc
}

// check stops the test on err.
func check(t *testing.T, err error) {
	if t.Helper(); err != nil {
		t.Fatal(err)
	}
}

// start starts a clone of acme's profile.
func (e *env) start(profile string, depth int) *services.CloneJob {
	e.t.Helper()
	j, err := e.svc.StartClone(context.Background(), "acme", profile, services.CloneInput{Depth: depth})
	check(e.t, err)
	return j
}

// watch watches one of acme's jobs.
func (e *env) watch(ctx context.Context, id string) <-chan services.CloneJob {
	e.t.Helper()
	ch, err := e.svc.WatchClone(ctx, "acme", id)
	check(e.t, err)
	return ch
}

// recv receives from ch or stops the test after 30 s; ok is false once ch is closed.
func recv[T any](t *testing.T, ch <-chan T) (v T, ok bool) {
	t.Helper()
	select {
	case v, ok = <-ch:
	case <-time.After(30 * time.Second):
		buf := make([]byte, 1<<20) // where everything waits, to tell a hang from a slow machine
		t.Fatalf("nothing received within 30 s; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
	}
	return v, ok
}

// atServerProgress reports whether phase is one the gate can hold a clone in: the first
// progress packet it lets through says "Enumerating objects" (counting), or, when git
// upload-pack relayed several of pack-objects' lines in one sideband packet (as it does when
// the machine is busy and the lines pile up in its pipe), already "Compressing objects".
func atServerProgress(phase string) bool {
	return phase == gitops.PhaseCounting || phase == gitops.PhaseCompressing
}

// last drains ch and returns the last snapshot it carried.
func last(t *testing.T, ch <-chan services.CloneJob) services.CloneJob {
	t.Helper()
	var j services.CloneJob
	for {
		s, ok := recv(t, ch)
		if !ok {
			return j
		}
		j = s
	}
}

// testLog writes a service's warnings to the test's log (shown when it fails, or with -v).
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
