package azdosim

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// consentPage is the consent page both providers show after a valid authorize request. Its
// form is the contract azdosimtest.SubmitConsent relies on: action, the hidden single-use
// "consent" id, the "user" text field (the display name of the consenting user) and the two
// "decision" buttons.
var consentPage = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>{{.Provider}} | Authorize application</title></head>
<body>
<h1>Authorize application</h1>
<p>The application <strong>{{.App}}</strong> is requesting permission to access your Azure DevOps resources:</p>
<ul>
{{range .Scopes}}<li>{{.}}</li>
{{end}}</ul>
<form method="post" action="{{.Action}}">
<input type="hidden" name="consent" value="{{.ID}}">
<label for="user">Sign in as (display name)</label>
<input type="text" id="user" name="user" value="Demo User">
<button type="submit" name="decision" value="accept">Accept</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
`))

// errorPage is the HTML of an OAuth request that cannot be redirected back to the client
// (unknown client, unregistered redirect_uri, used consent id, unknown tenant).
var errorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p></body></html>
`))

// writeConsentPage stores pc as a pending consent and answers 200 with the consent page whose
// form posts to action. app names the application.
func (s *Server) writeConsentPage(w http.ResponseWriter, pc *pendingConsent, action, provider, app string) {
	s.mu.Lock()
	id := s.newConsentLocked(pc)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = consentPage.Execute(w, map[string]any{"Provider": provider, "App": app, "Scopes": pc.scopes,
		"Action": action, "ID": id})
}

// writeErrorPage answers status with an HTML error page (no redirect to the client).
func writeErrorPage(w http.ResponseWriter, status int, title, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, map[string]string{"Title": title, "Message": message})
}

// redirectTo answers 302 to redirectURI with params added to its query (keys sorted, values
// percent-encoded; a state comes back exactly as sent once decoded). Empty values are left
// out.
func redirectTo(w http.ResponseWriter, redirectURI string, params map[string]string) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		writeErrorPage(w, http.StatusBadRequest, "Invalid redirect URI", "The redirect URI is not valid.")
		return
	}
	q := u.Query()
	for k, v := range params {
		if v != "" {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Location", u.String())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// serveConsent answers POST of the consent form (shared by /_vssps/oauth2/consent and
// /_entra/oauth2/consent): form fields consent (the single-use id), user (display name;
// "Demo User" when empty) and decision. accept → 302 redirect_uri?code=...&state=...; deny →
// 302 redirect_uri?error=access_denied&state=... (Entra adds error_description AADSTS65004);
// accept by a deactivated user → access_denied too (Entra: AADSTS50057). An unknown, used or
// expired consent id, or another decision value (which still uses up the id), answers a 400
// page.
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErrorPage(w, http.StatusMethodNotAllowed, "Method not allowed", "The consent form must be posted.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeErrorPage(w, http.StatusBadRequest, "Bad request", "The consent form could not be read.")
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("user"))
	if user == "" {
		user = "Demo User"
	}
	decision := r.PostForm.Get("decision")
	s.mu.Lock()
	pc := s.takeConsentLocked(r.PostForm.Get("consent"))
	var params map[string]string
	switch {
	case pc == nil:
	case decision == "accept" && s.oauth.deactivated[userKey(user)]:
		params = map[string]string{"error": "access_denied", "state": pc.state}
		if pc.provider == providerEntra {
			params["error_description"] = "AADSTS50057: The user account is disabled."
		}
	case decision == "accept":
		params = map[string]string{"code": s.newCodeLocked(pc, user), "state": pc.state}
	case decision == "deny":
		params = map[string]string{"error": "access_denied", "state": pc.state}
		if pc.provider == providerEntra {
			params["error_description"] = "AADSTS65004: User declined to consent to access the app."
		}
	}
	s.mu.Unlock()
	if params == nil {
		writeErrorPage(w, http.StatusBadRequest, "Authorization failed",
			"This authorization request is no longer valid. Start the sign-in again from the application.")
		return
	}
	redirectTo(w, pc.redirectURI, params)
}
