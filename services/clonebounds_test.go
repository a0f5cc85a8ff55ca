package services_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// waitUntil polls cond until it holds, or stops the test after 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30 s: %s", what)
		}
	}
}

// Synchronous clones and jobs share --max-clones: with one slot held by a synchronous clone,
// a job stays queued and a second synchronous clone waits in line until its request ends;
// once the first ends, the job runs. While a clone runs, its marker is in the work directory.
func TestMaxClonesSharedBySyncAndJobs(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1)
		ctx := context.Background()
		first := make(chan error, 1)
		go func() {
			_, err := e.svc.CloneBuildProfile(ctx, "acme", e.profile, services.CloneInput{}, io.Discard)
			first <- err
		}()
		recv(t, e.gate.stalled) // the synchronous clone holds the only slot
		if m, _ := os.ReadDir(filepath.Join(e.workDir, services.MarkerDir)); len(m) != 1 {
			t.Errorf("%d markers while one clone runs", len(m))
		}
		job := e.start(e.develop, 1)
		waitUntil(t, "the job waits for a slot", func() bool { return services.CloneSlotWaiters(e.svc) == 1 })
		if j, err := e.svc.CloneJob(ctx, "acme", job.ID); err != nil || j.State != services.CloneQueued {
			t.Fatalf("the job while the synchronous clone holds the slot: %+v, %v", j, err)
		}
		sctx, cancel := context.WithCancel(ctx)
		second := make(chan error, 1)
		go func() {
			_, err := e.svc.CloneBuildProfile(sctx, "acme", e.develop, services.CloneInput{}, io.Discard)
			second <- err
		}()
		waitUntil(t, "the second synchronous clone waits in line", func() bool { return services.CloneSlotWaiters(e.svc) == 2 })
		cancel()
		if err, _ := recv(t, second); !errors.Is(err, context.Canceled) {
			t.Fatalf("a synchronous clone whose request ended while it waited: %v", err)
		}
		if n := len(e.gate.stalled); n != 0 {
			t.Fatalf("%d more clones reached the server while the slot was held", n)
		}
		e.gate.release()
		if err, _ := recv(t, first); err != nil {
			t.Fatal(err)
		}
		if j := last(t, e.watch(ctx, job.ID)); j.State != services.CloneSucceeded {
			t.Fatalf("the job after the slot was freed: %+v", j)
		}
		if m, _ := os.ReadDir(filepath.Join(e.workDir, services.MarkerDir)); len(m) != 0 {
			t.Errorf("%d markers left after the clones ended", len(m))
		}
	})
}

// A clone killed with its instance (its directory and marker left behind) is removed when
// the next instance starts; the clones of a live process or of another host are left to the
// retention, and so are directories without a marker.
func TestStaleClonesRemovedAtStart(t *testing.T) {
	e := newEnv(t, onMemory, 1)
	host, _ := os.Hostname()
	workDir := t.TempDir()
	clone := func(name string, m map[string]any) string {
		dir := filepath.Join(workDir, "acme", "p1", name)
		check(t, os.MkdirAll(filepath.Join(dir, ".git", "objects"), 0o700))
		if m != nil {
			m["dir"] = "acme/p1/" + name
			b, _ := json.Marshal(m)
			check(t, os.MkdirAll(filepath.Join(workDir, services.MarkerDir), 0o700))
			check(t, os.WriteFile(filepath.Join(workDir, services.MarkerDir, name+".json"), b, 0o600))
		}
		return dir
	}
	killed := clone("killed", map[string]any{"instance": "gone", "pid": os.Getpid(), "host": host})
	deadPID := clone("dead-pid", map[string]any{"instance": "gone", "pid": 1 << 30, "host": host})
	livePID := clone("live-pid", map[string]any{"instance": "other", "pid": os.Getppid(), "host": host})
	otherHost := clone("other-host", map[string]any{"instance": "gone", "pid": os.Getpid(), "host": host + "-elsewhere"})
	finished := clone("finished", nil)
	escape := clone("escape", map[string]any{"instance": "gone", "pid": os.Getpid(), "host": host})
	b, _ := json.Marshal(map[string]any{"dir": "../outside", "instance": "gone", "pid": os.Getpid(), "host": host})
	check(t, os.WriteFile(filepath.Join(workDir, services.MarkerDir, "escape.json"), b, 0o600))
	outside := filepath.Join(filepath.Dir(workDir), "outside")
	check(t, os.MkdirAll(outside, 0o700))

	e.instance(1, workDir) // starts, and sweeps
	for dir, want := range map[string]bool{killed: false, deadPID: false, livePID: true, otherHost: true, finished: true, escape: true, outside: true} {
		if _, err := os.Stat(dir); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(dir), err == nil, want)
		}
	}
	left, _ := os.ReadDir(filepath.Join(workDir, services.MarkerDir))
	if len(left) != 2 {
		t.Errorf("markers left: %d, want 2 (the live process's and the other host's)", len(left))
	}
}

