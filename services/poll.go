package services

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// Polling fallback (issue 17, item 4): for servers that cannot reach the service's hook
// endpoint, the service lists each push-triggered profile's branches every
// RunSettings.PollInterval and starts a run for each matching branch whose tip moved since
// the last poll. Azure DevOps' refs listing: GET {project}/_apis/git/repositories/{id}/refs
// ?filter=heads/ (learn.microsoft.com/rest/api/azure/devops/git/refs/list), the call the
// catalog's branch list makes (azuredevops.Client.ListBranches), here uncached.

// Defaults and bounds of the polling fallback.
const (
	// MinPollInterval is the shortest RunSettings.PollInterval accepted when polling is on.
	MinPollInterval = time.Minute
	// DefaultPollConcurrency is how many profiles one round polls at once when
	// RunSettings.PollConcurrency is 0.
	DefaultPollConcurrency = 4
	// DefaultPushClaimTTL is how long a (profile, ref, commit) claim of a push run lasts: a
	// hook delivery and a poll seeing the same push within it start one run.
	DefaultPushClaimTTL = 24 * time.Hour
	// defaultPollTimeout bounds one profile's poll when Options.ForgeTimeout is 0 (the
	// driver's own default request timeout).
	defaultPollTimeout = 30 * time.Second
)

// PollRound says what one round of the polling fallback did: Profiles polled (each with a
// push trigger), Skipped (another instance polled them this round), Failed (the refs could
// not be listed or recorded; logged), Runs started.
type PollRound struct {
	Profiles, Skipped, Failed, Runs int
}

// poller is the background loop of the polling fallback.
type poller struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startPoller starts the polling loop when RunSettings.PollInterval is set and the store
// implements store.Polling and store.Runs.
func (s *Service) startPoller() {
	iv := s.opts.Runs.PollInterval
	if iv <= 0 || s.opts.Runs.PollByHand {
		return
	}
	if _, ok := s.store.(store.Polling); !ok {
		s.log.Warn("the store cannot keep polled refs: the polling fallback is off")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.poll.cancel, s.poll.done = cancel, make(chan struct{})
	go func() {
		defer close(s.poll.done)
		tick := time.NewTicker(iv)
		defer tick.Stop()
		for {
			if _, err := s.pollRound(ctx, true); err != nil && ctx.Err() == nil {
				s.log.Warn("polling round failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// stopPoller stops the polling loop and waits for the round under way to end.
func (s *Service) stopPoller() {
	if s.poll.cancel != nil {
		s.poll.cancel()
		<-s.poll.done
	}
}

// PollNow runs one round of the polling fallback at once, whatever RunSettings.PollInterval
// is, and returns when it ends: every profile with a push trigger (all tenants) is polled,
// one at a time per profile across instances (the store's lock), at most
// RunSettings.PollConcurrency at once. A profile's failure is logged and counted, never
// returned; the error is the store's when the profiles cannot be listed
// (connections.ErrInvalidInput when the store has no store.Polling).
func (s *Service) PollNow(ctx context.Context) (PollRound, error) {
	return s.pollRound(ctx, false)
}

// PollScheduled runs one round as the background loop runs it each RunSettings.PollInterval:
// as PollNow, except that a profile any instance sharing the store already polled in the
// current interval (the service clock truncated to the interval) is skipped (PollRound.Skipped).
// With no PollInterval it is PollNow.
func (s *Service) PollScheduled(ctx context.Context) (PollRound, error) {
	return s.pollRound(ctx, true)
}

// pollRound polls every push-triggered profile. With perInterval, a profile another instance
// polled in the current interval (a claim on its round) is skipped.
func (s *Service) pollRound(ctx context.Context, perInterval bool) (PollRound, error) {
	var round PollRound
	ps, ok := s.store.(store.Polling)
	rs, ok2 := s.store.(store.Runs)
	if !ok || !ok2 {
		return round, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "the store cannot keep polled refs")
	}
	refs, err := ps.HookRefs(ctx)
	if err != nil {
		return round, err
	}
	n := s.opts.Runs.PollConcurrency
	if n <= 0 {
		n = DefaultPollConcurrency
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, n)
	)
	for _, h := range refs {
		if ctx.Err() != nil {
			break
		}
		p, err := s.store.GetBuildProfile(ctx, h.TenantID, h.ProfileID)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				s.log.Warn("polling: could not read a build profile", "tenant", h.TenantID, "profile", h.ProfileID, "err", err)
			}
			continue
		}
		if p.Triggers == nil || p.Triggers.Push == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			started, skipped, err := s.pollProfile(ctx, ps, rs, p, perInterval)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case skipped:
				round.Skipped++
			case err != nil:
				round.Failed++
				if ctx.Err() == nil {
					s.log.Warn("polling: could not poll a build profile's branches", "tenant", p.TenantID, "profile", p.ID, "err", err)
				}
			default:
				round.Profiles++
			}
			round.Runs += started
		}()
	}
	wg.Wait()
	return round, nil
}

