package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// TestOAuthAppRegisteredWithNotification: vso.notification is no longer a default scope, so
// an Azure DevOps OAuth app registered with the former six scopes refuses the default request
// (InvalidScope, scope_mismatch); the operator keeps using it by listing the six scopes, which
// are still accepted.
func TestOAuthAppRegisteredWithNotification(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(azuredevops.DefaultScopes, "vso.notification") {
		t.Fatalf("vso.notification is a default scope: %q", azuredevops.DefaultScopes)
	}
	six := append(slices.Clone(azuredevops.DefaultScopes), "vso.notification")
	e.sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: azdoClientID, ClientSecret: azdoClientSecret,
		Scopes: six, CallbackURL: e.apis[0].URL + "/connector/callback"})
	c := e.create(map[string]any{"name": "older-app"})
	id := c["id"].(string)
	if code, page := e.consent(c["authorizationUrl"].(string), "Ada Lovelace", true); code != http.StatusOK || !strings.Contains(page, "InvalidScope") {
		t.Fatalf("default scopes against a six-scope app: %d %s", code, page)
	}
	wantStatus(t, e.get(id), "not_authorized", "scope_mismatch")
	code, re := e.call("POST", "/api/v1/connections/"+id+"/authorize", map[string]any{"oauth": map[string]any{"scopes": six}})
	if code != http.StatusOK || !strings.Contains(re["authorizationUrl"].(string), "vso.notification") {
		t.Fatalf("re-authorize with the six scopes: %d %v", code, re)
	}
	if code, page := e.consent(re["authorizationUrl"].(string), "Ada Lovelace", true); code != http.StatusOK {
		t.Fatalf("callback: %d %s", code, page)
	}
	wantStatus(t, e.get(id), "authorized", "")
}
