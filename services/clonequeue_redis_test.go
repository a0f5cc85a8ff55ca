package services_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// Two instances on one Redis share the jobs: B reads, watches and cancels a job A runs (A's
// clone stops and removes its directory); a job started on A is run by some worker and
// followed to its end from B, a failure with the same error on both; tenant "other" sees
// none of it through B.
func TestRedisQueueSharedByInstances(t *testing.T) {
	e := newEnv(t, onRedis, 1)
	ctx := context.Background()
	a := e.svc
	held := e.start(e.profile, 0) // A is the only worker yet: A runs it
	recv(t, e.gate.stalled)
	workB := filepath.Join(e.dir, "work-b")
	b := e.instance(1, workB)

	for _, c := range []struct{ tenant, id string }{{"other", held.ID}, {"acme", missingJob}} {
		_, err1 := b.CloneJob(ctx, c.tenant, c.id)
		_, err2 := b.WatchClone(ctx, c.tenant, c.id)
		_, err3 := b.CancelClone(ctx, c.tenant, c.id)
		if !errors.Is(err1, store.ErrNotFound) || !errors.Is(err2, store.ErrNotFound) || !errors.Is(err3, store.ErrNotFound) {
			t.Errorf("B: CloneJob/WatchClone/CancelClone(%s, %s) = %v, %v, %v", c.tenant, c.id, err1, err2, err3)
		}
	}
	if j, err := b.CloneJob(ctx, "acme", held.ID); err != nil || j.State != services.CloneRunning || j.BuildProfileID != e.profile {
		t.Fatalf("B reads A's job: %+v, %v", j, err)
	}
	watch, err := b.WatchClone(ctx, "acme", held.ID)
	check(t, err)
	j, err := b.CancelClone(ctx, "acme", held.ID)
	if err != nil || j.State != services.CloneFailed || !errors.Is(j.Err, context.Canceled) {
		t.Fatalf("B cancels A's job: %+v, %v", j, err)
	}
	if s := last(t, watch); s.State != services.CloneFailed || s.FinishedAt == nil || !s.FinishedAt.Equal(*j.FinishedAt) {
		t.Errorf("B's watch of the cancelled job ended with %+v", s)
	}
	if dirs := cloneDirs(t, filepath.Join(e.workDir, "acme", e.profile)); len(dirs) != 0 {
		t.Errorf("the clone cancelled on A left %v", dirs)
	}

	// A job started on A, followed from B to its end; its directory is below the work
	// directory of the instance that ran it.
	e.gate.release()
	started, err := a.StartClone(ctx, "acme", e.develop, services.CloneInput{Depth: 1})
	check(t, err)
	watch, err = b.WatchClone(ctx, "acme", started.ID)
	check(t, err)
	done := last(t, watch)
	want := azdosimtest.Git(t, e.iosBare, "rev-parse", "refs/heads/develop")
	if done.State != services.CloneSucceeded || done.Result == nil || done.Result.Commit != want ||
		!(strings.HasPrefix(done.Result.Path, e.workDir+string(filepath.Separator)) || strings.HasPrefix(done.Result.Path, workB+string(filepath.Separator))) {
		t.Fatalf("B followed A's job to %+v (result %+v), want commit %s", done, done.Result, want)
	}
	if j, err := a.CloneJob(ctx, "acme", started.ID); err != nil || j.State != services.CloneSucceeded || j.Result.Commit != want {
		t.Errorf("A reads the job: %+v, %v", j, err)
	}

	// A failure started on B and read on A carries the same error as the synchronous clone.
	azdosimtest.Git(t, e.iosBare, "update-ref", "-d", "refs/heads/develop")
	_, syncErr := a.CloneBuildProfile(ctx, "acme", e.develop, services.CloneInput{}, nil)
	failed, err := b.StartClone(ctx, "acme", e.develop, services.CloneInput{})
	check(t, err)
	watch, err = a.WatchClone(ctx, "acme", failed.ID)
	check(t, err)
	got, want2 := connections.AsError(last(t, watch).Err), connections.AsError(syncErr)
	if got == nil || want2 == nil || got.Kind != want2.Kind || got.Reason != want2.Reason || got.Message != want2.Message || got.Field != want2.Field {
		t.Fatalf("the failed job's error on A: %+v; the synchronous clone's: %+v", got, want2)
	}
}

// A job whose worker vanished (its alive key gone, as when its instance died) is failed by
// the next reader on any instance, and the worker, if it was only cut off, gives it up
// without overwriting that.
func TestRedisQueueWorkerVanished(t *testing.T) {
	e := newEnv(t, onRedis, 1)
	ctx := context.Background()
	held := e.start(e.profile, 0)
	recv(t, e.gate.stalled)
	// Held at the gate, the clone reports nothing after the counting phase.
	wctx, stop := context.WithCancel(ctx)
	ch := e.watch(wctx, held.ID)
	for s, ok := recv(t, ch); !atServerProgress(s.Progress.Phase); s, ok = recv(t, ch) {
		if !ok {
			t.Fatalf("the watch ended before the counting phase: %+v", s)
		}
	}
	stop()
	b := e.instance(1, filepath.Join(e.dir, "work-b"))
	check(t, e.redis.Client().Del(ctx, "cjtest:v1:t:{acme}:clonejob:"+held.ID+":alive").Err())
	j, err := b.CloneJob(ctx, "acme", held.ID)
	if err != nil || j.State != services.CloneFailed || j.Err == nil || errors.Is(j.Err, context.Canceled) || !strings.Contains(j.Err.Error(), "stopped") {
		t.Fatalf("B reads the job whose worker vanished: %+v, %v", j, err)
	}
	e.gate.release()
	e.svc.Close() // A's clone ends; its result must not replace the failure
	if j, err := b.CloneJob(ctx, "acme", held.ID); err != nil || j.State != services.CloneFailed || !strings.Contains(j.Err.Error(), "stopped") {
		t.Fatalf("after A's worker ended: %+v, %v", j, err)
	}
}
