package services

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// Results reporting: every run started by a trigger (push or pull request, not manual) shows
// in Azure DevOps. When the run is stored a commit status "pending" is posted on its commit
// (POST …/repositories/{repo}/commits/{sha}/statuses, Statuses_Create in
// vsts-rest-api-specs specification/git/7.1/git.json; scope vso.code_status), and for a pull
// request the same status on the pull request's latest iteration (Pull Request
// Statuses_Create, api-version 6.0-preview.1). When the run ends both move to succeeded,
// failed or error (ReportState), and the pull request's one thread of this build profile
// (found by its property / ThreadMarker "repoconnect.profile": profile id, else created) has
// its first comment replaced with the commit, the result, the duration and a link to the run
// (Pull Request Thread Comments_Update; scope vso.threads_full). Posting runs in a goroutine
// per run, in order (pending before the final state), off the hook endpoint's request; the
// outcome is recorded in store.Run.Report.

// Defaults of ReportSettings.
const (
	// DefaultReportAttempts is how many times one post is tried (the first included).
	DefaultReportAttempts = 6
	// DefaultReportMaxElapsed bounds the time spent retrying one post.
	DefaultReportMaxElapsed = 2 * time.Minute
	// DefaultReportInitialInterval is the first backoff wait between attempts (doubling,
	// jittered ±50 %, at most 30 s per wait).
	DefaultReportInitialInterval = 500 * time.Millisecond
	// maxReportRetryAfter caps a Retry-After the reporter waits for; a longer one ends the post.
	maxReportRetryAfter = 60 * time.Second
)

// StatusGenre is the genre of the context of every status the service posts; the context's
// name is the build profile's name.
const StatusGenre = "repoconnect"

// ThreadProperty is the thread property (and ThreadMarker key) naming the build profile whose
// results the thread shows: one thread per pull request and profile.
const ThreadProperty = "repoconnect.profile"

// Names of the posts in store.RunReport (Failed and the Statuses entries).
const (
	PostCommitStatus      = "commitStatus"
	PostPullRequestStatus = "pullRequestStatus"
	PostIteration         = "pullRequestIteration"
	PostThread            = "thread"
	PostConnection        = "connection"
)

// ReportSettings tune results reporting (RunSettings.Report). Zero values mean the defaults.
type ReportSettings struct {
	// MaxAttempts bounds the attempts of one post (first included); 0 means
	// DefaultReportAttempts, 1 disables retries.
	MaxAttempts int
	// MaxElapsed bounds the time spent on one post with its retries; 0 means
	// DefaultReportMaxElapsed.
	MaxElapsed time.Duration
	// InitialInterval is the first backoff wait; 0 means DefaultReportInitialInterval.
	InitialInterval time.Duration
	// Disabled turns reporting off (nothing is posted).
	Disabled bool
}

// ReportState maps a finished run to the state of its statuses (GitStatusState): a
// succeeded run is "succeeded"; a run that failed on its own (the commit or ref is missing, a
// bound of the clone such as repository_too_large) is "failed"; a run that could not be
// carried out (cancelled, Azure DevOps unreachable or unavailable, throttled, refused
// credential, the outbound policy, the clone queue) is "error".
func ReportState(state string, err error) string {
	if state == CloneSucceeded {
		return "succeeded"
	}
	if err == nil {
		return "error"
	}
	for _, k := range []error{connections.ErrUnreachable, connections.ErrUpstreamUnavailable, connections.ErrRateLimited,
		connections.ErrUnauthorized, connections.ErrForbidden, connections.ErrPolicyDisabled, connections.ErrTLS,
		connections.ErrDestinationNotAllowed, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, k) {
			return "error"
		}
	}
	if errors.Is(err, connections.ErrInvalidInput) || errors.Is(err, connections.ErrNotFound) {
		return "failed"
	}
	return "error"
}

// reporter orders the posts of each run: one chain of steps per run id.
type reporter struct {
	mu     sync.Mutex
	tails  map[string]chan struct{}
	accum  map[string]*runReportState
	wg     sync.WaitGroup
	ctx    context.Context
	stop   context.CancelFunc
	closed bool // after close nothing more is posted
}

// runReportState is what the steps of one run share: the report so far and the iteration
// the pending pull request status went to.
type runReportState struct {
	report store.RunReport
}

func (rp *reporter) init() {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.tails == nil {
		rp.tails = map[string]chan struct{}{}
		rp.accum = map[string]*runReportState{}
		rp.ctx, rp.stop = context.WithCancel(context.Background())
	}
}

