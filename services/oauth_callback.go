package services

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"
	"unicode"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// Reasons of a refused callback (no connection is changed by these).
const (
	// ReasonStateInvalid: the state is unknown, expired, or was used already.
	ReasonStateInvalid connections.Reason = "state_invalid"
	// ReasonStateOtherTenant: the sign-in was started by another tenant than the caller's.
	ReasonStateOtherTenant connections.Reason = "state_other_tenant"
	// ReasonStateOtherBrowser: the sign-in was started from the pages of another browser.
	ReasonStateOtherBrowser connections.Reason = "state_other_browser"
)

// CallbackInput is what the provider's redirect to /connector/callback carries. CallerTenant
// is the tenant of credentials the request carries (an API key, later a page session), or ""
// for a plain browser redirect.
type CallbackInput struct {
	State            string
	Code             string
	Error            string
	ErrorDescription string
	CallerTenant     string
	// BrowserNonce is the sign-in nonce cookie of the browser, when it has one. A sign-in
	// started from the pages (ReauthorizeInput.BrowserNonce) completes only in the browser
	// holding the same nonce.
	BrowserNonce string
}

// CallbackResult is the connection after the callback, and where to send the browser.
type CallbackResult struct {
	Connection *Connection
	ReturnURL  string
}

// CompleteSignIn finishes a sign-in: it takes the state (single use; expired after StateTTL),
// refuses it when the caller belongs to another tenant than the one that started it, and then
// either records the provider's error (InvalidScope: scope_mismatch with the scopes to
// register; access_denied; others by code) or exchanges the code, refuses a token answer
// without a refresh token, checks the new token with a cheap REST call (401 TF400813 to a
// freshly minted Azure DevOps OAuth token: oauth_policy_disabled, azure-devops.md §6), and
// stores the sealed tokens with the resulting status. A refused state returns a field error
// (state) and leaves the connection unchanged (the state is used up all the same: single use); a processed callback returns the connection in its new status
// and no error.
func (s *Service) CompleteSignIn(ctx context.Context, in CallbackInput) (*CallbackResult, error) {
	if in.State == "" || len(in.State) > 512 {
		return nil, stateError(ReasonStateInvalid, "the callback carries no valid state; start the sign-in again")
	}
	st, err := s.store.TakeOAuthState(detach(ctx), stateKey(in.State))
	if errors.Is(err, store.ErrNotFound) {
		return nil, stateError(ReasonStateInvalid, "this sign-in is unknown, expired (sign-ins last 10 minutes) or was completed already; start it again")
	} else if err != nil {
		return nil, err
	}
	if in.CallerTenant != "" && in.CallerTenant != st.TenantID {
		s.log.WarnContext(ctx, "oauth callback refused: state of another tenant", "tenant", in.CallerTenant)
		return nil, stateError(ReasonStateOtherTenant, "this sign-in was started by another workspace; start it again from your own")
	}
	if st.Binding != "" && (in.BrowserNonce == "" || subtle.ConstantTimeCompare([]byte(nonceHash(in.BrowserNonce)), []byte(st.Binding)) != 1) {
		s.log.WarnContext(ctx, "oauth callback refused: started in another browser", "tenant", st.TenantID)
		return nil, stateError(ReasonStateOtherBrowser, "this sign-in was started in another browser (or its cookies were cleared); start it again from this browser")
	}
	rec, err := s.store.GetConnection(ctx, st.TenantID, st.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, stateError(ReasonStateInvalid, "the connection of this sign-in was deleted meanwhile")
	} else if err != nil {
		return nil, err
	}
	res := &CallbackResult{ReturnURL: st.ReturnURL}
	if in.Error != "" {
		reason, msg := callbackError(rec, in.Error, in.ErrorDescription)
		rec, err = s.signInFailed(ctx, rec, reason, msg)
		if err != nil {
			return nil, err
		}
		res.Connection = s.view(rec)
		return res, nil
	}
	if in.Code == "" {
		rec, err = s.signInFailed(ctx, rec, string(connections.ReasonOAuthError), "the provider's redirect carried neither a code nor an error; authorize again")
		if err != nil {
			return nil, err
		}
		res.Connection = s.view(rec)
		return res, nil
	}
	rec, err = s.exchange(ctx, rec, st, in.Code)
	if err != nil {
		return nil, err
	}
	res.Connection = s.view(rec)
	return res, nil
}

