package azdosim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// entraToken is the success answer of the Entra token endpoint: expires_in and
// ext_expires_in are JSON numbers, and refresh_token is present only when offline_access was
// granted (docs/azure-devops-protocol.md §6).
type entraToken struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// serveEntraToken answers POST /_entra/{tenant}/oauth2/v2.0/token (form body). Client
// authentication: client_id and client_secret as form fields or HTTP Basic (URL-encoded,
// RFC 6749 §2.3.1); confidential apps must send the secret, public ones must not.
//   - grant_type=authorization_code with code, redirect_uri, code_verifier: the PKCE check
//     BASE64URL(SHA256(code_verifier)) == code_challenge; the code is single use.
//   - grant_type=refresh_token with refresh_token and scope (a subset of the consent): a new
//     access token and a new refresh token. Unlike Azure DevOps OAuth, the refresh token used
//     stays valid (Entra does not invalidate refresh tokens on use). The scope is required,
//     as the v2.0 documentation's table says ("Refresh the access token",
//     learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow): without it the
//     real endpoint answers 400 AADSTS90009 "Application … is requesting a token for
//     itself" (open-webui/open-webui#22359) or a token for fewer scopes (golang/oauth2#540,
//     #621); the simulator answers the former.
//
// Errors (snake_case with error_codes; texts after Entra's, partly unconfirmed): unknown
// tenant 400 invalid_request AADSTS90002; unknown client 400 unauthorized_client
// AADSTS700016; missing secret 401 invalid_client AADSTS7000218; wrong secret 401
// invalid_client AADSTS7000215; secret from a public client 400 invalid_client AADSTS700025;
// missing field 400 invalid_request AADSTS900144; unknown or foreign code AADSTS70000, code
// reused AADSTS54005, expired AADSTS70008, PKCE mismatch AADSTS50148 (the code stays
// unredeemed), consent revoked AADSTS50173, user disabled AADSTS50057, unknown refresh token
// AADSTS9002313, refresh without scope 400 invalid_request AADSTS90009, scope not consented AADSTS65001 — all 400 invalid_grant; bad scope 400
// invalid_scope AADSTS70011; other grant types 400 unsupported_grant_type AADSTS70003.
func (s *Server) serveEntraToken(w http.ResponseWriter, r *http.Request, tenant string) {
	var status int
	var body any
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		status, body = entraFail(http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
	} else if form, err := readTokenForm(w, r); err != nil {
		status, body = entraFail(http.StatusBadRequest, "invalid_request", 900144, "The request body is not a valid form.")
	} else {
		clientID, secret := form.Get("client_id"), form.Get("client_secret")
		if u, p, ok := r.BasicAuth(); ok {
			clientID, _ = url.QueryUnescape(u)
			secret, _ = url.QueryUnescape(p)
		}
		s.mu.Lock()
		status, body = s.entraTokenLocked(tenant, form, clientID, secret)
		s.mu.Unlock()
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, body)
}