// enqueue runs step after the earlier steps of run id, in a goroutine.
func (rp *reporter) enqueue(id string, last bool, step func(ctx context.Context, st *runReportState)) {
	rp.init()
	rp.mu.Lock()
	if rp.closed {
		rp.mu.Unlock()
		return
	}
	prev := rp.tails[id]
	done := make(chan struct{})
	rp.tails[id] = done
	st := rp.accum[id]
	if st == nil {
		st = &runReportState{}
		rp.accum[id] = st
	}
	ctx := rp.ctx
	rp.wg.Add(1)
	rp.mu.Unlock()
	go func() {
		defer rp.wg.Done()
		if prev != nil {
			<-prev
		}
		step(ctx, st)
		close(done)
		rp.mu.Lock()
		if rp.tails[id] == done {
			delete(rp.tails, id)
			if last {
				delete(rp.accum, id)
			}
		}
		rp.mu.Unlock()
	}()
}

// close cancels the posts in flight and waits for their goroutines.
func (rp *reporter) close() {
	rp.init()
	rp.mu.Lock()
	rp.closed = true
	rp.mu.Unlock()
	rp.stop()
	rp.wg.Wait()
}

// reported reports whether a run's trigger asks for results reporting.
func (s *Service) reported(r *store.Run) bool {
	return !s.opts.Runs.Report.Disabled && (r.Trigger.Kind == RunPush || r.Trigger.Kind == RunPullRequest) && isCommitID(r.Commit)
}

// runURL is the run's page: {public URL}/ui/build-profiles/{profileId}/runs/{runId}; "" when
// the public URL is unknown.
func (s *Service) runURL(r *store.Run) string {
	base := strings.TrimRight(s.opts.Runs.PublicURL, "/")
	if base == "" {
		base = strings.TrimSuffix(s.opts.OAuth.CallbackURL, "/connector/callback")
		if base == s.opts.OAuth.CallbackURL {
			base = ""
		}
	}
	if base == "" {
		return ""
	}
	return base + "/ui/build-profiles/" + r.BuildProfileID + "/runs/" + r.ID
}

// reportStart posts "pending" for a run just stored (asynchronously).
func (s *Service) reportStart(rs store.Runs, r *store.Run) {
	if !s.reported(r) {
		return
	}
	run := *r
	s.report.enqueue(r.ID, false, func(ctx context.Context, st *runReportState) {
		p, o, err := s.reportTarget(ctx, &run)
		if err != nil {
			st.fail(PostConnection, err)
			s.writeReport(ctx, rs, &run, st, false)
			return
		}
		status := azuredevops.Status{State: "pending", ContextName: p.Name, ContextGenre: StatusGenre,
			TargetURL: s.runURL(&run), Description: "repoconnect: " + describeTrigger(&run) + " is running"}
		s.postStatuses(ctx, o, p, &run, st, status)
		s.writeReport(ctx, rs, &run, st, false)
	})
}

// reportEnd posts the final state of a finished run (asynchronously) and, for a pull
// request, updates its thread. final is the run as finishRun recorded it; state is
// ReportState's.
func (s *Service) reportEnd(rs store.Runs, r *store.Run, state string) {
	if !s.reported(r) {
		return
	}
	run := *r
	s.report.enqueue(r.ID, true, func(ctx context.Context, st *runReportState) {
		p, o, err := s.reportTarget(ctx, &run)
		if err != nil {
			st.fail(PostConnection, err)
			s.writeReport(ctx, rs, &run, st, true)
			return
		}
		status := azuredevops.Status{State: state, ContextName: p.Name, ContextGenre: StatusGenre,
			TargetURL: s.runURL(&run), Description: "repoconnect: " + describeTrigger(&run) + " " + state}
		s.postStatuses(ctx, o, p, &run, st, status)
		if run.Trigger.Kind == RunPullRequest {
			s.postThread(ctx, o, p, &run, st, state)
		}
		s.writeReport(ctx, rs, &run, st, true)
	})
}

func describeTrigger(r *store.Run) string {
	if r.Trigger.Kind == RunPullRequest {
		return "pull request " + strconv.Itoa(r.Trigger.PullRequestID) + " build " + short(r.Commit)
	}
	return "build of " + short(r.Commit)
}

func short(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}

