package services

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// Run trigger kinds.
const (
	RunPush        = "push"
	RunPullRequest = "pullRequest"
	RunManual      = "manual"
)

// Defaults of the run and hook settings (RunSettings).
const (
	// DefaultRunsPerProfile is how many runs a profile keeps when RunSettings.Keep is 0.
	DefaultRunsPerProfile = 100
	// DefaultHookEventTTL is how long a delivery's event id is remembered when
	// RunSettings.EventTTL is 0: longer than Azure DevOps' retries of one delivery.
	DefaultHookEventTTL = 7 * 24 * time.Hour
	// DefaultMaxHookBody bounds a delivery's body when RunSettings.MaxHookBody is 0.
	DefaultMaxHookBody = 1 << 20
)

// Reasons of the hook endpoint's answers (problem codes and "ignored" reasons).
const (
	ReasonHookPayloadInvalid  connections.Reason = "hook_payload_invalid"
	ReasonHookPayloadTooLarge connections.Reason = "hook_payload_too_large"
	ReasonHookMismatch        connections.Reason = "hook_repository_mismatch"
)

// RunSettings tune runs and the hook endpoint (Options.Runs).
type RunSettings struct {
	// Keep is how many runs a profile keeps (the oldest are dropped when a run is created);
	// 0 means DefaultRunsPerProfile, a negative value keeps every run.
	Keep int
	// MaxAge drops runs older than this when a run of the profile is created; 0: no age limit.
	MaxAge time.Duration
	// EventTTL is how long a delivery's event id is remembered; 0 means DefaultHookEventTTL.
	EventTTL time.Duration
	// MaxHookBody bounds a delivery's body in bytes; 0 means DefaultMaxHookBody.
	MaxHookBody int64
	// PublicURL is the service's URL as users reach it, the base of a run's page in the
	// statuses and threads posted (report.go); "" means the OAuth callback URL's base, else
	// no link.
	PublicURL string
	// Report tunes results reporting (retries; report.go).
	Report ReportSettings
	// PollInterval turns the polling fallback on (poll.go): every interval, the branches of
	// each profile with a push trigger are listed and a moved one starts a run. 0: off.
	// New does not check the minimum (MinPollInterval); the command line does.
	PollInterval time.Duration
	// PollConcurrency is how many profiles a polling round polls at once; 0 means
	// DefaultPollConcurrency.
	PollConcurrency int
	// PollByHand starts no background polling loop: rounds run only when the caller calls
	// PollScheduled or PollNow (tests, an operator's command).
	PollByHand bool
}

// MaxHookBody is the bound of a delivery's body (RunSettings.MaxHookBody or its default).
func (s *Service) MaxHookBody() int64 {
	if s.opts.Runs.MaxHookBody > 0 {
		return s.opts.Runs.MaxHookBody
	}
	return DefaultMaxHookBody
}

// ErrHookUnauthorized is the error of a delivery whose hook id or credential is wrong. The
// web layer answers 401 with nothing else.
var ErrHookUnauthorized = errors.New("hook: unauthorized")

// capability finds T on st or, through Unwrap (serve's backend wrapper), on a store it wraps.
func capability[T any](st store.Store) (T, bool) {
	for {
		if c, ok := st.(T); ok {
			return c, true
		}
		w, ok := st.(interface{ Unwrap() store.Store })
		if !ok {
			var zero T
			return zero, false
		}
		st = w.Unwrap()
	}
}

// runs returns the store's runs capability; ErrInvalidInput when the backend lacks it.
func (s *Service) runs() (store.Runs, error) {
	r, ok := capability[store.Runs](s.store)
	if !ok {
		return nil, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "the store does not keep runs")
	}
	return r, nil
}

// HookCredential is a hook's Basic credential, answered once when it is created or rotated.
type HookCredential struct {
	HookID   string `json:"hookId"`
	User     string `json:"user"`
	Password string `json:"password"`
}

