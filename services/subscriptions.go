package services

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// Hook states answered by GET of a build profile (HookState.State).
const (
	// HookSubscribed: the service created the subscriptions and they are enabled.
	HookSubscribed = "subscribed"
	// HookManual: the user creates the subscription in Azure DevOps (the manual setup).
	HookManual = "manual"
	// HookFailing: Azure DevOps disabled a subscription (or put it on probation) after failed
	// deliveries, and the service could not re-enable it.
	HookFailing = "failing"
)

// Reasons of the manual setup (store.Hook.Manual, HookState.Reason).
const (
	// ManualCannotManage: the credential may not manage service hooks (a PAT without
	// vso.hooks_write, or a user without the permission): azuredevops.CannotManageHooks.
	ManualCannotManage = "cannot_manage_hooks"
	// ManualNeedsScope: an OAuth connection was not granted vso.hooks_write; re-authorize it
	// with that scope added (HookState.Reauthorize).
	ManualNeedsScope = "needs_scope"
	// ManualNoURL: the service does not know its public URL (no --public-url and no request).
	ManualNoURL = "no_public_url"
	// ManualUpstream: creating the subscriptions failed for another reason (logged).
	ManualUpstream = "subscription_failed"
)

// hookRecheck is how long a subscription check made on GET of a profile is reused.
const hookRecheck = time.Minute

// hookBaseKey carries the service's public URL from the web layer to the hook code.
type hookBaseKey struct{}

// WithHookBase returns ctx carrying base, the service's public URL as Azure DevOps reaches it
// (scheme and host, no trailing slash): the hook URL given to the subscriptions the service
// creates is base + "/hooks/azure-devops/{hookId}". Without it no subscription is created
// (state manual, reason no_public_url).
func WithHookBase(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, hookBaseKey{}, strings.TrimRight(base, "/"))
}

// HookURLPath is the path of a hook's endpoint below the public URL.
func HookURLPath(hookID string) string { return "/hooks/azure-devops/" + hookID }

func hookBase(ctx context.Context) string {
	b, _ := ctx.Value(hookBaseKey{}).(string)
	return b
}

// wantedSub is one subscription a profile's triggers call for.
type wantedSub struct{ eventType, branch string }

// wantedSubs lists the subscriptions of p's triggers: git.push for a push trigger, and
// git.pullrequest.created and git.pullrequest.updated for a pull-request trigger, all filtered
// to the repository (and project). A trigger with exactly one pattern without wildcards is also
// filtered to that branch (Azure DevOps' branch input takes one branch,
// learn.microsoft.com/azure/devops/service-hooks/events); otherwise the subscription is
// repository-wide and the service's own filters decide (HandleHookDelivery).
// git.pullrequest.merged is not subscribed: it starts no run.
func wantedSubs(t *store.Triggers) []wantedSub {
	if t == nil {
		return nil
	}
	one := func(f *store.BranchFilter) string {
		if f == nil || len(f.Branches) != 1 || strings.Contains(f.Branches[0], "*") {
			return ""
		}
		return f.Branches[0]
	}
	var out []wantedSub
	if t.Push != nil {
		out = append(out, wantedSub{EventGitPush, one(t.Push)})
	}
	if t.PullRequest != nil {
		b := one(t.PullRequest)
		out = append(out, wantedSub{EventPullRequestCreated, b}, wantedSub{EventPullRequestUpdated, b})
	}
	return out
}

// hookClient opens the profile's connection for hook calls. It does not go through s.call:
// a refusal for want of vso.hooks_write (401 TF400813) must not mark the connection's
// credential invalid.
func (s *Service) hookClient(ctx context.Context, p *store.BuildProfile) (*opened, error) {
	return s.open(ctx, p.TenantID, p.ConnectionID)
}

// hasScope reports whether an OAuth connection was granted scope (PAT connections: true, the
// service cannot know a PAT's scopes without trying).
func hasScope(rec *store.Connection, scope string) bool {
	return rec.OAuth == nil || slices.Contains(rec.OAuth.Scopes, scope)
}

