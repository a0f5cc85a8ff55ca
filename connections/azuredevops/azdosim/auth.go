package azdosim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
)

// PAT is a personal access token the simulator accepts (docs/azure-devops-protocol.md §3).
//
// Token is the secret sent as the Basic password. UserName is the display name of the owner
// ("Demo User" when empty); the unique name is derived as `DOMAIN\<first word, lower case>`
// and the identity id is a deterministic UUID of the display name. Expires zero means never;
// an expired token answers 401 "Access Denied: The Personal Access Token used has expired.".
// Scopes empty, or containing "app_token", means full access; otherwise each endpoint needs
// its scope (projects: vso.project; repositories, refs, vsts/info, git fetch: vso.code; git
// push: vso.code_write; connectionData: any), where a _write/_manage/_full variant implies
// the lower levels. Collections empty means all; otherwise requests to other collections are
// treated like an unknown token.
type PAT struct {
	Token       string
	UserName    string
	Expires     time.Time
	Scopes      []string
	Collections []string
}

// AddPAT registers p (replacing a token with the same value). Safe while serving.
func (s *Server) AddPAT(p PAT) {
	if p.UserName == "" {
		p.UserName = "Demo User"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pats[p.Token] = p
}

// identity is the caller of an authenticated request.
type identity struct {
	ID, DisplayName, UniqueName string
}

func identityOf(p PAT) identity {
	first := strings.Fields(p.UserName)
	short := "user"
	if len(first) > 0 {
		short = strings.ToLower(strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '-' {
				return r
			}
			return -1
		}, first[0]))
	}
	return identity{ID: deterministicID("user", p.UserName), DisplayName: p.UserName, UniqueName: `DOMAIN\` + short}
}

// authResult classifies a request's credential.
type authResult int

const (
	authOK           authResult = iota
	authMissing                 // no Authorization header
	authInvalid                 // unknown, revoked or malformed credential
	authExpired                 // expired PAT
	authTokenExpired            // expired OAuth access token (bearer.go)
	authPolicy                  // Azure DevOps OAuth token while the org policy is off
	authNotMember               // OAuth token of a user who is not a member of the org
	authWrongScheme             // a scheme other than Basic and Bearer (Services mode)
)

// authenticate checks the credential of r. Basic (both modes): for REST (git false) any
// user name is accepted, the empty one too, with the PAT as password (docs/azure-devops-protocol.md §3).
// For git over HTTP (git true) every form Microsoft documents or its tools send is accepted
// (authenticateBasic). Bearer (Services mode only; refused like an unknown credential in
// Server mode): an access token issued by the simulator's OAuth endpoints (bearer.go), also
// when git sends it through http.extraHeader ("Authorization: bearer <token>", any case of
// the scheme: learn.microsoft.com/azure/devops/integrate/get-started/authentication/entra).
// Any other scheme carrying a credential (e.g. "jwt-bearer", copied from an Azure DevOps
// token answer's token_type) is authWrongScheme in Services mode (docs/azure-devops-protocol.md §6) and
// authInvalid in Server mode. collName restricts PATs limited to collections and selects
// the organization whose OAuth policy and membership apply ("" = server level, allowed for
// every PAT and not governed by the policy). The returned PAT carries the caller's identity
// for authOK, authPolicy and authNotMember (a Bearer token is presented as a PAT with the
// token's user and normalized scopes).
func (s *Server) authenticate(r *http.Request, git bool, collName string) (PAT, authResult) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return PAT{}, authMissing
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Basic"):
		return s.authenticateBasic(r, git, collName)
	case strings.EqualFold(scheme, "Bearer") && s.opts.Services:
		return s.authenticateBearer(cred, collName)
	case s.opts.Services && !strings.EqualFold(scheme, "Bearer") && cred != "":
		return PAT{}, authWrongScheme
	}
	return PAT{}, authInvalid
}

// authenticateBasic checks a Basic credential. The PAT is the password, whatever the user
// name, the empty one included: git -c http.extraHeader="Authorization: Basic
// base64(:PAT)" is the form of Microsoft's "Use personal access tokens" page
// (learn.microsoft.com/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate),
// and any user name with the PAT as password is what git's prompt gets (same page). For git
// only, two more forms are accepted:
//   - the PAT as the user name with an empty password (https://{PAT}@dev.azure.com/...,
//     the form pipelines use with $(System.AccessToken); reported, widely used);
//   - in Services mode, an OAuth or Entra access token as the password: Git Credential
//     Manager with credential.azreposCredentialType=oauth hands git the Entra access token
//     as a password (git-ecosystem/git-credential-manager docs/azrepos-users-and-tokens.md).
//
// A wrong PAT stays authInvalid (401 for git, the REST failure answers for REST).
func (s *Server) authenticateBasic(r *http.Request, git bool, collName string) (PAT, authResult) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return PAT{}, authInvalid
	}
	secret := pass
	if git && pass == "" {
		secret = user // the PAT as the user name, empty password
	}
	if secret == "" {
		return PAT{}, authInvalid
	}
	s.mu.Lock()
	p, found := s.pats[secret]
	s.mu.Unlock()
	if !found {
		if git && pass != "" && s.opts.Services {
			if bp, res := s.authenticateBearer(pass, collName); res != authInvalid {
				return bp, res
			}
		}
		return PAT{}, authInvalid
	}
	if !p.Expires.IsZero() && time.Now().After(p.Expires) {
		return PAT{}, authExpired
	}
	if collName != "" && len(p.Collections) > 0 {
		allowed := false
		for _, c := range p.Collections {
			allowed = allowed || nameKey(c) == nameKey(collName)
		}
		if !allowed {
			return PAT{}, authInvalid
		}
	}
	return p, authOK
}

// scopeLevel orders the suffixes of a scope family: vso.code < vso.code_write <
// vso.code_manage < vso.code_full.
func scopeLevel(suffix string) int {
	switch suffix {
	case "":
		return 0
	case "_write":
		return 1
	case "_manage":
		return 2
	case "_full":
		return 3
	}
	return -1
}

// splitScope splits "vso.code_write" into ("vso.code", 1); unknown suffixes give level -1.
func splitScope(scope string) (family string, level int) {
	for _, suf := range []string{"_write", "_manage", "_full"} {
		if strings.HasSuffix(scope, suf) {
			return strings.TrimSuffix(scope, suf), scopeLevel(suf)
		}
	}
	return scope, 0
}

// hasScope reports whether p grants need ("" = any authenticated call).
func hasScope(p PAT, need string) bool {
	if need == "" || len(p.Scopes) == 0 {
		return true
	}
	nf, nl := splitScope(need)
	for _, sc := range p.Scopes {
		if sc == "app_token" {
			return true
		}
		f, l := splitScope(sc)
		if f == nf && l >= nl {
			return true
		}
	}
	return false
}

// errMissingScope answers a PAT without the scope an endpoint needs. The real status and
// text are unconfirmed; the simulator answers 401 UnauthorizedRequestException naming the
// missing scope.
func errMissingScope(id identity, scope string) *apiError {
	return newAPIError(http.StatusUnauthorized, "UnauthorizedRequestException",
		"Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException",
		fmt.Sprintf("TF400813: The user '%s' is not authorized to access this resource. The personal access token lacks the required scope %s.", id.UniqueName, scope))
}

// writeRESTAuthFailure answers a REST request whose credential was rejected
// (docs/azure-devops-protocol.md §3, §6): 401 with WWW-Authenticate (challenge) and the envelope; but a
// present, bad or expired PAT, or an unknown Bearer token, without X-TFS-FedAuthRedirect:
// Suppress gets 203 with an HTML sign-in page (reported quirk), and a credential in another
// scheme than Basic or Bearer always gets the 203 page in Services mode ("sending jwt-bearer
// answers 203"). An expired access token always answers 401 VS30063 (text unconfirmed; not
// TF400813), and an Azure DevOps OAuth token while the organization policy is off, or an
// OAuth token of a user who is not a member of the organization, always answers 401
// TF400813 naming the user id, the same text for both (docs/azure-devops-protocol.md §6;
// microsoft/azure-devops-auth-samples#52, #57). The text for a missing or unknown token is
// unconfirmed. p is the caller for authPolicy and authNotMember.
func (s *Server) writeRESTAuthFailure(w http.ResponseWriter, r *http.Request, res authResult, p PAT) {
	suppressed := strings.EqualFold(r.Header.Get("X-TFS-FedAuthRedirect"), "Suppress") && !s.opts.StripsSuppressHeader
	if res == authWrongScheme || (res != authMissing && res != authTokenExpired && res != authPolicy && res != authNotMember && !suppressed) {
		writeSignInPage(w)
		return
	}
	w.Header().Set("WWW-Authenticate", s.challenge(r))
	switch res {
	case authExpired:
		writeAPIError(w, newAPIError(http.StatusUnauthorized, "AccessCheckException",
			"Microsoft.TeamFoundation.Framework.Server.AccessCheckException",
			"Access Denied: The Personal Access Token used has expired."))
	case authTokenExpired:
		writeAPIError(w, errTokenExpired(r))
	case authPolicy, authNotMember:
		id := identityOf(p)
		setUserData(w, id)
		writeAPIError(w, errPolicyDisabled(id))
	default:
		writeAPIError(w, newAPIError(http.StatusUnauthorized, "UnauthorizedRequestException",
			"Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException",
			"TF400813: Resource not available for anonymous access. Client authentication required."))
	}
}

// writeSignInPage writes the 203 answer with the HTML sign-in page (docs/azure-devops-protocol.md §3).
func writeSignInPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNonAuthoritativeInfo)
	_, _ = w.Write([]byte(signInPage))
}

// errTokenExpired answers an expired OAuth access token: 401 "VS30063: You are not
// authorized to access {scheme://host}." (typeKey and exact text unconfirmed; the real text
// names https://dev.azure.com).
func errTokenExpired(r *http.Request) *apiError {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return newAPIError(http.StatusUnauthorized, "UnauthorizedRequestException",
		"Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException",
		"VS30063: You are not authorized to access "+scheme+"://"+r.Host+".")
}

// errPolicyDisabled answers an Azure DevOps OAuth token while the organization policy
// "Third-party application access via OAuth" is off (docs/azure-devops-protocol.md §6).
func errPolicyDisabled(id identity) *apiError {
	return newAPIError(http.StatusUnauthorized, "UnauthorizedRequestException",
		"Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException",
		"TF400813: The user '"+id.ID+"' is not authorized to access this resource.")
}

// writeGitAuthFailure answers git smart HTTP without a usable credential: 401 with
// WWW-Authenticate (challenge) so that git prompts or its credential helper answers.
func (s *Server) writeGitAuthFailure(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", s.challenge(r))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(msg + "\n"))
}

// setUserData sets X-VSS-UserData: {identity id}:{unique name} (docs/azure-devops-protocol.md §4).
func setUserData(w http.ResponseWriter, id identity) {
	w.Header().Set("X-VSS-UserData", id.ID+":"+id.UniqueName)
}

// sid derives a deterministic Windows-style SID from the identity id (descriptor of an
// on-premises identity).
func (id identity) sid() string {
	b := []byte(strings.ReplaceAll(id.ID, "-", ""))
	parts := []string{"S-1-5-21"}
	for i := 0; i+8 <= 24; i += 8 {
		var n uint32
		for _, c := range b[i : i+8] {
			n = n*16 + uint32(hexVal(c))
		}
		parts = append(parts, fmt.Sprint(n))
	}
	return strings.Join(parts, "-") + "-1001"
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 0
}

// subjectDescriptor builds a "win.{base64url SID}" descriptor like on-premises identities have.
func (id identity) subjectDescriptor() string {
	return "win." + base64.RawURLEncoding.EncodeToString([]byte(id.sid()))
}

// signInPage is the HTML a real server sends with the 203 answer (shape only, reported).
const signInPage = `<!DOCTYPE html>
<html><head><title>Azure DevOps Services | Sign In</title></head>
<body><form method="post" action="/_signin"><p>Sign in to your account</p></form></body></html>
`
