package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
)

// RedisCloneQueueOptions tunes NewRedisCloneQueue; the zero value is ready.
type RedisCloneQueueOptions struct {
	// PollInterval is how often an idle worker looks for a queued job (asynq's
	// TaskCheckInterval); 0 means 1 s.
	PollInterval time.Duration
}

// NewRedisCloneQueue returns the CloneQueue shared by every instance on client whose store
// has the key prefix prefix (redisstore.Store's Client and Prefix); give each Service its
// own. It does no I/O until New binds it. Jobs go through an asynq queue named
// "{prefix}:clones" (asynq's keys "asynq:{{prefix}:clones}:…"); each instance's worker runs
// Options.MaxClones of them at once with the service's clone code. A job's record is the hash
// {prefix}:v1:t:{tenant}:clonejob:{id} (s state, q seq, j record JSON, o owner, c cancel
// asked), kept 15 minutes after the job ends; {…}:clonejob:{id}:alive exists while a worker
// runs it (30 s, renewed every 10 s: a job whose worker vanished fails); {…}:clonejobs indexes
// the tenant's unfinished jobs (a job not started within 24 h is forgotten). Every write is
// published ("{seq} {JSON}") on a channel named like the record key, which WatchClone on any
// instance follows; a cancel of a running job sets c and is published on
// {prefix}:v1:clonejob_cancel to the instance running it.
func NewRedisCloneQueue(client redis.UniversalClient, prefix string, opts RedisCloneQueueOptions) CloneQueue {
	return &redisQueue{rdb: client, prefix: prefix, opts: opts, runs: map[string]*redisRun{}}
}

const (
	// aliveTTL is how long a job's alive key lasts unless its worker renews it, every
	// aliveRenew.
	aliveTTL, aliveRenew = 30 * time.Second, 10 * time.Second
	// unfinishedTTL bounds the life of a record that never finishes (a task lost with Redis).
	unfinishedTTL = 24 * time.Hour
	// progressEvery is the least time between two progress writes of a job.
	progressEvery = 200 * time.Millisecond
	// watchResync is how often a watcher reads the record again, in case a message was lost
	// or the job's worker vanished.
	watchResync = 10 * time.Second
	// cloneTask is the asynq task type of a job.
	cloneTask = "repoconnect:clone"
)

// redisQueue is the Redis CloneQueue. s, client, inspector, srv and hub are set by open.
type redisQueue struct {
	rdb    redis.UniversalClient
	prefix string
	opts   RedisCloneQueueOptions

	s         *Service
	client    *asynq.Client
	inspector *asynq.Inspector
	srv       *asynq.Server
	hub       *cloneHub // clonequeue_redishub.go

	mu       sync.Mutex
	runs     map[string]*redisRun // job key → the run of this process; guarded by mu
	stopping bool                 // guarded by mu
	wg       sync.WaitGroup       // one per run
	stopOnce sync.Once
}

var _ CloneQueue = (*redisQueue)(nil)

// taskPayload is the JSON payload of a job's asynq task.
type taskPayload struct {
	Tenant string `json:"tenant"`
	ID     string `json:"id"`
}

func (q *redisQueue) jobKey(tenant, id string) string {
	return q.prefix + ":v1:t:{" + url.QueryEscape(tenant) + "}:clonejob:" + url.QueryEscape(id)
}
func (q *redisQueue) activeKey(tenant string) string {
	return q.prefix + ":v1:t:{" + url.QueryEscape(tenant) + "}:clonejobs"
}
func (q *redisQueue) cancelChannel() string { return q.prefix + ":v1:clonejob_cancel" }
func (q *redisQueue) queueName() string     { return q.prefix + ":clones" }