// syncSubscriptions makes the Azure DevOps subscriptions of p's hook match its triggers:
// subscriptions no longer wanted are deleted, missing ones are created with the hook's URL and
// Basic credential (the password unsealed for the call, never logged). With fresh, every
// existing subscription is deleted first (a rotated hook: new URL and password). It returns
// the hook to store; p.Hook is not changed. Errors of the forge are not returned: they put the
// hook in the manual setup with a reason (logged), and whatever was created in this call is
// deleted again, so nothing half-made stays.
func (s *Service) syncSubscriptions(ctx context.Context, p *store.BuildProfile, fresh bool) *store.Hook {
	if p.Hook == nil {
		return nil
	}
	h := *p.Hook
	h.Subscriptions = slices.Clone(h.Subscriptions)
	want := wantedSubs(p.Triggers)
	if len(want) == 0 && len(h.Subscriptions) == 0 {
		h.Manual = ""
		return &h
	}
	o, err := s.hookClient(ctx, p)
	if err != nil {
		s.log.WarnContext(ctx, "hook subscriptions: connection unusable", "profile", p.ID, "err", err)
		if len(want) > 0 && len(h.Subscriptions) == 0 {
			h.Manual = ManualUpstream
		}
		return &h
	}
	// Delete what is not wanted (all of it when fresh).
	keep := h.Subscriptions[:0]
	for _, sub := range h.Subscriptions {
		if !fresh && slices.Contains(want, wantedSub{sub.EventType, sub.Branch}) {
			keep = append(keep, sub)
			continue
		}
		if err := o.client.DeleteSubscription(ctx, sub.ID); err != nil && !errors.Is(err, connections.ErrNotFound) {
			s.log.WarnContext(ctx, "could not delete a hook subscription", "profile", p.ID, "subscription", sub.ID, "err", err)
		}
	}
	h.Subscriptions = keep
	var missing []wantedSub
	for _, w := range want {
		if !slices.ContainsFunc(h.Subscriptions, func(sub store.HookSubscription) bool {
			return sub.EventType == w.eventType && sub.Branch == w.branch
		}) {
			missing = append(missing, w)
		}
	}
	if len(missing) == 0 {
		if len(h.Subscriptions) > 0 {
			h.Manual = ""
		}
		return &h
	}
	if !hasScope(o.rec, azuredevops.HooksWriteScope) {
		h.Manual = ManualNeedsScope
		return &h
	}
	base := hookBase(ctx)
	if base == "" && h.URL != "" {
		base = strings.TrimSuffix(h.URL, HookURLPath(h.ID))
	}
	if base == "" {
		h.Manual = ManualNoURL
		return &h
	}
	h.URL = base + HookURLPath(h.ID)
	password, err := s.keyring.Open(h.SealedPassword, hookAAD(p.TenantID, p.ID, h.ID))
	if err != nil {
		s.log.WarnContext(ctx, "hook subscriptions: the hook password could not be unsealed", "profile", p.ID)
		h.Manual = ManualUpstream
		return &h
	}
	var made []store.HookSubscription
	for _, w := range missing {
		sub, err := o.client.CreateSubscription(ctx, azuredevops.WebHook(w.eventType, p.ProjectID, p.RepositoryID, w.branch,
			h.URL, h.User, connections.Secret(password)))
		if err != nil {
			for _, m := range made { // nothing half-made: undo this call's subscriptions
				if derr := o.client.DeleteSubscription(detach(ctx), m.ID); derr != nil && !errors.Is(derr, connections.ErrNotFound) {
					s.log.WarnContext(ctx, "could not delete a hook subscription", "profile", p.ID, "subscription", m.ID, "err", derr)
				}
			}
			if azuredevops.CannotManageHooks(err) {
				h.Manual = ManualCannotManage
				if o.rec.OAuth != nil {
					h.Manual = ManualNeedsScope
				}
			} else {
				s.log.WarnContext(ctx, "could not create a hook subscription", "profile", p.ID, "event", w.eventType, "err", err)
				h.Manual = ManualUpstream
			}
			return &h
		}
		made = append(made, store.HookSubscription{ID: sub.ID, EventType: w.eventType, Branch: w.branch, Status: sub.Status})
	}
	h.Subscriptions = append(h.Subscriptions, made...)
	h.Manual = ""
	s.log.InfoContext(ctx, "hook subscriptions created", "tenant", p.TenantID, "profile", p.ID, "count", len(made))
	return &h
}

