package azdosim

import (
	"net/http"
	"strconv"
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
// (docs/azure-devops-protocol.md §3), collection (404 when unknown), X-VSS-UserData, api-version
// (docs/azure-devops-protocol.md §1), scope. It writes the failure itself and returns ok false then.
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

// apiKind is the resource an _apis request addresses.
type apiKind int

const (
	apiUnknown apiKind = iota
	apiLocations
	apiResourceAreas
	apiConnectionData
	apiProjects
	apiRepositories
	apiProjectPullRequests
	apiHooks
	apiServiceEndpoints
)

// apiTarget is a classified _apis request: its kind, the route name faults and counts use
// (faults.go routeName), the PAT scope it needs and whether it is preview-only.
type apiTarget struct {
	kind        apiKind
	name, scope string
	previewOnly bool
	// writable: POST and PATCH are served too (issue 17's resources; their handlers check
	// the scope per method, scope is then "").
	writable bool
}

// classifyAPI maps the segments after _apis (at deployment, collection or project level) to
// the resource they address. Shapes:
//
//	OPTIONS _apis, _apis/{area}                      locations (deployment or collection level)
//	_apis/ResourceAreas[/{areaId}]                   resourceAreas
//	_apis/connectionData                             connectionData (not at project level)
//	{coll}/_apis/projects[/{id}]                     projects
//	{coll}[/{project}]/_apis/git/repositories[/{id}[/refs[/{*filter}]|/items[/{*path}]|
//	    /commits[/{id}]|/pullRequests[/{n}]]]        refs, items, commits, pullRequests, repositories
//	{coll}[/{project}]/_apis/git/pullRequests[/{n}]  pullRequests (by project, or one by id)
//	{coll}/_apis/hooks/subscriptions[/{id}]          hooksSubscriptions (GET: vso.hooks;
//	                                                 POST, PUT, DELETE: vso.hooks_write; hooks.go)
//	.../repositories/{id}/commits/{sha}/statuses     commitStatuses (GET, POST)
//	.../repositories/{id}/pullRequests[/{n}] POST/PATCH               pullRequestWrites
//	.../pullRequests/{n}/iterations[/{it}]           pullRequests
//	.../pullRequests/{n}[/iterations/{it}]/statuses  pullRequestStatuses (GET, POST)
//	.../pullRequests/{n}/threads[/{t}[/comments[/{c}]]]  threads (GET, POST, PATCH)
//	{coll}/{project}/_apis/serviceendpoint/endpoints[/{id}]  serviceEndpoints
func classifyAPI(method string, rt route) apiTarget {
	rest := rt.rest
	is := func(i int, name string) bool { return len(rest) > i && strings.EqualFold(rest[i], name) }
	switch {
	case method == http.MethodOptions && len(rest) <= 1 && rt.project == "":
		return apiTarget{kind: apiLocations, name: "locations"}
	case is(0, "ResourceAreas") && len(rest) <= 2 && rt.project == "":
		return apiTarget{kind: apiResourceAreas, name: "resourceAreas"}
	case len(rest) == 1 && is(0, "connectionData") && rt.project == "":
		return apiTarget{kind: apiConnectionData, name: "connectionData", previewOnly: true}
	case rt.coll != "" && rt.project == "" && len(rest) >= 1 && len(rest) <= 2 && is(0, "projects"):
		return apiTarget{kind: apiProjects, name: "projects", scope: "vso.project"}
	case rt.coll != "" && rt.project == "" && is(0, "hooks") && is(1, "subscriptions") && len(rest) <= 3:
		scope := hooksWriteScope
		if method == http.MethodGet {
			scope = hooksReadScope
		}
		return apiTarget{kind: apiHooks, name: "hooksSubscriptions", scope: scope}
	case rt.coll != "" && is(0, "git") && is(1, "pullRequests") && len(rest) <= 3:
		return apiTarget{kind: apiProjectPullRequests, name: "pullRequests", scope: "vso.code"}
	case rt.coll != "" && rt.project != "" && is(0, "serviceendpoint") && is(1, "endpoints") && len(rest) <= 3:
		return apiTarget{kind: apiServiceEndpoints, name: "serviceEndpoints"}
	case rt.coll != "" && is(0, "git") && is(1, "repositories"):
		write := method == http.MethodPost || method == http.MethodPatch
		switch {
		case is(3, "commits") && len(rest) == 6 && is(5, "statuses"):
			return apiTarget{kind: apiRepositories, name: "commitStatuses", writable: true}
		case is(3, "pullRequests") && len(rest) >= 6 && (is(5, "statuses") || is(5, "iterations") && is(7, "statuses")):
			return apiTarget{kind: apiRepositories, name: "pullRequestStatuses", writable: true}
		case is(3, "pullRequests") && len(rest) >= 6 && len(rest) <= 9 && is(5, "threads"):
			return apiTarget{kind: apiRepositories, name: "threads", writable: true}
		case is(3, "pullRequests") && len(rest) >= 6 && len(rest) <= 7 && is(5, "iterations"):
			return apiTarget{kind: apiRepositories, name: "pullRequests", scope: "vso.code"}
		case is(3, "pullRequests") && len(rest) <= 5 && write:
			return apiTarget{kind: apiRepositories, name: "pullRequestWrites", scope: "vso.code_write", writable: true}
		case len(rest) <= 3:
			return apiTarget{kind: apiRepositories, name: "repositories", scope: "vso.code"}
		case is(3, "refs"):
			return apiTarget{kind: apiRepositories, name: "refs", scope: "vso.code"}
		case is(3, "items"):
			return apiTarget{kind: apiRepositories, name: "items", scope: "vso.code"}
		case is(3, "commits") && len(rest) <= 5:
			return apiTarget{kind: apiRepositories, name: "commits", scope: "vso.code"}
		case is(3, "pullRequests") && len(rest) <= 5:
			return apiTarget{kind: apiRepositories, name: "pullRequests", scope: "vso.code"}
		}
	}
	return apiTarget{kind: apiUnknown, name: "api"}
}

// serveAPI answers /_apis/..., /{collection}/_apis/... and /{collection}/{project}/_apis/...
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rt route) {
	t := classifyAPI(r.Method, rt)
	if t.kind == apiUnknown {
		// Unknown resource: still authenticate first, as the real server does.
		if _, ok := s.beginREST(w, r, rt.coll, false, false, ""); ok {
			writeAPIError(w, errNotFound())
		}
		return
	}
	rc, ok := s.beginREST(w, r, rt.coll, t.kind != apiLocations, t.previewOnly, t.scope)
	if !ok {
		return
	}
	if t.kind == apiLocations {
		area := ""
		if len(rt.rest) == 1 {
			area = rt.rest[0]
		}
		s.serveResourceLocations(w, rt.coll != "", area)
		return
	}
	if t.kind == apiHooks {
		s.serveHooks(w, r, rc, rt.rest[2:])
		return
	}
	if r.Method != http.MethodGet && !(t.writable && (r.Method == http.MethodPost || r.Method == http.MethodPatch)) {
		writeAPIError(w, newAPIError(http.StatusMethodNotAllowed, "HttpMethodNotAllowedException",
			"Microsoft.VisualStudio.Services.WebApi.HttpMethodNotAllowedException", "The requested resource does not support http method '"+r.Method+"'."))
		return
	}
	rest := rt.rest
	switch t.kind {
	case apiResourceAreas:
		areaID := ""
		if len(rest) == 2 {
			areaID = rest[1]
		}
		s.serveResourceAreas(w, rc, areaID)
	case apiConnectionData:
		s.serveConnectionData(w, r, rc)
	case apiProjects:
		if len(rest) == 1 {
			s.serveProjects(w, r, rc)
		} else {
			s.serveProject(w, rc, rest[1])
		}
	case apiProjectPullRequests:
		s.serveProjectPullRequests(w, r, rc, rt.project, rest[2:])
	case apiServiceEndpoints:
		s.serveServiceEndpoints(w, r, rc, rt.project, rest[2:])
	default:
		s.serveRepositories(w, r, rc, rt.project, rest[2:])
	}
}

