package azdosim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Form values of the Azure DevOps OAuth token endpoint (docs/azure-devops-protocol.md §6).
const (
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	jwtBearerGrant      = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// serveVSSPS routes /_vssps/oauth2/{authorize,token,consent} and /_vssps/_apis/... (the
// profile and accounts APIs, membership.go) of the stand-in for
// https://app.vssps.visualstudio.com; anything else is 404.
func (s *Server) serveVSSPS(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) > 1 && strings.EqualFold(segs[0], "_apis") {
		s.serveVSSPSAPI(w, r, segs[1:])
		return
	}
	if len(segs) != 2 || segs[0] != "oauth2" {
		http.NotFound(w, r)
		return
	}
	switch segs[1] {
	case "authorize":
		s.serveVSSPSAuthorize(w, r)
	case "token":
		s.serveVSSPSToken(w, r)
	case "consent":
		s.serveConsent(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveVSSPSAuthorize answers GET /_vssps/oauth2/authorize?client_id=&response_type=Assertion
// &state=&scope=&redirect_uri= (docs/azure-devops-protocol.md §6). In order: an unknown client_id, or a
// redirect_uri not exactly the app's CallbackURL, answers a 400 HTML page (no redirect);
// response_type other than "Assertion" redirects with error=unsupported_response_type; a scope
// set (space separated, order and duplicates ignored) other than the registered one redirects
// with error=InvalidScope and no code. Otherwise 200 with the consent page (consent.go). Page
// texts are unconfirmed.
func (s *Server) serveVSSPSAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeErrorPage(w, http.StatusMethodNotAllowed, "Method not allowed", "Use GET.")
		return
	}
	q := r.URL.Query()
	clientID, redirect, state := q.Get("client_id"), q.Get("redirect_uri"), q.Get("state")
	s.mu.Lock()
	var app OAuthApp
	found := s.oauth.azdoApps[clientID] != nil
	if found {
		app = *s.oauth.azdoApps[clientID]
	}
	s.mu.Unlock()
	switch {
	case !found:
		writeErrorPage(w, http.StatusBadRequest, "Invalid client", "The client_id of this authorization request is not a registered application.")
	case redirect != app.CallbackURL:
		writeErrorPage(w, http.StatusBadRequest, "Invalid redirect URI", "The redirect_uri does not match the callback URL registered for this application.")
	case q.Get("response_type") != "Assertion":
		redirectTo(w, redirect, map[string]string{"error": "unsupported_response_type", "state": state})
	case !sameSet(dedupe(q.Get("scope")), app.Scopes):
		redirectTo(w, redirect, map[string]string{"error": "InvalidScope", "state": state})
	default:
		pc := &pendingConsent{grant: grant{provider: providerAzureDevOps, clientID: clientID, scopes: app.Scopes},
			redirectURI: redirect, state: state}
		s.writeConsentPage(w, pc, "/"+vsspsPrefix+"/oauth2/consent", "Azure DevOps", clientID)
	}
}

// vsspsToken is the success answer of the Azure DevOps token endpoint: expires_in is a JSON
// string (docs/azure-devops-protocol.md §6).
type vsspsToken struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    string `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// vsspsError is an error answer of the Azure DevOps token endpoint, in PascalCase
// (docs/azure-devops-protocol.md §6).
type vsspsError struct {
	Error            string `json:"Error"`
	ErrorDescription string `json:"ErrorDescription"`
}

// refreshTokenNotValid is the ErrorDescription of a refused refresh token
// (MicrosoftDocs/azure-devops-docs#8583).
const refreshTokenNotValid = "The access token is not valid"

func vsspsFail(status int, code, desc string) (int, any) {
	return status, vsspsError{Error: code, ErrorDescription: desc}
}

// serveVSSPSToken answers POST /_vssps/oauth2/token (application/x-www-form-urlencoded,
// docs/azure-devops-protocol.md §6): client_assertion_type=urn:ietf:params:oauth:client-assertion-type:
// jwt-bearer, client_assertion={client secret} (which identifies the app), redirect_uri (the
// app's callback), and grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with
// assertion={code}, or grant_type=refresh_token with assertion={refresh token}. Other fields
// are ignored. Success: 200 vsspsToken with a new access token and a NEW refresh token; the
// refresh token used stops working at once (rotation; concurrent refreshes with one token:
// exactly one succeeds). Errors are PascalCase ({"Error","ErrorDescription"}):
//   - a refresh token that is no longer valid (unknown, used already, consent revoked, user
//     deactivated, minted under a secret regenerated since): 400 invalid_request "The access
//     token is not valid", the body captured in MicrosoftDocs/azure-devops-docs#8583 (the
//     service does not say which of these it was);
//   - a client_assertion that is not the secret of a registered app (e.g. the app secret
//     given instead of the client secret): 400 invalid_client "Invalid client auth token."
//     (status and text after microsoft/azure-devops-auth-samples#8 and PR #6; code
//     unconfirmed);
//   - a code unknown, expired, used or of another client: 400 invalid_grant (unconfirmed);
//   - a missing field, wrong grant_type or assertion type, redirect_uri mismatch: 400
//     invalid_request (descriptions unconfirmed).
func (s *Server) serveVSSPSToken(w http.ResponseWriter, r *http.Request) {
	var status int
	var body any
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		status, body = vsspsFail(http.StatusMethodNotAllowed, "invalid_request", "The token endpoint accepts POST only.")
	} else if form, err := readTokenForm(w, r); err != nil {
		status, body = vsspsFail(http.StatusBadRequest, "invalid_request", "The request body is not a valid form.")
	} else {
		s.mu.Lock()
		status, body = s.vsspsTokenLocked(form)
		s.mu.Unlock()
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, body)
}

// readTokenForm parses a token request's form body (at most 64 KiB).
func readTokenForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// vsspsTokenLocked decides a token request; the caller holds s.mu.
func (s *Server) vsspsTokenLocked(f url.Values) (int, any) {
	grantType := f.Get("grant_type")
	switch grantType {
	case jwtBearerGrant:
		s.oauth.stats.AzureDevOpsExchanges++
	case "refresh_token":
		s.oauth.stats.AzureDevOpsRefreshes++
	default:
		return vsspsFail(http.StatusBadRequest, "invalid_request", "grant_type must be "+jwtBearerGrant+" or refresh_token.")
	}
	if f.Get("client_assertion_type") != clientAssertionType {
		return vsspsFail(http.StatusBadRequest, "invalid_request", "client_assertion_type must be "+clientAssertionType+".")
	}
	for _, k := range []string{"client_assertion", "assertion", "redirect_uri"} {
		if f.Get(k) == "" {
			return vsspsFail(http.StatusBadRequest, "invalid_request", "The parameter "+k+" is missing.")
		}
	}
	var app *OAuthApp
	for _, a := range s.oauth.azdoApps {
		if a.ClientSecret != "" && a.ClientSecret == f.Get("client_assertion") {
			app = a
		}
	}
	if app == nil {
		return vsspsFail(http.StatusBadRequest, "invalid_client", "Invalid client auth token.")
	}
	if f.Get("redirect_uri") != app.CallbackURL {
		return vsspsFail(http.StatusBadRequest, "invalid_request", "The redirect_uri does not match the callback URL registered for this application.")
	}
	assertion := f.Get("assertion")
	var g grant
	if grantType == jwtBearerGrant {
		c := s.oauth.codes[assertion]
		switch {
		case c == nil || c.provider != providerAzureDevOps || c.clientID != app.ClientID || c.redirectURI != app.CallbackURL:
			return vsspsFail(http.StatusBadRequest, "invalid_grant", "The authorization code is not valid or was already used.")
		case time.Now().After(c.expires):
			delete(s.oauth.codes, assertion)
			return vsspsFail(http.StatusBadRequest, "invalid_grant", "The authorization code has expired.")
		}
		delete(s.oauth.codes, assertion)
		g = c.grant
		if s.oauth.deactivated[userKey(g.user)] {
			return vsspsFail(http.StatusBadRequest, "invalid_grant", "User deactivated: the user account is disabled.")
		}
	} else {
		t := s.oauth.refresh[assertion]
		if t == nil || t.provider != providerAzureDevOps || t.clientID != app.ClientID || s.stateLocked(t) != tokenAlive {
			return vsspsFail(http.StatusBadRequest, "invalid_request", refreshTokenNotValid)
		}
		delete(s.oauth.refresh, assertion)
		g = t.grant
	}
	access, refresh := s.mintLocked(g, app.ClientSecret, true)
	return http.StatusOK, vsspsToken{AccessToken: access, TokenType: "jwt-bearer",
		ExpiresIn: strconv.FormatInt(s.expiresIn(), 10), RefreshToken: refresh, Scope: strings.Join(g.scopes, " ")}
}
