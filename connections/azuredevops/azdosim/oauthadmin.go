package azdosim

import (
	"fmt"
	"net/url"
	"time"
)

// Path prefixes of the identity providers on the simulator's host: /_vssps stands in for
// https://app.vssps.visualstudio.com (Azure DevOps OAuth apps), /_entra for
// https://login.microsoftonline.com (Microsoft Entra ID).
const (
	vsspsPrefix = "_vssps"
	entraPrefix = "_entra"
)

// origin is scheme://host of the listen address after Start ("" before).
func (s *Server) origin() string {
	u, err := url.Parse(s.URL())
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// AzureDevOpsOAuthURL returns the base of the Azure DevOps OAuth endpoints after Start, e.g.
// "http://127.0.0.1:43121/_vssps" (no virtual directory, no trailing slash): authorize is
// base+"/oauth2/authorize", token base+"/oauth2/token" (docs/azure-devops-protocol.md §6). Empty before
// Start (when only Handler is used, the endpoints are at the serving host's /_vssps). The
// endpoints are served in both modes, but Server mode refuses Bearer tokens.
func (s *Server) AzureDevOpsOAuthURL() string {
	if o := s.origin(); o != "" {
		return o + "/" + vsspsPrefix
	}
	return ""
}

// EntraAuthorityURL returns the base of the Microsoft Entra endpoints after Start, e.g.
// "http://127.0.0.1:43121/_entra": authorize is base+"/{tenant}/oauth2/v2.0/authorize",
// token base+"/{tenant}/oauth2/v2.0/token", where {tenant} is TenantID(), "organizations" or
// "common" (docs/azure-devops-protocol.md §6). Empty before Start.
func (s *Server) EntraAuthorityURL() string {
	if o := s.origin(); o != "" {
		return o + "/" + entraPrefix
	}
	return ""
}

// RegisterOAuthApp registers an Azure DevOps OAuth app, replacing one with the same ClientID
// (tokens minted under a different former secret then stop working, as after
// RegenerateClientSecret). Safe while serving.
func (s *Server) RegisterOAuthApp(app OAuthApp) {
	app.Scopes = append([]string(nil), app.Scopes...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.azdoApps[app.ClientID] = &app
}

// RegisterEntraApp registers a Microsoft Entra app, replacing one with the same ClientID.
// Safe while serving.
func (s *Server) RegisterEntraApp(app EntraApp) {
	app.RedirectURIs = append([]string(nil), app.RedirectURIs...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.entraApps[app.ClientID] = &app
}

// RegenerateClientSecret gives the app clientID a new random client secret and returns it;
// the old secret stops working at once (token requests with it answer 401 invalid_client).
// For an Azure DevOps OAuth app every access and refresh token minted under the old secret
// stops working too (docs/azure-devops-protocol.md §6: access → 401 as an unknown token, refresh → 400
// invalid_grant "secret was regenerated"); Entra tokens keep working. Error: unknown client.
func (s *Server) RegenerateClientSecret(clientID string) (newSecret string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.oauth.azdoApps[clientID], s.oauth.entraApps[clientID]
	if a == nil && e == nil {
		return "", fmt.Errorf("azdosim: unknown OAuth client %q", clientID)
	}
	newSecret = randomToken()
	if a != nil {
		a.ClientSecret = newSecret
	}
	if e != nil {
		e.ClientSecret = newSecret
	}
	return newSecret, nil
}

// RevokeAuthorization revokes the consent userName (display name, case-insensitive) gave to
// the app clientID, as a user does under "Authorizations" in their profile: all access and
// refresh tokens and unredeemed codes of that consent stop working (access → 401 as an
// unknown token; refresh → 400 invalid_grant "authorization revoked", for Entra AADSTS50173).
// The user may consent again later. Error: unknown client.
func (s *Server) RevokeAuthorization(clientID, userName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oauth.azdoApps[clientID] == nil && s.oauth.entraApps[clientID] == nil {
		return fmt.Errorf("azdosim: unknown OAuth client %q", clientID)
	}
	match := func(g grant) bool { return g.clientID == clientID && userKey(g.user) == userKey(userName) }
	for _, m := range []map[string]*issuedToken{s.oauth.access, s.oauth.refresh} {
		for _, t := range m {
			if match(t.grant) {
				t.revoked = true
			}
		}
	}
	for k, c := range s.oauth.codes {
		if match(c.grant) {
			delete(s.oauth.codes, k)
		}
	}
	return nil
}

// DeactivateUser deactivates the user userName (display name, case-insensitive) in every
// organization and the tenant: every OAuth token of that user stops working (access → 401;
// refresh and code redemption → 400 invalid_grant, for Entra "AADSTS50057: The user account
// is disabled.") and the consent page refuses them (access_denied). PATs are not affected.
func (s *Server) DeactivateUser(userName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.deactivated[userKey(userName)] = true
}

// ExpireAccessTokens makes every OAuth access token issued so far expired from now on
// (requests with them answer 401 VS30063), so tests can exercise expiry without waiting.
// Refresh tokens and tokens issued later are not affected.
func (s *Server) ExpireAccessTokens() {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.oauth.access {
		if t.expires.After(now) {
			t.expires = now
		}
	}
}

// TokenStats returns the token-endpoint request counters (see TokenStats).
func (s *Server) TokenStats() TokenStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauth.stats
}
