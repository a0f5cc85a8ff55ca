package azdosim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// servicesCeiling is the REST API version ceiling of the Services flavour at the simulated
// date (2026-12): 7.2, accepted as a preview only. Source: MicrosoftDocs/vsts-rest-api-specs,
// the newest specification folder of every area is 7.2 and its info.version is "7.2-preview"
// (specification/git/7.2/git.json, specification/core/7.2/core.json); the newest released
// version is 7.1 (servicesReleased). Asking for 7.3 answers VssVersionOutOfRangeException,
// asking for a plain "7.2" answers VssInvalidPreviewVersionException.
var servicesCeiling = apiVersion{Major: 7, Minor: 2}

// servicesReleased is the newest released (non-preview) REST API version of Services.
var servicesReleased = apiVersion{Major: 7, Minor: 1}

// defaultAccessTokenLifetime is the lifetime of OAuth access tokens when
// Options.AccessTokenLifetime is zero (docs/azure-devops-protocol.md §6: "about an hour").
const defaultAccessTokenLifetime = time.Hour

// checkServicesOptions validates the Services-mode options and returns the tenant id and the
// access-token lifetime to use. firstOrg seeds the deterministic default tenant.
func checkServicesOptions(opts Options, firstOrg string) (tenant string, life time.Duration, err error) {
	life = opts.AccessTokenLifetime
	if life < 0 {
		return "", 0, errors.New("azdosim: negative AccessTokenLifetime")
	}
	if life == 0 {
		life = defaultAccessTokenLifetime
	}
	if !opts.Services {
		return "", life, nil
	}
	if len(splitVirtualDir(opts.VirtualDir)) > 0 {
		return "", 0, errors.New("azdosim: Services mode has no virtual directory (organizations are served at /{org})")
	}
	tenant = opts.TenantID
	if tenant == "" {
		return deterministicID("tenant", firstOrg), life, nil
	}
	if _, err := uuid.Parse(tenant); err != nil {
		return "", 0, fmt.Errorf("azdosim: tenant id %q is not a GUID", tenant)
	}
	return strings.ToLower(tenant), life, nil
}

// TenantID returns the Microsoft Entra tenant of the organizations in Services mode (the value
// of X-VSS-ResourceTenant, docs/azure-devops-protocol.md §4); empty in Server mode.
func (s *Server) TenantID() string { return s.tenantID }

// SetOAuthPolicy sets the organization policy "Third-party application access via OAuth"
// (docs/azure-devops-protocol.md §6) of org: while it is off (false, the default for every organization,
// as for new real ones), every REST call and git request to org made with an access token of
// an Azure DevOps OAuth app answers 401 TF400813; PATs and Microsoft Entra tokens are not
// governed by it, and the authorize and token endpoints keep working. In Server mode the
// value is stored but has no effect (Bearer is refused there). Error: unknown organization.
func (s *Server) SetOAuthPolicy(org string, allowThirdPartyOAuth bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.findCollectionLocked(org)
	if c == nil {
		return fmt.Errorf("azdosim: unknown organization %q", org)
	}
	s.oauth.policy[nameKey(c.name)] = allowThirdPartyOAuth
	return nil
}

// oauthAllowedLocked reports the third-party OAuth policy of org; the caller holds s.mu.
func (s *Server) oauthAllowedLocked(org string) bool { return s.oauth.policy[nameKey(org)] }

// orgExists reports whether name is a configured collection / organization.
func (s *Server) orgExists(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.findCollectionLocked(name) != nil
}

// challenge is the WWW-Authenticate value of a 401 (docs/azure-devops-protocol.md §4). Server mode:
// `Basic realm="{host}"`. Services mode: two challenges in one value, as Azure DevOps
// Services sends them: `Bearer authorization_uri=https://login.microsoftonline.com/{tenant},
// Basic realm="https://{host}/"`, so that a client learns the organization's tenant from an
// unauthenticated request.
func (s *Server) challenge(r *http.Request) string {
	if !s.opts.Services {
		return fmt.Sprintf("Basic realm=%q", r.Host)
	}
	return fmt.Sprintf("Bearer authorization_uri=https://login.microsoftonline.com/%s, Basic realm=%q",
		s.tenantID, "https://"+r.Host+"/")
}

// setTenantHeader sets X-VSS-ResourceTenant (docs/azure-devops-protocol.md §4) when, in Services mode, the
// first path segment names an existing organization. Unknown organizations get no tenant.
func (s *Server) setTenantHeader(w http.ResponseWriter, segs []string) {
	if s.opts.Services && len(segs) > 0 && !strings.HasPrefix(segs[0], "_") && s.orgExists(segs[0]) {
		w.Header().Set("X-VSS-ResourceTenant", s.tenantID)
	}
}

// errOrganizationNotFound answers a request to an unknown organization in Services mode:
// 404 before any authentication, so that a client can tell a mistyped organization name
// without signing in. The typeKey and text are unconfirmed.
func errOrganizationNotFound(name string) *apiError {
	return newAPIError(http.StatusNotFound, "OrganizationNotFoundException",
		"Microsoft.VisualStudio.Services.Organization.OrganizationNotFoundException",
		"The organization '"+name+"' could not be found. Verify that the organization name is correct.")
}

// rejectUnknownOrg answers 404 for a route under an unknown organization in Services mode
// (JSON envelope on REST and vsts/info, plain text on git smart HTTP) and reports whether it
// did.
func (s *Server) rejectUnknownOrg(w http.ResponseWriter, rt route) bool {
	if !s.opts.Services || rt.coll == "" || s.orgExists(rt.coll) {
		return false
	}
	e := errOrganizationNotFound(rt.coll)
	if rt.git && !(len(rt.rest) == 2 && rt.rest[0] == "vsts") {
		http.Error(w, e.message, http.StatusNotFound)
		return true
	}
	writeAPIError(w, e)
	return true
}

// deploymentType is connectionData's deploymentType (docs/azure-devops-protocol.md §1).
func (s *Server) deploymentType() string {
	if s.opts.Services {
		return "hosted"
	}
	return "onPremises"
}

// accessPoint is the public access mapping of connectionData: the public base in Server
// mode; in Services mode the organization URL with a trailing slash ("{base}/{org}/", as
// dev.azure.com answers), or "{base}/" at deployment level.
func (s *Server) accessPoint(rc restCaller) string {
	if !s.opts.Services {
		return rc.urls.base
	}
	if rc.coll == nil {
		return rc.urls.base + "/"
	}
	return rc.urls.collection(rc.coll.name) + "/"
}

// descriptors returns the identity descriptors of connectionData: a Windows identity on
// Server, a claims identity of the tenant ("aad." subject descriptor) on Services (shape
// unconfirmed).
func (s *Server) descriptors(id identity) (descriptor, subject string) {
	if !s.opts.Services {
		return "System.Security.Principal.WindowsIdentity;" + id.sid(), id.subjectDescriptor()
	}
	return "Microsoft.IdentityModel.Claims.ClaimsIdentity;" + s.tenantID + `\` + id.UniqueName,
		"aad." + strings.TrimPrefix(id.subjectDescriptor(), "win.")
}
