package services

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// Token lifecycle timings.
const (
	// refreshAhead: an access token this close to its expiry is refreshed before use.
	refreshAhead = 5 * time.Minute
	// freshFor: a token minted this recently is "freshly minted": a 401 TF400813 to it means
	// the organization policy is off, not that the token went stale (docs/azure-devops-protocol.md §6).
	freshFor = 2 * time.Minute
	// refreshLockTTL bounds how long one instance may hold a connection's refresh lock.
	refreshLockTTL = time.Minute
	// refreshBudget bounds one refresh, retries included.
	refreshBudget = 45 * time.Second
)

// tokenPair is the sealed credential of an OAuth connection.
type tokenPair struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// sealTokens seals t into rec (credential and token metadata).
func (s *Service) sealTokens(rec *store.Connection, t *azuredevops.Token) error {
	b, err := json.Marshal(tokenPair{Access: t.Access.Reveal(), Refresh: t.Refresh.Reveal()})
	if err != nil {
		return err
	}
	sealed, err := s.keyring.Seal(b, credentialAAD(rec.TenantID, rec.ID))
	if err != nil {
		return err
	}
	rec.SealedCredential = sealed
	// Dated by the service's clock from the answer's expires_in; an hour when not given.
	rec.OAuth.TokenIssuedAt = s.now().UTC()
	life := t.Lifetime
	if life <= 0 {
		life = time.Hour
	}
	rec.OAuth.TokenExpiry = rec.OAuth.TokenIssuedAt.Add(life)
	return nil
}

// openTokens unseals rec's token pair; ok false when the connection holds none.
func (s *Service) openTokens(rec *store.Connection) (tokenPair, bool, error) {
	var p tokenPair
	if len(rec.SealedCredential) == 0 {
		return p, false, nil
	}
	plain, err := s.keyring.Open(rec.SealedCredential, credentialAAD(rec.TenantID, rec.ID))
	if err != nil {
		return p, false, err
	}
	if err := json.Unmarshal(plain, &p); err != nil {
		return p, false, err
	}
	return p, p.Access != "", nil
}

// notAuthorized is the error of using an OAuth connection that holds no usable token.
func notAuthorized(rec *store.Connection) error {
	msg := "the connection is not authorized yet: finish the sign-in, or start it again with POST /api/v1/connections/" + rec.ID + "/authorize"
	if rec.StatusMessage != "" && rec.Status != StatusAuthorized {
		msg = rec.StatusMessage
	}
	return connections.Errorf(connections.ErrUnauthorized, connections.Reason(cmp.Or(rec.Status, StatusNotAuthorized)), "%s", msg)
}

// accessToken returns a usable access token of an OAuth connection: the stored one while it is
// more than refreshAhead from expiry, else a refreshed one (see refresh). stale, when set, is
// an access token Azure DevOps has just refused: it is refreshed even if not expired.
func (s *Service) accessToken(ctx context.Context, rec *store.Connection, stale string) (string, *store.Connection, error) {
	p, ok, err := s.openTokens(rec)
	if err != nil {
		return "", rec, err
	}
	if !ok {
		return "", rec, notAuthorized(rec)
	}
	if stale == "" && s.now().Add(refreshAhead).Before(rec.OAuth.TokenExpiry) {
		return p.Access, rec, nil
	}
	if stale == "" {
		stale = p.Access
	}
	return s.refresh(ctx, rec.TenantID, rec.ID, stale)
}

// refreshed is what one refresh flight hands to every caller that joined it.
type refreshed struct {
	access string
	rec    *store.Connection
}

// refresh replaces the connection's token pair, once per connection at a time: concurrent
// callers in this process share one flight (singleflight), and the flight holds the store's
// lock for the connection, so instances sharing the store refresh one after another. Inside,
// the record is read again: when another flight already replaced the stale token, its token
// is used and no request is made. The new pair is sealed and written to the store before the
// new access token is handed out (the old refresh token is dead once Azure DevOps answered).
// Transient failures are retried with exponential backoff within refreshBudget; a permanent
// one moves the connection to needs_reauth with the provider's reason.
func (s *Service) refresh(ctx context.Context, tenant, id, stale string) (string, *store.Connection, error) {
	ch := s.refreshes.DoChan(tenant+"\x00"+id, func() (any, error) {
		// The flight outlives the first caller's cancellation: others wait on it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshBudget)
		defer cancel()
		v, err := s.refreshLocked(fctx, tenant, id, stale)
		s.observeRefresh(err) // telemetry.go
		return v, err
	})
	select {
	case <-ctx.Done():
		return "", nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return "", nil, r.Err
		}
		v := r.Val.(refreshed)
		return v.access, v.rec, nil
	}
}