// hookAAD binds a sealed hook password to its tenant, profile and hook id.
func hookAAD(tenant, profileID, hookID string) []byte {
	return []byte("hook/" + tenant + "/" + profileID + "/" + hookID)
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// newHook makes a hook with a random 128-bit id, a user name and a 256-bit password sealed
// with the keyring; the password is returned in clear once.
func (s *Service) newHook(tenant, profileID string) (*store.Hook, *HookCredential, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, nil, err
	}
	id := hex.EncodeToString(b)
	cred := &HookCredential{HookID: id, User: "repoconnect-" + id[:8], Password: randomToken(32)}
	sealed, err := s.keyring.Seal([]byte(cred.Password), hookAAD(tenant, profileID, id))
	if err != nil {
		return nil, nil, err
	}
	return &store.Hook{ID: id, User: cred.User, SealedPassword: sealed, CreatedAt: s.now().UTC()}, cred, nil
}

// BuildProfilePatch is the body of PATCH /api/v1/build-profiles/{id}: the fields present
// change. Triggers present and null turns every trigger off (ClearTriggers).
type BuildProfilePatch struct {
	Name          *string
	Branch        *string
	Triggers      *TriggersInput
	ClearTriggers bool
	// ServiceEndpoints present replaces the profile's service endpoint ids (an empty list
	// drops them); checked as on create (serviceendpoints.go).
	ServiceEndpoints *[]string
	// Workspace present sets the workspace setting: "fresh" or "reuse" (workspace.go). Going
	// back to fresh removes the kept work tree (unless a run holds it).
	Workspace *string
}

// UpdateBuildProfile applies a patch after validating all of it (nothing is stored on bad
// input): name (as on create), branch (must exist in the repository), triggers (patterns,
// see normalizeTriggers), serviceEndpoints (each one of the project's, serviceendpoints.go),
// workspace ("fresh" or "reuse").
// A profile that gets its first trigger gets a hook; its credential is returned once (nil
// otherwise). The project id is filled when it was missing. Errors: field errors (name,
// branch, triggers.*, serviceEndpoints[i], workspace), store.ErrNotFound, store.ErrConflict (name),
// store.ErrStale (a concurrent update), forge errors.
func (s *Service) UpdateBuildProfile(ctx context.Context, tenant, id string, in BuildProfilePatch) (*store.BuildProfile, *HookCredential, error) {
	rs, err := s.runs()
	if err != nil {
		return nil, nil, err
	}
	p, err := s.store.GetBuildProfile(ctx, tenant, id)
	if err != nil {
		return nil, nil, err
	}
	next := *p
	if in.Name != nil {
		if next.Name, err = checkName("name", "build profile", *in.Name); err != nil {
			return nil, nil, err
		}
	}
	if in.Workspace != nil {
		if next.Workspace, err = checkWorkspace("workspace", *in.Workspace); err != nil {
			return nil, nil, err
		}
	}
	var newBranch string
	if in.Branch != nil {
		newBranch = strings.TrimPrefix(strings.TrimSpace(*in.Branch), "refs/heads/")
		if newBranch == "" {
			return nil, nil, invalid("branch", "branch cannot be empty")
		}
	}
	if in.Triggers != nil {
		branch := next.Branch
		if newBranch != "" {
			branch = newBranch
		}
		if next.Triggers, err = normalizeTriggers("triggers", in.Triggers, branch); err != nil {
			return nil, nil, err
		}
	} else if in.ClearTriggers {
		next.Triggers = nil
	}
	if newBranch != "" && newBranch != p.Branch || next.ProjectID == "" {
		o, err := s.open(ctx, tenant, p.ConnectionID)
		if err != nil {
			return nil, nil, err
		}
		if newBranch != "" && newBranch != p.Branch {
			var branches []connections.Branch
			if err := s.call(ctx, o, func(c *azuredevops.Client) (err error) {
				branches, err = c.ListBranches(ctx, p.RepositoryID)
				return err
			}); err != nil {
				return nil, nil, err
			}
			if !hasBranch(branches, newBranch) {
				return nil, nil, invalid("branch", "the repository %q has no branch %q", p.RepositoryName, newBranch)
			}
			next.Branch = newBranch
		}
		if next.ProjectID == "" {
			var repo *connections.Repository
			if err := s.call(ctx, o, func(c *azuredevops.Client) (err error) {
				repo, err = c.GetRepository(ctx, p.RepositoryID)
				return err
			}); err != nil {
				return nil, nil, err
			}
			next.ProjectID = strings.ToLower(repo.Project.ID)
		}
	}
	if in.ServiceEndpoints != nil {
		if next.ServiceEndpoints, err = s.profileServiceEndpoints(ctx, tenant, &next, *in.ServiceEndpoints); err != nil {
			return nil, nil, err
		}
	}
	var cred *HookCredential
	if next.Triggers != nil && next.Hook == nil {
		if next.Hook, cred, err = s.newHook(tenant, p.ID); err != nil {
			return nil, nil, err
		}
	}
	if err := rs.UpdateBuildProfile(detach(ctx), &next); err != nil {
		if errors.Is(err, store.ErrConflict) && next.Name != p.Name {
			return nil, nil, invalid("name", "a build profile named %q exists already", next.Name).Wrap(store.ErrConflict)
		}
		return nil, nil, err
	}
	if WorkspaceOf(p) == WorkspaceReuse && WorkspaceOf(&next) == WorkspaceFresh {
		s.dropWorkspace(ctx, tenant, p.ID) // the janitor never removes a workspace
	}
	if in.Triggers != nil || in.ClearTriggers {
		// The Azure DevOps subscriptions follow the triggers (subscriptions.go).
		return s.subscribe(ctx, rs, &next, false), cred, nil
	}
	return &next, cred, nil
}

