package azdosim

import (
	"net/http"
	"strings"
	"testing"
)

// request sends method url with Basic ":testPAT" and the given Accept header.
func request(t *testing.T, method, url, accept string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("", testPAT)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return send(t, req)
}

// TestAPIVersionFromAcceptHeader: the api-version is read from the query and, without one
// there, from the Accept header, with the same errors either way.
func TestAPIVersionFromAcceptHeader(t *testing.T) {
	s := startServer(t, Options{Seed: true, ServerVersion: "2022.1"})
	projects := s.URL() + "/DefaultCollection/_apis/projects"
	cases := []struct {
		name, method, query, accept string
		status                      int
		typeKey, msg                string
	}{
		{"accept in range", "GET", "", "application/json;api-version=7.1", 200, "", ""},
		{"accept preview with resource version", "GET", "", "application/json;api-version=7.1-preview.4", 200, "", ""},
		{"accept with spaces and a second range", "GET", "", "text/html, application/json; api-version=7.0", 200, "", ""},
		{"accept out of range", "GET", "", "application/json;api-version=9.9", 400, "VssVersionOutOfRangeException", "The requested REST API version of 9.9 is out of range for this server. The latest REST API version this server supports is 7.1."},
		{"accept malformed", "GET", "", "application/json;api-version=seven", 400, "VssInvalidApiVersionException", "seven"},
		{"query wins over accept", "GET", "?api-version=7.0", "application/json;api-version=9.9", 200, "", ""},
		{"query out of range", "GET", "?api-version=7.2-preview.1", "application/json;api-version=7.0", 400, "VssVersionOutOfRangeException", "supports is 7.1."},
		{"no version on GET", "GET", "", "application/json", 200, "", ""},
		{"no version on POST", "POST", "", "application/json", 400, "VssVersionNotSpecifiedException", `No api-version was supplied for the "POST" request.`},
		{"version on POST reaches the resource", "POST", "", "application/json;api-version=7.1", 405, "HttpMethodNotAllowedException", "POST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := request(t, c.method, projects+c.query, c.accept)
			if c.typeKey == "" {
				mustStatus(t, a, c.status)
				return
			}
			wantEnvelope(t, a, c.status, c.typeKey, c.msg)
		})
	}
	// connectionData is preview-only through the Accept header as through the query.
	a := request(t, http.MethodGet, s.URL()+"/DefaultCollection/_apis/connectionData", "application/json;api-version=7.1")
	wantEnvelope(t, a, 400, "VssInvalidPreviewVersionException", "-preview")
}

// TestResourceLocations: OPTIONS {base}/_apis lists the locations Microsoft's clients read, per
// level and per area, with the server's ceiling as maxVersion; ResourceAreas is empty on a
// server and names the organization in Services mode.
func TestResourceLocations(t *testing.T) {
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs", ServerVersion: "2020"})
	type loc struct {
		ID, Area, ResourceName, RouteTemplate   string
		ResourceVersion                         int
		MinVersion, MaxVersion, ReleasedVersion string
	}
	var list struct {
		Count int   `json:"count"`
		Value []loc `json:"value"`
	}
	a := request(t, http.MethodOptions, s.URL()+"/DefaultCollection/_apis", "application/json")
	mustStatus(t, a, 200)
	a.json(t, &list)
	byID := map[string]loc{}
	for _, l := range list.Value {
		byID[l.ID] = l
	}
	projects := byID["603fe2ac-9723-48b9-88ad-09305aa6c6e1"]
	if list.Count != len(resourceLocations) || projects.RouteTemplate != "_apis/{resource}/{*projectId}" || projects.Area != "core" ||
		projects.MaxVersion != "6.0" || projects.ReleasedVersion != "6.0" || projects.ResourceVersion != 4 {
		t.Fatalf("collection locations (%d): %+v", list.Count, projects)
	}
	if cd := byID["00d9565f-ed9c-4a06-9a50-00e7896ccab4"]; cd.ReleasedVersion != "0.0" || cd.ResourceName != "ConnectionData" {
		t.Errorf("connectionData location %+v", cd)
	}
	// One area, case-insensitively (what the Node SDK asks).
	a = request(t, http.MethodOptions, s.URL()+"/DefaultCollection/_apis/GIT", "application/json")
	mustStatus(t, a, 200)
	a.json(t, &list)
	for _, l := range list.Value {
		if l.Area != "git" {
			t.Fatalf("OPTIONS _apis/git listed %+v", l)
		}
	}
	if list.Count != 12 { // 7, and issue 17's statuses, pullRequestStatuses, iterations, threads, comments
		t.Fatalf("git locations: %d", list.Count)
	}
	// Deployment level: the Location area only.
	a = request(t, http.MethodOptions, s.URL()+"/_apis", "application/json")
	mustStatus(t, a, 200)
	a.json(t, &list)
	if list.Count != 2 {
		t.Fatalf("deployment locations: %+v", list.Value)
	}
	// Unauthenticated: refused like any REST call.
	req, _ := http.NewRequest(http.MethodOptions, s.URL()+"/DefaultCollection/_apis", nil)
	mustStatus(t, send(t, req), http.StatusUnauthorized)
	// ResourceAreas on a server: an empty list (the SDK then stays on the collection URL).
	a = request(t, http.MethodGet, s.URL()+"/DefaultCollection/_apis/ResourceAreas", "application/json;api-version=5.1-preview.1")
	mustStatus(t, a, 200)
	if !strings.Contains(string(a.body), `"count":0`) {
		t.Fatalf("server ResourceAreas %s", a.body)
	}

	svc := startServer(t, Options{Services: true, Seed: true})
	a = request(t, http.MethodGet, svc.URL()+"/fabrikam/_apis/ResourceAreas?api-version=5.1-preview.1", "")
	mustStatus(t, a, 200)
	var areas struct {
		Count int                                      `json:"count"`
		Value []struct{ ID, Name, LocationURL string } `json:"value"`
	}
	a.json(t, &areas)
	if areas.Count != 3 || areas.Value[0].ID != coreAreaID || areas.Value[1].ID != gitAreaID || areas.Value[2].ID != serviceEndpointAreaID || areas.Value[0].LocationURL != svc.URL()+"/fabrikam/" {
		t.Fatalf("services ResourceAreas %s", a.body)
	}
	a = request(t, http.MethodGet, svc.URL()+"/fabrikam/_apis/ResourceAreas/"+gitAreaID, "application/json;api-version=7.1-preview")
	mustStatus(t, a, 200)
	a = request(t, http.MethodGet, svc.URL()+"/fabrikam/_apis/ResourceAreas/00000000-0000-0000-0000-000000000001", "application/json;api-version=7.1-preview")
	mustStatus(t, a, 404)
}

