package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

// authorized signs a default-app connection in with the policy on and returns its id.
func (e *oauthEnv) authorized(name string) string {
	e.t.Helper()
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		e.t.Fatal(err)
	}
	id, conn := e.signIn(map[string]any{"name": name}, "Ada Lovelace")
	wantStatus(e.t, conn, "authorized", "")
	return id
}

// An access token past its expiry is refreshed before use (the service's clock moved on), and
// one that Azure DevOps refuses early (expired at the simulator only) is refreshed and the call
// repeated: both calls succeed, with one refresh each.
func TestOAuthRefreshAfterExpiry(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	id := e.authorized("cloud")
	before := e.sim.TokenStats().AzureDevOpsRefreshes

	e.sim.ExpireAccessTokens()
	e.clock.Advance(2 * time.Hour)
	if code, m := e.call("GET", "/api/v1/connections/"+id+"/projects", nil); code != http.StatusOK {
		t.Fatalf("projects after expiry: %d %v", code, m)
	}
	if got := e.sim.TokenStats().AzureDevOpsRefreshes - before; got != 1 {
		t.Fatalf("%d refreshes after expiry, want 1", got)
	}
	e.sim.ExpireAccessTokens() // refused early: the service still believes the token valid
	// (the repositories, not the projects again: those are in the catalog cache now)
	if code, m := e.call("GET", "/api/v1/connections/"+id+"/repositories", nil); code != http.StatusOK {
		t.Fatalf("projects after an early expiry: %d %v", code, m)
	}
	if got := e.sim.TokenStats().AzureDevOpsRefreshes - before; got != 2 {
		t.Fatalf("%d refreshes in all, want 2", got)
	}
	conn := e.get(id)
	wantStatus(t, conn, "authorized", "")
	if exp := conn["oauth"].(map[string]any)["tokenExpiresAt"]; exp == nil {
		t.Fatal("no tokenExpiresAt")
	}
}

// 50 concurrent API calls on a connection whose access token has expired cause exactly one
// refresh at the simulator, across two service instances that share the store: the embedded
// store (one process) and Redis (each instance its own client, as separate processes). The
// calls go to different lists (projects, and repositories of several projects) so that the
// catalog cache's per-key sharing cannot hide a second refresh.
func TestOAuthConcurrentRefreshOnce(t *testing.T) {
	forEachDeployment(t, func(t *testing.T, kind string) {
		testConcurrentRefreshOnce(t, kind)
	})
}

func testConcurrentRefreshOnce(t *testing.T, kind string) {
	e := newOAuthEnvOn(t, kind, azuredevops.ProviderAzureDevOps, 2)
	id := e.authorized("cloud")
	e.sim.ExpireAccessTokens()
	e.clock.Advance(2 * time.Hour)
	before := e.sim.TokenStats().AzureDevOpsRefreshes
	paths := []string{"/projects", "/repositories", "/repositories?project=Platform", "/repositories?project=Fabrikam%20Mobile"}
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = e.callOn(i%2, "GET", "/api/v1/connections/"+id+paths[i%len(paths)], nil)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("call %d answered %d", i, c)
		}
	}
	if got := e.sim.TokenStats().AzureDevOpsRefreshes - before; got != 1 {
		t.Fatalf("%d refresh requests for 50 concurrent calls on two instances, want exactly 1", got)
	}
}

