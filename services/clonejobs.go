package services

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
)

// CloneJob states.
const (
	CloneQueued    = "queued"
	CloneRunning   = "running"
	CloneSucceeded = "succeeded"
	CloneFailed    = "failed"
)

// DefaultMaxClones is how many clone jobs run at once when Options.MaxClones is 0.
const DefaultMaxClones = 4

const (
	// cloneJobRetention is how long a finished job can still be read.
	cloneJobRetention = 15 * time.Minute
	// maxCloneJobs bounds the jobs a process remembers; the oldest finished go first.
	maxCloneJobs = 1000
)

// CloneJob is a snapshot of one clone of a build profile.
//
// State moves queued → running → succeeded or failed (queued → failed when cancelled while
// waiting). Progress is the clone engine's (zero while queued, phase "connecting" from the
// start of running until the server answers; bytes in bytes). Result is set on success, Err on
// failure: the same errors CloneBuildProfile returns (store.ErrNotFound also when the profile
// was deleted while the job waited), or context.Canceled when the service closed. Times are UTC.
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

// cloneJobs is the in-process registry of clone jobs; its zero value is ready. All fields are
// guarded by mu.
type cloneJobs struct {
	mu     sync.Mutex
	jobs   map[string]*cloneEntry
	slots  chan struct{} // a token per running clone; made on first use
	closed bool
	wg     sync.WaitGroup // one per job goroutine
}

// cloneEntry is one job, its tenant, the cancellation of its goroutine and its watchers.
type cloneEntry struct {
	done     chan struct{} // closed when the job's goroutine ends
	tenant   string
	job      CloneJob
	cancel   context.CancelFunc
	watchers map[*cloneWatcher]struct{}
}

// cloneWatcher is one WatchClone channel: capacity one, holding the latest unread snapshot.
type cloneWatcher struct {
	ch   chan CloneJob
	stop func() bool // undoes the context.AfterFunc that closes ch when the watcher's ctx ends
}

// StartClone queues a clone of the tenant's build profile and returns the job (state queued).
// What can be refused without the forge is checked first, with CloneBuildProfile's errors:
// field error depth, ErrInvalidInput without a work directory, store.ErrNotFound for a
// profile of another tenant or none. The clone runs in the background with ctx's values but not
// its cancellation; Options.MaxClones run at once. Errors also: *RateLimitedError (action
// "clone") when the process holds 1000 unfinished jobs; context.Canceled once Close was called.
func (s *Service) StartClone(ctx context.Context, tenant, profileID string, in CloneInput) (*CloneJob, error) {
	p, err := s.checkClone(ctx, tenant, profileID, in)
	if err != nil {
		return nil, err
	}
	c := &s.clones
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("the service is shutting down: %w", context.Canceled)
	}
	now := s.now()
	c.expireLocked(now)
	if !c.makeRoomLocked() {
		return nil, &RateLimitedError{Action: "clone", RetryAfter: time.Minute}
	}
	if c.jobs == nil {
		n := s.opts.MaxClones
		if n <= 0 {
			n = DefaultMaxClones
		}
		c.jobs, c.slots = map[string]*cloneEntry{}, make(chan struct{}, n)
	}
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &cloneEntry{done: make(chan struct{}), tenant: tenant, cancel: cancel, watchers: map[*cloneWatcher]struct{}{},
		job: CloneJob{ID: newID(), BuildProfileID: p.ID, State: CloneQueued, CreatedAt: now.UTC()}}
	c.jobs[e.job.ID] = e
	c.wg.Add(1)
	go s.runClone(jctx, e, c.slots, p, in)
	j := e.job
	return &j, nil
}

// runClone waits for a slot, then clones, publishing every change of the job.
func (s *Service) runClone(ctx context.Context, e *cloneEntry, slots chan struct{}, p *store.BuildProfile, in CloneInput) {
	defer s.clones.wg.Done()
	defer close(e.done)
	defer e.cancel()
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		s.updateClone(e, func(j *CloneJob) { s.finishJob(j, nil, ctx.Err()) })
		return
	}
	s.updateClone(e, func(j *CloneJob) {
		j.State, j.Progress = CloneRunning, gitops.Progress{Phase: gitops.PhaseConnecting}
	})
	// Read again: the profile may have been deleted while the job waited.
	p, err := s.store.GetBuildProfile(ctx, e.tenant, p.ID)
	var res *gitops.Result
	if err == nil {
		res, err = s.cloneProfile(ctx, e.tenant, p, in, nil, func(pr gitops.Progress) {
			s.updateClone(e, func(j *CloneJob) { j.Progress = pr })
		})
	}
	<-slots
	s.updateClone(e, func(j *CloneJob) { s.finishJob(j, res, err) })
}