// TestProjectsIntegerTokenAndSkip: the continuation token is the offset of the next project
// and $skip is honoured.
func TestProjectsIntegerTokenAndSkip(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	for _, n := range []string{"Alpha", "Zeta"} {
		if _, err := s.AddProject("", n); err != nil {
			t.Fatal(err)
		}
	}
	base := s.URL() + "/DefaultCollection/_apis/projects?api-version=7.0"
	names := func(a answer) string {
		var list struct {
			Value []struct{ Name string } `json:"value"`
		}
		a.json(t, &list)
		var out []string
		for _, p := range list.Value {
			out = append(out, p.Name)
		}
		return strings.Join(out, ",")
	}
	a := get(t, base+"&$top=2", testPAT, false)
	if names(a) != "Alpha,Fabrikam Mobile" || a.header.Get("X-MS-ContinuationToken") != "2" {
		t.Fatalf("first page %s token %q", a.body, a.header.Get("X-MS-ContinuationToken"))
	}
	a = get(t, base+"&$top=2&continuationToken=2", testPAT, false)
	if names(a) != "Platform,Zeta" || a.header.Get("X-MS-ContinuationToken") != "" {
		t.Fatalf("second page %s token %q", a.body, a.header.Get("X-MS-ContinuationToken"))
	}
	a = get(t, base+"&$skip=3", testPAT, false)
	if names(a) != "Zeta" {
		t.Fatalf("$skip 3: %s", a.body)
	}
	a = get(t, base+"&$skip=9", testPAT, false)
	if names(a) != "" || a.header.Get("X-MS-ContinuationToken") != "" {
		t.Fatalf("$skip past the end: %s", a.body)
	}
	for _, bad := range []string{"&continuationToken=-1", "&continuationToken=QWxwaGE", "&$skip=x", "&$top=-2"} {
		wantEnvelope(t, get(t, base+bad, testPAT, false), 400, "InvalidArgumentValueException", "is not valid")
	}
}

// TestRouteNamesOfNewResources: faults can name the resources Microsoft's clients use.
func TestRouteNamesOfNewResources(t *testing.T) {
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs"})
	repo := "/tfs/DefaultCollection/Platform/_apis/git/repositories/Platform"
	cases := []struct{ method, path, want string }{
		{http.MethodOptions, "/tfs/DefaultCollection/_apis", "locations"},
		{http.MethodOptions, "/tfs/_apis/git", "locations"},
		{http.MethodGet, "/tfs/DefaultCollection/_apis/ResourceAreas", "resourceAreas"},
		{http.MethodGet, "/tfs/DefaultCollection/_apis/connectionData", "connectionData"},
		{http.MethodGet, "/tfs/DefaultCollection/_apis/projects", "projects"},
		{http.MethodGet, repo, "repositories"},
		{http.MethodGet, repo + "/refs", "refs"},
		{http.MethodGet, repo + "/refs/heads/main", "refs"},
		{http.MethodGet, repo + "/items", "items"},
		{http.MethodGet, repo + "/commits", "commits"},
		{http.MethodGet, repo + "/pullRequests/3", "pullRequests"},
		{http.MethodGet, "/tfs/DefaultCollection/Platform/_apis/git/pullrequests", "pullRequests"},
		{http.MethodGet, "/tfs/DefaultCollection/_apis/wit/workitems", "api"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, "http://h"+c.path, nil)
		if got := s.routeName(req); got != c.want {
			t.Errorf("%s %s: route %q, want %q", c.method, c.path, got, c.want)
		}
	}
	// A fault on the new route hits the SDK's first request.
	s.AddFault(Fault{Route: "locations", Kind: Fault503, Count: 1})
	mustStatus(t, request(t, http.MethodOptions, s.URL()+"/DefaultCollection/_apis", "application/json"), http.StatusServiceUnavailable)
	mustStatus(t, request(t, http.MethodOptions, s.URL()+"/DefaultCollection/_apis", "application/json"), http.StatusOK)
}