// reportTarget reads the run's profile and opens its connection (the connection's PAT or
// OAuth token, as the catalog and clones use it).
func (s *Service) reportTarget(ctx context.Context, r *store.Run) (*store.BuildProfile, *opened, error) {
	p, err := s.store.GetBuildProfile(ctx, r.TenantID, r.BuildProfileID)
	if err != nil {
		return nil, nil, err
	}
	o, err := s.open(connKey(ctx, p.ConnectionID), r.TenantID, p.ConnectionID)
	if err != nil {
		return nil, nil, err
	}
	return p, o, nil
}

// project is the project the REST calls name: the profile's project id, else its name.
func project(p *store.BuildProfile) string {
	if p.ProjectID != "" {
		return p.ProjectID
	}
	return p.ProjectName
}

// postStatuses posts status on the run's commit and, for a pull request, on its iteration
// (the latest one, looked up once, at the pending post, and reused for the final post).
func (s *Service) postStatuses(ctx context.Context, o *opened, p *store.BuildProfile, r *store.Run, st *runReportState, status azuredevops.Status) {
	ctx = connKey(ctx, p.ConnectionID)
	err := s.retryPost(ctx, func() error {
		return s.call(ctx, o, func(c *azuredevops.Client) error {
			_, err := c.PostCommitStatus(ctx, project(p), p.RepositoryID, r.Commit, status)
			return err
		})
	})
	if err != nil {
		st.fail(PostCommitStatus, err)
	} else {
		st.report.Statuses = append(st.report.Statuses, PostCommitStatus+":"+status.State)
	}
	if r.Trigger.Kind != RunPullRequest || r.Trigger.PullRequestID < 1 {
		return
	}
	if st.report.IterationID == 0 {
		err := s.retryPost(ctx, func() error {
			return s.call(ctx, o, func(c *azuredevops.Client) error {
				it, err := c.LatestIteration(ctx, project(p), p.RepositoryID, r.Trigger.PullRequestID)
				if err == nil {
					st.report.IterationID = it.ID
				}
				return err
			})
		})
		if err != nil {
			st.fail(PostIteration, err)
			return
		}
	}
	err = s.retryPost(ctx, func() error {
		return s.call(ctx, o, func(c *azuredevops.Client) error {
			_, err := c.PostPullRequestStatus(ctx, project(p), p.RepositoryID, r.Trigger.PullRequestID, st.report.IterationID, status)
			return err
		})
	})
	if err != nil {
		st.fail(PostPullRequestStatus, err)
	} else {
		st.report.Statuses = append(st.report.Statuses, PostPullRequestStatus+":"+status.State)
	}
}

// threadText is the thread's comment: commit, result, duration and a link to the run.
func (s *Service) threadText(p *store.BuildProfile, r *store.Run, state string) string {
	icon := map[string]string{"succeeded": "✅", "failed": "❌", "error": "⚠️"}[state]
	var b strings.Builder
	fmt.Fprintf(&b, "**repoconnect** · build profile **%s**\n\n", p.Name)
	fmt.Fprintf(&b, "%s Result: **%s**\n\n", icon, state)
	fmt.Fprintf(&b, "Commit: `%s`", r.Commit)
	if r.Trigger.SourceCommit != "" {
		fmt.Fprintf(&b, " (merge of `%s`)", short(r.Trigger.SourceCommit))
	}
	b.WriteString("\n\n")
	if r.FinishedAt != nil {
		fmt.Fprintf(&b, "Duration: %s\n\n", r.FinishedAt.Sub(r.CreatedAt).Round(time.Second))
	}
	if u := s.runURL(r); u != "" {
		fmt.Fprintf(&b, "[Run %s](%s)\n\n", short(r.ID), u)
	}
	b.WriteString("_This comment is updated on each new run._")
	return b.String()
}

