package services

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// ReauthorizeInput restarts the sign-in of an OAuth connection, optionally with new app
// details or scopes (a new client secret after a regeneration, the scopes the app registered).
type ReauthorizeInput struct {
	OAuth     *OAuthAppInput `json:"oauth,omitempty"`
	ReturnURL string         `json:"returnUrl,omitempty"`
	// BrowserNonce binds the sign-in to the browser holding it (see CallbackInput); set by
	// the web pages, never read from JSON.
	BrowserNonce string `json:"-"`
}

// createOAuthConnection validates a services-oauth input, asks the organization (without
// credentials) for its Entra tenant, which also tells a mistyped organization, stores the
// connection as not_authorized and starts the sign-in. The answer carries the authorization
// URL. Errors: field errors (organization, oauth.*, returnUrl, name), ErrNotFound
// (organization), ErrUnreachable/ErrTLS; nothing is stored on error.
func (s *Service) createOAuthConnection(ctx context.Context, tenant, name string, in ConnectionInput) (*Connection, error) {
	if !in.PAT.Empty() {
		return nil, invalid("pat", "a services-oauth connection signs in instead of using a PAT: leave pat empty, or use type services-pat")
	}
	if in.CACertificate != "" {
		return nil, invalid("caCertificate", "Azure DevOps Services needs no CA certificate; leave caCertificate empty")
	}
	org, err := organizationOf(in)
	if err != nil {
		return nil, err
	}
	ep, err := s.servicesEndpoint(org)
	if err != nil {
		return nil, err
	}
	if err := s.checkReturnURL(in.ReturnURL); err != nil {
		return nil, err
	}
	id := newID()
	d := &store.OAuthDetails{}
	if err := s.applyApp(tenant, id, in.OAuth, d); err != nil {
		return nil, err
	}
	if err := s.nameFree(ctx, tenant, name); err != nil {
		return nil, err
	}
	hc, err := s.oauthHTTPClient()
	if err != nil {
		return nil, err
	}
	if d.EntraTenant, err = azuredevops.DiscoverTenant(ctx, hc, ep); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	rec := &store.Connection{ID: id, TenantID: tenant, Name: name, Type: TypeServicesOAuth,
		ServerURL: ep.ServerURL(), VirtualDirectory: ep.VirtualDirectory, Collection: ep.Collection,
		CreatedAt: now, UpdatedAt: now, OAuth: d}
	s.setStatus(rec, StatusNotAuthorized, ReasonAuthorizationPending, "sign in at the authorization URL to finish connecting")
	if err := s.store.CreateConnection(detach(ctx), rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, nameTaken(name)
		}
		return nil, err
	}
	v, err := s.startSignIn(ctx, rec, appDetails(d), in.ReturnURL, in.BrowserNonce)
	if err != nil {
		// No half-written record: a connection whose sign-in cannot start is removed again.
		if derr := s.store.DeleteConnection(detach(ctx), tenant, id); derr != nil {
			s.log.WarnContext(ctx, "could not remove a connection whose sign-in failed to start", "connection", id, "err", derr)
		}
		return nil, err
	}
	s.log.InfoContext(ctx, "oauth connection created", "tenant", tenant, "connection", id, "provider", d.Provider, "organization", org)
	return v, nil
}

