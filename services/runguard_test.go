package services_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// racers is how many concurrent starts a guard test makes: more than a double click.
const racers = 8

// race calls start racers times at once (released together) and returns the results; it
// logs how long the last one took to answer.
func race[T any](t *testing.T, start func(i int) (T, error)) ([]T, []error) {
	t.Helper()
	out, errs := make([]T, racers), make([]error, racers)
	began := time.Now()
	defer func() {
		t.Logf("%d concurrent starts answered within %v", racers, time.Since(began).Round(time.Millisecond))
	}()
	var wg sync.WaitGroup
	gun := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gun
			out[i], errs[i] = start(i)
		}()
	}
	close(gun)
	wg.Wait()
	return out, errs
}

// refusedFor checks that err is the run guard's refusal naming run runID (and job jobID when
// not ""), and returns its cause.
func refusedFor(t *testing.T, err error, runID, jobID string) *services.RunActiveError {
	t.Helper()
	ce := connections.AsError(err)
	var ra *services.RunActiveError
	if ce == nil || !errors.Is(err, connections.ErrRunActive) || ce.Reason != connections.ReasonRunActive || ce.Field != "force" ||
		!errors.As(err, &ra) {
		t.Fatalf("want the run_active refusal, got %v (%#v)", err, ce)
	}
	if ra.RunID != runID || (jobID != "" && ra.CloneJobID != jobID) || (ra.State != services.CloneQueued && ra.State != services.CloneRunning) {
		t.Fatalf("refusal names %+v, want run %s (job %s)", ra, runID, jobID)
	}
	if !strings.Contains(ce.Message, "run "+runID) || !strings.Contains(ce.Message, `"force": true`) {
		t.Fatalf("message %q names neither the run nor the way on", ce.Message)
	}
	return ra
}

// finished waits until the tenant acme's run has finished, and returns it.
func finished(t *testing.T, svc *services.Service, id string) *store.Run {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; {
		r, err := svc.GetRun(context.Background(), "acme", id)
		if err == nil && r.FinishedAt != nil {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not finish within 60 s: %+v, %v", id, r, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunGuardConcurrentStarts: 8 concurrent manual starts of one profile (runs through
// StartRun, or Clone now's StartClone) start exactly one run; the 7 others are refused with
// run_active naming it. Force starts a second; once both finished, a start without force
// goes through again. On the bbolt store (one process) and on Redis.
func TestRunGuardConcurrentStarts(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1)
		ctx := context.Background()

		// Runs: POST .../runs.
		runs, errs := race(t, func(int) (*store.Run, error) { return e.svc.StartRun(ctx, "acme", e.profile, services.RunInput{}) })
		var won *store.Run
		for i, err := range errs {
			if err == nil {
				if won != nil {
					t.Fatalf("two runs started: %s and %s", won.ID, runs[i].ID)
				}
				won = runs[i]
			}
		}
		if won == nil {
			t.Fatalf("no run started: %v", errs)
		}
		for _, err := range errs {
			if err != nil {
				refusedFor(t, err, won.ID, "")
			}
		}
		if a, err := e.svc.ActiveRun(ctx, "acme", e.profile); err != nil || a == nil || a.RunID != won.ID || a.Trigger != services.RunManual {
			t.Fatalf("ActiveRun while the run is held: %+v, %v", a, err)
		}
		if a, err := e.svc.ActiveRun(ctx, "other", e.profile); err != nil || a != nil {
			t.Fatalf("ActiveRun of another tenant's profile: %+v, %v", a, err)
		}
		// Clone now (a clone job recorded as a run) is refused by the same run.
		_, err := e.svc.StartClone(ctx, "acme", e.profile, services.CloneInput{Depth: 1})
		refusedFor(t, err, won.ID, won.CloneJobID)
		// The other profile is not.
		other, err := e.svc.StartRun(ctx, "acme", e.develop, services.RunInput{})
		check(t, err)

		forced, err := e.svc.StartRun(ctx, "acme", e.profile, services.RunInput{Force: true})
		check(t, err)
		if forced.ID == won.ID {
			t.Fatal("force returned the active run")
		}
		list, _, err := e.svc.ListRuns(ctx, "acme", e.profile, 10, "")
		check(t, err)
		if len(list) != 2 {
			t.Fatalf("%d runs of the profile, want the first and the forced one: %+v", len(list), list)
		}

		e.gate.release()
		for _, id := range []string{won.ID, forced.ID, other.ID} {
			if r := finished(t, e.svc, id); r.State != services.CloneSucceeded {
				t.Fatalf("run %s ended %s: %s", id, r.State, r.Error)
			}
		}
		if a, err := e.svc.ActiveRun(ctx, "acme", e.profile); err != nil || a != nil {
			t.Fatalf("ActiveRun after the runs finished: %+v, %v", a, err)
		}
		// Finished runs do not block; Clone now after them, concurrently: one job.
		jobs, errs := race(t, func(int) (*services.CloneJob, error) {
			return e.svc.StartClone(ctx, "acme", e.profile, services.CloneInput{Depth: 1})
		})
		var job *services.CloneJob
		for i, err := range errs {
			if err == nil {
				if job != nil {
					t.Fatalf("two clone jobs started: %s and %s", job.ID, jobs[i].ID)
				}
				job = jobs[i]
			}
		}
		if job == nil {
			t.Fatalf("no clone job started after the runs finished: %v", errs)
		}
		list, _, err = e.svc.ListRuns(ctx, "acme", e.profile, 10, "")
		check(t, err)
		var jobRun *store.Run
		for _, r := range list {
			if r.CloneJobID == job.ID && r.Trigger.Kind == services.RunManual {
				jobRun = r
			}
		}
		if len(list) != 3 || jobRun == nil {
			t.Fatalf("runs after Clone now: %d, none of job %s", len(list), job.ID)
		}
		for _, err := range errs {
			if err != nil {
				refusedFor(t, err, jobRun.ID, job.ID)
			}
		}
		last(t, e.watch(ctx, job.ID))
	})
}