// Revoked consent: the refresh is refused for good, the connection moves to needs_reauth with
// the reason, and re-authorizing the same connection brings it back.
func TestOAuthRevokedConsentNeedsReauth(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	id := e.authorized("cloud")
	if err := e.sim.RevokeAuthorization(azdoClientID, "Ada Lovelace"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	code, m := e.call("GET", "/api/v1/connections/"+id+"/repositories", nil)
	if code != http.StatusUnprocessableEntity || m["code"] != "grant_invalid" {
		t.Fatalf("repositories after revocation: %d %v", code, m)
	}
	conn := e.get(id)
	wantStatus(t, conn, "needs_reauth", "grant_invalid")
	if !strings.Contains(conn["statusMessage"].(string), "authorize the connection again") {
		t.Errorf("message: %v", conn["statusMessage"])
	}
	code, re := e.call("POST", "/api/v1/connections/"+id+"/authorize", map[string]any{})
	if code != http.StatusOK || re["authorizationUrl"] == nil {
		t.Fatalf("re-authorize: %d %v", code, re)
	}
	if code, page := e.consent(re["authorizationUrl"].(string), "Ada Lovelace", true); code != http.StatusOK {
		t.Fatalf("callback: %d %s", code, page)
	}
	wantStatus(t, e.get(id), "authorized", "")
	if code, _ := e.call("GET", "/api/v1/connections/"+id+"/repositories", nil); code != http.StatusOK {
		t.Fatalf("repositories after re-authorization: %d", code)
	}
}

// A regenerated client secret (the default app's, not yet updated in the service) makes the
// refresh fail with invalid_client: needs_reauth, reason client_invalid.
func TestOAuthRegeneratedSecret(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	id := e.authorized("cloud")
	if _, err := e.sim.RegenerateClientSecret(azdoClientID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	if code, m := e.call("GET", "/api/v1/connections/"+id+"/projects", nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("projects: %d %v", code, m)
	}
	wantStatus(t, e.get(id), "needs_reauth", "client_invalid")
}

// InvalidScope: the app registered fewer scopes than the connection asks for; the callback
// ends in not_authorized/scope_mismatch naming the scopes, and re-authorizing with the app's
// scopes works.
func TestOAuthInvalidScope(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	c := e.create(map[string]any{"name": "narrow", "oauth": map[string]any{"scopes": []string{"vso.code", "vso.work_full"}}})
	id := c["id"].(string)
	if code, page := e.consent(c["authorizationUrl"].(string), "Ada Lovelace", true); code != http.StatusOK || !strings.Contains(page, "InvalidScope") {
		t.Fatalf("callback page: %d %s", code, page)
	}
	conn := e.get(id)
	wantStatus(t, conn, "not_authorized", "scope_mismatch")
	if msg := conn["statusMessage"].(string); !strings.Contains(msg, "vso.code vso.work_full") || !strings.Contains(msg, "registered") {
		t.Errorf("message: %s", msg)
	}
	code, re := e.call("POST", "/api/v1/connections/"+id+"/authorize", map[string]any{"oauth": map[string]any{"scopes": azuredevops.DefaultScopes}})
	if code != http.StatusOK {
		t.Fatalf("re-authorize: %d %v", code, re)
	}
	if code, page := e.consent(re["authorizationUrl"].(string), "Ada Lovelace", true); code != http.StatusOK {
		t.Fatalf("callback: %d %s", code, page)
	}
	wantStatus(t, e.get(id), "authorized", "")
}

// Declined consent and deauthorization end in clear states.
func TestOAuthDeclineAndDeauthorize(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	c := e.create(map[string]any{"name": "declined"})
	e.consent(c["authorizationUrl"].(string), "Ada Lovelace", false)
	wantStatus(t, e.get(c["id"].(string)), "not_authorized", "access_denied")

	id := e.authorized("cloud")
	code, m := e.call("POST", "/api/v1/connections/"+id+"/deauthorize", nil)
	if code != http.StatusOK {
		t.Fatalf("deauthorize: %d %v", code, m)
	}
	wantStatus(t, m, "not_authorized", "deauthorized")
	if code, m := e.call("GET", "/api/v1/connections/"+id+"/projects", nil); code != http.StatusUnprocessableEntity || m["code"] != "not_authorized" {
		t.Fatalf("projects after deauthorize: %d %v", code, m)
	}
}

// A per-connection app whose secret expires within 14 days is flagged on the connection.
func TestOAuthClientSecretExpiryWarning(t *testing.T) {
	e := newOAuthEnv(t, "", 1)
	exp := e.clock.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339)
	c := e.create(map[string]any{"name": "own", "oauth": map[string]any{"provider": "azure-devops",
		"clientId": azdoClientID, "clientSecret": azdoClientSecret, "clientSecretExpiresAt": exp}})
	w := fmt.Sprint(c["warnings"])
	if !strings.Contains(w, "client_secret_expiring") || !strings.Contains(w, "in 9 days") && !strings.Contains(w, "in 10 days") {
		t.Fatalf("warnings: %s", w)
	}
	e.clock.Advance(11 * 24 * time.Hour)
	if w := fmt.Sprint(e.get(c["id"].(string))["warnings"]); !strings.Contains(w, "client_secret_expired") {
		t.Fatalf("warnings after expiry: %s", w)
	}
}
