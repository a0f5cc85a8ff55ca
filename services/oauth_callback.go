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

// CallbackResult is the connection after the callback, how the sign-in ended, and where to
// send the browser.
type CallbackResult struct {
	Connection *Connection
	Outcome    SignInOutcome
	ReturnURL  string
}

// SignInOutcome is how a sign-in ended. Applied true: the connection took the outcome
// (Status, Reason and Message are its new status). Applied false: a sign-in with new app
// details (store.OAuthState.PendingApp; a new client secret or scopes, the move to Entra)
// failed, and the connection was left as it was, on its previous app with its tokens and
// status; Status, Reason and Message say what the sign-in ended in and what to change, as a
// failed sign-in of the connection's own app would have recorded them.
type SignInOutcome struct {
	Status  string
	Reason  string
	Message string
	Applied bool
}

// Err is the failure of a sign-in that left the connection as it was (Applied false), as a
// connections error of kind ErrUnauthorized carrying Reason and Message (the web layer
// answers 422 with code Reason); nil for an applied outcome.
func (o SignInOutcome) Err() error {
	if o.Applied {
		return nil
	}
	return connections.Errorf(connections.ErrUnauthorized, connections.Reason(o.Reason), "%s", o.Message)
}

// CompleteSignIn finishes a sign-in: it takes the state (single use; expired after StateTTL),
// refuses it when the caller belongs to another tenant than the one that started it, and then
// either records the provider's error (InvalidScope: scope_mismatch with the scopes to
// register; access_denied; others by code) or exchanges the code with the state's app (its
// PendingApp), refuses a token answer without a refresh token, checks the new token with a
// cheap REST call (401 TF400813 to a freshly minted Azure DevOps OAuth token:
// oauth_policy_disabled, docs/azure-devops-protocol.md §6), and stores the sealed tokens, the state's app
// and the resulting status in one write. A refused state returns a field error (state) and
// leaves the connection unchanged (the state is used up all the same: single use); a
// processed callback returns the connection and the outcome, and no error.
//
// When the state's app differs from the connection's (new app details, or another sign-in
// changed the app meanwhile), only a sign-in whose token check passes changes the connection;
// any failure (provider error, access_denied, a refused code, no refresh token, a failing
// token check) leaves it as it was and is reported in the outcome alone (Applied false). A
// failed sign-in of the connection's own app deletes its tokens (the user asked to replace
// them) and moves it to not_authorized, as before. Of two sign-ins in flight, the one that
// completes last wins.
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
	if errors.Is(err, store.ErrNotFound) || (err == nil && rec.OAuth == nil) {
		return nil, stateError(ReasonStateInvalid, "the connection of this sign-in was deleted meanwhile")
	} else if err != nil {
		return nil, err
	}
	si := &signIn{st: st, rec: rec, app: st.PendingApp}
	if si.app == nil {
		si.app = appDetails(rec.OAuth) // a state stored before PendingApp existed
	}
	si.pending = !sameApp(si.app, rec.OAuth)
	switch {
	case in.Error != "":
		reason, msg := callbackError(si.app, in.Error, in.ErrorDescription)
		err = s.signInFailed(ctx, si, StatusNotAuthorized, reason, msg)
	case in.Code == "":
		err = s.signInFailed(ctx, si, StatusNotAuthorized, string(connections.ReasonOAuthError), "the provider's redirect carried neither a code nor an error; authorize again")
	default:
		err = s.exchange(ctx, si, in.Code)
	}
	if err != nil {
		return nil, err
	}
	return &CallbackResult{Connection: s.view(si.rec), Outcome: si.outcome, ReturnURL: st.ReturnURL}, nil
}

// signIn is one callback in progress: the taken state, the connection as read (then as
// written), the app the sign-in used, whether that app is new to the connection, and the
// outcome once known.
type signIn struct {
	st      *store.OAuthState
	rec     *store.Connection
	app     *store.OAuthDetails
	pending bool
	outcome SignInOutcome
}

