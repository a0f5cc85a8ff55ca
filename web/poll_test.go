package web_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/services/store"

	"github.com/repoconnect/repoconnect/services"
)

// pollNow runs one polling round and checks that it polled the one profile without failure.
func (h *hookEnv) pollNow() services.PollRound {
	h.t.Helper()
	r, err := h.svc.PollNow(context.Background())
	if err != nil {
		h.t.Fatalf("poll: %v", err)
	}
	if r.Profiles != 1 || r.Failed != 0 || r.Skipped != 0 {
		h.t.Fatalf("poll round %+v, want one profile polled", r)
	}
	return r
}

// TestPollStartsOneRunPerMovedBranch: the polling fallback (branch tips listed through the
// simulator's refs API) records on its first round and starts nothing; a new commit on a
// branch matching the push filters starts one run of that commit on the next round, with the
// trigger a hook push would give (no pushedBy); a round with nothing new starts nothing; a
// new commit on another branch starts nothing.
func TestPollStartsOneRunPerMovedBranch(t *testing.T) {
	h := newHookEnv(t, nil)
	if r := h.pollNow(); r.Runs != 0 {
		t.Fatalf("first round started %d runs", r.Runs)
	}
	if n := len(h.runs()); n != 0 {
		t.Fatalf("%d runs after the first round, want 0", n)
	}
	_, next := h.commitOn("release/1.0", "a release fix")
	if r := h.pollNow(); r.Runs != 1 {
		t.Fatalf("round after a push to release/1.0 started %d runs, want 1", r.Runs)
	}
	runs := h.runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	r := h.finished(runs[0]["id"].(string))
	tr := r["trigger"].(map[string]any)
	if r["state"] != "succeeded" || r["commit"] != next || tr["kind"] != "push" || tr["ref"] != "refs/heads/release/1.0" ||
		tr["commit"] != next || tr["pushedBy"] != nil {
		t.Fatalf("polled run = %v", r)
	}
	if r := h.pollNow(); r.Runs != 0 {
		t.Fatalf("a round with nothing new started %d runs", r.Runs)
	}
	h.commitOn("develop", "work in progress")
	if r := h.pollNow(); r.Runs != 0 {
		t.Fatalf("a push to develop (not in the filters) started %d runs", r.Runs)
	}
	if n := len(h.runs()); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
}

// TestPollAndHookStartOneRunPerPush: one push seen by both the hook endpoint and the poll, in
// either order, starts one run (the claim on profile, ref and commit).
func TestPollAndHookStartOneRunPerPush(t *testing.T) {
	h := newHookEnv(t, nil)
	h.pollNow()
	// The poll first, then the delivery of the same push.
	old, next := h.commitOn("main", "seen by the poll first")
	if r := h.pollNow(); r.Runs != 1 {
		t.Fatalf("poll of the push started %d runs, want 1", r.Runs)
	}
	code, res, _ := h.deliver(h.url, h.user, h.password, h.pushPayload("evt-after-poll", h.repo.ID, "refs/heads/main", old, next))
	if code != 200 || res["ignored"] != services.IgnoredDuplicate {
		t.Fatalf("delivery of a polled push: %d %v", code, res)
	}
	// The delivery first, then the poll.
	old, next = h.commitOn("main", "delivered first")
	code, res, _ = h.deliver(h.url, h.user, h.password, h.pushPayload("evt-before-poll", h.repo.ID, "refs/heads/main", old, next))
	if ids := runIDsOf(res); code != 202 || len(ids) != 1 {
		t.Fatalf("delivery: %d %v", code, res)
	}
	if r := h.pollNow(); r.Runs != 0 {
		t.Fatalf("poll of a delivered push started %d runs", r.Runs)
	}
	runs := h.runs()
	if len(runs) != 2 || runs[0]["commit"] != next {
		t.Fatalf("runs %v, want 2, the newest of %s", runs, next)
	}
	for _, r := range runs {
		h.finished(r["id"].(string))
	}
}

// TestPollOneInstancePerIntervalOnRedis: two instances sharing one Redis store; in one
// interval only the first scheduled round polls the profile, the other instance skips it;
// a push seen by both instances' polls (PollNow) and the hook starts one run.
func TestPollOneInstancePerIntervalOnRedis(t *testing.T) {
	b := newBackend(t, onRedis, nil)
	st, _, _ := b.instance(nil)
	// One interval throughout: the service clocks are stopped mid-interval.
	frozen := time.Now().Truncate(time.Hour).Add(30 * time.Minute)
	var opts services.Options
	h := newHookEnv(t, func(o *services.Options) {
		o.Store = st
		o.Now = func() time.Time { return frozen }
		o.Runs.PollInterval, o.Runs.PollByHand = time.Hour, true
		opts = *o
	})
	opts.WorkDir = t.TempDir()
	other, err := services.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	ctx := context.Background()
	r, err := h.svc.PollScheduled(ctx)
	if err != nil || r.Profiles != 1 || r.Skipped != 0 {
		t.Fatalf("first instance's round: %+v %v", r, err)
	}
	r, err = other.PollScheduled(ctx)
	if err != nil || r.Profiles != 0 || r.Skipped != 1 {
		t.Fatalf("second instance's round in the same interval: %+v %v, want the profile skipped", r, err)
	}
	old, next := h.commitOn("main", "on redis")
	var wg sync.WaitGroup
	rounds := make([]services.PollRound, 2)
	for i, s := range []*services.Service{h.svc, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rounds[i], _ = s.PollNow(ctx)
		}()
	}
	wg.Wait()
	if rounds[0].Runs+rounds[1].Runs != 1 || rounds[0].Failed+rounds[1].Failed != 0 {
		t.Fatalf("two instances polling one push: %+v", rounds)
	}
	code, res, _ := h.deliver(h.url, h.user, h.password, h.pushPayload("evt-redis-poll", h.repo.ID, "refs/heads/main", old, next))
	if code != 200 || res["ignored"] != services.IgnoredDuplicate {
		t.Fatalf("delivery of a polled push: %d %v", code, res)
	}
	if runs := h.runs(); len(runs) != 1 || runs[0]["commit"] != next {
		t.Fatalf("runs %v, want one of %s", runs, next)
	}
}

