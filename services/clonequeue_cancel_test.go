package services_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// missingJob is a job id nobody has.
const missingJob = "0123456789abcdef0123456789abcdef"

// CancelClone: a queued job fails at once and never runs, a running one fails once its clone
// stopped and removed its directory, a finished one is returned unchanged; another tenant
// cannot cancel (or see) the jobs.
func TestCancelClone(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1)
		ctx := context.Background()
		running := e.start(e.profile, 0)
		recv(t, e.gate.stalled) // running holds the only slot: queued waits
		queued := e.start(e.develop, 1)
		for _, c := range []struct{ tenant, id string }{{"other", running.ID}, {"other", queued.ID}, {"acme", missingJob}} {
			if j, err := e.svc.CancelClone(ctx, c.tenant, c.id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("CancelClone(%s, %s) = %+v, %v", c.tenant, c.id, j, err)
			}
		}
		j, err := e.svc.CancelClone(ctx, "acme", queued.ID)
		if err != nil || j.State != services.CloneFailed || !errors.Is(j.Err, context.Canceled) || j.FinishedAt == nil || j.Progress != (gitops.Progress{}) {
			t.Fatalf("the cancelled queued job: %+v, %v", j, err)
		}
		if j, err := e.svc.CloneJob(ctx, "acme", running.ID); err != nil || j.State != services.CloneRunning {
			t.Fatalf("the running job after the other cancels: %+v, %v", j, err)
		}
		j, err = e.svc.CancelClone(ctx, "acme", running.ID)
		if err != nil || j.State != services.CloneFailed || !errors.Is(j.Err, context.Canceled) || j.Result != nil {
			t.Fatalf("the cancelled running job: %+v, %v", j, err)
		}
		if dirs := cloneDirs(t, filepath.Join(e.workDir, "acme", e.profile)); len(dirs) != 0 {
			t.Errorf("the cancelled clone left %v", dirs)
		}
		again, err := e.svc.CancelClone(ctx, "acme", running.ID)
		if err != nil || again.State != services.CloneFailed || !again.FinishedAt.Equal(*j.FinishedAt) {
			t.Errorf("cancelling a finished job again: %+v, %v", again, err)
		}
		// The cancelled queued job never runs: a job started after it runs through, and only
		// that one reached the server.
		e.gate.release()
		if done := last(t, e.watch(ctx, e.start(e.profile, 1).ID)); done.State != services.CloneSucceeded {
			t.Fatalf("the next job: %+v", done)
		}
		if n := len(e.gate.stalled); n != 1 {
			t.Errorf("%d clones reached the server after the cancels, want 1 (the last job)", n)
		}
		if dirs := cloneDirs(t, filepath.Join(e.workDir, "acme", e.develop)); len(dirs) != 0 {
			t.Errorf("the cancelled queued job cloned into %v", dirs)
		}
		if j, err := e.svc.CloneJob(ctx, "acme", queued.ID); err != nil || j.State != services.CloneFailed {
			t.Errorf("the cancelled queued job later: %+v, %v", j, err)
		}
	})
}

// Close stops the workers, the watchers and (Redis) the subscription and the asynq server:
// no goroutine of theirs is left.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1)
		ctx := context.Background()
		running := e.start(e.profile, 0)
		recv(t, e.gate.stalled)
		queued := e.start(e.develop, 0)
		watches := []<-chan services.CloneJob{e.watch(ctx, running.ID), e.watch(ctx, queued.ID)}
		if leftGoroutines() == "" {
			t.Fatal("no goroutine of the clone queue found while a job runs: the leak check would see nothing")
		}
		e.svc.Close()
		for _, ch := range watches {
			last(t, ch) // closed
		}
		deadline := time.Now().Add(10 * time.Second)
		for left := leftGoroutines(); left != ""; left = leftGoroutines() {
			if time.Now().After(deadline) {
				t.Fatalf("goroutines left after Close:\n%s", left)
			}
			runtime.Gosched()
		}
	})
}

// leftGoroutines returns the stacks of the goroutines of package services (not its tests or
// subpackages), asynq and go-redis subscriptions.
func leftGoroutines() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, p := range []string{"repoconnect/services.(", "hibiken/asynq", "go-redis/v9.(*PubSub)", "go-redis/v9.(*channel)"} {
			if strings.Contains(g, p) && !strings.Contains(g, "leftGoroutines") {
				left = append(left, g)
				break
			}
		}
	}
	return strings.Join(left, "\n\n")
}

// cloneDirs lists the clone directories under a profile's directory (none when it is gone).
func cloneDirs(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		dirs = append(dirs, e.Name())
	}
	return dirs
}
