package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

// A user who is not a member of the organization gets the same 401 TF400813 as the policy,
// but the connection says not_org_member with its own fix (add the user, or authorize with
// a member's account), in the status, the check-token answer and the problem of a listing;
// once the user is added, a check authorizes it.
func TestOAuthNotOrgMemberEndToEnd(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetMember(org, "Ada Lovelace", false); err != nil {
		t.Fatal(err)
	}
	c := e.create(map[string]any{"name": "outsider"})
	code, page := e.consent(c["authorizationUrl"].(string), "Ada Lovelace", true)
	if code != http.StatusOK || strings.Contains(page, "organizationPolicy") {
		t.Fatalf("callback page: %d %s", code, page)
	}
	id := c["id"].(string)
	conn := e.get(id)
	if conn["statusReason"] != "not_org_member" || conn["status"] == "authorized" || conn["status"] == "oauth_policy_disabled" {
		t.Fatalf("connection %v; want reason not_org_member", conn)
	}
	msg, _ := conn["statusMessage"].(string)
	for _, want := range []string{"Ada Lovelace", "not a member of the organization " + org, "/" + org + "/_settings/users"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	code, res := e.call("POST", "/api/v1/check-token", map[string]any{"connectionId": id})
	if code != http.StatusOK || res["valid"] != false || res["reason"] != "not_org_member" {
		t.Fatalf("check-token: %d %v", code, res)
	}
	code, prob := e.call("GET", "/api/v1/connections/"+id+"/repositories", nil)
	if code != http.StatusUnprocessableEntity || prob["code"] != "not_org_member" || !strings.Contains(prob["detail"].(string), "_settings/users") {
		t.Fatalf("repositories: %d %v", code, prob)
	}

	if err := e.sim.SetMember(org, "Ada Lovelace", true); err != nil {
		t.Fatal(err)
	}
	code, res = e.call("POST", "/api/v1/connections/"+id+"/check", nil)
	if code != http.StatusOK || res["valid"] != true {
		t.Fatalf("check after the user was added: %d %v", code, res)
	}
	wantStatus(t, e.get(id), "authorized", "")
}
