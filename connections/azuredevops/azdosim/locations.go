package azdosim

import (
	"net/http"
	"strings"
)

// resourceLocation is one row of the resource-location table (ApiResourceLocation): what
// Microsoft's clients read from `OPTIONS {base}/_apis` to build a request URL from a location
// id (azure-devops-go-api azuredevops/v7/client.go getResourceLocationsFromServer,
// GenerateUrl). Ids, areas, resource names and route templates are the real service's: the
// ids are the ones the SDK's generated clients send (core/client.go, git/client.go,
// location/client.go); the route templates are those the real OPTIONS answer lists (quoted in
// MicrosoftDocs/azure-devops-docs#1567 and in captured answers).
type resourceLocation struct {
	id, area, resource, route string
	minVersion                string
	resourceVersion           int
	previewOnly               bool   // releasedVersion "0.0": no released version
	collection                bool   // served under a collection only, not at deployment level
	resourceAreaID            string // the area's id in ResourceAreas ("" = not listed there)
}

// Resource area ids (the SDK's core/client.go and git/client.go ResourceAreaId).
const (
	coreAreaID = "79134c72-4a58-4b42-976c-04e7115f32bf"
	gitAreaID  = "4e080c62-fa21-4fbc-8fef-2a10a2b38049"
	// serviceEndpointAreaID is the SDK's serviceendpoint/client.go ResourceAreaId.
	serviceEndpointAreaID = "1814ab31-2f4f-4a9f-8761-f4d77dc5a5d7"
)

// resourceLocations lists the resources the simulator serves. Add a row when serving a new
// resource so that Microsoft's clients find it.
var resourceLocations = []resourceLocation{
	{id: "e81700f7-3be2-46de-8624-2eb35882fcaa", area: "Location", resource: "ResourceAreas", route: "_apis/{resource}/{areaId}", minVersion: "3.2", resourceVersion: 1, previewOnly: true},
	{id: "00d9565f-ed9c-4a06-9a50-00e7896ccab4", area: "Location", resource: "ConnectionData", route: "_apis/{resource}", minVersion: "1.0", resourceVersion: 1, previewOnly: true},
	{id: "603fe2ac-9723-48b9-88ad-09305aa6c6e1", area: "core", resource: "projects", route: "_apis/{resource}/{*projectId}", minVersion: "1.0", resourceVersion: 4, collection: true, resourceAreaID: coreAreaID},
	{id: "225f7195-f9c7-4d14-ab28-a83f7ff77e1f", area: "git", resource: "repositories", route: "{project}/_apis/{area}/{resource}/{repositoryId}", minVersion: "1.0", resourceVersion: 1, collection: true, resourceAreaID: gitAreaID},
	{id: "2d874a60-a811-4f62-9c9f-963a6ea0a55b", area: "git", resource: "refs", route: "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}", minVersion: "1.0", resourceVersion: 1, collection: true},
	{id: "fb93c0db-47ed-4a31-8c20-47552878fb44", area: "git", resource: "items", route: "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*path}", minVersion: "1.0", resourceVersion: 1, collection: true},
	{id: "c2570c3b-5b3f-41b8-98bf-5407bfde8d58", area: "git", resource: "commits", route: "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{commitId}", minVersion: "1.0", resourceVersion: 1, collection: true},
	{id: "9946fd70-0d40-406e-b686-b4744cbbcc37", area: "git", resource: "pullRequests", route: "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{pullRequestId}", minVersion: "1.0", resourceVersion: 1, collection: true},
	{id: "a5d28130-9cd2-40fa-9f08-902e7daa9efb", area: "git", resource: "pullRequests", route: "{project}/_apis/{area}/{resource}", minVersion: "1.0", resourceVersion: 1, collection: true},
	// Issue 17 (statuses.go, threads.go, iterations.go, serviceendpoints.go): location ids from
	// the SDK's git/client.go and serviceendpoint/client.go.
	{id: "428dd4fb-fda5-4722-af02-9313b80305da", area: "git", resource: "statuses", route: "{project}/_apis/{area}/repositories/{repositoryId}/commits/{commitId}/{resource}", minVersion: "2.1", resourceVersion: 1, collection: true},
	{id: "b5f6bb4f-8d1e-4d79-8d11-4c9172c99c35", area: "git", resource: "pullRequestStatuses", route: "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/statuses/{statusId}", minVersion: "4.0", resourceVersion: 1, collection: true},
	{id: "d43911ee-6958-46b0-a42b-8445b8a0d004", area: "git", resource: "pullRequestIterations", route: "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/iterations/{iterationId}", minVersion: "2.0", resourceVersion: 2, collection: true},
	{id: "ab6e2e5d-a0b7-4153-b64a-a4efe0d49449", area: "git", resource: "pullRequestThreads", route: "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}", minVersion: "3.0", resourceVersion: 1, collection: true},
	{id: "965a3ec7-5ed8-455a-bdcb-835a5ea7fe7b", area: "git", resource: "pullRequestThreadComments", route: "{project}/_apis/{area}/repositories/{repositoryId}/pullRequests/{pullRequestId}/threads/{threadId}/comments/{commentId}", minVersion: "3.0", resourceVersion: 1, collection: true},
	{id: "e85f1c62-adfc-4b74-b618-11a150fb195e", area: "serviceendpoint", resource: "endpoints", route: "{project}/_apis/{area}/{resource}/{endpointId}", minVersion: "5.0", resourceVersion: 4, collection: true, resourceAreaID: serviceEndpointAreaID},
	{id: "01a46dea-7d46-4d40-bc84-319e7c260d99", area: "git", resource: "pullRequests", route: "{project}/_apis/{area}/{resource}/{pullRequestId}", minVersion: "1.0", resourceVersion: 1, collection: true},
}

