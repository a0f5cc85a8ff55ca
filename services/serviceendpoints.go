package services

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// ServiceEndpoint is one service connection of a project, as GET
// /api/v1/connections/{id}/projects/{projectId}/service-endpoints answers it: id (a GUID),
// name, type ("azurerm", "github", "dockerregistry", ...), isReady (Azure DevOps finished
// setting it up), the URL it points at and its owner ("Library" or "AgentCloud"). Shape of
// ServiceEndpoint in vsts-rest-api-specs specification/serviceEndpoint/7.1/serviceEndpoint.json;
// no authorization data is ever read or answered.
type ServiceEndpoint struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	IsReady bool   `json:"isReady"`
	URL     string `json:"url,omitempty"`
	Owner   string `json:"owner,omitempty"`
}

// MaxProfileServiceEndpoints bounds how many service endpoints a build profile may name.
const MaxProfileServiceEndpoints = 32

// ListServiceEndpoints lists the service connections of a project (name or id) of the
// connection, sorted by name, through the catalog cache like the other catalog lists (one
// upstream call, _apis/serviceendpoint/endpoints, when not cached). Errors: store.ErrNotFound
// (connection), connections.ErrNotFound (project), connections.ErrForbidden naming the scope
// vso.serviceendpoint_query when the credential lacks it (the connection's status is left
// alone: the credential itself works), other forge errors.
func (s *Service) ListServiceEndpoints(ctx context.Context, tenant, connectionID, project string) ([]ServiceEndpoint, error) {
	if err := checkID("projectId", project, "; list them at /api/v1/connections/{id}/projects"); err != nil {
		return nil, err
	}
	return cached(ctx, s, tenant, connectionID, "serviceEndpoints", project, false, fetchServiceEndpoints(project))
}

func fetchServiceEndpoints(project string) func(ctx context.Context, c *azuredevops.Client) ([]ServiceEndpoint, error) {
	return func(ctx context.Context, c *azuredevops.Client) ([]ServiceEndpoint, error) {
		es, err := c.ListServiceEndpoints(ctx, project)
		if err != nil {
			return nil, err
		}
		out := make([]ServiceEndpoint, len(es))
		for i, e := range es {
			out[i] = ServiceEndpoint{ID: strings.ToLower(e.ID), Name: e.Name, Type: e.Type, IsReady: e.IsReady, URL: e.URL, Owner: e.Owner}
		}
		return out, nil
	}
}

// checkServiceEndpoints validates the service endpoint ids a build profile names, field
// "serviceEndpoints" (at most MaxProfileServiceEndpoints) and "serviceEndpoints[i]" (not a
// GUID, listed twice, or not one of the project's service connections). The project's list is
// read from Azure DevOps, not from the catalog cache, so a service connection created a moment
// ago is found. It returns the ids lower-cased, nil for none (no upstream call then). A failing
// listing is returned as it is (nothing may be stored then): connections.ErrForbidden naming
// vso.serviceendpoint_query for a credential without the scope, forge errors otherwise.
func (s *Service) checkServiceEndpoints(ctx context.Context, o *opened, project string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > MaxProfileServiceEndpoints {
		return nil, invalid("serviceEndpoints", "a build profile may name at most %d service endpoints", MaxProfileServiceEndpoints)
	}
	out := make([]string, len(ids))
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		field := fmt.Sprintf("serviceEndpoints[%d]", i)
		id = strings.ToLower(strings.TrimSpace(id))
		if !isGUID(id) {
			return nil, invalid(field, "%s must be a service endpoint id (a GUID); list them at /api/v1/connections/%s/projects/%s/service-endpoints", field, o.rec.ID, project)
		}
		if seen[id] {
			return nil, invalid(field, "%s names %s a second time", field, id)
		}
		seen[id] = true
		out[i] = id
	}
	var listed []ServiceEndpoint
	if err := s.call(ctx, o, func(c *azuredevops.Client) (err error) {
		listed, err = fetchServiceEndpoints(project)(ctx, c)
		return err
	}); err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(listed))
	for _, e := range listed {
		known[e.ID] = true
	}
	for i, id := range out {
		if !known[id] {
			return nil, invalid(fmt.Sprintf("serviceEndpoints[%d]", i), "the project %q has no service endpoint %s that the connection can see; list them at /api/v1/connections/%s/projects/%s/service-endpoints", project, id, o.rec.ID, project)
		}
	}
	return out, nil
}

// profileServiceEndpoints checks ids for the stored profile p (its project id, else name).
func (s *Service) profileServiceEndpoints(ctx context.Context, tenant string, p *store.BuildProfile, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	o, err := s.open(ctx, tenant, p.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
			"the build profile's connection %s is gone", p.ConnectionID)
	} else if err != nil {
		return nil, err
	}
	project := p.ProjectID
	if project == "" {
		project = p.ProjectName
	}
	return s.checkServiceEndpoints(ctx, o, project, ids)
}

// isGUID reports whether s is a lower-case GUID in the 8-4-4-4-12 form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
