package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
)

// redisWriteTimeout bounds each write a worker makes to a job's record.
const redisWriteTimeout = 10 * time.Second

// redisRun is a job this process's worker runs: owner is a random token naming the run in
// the record (o) and the alive key; cancel cancels the clone with a cause.
type redisRun struct {
	tenant, id, key, owner string
	cancel                 context.CancelCauseFunc
}

// process is the asynq handler of a clone task. It returns nil once the job has ended (its
// record holds the outcome), ErrClonesStopped when this instance is stopping (asynq puts the
// task back for another), or a Redis error before the job started (asynq retries once).
func (q *redisQueue) process(_ context.Context, t *asynq.Task) error {
	var p taskPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("clone task payload: %v: %w", err, asynq.SkipRetry)
	}
	r, ctx, err := q.begin(p)
	if r == nil {
		return err
	}
	defer q.end(r)
	// This instance's slots are shared with its synchronous clones: the job stays queued
	// while it waits for one.
	if err := q.s.clones.slots.acquire(ctx); err != nil {
		if errors.Is(err, ErrClonesStopped) {
			return ErrClonesStopped // back to the queue, for another instance
		}
		return nil // cancelled while queued: the record says so already
	}
	defer q.s.clones.slots.release()
	rec, err := q.claim(r)
	if rec == nil {
		return err
	}
	pump := &progressPump{q: q, r: r, rec: rec, latest: rec.Job.Progress, kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go pump.loop()
	quitBeat, beatDone := make(chan struct{}), make(chan struct{})
	go q.beat(r, quitBeat, beatDone)
	res, err := q.s.runJob(ctx, r.tenant, rec.Job.BuildProfileID, rec.Input, pump.update)
	rec.Job.Progress = pump.stop()
	close(quitBeat)
	<-beatDone
	q.s.finishJob(&rec.Job, res, err)
	wctx, cancel := context.WithTimeout(context.Background(), redisWriteTimeout)
	defer cancel()
	if _, err := q.put(wctx, rec, 0, r.owner, false); err != nil {
		q.s.log.Warn("could not record the end of a clone job", "tenant", r.tenant, "job", r.id, "err", err)
	}
	return nil
}

// begin registers a run of the job, or refuses it when the process is stopping
// (ErrClonesStopped) or runs the job already (nil, nil).
func (q *redisQueue) begin(p taskPayload) (*redisRun, context.Context, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopping {
		return nil, nil, ErrClonesStopped
	}
	key := q.jobKey(p.Tenant, p.ID)
	if q.runs[key] != nil {
		return nil, nil, nil
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	r := &redisRun{tenant: p.Tenant, id: p.ID, key: key, owner: newID(), cancel: cancel}
	q.runs[key] = r
	q.wg.Add(1)
	return r, ctx, nil
}

// end forgets a run.
func (q *redisQueue) end(r *redisRun) {
	q.mu.Lock()
	delete(q.runs, r.key)
	q.mu.Unlock()
	r.cancel(nil)
	q.wg.Done()
}

// cancelRun cancels this process's run of the job with record key key, if there is one (a
// message on the cancel channel).
func (q *redisQueue) cancelRun(key string) {
	q.mu.Lock()
	r := q.runs[key]
	q.mu.Unlock()
	if r != nil {
		r.cancel(ErrCloneCancelled)
	}
}

// claim moves the job from queued to running for r and returns it; nil when there is nothing
// to run (gone, cancelled while queued, run by another worker), with an error when Redis
// failed.
func (q *redisQueue) claim(r *redisRun) (*jobRecord, error) {
	ctx, cancel := context.WithTimeout(context.Background(), redisWriteTimeout)
	defer cancel()
	for range 5 {
		rec, err := q.read(ctx, r.tenant, r.id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && rec.Job.State != CloneQueued) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		rec.Job.State, rec.Job.Progress = CloneRunning, gitops.Progress{Phase: gitops.PhaseConnecting}
		if _, err := q.put(ctx, rec, rec.Seq, r.owner, false); err == nil {
			return rec, nil
		} else if !errors.Is(err, errMoved) {
			return nil, err
		}
	}
	return nil, nil
}

// beat renews the run's alive key every aliveRenew until quit, and cancels the run when its
// job was cancelled or taken from it meanwhile (a lost cancel message, a worker thought gone).
func (q *redisQueue) beat(r *redisRun, quit, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(aliveRenew)
	defer tick.Stop()
	for {
		select {
		case <-quit:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), redisWriteTimeout)
		n, err := beatJob.Run(ctx, q.rdb, []string{r.key, r.key + ":alive"}, r.owner, aliveTTL.Milliseconds()).Int()
		cancel()
		switch {
		case err != nil:
			q.s.log.Warn("could not renew a clone job's alive key", "job", r.id, "err", err)
		case n < 0:
			r.cancel(ErrCloneLost)
		case n == 1:
			r.cancel(ErrCloneCancelled)
		}
	}
}

// progressPump writes a running job's progress to Redis at most every progressEvery, the
// latest first. update takes the clone engine's reports without waiting; loop writes them.
type progressPump struct {
	q   *redisQueue
	r   *redisRun
	rec *jobRecord // written by loop only, until stop

	mu     sync.Mutex
	latest gitops.Progress
	dirty  bool

	kick, quit, done chan struct{}
}

func (p *progressPump) update(pr gitops.Progress) {
	p.mu.Lock()
	p.latest, p.dirty = pr, true
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *progressPump) loop() {
	defer close(p.done)
	for {
		select {
		case <-p.kick:
		case <-p.quit:
			return
		}
		p.mu.Lock()
		pr, dirty := p.latest, p.dirty
		p.dirty = false
		p.mu.Unlock()
		if dirty {
			p.write(pr)
		}
		wait := time.NewTimer(progressEvery)
		select {
		case <-wait.C:
		case <-p.quit:
			wait.Stop()
			return
		}
	}
}

// write stores pr in the record; a cancel asked or a record taken away cancels the run, and a
// failed write is tried again after progressEvery (unless a newer report replaced pr).
func (p *progressPump) write(pr gitops.Progress) {
	ctx, cancel := context.WithTimeout(context.Background(), redisWriteTimeout)
	defer cancel()
	p.rec.Job.Progress = pr
	asked, err := p.q.put(ctx, p.rec, 0, p.r.owner, false)
	switch {
	case asked:
		p.r.cancel(ErrCloneCancelled)
	case errors.Is(err, errMoved) || errors.Is(err, store.ErrNotFound):
		p.r.cancel(ErrCloneLost)
	case err != nil:
		p.q.s.log.Warn("could not record a clone job's progress", "job", p.r.id, "err", err)
		p.mu.Lock()
		p.dirty = true // latest is pr, or a newer report that set dirty already
		p.mu.Unlock()
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

// stop ends loop and returns the latest progress reported.
func (p *progressPump) stop() gitops.Progress {
	close(p.quit)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latest
}

// asynqLogger passes asynq's logs to the service's logger; Fatal only logs (the service
// decides when to exit).
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug("asynq: " + fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.log.Info("asynq: " + fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn("asynq: " + fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.log.Error("asynq: " + fmt.Sprint(args...)) }
func (l asynqLogger) Fatal(args ...any) { l.log.Error("asynq: " + fmt.Sprint(args...)) }
