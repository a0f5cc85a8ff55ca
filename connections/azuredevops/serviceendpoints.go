package azuredevops

import (
	"context"
	"errors"
	"net/url"
	"sort"

	"github.com/repoconnect/repoconnect/connections"
)

// ServiceEndpointScope is the OAuth scope (PAT permission "Service Endpoints (read, query)")
// ListServiceEndpoints needs.
const ServiceEndpointScope = "vso.serviceendpoint_query"

// ServiceEndpoint is a project's service connection (ServiceEndpoint in vsts-rest-api-specs
// specification/serviceEndpoint/7.1/serviceEndpoint.json): its id (a GUID), name, type
// ("github", "azurerm", "dockerregistry", ...), the URL it points at, whether it is ready to
// use (isReady) and its owner ("Library" or "AgentCloud"). No authorization data is kept.
type ServiceEndpoint struct {
	ID, Name, Type, URL string
	IsReady             bool
	Owner               string
}

type wireServiceEndpoint struct {
	ID      wireText `json:"id"`
	Name    wireText `json:"name"`
	Type    wireText `json:"type"`
	URL     wireText `json:"url"`
	IsReady wireBool `json:"isReady"`
	Owner   wireText `json:"owner"`
}

// ListServiceEndpoints returns the service connections of project (name or id), sorted by
// name: GET {collection}/{project}/_apis/serviceendpoint/endpoints (Endpoints_Get Service
// Endpoints; scope vso.serviceendpoint, which the "Service Endpoints (read, query)" PAT
// permission grants as vso.serviceendpoint_query). Errors: ErrInvalidInput for an empty
// project, ErrNotFound for an unknown project, ErrForbidden (reason forbidden, the message
// naming vso.serviceendpoint_query and how to grant it) for a credential that works but lacks
// the scope, else as every call (ErrUnauthorized when the credential itself is refused).
//
// Azure DevOps answers a missing scope with the same 401 TF400813 as a refused credential
// (docs/azure-devops-protocol.md §6; the simulator's errMissingScope), so a refusal here is told apart with
// one more request, _apis/connectionData, which needs no particular scope: when that succeeds
// the credential is good and only the scope is missing, and the caller must not mark the
// connection broken.
func (c *Client) ListServiceEndpoints(ctx context.Context, project string) ([]ServiceEndpoint, error) {
	if project == "" {
		return nil, invalid("project", "a project is required")
	}
	var l wireList[wireServiceEndpoint]
	// 6.0-preview.4: the resource is in preview (specification/serviceEndpoint/6.0/serviceEndpoint.json).
	q := url.Values{"api-version": {APIVersion + "-preview.4"}}
	if _, err := c.get(ctx, url.PathEscape(project)+"/_apis/serviceendpoint/endpoints", q, lenient(&l)); err != nil {
		return nil, c.scopeRefusal(ctx, err)
	}
	out := make([]ServiceEndpoint, 0, len(l.Value))
	for _, e := range l.Value {
		out = append(out, ServiceEndpoint{ID: string(e.ID), Name: string(e.Name), Type: string(e.Type), URL: string(e.URL),
			IsReady: bool(e.IsReady), Owner: string(e.Owner)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// scopeRefusal turns a refusal (ErrUnauthorized, ErrForbidden, ErrPolicyDisabled) of the
// service endpoints call into ErrForbidden naming ServiceEndpointScope when the credential
// still opens _apis/connectionData; any other error, or a credential refused there too, is
// returned as it is.
func (c *Client) scopeRefusal(ctx context.Context, err error) error {
	if !errors.Is(err, connections.ErrUnauthorized) && !errors.Is(err, connections.ErrForbidden) &&
		!errors.Is(err, connections.ErrPolicyDisabled) {
		return err
	}
	if _, _, cerr := c.connectionData(ctx); cerr != nil {
		return err
	}
	fix := "create a PAT that also has Service Endpoints (Read & query) and update the connection"
	if !c.cred.Bearer.Empty() {
		fix = "add " + ServiceEndpointScope + " to the connection's OAuth scopes (the app must be registered or permitted with it) and authorize again"
	}
	return connections.Errorf(connections.ErrForbidden, connections.ReasonForbidden,
		"the connection's credential lacks the scope %s (Service Endpoints: read, query), needed to list service connections; %s", ServiceEndpointScope, fix)
}