// entraTokenLocked decides a token request; the caller holds s.mu.
func (s *Server) entraTokenLocked(tenant string, f url.Values, clientID, secret string) (int, any) {
	grantType := f.Get("grant_type")
	switch grantType {
	case "authorization_code":
		s.oauth.stats.EntraExchanges++
	case "refresh_token":
		s.oauth.stats.EntraRefreshes++
	}
	if !s.tenantOK(tenant) {
		return entraFail(http.StatusBadRequest, "invalid_request", 90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
	}
	switch grantType {
	case "authorization_code", "refresh_token":
	case "":
		return entraFail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		return entraFail(http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+grantType+"'.")
	}
	if clientID == "" {
		return entraFail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	app := s.oauth.entraApps[clientID]
	switch {
	case app == nil:
		return entraFail(http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '"+clientID+"' was not found in the directory.")
	case app.ClientSecret == "" && secret != "":
		return entraFail(http.StatusBadRequest, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
	case app.ClientSecret != "" && secret == "":
		return entraFail(http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	case subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1:
		return entraFail(http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+clientID+"'.")
	}
	if grantType == "authorization_code" {
		return s.entraRedeemLocked(f, clientID)
	}
	return s.entraRefreshLocked(f, clientID)
}

// entraRedeemLocked redeems an authorization code (PKCE S256).
func (s *Server) entraRedeemLocked(f url.Values, clientID string) (int, any) {
	for _, k := range []string{"code", "redirect_uri"} {
		if f.Get(k) == "" {
			return entraFail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: '"+k+"'.")
		}
	}
	c := s.oauth.codes[f.Get("code")]
	switch {
	case c == nil || c.provider != providerEntra || c.clientID != clientID:
		return entraFail(http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid.")
	case c.redeemed:
		return entraFail(http.StatusBadRequest, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case time.Now().After(c.expires):
		return entraFail(http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case f.Get("redirect_uri") != c.redirectURI:
		return entraFail(http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid. The redirect_uri does not match the one of the authorization request.")
	case !pkceMatches(f.Get("code_verifier"), c.challenge):
		return entraFail(http.StatusBadRequest, "invalid_grant", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")
	case s.oauth.deactivated[userKey(c.user)]:
		return entraFail(http.StatusBadRequest, "invalid_grant", 50057, "The user account is disabled.")
	}
	c.redeemed = true
	access, refresh := s.mintLocked(c.grant, "", slices.Contains(c.scopes, "offline_access"))
	return http.StatusOK, s.entraAnswer(c.scopes, access, refresh)
}

// entraRefreshLocked answers grant_type=refresh_token; the refresh token used stays valid.
func (s *Server) entraRefreshLocked(f url.Values, clientID string) (int, any) {
	rt := f.Get("refresh_token")
	if rt == "" {
		return entraFail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
	}
	if strings.TrimSpace(f.Get("scope")) == "" {
		// Without a scope the v2.0 endpoint takes the app to ask a token for itself.
		return entraFail(http.StatusBadRequest, "invalid_request", 90009, "Application '"+clientID+"'("+clientID+") is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.")
	}
	t := s.oauth.refresh[rt]
	switch {
	case t == nil || t.provider != providerEntra:
		return entraFail(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
	case t.clientID != clientID:
		return entraFail(http.StatusBadRequest, "invalid_grant", 70000, "The provided value for the 'refresh_token' parameter is not valid: it was issued to another client.")
	}
	switch s.stateLocked(t) {
	case tokenRevoked:
		return entraFail(http.StatusBadRequest, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
	case tokenUserDisabled:
		return entraFail(http.StatusBadRequest, "invalid_grant", 50057, "The user account is disabled.")
	}
	ag := t.grant
	if raw := strings.TrimSpace(f.Get("scope")); raw != "" {
		scopes, bad := checkEntraScopes(raw)
		if bad != "" {
			return entraFail(http.StatusBadRequest, "invalid_scope", 70011, bad)
		}
		if !consented(t.scopes, scopes) {
			return entraFail(http.StatusBadRequest, "invalid_grant", 65001, "The user or administrator has not consented to use the application with ID '"+clientID+"'. Send an interactive authorization request for this user and resource.")
		}
		if _, ok := accessScopes(grant{provider: providerEntra, scopes: scopes}); ok {
			ag.scopes = scopes
		}
	}
	access, _ := s.mintLocked(ag, "", false)
	return http.StatusOK, s.entraAnswer(ag.scopes, access, s.mintRefreshLocked(t.grant, ""))
}

// consented reports whether every Azure DevOps scope in want was granted (a granted
// ".default" covers all).
func consented(granted, want []string) bool {
	for _, sc := range want {
		name, ok := entraResourceScope(sc)
		if !ok || slices.Contains(granted, sc) {
			continue
		}
		covered := false
		for _, g := range granted {
			n, _ := entraResourceScope(g)
			covered = covered || n == ".default"
		}
		if !covered || name == "" {
			return false
		}
	}
	return true
}

// pkceMatches is the S256 check of RFC 7636: BASE64URL(SHA256(verifier)) == challenge.
func pkceMatches(verifier, challenge string) bool {
	if verifier == "" || challenge == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// entraAnswer builds the success answer.
func (s *Server) entraAnswer(scopes []string, access, refresh string) entraToken {
	return entraToken{TokenType: "Bearer", Scope: strings.Join(scopes, " "), ExpiresIn: s.expiresIn(),
		ExtExpiresIn: s.expiresIn(), AccessToken: access, RefreshToken: refresh}
}
