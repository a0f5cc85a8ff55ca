package azdosim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// serveEntra routes /_entra/{tenant}/oauth2/v2.0/{authorize,token} and the consent form
// /_entra/oauth2/consent (the stand-in for https://login.microsoftonline.com); anything
// else is 404.
func (s *Server) serveEntra(w http.ResponseWriter, r *http.Request, segs []string) {
	switch {
	case len(segs) == 2 && segs[0] == "oauth2" && segs[1] == "consent":
		s.serveConsent(w, r)
	case len(segs) == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "authorize":
		s.serveEntraAuthorize(w, r, segs[0])
	case len(segs) == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token":
		s.serveEntraToken(w, r, segs[0])
	default:
		http.NotFound(w, r)
	}
}

// tenantOK reports whether tenant names the simulator's tenant (TenantID, case-insensitive),
// "organizations" or "common".
func (s *Server) tenantOK(tenant string) bool {
	return tenant == "organizations" || tenant == "common" || (s.tenantID != "" && strings.EqualFold(tenant, s.tenantID))
}

// aadsts formats an Entra error description: "AADSTS{code}: {text} Trace ID: ...
// Correlation ID: ... Timestamp: ..." (the trailer's shape as Entra sends it, unconfirmed).
func aadsts(code int, text string) string {
	return fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", code, text,
		uuid.NewString(), uuid.NewString(), time.Now().UTC().Format("2006-01-02 15:04:05Z"))
}

// entraError is an error answer of the Entra token endpoint: snake_case with error_codes
// (docs/azure-devops-protocol.md §6).
type entraError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

func entraFail(status int, errCode string, code int, text string) (int, any) {
	return status, entraError{Error: errCode, ErrorDescription: aadsts(code, text), ErrorCodes: []int{code},
		Timestamp: time.Now().UTC().Format("2006-01-02 15:04:05Z"), TraceID: uuid.NewString(),
		CorrelationID: uuid.NewString(), ErrorURI: fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code)}
}

// checkEntraScopes validates a space-separated Entra scope list: each entry must be
// "499b84ac-1321-427f-aa17-267ca6975798/vso.*" or ".../.default", or one of offline_access,
// openid, profile, email; ".default" cannot be combined with other Azure DevOps scopes. It
// returns the de-duplicated list, or the AADSTS70011 text to answer with invalid_scope.
func checkEntraScopes(raw string) ([]string, string) {
	scopes := dedupe(raw)
	hasDefault, resourceScopes := false, 0
	for _, sc := range scopes {
		if oidcScopes[sc] {
			continue
		}
		name, ok := entraResourceScope(sc)
		if !ok || (name != ".default" && !strings.HasPrefix(name, "vso.")) {
			return nil, "The provided value for the input parameter 'scope' is not valid. The scope '" + sc + "' does not exist."
		}
		hasDefault = hasDefault || name == ".default"
		resourceScopes++
	}
	if hasDefault && resourceScopes > 1 {
		return nil, "The provided value for the input parameter 'scope' is not valid. '.default' cannot be combined with other scopes of the same resource."
	}
	return scopes, ""
}

// serveEntraAuthorize answers GET /_entra/{tenant}/oauth2/v2.0/authorize?client_id=
// &response_type=code&redirect_uri=&scope=&state=&code_challenge=&code_challenge_method=S256
// (docs/azure-devops-protocol.md §6). Answered with a 400 HTML page, no redirect: unknown tenant
// (AADSTS90002), unknown client_id (AADSTS700016), redirect_uri not one of the app's
// RedirectURIs (AADSTS50011). Redirected to redirect_uri with error, error_description and
// state: response_type other than code (unsupported_response_type, AADSTS700054), missing
// scope (invalid_request, AADSTS900144), an invalid scope (invalid_scope, AADSTS70011),
// missing code_challenge or a method other than S256 (invalid_request, AADSTS9002325; the
// simulator requires PKCE with S256). Otherwise 200 with the consent page (consent.go)
// listing the scopes to be granted (without offline_access for an app with NoOfflineAccess).
func (s *Server) serveEntraAuthorize(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet {
		writeErrorPage(w, http.StatusMethodNotAllowed, "Method not allowed", "Use GET.")
		return
	}
	q := r.URL.Query()
	clientID, redirect, state := q.Get("client_id"), q.Get("redirect_uri"), q.Get("state")
	s.mu.Lock()
	var app EntraApp
	found := s.oauth.entraApps[clientID] != nil
	if found {
		app = *s.oauth.entraApps[clientID]
	}
	s.mu.Unlock()
	fail := func(errCode string, code int, text string) {
		redirectTo(w, redirect, map[string]string{"error": errCode, "error_description": aadsts(code, text), "state": state})
	}
	scopes, scopeErr := checkEntraScopes(q.Get("scope"))
	switch {
	case !s.tenantOK(tenant):
		writeErrorPage(w, http.StatusBadRequest, "Sign in", aadsts(90002, "Tenant '"+tenant+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."))
	case !found:
		writeErrorPage(w, http.StatusBadRequest, "Sign in", aadsts(700016, "Application with identifier '"+clientID+"' was not found in the directory '"+tenant+"'."))
	case !slices.Contains(app.RedirectURIs, redirect):
		writeErrorPage(w, http.StatusBadRequest, "Sign in", aadsts(50011, "The redirect URI '"+redirect+"' specified in the request does not match the redirect URIs configured for the application '"+clientID+"'."))
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", 700054, "response_type '"+q.Get("response_type")+"' is not enabled for the application.")
	case strings.TrimSpace(q.Get("scope")) == "":
		fail("invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	case scopeErr != "":
		fail("invalid_scope", 70011, scopeErr)
	case q.Get("code_challenge") == "":
		fail("invalid_request", 9002325, "Proof Key for Code Exchange is required: the request must contain code_challenge.")
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", 9002325, "Proof Key for Code Exchange: code_challenge_method must be S256.")
	default:
		if app.NoOfflineAccess {
			scopes = slices.DeleteFunc(scopes, func(sc string) bool { return sc == "offline_access" })
		}
		pc := &pendingConsent{grant: grant{provider: providerEntra, clientID: clientID, scopes: scopes},
			redirectURI: redirect, state: state, challenge: q.Get("code_challenge")}
		s.writeConsentPage(w, pc, "/"+entraPrefix+"/oauth2/consent", "Microsoft", clientID)
	}
}
