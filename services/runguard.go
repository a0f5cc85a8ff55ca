package services

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services/store"
)

// The run guard: a manual start of a build profile's run (StartClone, StartManualRun) is
// refused with ReasonRunActive while another run of the profile is queued or running, unless
// the caller forces it. The check and the start are one step: a per-profile lock in the
// process (keyedLocks) and, around it, the store's named lock "run-start/{tenant}/{profile}"
// (Store.Lock: bbolt, this process; Redis, every instance sharing it: a redsync SET NX PX
// mutex), held from before the check until the run is recorded. Two clicks 31 ms apart, on
// one instance or on two, start one run; the second is refused.
//
// A run counts as active when its state is queued or running and its clone job is not
// finished: a run whose job is finished (its follower is about to record the end) or gone (the
// instance following it stopped, the job forgotten) does not block, so a crash never leaves a
// profile refused for good. A run without a job yet (a push run being started) counts for
// runStartLockTTL after it was created. With the in-process queue, an unfinished job of the
// profile without a run (a store that keeps no runs) counts too.

// runStartLockTTL bounds how long the store's run-start lock is held: the check, the job's
// submission and the run's record take milliseconds; a holder that dies frees it after this.
const runStartLockTTL = 30 * time.Second

// activeRunScan is how many of a profile's newest runs the guard looks at.
const activeRunScan = 50

// RunActiveError is the cause of a start refused with connections.ReasonRunActive (the
// *connections.Error's Err; errors.As finds it): the run that is active.
type RunActiveError struct {
	// RunID is the active run's id; "" when only an unfinished clone job is known.
	RunID string
	// CloneJobID is its clone job's id; "" while the run's job is being started.
	CloneJobID string
	// State is queued or running (CloneQueued, CloneRunning).
	State string
	// Trigger is the run's trigger kind (RunManual, RunPush, RunPullRequest); "" for a job
	// without a run.
	Trigger string
}

func (e *RunActiveError) Error() string {
	if e.RunID == "" {
		return "clone job " + e.CloneJobID + " of the build profile is " + e.State
	}
	return "run " + e.RunID + " of the build profile is " + e.State
}

// runActive is the refusal of a start while a is active: kind ErrRunActive, reason
// ReasonRunActive, field "force", a message that names the run and the way on.
func runActive(a *RunActiveError) *connections.Error {
	what := "run " + a.RunID
	if a.RunID == "" {
		what = "clone job " + a.CloneJobID
	}
	e := connections.Errorf(connections.ErrRunActive, connections.ReasonRunActive,
		"%s of this build profile is %s; wait until it finishes, or send \"force\": true to start another run anyway",
		what, a.State)
	e.Field = "force"
	return e.Wrap(a)
}

// keyedLocks is a mutex per key (tenant/profile), made on first use and dropped when the last
// holder or waiter leaves. The zero value is ready.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{} // capacity one: a token while held
	refs int           // holders and waiters
}

// lock takes key's mutex, waiting until it is free or ctx is done (ctx's cause then).
func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	leave := func() {
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
	case <-ctx.Done():
		leave()
		return nil, context.Cause(ctx)
	}
	return func() { <-l.ch; leave() }, nil
}

// guardRunStart takes the run-start locks of the tenant's profile (the process's, then the
// store's) and returns their release. Errors: ctx's when it ends while waiting; the store's
// (store.ErrUnavailable when Redis cannot be reached).
func (s *Service) guardRunStart(ctx context.Context, tenant, profileID string) (func(), error) {
	key := tenant + "/" + profileID
	release, err := s.clones.guard.lock(ctx, key)
	if err != nil {
		return nil, err
	}
	unlock, err := s.store.Lock(ctx, "run-start/"+key, runStartLockTTL)
	if err != nil {
		release()
		return nil, err
	}
	return func() {
		if err := unlock(context.WithoutCancel(ctx)); err != nil {
			s.log.WarnContext(ctx, "the run-start lock expired while held", "profile", profileID, "err", err)
		}
		release()
	}, nil
}

// refuseActive returns the ReasonRunActive refusal when a run of the tenant's profile is
// active (see above), nil when none is; other errors are the store's or the queue's. It is
// called with guardRunStart's locks held.
func (s *Service) refuseActive(ctx context.Context, tenant, profileID string) error {
	a, err := s.activeRun(ctx, tenant, profileID)
	if err != nil || a == nil {
		return err
	}
	return runActive(a)
}

// ActiveRun returns the run of the tenant's build profile that the run guard would refuse a
// manual start for (queued or running, its clone job unfinished; see above), or nil when a
// start would go through: what pages use to disable Clone now, with the same rule as the
// server. A profile of another tenant, or none, has no active run. Errors: the store's and
// the clone queue's (store.ErrUnavailable when Redis cannot be reached).
func (s *Service) ActiveRun(ctx context.Context, tenant, profileID string) (*RunActiveError, error) {
	return s.activeRun(ctx, tenant, profileID)
}

// activeRun finds an active run (or, in-process, an unfinished clone job) of the profile.
func (s *Service) activeRun(ctx context.Context, tenant, profileID string) (*RunActiveError, error) {
	if rs, err := s.runs(); err == nil {
		list, _, err := rs.ListRuns(ctx, tenant, profileID, store.Page{Limit: activeRunScan})
		if err != nil {
			return nil, err
		}
		for _, r := range list {
			if r.FinishedAt != nil || (r.State != CloneQueued && r.State != CloneRunning) {
				continue
			}
			if r.CloneJobID == "" { // its job is being started (a push run, outside the guard)
				if s.now().Sub(r.CreatedAt) < runStartLockTTL {
					return &RunActiveError{RunID: r.ID, State: r.State, Trigger: r.Trigger.Kind}, nil
				}
				continue
			}
			j, err := s.clones.queue.job(ctx, tenant, r.CloneJobID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				continue // forgotten: the run's record is stale
			case err != nil:
				return nil, err
			case j.finished():
				continue // its end is being recorded
			}
			return &RunActiveError{RunID: r.ID, CloneJobID: j.ID, State: j.State, Trigger: r.Trigger.Kind}, nil
		}
	}
	if q, ok := s.clones.queue.(*memoryQueue); ok {
		if j := q.unfinishedOf(tenant, profileID); j != nil {
			return &RunActiveError{CloneJobID: j.ID, State: j.State}, nil
		}
	}
	return nil, nil
}

// unfinishedOf returns a snapshot of an unfinished job of the tenant's profile, or nil.
func (q *memoryQueue) unfinishedOf(tenant, profileID string) *CloneJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range q.jobs {
		if e.tenant == tenant && e.job.BuildProfileID == profileID && !e.job.finished() {
			j := e.job
			return &j
		}
	}
	return nil
}
