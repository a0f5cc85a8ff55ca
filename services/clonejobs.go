package services

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/repoconnect/repoconnect/gitops"
)

// CloneJob states.
const (
	CloneQueued    = "queued"
	CloneRunning   = "running"
	CloneSucceeded = "succeeded"
	CloneFailed    = "failed"
)

// DefaultMaxClones is how many clones (jobs and synchronous ones) run at once when
// Options.MaxClones is 0.
const DefaultMaxClones = 4

// DefaultMaxCloneFiles is the work-tree entry limit `repoconnect serve` gives clones unless
// --max-clone-files says otherwise.
const DefaultMaxCloneFiles = 1_000_000

const (
	// cloneJobRetention is how long a finished job can still be read.
	cloneJobRetention = 15 * time.Minute
	// maxCloneJobs bounds the unfinished jobs of a process (in-process queue) or of a tenant
	// (Redis queue).
	maxCloneJobs = 1000
)

// Clone job errors, which errors.Is finds in CloneJob.Err on every instance (the Redis queue
// stores them by name).
var (
	// ErrCloneCancelled is the error of a job cancelled by CancelClone or by the deletion of
	// its build profile.
	ErrCloneCancelled = fmt.Errorf("the clone job was cancelled: %w", context.Canceled)
	// ErrClonesStopped is the error of a job cancelled by StopClones or Close, and of
	// StartClone after them.
	ErrClonesStopped = fmt.Errorf("the service is shutting down: %w", context.Canceled)
	// ErrCloneLost is the error of a job whose instance stopped while it ran (Redis queue).
	ErrCloneLost = errors.New("the instance running the clone job stopped before it finished; start the clone again")
)

// CloneJob is a snapshot of one clone of a build profile.
//
// State moves queued → running → succeeded or failed (queued → failed when cancelled while
// waiting). Progress is the clone engine's, as gitops.Progress documents it: zero while
// queued, phase "connecting" from the start of running until the server answers, then per
// phase objects/objectsTotal of what that phase counts (receiving: objects received of the
// pack's; resolving: deltas resolved of the pack's; checkout: files written of the tree's)
// and bytes the pack bytes received; the Redis queue carries the same snapshot (throttled). Result is set on success, Err on
// failure: the same errors CloneBuildProfile returns (store.ErrNotFound also when the profile
// was deleted while the job waited), or an error wrapping context.Canceled when the job was
// cancelled (CancelClone, DeleteBuildProfile) or the service closed. With the Redis queue,
// Err is rebuilt from its stored form on every instance: errors.Is finds the same category
// sentinels and connections.AsError the same kind, reason, message and field. Times are UTC.
type CloneJob struct {
	ID             string          `json:"id"`
	BuildProfileID string          `json:"buildProfileId"`
	State          string          `json:"state"`
	Progress       gitops.Progress `json:"progress"`
	Result         *gitops.Result  `json:"result,omitempty"` // on success
	Err            error           `json:"-"`                // on failure
	CreatedAt      time.Time       `json:"createdAt"`
	FinishedAt     *time.Time      `json:"finishedAt,omitempty"`
}

// finished reports whether the job is in a terminal state.
func (j *CloneJob) finished() bool { return j.State == CloneSucceeded || j.State == CloneFailed }

// expired reports whether the job finished cloneJobRetention ago or earlier.
func (j *CloneJob) expired(now time.Time) bool {
	return j.FinishedAt != nil && now.Sub(*j.FinishedAt) >= cloneJobRetention
}

// cloneJobs is the service's part of clone jobs: the queue backend, the clone roots with a
// clone running in this process (which the janitor leaves alone), the janitor, the one limit
// of clones running at once and the memory budget they share.
type cloneJobs struct {
	queue    CloneQueue
	mu       sync.Mutex
	running  map[string]map[*localClone]struct{} // clone root → the clones of it running in this process
	janitor  janitor                             // janitor.go
	slots    cloneSlots                          // Options.MaxClones, for synchronous clones and jobs alike
	memory   *gitops.MemoryBudget                // Options.CloneMemory; nil: none
	instance string                              // this Service's id in clone markers (janitor.go)
	guard    keyedLocks                          // the run guard's lock per profile (runguard.go)
}

// cloneSlots is the one limit of the clones running at once in this process
// (Options.MaxClones): the in-process queue's jobs, the Redis queue's jobs this instance runs
// and the synchronous clones (CloneBuildProfile) all take a slot, and wait in line for one.
type cloneSlots struct {
	ch      chan struct{} // a token per running clone
	waiting atomic.Int32  // callers waiting for a slot
}

