package azdosim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SetMember sets whether user (an OAuth user as named on the consent page, compared case
// insensitively) is a member of organization org. Every user is a member of every
// organization until this says otherwise. A non-member's OAuth access token (Azure DevOps
// OAuth app or Microsoft Entra) is refused on every REST call and git request to org with 401
// TF400813 naming the user's id, the text the organization policy gives too: real Azure
// DevOps answers so for a user who is not in the organization, or who signed in from another
// directory than the organization's (microsoft/azure-devops-auth-samples#52, #57). The
// profile and accounts APIs at the vssps host keep answering (serveProfileMe,
// serveAccounts), which is how a client tells the cases apart. A user in another directory
// is simulated as a non-member. Error: unknown organization.
func (s *Server) SetMember(org, user string, member bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.findCollectionLocked(org)
	if c == nil {
		return fmt.Errorf("azdosim: unknown organization %q", org)
	}
	k := memberKey(c.name, user)
	if member {
		delete(s.oauth.nonMembers, k)
	} else {
		s.oauth.nonMembers[k] = true
	}
	return nil
}

func memberKey(org, user string) string { return nameKey(org) + "\x00" + userKey(user) }

// isMemberLocked reports whether user is a member of org; the caller holds s.mu.
func (s *Server) isMemberLocked(org, user string) bool {
	return !s.oauth.nonMembers[memberKey(org, user)]
}

// serveVSSPSAPI answers the REST APIs of the vssps host that the simulator has:
// GET /_vssps/_apis/profile/profiles/me and GET /_vssps/_apis/accounts; anything else 404.
func (s *Server) serveVSSPSAPI(w http.ResponseWriter, r *http.Request, segs []string) {
	switch {
	case r.Method != http.MethodGet:
		w.Header().Set("Allow", http.MethodGet)
		writeAPIError(w, newAPIError(http.StatusMethodNotAllowed, "HttpMethodNotAllowedException",
			"Microsoft.VisualStudio.Services.WebApi.HttpMethodNotAllowedException", "The requested resource does not support http method '"+r.Method+"'."))
	case len(segs) == 3 && strings.EqualFold(segs[0], "profile") && strings.EqualFold(segs[1], "profiles") && strings.EqualFold(segs[2], "me"):
		s.serveProfileMe(w, r)
	case len(segs) == 1 && strings.EqualFold(segs[0], "accounts"):
		s.serveAccounts(w, r)
	default:
		http.NotFound(w, r)
	}
}

// vsspsCaller authenticates a request to the vssps host: a PAT (Basic, as for REST) or, in
// Services mode, an OAuth access token of either provider. Neither the organization policy
// nor membership applies there (there is no organization in the request). The scope is not
// checked: the specification names vso.profile, which most scopes include
// (aspnet-contrib/AspNet.Security.OAuth.Providers#155: vso.profile is "included by" a long
// list of scopes; the exact rule for an app without it is unconfirmed). ok false: the
// failure was written.
func (s *Server) vsspsCaller(w http.ResponseWriter, r *http.Request) (PAT, bool) {
	p, res := s.authenticate(r, false, "")
	if res != authOK {
		s.writeRESTAuthFailure(w, r, res, p)
		return PAT{}, false
	}
	setUserData(w, identityOf(p))
	return p, true
}

// wireProfile is the answer of the profile API (specification/profile/7.1/profile.json;
// shape of captured answers: displayName, publicAlias, emailAddress, coreRevision,
// timeStamp, id, revision).
type wireProfile struct {
	DisplayName  string `json:"displayName"`
	PublicAlias  string `json:"publicAlias"`
	EmailAddress string `json:"emailAddress"`
	CoreRevision int    `json:"coreRevision"`
	TimeStamp    string `json:"timeStamp"`
	ID           string `json:"id"`
	Revision     int    `json:"revision"`
}

// serveProfileMe answers GET /_vssps/_apis/profile/profiles/me (stand-in for
// https://app.vssps.visualstudio.com/_apis/profile/profiles/me, learn.microsoft.com
// rest/api/azure/devops/profile/profiles/get: "me" is the authenticated user). The id is the
// identity id that X-VSS-UserData and TF400813 name; publicAlias equals it, as in captured
// answers. The api-version is not checked (unconfirmed for this host).
func (s *Server) serveProfileMe(w http.ResponseWriter, r *http.Request) {
	p, ok := s.vsspsCaller(w, r)
	if !ok {
		return
	}
	id := identityOf(p)
	short := strings.TrimPrefix(id.UniqueName, `DOMAIN\`)
	writeJSON(w, http.StatusOK, wireProfile{DisplayName: id.DisplayName, PublicAlias: id.ID,
		EmailAddress: short + "@fabrikam.example", CoreRevision: 1, Revision: 1, ID: id.ID,
		TimeStamp: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02T15:04:05.0000000+00:00")})
}

// wireAccount is one organization of the accounts API (specification/account/7.1/accounts.json;
// captured answers carry accountId, accountUri, accountName and properties).
type wireAccount struct {
	AccountID   string         `json:"accountId"`
	AccountURI  string         `json:"accountUri"`
	AccountName string         `json:"accountName"`
	Properties  map[string]any `json:"properties"`
}

// serveAccounts answers GET /_vssps/_apis/accounts?memberId={id} (stand-in for
// https://app.vssps.visualstudio.com/_apis/accounts, specification/account/7.1/accounts.json):
// {"count":n,"value":[wireAccount…]} listing the organizations the caller is a member of
// (a PAT's owner: every organization, or those the PAT is limited to; an OAuth user: those
// SetMember did not exclude). accountUri is {host}/{org}/ (the real one names
// https://vssps.dev.azure.com/{org}/). Neither memberId nor ownerId: 400 (the specification
// requires one; text unconfirmed). ownerId, or the id of another member: an empty list
// (unconfirmed; simulated users own no organization).
func (s *Server) serveAccounts(w http.ResponseWriter, r *http.Request) {
	p, ok := s.vsspsCaller(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	memberID := q.Get("memberId")
	if memberID == "" && q.Get("ownerId") == "" {
		writeAPIError(w, newAPIError(http.StatusBadRequest, "ArgumentException", "System.ArgumentException",
			"One of the following parameters is required: ownerId, memberId."))
		return
	}
	accounts := []wireAccount{}
	if strings.EqualFold(memberID, identityOf(p).ID) {
		origin := "http://" + r.Host
		if r.TLS != nil {
			origin = "https://" + r.Host
		}
		s.mu.Lock()
		for _, c := range s.collections {
			if s.memberOfLocked(p, c.name) {
				accounts = append(accounts, wireAccount{AccountID: c.id, AccountURI: origin + "/" + url.PathEscape(c.name) + "/",
					AccountName: c.name, Properties: map[string]any{}})
			}
		}
		s.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(accounts), "value": accounts})
}

// memberOfLocked reports whether the caller p belongs to organization org: a PAT (Token set)
// to every organization it is not limited away from, an OAuth user per SetMember.
func (s *Server) memberOfLocked(p PAT, org string) bool {
	if p.Token == "" {
		return s.isMemberLocked(org, p.UserName)
	}
	if len(p.Collections) == 0 {
		return true
	}
	for _, c := range p.Collections {
		if nameKey(c) == nameKey(org) {
			return true
		}
	}
	return false
}