// storeHook writes h as p's hook (read-modify-write, retried on a concurrent update) unless
// the stored profile's hook is no longer the same hook id. It returns the stored profile.
func (s *Service) storeHook(ctx context.Context, rs store.Runs, p *store.BuildProfile, h *store.Hook) *store.BuildProfile {
	cur := p
	for range 5 {
		if cur.Hook == nil || h == nil || cur.Hook.ID != h.ID {
			return cur
		}
		next := *cur
		hh := *cur.Hook
		hh.URL, hh.Subscriptions, hh.Manual = h.URL, h.Subscriptions, h.Manual
		next.Hook = &hh
		err := rs.UpdateBuildProfile(detach(ctx), &next)
		if err == nil {
			return &next
		}
		if !errors.Is(err, store.ErrStale) {
			s.log.WarnContext(ctx, "could not store the hook's subscriptions", "profile", p.ID, "err", err)
			return cur
		}
		if cur, err = s.store.GetBuildProfile(ctx, p.TenantID, p.ID); err != nil {
			return p
		}
	}
	return cur
}

// subscribe syncs p's subscriptions and stores the outcome; it returns the stored profile.
func (s *Service) subscribe(ctx context.Context, rs store.Runs, p *store.BuildProfile, fresh bool) *store.BuildProfile {
	h := s.syncSubscriptions(ctx, p, fresh)
	if h == nil || slices.Equal(h.Subscriptions, p.Hook.Subscriptions) && h.Manual == p.Hook.Manual && h.URL == p.Hook.URL {
		return p
	}
	s.forgetHookCheck(p.ID)
	return s.storeHook(ctx, rs, p, h)
}

// deleteSubscriptions deletes p's subscriptions in Azure DevOps, best effort: a failure is
// logged and never blocks the caller (a profile or connection delete). o may be nil (opened
// here).
func (s *Service) deleteSubscriptions(ctx context.Context, o *opened, p *store.BuildProfile) {
	if p.Hook == nil || len(p.Hook.Subscriptions) == 0 {
		return
	}
	if o == nil {
		var err error
		if o, err = s.hookClient(ctx, p); err != nil {
			s.log.WarnContext(ctx, "could not delete the hook subscriptions: connection unusable", "profile", p.ID, "err", err)
			return
		}
	}
	for _, sub := range p.Hook.Subscriptions {
		if err := o.client.DeleteSubscription(ctx, sub.ID); err != nil && !errors.Is(err, connections.ErrNotFound) {
			s.log.WarnContext(ctx, "could not delete a hook subscription", "profile", p.ID, "subscription", sub.ID, "err", err)
		}
	}
	s.forgetHookCheck(p.ID)
}

// hookChecks caches the outcome of checkSubscriptions per profile for hookRecheck.
type hookChecks struct {
	mu sync.Mutex
	m  map[string]hookCheck
}

type hookCheck struct {
	at     time.Time
	failed bool
	status map[string]string // subscription id → status seen
}

var hookCheckCache = &hookChecks{m: map[string]hookCheck{}}

func (s *Service) forgetHookCheck(profileID string) {
	hookCheckCache.mu.Lock()
	delete(hookCheckCache.m, s.clones.instance+"/"+profileID)
	hookCheckCache.mu.Unlock()
}

// cachedHookCheck is the last checkSubscriptions outcome of this instance, if any.
func (s *Service) cachedHookCheck(profileID string) (bool, map[string]string) {
	hookCheckCache.mu.Lock()
	defer hookCheckCache.mu.Unlock()
	c := hookCheckCache.m[s.clones.instance+"/"+profileID]
	return c.failed, c.status
}