// TestRunGuardAcrossInstances: two service instances on one Redis, 8 starts racing on both,
// start one run; the refusals on either instance name it.
func TestRunGuardAcrossInstances(t *testing.T) {
	e := newEnv(t, onRedis, 1)
	b := e.instance(1, filepath.Join(e.dir, "work-b"))
	ctx := context.Background()
	svcs := []*services.Service{e.svc, b}
	runs, errs := race(t, func(i int) (*store.Run, error) {
		if i%4 == 3 { // Clone now on some of them
			j, err := svcs[i%2].StartClone(ctx, "acme", e.profile, services.CloneInput{Depth: 1})
			if err != nil {
				return nil, err
			}
			return &store.Run{CloneJobID: j.ID}, nil
		}
		return svcs[i%2].StartRun(ctx, "acme", e.profile, services.RunInput{})
	})
	started := 0
	for _, err := range errs {
		if err == nil {
			started++
		}
	}
	list, _, err := e.svc.ListRuns(ctx, "acme", e.profile, 10, "")
	check(t, err)
	if started != 1 || len(list) != 1 {
		t.Fatalf("%d starts succeeded, %d runs stored, want 1 (errors %v)", started, len(list), errs)
	}
	for i, err := range errs {
		if err != nil {
			refusedFor(t, err, list[0].ID, list[0].CloneJobID)
		} else if runs[i].CloneJobID != list[0].CloneJobID {
			t.Fatalf("the start that won has job %s, the run %s", runs[i].CloneJobID, list[0].CloneJobID)
		}
	}
	e.gate.release()
	if r := finished(t, b, list[0].ID); r.State != services.CloneSucceeded {
		t.Fatalf("the run ended %s: %s", r.State, r.Error)
	}
	// Finished: instance B starts the next one.
	if _, err := b.StartRun(ctx, "acme", e.profile, services.RunInput{}); err != nil {
		t.Fatalf("a start after the run finished: %v", err)
	}
}

