package services_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
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
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
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

// env is a simulator behind a gate, a service on a bolt store with a settable clock, and a
// build profile of tenant "acme" on ios-app@main (profile) and @develop (develop).
type env struct {
	t                *testing.T
	sim              *azdosim.Server
	svc              *services.Service
	gate             *gate
	clock            *storetest.Clock
	profile, develop string
	iosBare          string
	workDir          string
}

func newEnv(t *testing.T, maxClones int) *env {
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
	st, err := bolt.Open(filepath.Join(dir, "db"), bolt.Options{})
	check(t, err)
	t.Cleanup(func() { st.Close() })
	clock := storetest.NewClock(time.Now())
	svc, err := services.New(services.Options{Store: st, Keyring: kr, WorkDir: filepath.Join(dir, "work"), MaxClones: maxClones, Now: clock.Now})
	check(t, err)
	t.Cleanup(svc.Close)
	ctx := context.Background()
	conn, err := svc.CreateConnection(ctx, "acme", services.ConnectionInput{Name: "sim", Type: "server-pat",
		ServerURL: front.URL, Collection: "DefaultCollection", PAT: connections.Secret(simPAT)})
	check(t, err)
	ios := azdosimtest.Repository(t, sim, "ios-app")
	e := &env{t: t, sim: sim, svc: svc, gate: g, clock: clock, iosBare: ios.BarePath, workDir: filepath.Join(dir, "work")}
	profile := func(branch string) string {
		p, err := svc.CreateBuildProfile(ctx, "acme", services.BuildProfileInput{Name: branch, ConnectionID: conn.ID, RepositoryID: ios.ID, Branch: branch})
		check(t, err)
		return p.ID
	}
	e.profile, e.develop = profile("main"), profile("develop")
	return e
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
		t.Fatal("nothing received within 30 s")
	}
	return v, ok
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

func TestCloneJobSucceeds(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	j := e.start(e.profile, 0)
	if j.State != services.CloneQueued || j.BuildProfileID != e.profile || len(j.ID) != 32 || j.CreatedAt.IsZero() {
		t.Fatalf("started job %+v", j)
	}
	ch := e.watch(ctx, j.ID)
	recv(t, e.gate.stalled)
	for s, _ := recv(t, ch); s.State != services.CloneRunning || s.Progress.Phase != gitops.PhaseCounting; s, _ = recv(t, ch) {
		if s.State != services.CloneQueued && s.State != services.CloneRunning {
			t.Fatalf("before the release: %+v", s)
		}
	}
	// A watch whose context ends is closed while the job goes on.
	wctx, cancel := context.WithCancel(ctx)
	short := e.watch(wctx, j.ID)
	cancel()
	if s := last(t, short); s.State != services.CloneRunning {
		t.Errorf("the cancelled watch's last snapshot: %+v", s)
	}
	e.gate.release()
	done := last(t, ch)
	want := azdosimtest.Git(t, e.iosBare, "rev-parse", "refs/heads/main")
	if done.State != services.CloneSucceeded || done.Result == nil || len(want) != 40 || done.Result.Commit != want ||
		done.Err != nil || done.FinishedAt == nil || done.Progress.Phase != gitops.PhaseDone || done.Progress.BytesReceived <= 0 {
		t.Fatalf("terminal snapshot %+v (result %+v), want commit %s", done, done.Result, want)
	}
	if got, err := e.svc.CloneJob(ctx, "acme", j.ID); err != nil || got.Result.Commit != want {
		t.Fatalf("CloneJob after the end: %+v, %v", got, err)
	}
	// A watch of a finished job gets the final snapshot, then the end.
	ch = e.watch(ctx, j.ID)
	if s, ok := recv(t, ch); !ok || s.State != services.CloneSucceeded {
		t.Fatalf("watch of a finished job: %+v", s)
	}
	if _, ok := recv(t, ch); ok {
		t.Fatal("the watch of a finished job stays open")
	}
	// Another tenant, an unknown id: not found. After 15 minutes the job is forgotten.
	for _, c := range []struct{ tenant, id string }{{"other", j.ID}, {"acme", "0123456789abcdef0123456789abcdef"}} {
		_, err1 := e.svc.CloneJob(ctx, c.tenant, c.id)
		_, err2 := e.svc.WatchClone(ctx, c.tenant, c.id)
		if !errors.Is(err1, store.ErrNotFound) || !errors.Is(err2, store.ErrNotFound) {
			t.Errorf("CloneJob/WatchClone(%s, %s) = %v, %v", c.tenant, c.id, err1, err2)
		}
	}
	if _, err := e.svc.StartClone(ctx, "other", e.profile, services.CloneInput{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("StartClone of another tenant's profile: %v", err)
	}
	e.clock.Advance(15 * time.Minute)
	if _, err := e.svc.CloneJob(ctx, "acme", j.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a job 15 minutes finished is still there: %v", err)
	}
}

// A job fails with the error the synchronous clone gives for the same cause; what can be
// refused without the forge is refused by StartClone itself, as by CloneBuildProfile. With
// MaxClones 1, each job runs once the one before released its slot.
func TestCloneJobFailsLikeTheSynchronousClone(t *testing.T) {
	e := newEnv(t, 1)
	e.gate.release()
	ctx := context.Background()
	for _, c := range []struct {
		profile string
		depth   int
		kind    error
	}{{e.profile, -1, connections.ErrInvalidInput}, {e.profile, 1 << 21, connections.ErrInvalidInput}, {"nope", 0, store.ErrNotFound}} {
		_, syncErr := e.svc.CloneBuildProfile(ctx, "acme", c.profile, services.CloneInput{Depth: c.depth}, nil)
		if _, err := e.svc.StartClone(ctx, "acme", c.profile, services.CloneInput{Depth: c.depth}); !errors.Is(err, c.kind) || !errors.Is(syncErr, c.kind) {
			t.Errorf("profile %s depth %d: StartClone %v, CloneBuildProfile %v; want %v", c.profile, c.depth, err, syncErr, c.kind)
		}
	}
	ios := azdosimtest.Repository(t, e.sim, "ios-app")
	for _, c := range []struct {
		name, profile, field string
		breakIt              func()
		kind                 error
	}{
		{"branch deleted", e.develop, "", func() { azdosimtest.Git(t, e.iosBare, "update-ref", "-d", "refs/heads/develop") }, connections.ErrNotFound},
		{"repository disabled", e.profile, "repositoryId", func() { check(t, e.sim.SetDisabled("", ios.ID, true)) }, connections.ErrInvalidInput},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.breakIt()
			_, syncErr := e.svc.CloneBuildProfile(ctx, "acme", c.profile, services.CloneInput{}, nil)
			done := last(t, e.watch(ctx, e.start(c.profile, 0).ID))
			if done.State != services.CloneFailed || done.Result != nil || done.FinishedAt == nil {
				t.Fatalf("terminal snapshot %+v", done)
			}
			for _, err := range []error{syncErr, done.Err} {
				if ce := connections.AsError(err); !errors.Is(err, c.kind) || ce == nil || ce.Field != c.field {
					t.Errorf("err = %v, want %v (field %q)", err, c.kind, c.field)
				}
			}
		})
	}
}

