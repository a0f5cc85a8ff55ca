package azuredevops

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/connections/egress"
)

// memberSim starts Services with fabrikam and contoso, an Azure DevOps OAuth app and an
// Entra app, and returns fresh access tokens of both for "Demo User".
func memberSim(t *testing.T) (sim *azdosim.Server, ado, entra connections.Secret) {
	t.Helper()
	sim = azdosimtest.StartServices(t, azdosim.Options{Collections: []string{"fabrikam", "contoso"}, Seed: true})
	ctx, hc := t.Context(), oauthHTTPClient()
	sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: "ado-app", ClientSecret: "ado-secret-0123456789",
		Scopes: DefaultScopes, CallbackURL: oauthCallback})
	adoApp := OAuthApp{Provider: ProviderAzureDevOps, ClientID: "ado-app", ClientSecret: "ado-secret-0123456789",
		CallbackURL: oauthCallback, AzureDevOpsURL: sim.AzureDevOpsOAuthURL()}
	authURL, _ := adoApp.AuthCodeURL("s1", "")
	code, _ := oauthAuthorize(t, authURL)
	tok, err := adoApp.Exchange(ctx, hc, code, "", "")
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	sim.RegisterEntraApp(azdosim.EntraApp{ClientID: "11111111-2222-3333-4444-555555555555", ClientSecret: "entra-secret-abcdef",
		RedirectURIs: []string{oauthCallback}})
	entraApp := OAuthApp{Provider: ProviderEntra, ClientID: "11111111-2222-3333-4444-555555555555", ClientSecret: "entra-secret-abcdef",
		CallbackURL: oauthCallback, EntraAuthorityURL: sim.EntraAuthorityURL()}
	authURL, verifier := entraApp.AuthCodeURL("s2", sim.TenantID())
	code, _ = oauthAuthorize(t, authURL)
	etok, err := entraApp.Exchange(ctx, hc, code, verifier, sim.TenantID())
	if err != nil {
		t.Fatalf("Entra Exchange: %v", err)
	}
	return sim, tok.Access, etok.Access
}