// checkSubscriptions reads p's subscriptions (GET …/hooks/subscriptions/{id}) and repairs one
// Azure DevOps disabled after failed deliveries (disabledBySystem) or put on probation
// (onProbation) by replacing it with status enabled (Subscriptions_Replace, the password
// unsealed and sent again since answers mask it). A subscription deleted in Azure DevOps is
// reported with status "deleted" (recreateDeleted makes it again). It reports whether some subscription stays disabled or on probation (the
// state "failing") and the statuses seen. The outcome is cached for a minute per profile, so
// a GET of the profile costs at most one round of calls a minute.
func (s *Service) checkSubscriptions(ctx context.Context, p *store.BuildProfile) (failing bool, status map[string]string) {
	key := s.clones.instance + "/" + p.ID
	hookCheckCache.mu.Lock()
	c, ok := hookCheckCache.m[key]
	hookCheckCache.mu.Unlock()
	if ok && s.now().Sub(c.at) < hookRecheck {
		return c.failed, c.status
	}
	c = hookCheck{at: s.now(), status: map[string]string{}}
	defer func() {
		hookCheckCache.mu.Lock()
		hookCheckCache.m[key] = c
		hookCheckCache.mu.Unlock()
	}()
	o, err := s.hookClient(ctx, p)
	if err != nil {
		return false, c.status
	}
	var password []byte
	for _, sub := range p.Hook.Subscriptions {
		got, err := o.client.GetSubscription(ctx, sub.ID)
		if err != nil {
			if errors.Is(err, connections.ErrNotFound) {
				c.status[sub.ID], c.failed = "deleted", true
			}
			continue
		}
		c.status[sub.ID] = got.Status
		if got.Status != azuredevops.SubscriptionDisabledBySystem && got.Status != azuredevops.SubscriptionOnProbation {
			continue
		}
		if password == nil {
			if password, err = s.keyring.Open(p.Hook.SealedPassword, hookAAD(p.TenantID, p.ID, p.Hook.ID)); err != nil {
				c.failed = true
				continue
			}
		}
		want := azuredevops.WebHook(sub.EventType, p.ProjectID, p.RepositoryID, sub.Branch, p.Hook.URL, p.Hook.User, connections.Secret(password))
		want.Status = azuredevops.SubscriptionEnabled
		fixed, err := o.client.ReplaceSubscription(ctx, sub.ID, want)
		if err != nil || fixed.Status != azuredevops.SubscriptionEnabled {
			s.log.WarnContext(ctx, "could not re-enable a hook subscription", "profile", p.ID, "subscription", sub.ID, "err", err)
			c.failed = true
			continue
		}
		s.log.InfoContext(ctx, "hook subscription re-enabled", "profile", p.ID, "subscription", sub.ID, "was", got.Status)
		c.status[sub.ID] = fixed.Status
	}
	return c.failed, c.status
}

// HookEvents are the event types to pick in the manual setup, as Azure DevOps names them
// (learn.microsoft.com/azure/devops/service-hooks/events): Code pushed, Pull request created,
// Pull request updated.
func HookEvents(t *store.Triggers) []string {
	var out []string
	for _, w := range wantedSubs(t) {
		out = append(out, w.eventType)
	}
	return out
}

// HookDelivered answers the manual setup's "did a test delivery arrive" check: the hook's
// last delivery that passed its credential check, and whether it is after since (zero since:
// any delivery). Errors: store.ErrNotFound (also a profile without a hook).
func (s *Service) HookDelivered(ctx context.Context, tenant, id string, since time.Time) (bool, *time.Time, error) {
	rs, err := s.runs()
	if err != nil {
		return false, nil, err
	}
	p, err := s.store.GetBuildProfile(ctx, tenant, id)
	if err != nil {
		return false, nil, err
	}
	if p.Hook == nil {
		return false, nil, store.ErrNotFound
	}
	ref, err := rs.HookByID(ctx, p.Hook.ID)
	if err != nil {
		return false, nil, err
	}
	if ref.LastDeliveryAt == nil {
		return false, nil, nil
	}
	return !ref.LastDeliveryAt.Before(since), ref.LastDeliveryAt, nil
}

// recreateDeleted creates again the subscriptions of p that a check found deleted in Azure
// DevOps (status "deleted"), storing the new ids; it returns the stored profile and true when
// it changed something.
func (s *Service) recreateDeleted(ctx context.Context, p *store.BuildProfile, status map[string]string) (*store.BuildProfile, bool) {
	var left []store.HookSubscription
	for _, sub := range p.Hook.Subscriptions {
		if status[sub.ID] != "deleted" {
			left = append(left, sub)
		}
	}
	if len(left) == len(p.Hook.Subscriptions) {
		return p, false
	}
	rs, err := s.runs()
	if err != nil {
		return p, false
	}
	q := *p
	h := *p.Hook
	h.Subscriptions = left
	q.Hook = &h
	out := s.subscribe(ctx, rs, &q, false)
	s.forgetHookCheck(p.ID)
	return out, true
}