// postThread updates the first comment of the pull request's thread of this profile, or
// creates the thread. CreateThread is not idempotent: each retry looks the thread up again
// first, so a create whose answer was lost is not repeated.
func (s *Service) postThread(ctx context.Context, o *opened, p *store.BuildProfile, r *store.Run, st *runReportState, state string) {
	ctx = connKey(ctx, p.ConnectionID)
	text := s.threadText(p, r, state)
	pr := r.Trigger.PullRequestID
	err := s.retryPost(ctx, func() error {
		return s.call(ctx, o, func(c *azuredevops.Client) error {
			t, err := c.FindThread(ctx, project(p), p.RepositoryID, pr, ThreadProperty, p.ID)
			if err != nil {
				return err
			}
			if t != nil && len(t.Comments) > 0 {
				_, err = c.UpdateComment(ctx, project(p), p.RepositoryID, pr, t.ID, t.Comments[0].ID,
					text+"\n\n"+azuredevops.ThreadMarker(ThreadProperty, p.ID))
				if err == nil {
					st.report.ThreadID = t.ID
				}
				return err
			}
			t, err = c.CreateThread(ctx, project(p), p.RepositoryID, pr, text, map[string]string{ThreadProperty: p.ID})
			if err == nil {
				st.report.ThreadID = t.ID
			}
			return err
		})
	})
	if err != nil {
		st.fail(PostThread, err)
	} else {
		st.report.Statuses = append(st.report.Statuses, PostThread+":"+state)
	}
}

// retryable reports whether a failed post may succeed later: Azure DevOps unavailable (5xx),
// throttled (429) or not reached (transport errors).
func retryable(err error) bool {
	return errors.Is(err, connections.ErrUpstreamUnavailable) || errors.Is(err, connections.ErrRateLimited) ||
		errors.Is(err, connections.ErrUnreachable)
}

// retryPost runs op with the service's backoff (cenkalti/backoff, as the token refresh does):
// retryable errors are retried up to ReportSettings.MaxAttempts times within MaxElapsed,
// waiting Azure DevOps' Retry-After when it names one (up to maxReportRetryAfter; a longer
// one ends the post), else a jittered exponential backoff. It returns op's last error.
func (s *Service) retryPost(ctx context.Context, op func() error) error {
	cfg := s.opts.Runs.Report
	attempts, elapsed, first := cfg.MaxAttempts, cfg.MaxElapsed, cfg.InitialInterval
	if attempts <= 0 {
		attempts = DefaultReportAttempts
	}
	if elapsed <= 0 {
		elapsed = DefaultReportMaxElapsed
	}
	if first <= 0 {
		first = DefaultReportInitialInterval
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = first, 30*time.Second
	var last error
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		last = op()
		if last == nil {
			return struct{}{}, nil
		}
		if !retryable(last) {
			return struct{}{}, backoff.Permanent(last)
		}
		if e := connections.AsError(last); e != nil && e.RetryAfter > 0 {
			if e.RetryAfter > maxReportRetryAfter {
				return struct{}{}, backoff.Permanent(last)
			}
			return struct{}{}, backoff.RetryAfter(int((e.RetryAfter + time.Second - 1) / time.Second))
		}
		return struct{}{}, last
	}, backoff.WithBackOff(b), backoff.WithMaxTries(uint(attempts)), backoff.WithMaxElapsedTime(elapsed))
	if err == nil {
		return nil
	}
	if last != nil {
		return last
	}
	return err
}

// fail records the first failed post of the run: which post, its reason code and message
// (connections.Error messages never carry a secret).
func (st *runReportState) fail(post string, err error) {
	if st.report.Failed != "" {
		return
	}
	st.report.Failed = post
	if e := connections.AsError(err); e != nil {
		st.report.Reason, st.report.Error = string(e.Reason), e.Message
	} else if errors.Is(err, store.ErrNotFound) {
		st.report.Reason, st.report.Error = string(connections.ReasonNotFound), "the build profile or its connection no longer exists"
	} else if errors.Is(err, context.Canceled) {
		st.report.Reason, st.report.Error = "cancelled", "the service stopped before the post was made"
	} else {
		st.report.Reason, st.report.Error = "report_failed", "the post could not be made"
	}
	st.report.Error = post + ": " + st.report.Error
}

// writeReport stores the report on the run. The run is read again (its state moves on
// meanwhile); at the end the finished run's own fields are written back too, so a report
// written between the follower's updates never leaves an older state behind.
func (s *Service) writeReport(ctx context.Context, rs store.Runs, final *store.Run, st *runReportState, last bool) {
	ctx = context.WithoutCancel(ctx)
	cur, err := rs.GetRun(ctx, final.TenantID, final.ID)
	if err != nil {
		return // pruned or its profile deleted
	}
	rep := st.report
	rep.Statuses = append([]string(nil), st.report.Statuses...)
	cur.Report = &rep
	if last {
		cur.State, cur.Error, cur.FinishedAt, cur.Commit = final.State, final.Error, final.FinishedAt, final.Commit
	}
	if err := rs.UpdateRun(ctx, cur); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Warn("could not record a run's report", "run", final.ID, "err", err)
	}
}
