package services

import (
	"context"
	"errors"
	"fmt"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
)

// Cancelling a job of the Redis queue from any instance: a queued job is failed by a
// compare-and-set on its record (the worker that takes its task finds it finished, and the
// task is deleted when still pending); a running one gets the cancel flag and a message on
// the cancel channel, which the instance running it turns into the cancellation of the
// clone (its worker also sees the flag at its next write or renewal of the alive key).

func (q *redisQueue) cancel(ctx context.Context, tenant, id string) (*CloneJob, error) {
	j, err := q.requestCancel(ctx, tenant, id)
	if err != nil || j.finished() {
		return j, err
	}
	return q.waitEnd(ctx, tenant, id)
}

// requestCancel fails a queued job and returns it, or asks the worker of a running one to
// stop and returns it still running; a finished job is returned as it is.
func (q *redisQueue) requestCancel(ctx context.Context, tenant, id string) (*CloneJob, error) {
	for range 10 {
		rec, err := q.read(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		switch rec.Job.State {
		case CloneQueued:
			if err := q.fail(ctx, rec, ErrCloneCancelled, false); errors.Is(err, errMoved) {
				continue
			} else if err != nil {
				return nil, err
			}
			// Best effort: the worker that takes the task finds the job finished anyway.
			_ = q.inspector.DeleteTask(q.queueName(), id)
			return &rec.Job, nil
		case CloneRunning:
			key := q.jobKey(tenant, id)
			state, err := cancelJob.Run(ctx, q.rdb, []string{key}, q.cancelChannel(), key).Text()
			if err != nil {
				return nil, redisstore.Unavailable(fmt.Errorf("cancel the clone job: %w", err))
			}
			if state == CloneRunning {
				return &rec.Job, nil
			}
		default:
			return &rec.Job, nil
		}
	}
	return nil, fmt.Errorf("cancel the clone job: %w", errMoved)
}

// waitEnd follows the job until it has ended and returns its last snapshot; ctx's error when
// ctx ends first.
func (q *redisQueue) waitEnd(ctx context.Context, tenant, id string) (*CloneJob, error) {
	ch, err := q.watch(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	var last CloneJob
	for j := range ch {
		last = j
	}
	if !last.finished() {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrClonesStopped // the watch was closed by StopClones
	}
	return &last, nil
}

func (q *redisQueue) cancelProfile(ctx context.Context, tenant, profileID string) {
	ids, err := q.rdb.ZRange(ctx, q.activeKey(tenant), 0, -1).Result()
	if err != nil {
		q.s.log.WarnContext(ctx, "could not list a deleted build profile's clone jobs", "profile", profileID, "err", err)
	}
	var running []string
	for _, id := range ids {
		rec, err := q.read(ctx, tenant, id)
		if err != nil || rec.Job.BuildProfileID != profileID || rec.Job.finished() {
			continue
		}
		if j, err := q.requestCancel(ctx, tenant, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			q.s.log.WarnContext(ctx, "could not cancel a deleted build profile's clone job", "job", id, "err", err)
		} else if err == nil && !j.finished() {
			running = append(running, id)
		}
	}
	for _, id := range running {
		if _, err := q.waitEnd(ctx, tenant, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			q.s.log.WarnContext(ctx, "a deleted build profile's clone job did not end", "job", id, "err", err)
		}
	}
}