// TestRunGuardPushNotRefused: a push delivered while a manual run is active starts its run;
// a manual start is then refused by either active run.
func TestRunGuardPushNotRefused(t *testing.T) {
	forEachQueue(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, 1)
		ctx := context.Background()
		base, err := e.svc.GetBuildProfile(ctx, "acme", e.profile)
		check(t, err)
		p, cred, err := e.svc.CreateBuildProfileWithHook(ctx, "acme", services.BuildProfileInput{Name: "hooked", ConnectionID: base.ConnectionID,
			RepositoryID: base.RepositoryID, Branch: "main", Triggers: &services.TriggersInput{Push: &services.BranchFilterInput{Branches: []string{"main"}}}})
		check(t, err)
		if cred == nil {
			t.Fatal("no hook credential")
		}
		manual, err := e.svc.StartRun(ctx, "acme", p.ID, services.RunInput{})
		check(t, err)

		tip := azdosimtest.Git(t, e.iosBare, "rev-parse", "refs/heads/main")
		res, err := e.svc.HandleHookDelivery(ctx, cred.HookID, cred.User, cred.Password, bytes.NewReader(pushPayload(t, base.RepositoryID, "refs/heads/main", tip)))
		check(t, err)
		if len(res.Runs) != 1 || res.Runs[0].Trigger.Kind != services.RunPush {
			t.Fatalf("the push while a manual run is active: %+v", res)
		}
		_, err = e.svc.StartRun(ctx, "acme", p.ID, services.RunInput{})
		if ce := connections.AsError(err); ce == nil || ce.Reason != connections.ReasonRunActive {
			t.Fatalf("a manual start with two runs active: %v", err)
		}
		e.gate.release()
		for _, id := range []string{manual.ID, res.Runs[0].ID} {
			if r := finished(t, e.svc, id); r.State != services.CloneSucceeded {
				t.Fatalf("run %s ended %s: %s", id, r.State, r.Error)
			}
		}
	})
}

// TestRunGuardStaleRunDoesNotBlock: a run recorded as running whose clone job no instance
// knows (its instance stopped; the in-process queue went with the process) does not refuse
// a start, nor does a finished one.
func TestRunGuardStaleRunDoesNotBlock(t *testing.T) {
	e := newEnv(t, onMemory, 1)
	e.gate.release()
	ctx := context.Background()
	now := time.Now().UTC()
	for i, r := range []*store.Run{
		{ID: "stale0000000000000000000000000001", State: services.CloneRunning, CloneJobID: "0123456789abcdef0123456789abcdef"},
		{ID: "stale0000000000000000000000000002", State: services.CloneQueued, CreatedAt: now.Add(-time.Hour)}, // no job, an hour old
		{ID: "stale0000000000000000000000000003", State: services.CloneSucceeded, FinishedAt: &now},
	} {
		r.TenantID, r.BuildProfileID, r.Trigger = "acme", e.profile, store.RunTrigger{Kind: services.RunManual, Ref: "refs/heads/main"}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now.Add(-time.Duration(i) * time.Minute)
		}
		check(t, e.bolt.CreateRun(ctx, r, 0))
	}
	r, err := e.svc.StartRun(ctx, "acme", e.profile, services.RunInput{})
	if err != nil {
		t.Fatalf("stale runs refused a start: %v", err)
	}
	if got := finished(t, e.svc, r.ID); got.State != services.CloneSucceeded {
		t.Fatalf("the run ended %s: %s", got.State, got.Error)
	}
}

// pushPayload is a git.push delivery of one ref update to commit.
func pushPayload(t *testing.T, repoID, ref, commit string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": "evt-" + commit[:8], "eventType": "git.push", "publisherId": "tfs", "resourceVersion": "1.0",
		"resource": map[string]any{
			"refUpdates": []any{map[string]any{"name": ref, "oldObjectId": strings.Repeat("1", 40), "newObjectId": commit}},
			"repository": map[string]any{"id": repoID},
			"pushedBy":   map[string]any{"displayName": "Jamal Hartnett", "uniqueName": "jamal@example.com"},
		},
	})
	check(t, err)
	return b
}