// With MaxClones 1 a second job waits queued while the first runs. Close cancels both and
// waits for them; a watch ends with the failed snapshot; StartClone is refused after.
func TestCloneJobsQueueAndCloseCancels(t *testing.T) {
	e := newEnv(t, 1)
	ctx := context.Background()
	running := e.start(e.profile, 0)
	recv(t, e.gate.stalled) // running holds the only slot: queued waits
	queued := e.start(e.develop, 1)
	for _, c := range []struct{ id, state string }{{running.ID, services.CloneRunning}, {queued.ID, services.CloneQueued}} {
		if j, err := e.svc.CloneJob(ctx, "acme", c.id); err != nil || j.State != c.state || (c.state == services.CloneQueued) != (j.Progress == gitops.Progress{}) {
			t.Fatalf("job %s: %+v, %v; want %s", c.id, j, err, c.state)
		}
	}
	ch := e.watch(ctx, running.ID)
	e.svc.Close() // returns once both goroutines ended
	if s := last(t, ch); s.State != services.CloneFailed || !errors.Is(s.Err, context.Canceled) {
		t.Errorf("watched job after Close: %+v", s)
	}
	for _, id := range []string{running.ID, queued.ID} {
		if j, err := e.svc.CloneJob(ctx, "acme", id); err != nil || j.State != services.CloneFailed || !errors.Is(j.Err, context.Canceled) {
			t.Errorf("job %s after Close: %+v, %v", id, j, err)
		}
	}
	if _, err := e.svc.StartClone(ctx, "acme", e.profile, services.CloneInput{}); !errors.Is(err, context.Canceled) {
		t.Errorf("StartClone after Close: %v", err)
	}
}

// Deleting a build profile while its clone runs cancels the clone and waits for it, so no
// clone directory is written again after the profile's clones were removed.
func TestDeleteBuildProfileCancelsItsClone(t *testing.T) {
	e := newEnv(t, 2)
	ctx := context.Background()
	running := e.start(e.profile, 0)
	other := e.start(e.develop, 1)
	recv(t, e.gate.stalled)
	recv(t, e.gate.stalled)
	ch := e.watch(ctx, running.ID)
	check(t, e.svc.DeleteBuildProfile(ctx, "acme", e.profile))
	// DeleteBuildProfile returned after the clone's goroutine ended: the job is final now.
	if j, err := e.svc.CloneJob(ctx, "acme", running.ID); err != nil || j.State != services.CloneFailed || !errors.Is(j.Err, context.Canceled) {
		t.Fatalf("the deleted profile's job: %+v, %v", j, err)
	}
	if s := last(t, ch); s.State != services.CloneFailed {
		t.Fatalf("watched: %+v", s)
	}
	entries, err := os.ReadDir(filepath.Join(e.workDir, "acme", e.profile))
	if err == nil || !os.IsNotExist(err) {
		t.Fatalf("the deleted profile's clone directory: %v, %v", entries, err)
	}
	e.gate.release()
	if j := last(t, e.watch(ctx, other.ID)); j.State != services.CloneSucceeded {
		t.Fatalf("the other profile's clone: %+v", j)
	}
}
