package azdosim

import (
	"html/template"
	"net/http"
	"net/url"
)

// policyPage is the simulated organization settings page of the policy "Third-party
// application access via OAuth" (Organization settings › Policies on Azure DevOps Services,
// https://dev.azure.com/{org}/_settings/organizationPolicy; docs/azure-devops-protocol.md
// §6). It needs no sign-in: it exists so that a demo's policy-off failure can be fixed by a
// click (Options.PolicyPage).
var policyPage = template.Must(template.New("policy").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>Policies · {{.Org}} · Organization settings</title></head>
<body>
<main>
<h1>Organization settings › Policies</h1>
<p>Organization <strong>{{.Org}}</strong> (simulated Azure DevOps Services).</p>
<h2>Application connection policies</h2>
<form method="post">
<p id="oauth-policy" data-allowed="{{.Allowed}}">Third-party application access via OAuth: <strong>{{if .Allowed}}On{{else}}Off{{end}}</strong></p>
<input type="hidden" name="allow" value="{{not .Allowed}}">
<button type="submit" id="toggle-oauth-policy">{{if .Allowed}}Turn it off{{else}}Turn it on{{end}}</button>
</form>
</main>
</body></html>
`))

// servePolicyPage answers GET with the policy page of org and POST (form field allow=true or
// false) by setting the policy (SetOAuthPolicy) and redirecting (303) to the page. A POST
// another site's page makes (Sec-Fetch-Site other than same-origin or none) is refused with
// 403. Unknown organizations answer 404.
func (s *Server) servePolicyPage(w http.ResponseWriter, r *http.Request, org string) {
	if !s.orgExists(org) {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		}
		allow := r.PostFormValue("allow")
		if allow != "true" && allow != "false" {
			http.Error(w, "allow must be true or false", http.StatusBadRequest)
			return
		}
		if err := s.SetOAuthPolicy(org, allow == "true"); err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Location", "/"+url.PathEscape(org)+"/_settings/organizationPolicy")
		w.WriteHeader(http.StatusSeeOther)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	allowed := s.oauthAllowedLocked(org)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = policyPage.Execute(w, map[string]any{"Org": org, "Allowed": allowed})
}