// pollTimeout bounds one profile's poll.
func (s *Service) pollTimeout() time.Duration {
	if s.opts.ForgeTimeout > 0 {
		return s.opts.ForgeTimeout
	}
	return defaultPollTimeout
}

// pollProfile lists a profile's branches through its connection (uncached) and starts a
// push run for each branch that matches the push filters and moved since the last poll (a
// new branch counts as moved); the first poll of a profile only records. skipped reports a
// profile another instance polled in this interval.
func (s *Service) pollProfile(ctx context.Context, ps store.Polling, rs store.Runs, p *store.BuildProfile, perInterval bool) (started int, skipped bool, err error) {
	timeout := s.pollTimeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if iv := s.opts.Runs.PollInterval; perInterval && iv > 0 {
		round := strconv.FormatInt(s.now().Truncate(iv).Unix(), 10)
		won, err := rs.ClaimEvent(ctx, "poll-round/"+p.TenantID+"/"+p.ID+"/"+round, iv)
		if err != nil {
			return 0, false, err
		}
		if !won {
			return 0, true, nil
		}
	}
	unlock, err := s.store.Lock(ctx, "poll/"+p.TenantID+"/"+p.ID, timeout+10*time.Second)
	if err != nil {
		return 0, false, err
	}
	defer func() { _ = unlock(detach(ctx)) }()

	rec, err := s.store.GetConnection(ctx, p.TenantID, p.ConnectionID)
	if err != nil {
		return 0, false, err
	}
	cctx := connKey(ctx, rec.ID)
	o, err := s.openRec(cctx, rec)
	if err != nil {
		return 0, false, err
	}
	var branches []connections.Branch
	if err := s.call(cctx, o, func(c *azuredevops.Client) (err error) {
		branches, err = c.ListBranches(cctx, p.RepositoryID)
		return err
	}); err != nil {
		return 0, false, err
	}
	last, polled, err := ps.PollRefs(ctx, p.TenantID, p.ID)
	if err != nil {
		return 0, false, err
	}
	seen := make(map[string]string, len(branches))
	for _, b := range branches {
		seen["refs/heads/"+b.Name] = b.Commit
	}
	if polled {
		for _, b := range branches {
			ref := "refs/heads/" + b.Name
			if last[ref] == b.Commit || !isCommitID(b.Commit) || !MatchBranch(p.Triggers.Push.Branches, ref) {
				continue
			}
			r, err := s.startRun(ctx, rs, p, store.RunTrigger{Kind: RunPush, Commit: b.Commit, Ref: ref})
			if err != nil {
				// The push's claim is taken, so a later round would start nothing either:
				// the tip is recorded as seen and the failure logged.
				s.log.Warn("polling: could not start a run", "tenant", p.TenantID, "profile", p.ID, "ref", ref, "err", err)
				continue
			}
			if r != nil {
				started++
			}
		}
	}
	return started, false, ps.PutPollRefs(detach(ctx), p.TenantID, p.ID, seen)
}