// serveConnectionData answers connectionData (docs/azure-devops-protocol.md §5): the caller, the instance
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

// serveProjects answers the project list (docs/azure-devops-protocol.md §5): sorted by name, $top default
// 100. Paging follows core/7.1 core.json and the Go SDK (core/client.go GetProjectsArgs):
// continuationToken is an integer, "how many projects already been fetched", i.e. the index of
// the first project to answer; $skip is the same offset when no token is given (a token wins
// over $skip). When more remain, X-MS-ContinuationToken carries the next offset in decimal.
// Errors (400): a $top, $skip or token that is not a non-negative integer.
func (s *Server) serveProjects(w http.ResponseWriter, r *http.Request, rc restCaller) {
	q := r.URL.Query()
	top, e := nonNegativeParam(q.Get("$top"), "$top", 100)
	if e == nil && top == 0 {
		top = 100
	}
	var skip, token int
	if e == nil {
		skip, e = nonNegativeParam(q.Get("$skip"), "$skip", 0)
	}
	if e == nil {
		token, e = nonNegativeParam(q.Get("continuationToken"), "continuationToken", -1)
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	start := skip
	if token >= 0 {
		start = token
	}
	s.mu.Lock()
	ps := rc.coll.sortedProjects()
	s.mu.Unlock()
	start = min(start, len(ps))
	end := min(start+top, len(ps))
	out := make([]projectJSON, 0, end-start)
	for _, p := range ps[start:end] {
		out = append(out, projectView(rc.urls, rc.coll, p))
	}
	if end < len(ps) {
		setContinuation(w, strconv.Itoa(end))
	}
	writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
}

// nonNegativeParam parses a non-negative integer query value; def when raw is "". Error: 400
// naming the parameter (text unconfirmed).
func nonNegativeParam(raw, name string, def int) (int, *apiError) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, errBadArgument("The value '" + raw + "' of parameter " + name + " is not valid.")
	}
	return n, nil
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