// RotateHook gives the profile's hook a new id and credential (the old URL and password stop
// working at once) and returns the credential once. Errors: store.ErrNotFound (also for a
// profile without a hook, field-less), store.ErrStale.
func (s *Service) RotateHook(ctx context.Context, tenant, id string) (*store.BuildProfile, *HookCredential, error) {
	rs, err := s.runs()
	if err != nil {
		return nil, nil, err
	}
	p, err := s.store.GetBuildProfile(ctx, tenant, id)
	if err != nil {
		return nil, nil, err
	}
	if p.Hook == nil {
		return nil, nil, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
			"the build profile has no hook: give it a trigger first (PATCH its triggers)")
	}
	h, cred, err := s.newHook(tenant, p.ID)
	if err != nil {
		return nil, nil, err
	}
	old := *p.Hook
	h.Subscriptions, h.URL = old.Subscriptions, old.URL
	p.Hook = h
	if err := rs.UpdateBuildProfile(detach(ctx), p); err != nil {
		return nil, nil, err
	}
	// The subscriptions carry the old URL and password: made again with the new ones.
	return s.subscribe(ctx, rs, p, true), cred, nil
}

// HookState is what GET of a profile answers about its hook:
//   - State: HookSubscribed, HookManual (the user creates the subscription; Reason says why:
//     ManualCannotManage, ManualNeedsScope, ManualNoURL, ManualUpstream, or "" when the
//     profile has no trigger), HookFailing (a subscription stays disabled or on probation);
//   - Subscriptions: the service's subscriptions with the status last seen;
//   - Events: the event types the subscriptions (or the manual setup) need;
//   - NeedsScope, Reauthorize and ReauthorizeScopes: for ManualNeedsScope, the scope to add
//     (vso.hooks_write), the connection's re-authorize path (POST) and the scopes to ask
//     there. Once the sign-in completes, the next GET of the profile creates the
//     subscriptions (the hook password is unsealed for it: no rotation needed).
type HookState struct {
	ID             string                   `json:"id"`
	User           string                   `json:"user"`
	State          string                   `json:"state"`
	Reason         string                   `json:"reason,omitempty"`
	LastDeliveryAt *time.Time               `json:"lastDeliveryAt,omitempty"`
	Subscriptions  []store.HookSubscription `json:"subscriptions,omitempty"`
	Events         []string                 `json:"events,omitempty"`
	NeedsScope     string                   `json:"needsScope,omitempty"`
	Reauthorize    string                   `json:"reauthorize,omitempty"`
	// ReauthorizeScopes are the scopes to send there: {"oauth": {"scopes": [...]}}, the
	// connection's scopes and vso.hooks_write.
	ReauthorizeScopes []string `json:"reauthorizeScopes,omitempty"`
}

