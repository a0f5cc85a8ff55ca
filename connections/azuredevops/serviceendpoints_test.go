package azuredevops_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// TestServiceEndpointsScopeRefusal: a PAT that works but lacks vso.serviceendpoint_query is
// ErrForbidden naming the scope (not ErrUnauthorized, which would mark the connection
// broken); a PAT the server does not know stays ErrUnauthorized.
func TestServiceEndpointsScopeRefusal(t *testing.T) {
	sim, c := resultsClient(t, "code-only-pat-0123456789", []string{"vso.code", "vso.project"}, nil)
	if _, err := sim.AddServiceEndpoint("", "Platform", "Production", "azurerm", true); err != nil {
		t.Fatal(err)
	}
	_, err := c.ListServiceEndpoints(context.Background(), "Platform")
	if !errors.Is(err, connections.ErrForbidden) || errors.Is(err, connections.ErrUnauthorized) {
		t.Fatalf("missing scope: %v, want ErrForbidden", err)
	}
	if !strings.Contains(err.Error(), azuredevops.ServiceEndpointScope) || !strings.Contains(err.Error(), "Service Endpoints") {
		t.Fatalf("the refusal does not name the scope and the PAT permission: %v", err)
	}
	sim.AddPAT(azdosim.PAT{Token: "other-pat-0123456789"})
	ep := c.Endpoint()
	bad, err := azuredevops.New(ep, azuredevops.Credential{PAT: connections.Secret("unknown-pat-0123456789")}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.ListServiceEndpoints(context.Background(), "Platform"); !errors.Is(err, connections.ErrUnauthorized) {
		t.Fatalf("unknown PAT: %v, want ErrUnauthorized", err)
	}
}

// TestDefaultScopesDropNotification: the default scopes are the five the service uses;
// vso.notification is not among them but is kept when an operator lists it (an Azure DevOps
// OAuth app registered with it must be asked for it).
func TestDefaultScopesDropNotification(t *testing.T) {
	want := []string{"vso.code", "vso.code_status", "vso.threads_full", "vso.serviceendpoint_query", "vso.project"}
	if !slices.Equal(azuredevops.DefaultScopes, want) {
		t.Fatalf("DefaultScopes %q, want %q", azuredevops.DefaultScopes, want)
	}
	for _, sc := range azuredevops.DefaultScopes {
		if azuredevops.ScopePurposes[sc] == "" {
			t.Errorf("scope %s has no purpose", sc)
		}
	}
	got, err := azuredevops.NormalizeScopes("scopes", []string{strings.Join(append(slices.Clone(want), "vso.notification"), " ")})
	if err != nil || !slices.Contains(got, "vso.notification") || len(got) != 6 {
		t.Fatalf("explicit vso.notification: %q %v", got, err)
	}
}