// The service's clone limits reach the engine, each refusing with its own reason.
func TestServiceCloneLimits(t *testing.T) {
	e := newEnv(t, onMemory, 1)
	e.gate.release()
	for _, c := range []struct {
		opt    func(*services.Options)
		reason connections.Reason
	}{
		{func(o *services.Options) { o.MaxCloneFiles = 1 }, connections.ReasonTooManyFiles},
		{func(o *services.Options) { o.MinFreeSpace = 1 << 62 }, connections.ReasonDiskSpaceLow},
		{func(o *services.Options) { o.CloneMemory = 1 << 20 }, connections.ReasonMemoryBudgetExceeded},
		{func(o *services.Options) { o.MaxObjectBytes = 16 }, connections.ReasonObjectTooLarge},
	} {
		svc := e.instance(1, t.TempDir(), c.opt)
		_, err := svc.CloneBuildProfile(context.Background(), "acme", e.profile, services.CloneInput{}, nil)
		if ce := connections.AsError(err); ce == nil || ce.Reason != c.reason {
			t.Errorf("want %s: %v", c.reason, err)
		}
	}
}

// A second instance starting on the same work directory, on the same host and under the
// same process id (two containers with host networking both run as PID 1, sharing a volume),
// leaves alone the clone the first one is writing: its marker is held (an advisory lock) for
// as long as the clone runs, so it is no dead instance's.
func TestStaleClonesSweepLeavesLiveCloneOfSamePID(t *testing.T) {
	e := newEnv(t, onMemory, 1)
	done := make(chan error, 1)
	var path string
	go func() {
		res, err := e.svc.CloneBuildProfile(context.Background(), "acme", e.profile, services.CloneInput{}, io.Discard)
		if err == nil {
			path = res.Path
		}
		done <- err
	}()
	recv(t, e.gate.stalled) // the clone is under way, its marker written
	markers, _ := os.ReadDir(filepath.Join(e.workDir, services.MarkerDir))
	if len(markers) != 1 {
		t.Fatalf("%d markers while one clone runs", len(markers))
	}
	b, err := os.ReadFile(filepath.Join(e.workDir, services.MarkerDir, markers[0].Name()))
	check(t, err)
	var m struct{ Dir string }
	check(t, json.Unmarshal(b, &m))
	dir := filepath.Join(e.workDir, filepath.FromSlash(m.Dir))

	e.instance(1, e.workDir) // starts, and removes the clones of dead instances

	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the live clone's directory after a second instance started: %v", err)
	}
	e.gate.release()
	if err, _ := recv(t, done); err != nil {
		t.Fatalf("the clone under way when a second instance started: %v", err)
	}
	if _, err := os.Stat(filepath.Join(path, ".git", "HEAD")); err != nil {
		t.Fatalf("the finished clone: %v", err)
	}
}
