package services

import (
	"context"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// CheckConnection runs the token check of a stored connection and records its outcome in the
// connection's status and check time. For an OAuth connection the access token is refreshed
// first when it is about to expire; when the check fails with TF400813 or 401 on a token that
// is not freshly minted, the token is refreshed once and the check repeated, so
// oauth_policy_disabled is only reported for a fresh token (docs/azure-devops-protocol.md §6). A connection
// that holds no token (not authorized, or needs_reauth) gives a failed result naming its
// status, not an error. Errors: store.ErrNotFound; a cancelled context.
// Each call counts against the tenant's ActionCheckToken budget (*RateLimitedError past it).
func (s *Service) CheckConnection(ctx context.Context, tenant, id string) (*connections.CheckResult, error) {
	if err := s.allow(ctx, tenant, ActionCheckToken); err != nil {
		return nil, err
	}
	return s.checkConnection(ctx, tenant, id)
}

// checkConnection is CheckConnection without the rate limit (CheckToken counted already).
func (s *Service) checkConnection(ctx context.Context, tenant, id string) (*connections.CheckResult, error) {
	ctx = connKey(ctx, id)
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if rec.OAuth == nil {
		o, err := s.open(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		res, err := o.client.CheckToken(ctx)
		if err != nil {
			return nil, err
		}
		status := o.rec.Status // unreachable, TLS, ...: say so in the result, keep the status
		switch {
		case res.Valid:
			status = StatusAuthorized
		case res.Reason == connections.ReasonInvalidToken || res.Reason == connections.ReasonForbidden:
			status = StatusInvalidToken
		}
		s.recordCheck(ctx, o.rec, res, status)
		return res, nil
	}
	access, rec, err := s.accessToken(ctx, rec, "")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return failedCheck(s.now(), err), nil
	}
	o, err := s.openWith(rec, azuredevops.Credential{Bearer: connections.Secret(access), OAuthProvider: rec.OAuth.Provider})
	if err != nil {
		return nil, err
	}
	res, err := o.client.CheckToken(ctx)
	if err != nil {
		return nil, err
	}
	if !res.Valid && !s.fresh(o) && (res.Reason == connections.ReasonOAuthPolicyDisabled || res.Reason == connections.ReasonInvalidToken) {
		access, rec, err = s.accessToken(ctx, rec, access)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return failedCheck(s.now(), err), nil
		}
		if o, err = s.openWith(rec, azuredevops.Credential{Bearer: connections.Secret(access), OAuthProvider: rec.OAuth.Provider}); err != nil {
			return nil, err
		}
		if res, err = o.client.CheckToken(ctx); err != nil {
			return nil, err
		}
	}
	status := statusOfCheck(res)
	if status == StatusNotAuthorized {
		status = rec.Status // unreachable, TLS, throttled: say so in the result, keep the status
	}
	s.recordCheck(ctx, rec, res, status)
	return res, nil
}

// recordCheck writes a check's time, user and resulting status into the connection.
func (s *Service) recordCheck(ctx context.Context, rec *store.Connection, res *connections.CheckResult, status string) {
	_, err := s.mutate(detach(ctx), rec.TenantID, rec.ID, func(r *store.Connection) error {
		r.CheckedAt = res.CheckedAt
		if res.User != nil {
			r.UserID, r.UserDisplayName = res.User.ID, res.User.DisplayName
		}
		if status == StatusNeedsReauth {
			r.SealedCredential = nil
		}
		reason, msg := string(res.Reason), res.Message
		if status == r.Status && status != StatusAuthorized && res.Valid {
			reason, msg = r.StatusReason, r.StatusMessage
		}
		s.setStatus(r, status, reason, msg)
		return nil
	})
	if err != nil {
		s.log.WarnContext(ctx, "could not record a check", "connection", rec.ID, "err", err)
	}
}

// failedCheck is the result of a check that could not get a token.
func failedCheck(now time.Time, err error) *connections.CheckResult {
	res := &connections.CheckResult{Reason: connections.ReasonInvalidToken, Message: err.Error(), CheckedAt: now.UTC()}
	if e := connections.AsError(err); e != nil {
		res.Reason = e.Reason
	}
	res.Steps = []connections.CheckStep{{Name: azuredevops.StepAuthenticate, OK: false, Message: res.Message}}
	return res
}