// Authorize starts a new sign-in for an OAuth connection (the re-authorize action), with new
// app details or scopes when given (in.OAuth: a new client id or secret, other scopes, or the
// move to Microsoft Entra ID, for which it first asks the organization for its Entra tenant).
// The new app details are validated here (field errors, nothing stored on bad input) and
// travel with the pending sign-in (store.OAuthState.PendingApp, the client secret sealed):
// the authorization URL is the new app's, but the connection record is not touched. The
// connection keeps its app, status and tokens until a callback of this sign-in succeeds, which
// writes the new app and the new tokens together; a sign-in that fails or is abandoned leaves
// it on its app. The answer is the connection as it is (its current app) with the
// authorization URL. Errors: store.ErrNotFound; field errors (oauth.*, returnUrl);
// ErrInvalidInput (type) for a PAT connection; ErrUnreachable/ErrTLS from the tenant look-up.
func (s *Service) Authorize(ctx context.Context, tenant, id string, in ReauthorizeInput) (*Connection, error) {
	if err := s.checkReturnURL(in.ReturnURL); err != nil {
		return nil, err
	}
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if rec.OAuth == nil {
		return nil, invalid("type", "only services-oauth connections sign in; give a PAT connection a new PAT by creating the connection again")
	}
	app := appDetails(rec.OAuth)
	if in.OAuth != nil {
		if in.OAuth.Provider == azuredevops.ProviderEntra && rec.OAuth.Provider != azuredevops.ProviderEntra {
			// The move from an Azure DevOps OAuth app to Entra (legacyoauth.go).
			if app.EntraTenant, err = s.entraTenantFor(ctx, rec); err != nil {
				return nil, err
			}
		}
		if err := s.applyApp(tenant, id, in.OAuth, app); err != nil {
			return nil, err
		}
	}
	return s.startSignIn(ctx, rec, app, in.ReturnURL, in.BrowserNonce)
}