// acquire takes a slot, waiting in line; the cause of ctx's end when it ends first.
func (c *cloneSlots) acquire(ctx context.Context) error {
	select {
	case c.ch <- struct{}{}:
		return nil
	default:
	}
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	select {
	case c.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// release gives a slot back.
func (c *cloneSlots) release() { <-c.ch }

// openClones makes the clone limits, removes the clones a stopped instance left (janitor.go),
// binds the queue of Options.CloneQueue (nil: in-process) and starts the janitor.
func (s *Service) openClones() error {
	n := s.opts.MaxClones
	if n <= 0 {
		n = DefaultMaxClones
	}
	s.clones.slots.ch = make(chan struct{}, n)
	if s.opts.CloneMemory > 0 {
		s.clones.memory = gitops.NewMemoryBudget(s.opts.CloneMemory)
	}
	s.clones.instance = newID()
	s.removeStaleClones()
	q := s.opts.CloneQueue
	if q == nil {
		q = &memoryQueue{}
	}
	if err := q.open(s); err != nil {
		return err
	}
	s.clones.queue = q
	s.startJanitor()
	return nil
}

// StartClone queues a clone of the tenant's build profile and returns the job (state queued).
// What can be refused without the forge is checked first, with CloneBuildProfile's errors:
// field error depth, ErrInvalidInput without a work directory, store.ErrNotFound for a
// profile of another tenant or none. Then, unless in.Force, the run guard (runguard.go): while
// a run of the profile is queued or running, the start is refused with a *connections.Error
// of kind connections.ErrRunActive, reason connections.ReasonRunActive, field "force", whose
// message names the active run and whose cause is a *RunActiveError; the check and the start
// are atomic across the process and every instance sharing the store, so of two concurrent
// starts one is refused. The clone runs in the background with ctx's values but not its
// cancellation (Redis queue: on any instance's worker, without ctx's values);
// Options.MaxClones run at once per instance. Errors also: *RateLimitedError (action "clone")
// when 1000 jobs are unfinished (in-process: in the process; Redis: of the tenant); an error
// wrapping context.Canceled once StopClones or Close was called, or when ctx ends while
// waiting for the guard's lock; store and Redis errors.
//
// The job is also recorded as a run of kind manual (runs.go) before the guard's lock is
// released, best effort: a store without runs, or a failure to store the run, leaves the
// job as it is.
func (s *Service) StartClone(ctx context.Context, tenant, profileID string, in CloneInput) (*CloneJob, error) {
	release, err := s.guardRunStart(ctx, tenant, profileID)
	if err != nil {
		return nil, err
	}
	defer release()
	p, err := s.checkClone(ctx, tenant, profileID, in)
	if err != nil {
		return nil, err
	}
	if !in.Force {
		if err := s.refuseActive(ctx, tenant, p.ID); err != nil {
			return nil, err
		}
	}
	job, err := s.clones.queue.submit(ctx, tenant, p.ID, in)
	if err == nil {
		s.recordManualRun(ctx, tenant, profileID, in, job)
	}
	return job, err
}

// startCloneJob is StartClone without the run and without the guard (the runs of service
// hooks and the polling fallback, and StartManualRun's, which holds the guard itself).
func (s *Service) startCloneJob(ctx context.Context, tenant, profileID string, in CloneInput) (*CloneJob, error) {
	p, err := s.checkClone(ctx, tenant, profileID, in)
	if err != nil {
		return nil, err
	}
	return s.clones.queue.submit(ctx, tenant, p.ID, in)
}

// CloneJob returns the current snapshot of the tenant's job. Finished jobs are kept for 15
// minutes (by the service clock). Errors: store.ErrNotFound for an unknown, forgotten or
// another tenant's job; Redis errors.
func (s *Service) CloneJob(ctx context.Context, tenant, jobID string) (*CloneJob, error) {
	return s.clones.queue.job(ctx, tenant, jobID)
}

// WatchClone returns a channel that first receives the job's current snapshot, then a snapshot
// on every change (coalesced: a reader that falls behind gets the latest, and never holds the
// clone up), and is closed after the terminal snapshot (succeeded or failed), when ctx is
// done, or when StopClones or Close is called. With the Redis queue it follows a job running
// on any instance. Errors: as CloneJob.
func (s *Service) WatchClone(ctx context.Context, tenant, jobID string) (<-chan CloneJob, error) {
	return s.clones.queue.watch(ctx, tenant, jobID)
}

// CancelClone cancels the tenant's job and returns its snapshot once it has ended: a queued
// job fails at once and never runs; a running one is cancelled (the clone engine removes the
// partial directory) and CancelClone waits until it has failed. Either way Err wraps
// context.Canceled. A finished job is returned as it is. With the Redis queue it reaches a job
// queued or running on any instance. Errors: as CloneJob; ctx's error when ctx ends first.
func (s *Service) CancelClone(ctx context.Context, tenant, jobID string) (*CloneJob, error) {
	return s.clones.queue.cancel(ctx, tenant, jobID)
}

// cancelClonesOf cancels the unfinished jobs of a build profile and waits until they have
// ended (a cancelled clone removes what it wrote), or ctx is done.
func (s *Service) cancelClonesOf(ctx context.Context, tenant, profileID string) {
	s.clones.queue.cancelProfile(ctx, tenant, profileID)
	// The synchronous clones (CloneBuildProfile) of this process too.
	s.clones.cancelLocal(ctx, s.cloneRoot(tenant, profileID), ErrCloneCancelled)
}

// StopClones refuses new clone jobs, cancels the running ones of this instance (in-process
// queue: the queued ones too; with Redis they stay queued for the other instances) and waits
// for them, closes every WatchClone channel and stops the janitor: the first step of a
// shutdown, so progress streams end and no clone is left half-written. Close calls it too.
func (s *Service) StopClones() { s.closeClones() }

// closeClones is StopClones; calling it again only waits.
func (s *Service) closeClones() {
	if s.clones.queue != nil {
		s.clones.queue.stop()
	}
	s.stopJanitor()
}

// runJob runs one job's clone in this process, for either queue: it reads the profile again
// (it may have been deleted while the job waited) and clones it, reporting progress to
// onProgress; the janitor leaves the profile's clones alone meanwhile. When ctx was cancelled
// the error is its cause (ErrCloneCancelled, ErrClonesStopped, ...).
func (s *Service) runJob(ctx context.Context, tenant, profileID string, in CloneInput, onProgress func(gitops.Progress)) (*gitops.Result, error) {
	ctx, release := s.clones.hold(ctx, s.cloneRoot(tenant, profileID))
	defer release()
	p, err := s.store.GetBuildProfile(ctx, tenant, profileID)
	var res *gitops.Result
	if err == nil {
		res, err = s.trackedClone(ctx, tenant, p, in, nil, onProgress) // telemetry.go
	}
	if err != nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return res, err
}

// localClone is a clone running in this process, a job's or a synchronous one.
type localClone struct {
	cancel context.CancelCauseFunc
	done   chan struct{} // closed by its release
}

// hold registers a clone of root starting in this process: the janitor leaves root alone and
// cancelLocal can cancel it, until release is called. The context returned is ctx with that
// cancellation.
func (c *cloneJobs) hold(ctx context.Context, root string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	lc := &localClone{cancel: cancel, done: make(chan struct{})}
	c.mu.Lock()
	if c.running == nil {
		c.running = map[string]map[*localClone]struct{}{}
	}
	if c.running[root] == nil {
		c.running[root] = map[*localClone]struct{}{}
	}
	c.running[root][lc] = struct{}{}
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		delete(c.running[root], lc)
		if len(c.running[root]) == 0 {
			delete(c.running, root)
		}
		c.mu.Unlock()
		cancel(nil)
		close(lc.done)
	}
}

// cancelLocal cancels the clones of root running in this process with cause and waits until
// they have ended, or ctx is done.
func (c *cloneJobs) cancelLocal(ctx context.Context, root string, cause error) {
	c.mu.Lock()
	var waits []chan struct{}
	for lc := range c.running[root] {
		lc.cancel(cause)
		waits = append(waits, lc.done)
	}
	c.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return
		}
	}
}

// busy reports whether a clone of root runs in this process.
func (c *cloneJobs) busy(root string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.running[root]) > 0
}

// finishJob moves j to its terminal state at the service clock's now.
func (s *Service) finishJob(j *CloneJob, res *gitops.Result, err error) {
	t := s.now().UTC()
	j.FinishedAt = &t
	if err != nil {
		j.State, j.Err = CloneFailed, err
		return
	}
	j.State, j.Result = CloneSucceeded, res
}