// finishJob moves j to its terminal state.
func (s *Service) finishJob(j *CloneJob, res *gitops.Result, err error) {
	t := s.now().UTC()
	j.FinishedAt = &t
	if err != nil {
		j.State, j.Err = CloneFailed, err
		return
	}
	j.State, j.Result = CloneSucceeded, res
}

// updateClone changes a job that has not finished with fn and hands the new snapshot to its
// watchers, without waiting for them: a watcher's unread snapshot is replaced. Watchers are
// closed after a terminal snapshot.
func (s *Service) updateClone(e *cloneEntry, fn func(*CloneJob)) {
	c := &s.clones
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.job.finished() {
		return
	}
	fn(&e.job)
	for w := range e.watchers {
		select {
		case <-w.ch: // unread: replaced by the newer snapshot
		default:
		}
		w.ch <- e.job // never blocks: only this function sends, under mu
		if e.job.finished() {
			close(w.ch)
			w.stop()
			delete(e.watchers, w)
		}
	}
}

// CloneJob returns the current snapshot of the tenant's job. Finished jobs are kept for 15
// minutes. Errors: store.ErrNotFound for an unknown, forgotten or another tenant's job.
func (s *Service) CloneJob(ctx context.Context, tenant, jobID string) (*CloneJob, error) {
	c := &s.clones
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.lookupLocked(s.now(), tenant, jobID)
	if err != nil {
		return nil, err
	}
	j := e.job
	return &j, nil
}

// WatchClone returns a channel that first receives the job's current snapshot, then a snapshot
// on every change (coalesced: a reader that falls behind gets the latest, and never holds the
// clone up), and is closed after the terminal snapshot (succeeded or failed) or when ctx is
// done. Errors: as CloneJob.
func (s *Service) WatchClone(ctx context.Context, tenant, jobID string) (<-chan CloneJob, error) {
	c := &s.clones
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.lookupLocked(s.now(), tenant, jobID)
	if err != nil {
		return nil, err
	}
	w := &cloneWatcher{ch: make(chan CloneJob, 1)}
	w.ch <- e.job
	if e.job.finished() {
		close(w.ch)
		return w.ch, nil
	}
	e.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := e.watchers[w]; ok {
			delete(e.watchers, w)
			close(w.ch)
		}
	})
	return w.ch, nil
}

// lookupLocked forgets expired jobs and finds the tenant's job; mu is held.
func (c *cloneJobs) lookupLocked(now time.Time, tenant, jobID string) (*cloneEntry, error) {
	c.expireLocked(now)
	e := c.jobs[jobID]
	if e == nil || e.tenant != tenant {
		return nil, store.ErrNotFound
	}
	return e, nil
}

// expireLocked forgets the jobs that finished cloneJobRetention ago or earlier; mu is held.
func (c *cloneJobs) expireLocked(now time.Time) {
	for id, e := range c.jobs {
		if e.job.FinishedAt != nil && now.Sub(*e.job.FinishedAt) >= cloneJobRetention {
			delete(c.jobs, id)
		}
	}
}

// makeRoomLocked forgets the job that finished first when maxCloneJobs are held; false when
// all of them are unfinished. mu is held.
func (c *cloneJobs) makeRoomLocked() bool {
	if len(c.jobs) < maxCloneJobs {
		return true
	}
	var oldest string
	for id, e := range c.jobs {
		if f := e.job.FinishedAt; f != nil && (oldest == "" || f.Before(*c.jobs[oldest].job.FinishedAt)) {
			oldest = id
		}
	}
	if oldest == "" {
		return false
	}
	delete(c.jobs, oldest)
	return true
}

// cancelClonesOf cancels the unfinished jobs of a build profile and waits until their
// goroutines have ended (a cancelled clone removes what it wrote), or ctx is done.
func (s *Service) cancelClonesOf(ctx context.Context, tenant, profileID string) {
	c := &s.clones
	var waits []chan struct{}
	c.mu.Lock()
	for _, e := range c.jobs {
		if e.tenant == tenant && e.job.BuildProfileID == profileID && !e.job.finished() {
			e.cancel()
			waits = append(waits, e.done)
		}
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

// StopClones refuses new clone jobs, cancels the queued and running ones and waits for them:
// the first step of a shutdown, so progress streams end and no clone is left half-written.
// Close calls it too.
func (s *Service) StopClones() { s.closeClones() }

// closeClones refuses new jobs, cancels the queued and running ones and waits for their
// goroutines. Calling it again only waits.
func (s *Service) closeClones() {
	c := &s.clones
	c.mu.Lock()
	c.closed = true
	for _, e := range c.jobs {
		e.cancel()
	}
	c.mu.Unlock()
	c.wg.Wait()
}