func (q *redisQueue) open(s *Service) error {
	if q.s != nil {
		return errors.New("services: a clone queue serves one service")
	}
	n := s.opts.MaxClones
	if n <= 0 {
		n = DefaultMaxClones
	}
	q.s = s
	q.client = asynq.NewClientFromRedisClient(q.rdb)
	q.inspector = asynq.NewInspectorFromRedisClient(q.rdb)
	q.hub = newCloneHub(q.rdb, q.cancelChannel(), q.cancelRun, s.log)
	q.srv = asynq.NewServerFromRedisClient(q.rdb, asynq.Config{
		Concurrency: n, Queues: map[string]int{q.queueName(): 1}, TaskCheckInterval: q.opts.PollInterval,
		// A task refused by a stopping instance goes back to the queue at once, uncounted.
		IsFailure:      func(err error) bool { return !errors.Is(err, ErrClonesStopped) },
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return time.Second },
		Logger:         asynqLogger{s.log}, LogLevel: asynq.WarnLevel, ShutdownTimeout: 10 * time.Second,
	})
	if err := q.srv.Start(asynq.HandlerFunc(q.process)); err != nil {
		q.hub.close()
		return fmt.Errorf("start the clone workers: %w", err)
	}
	return nil
}

func (q *redisQueue) submit(ctx context.Context, tenant, profileID string, in CloneInput) (*CloneJob, error) {
	q.mu.Lock()
	stopping := q.stopping
	q.mu.Unlock()
	if stopping {
		return nil, ErrClonesStopped
	}
	now := q.s.now()
	rec := &jobRecord{Tenant: tenant, Input: in,
		Job: CloneJob{ID: newID(), BuildProfileID: profileID, State: CloneQueued, CreatedAt: now.UTC()}}
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	key, active := q.jobKey(tenant, rec.Job.ID), q.activeKey(tenant)
	n, err := createJob.Run(ctx, q.rdb, []string{key, active}, raw, rec.Job.ID, now.UnixMilli(),
		unfinishedTTL.Milliseconds(), maxCloneJobs, now.Add(-unfinishedTTL).UnixMilli()).Int()
	switch {
	case err != nil:
		return nil, redisstore.Unavailable(fmt.Errorf("store the clone job: %w", err))
	case n == 0:
		return nil, &RateLimitedError{Action: ActionClone, RetryAfter: time.Minute}
	case n < 0:
		return nil, errors.New("services: clone job id collision")
	}
	payload, _ := json.Marshal(taskPayload{Tenant: tenant, ID: rec.Job.ID})
	timeout := q.s.opts.CloneTimeout
	if timeout <= 0 {
		timeout = gitops.DefaultTimeout
	}
	if _, err := q.client.EnqueueContext(ctx, asynq.NewTask(cloneTask, payload), asynq.Queue(q.queueName()),
		asynq.TaskID(rec.Job.ID), asynq.MaxRetry(1), asynq.Timeout(timeout+5*time.Minute)); err != nil {
		q.rdb.Del(detach(ctx), key)
		q.rdb.ZRem(detach(ctx), active, rec.Job.ID)
		return nil, redisstore.Unavailable(fmt.Errorf("queue the clone job: %w", err))
	}
	return &rec.Job, nil
}

// read returns the job's record (Job.Err rebuilt); store.ErrNotFound when it is gone,
// expired (by the service clock) or another tenant's. A running job whose alive key is gone
// (its worker vanished) is failed first with ErrCloneLost.
func (q *redisQueue) read(ctx context.Context, tenant, id string) (*jobRecord, error) {
	if tenant == "" || id == "" {
		return nil, store.ErrNotFound
	}
	for range 3 {
		vals, err := getJob.Run(ctx, q.rdb, []string{q.jobKey(tenant, id), q.jobKey(tenant, id) + ":alive"}).Slice()
		if err != nil {
			return nil, redisstore.Unavailable(fmt.Errorf("read the clone job: %w", err))
		}
		raw, _ := vals[0].(string)
		seq, _ := vals[1].(string)
		rec, err := decodeRecord(seq, raw)
		if err != nil || rec.Tenant != tenant || rec.Job.expired(q.s.now()) {
			return nil, store.ErrNotFound
		}
		if alive, _ := vals[2].(int64); rec.Job.State != CloneRunning || alive == 1 {
			return rec, nil
		}
		switch err := q.fail(ctx, rec, ErrCloneLost, true); {
		case err == nil:
			q.s.log.WarnContext(ctx, "a clone job's worker vanished", "tenant", tenant, "job", id)
			return rec, nil
		case !errors.Is(err, errMoved):
			return nil, err
		}
	}
	return nil, fmt.Errorf("read the clone job: %w", errMoved)
}