// TestPollRacingTheSimulatorsDelivery: a real git push over smart HTTP, which the simulator
// delivers to the subscribed hook, while a poll runs: one run of the pushed commit.
func TestPollRacingTheSimulatorsDelivery(t *testing.T) {
	h := newHookEnv(t, nil)
	h.pollNow()
	se := &subEnv{env: h.env, repo: h.repo}
	next := se.push(filepath.Join(t.TempDir(), "work"), "main")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = h.svc.PollNow(context.Background())
	}()
	waitFor(t, "the simulator's git.push delivery to be answered", func() bool {
		for _, d := range h.sim.Deliveries("DefaultCollection") {
			if d.EventType == "git.push" && d.OK() {
				return true
			}
		}
		return false
	})
	wg.Wait()
	if r := h.pollNow(); r.Runs != 0 {
		t.Fatalf("a later round started %d runs", r.Runs)
	}
	runs := h.runs()
	if len(runs) != 1 || runs[0]["commit"] != next {
		t.Fatalf("runs %v, want one of %s", runs, next)
	}
	h.finished(runs[0]["id"].(string))
}

// TestPollFailureOfOneProfileIsLogged: a profile whose repository cannot be listed (disabled
// in the simulator) fails alone, logged without the PAT; the other profile of the round is
// polled and its push starts a run.
func TestPollFailureOfOneProfileIsLogged(t *testing.T) {
	h := newHookEnv(t, nil)
	var other azdosim.RepoInfo
	for _, r := range h.sim.Repositories("DefaultCollection") {
		if r.Name != h.repo.Name && !r.Disabled && !r.Empty {
			other = r
		}
	}
	_, conns, _ := h.call("GET", "/api/v1/connections", nil)
	conn := conns["value"].([]any)[0].(map[string]any)["id"].(string)
	code, p, _ := h.call("POST", "/api/v1/build-profiles", map[string]any{"name": "other", "connectionId": conn,
		"repositoryId": other.ID, "branch": "main", "triggers": map[string]any{"push": map[string]any{"branches": []string{"*"}}}})
	if code != 201 {
		t.Fatalf("create the second profile: %d %v", code, p)
	}
	if err := h.sim.SetDisabled("DefaultCollection", other.ID, true); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if r, err := h.svc.PollNow(ctx); err != nil || r.Profiles != 1 || r.Failed != 1 {
		t.Fatalf("round with a disabled repository: %+v %v", r, err)
	}
	_, next := h.commitOn("main", "still polled")
	if r, err := h.svc.PollNow(ctx); err != nil || r.Runs != 1 || r.Failed != 1 {
		t.Fatalf("round after a push: %+v %v, want one run and the same failure", r, err)
	}
	if runs := h.runs(); len(runs) != 1 || runs[0]["commit"] != next {
		t.Fatalf("runs %v", runs)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "could not poll a build profile's branches") || !strings.Contains(logs, p["id"].(string)) {
		t.Fatalf("the failure is not logged with its profile:\n%s", logs)
	}
	if strings.Contains(logs, simPAT) {
		t.Fatal("the logs hold the PAT")
	}
}

// TestPollBackgroundLoop: with a PollInterval (and no PollByHand) the service polls on its
// own at start, recording the profile's branch tips in the store; Close stops the loop.
func TestPollBackgroundLoop(t *testing.T) {
	var opts services.Options
	h := newHookEnv(t, func(o *services.Options) { opts = *o })
	ps := opts.Store.(store.Polling)
	opts.Runs.PollInterval, opts.WorkDir = time.Minute, t.TempDir()
	looping, err := services.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var refs map[string]string
	waitFor(t, "the first background round to record the branch tips", func() bool {
		m, found, err := ps.PollRefs(context.Background(), "default", h.profile)
		refs = m
		return err == nil && found
	})
	looping.Close()
	main := git(t, h.repo.BarePath, "rev-parse", "refs/heads/main")
	if refs["refs/heads/main"] != main {
		t.Fatalf("recorded tips %v, want main at %s", refs, main)
	}
	if n := len(h.runs()); n != 0 {
		t.Fatalf("the first round started %d runs", n)
	}
}