// HookStateOf returns the profile's hook state as stored, nil when it has none; no call to
// Azure DevOps (lists of profiles use it). CheckHookState is the GET of one profile's.
func (s *Service) HookStateOf(ctx context.Context, p *store.BuildProfile) *HookState {
	return s.hookState(ctx, p, false)
}

// CheckHookState is HookStateOf after a check: a profile with subscriptions has them read and
// repaired (checkSubscriptions, at most once a minute per profile); a profile in the manual
// setup for want of the OAuth scope gets its subscriptions created once the connection holds
// the scope (after a re-authorize). It may thus call Azure DevOps.
func (s *Service) CheckHookState(ctx context.Context, p *store.BuildProfile) *HookState {
	return s.hookState(ctx, p, true)
}

func (s *Service) hookState(ctx context.Context, p *store.BuildProfile, check bool) *HookState {
	if p.Hook == nil {
		return nil
	}
	if check && p.Hook.Manual == ManualNeedsScope && p.Triggers != nil {
		if rec, err := s.store.GetConnection(ctx, p.TenantID, p.ConnectionID); err == nil && hasScope(rec, azuredevops.HooksWriteScope) {
			if rs, err := s.runs(); err == nil {
				p = s.subscribe(ctx, rs, p, false)
			}
		}
	}
	hs := &HookState{ID: p.Hook.ID, User: p.Hook.User, State: HookManual, Reason: p.Hook.Manual,
		Subscriptions: slices.Clone(p.Hook.Subscriptions), Events: HookEvents(p.Triggers)}
	if len(p.Hook.Subscriptions) > 0 {
		hs.State = HookSubscribed
		failing, status := s.cachedHookCheck(p.ID)
		if check {
			failing, status = s.checkSubscriptions(ctx, p)
			if q, ok := s.recreateDeleted(ctx, p, status); ok {
				p = q
				hs.Subscriptions = slices.Clone(p.Hook.Subscriptions)
				failing, status = s.checkSubscriptions(ctx, p)
			}
		}
		for i := range hs.Subscriptions {
			if st, ok := status[hs.Subscriptions[i].ID]; ok {
				hs.Subscriptions[i].Status = st
			}
		}
		if failing {
			hs.State = HookFailing
		}
	}
	if hs.Reason == ManualNeedsScope {
		hs.NeedsScope = azuredevops.HooksWriteScope
		hs.Reauthorize = "/api/v1/connections/" + p.ConnectionID + "/authorize"
		if rec, err := s.store.GetConnection(ctx, p.TenantID, p.ConnectionID); err == nil && rec.OAuth != nil {
			hs.ReauthorizeScopes = append(slices.Clone(rec.OAuth.Scopes), azuredevops.HooksWriteScope)
		}
	}
	if rs, err := s.runs(); err == nil {
		if ref, err := rs.HookByID(ctx, p.Hook.ID); err == nil {
			hs.LastDeliveryAt = ref.LastDeliveryAt
		}
	}
	return hs
}

// HookResult is the answer to a delivery: the runs started, or why none was.
type HookResult struct {
	Runs    []*store.Run `json:"runs,omitempty"`
	Ignored string       `json:"ignored,omitempty"` // a reason code when no run started
}

// Reasons a delivery starts nothing (HookResult.Ignored).
const (
	IgnoredDuplicate     = "duplicate_event"
	IgnoredEventType     = "event_type_not_handled"
	IgnoredNoTrigger     = "no_matching_trigger"
	IgnoredBranch        = "branch_not_matched"
	IgnoredDeletedRef    = "ref_deleted"
	IgnoredPRStatus      = "pull_request_not_active"
	IgnoredNoNewCommits  = "no_new_commits"
	IgnoredResourceVer   = "resource_version_not_supported"
	IgnoredNoMergeCommit = "no_merge_commit"
)