// startSignIn stores a new single-use state (its SHA-256 only, bound to the tenant and the
// connection, expiring after StateTTL, with the PKCE verifier sealed and app, the app details
// the sign-in uses, as its PendingApp) and returns the view of rec with the authorization URL
// of app to send the browser to.
func (s *Service) startSignIn(ctx context.Context, rec *store.Connection, app *store.OAuthDetails, returnURL, browserNonce string) (*Connection, error) {
	oa, err := s.appOf(rec.TenantID, rec.ID, app)
	if err != nil {
		return nil, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	state := base64.RawURLEncoding.EncodeToString(raw[:])
	authURL, verifier := oa.AuthCodeURL(state, app.EntraTenant)
	ttl := s.opts.OAuth.StateTTL
	if ttl <= 0 {
		ttl = DefaultStateTTL
	}
	now := s.now().UTC()
	st := &store.OAuthState{Key: stateKey(state), TenantID: rec.TenantID, ConnectionID: rec.ID,
		ReturnURL: returnURL, PendingApp: app, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if browserNonce != "" {
		st.Binding = nonceHash(browserNonce)
	}
	if verifier != "" {
		if st.SealedVerifier, err = s.keyring.Seal([]byte(verifier), stateAAD(st.Key)); err != nil {
			return nil, err
		}
	}
	if err := s.store.PutOAuthState(detach(ctx), st); err != nil {
		return nil, err
	}
	v := s.view(rec)
	v.AuthorizationURL, v.AuthorizationExpiresAt = authURL, &st.ExpiresAt
	return v, nil
}

// Deauthorize deletes an OAuth connection's tokens (a local revocation: Azure DevOps offers
// no API to revoke an app's token; the user can revoke the app's consent in their profile)
// and moves it to not_authorized (reason deauthorized). Errors: store.ErrNotFound; a PAT
// connection is a field error (type).
func (s *Service) Deauthorize(ctx context.Context, tenant, id string) (*Connection, error) {
	rec, err := s.mutate(ctx, tenant, id, func(r *store.Connection) error {
		if r.OAuth == nil {
			return invalid("type", "only services-oauth connections can be deauthorized; delete a PAT connection instead")
		}
		r.SealedCredential = nil
		r.OAuth.TokenExpiry, r.OAuth.TokenIssuedAt = time.Time{}, time.Time{}
		s.setStatus(r, StatusNotAuthorized, ReasonDeauthorized, "the connection was deauthorized and its tokens deleted; authorize it again to use it")
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "oauth connection deauthorized", "tenant", tenant, "connection", id)
	return s.view(rec), nil
}

// StatusHistory returns a connection's recent status changes, oldest first.
func (s *Service) StatusHistory(ctx context.Context, tenant, id string) ([]store.StatusChange, error) {
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return rec.StatusHistory, nil
}

// stateKey is the stored key of a state value: hex SHA-256.
// nonceHash is what a state keeps of a browser's sign-in nonce: its SHA-256, hex.
func nonceHash(nonce string) string { return stateKey("browser-nonce:" + nonce) }

func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// stateAAD binds a sealed PKCE verifier to its state.
func stateAAD(key string) []byte { return []byte("oauth-state/" + key) }

// oauthView renders the OAuth details of rec.
func (s *Service) oauthView(rec *store.Connection) *OAuthView {
	d := rec.OAuth
	v := &OAuthView{Provider: d.Provider, Scopes: d.Scopes, DefaultApp: d.ClientID == "", ClientID: d.ClientID,
		EntraTenant: d.EntraTenant, ClientSecretExpiresAt: s.secretExpiry(rec)}
	if !d.TokenExpiry.IsZero() {
		t := d.TokenExpiry
		v.TokenExpiresAt = &t
	}
	return v
}

// secretExpiry is the expiry of the client secret rec signs in with, when known.
func (s *Service) secretExpiry(rec *store.Connection) *time.Time {
	if rec.OAuth.ClientID != "" {
		return rec.OAuth.ClientSecretExpiry
	}
	if t := s.opts.OAuth.ClientSecretExpiry; !t.IsZero() {
		return &t
	}
	return nil
}

// secretWarnings warns SecretExpiryWarning (14 days) before the app's client secret expires,
// and once it has.
func (s *Service) secretWarnings(rec *store.Connection) []connections.Warning {
	exp := s.secretExpiry(rec)
	if exp == nil {
		return nil
	}
	left := exp.Sub(s.now())
	who := "the operator (REPOCONNECT_OAUTH_CLIENT_SECRET)"
	if rec.OAuth.ClientID != "" {
		who = "POST /api/v1/connections/" + rec.ID + "/authorize with oauth.clientSecret"
	}
	switch {
	case left <= 0:
		return []connections.Warning{{Code: "client_secret_expired", Message: "the OAuth app's client secret expired on " +
			exp.UTC().Format("2006-01-02") + "; token refreshes will fail: create a new secret for the app and give it through " + who}}
	case left <= SecretExpiryWarning:
		return []connections.Warning{{Code: "client_secret_expiring", Message: "the OAuth app's client secret expires on " +
			exp.UTC().Format("2006-01-02") + " (in " + daysLeft(left) + "); create a new secret for the app and give it through " + who}}
	}
	return nil
}

func daysLeft(d time.Duration) string {
	days := int(d.Hours() / 24)
	switch days {
	case 0:
		return "less than a day"
	case 1:
		return "1 day"
	}
	return strconv.Itoa(days) + " days"
}

// appDetails returns a deep copy of the app fields of d (provider, scopes, Entra tenant,
// client id, sealed client secret and its expiry, callback URL), token fields zero: the
// PendingApp a sign-in carries in its state (store.OAuthState).
func appDetails(d *store.OAuthDetails) *store.OAuthDetails {
	a := &store.OAuthDetails{Provider: d.Provider, Scopes: slices.Clone(d.Scopes), EntraTenant: d.EntraTenant,
		ClientID: d.ClientID, SealedClientSecret: bytes.Clone(d.SealedClientSecret), CallbackURL: d.CallbackURL}
	if d.ClientSecretExpiry != nil {
		t := *d.ClientSecretExpiry
		a.ClientSecretExpiry = &t
	}
	return a
}

// setApp writes the app fields of app into d, keeping d's token fields: the one place a
// sign-in's app reaches a connection (in the mutation that also stores its tokens).
func setApp(d, app *store.OAuthDetails) {
	a := appDetails(app)
	a.TokenExpiry, a.TokenIssuedAt = d.TokenExpiry, d.TokenIssuedAt
	*d = *a
}

// sameApp reports whether a and b name the same app with the same scopes and secret. A secret
// sealed again is another secret here (sealing is randomized), which errs on the safe side: a
// failed sign-in with it leaves the connection as it was.
func sameApp(a, b *store.OAuthDetails) bool {
	return a.Provider == b.Provider && a.ClientID == b.ClientID && a.CallbackURL == b.CallbackURL &&
		a.EntraTenant == b.EntraTenant && slices.Equal(a.Scopes, b.Scopes) &&
		bytes.Equal(a.SealedClientSecret, b.SealedClientSecret) &&
		(a.ClientSecretExpiry == nil) == (b.ClientSecretExpiry == nil) &&
		(a.ClientSecretExpiry == nil || a.ClientSecretExpiry.Equal(*b.ClientSecretExpiry))
}