// exchange trades the code, verifies the token and stores the outcome.
func (s *Service) exchange(ctx context.Context, rec *store.Connection, st *store.OAuthState, code string) (*store.Connection, error) {
	app, err := s.appFor(rec)
	if err != nil {
		return s.signInFailed(ctx, rec, reasonOf(err), err.Error())
	}
	var verifier string
	if len(st.SealedVerifier) > 0 {
		plain, err := s.keyring.Open(st.SealedVerifier, stateAAD(st.Key))
		if err != nil {
			return nil, err
		}
		verifier = string(plain)
	}
	hc, err := s.oauthHTTPClient()
	if err != nil {
		return nil, err
	}
	tok, err := app.Exchange(ctx, hc, code, verifier, rec.OAuth.EntraTenant)
	if err != nil {
		s.log.WarnContext(ctx, "oauth code exchange failed", "connection", rec.ID, "err", err)
		return s.signInFailed(ctx, rec, reasonOf(err), err.Error())
	}
	if tok.Refresh.Empty() {
		msg := "Azure DevOps issued no refresh token, so the connection would stop working within the hour; authorize again"
		if app.Provider == azuredevops.ProviderEntra {
			msg = "Microsoft Entra ID issued no refresh token because offline_access was not granted; allow the app the offline_access permission (API permissions, with admin consent where the tenant requires it) and authorize again"
		}
		return s.signInFailed(ctx, rec, string(connections.ReasonNoRefreshToken), msg)
	}
	ep, err := endpointOf(rec)
	if err != nil {
		return nil, err
	}
	opts, err := s.clientOptions("")
	if err != nil {
		return nil, err
	}
	c, err := azuredevops.New(ep, azuredevops.Credential{Bearer: tok.Access, OAuthProvider: app.Provider}, opts)
	if err != nil {
		return nil, err
	}
	check, err := c.CheckToken(ctx)
	if errors.Is(err, connections.ErrRateLimited) || errors.Is(err, connections.ErrUpstreamUnavailable) {
		// Azure DevOps kept failing after retries: keep the new tokens, say why in the status.
		check, err = failedCheck(s.now(), err), nil
	}
	if err != nil {
		return nil, err
	}
	written, err := s.mutate(detach(ctx), rec.TenantID, rec.ID, func(r *store.Connection) error {
		if r.OAuth == nil {
			return store.ErrNotFound
		}
		if err := s.sealTokens(r, tok); err != nil {
			return err
		}
		// A new authorization may grant other scopes or another user: a new catalog.
		r.CatalogGeneration++
		r.CheckedAt = check.CheckedAt
		if check.User != nil {
			r.UserID, r.UserDisplayName = check.User.ID, check.User.DisplayName
		}
		s.setStatus(r, statusOfCheck(check), string(check.Reason), check.Message)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "oauth sign-in completed", "tenant", rec.TenantID, "connection", rec.ID, "status", written.Status)
	return written, nil
}

// statusOfCheck maps a check of an OAuth token to the connection's status.
func statusOfCheck(res *connections.CheckResult) string {
	switch {
	case res.Valid:
		return StatusAuthorized
	case res.Reason == connections.ReasonOAuthPolicyDisabled:
		return StatusOAuthPolicyDisabled
	case res.Reason == connections.ReasonInvalidToken || res.Reason == connections.ReasonForbidden:
		return StatusNeedsReauth
	}
	return StatusNotAuthorized
}

// signInFailed records a failed sign-in: status not_authorized with the reason and sentence;
// the tokens the connection held are deleted, since the user asked to replace them.
func (s *Service) signInFailed(ctx context.Context, rec *store.Connection, reason, msg string) (*store.Connection, error) {
	return s.mutate(detach(ctx), rec.TenantID, rec.ID, func(r *store.Connection) error {
		r.SealedCredential = nil
		if r.OAuth != nil {
			r.OAuth.TokenExpiry, r.OAuth.TokenIssuedAt = time.Time{}, time.Time{}
		}
		s.setStatus(r, StatusNotAuthorized, reason, msg)
		return nil
	})
}

// callbackError turns the provider's error parameters into a reason and a sentence that says
// what to change. InvalidScope names the requested scopes (azure-devops.md §6).
func callbackError(rec *store.Connection, code, desc string) (reason, msg string) {
	desc = printable(desc, 300)
	scopes := strings.Join(rec.OAuth.Scopes, " ")
	switch {
	case code == "InvalidScope" || code == "invalid_scope":
		if rec.OAuth.Provider == azuredevops.ProviderEntra {
			return string(connections.ReasonScopeMismatch), "Microsoft Entra ID refused the requested scopes (" + code + ": " + desc + "); the app registration must be allowed the Azure DevOps delegated permissions " + scopes + " (API permissions > Azure DevOps), then authorize again"
		}
		return string(connections.ReasonScopeMismatch), "Azure DevOps refused the sign-in with InvalidScope: the scopes requested must equal the scopes registered with the OAuth app exactly. This connection requested: " + scopes + ". Give the connection the scopes the app registered (oauth.scopes, then authorize again), or use an app registered with exactly these scopes — a registered app's scopes cannot be changed, and new Azure DevOps OAuth apps cannot be registered since April 2025, so consider a Microsoft Entra ID app"
	case code == "access_denied":
		return string(connections.ReasonAccessDenied), "the consent was declined on the sign-in page; authorize again and accept to connect"
	}
	msg = "the sign-in failed at the provider (" + printable(code, 80)
	if desc != "" {
		msg += ": " + desc
	}
	return string(connections.ReasonOAuthError), msg + "); authorize again"
}

// printable trims s to max runes and drops control characters (the text comes from a URL).
func printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

func reasonOf(err error) string {
	if e := connections.AsError(err); e != nil {
		return string(e.Reason)
	}
	return string(connections.ReasonOAuthError)
}

func stateError(reason connections.Reason, msg string) error {
	e := connections.Errorf(connections.ErrInvalidInput, reason, "%s", msg)
	e.Field = "state"
	return e
}
