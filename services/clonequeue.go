package services

import "context"

// CloneQueue holds the clone jobs of StartClone, runs them and tells watchers about them.
// Options.CloneQueue nil is the in-process queue: jobs live and run in the one process, and
// are lost with it. NewRedisCloneQueue shares them between every instance on one Redis: any
// instance's worker runs a job, and any instance reads, watches or cancels it. Both keep the
// contract of StartClone, CloneJob, WatchClone, CancelClone and StopClones. The methods are
// unexported (both implementations are in this package); one value serves one Service.
type CloneQueue interface {
	// open binds the queue to s, whose runJob runs the clones, and starts its workers.
	open(s *Service) error
	// submit stores a new queued job of the tenant's build profile and schedules it.
	submit(ctx context.Context, tenant, profileID string, in CloneInput) (*CloneJob, error)
	// job returns the job's current snapshot (CloneJob).
	job(ctx context.Context, tenant, id string) (*CloneJob, error)
	// watch follows the job (WatchClone).
	watch(ctx context.Context, tenant, id string) (<-chan CloneJob, error)
	// cancel stops the job and returns it once it ended (CancelClone).
	cancel(ctx context.Context, tenant, id string) (*CloneJob, error)
	// cancelProfile cancels the unfinished jobs of a build profile and waits until they have
	// ended, or ctx is done.
	cancelProfile(ctx context.Context, tenant, profileID string)
	// stop refuses new jobs, cancels those this process runs and waits for them, and closes
	// the watchers (StopClones). Calling it again only waits.
	stop()
}

// sendLatest hands j to a watcher channel of capacity one whose only sender is the caller,
// replacing an unread snapshot, so a slow reader gets the latest and never blocks the sender.
func sendLatest(ch chan CloneJob, j CloneJob) {
	select {
	case <-ch:
	default:
	}
	ch <- j
}