// checkHookCredential finds the hook and compares the Basic credential in constant time.
// Any failure is ErrHookUnauthorized, whatever its cause.
func (s *Service) checkHookCredential(ctx context.Context, rs store.Runs, hookID, user, password string) (*store.BuildProfile, *store.HookRef, error) {
	ref, err := rs.HookByID(ctx, hookID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrHookUnauthorized
	} else if err != nil {
		return nil, nil, err
	}
	p, err := s.store.GetBuildProfile(ctx, ref.TenantID, ref.ProfileID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, ErrHookUnauthorized
	} else if err != nil {
		return nil, nil, err
	}
	if p.Hook == nil || p.Hook.ID != hookID {
		return nil, nil, ErrHookUnauthorized
	}
	want, err := s.keyring.Open(p.Hook.SealedPassword, hookAAD(p.TenantID, p.ID, hookID))
	if err != nil {
		return nil, nil, ErrHookUnauthorized
	}
	// Compare hashes so the comparison's time does not depend on the lengths either.
	uh, uw := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(p.Hook.User))
	ph, pw := sha256.Sum256([]byte(password)), sha256.Sum256(want)
	ok := subtle.ConstantTimeCompare(uh[:], uw[:]) & subtle.ConstantTimeCompare(ph[:], pw[:])
	if ok != 1 {
		return nil, nil, ErrHookUnauthorized
	}
	return p, ref, nil
}

// HandleHookDelivery handles one POST to a hook: the credential (ErrHookUnauthorized,
// nothing stored, the body not read), the body's size (ErrInvalidInput with
// ReasonHookPayloadTooLarge), the payload (ErrInvalidInput with ReasonHookPayloadInvalid), the
// repository and project ids against the profile (ErrInvalidInput with ReasonHookMismatch,
// field resource.repository.id or resource.repository.project.id; nothing stored), the
// event id (a claimed id answers Ignored duplicate_event), then the triggers: it starts the
// runs a push or pull request calls for, as clone jobs in the clone queue, and returns at
// once. The claim is made before the runs are stored, so two concurrent copies of one
// delivery start one run. A push whose run the polling fallback already started (the
// (profile, ref, commit) claim in startRun) starts nothing: Ignored duplicate_event when no
// run is left.
func (s *Service) HandleHookDelivery(ctx context.Context, hookID, user, password string, r io.Reader) (*HookResult, error) {
	rs, err := s.runs()
	if err != nil {
		return nil, err
	}
	p, _, err := s.checkHookCredential(ctx, rs, hookID, user, password)
	if err != nil {
		return nil, err
	}
	// The body is read only once the credential passed, up to MaxHookBody.
	max := s.MaxHookBody()
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, payloadError("", "the delivery's body could not be read")
	}
	if int64(len(body)) > max {
		return nil, connections.Errorf(connections.ErrInvalidInput, ReasonHookPayloadTooLarge,
			"the delivery's body is larger than %d bytes (--hook-max-body)", max)
	}
	ev, err := ParseHookEvent(body)
	if err != nil {
		return nil, err
	}
	if ev.RepositoryID != strings.ToLower(p.RepositoryID) {
		return nil, mismatch("resource.repository.id", "the delivery is about another repository than the build profile's")
	}
	if p.ProjectID != "" && ev.ProjectID != "" && ev.ProjectID != p.ProjectID {
		return nil, mismatch("resource.repository.project.id", "the delivery is about another project than the build profile's")
	}
	_ = rs.TouchHook(detach(ctx), hookID, s.now())
	if ev.ResourceVersion != "" && ev.ResourceVersion != "1.0" {
		return &HookResult{Ignored: IgnoredResourceVer}, nil
	}
	triggers, reason := s.decide(ctx, rs, p, ev)
	if len(triggers) == 0 {
		return &HookResult{Ignored: reason}, nil
	}
	ttl := s.opts.Runs.EventTTL
	if ttl <= 0 {
		ttl = DefaultHookEventTTL
	}
	won, err := rs.ClaimEvent(detach(ctx), p.TenantID+"/"+p.ID+"/"+ev.ID, ttl)
	if err != nil {
		return nil, err
	}
	if !won {
		return &HookResult{Ignored: IgnoredDuplicate}, nil
	}
	res := &HookResult{}
	for _, t := range triggers {
		t.EventID = ev.ID
		r, err := s.startRun(ctx, rs, p, t)
		if err != nil {
			return nil, err
		}
		if r != nil { // nil: the polling fallback started this push's run first
			res.Runs = append(res.Runs, r)
		}
	}
	if len(res.Runs) == 0 {
		res.Ignored = IgnoredDuplicate
	}
	return res, nil
}

