package services

import (
	"context"
	"sync"
	"time"

	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
)

// memoryQueue is the in-process CloneQueue: a goroutine per job that waits for one of
// MaxClones slots (shared with the synchronous clones), records in a map (finished ones forgotten after cloneJobRetention) and
// watchers fed under the one mutex. All fields but s are guarded by mu.
type memoryQueue struct {
	s      *Service
	mu     sync.Mutex
	jobs   map[string]*memoryJob
	closed bool
	wg     sync.WaitGroup // one per job goroutine
}

var _ CloneQueue = (*memoryQueue)(nil)

// memoryJob is one job, its tenant, the cancellation of its goroutine and its watchers.
type memoryJob struct {
	done     chan struct{} // closed when the job's goroutine ends
	tenant   string
	job      CloneJob
	cancel   context.CancelCauseFunc
	watchers map[*cloneWatcher]struct{}
}

// cloneWatcher is one WatchClone channel: capacity one, holding the latest unread snapshot.
type cloneWatcher struct {
	ch   chan CloneJob
	stop func() bool // undoes the context.AfterFunc that closes ch when the watcher's ctx ends
}

func (q *memoryQueue) open(s *Service) error {
	q.s, q.jobs = s, map[string]*memoryJob{}
	return nil
}

func (q *memoryQueue) submit(ctx context.Context, tenant, profileID string, in CloneInput) (*CloneJob, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, ErrClonesStopped
	}
	now := q.s.now()
	q.expireLocked(now)
	if !q.makeRoomLocked() {
		return nil, &RateLimitedError{Action: ActionClone, RetryAfter: time.Minute}
	}
	jctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	e := &memoryJob{done: make(chan struct{}), tenant: tenant, cancel: cancel, watchers: map[*cloneWatcher]struct{}{},
		job: CloneJob{ID: newID(), BuildProfileID: profileID, State: CloneQueued, CreatedAt: now.UTC()}}
	q.jobs[e.job.ID] = e
	q.wg.Add(1)
	go q.run(jctx, e, in)
	j := e.job
	return &j, nil
}

// run waits for a slot, then clones, publishing every change of the job.
func (q *memoryQueue) run(ctx context.Context, e *memoryJob, in CloneInput) {
	defer q.wg.Done()
	defer close(e.done)
	defer e.cancel(nil)
	if err := q.s.clones.slots.acquire(ctx); err != nil {
		q.update(e, func(j *CloneJob) { q.s.finishJob(j, nil, err) })
		return
	}
	q.update(e, func(j *CloneJob) {
		j.State, j.Progress = CloneRunning, gitops.Progress{Phase: gitops.PhaseConnecting}
	})
	res, err := q.s.runJob(ctx, e.tenant, e.job.BuildProfileID, in, func(pr gitops.Progress) {
		q.update(e, func(j *CloneJob) { j.Progress = pr })
	})
	q.s.clones.slots.release()
	q.update(e, func(j *CloneJob) { q.s.finishJob(j, res, err) })
}

// update changes a job that has not finished with fn and hands the new snapshot to its
// watchers, without waiting for them. Watchers are closed after a terminal snapshot.
func (q *memoryQueue) update(e *memoryJob, fn func(*CloneJob)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e.job.finished() {
		return
	}
	fn(&e.job)
	for w := range e.watchers {
		sendLatest(w.ch, e.job) // only this function sends, under mu
		if e.job.finished() {
			close(w.ch)
			w.stop()
			delete(e.watchers, w)
		}
	}
}

func (q *memoryQueue) job(ctx context.Context, tenant, id string) (*CloneJob, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, err := q.lookupLocked(tenant, id)
	if err != nil {
		return nil, err
	}
	j := e.job
	return &j, nil
}

func (q *memoryQueue) watch(ctx context.Context, tenant, id string) (<-chan CloneJob, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, err := q.lookupLocked(tenant, id)
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
		q.mu.Lock()
		defer q.mu.Unlock()
		if _, ok := e.watchers[w]; ok {
			delete(e.watchers, w)
			close(w.ch)
		}
	})
	return w.ch, nil
}

func (q *memoryQueue) cancel(ctx context.Context, tenant, id string) (*CloneJob, error) {
	q.mu.Lock()
	e, err := q.lookupLocked(tenant, id)
	if err == nil {
		e.cancel(ErrCloneCancelled) // a finished job's goroutine has ended: no effect
	}
	q.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return q.job(ctx, tenant, id)
}

func (q *memoryQueue) cancelProfile(ctx context.Context, tenant, profileID string) {
	var waits []chan struct{}
	q.mu.Lock()
	for _, e := range q.jobs {
		if e.tenant == tenant && e.job.BuildProfileID == profileID && !e.job.finished() {
			e.cancel(ErrCloneCancelled)
			waits = append(waits, e.done)
		}
	}
	q.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return
		}
	}
}

func (q *memoryQueue) stop() {
	q.mu.Lock()
	q.closed = true
	for _, e := range q.jobs {
		e.cancel(ErrClonesStopped)
	}
	q.mu.Unlock()
	q.wg.Wait()
}

// lookupLocked forgets expired jobs and finds the tenant's job; mu is held.
func (q *memoryQueue) lookupLocked(tenant, id string) (*memoryJob, error) {
	q.expireLocked(q.s.now())
	e := q.jobs[id]
	if e == nil || e.tenant != tenant {
		return nil, store.ErrNotFound
	}
	return e, nil
}

// expireLocked forgets the jobs that finished cloneJobRetention ago or earlier; mu is held.
func (q *memoryQueue) expireLocked(now time.Time) {
	for id, e := range q.jobs {
		if e.job.expired(now) {
			delete(q.jobs, id)
		}
	}
}

// makeRoomLocked forgets the job that finished first when maxCloneJobs are held; false when
// all of them are unfinished. mu is held.
func (q *memoryQueue) makeRoomLocked() bool {
	if len(q.jobs) < maxCloneJobs {
		return true
	}
	var oldest string
	for id, e := range q.jobs {
		if f := e.job.FinishedAt; f != nil && (oldest == "" || f.Before(*q.jobs[oldest].job.FinishedAt)) {
			oldest = id
		}
	}
	if oldest == "" {
		return false
	}
	delete(q.jobs, oldest)
	return true
}
