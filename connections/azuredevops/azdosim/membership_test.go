package azdosim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// TestOrganizationMembership: a user who is not a member of an organization gets 401
// TF400813 naming their id on REST and git, with either provider's token, the very answer of
// the organization policy; the profile and accounts APIs at the vssps host keep answering
// and list only the organizations the user is a member of, which tells the cases apart.
func TestOrganizationMembership(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{Collections: []string{"fabrikam", "contoso"}})
	if err := sim.SetOAuthPolicy("fabrikam", true); err != nil {
		t.Fatal(err)
	}
	access, _ := azdoTokens(t, sim, "Ada")
	verifier, challenge := pkce("member-")
	r := entraToken(t, sim, "organizations", redeemForm(entraCode(t, sim, "organizations", entraScopes, challenge, "Ada"), verifier))
	if r.status != 200 {
		t.Fatalf("entra: %d %s", r.status, r.body)
	}
	entra := r.decode(t)["access_token"].(string)
	projects := sim.URL() + "/fabrikam/_apis/projects"
	gitRefs := sim.URL() + "/fabrikam/Platform/_git/Platform/info/refs?service=git-upload-pack"
	vssps := sim.AzureDevOpsOAuthURL()

	a := call(t, http.MethodGet, vssps+"/_apis/profile/profiles/me?api-version=7.1-preview.3", bearer(access))
	if a.status != 200 {
		t.Fatalf("profile: %d %s", a.status, a.body)
	}
	prof := a.decode(t)
	id, _ := prof["id"].(string)
	if len(id) != 36 || prof["displayName"] != "Ada" || prof["publicAlias"] != id || prof["emailAddress"] == "" || !strings.HasPrefix(a.header.Get("X-VSS-UserData"), id+":") {
		t.Fatalf("profile %v, X-VSS-UserData %q", prof, a.header.Get("X-VSS-UserData"))
	}
	orgs := func(auth string) []string {
		t.Helper()
		a := call(t, http.MethodGet, vssps+"/_apis/accounts?memberId="+id+"&api-version=7.1-preview.1", auth)
		if a.status != 200 {
			t.Fatalf("accounts: %d %s", a.status, a.body)
		}
		m := a.decode(t)
		var names []string
		for _, v := range m["value"].([]any) {
			acc := v.(map[string]any)
			if acc["accountId"] == "" || !strings.HasSuffix(acc["accountUri"].(string), "/"+acc["accountName"].(string)+"/") {
				t.Errorf("account %v", acc)
			}
			names = append(names, acc["accountName"].(string))
		}
		if m["count"] != float64(len(names)) {
			t.Errorf("count %v for %d accounts", m["count"], len(names))
		}
		return names
	}
	if got := strings.Join(orgs(bearer(access)), ","); got != "fabrikam,contoso" {
		t.Fatalf("member of %q, want both organizations", got)
	}
	if call(t, http.MethodGet, projects, bearer(access)).status != 200 || call(t, http.MethodGet, projects, bearer(entra)).status != 200 {
		t.Fatal("a member's tokens are refused")
	}

	if err := sim.SetMember("FABRIKAM", "ada", false); err != nil {
		t.Fatal(err)
	}
	wantText := "TF400813: The user '" + id + "' is not authorized to access this resource."
	for name, tok := range map[string]string{"azure devops": access, "entra": entra} {
		wantEnvelope(t, call(t, http.MethodGet, projects, bearer(tok)), 401, "UnauthorizedRequestException", wantText, true)
		if g := call(t, http.MethodGet, gitRefs, bearer(tok)); g.status != 401 || !strings.Contains(g.body, wantText) {
			t.Fatalf("%s git: %d %s", name, g.status, g.body)
		}
		if got := strings.Join(orgs(bearer(tok)), ","); got != "contoso" {
			t.Fatalf("%s: member of %q, want contoso only", name, got)
		}
	}
	if c := call(t, http.MethodGet, sim.URL()+"/contoso/_apis/projects", bearer(entra)); c.status != 200 {
		t.Fatalf("another organization: %d %s", c.status, c.body)
	}
	if p := call(t, http.MethodGet, projects, "Basic "+basic(svcPAT)); p.status != 200 {
		t.Fatalf("a PAT is not governed by OAuth membership: %d", p.status)
	}

	// The policy gives the same answer, but accounts still lists the organization.
	if err := sim.SetMember("fabrikam", "Ada", true); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetOAuthPolicy("fabrikam", false); err != nil {
		t.Fatal(err)
	}
	wantEnvelope(t, call(t, http.MethodGet, projects, bearer(access)), 401, "UnauthorizedRequestException", wantText, true)
	if got := strings.Join(orgs(bearer(access)), ","); got != "fabrikam,contoso" {
		t.Fatalf("policy off: member of %q", got)
	}

	// Errors of the vssps APIs.
	if a := call(t, http.MethodGet, vssps+"/_apis/accounts", bearer(access)); a.status != 400 {
		t.Fatalf("accounts without memberId: %d %s", a.status, a.body)
	}
	if a := call(t, http.MethodGet, vssps+"/_apis/profile/profiles/me", bearer("not-a-token")); a.status != 401 {
		t.Fatalf("profile with an unknown token: %d %s", a.status, a.body)
	}
	if err := sim.SetMember("nope", "Ada", false); err == nil {
		t.Fatal("SetMember accepted an unknown organization")
	}
}