// pushClaimKey is the claim of one push's run: "{tenant}/{profile}/push:{ref}@{commit}".
func pushClaimKey(p *store.BuildProfile, ref, commit string) string {
	return p.TenantID + "/" + p.ID + "/push:" + ref + "@" + strings.ToLower(commit)
}

func mismatch(field, msg string) error {
	e := connections.Errorf(connections.ErrInvalidInput, ReasonHookMismatch, "%s", msg)
	e.Field = field
	return e
}

// decide returns the runs a delivery calls for, or the reason it calls for none.
func (s *Service) decide(ctx context.Context, rs store.Runs, p *store.BuildProfile, ev *HookEvent) ([]store.RunTrigger, string) {
	tr := p.Triggers
	switch ev.EventType {
	case EventGitPush:
		if tr == nil || tr.Push == nil {
			return nil, IgnoredNoTrigger
		}
		var out []store.RunTrigger
		reason := IgnoredBranch
		for _, u := range ev.RefUpdates {
			if !strings.HasPrefix(u.Name, "refs/heads/") {
				continue
			}
			if !MatchBranch(tr.Push.Branches, u.Name) {
				continue
			}
			if u.NewObjectID == zeroCommit || !isCommitID(u.NewObjectID) {
				reason = IgnoredDeletedRef
				continue
			}
			out = append(out, store.RunTrigger{Kind: RunPush, Commit: u.NewObjectID, Ref: u.Name, PushedBy: ev.PushedBy})
		}
		return out, reason
	case EventPullRequestCreated, EventPullRequestUpdated:
		if tr == nil || tr.PullRequest == nil {
			return nil, IgnoredNoTrigger
		}
		if ev.Status != "active" {
			return nil, IgnoredPRStatus
		}
		if !MatchBranch(tr.PullRequest.Branches, ev.TargetRefName) {
			return nil, IgnoredBranch
		}
		if !isCommitID(ev.MergeCommit) || ev.PullRequestID <= 0 {
			return nil, IgnoredNoMergeCommit
		}
		if ev.EventType == EventPullRequestUpdated && s.prBuilt(ctx, rs, p, ev) {
			return nil, IgnoredNoNewCommits
		}
		return []store.RunTrigger{{Kind: RunPullRequest, Commit: ev.MergeCommit,
			Ref: "refs/pull/" + strconv.Itoa(ev.PullRequestID) + "/merge", PullRequestID: ev.PullRequestID,
			SourceCommit: ev.MergeSourceCommit}}, ""
	case EventPullRequestMerged:
		return nil, IgnoredPRStatus
	}
	return nil, IgnoredEventType
}

// prBuilt reports whether the latest run of the pull request built the same merge commit or
// the same source commit: an update that brings no new commits (a reviewer vote, a title
// change) starts nothing. A reactivated pull request whose merge commit is new starts a run.
func (s *Service) prBuilt(ctx context.Context, rs store.Runs, p *store.BuildProfile, ev *HookEvent) bool {
	list, _, err := rs.ListRuns(ctx, p.TenantID, p.ID, store.Page{Limit: 50})
	if err != nil {
		return false
	}
	for _, r := range list {
		if r.Trigger.Kind == RunPullRequest && r.Trigger.PullRequestID == ev.PullRequestID {
			return r.Commit == ev.MergeCommit || (ev.MergeSourceCommit != "" && r.Trigger.SourceCommit == ev.MergeSourceCommit)
		}
	}
	return false
}

