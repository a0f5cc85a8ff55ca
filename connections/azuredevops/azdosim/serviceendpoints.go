package azdosim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// serviceEndpoint is a project's service connection (ServiceEndpoint in
// serviceEndpoint/7.1/serviceEndpoint.json).
type serviceEndpoint struct {
	id, name, kind, url string
	ready               bool
	proj                *project
	created             time.Time
}

// AddServiceEndpoint seeds a service connection named name of type kind ("github", "azurerm",
// "generic", ...) in project of collection ("" = default); ready is its isReady. It returns the
// endpoint's id (a GUID). Errors: unknown collection or project, an empty name or type, a name
// already used in the project (names are unique per project, case-insensitively).
func (s *Server) AddServiceEndpoint(collection, project, name, kind string, ready bool) (string, error) {
	if strings.TrimSpace(name) == "" || strings.TrimSpace(kind) == "" {
		return "", fmt.Errorf("azdosim: a service endpoint needs a name and a type")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.collectionLocked(collection)
	if err != nil {
		return "", err
	}
	p := c.findProject(project)
	if p == nil {
		return "", fmt.Errorf("azdosim: unknown project %q", project)
	}
	for _, e := range c.endpoints {
		if e.proj == p && strings.EqualFold(e.name, name) {
			return "", fmt.Errorf("azdosim: service endpoint %q exists in %s", name, p.name)
		}
	}
	e := &serviceEndpoint{id: deterministicID("serviceendpoint", c.name, p.id, name), name: name, kind: kind,
		url: "https://" + strings.ToLower(kind) + ".example/", ready: ready, proj: p, created: time.Now().UTC()}
	c.endpoints = append(c.endpoints, e)
	return e.id, nil
}

// serviceEndpointJSON is a ServiceEndpoint on the wire (the SDK's serviceendpoint/models.go
// ServiceEndpoint; serviceEndpoint/7.1 httpExamples). The simulator never answers secrets:
// authorization carries the scheme only, as the real list does without includeDetails.
type serviceEndpointJSON struct {
	Data                             map[string]string        `json:"data"`
	ID                               string                   `json:"id"`
	Name                             string                   `json:"name"`
	Type                             string                   `json:"type"`
	URL                              string                   `json:"url"`
	CreatedBy                        identityLinkJSON         `json:"createdBy"`
	Description                      string                   `json:"description"`
	Authorization                    map[string]any           `json:"authorization"`
	IsShared                         bool                     `json:"isShared"`
	IsReady                          bool                     `json:"isReady"`
	Owner                            string                   `json:"owner"`
	ServiceEndpointProjectReferences []endpointProjectRefJSON `json:"serviceEndpointProjectReferences"`
}

type endpointProjectRefJSON struct {
	ProjectReference struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"projectReference"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// serveServiceEndpoints answers GET {coll}/{project}/_apis/serviceendpoint/endpoints[/{id}]:
// the project's endpoints sorted by name, filtered by type, endpointNames and endpointIds
// (comma-separated) when given (Endpoints_GetServiceEndpoints in
// serviceEndpoint/7.1/serviceEndpoint.json). Scope vso.serviceendpoint (read),
// vso.serviceendpoint_query or vso.serviceendpoint_manage
// (learn.microsoft.com/azure/devops/integrate/get-started/authentication/oauth#scopes). Not
// ready endpoints are listed too (isReady false; whether includeFailed hides them is
// unconfirmed). Errors: 404 TF200016 for an unknown project; one unknown id answers 204 without a
// body (unconfirmed).
func (s *Server) serveServiceEndpoints(w http.ResponseWriter, r *http.Request, rc restCaller, projName string, tail []string) {
	if !s.anyScope(w, r, rc, "vso.serviceendpoint", "vso.serviceendpoint_query", "vso.serviceendpoint_manage") {
		return
	}
	s.mu.Lock()
	p := rc.coll.findProject(projName)
	var list []*serviceEndpoint
	for _, e := range rc.coll.endpoints {
		if e.proj == p {
			list = append(list, e)
		}
	}
	s.mu.Unlock()
	if p == nil {
		writeAPIError(w, errProjectNotFound(projName))
		return
	}
	q := r.URL.Query()
	set := func(key string) map[string]bool {
		if q.Get(key) == "" {
			return nil
		}
		m := map[string]bool{}
		for _, v := range strings.Split(q.Get(key), ",") {
			m[strings.ToLower(strings.TrimSpace(v))] = true
		}
		return m
	}
	names, ids := set("endpointNames"), set("endpointIds")
	if len(tail) == 1 {
		ids = map[string]bool{strings.ToLower(tail[0]): true}
	}
	kind := q.Get("type")
	out := []serviceEndpointJSON{}
	for _, e := range list {
		if (kind != "" && !strings.EqualFold(kind, e.kind)) || (names != nil && !names[strings.ToLower(e.name)]) ||
			(ids != nil && !ids[strings.ToLower(e.id)]) {
			continue
		}
		ej := serviceEndpointJSON{Data: map[string]string{}, ID: e.id, Name: e.name, Type: e.kind, URL: e.url,
			CreatedBy:     identityLinkJSON{ID: rc.id.ID, DisplayName: rc.id.DisplayName, UniqueName: rc.id.UniqueName},
			Authorization: map[string]any{"parameters": map[string]string{}, "scheme": "Token"},
			IsReady:       e.ready, Owner: "Library"}
		ref := endpointProjectRefJSON{Name: e.name}
		ref.ProjectReference.ID, ref.ProjectReference.Name = p.id, p.name
		ej.ServiceEndpointProjectReferences = []endpointProjectRefJSON{ref}
		out = append(out, ej)
	}
	sortEndpoints(out)
	if len(tail) == 1 {
		if len(out) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, out[0])
		return
	}
	writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
}

func sortEndpoints(out []serviceEndpointJSON) {
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && nameKey(out[j].Name) < nameKey(out[j-1].Name); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
}