// apiResourceLocationJSON is the wire form of a location (the SDK's models.go
// ApiResourceLocation: versions are strings, resourceVersion a number).
type apiResourceLocationJSON struct {
	ID              string `json:"id"`
	Area            string `json:"area"`
	ResourceName    string `json:"resourceName"`
	RouteTemplate   string `json:"routeTemplate"`
	ResourceVersion int    `json:"resourceVersion"`
	MinVersion      string `json:"minVersion"`
	MaxVersion      string `json:"maxVersion"`
	ReleasedVersion string `json:"releasedVersion"`
}

// resourceAreaJSON is one entry of ResourceAreas (the SDK's models.go ResourceAreaInfo).
type resourceAreaJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	LocationURL string `json:"locationUrl"`
}

// serveResourceLocations answers `OPTIONS {base}/_apis[/{area}]`: the locations of the
// resources served at that level (deployment level: the Location area only), filtered by area
// when one is named (case-insensitively), as `{"count":N,"value":[...]}`. maxVersion is the
// server's ceiling; releasedVersion the newest released version not above it ("0.0" for
// preview-only resources). The caller has authenticated the request.
func (s *Server) serveResourceLocations(w http.ResponseWriter, atCollection bool, area string) {
	released := s.releasedVersion()
	if released.greater(s.ceiling) {
		released = s.ceiling
	}
	out := make([]apiResourceLocationJSON, 0, len(resourceLocations))
	for _, l := range resourceLocations {
		if (l.collection && !atCollection) || (area != "" && !strings.EqualFold(area, l.area)) {
			continue
		}
		rel := released.String()
		if l.previewOnly {
			rel = "0.0"
		}
		out = append(out, apiResourceLocationJSON{ID: l.id, Area: l.area, ResourceName: l.resource,
			RouteTemplate: l.route, ResourceVersion: l.resourceVersion, MinVersion: l.minVersion,
			MaxVersion: s.ceiling.String(), ReleasedVersion: rel})
	}
	writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
}

// serveResourceAreas answers `GET {base}/_apis/ResourceAreas[/{areaId}]`. In Services mode,
// at an organization, it lists the areas the simulator serves (core, git) with locationUrl the
// organization URL with a trailing slash, as dev.azure.com answers; the SDK then sends every
// call of that area to locationUrl (connection.go GetClientByResourceAreaId). On a server, and
// at deployment level, the list is empty: "on prem servers return an empty list" (the SDK's
// connection.go getResourceAreaInfo), and the SDK uses the URL it was given. One area by id:
// that entry, or 404 when it is not listed.
func (s *Server) serveResourceAreas(w http.ResponseWriter, rc restCaller, areaID string) {
	out := []resourceAreaJSON{}
	if s.opts.Services && rc.coll != nil {
		for _, l := range resourceLocations {
			if l.resourceAreaID != "" {
				out = append(out, resourceAreaJSON{ID: l.resourceAreaID, Name: l.area,
					LocationURL: rc.urls.collection(rc.coll.name) + "/"})
			}
		}
	}
	if areaID == "" {
		writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
		return
	}
	for _, a := range out {
		if strings.EqualFold(a.ID, areaID) || strings.EqualFold(a.Name, areaID) {
			writeJSON(w, http.StatusOK, a)
			return
		}
	}
	writeAPIError(w, errNotFound())
}