// startRun stores a run and queues its clone job; a goroutine follows the job and writes
// the run's state back. With the Redis queue the job may run on another instance; the run
// follows it from this one (a run whose instance stops stays in its last state).
//
// A push run first claims (profile, ref, commit) for DefaultPushClaimTTL (pushClaimKey):
// the hook endpoint and the polling fallback (poll.go) both come through here, so whichever
// sees a push second gets a nil run and no error, and one push starts one run.
func (s *Service) startRun(ctx context.Context, rs store.Runs, p *store.BuildProfile, t store.RunTrigger) (*store.Run, error) {
	if t.Kind == RunPush {
		won, err := rs.ClaimEvent(detach(ctx), pushClaimKey(p, t.Ref, t.Commit), DefaultPushClaimTTL)
		if err != nil {
			return nil, err
		}
		if !won {
			return nil, nil
		}
	}
	r := &store.Run{ID: newID(), TenantID: p.TenantID, BuildProfileID: p.ID, Trigger: t, State: CloneQueued,
		Commit: t.Commit, CreatedAt: s.now().UTC()}
	if err := rs.CreateRun(detach(ctx), r, s.keepRuns()); err != nil {
		return nil, err
	}
	if s.opts.Runs.MaxAge > 0 {
		_, _ = rs.PruneRuns(detach(ctx), p.TenantID, p.ID, s.now().Add(-s.opts.Runs.MaxAge))
	}
	s.reportStart(rs, r) // a pending status, posted asynchronously (report.go)
	job, err := s.startCloneJob(detach(ctx), p.TenantID, p.ID, CloneInput{Commit: t.Commit, Ref: t.Ref})
	if err != nil {
		s.finishRun(rs, r, nil, err)
		return r, nil
	}
	r.CloneJobID = job.ID
	_ = rs.UpdateRun(detach(ctx), r)
	follow := *r // the goroutine writes its own copy; r goes back to the caller
	go s.followRun(rs, &follow)
	return r, nil
}

// followRun writes the clone job's state into the run until the job ends.
func (s *Service) followRun(rs store.Runs, r *store.Run) {
	ctx := context.Background()
	ch, err := s.WatchClone(ctx, r.TenantID, r.CloneJobID)
	if err != nil {
		s.finishRun(rs, r, nil, err)
		return
	}
	var last CloneJob
	for j := range ch {
		last = j
		if j.State != r.State && !j.finished() {
			r.State = j.State
			_ = rs.UpdateRun(ctx, r)
		}
	}
	if !last.finished() {
		return // the service stops: the run keeps its last state
	}
	s.finishRun(rs, r, &last, last.Err)
}

// finishRun records a run's end, then hands the run to results reporting (reportEnd: the
// final commit and pull-request statuses, the thread; it fills r.Report).
func (s *Service) finishRun(rs store.Runs, r *store.Run, j *CloneJob, err error) {
	t := s.now().UTC()
	r.FinishedAt = &t
	if err != nil {
		r.State, r.Error = CloneFailed, err.Error()
	} else {
		r.State = CloneSucceeded
		if j != nil && j.Result != nil {
			r.Commit = j.Result.Commit
			runSource(r, j.Result) // the path the clone took and what it moved (workspace.go)
		}
	}
	if uerr := rs.UpdateRun(context.Background(), r); uerr != nil && !errors.Is(uerr, store.ErrNotFound) {
		s.log.Warn("could not record a run's end", "run", r.ID, "err", uerr)
	}
	s.reportEnd(rs, r, ReportState(r.State, err)) // the final status and thread (report.go)
}

// recordManualRun records a clone job started through StartClone (Clone now, POST
// .../clones) as a run of kind manual that follows the job; failures are logged only.
func (s *Service) recordManualRun(ctx context.Context, tenant, profileID string, in CloneInput, job *CloneJob) {
	rs, err := s.runs()
	if err != nil {
		return
	}
	// Detached: the job is queued, so its run is recorded even when the caller went away
	// (the run guard finds the job through it).
	p, err := s.store.GetBuildProfile(detach(ctx), tenant, profileID)
	if err != nil {
		return
	}
	ref := in.Ref
	if ref == "" {
		ref = "refs/heads/" + p.Branch
	}
	r := &store.Run{ID: newID(), TenantID: tenant, BuildProfileID: profileID, State: job.State, CloneJobID: job.ID,
		Commit: strings.ToLower(in.Commit), CreatedAt: s.now().UTC(),
		Trigger: store.RunTrigger{Kind: RunManual, Commit: strings.ToLower(in.Commit), Ref: ref}}
	if err := rs.CreateRun(detach(ctx), r, s.keepRuns()); err != nil {
		s.log.WarnContext(ctx, "could not record a clone job as a run", "profile", profileID, "err", err)
		return
	}
	go s.followRun(rs, r)
}