func (s *Service) refreshLocked(ctx context.Context, tenant, id, stale string) (refreshed, error) {
	unlock, err := s.store.Lock(ctx, "oauth-refresh/"+tenant+"/"+id, refreshLockTTL)
	if err != nil {
		return refreshed{}, err
	}
	defer func() {
		if err := unlock(context.WithoutCancel(ctx)); err != nil {
			s.log.WarnContext(ctx, "the refresh lock expired while held", "connection", id, "err", err)
		}
	}()
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return refreshed{}, err
	}
	p, ok, err := s.openTokens(rec)
	if err != nil {
		return refreshed{}, err
	}
	if !ok {
		return refreshed{}, notAuthorized(rec)
	}
	if p.Access != stale && s.now().Add(refreshAhead).Before(rec.OAuth.TokenExpiry) {
		return refreshed{access: p.Access, rec: rec}, nil // another flight refreshed it
	}
	if p.Refresh == "" {
		return refreshed{}, s.needsReauth(ctx, rec, connections.Errorf(connections.ErrUnauthorized, connections.ReasonNoRefreshToken,
			"the connection holds no refresh token; authorize it again"))
	}
	app, err := s.appFor(rec)
	if err != nil {
		return refreshed{}, s.needsReauth(ctx, rec, err)
	}
	hc, err := s.oauthHTTPClient()
	if err != nil {
		return refreshed{}, err
	}
	tok, err := backoff.Retry(ctx, func() (*azuredevops.Token, error) {
		t, err := app.Refresh(ctx, hc, connections.Secret(p.Refresh), rec.OAuth.EntraTenant)
		if err != nil && !azuredevops.IsTransient(err) {
			return nil, backoff.Permanent(err)
		}
		return t, err
	}, backoff.WithBackOff(refreshBackOff()), backoff.WithMaxElapsedTime(refreshBudget))
	if err != nil {
		if azuredevops.IsTransient(err) || ctx.Err() != nil {
			s.log.WarnContext(ctx, "token refresh failed; will try again on next use", "connection", id, "err", err)
			return refreshed{}, err
		}
		return refreshed{}, s.needsReauth(ctx, rec, err)
	}
	// Persist before use; retry the write, since the old refresh token is spent.
	written, err := backoff.Retry(ctx, func() (*store.Connection, error) {
		return s.mutate(ctx, tenant, id, func(r *store.Connection) error {
			if r.OAuth == nil {
				return backoff.Permanent(store.ErrNotFound)
			}
			return s.sealTokens(r, tok)
		})
	}, backoff.WithBackOff(refreshBackOff()), backoff.WithMaxTries(5))
	if err != nil {
		s.log.ErrorContext(ctx, "a refreshed token could not be stored; the connection needs a new authorization", "connection", id, "err", err)
		return refreshed{}, err
	}
	s.log.InfoContext(ctx, "oauth token refreshed", "tenant", tenant, "connection", id, "expires", written.OAuth.TokenExpiry)
	return refreshed{access: tok.Access.Reveal(), rec: written}, nil
}

func refreshBackOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = 200*time.Millisecond, 5*time.Second
	return b
}

// needsReauth records a permanent refresh failure (status needs_reauth with the provider's
// reason and sentence) and returns cause. The tokens are deleted: they cannot be used again.
func (s *Service) needsReauth(ctx context.Context, rec *store.Connection, cause error) error {
	reason, msg := string(connections.ReasonGrantInvalid), "the provider refused the connection's refresh token; authorize the connection again"
	if e := connections.AsError(cause); e != nil {
		reason, msg = string(e.Reason), e.Message
	}
	_, err := s.mutate(context.WithoutCancel(ctx), rec.TenantID, rec.ID, func(r *store.Connection) error {
		r.SealedCredential = nil
		if r.OAuth != nil {
			r.OAuth.TokenExpiry, r.OAuth.TokenIssuedAt = time.Time{}, time.Time{}
		}
		s.setStatus(r, StatusNeedsReauth, reason, msg)
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.WarnContext(ctx, "could not record needs_reauth", "connection", rec.ID, "err", err)
	}
	s.log.WarnContext(ctx, "oauth connection needs a new authorization", "tenant", rec.TenantID, "connection", rec.ID, "reason", reason)
	return cause
}
