package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

// repoNamed picks a repository by name out of a list answer.
func repoNamed(t *testing.T, list map[string]any, name string) map[string]any {
	t.Helper()
	vals, _ := list["value"].([]any)
	for _, v := range vals {
		if r := v.(map[string]any); r["name"] == name {
			return r
		}
	}
	t.Fatalf("no repository %q in %v", name, list)
	return nil
}

// buildAndClone makes a build profile of the repository and clones it; it returns the commit.
func (e *oauthEnv) buildAndClone(connID, repoName string) string {
	e.t.Helper()
	code, list := e.call("GET", "/api/v1/connections/"+connID+"/repositories", nil)
	if code != http.StatusOK {
		e.t.Fatalf("repositories: %d %v", code, list)
	}
	repo := repoNamed(e.t, list, repoName)
	code, prof := e.call("POST", "/api/v1/build-profiles", map[string]any{"name": "p-" + connID[:6] + repoName,
		"connectionId": connID, "repositoryId": repo["id"], "branch": "main"})
	if code != http.StatusCreated {
		e.t.Fatalf("build profile: %d %v", code, prof)
	}
	code, res := e.call("POST", "/api/v1/build-profiles/"+prof["id"].(string)+"/clone", map[string]any{"depth": 1})
	if code != http.StatusOK {
		e.t.Fatalf("clone: %d %v", code, res)
	}
	commit, _ := res["commit"].(string)
	if len(commit) != 40 {
		e.t.Fatalf("clone: commit %q", commit)
	}
	return commit
}

// The Azure DevOps OAuth app flow, through the real endpoints and redirects: with the policy
// off (as for a new organization) the sign-in works and the connection says
// oauth_policy_disabled with the fix; after the policy is turned on, a check authorizes it and
// repositories are listed and cloned with the Bearer token.
func TestOAuthAzureDevOpsEndToEnd(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	c := e.create(map[string]any{"name": "cloud"})
	wantStatus(t, c, "not_authorized", "authorization_pending")
	authURL := c["authorizationUrl"].(string)
	for _, want := range []string{"response_type=Assertion", "client_id=" + azdoClientID, "vso.code+vso.code_status", "redirect_uri="} {
		if !strings.Contains(authURL, want) {
			t.Errorf("authorization URL %s lacks %s", authURL, want)
		}
	}
	code, page := e.consent(authURL, "Ada Lovelace", true)
	if code != http.StatusOK || !strings.Contains(page, "organizationPolicy") {
		t.Fatalf("callback page: %d %s", code, page)
	}
	id := c["id"].(string)
	conn := e.get(id)
	wantStatus(t, conn, "oauth_policy_disabled", "oauth_policy_disabled")
	msg := conn["statusMessage"].(string)
	for _, want := range []string{"/fabrikam/_settings/organizationPolicy", "Third-party application access via OAuth",
		"Project Collection Administrator", "Microsoft Entra ID", "personal access token"} {
		if !strings.Contains(msg, want) {
			t.Errorf("policy message lacks %q: %s", want, msg)
		}
	}
	// The check-token endpoint for OAuth connections says the same, with the failed step.
	code, res := e.call("POST", "/api/v1/check-token", map[string]any{"connectionId": id})
	if code != http.StatusOK || res["valid"] != false || res["reason"] != "oauth_policy_disabled" {
		t.Fatalf("check-token: %d %v", code, res)
	}
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	code, res = e.call("POST", "/api/v1/connections/"+id+"/check", nil)
	if code != http.StatusOK || res["valid"] != true {
		t.Fatalf("check after the policy was turned on: %d %v", code, res)
	}
	conn = e.get(id)
	wantStatus(t, conn, "authorized", "")
	if u, _ := conn["user"].(map[string]any); u["displayName"] != "Ada Lovelace" {
		t.Errorf("user %v, want Ada Lovelace", conn["user"])
	}
	e.buildAndClone(id, "android app")

	code, hist := e.call("GET", "/api/v1/connections/"+id+"/status-history", nil)
	var path []string
	for _, h := range hist["value"].([]any) {
		path = append(path, h.(map[string]any)["to"].(string))
	}
	if code != http.StatusOK || strings.Join(path, ">") != "not_authorized>oauth_policy_disabled>authorized" {
		t.Fatalf("status history: %d %v", code, path)
	}
	if strings.Contains(e.logs.String(), azdoClientSecret) {
		t.Fatal("the client secret reached the log")
	}
}

// The Entra ID flow (a connection's own app, no default): PKCE, the organization's tenant from
// X-VSS-ResourceTenant, offline_access; the OAuth-app policy does not apply to Entra.
func TestOAuthEntraEndToEnd(t *testing.T) {
	e := newOAuthEnv(t, "", 1)
	c := e.create(map[string]any{"name": "entra", "oauth": map[string]any{"provider": "entra",
		"clientId": entraClientID, "clientSecret": entraSecret}})
	authURL := c["authorizationUrl"].(string)
	for _, want := range []string{"/" + e.sim.TenantID() + "/oauth2/v2.0/authorize", "code_challenge_method=S256",
		"offline_access", azuredevops.AzureDevOpsResourceID + "%2Fvso.code"} {
		if !strings.Contains(authURL, want) {
			t.Errorf("authorization URL %s lacks %s", authURL, want)
		}
	}
	if code, page := e.consent(authURL, "Grace Hopper", true); code != http.StatusOK {
		t.Fatalf("callback: %d %s", code, page)
	}
	id := c["id"].(string)
	conn := e.get(id)
	wantStatus(t, conn, "authorized", "")
	if o := conn["oauth"].(map[string]any); o["entraTenant"] != e.sim.TenantID() || o["defaultApp"] != false {
		t.Errorf("oauth view %v", o)
	}
	e.buildAndClone(id, "ios-app")
}