// keepRuns is the count retention CreateRun applies (0: none).
func (s *Service) keepRuns() int {
	switch k := s.opts.Runs.Keep; {
	case k == 0:
		return DefaultRunsPerProfile
	case k < 0:
		return 0
	default:
		return k
	}
}

// RunInput is what a manual run takes (POST /api/v1/build-profiles/{id}/runs).
type RunInput struct {
	// Commit is the full commit id to run (40 hexadecimal digits); "" runs the branch's tip.
	Commit string `json:"commit,omitempty"`
	// Force starts the run even while another run of the profile is queued or running;
	// without it such a start is refused (connections.ReasonRunActive, 409).
	Force bool `json:"force,omitempty"`
}

// StartManualRun starts a run of the profile's branch tip (Clone now as a run), or of
// commit when given, without force: StartRun with RunInput{Commit: commit}.
func (s *Service) StartManualRun(ctx context.Context, tenant, id, commit string) (*store.Run, error) {
	return s.StartRun(ctx, tenant, id, RunInput{Commit: commit})
}

// StartRun starts a manual run of the profile: its branch tip, or in.Commit. Unless
// in.Force, the run guard refuses it while another run of the profile is queued or running
// (a *connections.Error of kind connections.ErrRunActive, reason
// connections.ReasonRunActive, field "force", cause *RunActiveError; runguard.go): the check
// and the start are atomic across the process and the instances sharing the store. Errors
// also: store.ErrNotFound, a field error commit, ErrInvalidInput for a store without runs,
// StartClone's errors before the job is queued (a failure after the run is stored fails the
// run instead), ctx's error while waiting for the guard's lock, store errors.
func (s *Service) StartRun(ctx context.Context, tenant, id string, in RunInput) (*store.Run, error) {
	rs, err := s.runs()
	if err != nil {
		return nil, err
	}
	release, err := s.guardRunStart(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	defer release()
	p, err := s.store.GetBuildProfile(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if in.Commit != "" && !isCommitID(in.Commit) {
		return nil, invalid("commit", "commit must be a full commit id: 40 hexadecimal digits")
	}
	if !in.Force {
		if err := s.refuseActive(ctx, tenant, p.ID); err != nil {
			return nil, err
		}
	}
	return s.startRun(ctx, rs, p, store.RunTrigger{Kind: RunManual, Commit: strings.ToLower(in.Commit), Ref: "refs/heads/" + p.Branch})
}

// GetRun returns a run of the tenant; store.ErrNotFound otherwise.
func (s *Service) GetRun(ctx context.Context, tenant, id string) (*store.Run, error) {
	rs, err := s.runs()
	if err != nil {
		return nil, err
	}
	return rs.GetRun(ctx, tenant, id)
}

// ListRuns returns one page of a profile's runs, newest first (limit and after as in
// ListConnections). Errors: store.ErrNotFound for an unknown profile.
func (s *Service) ListRuns(ctx context.Context, tenant, profileID string, limit int, after string) ([]*store.Run, string, error) {
	rs, err := s.runs()
	if err != nil {
		return nil, "", err
	}
	if _, err := s.store.GetBuildProfile(ctx, tenant, profileID); err != nil {
		return nil, "", err
	}
	page, err := pageOf(limit, after)
	if err != nil {
		return nil, "", err
	}
	list, next, err := rs.ListRuns(ctx, tenant, profileID, page)
	return list, next, pageError(err)
}

// payloadError is a hook payload error naming the field.
func payloadError(field, format string, args ...any) error {
	e := connections.Errorf(connections.ErrInvalidInput, ReasonHookPayloadInvalid, format, args...)
	e.Field = field
	return e
}
