package azdosim

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"
)

// OAuthApp is an Azure DevOps OAuth app (docs/azure-devops-protocol.md §6) as registered at
// app.vsaex.visualstudio.com: ClientID (the "App ID"), ClientSecret (the client assertion of
// the token endpoint, which also identifies the app there), Scopes (the registered scope set,
// e.g. "vso.code"; an authorize request must ask for exactly this set) and CallbackURL (the
// redirect_uri, compared exactly).
type OAuthApp struct {
	ClientID, ClientSecret string
	Scopes                 []string
	CallbackURL            string
}

// EntraApp is a Microsoft Entra ID app registration (docs/azure-devops-protocol.md §6): ClientID (the
// application id), ClientSecret (empty = public client, which must not send a secret) and
// RedirectURIs (each compared exactly). NoOfflineAccess withholds offline_access: an
// authorize request asking for it still succeeds, but the grant, the token answer's scope
// and the answer itself lack it, so no refresh token is issued (simulates a tenant or app
// configuration that does not grant it; unconfirmed).
type EntraApp struct {
	ClientID, ClientSecret string
	RedirectURIs           []string
	NoOfflineAccess        bool
}

// TokenStats counts requests to the token endpoints by grant, successful or not: for Azure
// DevOps OAuth, grant_type urn:ietf:params:oauth:grant-type:jwt-bearer (Exchanges) and
// refresh_token (Refreshes); for Entra, authorization_code and refresh_token. Requests with
// another grant_type are not counted.
type TokenStats struct {
	AzureDevOpsExchanges, AzureDevOpsRefreshes, EntraExchanges, EntraRefreshes int64
}

// oauthProvider tells which identity provider issued a code or token.
type oauthProvider int

const (
	providerAzureDevOps oauthProvider = iota + 1
	providerEntra
)

// codeLifetime is how long an authorization code or a consent page stays valid.
const codeLifetime = 10 * time.Minute

// oauthState is the in-memory OAuth data of a Server, guarded by Server.mu. Token values are
// map keys only; they are never logged.
type oauthState struct {
	azdoApps    map[string]*OAuthApp // by client id
	entraApps   map[string]*EntraApp // by client id
	consents    map[string]*pendingConsent
	codes       map[string]*authCode
	access      map[string]*issuedToken
	refresh     map[string]*issuedToken
	deactivated map[string]bool // by userKey
	policy      map[string]bool // by nameKey(org): third-party OAuth allowed
	nonMembers  map[string]bool // by memberKey(org, user): OAuth users not in the organization
	stats       TokenStats
}

func newOAuthState() oauthState {
	return oauthState{
		azdoApps: map[string]*OAuthApp{}, entraApps: map[string]*EntraApp{},
		consents: map[string]*pendingConsent{}, codes: map[string]*authCode{},
		access: map[string]*issuedToken{}, refresh: map[string]*issuedToken{},
		deactivated: map[string]bool{}, policy: map[string]bool{}, nonMembers: map[string]bool{},
	}
}

// grant is what a user consented to: an app of a provider and the granted scopes (as they
// were requested; for Entra with the resource prefix).
type grant struct {
	provider oauthProvider
	clientID string
	user     string // display name of the consenting user
	scopes   []string
}

// pendingConsent is an authorize request waiting on the consent page (user not yet known).
type pendingConsent struct {
	grant
	redirectURI, state, challenge string
	expires                       time.Time
}

// authCode is an authorization code: single use, bound to client and redirect_uri. Azure
// DevOps codes are deleted when redeemed; Entra codes are kept marked redeemed until they
// expire, so that reuse answers AADSTS54005.
type authCode struct {
	grant
	redirectURI, challenge string
	expires                time.Time
	redeemed               bool
}

// issuedToken is an access or refresh token.
type issuedToken struct {
	grant
	secret  string    // Azure DevOps: the client secret the token was minted under
	expires time.Time // access tokens only
	revoked bool      // RevokeAuthorization
}