// exchange trades the code with the sign-in's app, verifies the token and stores the outcome.
func (s *Service) exchange(ctx context.Context, si *signIn, code string) error {
	rec := si.rec
	app, err := s.appOf(rec.TenantID, rec.ID, si.app)
	if err != nil {
		return s.signInFailed(ctx, si, StatusNotAuthorized, reasonOf(err), err.Error())
	}
	var verifier string
	if len(si.st.SealedVerifier) > 0 {
		plain, err := s.keyring.Open(si.st.SealedVerifier, stateAAD(si.st.Key))
		if err != nil {
			return err
		}
		verifier = string(plain)
	}
	hc, err := s.oauthHTTPClient()
	if err != nil {
		return err
	}
	tok, err := app.Exchange(ctx, hc, code, verifier, si.app.EntraTenant)
	if err != nil {
		s.log.WarnContext(ctx, "oauth code exchange failed", "connection", rec.ID, "err", err)
		return s.signInFailed(ctx, si, StatusNotAuthorized, reasonOf(err), err.Error())
	}
	if tok.Refresh.Empty() {
		msg := "Azure DevOps issued no refresh token, so the connection would stop working within the hour; authorize again"
		if app.Provider == azuredevops.ProviderEntra {
			msg = "Microsoft Entra ID issued no refresh token because offline_access was not granted; allow the app the offline_access permission (API permissions, with admin consent where the tenant requires it) and authorize again"
		}
		return s.signInFailed(ctx, si, StatusNotAuthorized, string(connections.ReasonNoRefreshToken), msg)
	}
	ep, err := endpointOf(rec)
	if err != nil {
		return err
	}
	opts, err := s.clientOptions("")
	if err != nil {
		return err
	}
	c, err := azuredevops.New(ep, azuredevops.Credential{Bearer: tok.Access, OAuthProvider: app.Provider}, opts)
	if err != nil {
		return err
	}
	check, err := c.CheckToken(ctx)
	if errors.Is(err, connections.ErrRateLimited) || errors.Is(err, connections.ErrUpstreamUnavailable) {
		// Azure DevOps kept failing after retries: keep the new tokens, say why in the status.
		check, err = failedCheck(s.now(), err), nil
	}
	if err != nil {
		return err
	}
	if si.pending && !check.Valid {
		// New app details whose token does not pass: the connection stays on its app.
		return s.signInFailed(ctx, si, statusOfCheck(check), string(check.Reason), check.Message)
	}
	written, err := s.mutate(detach(ctx), rec.TenantID, rec.ID, func(r *store.Connection) error {
		if r.OAuth == nil {
			return store.ErrNotFound
		}
		// The sign-in's app and its tokens reach the connection together.
		setApp(r.OAuth, si.app)
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
		return err
	}
	si.rec = written
	si.outcome = SignInOutcome{Status: written.Status, Reason: written.StatusReason, Message: written.StatusMessage, Applied: true}
	s.log.InfoContext(ctx, "oauth sign-in completed", "tenant", rec.TenantID, "connection", rec.ID, "status", written.Status,
		"provider", si.app.Provider, "newApp", si.pending)
	return nil
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

// signInFailed records a failed sign-in. For a sign-in of the connection's own app: status
// not_authorized (status is ignored) with the reason and sentence, and the tokens the
// connection held deleted, since the user asked to replace them. For a sign-in with new app
// details (si.pending): nothing is written; the connection keeps its app, tokens and status,
// and the outcome alone carries status, reason and sentence.
func (s *Service) signInFailed(ctx context.Context, si *signIn, status, reason, msg string) error {
	if si.pending {
		s.log.WarnContext(ctx, "oauth sign-in with new app details failed; the connection keeps its app", "tenant", si.rec.TenantID,
			"connection", si.rec.ID, "provider", si.app.Provider, "reason", reason)
		si.outcome = SignInOutcome{Status: status, Reason: reason, Message: msg}
		return nil
	}
	written, err := s.mutate(detach(ctx), si.rec.TenantID, si.rec.ID, func(r *store.Connection) error {
		r.SealedCredential = nil
		if r.OAuth != nil {
			r.OAuth.TokenExpiry, r.OAuth.TokenIssuedAt = time.Time{}, time.Time{}
		}
		s.setStatus(r, StatusNotAuthorized, reason, msg)
		return nil
	})
	if err != nil {
		return err
	}
	si.rec = written
	si.outcome = SignInOutcome{Status: written.Status, Reason: written.StatusReason, Message: written.StatusMessage, Applied: true}
	return nil
}

// callbackError turns the provider's error parameters into a reason and a sentence that says
// what to change. InvalidScope names the scopes app (the app the sign-in used) requested
// (docs/azure-devops-protocol.md §6).
func callbackError(app *store.OAuthDetails, code, desc string) (reason, msg string) {
	desc = printable(desc, 300)
	scopes := strings.Join(app.Scopes, " ")
	switch {
	case code == "InvalidScope" || code == "invalid_scope":
		if app.Provider == azuredevops.ProviderEntra {
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
