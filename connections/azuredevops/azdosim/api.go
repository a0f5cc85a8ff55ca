package azdosim

import (
	"net/http"
	"strings"
)

// restCaller is an authenticated REST request with its collection resolved.
type restCaller struct {
	id   identity
	pat  PAT
	coll *collection // nil at server level
	urls urlSet
}

// beginREST runs the checks every REST call goes through, in this order: credential
// (azure-devops.md §3), collection (404 when unknown), X-VSS-UserData, api-version
// (azure-devops.md §1), scope. It writes the failure itself and returns ok false then.
func (s *Server) beginREST(w http.ResponseWriter, r *http.Request, collName string, checkVersion, previewOnly bool, scope string) (restCaller, bool) {
	pat, res := s.authenticate(r, false, collName)
	if res != authOK {
		s.writeRESTAuthFailure(w, r, res, pat)
		return restCaller{}, false
	}
	rc := restCaller{id: identityOf(pat), pat: pat, urls: urlSet{base: s.publicBase(r)}}
	setUserData(w, rc.id)
	if collName != "" {
		s.mu.Lock()
		rc.coll = s.findCollectionLocked(collName)
		s.mu.Unlock()
		if rc.coll == nil {
			writeAPIError(w, errCollectionNotFound(collName))
			return restCaller{}, false
		}
	}
	if checkVersion {
		if e := s.checkAPIVersion(r, previewOnly); e != nil {
			writeAPIError(w, e)
			return restCaller{}, false
		}
	}
	if !hasScope(pat, scope) {
		w.Header().Set("WWW-Authenticate", s.challenge(r))
		writeAPIError(w, errMissingScope(rc.id, scope))
		return restCaller{}, false
	}
	return rc, true
}

// serveAPI answers /_apis/..., /{collection}/_apis/... and /{collection}/{project}/_apis/...
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rt route) {
	rest := rt.rest
	var scope string
	previewOnly := false
	switch {
	case len(rest) == 1 && strings.EqualFold(rest[0], "connectionData") && rt.project == "":
		previewOnly = true
	case rt.coll != "" && rt.project == "" && len(rest) >= 1 && len(rest) <= 2 && strings.EqualFold(rest[0], "projects"):
		scope = "vso.project"
	case rt.coll != "" && len(rest) >= 2 && len(rest) <= 4 && strings.EqualFold(rest[0], "git") && strings.EqualFold(rest[1], "repositories") &&
		(len(rest) != 4 || strings.EqualFold(rest[3], "refs")):
		scope = "vso.code"
	default:
		// Unknown resource: still authenticate first, as the real server does.
		if _, ok := s.beginREST(w, r, rt.coll, false, false, ""); ok {
			writeAPIError(w, errNotFound())
		}
		return
	}
	rc, ok := s.beginREST(w, r, rt.coll, true, previewOnly, scope)
	if !ok {
		return
	}
	if r.Method != http.MethodGet {
		writeAPIError(w, newAPIError(http.StatusMethodNotAllowed, "HttpMethodNotAllowedException",
			"Microsoft.VisualStudio.Services.WebApi.HttpMethodNotAllowedException", "The requested resource does not support http method '"+r.Method+"'."))
		return
	}
	switch {
	case previewOnly:
		s.serveConnectionData(w, r, rc)
	case scope == "vso.project" && len(rest) == 1:
		s.serveProjects(w, r, rc)
	case scope == "vso.project":
		s.serveProject(w, rc, rest[1])
	default:
		s.serveRepositories(w, r, rc, rt.project, rest[2:])
	}
}

// serveConnectionData answers connectionData (azure-devops.md §5): the caller, the instance
// (the collection's id at collection level, the deployment's id at server level), deployment
// type "onPremises" ("hosted" in Services mode) and the public access mapping.
func (s *Server) serveConnectionData(w http.ResponseWriter, r *http.Request, rc restCaller) {
	descriptor, subject := s.descriptors(rc.id)
	user := userJSON{
		ID:                  rc.id.ID,
		Descriptor:          descriptor,
		SubjectDescriptor:   subject,
		ProviderDisplayName: rc.id.DisplayName,
		IsActive:            true,
		Properties: map[string]typedValueJSON{
			"Account": {Type: "System.String", Value: rc.id.UniqueName},
		},
		ResourceVersion: 2,
	}
	instance := s.deployID
	if rc.coll != nil {
		instance = rc.coll.id
	}
	// Service owner of the on-premises framework service (value unconfirmed).
	const owner = "00025394-6065-48ca-87d9-7f5672854ef7"
	writeJSON(w, http.StatusOK, connectionDataJSON{
		AuthenticatedUser: user,
		AuthorizedUser:    user,
		InstanceID:        instance,
		DeploymentID:      s.deployID,
		DeploymentType:    s.deploymentType(),
		LocationServiceData: locationDataJSON{
			ServiceOwner:                owner,
			DefaultAccessMappingMoniker: "PublicAccessMapping",
			LastChangeID:                42,
			LastChangeID64:              42,
			AccessMappings: []accessMappingJSON{{
				DisplayName:  "Public Access Mapping",
				Moniker:      "PublicAccessMapping",
				AccessPoint:  s.accessPoint(rc),
				ServiceOwner: owner,
			}},
		},
	})
}

// projectView renders p; the caller holds s.mu or p's fields are immutable (they are).
func projectView(u urlSet, c *collection, p *project) projectJSON {
	return projectJSON{ID: p.id, Name: p.name, Description: p.description, URL: u.project(c.name, p.id),
		State: "wellFormed", Revision: p.revision, Visibility: "private", LastUpdateTime: p.lastUpdate}
}

// serveProjects answers the project list (azure-devops.md §5): sorted by name, $top default
// 100, X-MS-ContinuationToken when more remain.
func (s *Server) serveProjects(w http.ResponseWriter, r *http.Request, rc restCaller) {
	pr, e := parsePage(r, 100, 100, 0)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	ps := rc.coll.sortedProjects()
	s.mu.Unlock()
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = nameKey(p.name)
	}
	start, end, next := pr.window(keys)
	out := make([]projectJSON, 0, end-start)
	for _, p := range ps[start:end] {
		out = append(out, projectView(rc.urls, rc.coll, p))
	}
	setContinuation(w, next)
	writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
}

// serveProject answers one project by name or id, with _links.
func (s *Server) serveProject(w http.ResponseWriter, rc restCaller, nameOrID string) {
	s.mu.Lock()
	p := rc.coll.findProject(nameOrID)
	s.mu.Unlock()
	if p == nil {
		writeAPIError(w, errProjectNotFound(nameOrID))
		return
	}
	pj := projectView(rc.urls, rc.coll, p)
	pj.Links = linksJSON{
		"self":       {Href: pj.URL},
		"collection": {Href: rc.urls.base + "/_apis/projectCollections/" + rc.coll.id},
		"web":        {Href: rc.urls.collection(rc.coll.name) + "/" + esc(p.name)},
	}
	writeJSON(w, http.StatusOK, pj)
}