// tokenState says why a token no longer works.
type tokenState int

const (
	tokenAlive tokenState = iota
	tokenRevoked
	tokenUserDisabled
	tokenSecretRegenerated
)

// randomToken returns 32 random bytes, base64url without padding (43 characters).
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it aborts the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userKey is the map key of a user display name (matched case-insensitively).
func userKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// stateLocked classifies t; the caller holds s.mu.
func (s *Server) stateLocked(t *issuedToken) tokenState {
	switch {
	case t.revoked:
		return tokenRevoked
	case s.oauth.deactivated[userKey(t.user)]:
		return tokenUserDisabled
	case t.provider == providerAzureDevOps:
		app := s.oauth.azdoApps[t.clientID]
		if app == nil || app.ClientSecret != t.secret {
			return tokenSecretRegenerated
		}
	}
	return tokenAlive
}

// expiresIn is the expires_in of token answers: the access-token lifetime in whole seconds
// minus one, as Azure DevOps answers "3599" for an hour (docs/azure-devops-protocol.md §6).
func (s *Server) expiresIn() int64 {
	return max(int64(s.tokenLife/time.Second)-1, 0)
}

// mintLocked issues an access token for g and, when withRefresh, a refresh token; secret is
// the Azure DevOps client secret in use (empty for Entra). The caller holds s.mu.
func (s *Server) mintLocked(g grant, secret string, withRefresh bool) (access, refresh string) {
	access = randomToken()
	g.scopes = append([]string(nil), g.scopes...)
	s.oauth.access[access] = &issuedToken{grant: g, secret: secret, expires: time.Now().Add(s.tokenLife)}
	if withRefresh {
		refresh = s.mintRefreshLocked(g, secret)
	}
	return access, refresh
}

// mintRefreshLocked issues a refresh token for g. The caller holds s.mu.
func (s *Server) mintRefreshLocked(g grant, secret string) string {
	refresh := randomToken()
	g.scopes = append([]string(nil), g.scopes...)
	s.oauth.refresh[refresh] = &issuedToken{grant: g, secret: secret}
	return refresh
}

// newConsentLocked stores pc (valid codeLifetime) and returns its opaque single-use id.
func (s *Server) newConsentLocked(pc *pendingConsent) string {
	id := randomToken()
	pc.expires = time.Now().Add(codeLifetime)
	s.oauth.consents[id] = pc
	return id
}

// takeConsentLocked removes and returns the pending consent id; nil when unknown, used or
// expired.
func (s *Server) takeConsentLocked(id string) *pendingConsent {
	pc := s.oauth.consents[id]
	delete(s.oauth.consents, id)
	if pc == nil || time.Now().After(pc.expires) {
		return nil
	}
	return pc
}

// newCodeLocked issues an authorization code for the accepted consent pc by user.
// Expired codes and consents are dropped on the way.
func (s *Server) newCodeLocked(pc *pendingConsent, user string) string {
	now := time.Now()
	for k, c := range s.oauth.codes {
		if now.After(c.expires) {
			delete(s.oauth.codes, k)
		}
	}
	for k, c := range s.oauth.consents {
		if now.After(c.expires) {
			delete(s.oauth.consents, k)
		}
	}
	code := randomToken()
	g := pc.grant
	g.user = user
	s.oauth.codes[code] = &authCode{grant: g, redirectURI: pc.redirectURI, challenge: pc.challenge,
		expires: time.Now().Add(codeLifetime)}
	return code
}

// dedupe returns the space-separated entries of raw without duplicates, in order.
func dedupe(raw string) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Fields(raw) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// sameSet reports whether a and b hold the same strings, ignoring order and duplicates.
func sameSet(a, b []string) bool {
	as, bs := map[string]bool{}, map[string]bool{}
	for _, x := range a {
		as[x] = true
	}
	for _, x := range b {
		bs[x] = true
	}
	if len(as) != len(bs) {
		return false
	}
	for x := range as {
		if !bs[x] {
			return false
		}
	}
	return true
}