// decodeRecord parses a record and its seq, and rebuilds Job.Err.
func decodeRecord(seq, raw string) (*jobRecord, error) {
	var rec jobRecord
	n, err := strconv.ParseInt(seq, 10, 64)
	if err == nil {
		err = json.Unmarshal([]byte(raw), &rec)
	}
	if err != nil {
		return nil, fmt.Errorf("a malformed clone job record: %w", err)
	}
	rec.Seq, rec.Job.Err = n, rec.Error.decode()
	return &rec, nil
}

// errMoved: a compare-and-set found that the job changed meanwhile.
var errMoved = errors.New("the clone job changed meanwhile")

// put writes rec as the job's next version and publishes it, updating rec.Seq. With expect
// (the seq read) it is a compare-and-set, which also names owner when given (the claim);
// with expect 0 it is the write of the run owner, which needs the job still running for it.
// Either way owner, when set, renews the alive key of an unfinished job; requireDead refuses
// the write while an alive key exists. It returns whether a cancel was asked; errMoved when
// the condition failed, store.ErrNotFound when the job is gone.
func (q *redisQueue) put(ctx context.Context, rec *jobRecord, expect int64, owner string, requireDead bool) (cancelAsked bool, err error) {
	stored := *rec
	stored.Error = encodeJobError(rec.Job.Err)
	raw, err := json.Marshal(&stored)
	if err != nil {
		return false, err
	}
	ttl, alive := unfinishedTTL, time.Duration(0)
	if rec.Job.finished() {
		ttl = cloneJobRetention
	} else if owner != "" {
		alive = aliveTTL
	}
	key := q.jobKey(rec.Tenant, rec.Job.ID)
	res, err := putJob.Run(ctx, q.rdb, []string{key, key + ":alive", q.activeKey(rec.Tenant)}, strconv.FormatInt(expect, 10),
		rec.Job.State, raw, ttl.Milliseconds(), key, owner, alive.Milliseconds(), rec.Job.ID, requireDead).Int64Slice()
	switch {
	case err != nil:
		return false, redisstore.Unavailable(fmt.Errorf("write the clone job: %w", err))
	case res[0] < 0:
		return false, store.ErrNotFound
	case res[0] == 0:
		return false, errMoved
	}
	rec.Seq, rec.Error = res[1], stored.Error
	return res[2] == 1, nil
}

// fail finishes rec with err by a compare-and-set on its seq (see put).
func (q *redisQueue) fail(ctx context.Context, rec *jobRecord, err error, requireDead bool) error {
	q.s.finishJob(&rec.Job, nil, err)
	_, perr := q.put(ctx, rec, rec.Seq, "", requireDead)
	return perr
}

func (q *redisQueue) job(ctx context.Context, tenant, id string) (*CloneJob, error) {
	rec, err := q.read(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return &rec.Job, nil
}

// stop: no more tasks are taken, the runs of this process are cancelled and waited for, then
// the asynq server and the subscriber stop and the watchers end.
func (q *redisQueue) stop() {
	q.stopOnce.Do(func() {
		q.mu.Lock()
		q.stopping = true
		for _, r := range q.runs {
			r.cancel(ErrClonesStopped)
		}
		q.mu.Unlock()
		q.srv.Stop()
		q.wg.Wait()
		q.srv.Shutdown()
		q.hub.close() // and waits for the watchers
	})
}
