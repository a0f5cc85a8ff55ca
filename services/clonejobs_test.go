package services_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

func TestCloneJobSucceeds(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 0)
		ctx := context.Background()
		j := e.start(e.profile, 0)
		if j.State != services.CloneQueued || j.BuildProfileID != e.profile || len(j.ID) != 32 || j.CreatedAt.IsZero() {
			t.Fatalf("started job %+v", j)
		}
		ch := e.watch(ctx, j.ID)
		recv(t, e.gate.stalled)
		for s, _ := recv(t, ch); s.State != services.CloneRunning || !atServerProgress(s.Progress.Phase); s, _ = recv(t, ch) {
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
	})
}

// A job fails with the error the synchronous clone gives for the same cause; what can be
// refused without the forge is refused by StartClone itself, as by CloneBuildProfile. With
// MaxClones 1, each job runs once the one before released its slot.
func TestCloneJobFailsLikeTheSynchronousClone(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1)
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
	})
}

// With MaxClones 1 a second job waits queued while the first runs. Close cancels the running
// one (and in-process the queued one) and waits for it; a watch ends with the failed
// snapshot; StartClone is refused after.
func TestCloneJobsQueueAndCloseCancels(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1)
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
		if j, err := e.svc.CloneJob(ctx, "acme", running.ID); err != nil || j.State != services.CloneFailed || !errors.Is(j.Err, context.Canceled) {
			t.Errorf("the running job after Close: %+v, %v", j, err)
		}
		// In-process, the queued job is cancelled with the process; on Redis it stays queued
		// for the workers of the other instances.
		j, err := e.svc.CloneJob(ctx, "acme", queued.ID)
		if kind == onMemory && (err != nil || j.State != services.CloneFailed || !errors.Is(j.Err, context.Canceled)) ||
			kind == onRedis && (err != nil || j.State != services.CloneQueued) {
			t.Errorf("the queued job after Close: %+v, %v", j, err)
		}
		if _, err := e.svc.StartClone(ctx, "acme", e.profile, services.CloneInput{}); !errors.Is(err, context.Canceled) {
			t.Errorf("StartClone after Close: %v", err)
		}
	})
}

// Deleting a build profile while its clone runs cancels the clone and waits for it, so no
// clone directory is written again after the profile's clones were removed.
func TestDeleteBuildProfileCancelsItsClone(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 2)
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
	})
}
