package azuredevops

import (
	"context"
	"net/url"
	"sort"
)

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
// project, ErrNotFound for an unknown project, ErrUnauthorized for a credential without the
// scope, else as every call.
func (c *Client) ListServiceEndpoints(ctx context.Context, project string) ([]ServiceEndpoint, error) {
	if project == "" {
		return nil, invalid("project", "a project is required")
	}
	var l wireList[wireServiceEndpoint]
	// 6.0-preview.4: the resource is in preview (specification/serviceEndpoint/6.0/serviceEndpoint.json).
	q := url.Values{"api-version": {APIVersion + "-preview.4"}}
	if _, err := c.get(ctx, url.PathEscape(project)+"/_apis/serviceendpoint/endpoints", q, lenient(&l)); err != nil {
		return nil, err
	}
	out := make([]ServiceEndpoint, 0, len(l.Value))
	for _, e := range l.Value {
		out = append(out, ServiceEndpoint{ID: string(e.ID), Name: string(e.Name), Type: string(e.Type), URL: string(e.URL),
			IsReady: bool(e.IsReady), Owner: string(e.Owner)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