// TestTF400813ToldApart: the same 401 TF400813 on a fresh token is reported as the
// organization policy when the user is a member (the accounts API lists the organization),
// and as not_org_member, with its own step and fix, when the user is not a member, for an
// Azure DevOps OAuth token and for an Entra token alike, end to end through the simulator.
func TestTF400813ToldApart(t *testing.T) {
	sim, ado, entra := memberSim(t)
	ep := oauthEndpoint(t, sim, "fabrikam")
	check := func(t *testing.T, tok connections.Secret, provider, vssps string) *connections.CheckResult {
		t.Helper()
		c, err := New(ep, Credential{Bearer: tok, OAuthProvider: provider}, Options{Door: LoopbackDoor, VSSPSURL: vssps})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.CheckToken(t.Context())
		if err != nil {
			t.Fatalf("CheckToken: %v", err)
		}
		return res
	}
	vssps := sim.AzureDevOpsOAuthURL()

	t.Run("policy off, member", func(t *testing.T) {
		res := check(t, ado, ProviderAzureDevOps, vssps)
		if res.Valid || res.Reason != connections.ReasonOAuthPolicyDisabled {
			t.Fatalf("reason %q (%s); want oauth_policy_disabled", res.Reason, res.Message)
		}
	})

	for _, org := range []string{"fabrikam", "contoso"} {
		if err := sim.SetOAuthPolicy(org, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.SetMember("fabrikam", "Demo User", false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		tok      connections.Secret
		provider string
	}{{"Azure DevOps OAuth", ado, ProviderAzureDevOps}, {"Entra", entra, ProviderEntra}} {
		t.Run("not a member/"+tc.name, func(t *testing.T) {
			res := check(t, tc.tok, tc.provider, vssps)
			if res.Valid || res.Reason != connections.ReasonNotOrgMember {
				t.Fatalf("reason %q (%s); want not_org_member", res.Reason, res.Message)
			}
			for _, want := range []string{"Demo User", "fabrikam", ep.CollectionURL() + "/_settings/users", "another Microsoft Entra directory"} {
				if !strings.Contains(res.Message, want) {
					t.Errorf("message %q lacks %q", res.Message, want)
				}
			}
			last := res.Steps[len(res.Steps)-1]
			if last.Name != StepMembership || last.OK {
				t.Errorf("last step %+v; want a failed %s", last, StepMembership)
			}
			c, _ := New(ep, Credential{Bearer: tc.tok, OAuthProvider: tc.provider}, Options{Door: LoopbackDoor, VSSPSURL: vssps})
			_, err := c.ListProjects(t.Context())
			if !errors.Is(err, connections.ErrForbidden) || connections.AsError(err).Reason != connections.ReasonNotOrgMember {
				t.Fatalf("ListProjects: %v; want ErrForbidden not_org_member", err)
			}
			// The same token works in the organization the user belongs to.
			other, _ := New(oauthEndpoint(t, sim, "contoso"), Credential{Bearer: tc.tok, OAuthProvider: tc.provider}, Options{Door: LoopbackDoor, VSSPSURL: vssps})
			if _, err := other.ListProjects(t.Context()); err != nil {
				t.Fatalf("contoso: %v", err)
			}
		})
	}

	t.Run("no vssps address for a host that is not Services: no lookup", func(t *testing.T) {
		if res := check(t, ado, ProviderAzureDevOps, ""); res.Reason != connections.ReasonOAuthPolicyDisabled {
			t.Fatalf("reason %q; want the policy answer unexplained", res.Reason)
		}
		if res := check(t, entra, ProviderEntra, ""); res.Reason != connections.ReasonInvalidToken {
			t.Fatalf("Entra reason %q; want invalid_token unexplained", res.Reason)
		}
	})

	if err := sim.SetMember("fabrikam", "Demo User", true); err != nil {
		t.Fatal(err)
	}
	t.Run("member again", func(t *testing.T) {
		if res := check(t, entra, ProviderEntra, vssps); !res.Valid {
			t.Fatalf("not valid: %s %s", res.Reason, res.Message)
		}
	})
}

// TestMembershipLookupThroughTheDoor: the profile and accounts requests go through the
// client's outbound door: with the vssps host (here a proxy on another port) outside the
// door's policy they are refused before any byte reaches it, and the answer stays the
// policy's; with it allowed, they are made and the user is found outside the organization.
func TestMembershipLookupThroughTheDoor(t *testing.T) {
	sim, ado, _ := memberSim(t)
	if err := sim.SetMember("fabrikam", "Demo User", false); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(sim.URL())
	var seen atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ps.Close)
	simHost, proxyHost := target.Host, strings.TrimPrefix(ps.URL, "http://")
	ep := oauthEndpoint(t, sim, "fabrikam")
	run := func(t *testing.T, allow string) *connections.CheckResult {
		t.Helper()
		rules, err := egress.ParseRules("test", allow)
		if err != nil {
			t.Fatal(err)
		}
		door := egress.New(egress.Options{Policy: egress.Policy{Allow: rules}}) // loopback refused but for these
		c, err := New(ep, Credential{Bearer: ado, OAuthProvider: ProviderAzureDevOps}, Options{Door: door, VSSPSURL: ps.URL + "/_vssps"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.CheckToken(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Run("vssps host refused by the door", func(t *testing.T) {
		res := run(t, simHost)
		if res.Reason != connections.ReasonOAuthPolicyDisabled || seen.Load() != 0 {
			t.Fatalf("reason %q, %d requests reached the vssps host; want the policy answer and none", res.Reason, seen.Load())
		}
	})
	t.Run("vssps host allowed", func(t *testing.T) {
		res := run(t, simHost+","+proxyHost)
		if res.Reason != connections.ReasonNotOrgMember || seen.Load() != 2 {
			t.Fatalf("reason %q after %d vssps requests; want not_org_member after 2", res.Reason, seen.Load())
		}
	})
}
