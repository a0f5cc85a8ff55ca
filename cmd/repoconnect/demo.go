package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/web"
)

// demoEnv is the simulated Azure DevOps of demo mode: a Server 2022 with a PAT, and Services
// with an Azure DevOps OAuth app that is the service's default app, both serving git over SSH
// on their own loopback ports (with the simulator's stable host key), holding two
// organizations: "fabrikam" (seeded, third-party OAuth allowed, so the sign-in works) and
// web.DemoPolicyOffOrganization (its OAuth policy off, so signing in to it shows the
// oauth_policy_disabled failure and its fix).
type demoEnv struct {
	sim          *azdosim.Server
	cloud        *azdosim.Server
	collection   string
	organization string
	policyOffOrg string
	pat          string
	clientID     string
	clientSecret string
}

// startDemo starts both simulators with their demo data on free loopback ports, with a random
// PAT and a random OAuth client secret.
func startDemo(log *slog.Logger) (*demoEnv, error) {
	d := &demoEnv{collection: "DefaultCollection", organization: "fabrikam", policyOffOrg: web.DemoPolicyOffOrganization, pat: "demo" + randomHex(20),
		clientID: "demo-" + randomHex(8), clientSecret: "demo-secret-" + randomHex(20)}
	sim, err := azdosim.New(azdosim.Options{VirtualDir: "tfs", Collections: []string{d.collection}, Seed: true,
		SSHAddr: "127.0.0.1:0", Logger: log.With("component", "azdosim")})
	if err != nil {
		return nil, err
	}
	d.sim = sim
	sim.AddPAT(azdosim.PAT{Token: d.pat, UserName: "Demo User"})
	if err := sim.Start("127.0.0.1:0"); err != nil {
		d.close()
		return nil, err
	}
	cloud, err := azdosim.New(azdosim.Options{Services: true, Collections: []string{d.organization, d.policyOffOrg}, Seed: true,
		PolicyPage: true, // the policy-off failure's link leads to a page that turns the policy on
		SSHAddr:    "127.0.0.1:0",
		Logger:     log.With("component", "azdosim-services")})
	if err != nil {
		d.close()
		return nil, err
	}
	d.cloud = cloud
	cloud.AddPAT(azdosim.PAT{Token: d.pat, UserName: "Demo User"}) // the Services PAT form works too
	if err := cloud.Start("127.0.0.1:0"); err != nil {
		d.close()
		return nil, err
	}
	// The demo organization allows OAuth apps, so the sign-in works at once; the second one
	// does not (as a new real organization), so its sign-in shows oauth_policy_disabled
	// explained, with the link to the setting.
	if err := cloud.SetOAuthPolicy(d.organization, true); err != nil {
		d.close()
		return nil, err
	}
	if err := cloud.SetOAuthPolicy(d.policyOffOrg, false); err != nil {
		d.close()
		return nil, err
	}
	d.seedServiceEndpoints()
	return d, nil
}

// seedServiceEndpoints gives every demo project two service connections (one ready, one not),
// so GET …/projects/{projectId}/service-endpoints and a profile's serviceEndpoints have
// something to show. A failure only leaves the lists empty.
func (d *demoEnv) seedServiceEndpoints() {
	for _, s := range []*azdosim.Server{d.sim, d.cloud} {
		seen := map[string]bool{}
		for _, r := range s.Repositories("") {
			if seen[r.Collection+"/"+r.ProjectName] {
				continue
			}
			seen[r.Collection+"/"+r.ProjectName] = true
			_, _ = s.AddServiceEndpoint(r.Collection, r.ProjectName, "Production (Azure)", "azurerm", true)
			_, _ = s.AddServiceEndpoint(r.Collection, r.ProjectName, "Docker Hub", "dockerregistry", false)
		}
	}
}

// destinations are the allow rules of demo mode: exactly the two simulators' addresses, HTTP
// and SSH (127.0.0.1:PORT), which the default policy refuses as loopback.
func (d *demoEnv) destinations() []egress.Rule {
	var rules []egress.Rule
	for _, s := range []*azdosim.Server{d.sim, d.cloud} {
		hosts := []string{s.SSHAddr()}
		if u, err := url.Parse(s.URL()); err == nil {
			hosts = append(hosts, u.Host)
		}
		for _, h := range hosts {
			if h == "" {
				continue
			}
			if r, err := egress.ParseRules("--demo", h); err == nil {
				rules = append(rules, r...)
			}
		}
	}
	return rules
}

// servicesHostKeys are the SSH host key fingerprints the service pins for Azure DevOps
// Services in demo mode (services.Options.ServicesSSHHostKeyFingerprints): the Services
// simulator's, where a real service pins Microsoft's published ones. nil without a demo.
func (d *demoEnv) servicesHostKeys() []string {
	if d == nil || d.cloud == nil {
		return nil
	}
	return []string{d.cloud.SSHHostKeyFingerprint()}
}

// oauthSettings points the service at the Services simulator and registers the demo OAuth app
// with the service's callback URL.
func (d *demoEnv) oauthSettings(o services.OAuthSettings) (services.OAuthSettings, error) {
	if o.HasDefaultApp() {
		return o, usageError("--demo brings its own OAuth app: leave --oauth-client-id (REPOCONNECT_OAUTH_CLIENT_ID) unset")
	}
	o.Provider, o.ClientID, o.ClientSecret = azuredevops.ProviderAzureDevOps, d.clientID, connections.Secret(d.clientSecret)
	o.Scopes = azuredevops.DefaultScopes
	o.ServicesURL, o.AzureDevOpsOAuthURL, o.EntraAuthorityURL = d.cloud.URL(), d.cloud.AzureDevOpsOAuthURL(), d.cloud.EntraAuthorityURL()
	d.cloud.RegisterOAuthApp(azdosim.OAuthApp{ClientID: d.clientID, ClientSecret: d.clientSecret,
		Scopes: azuredevops.DefaultScopes, CallbackURL: o.CallbackURL})
	return o, nil
}

// banner is what the pages show in demo mode; apiKey signs every browser in as the demo
// tenant.
func (d *demoEnv) banner(apiKey string) *web.Demo {
	return &web.Demo{ServerURL: d.sim.URL(), Collection: d.collection, PAT: d.pat, Organization: d.organization, APIKey: apiKey}
}

func (d *demoEnv) close() {
	if d.sim != nil {
		d.sim.Close()
	}
	if d.cloud != nil {
		d.cloud.Close()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// printSummary writes what a newcomer needs: URLs, the API key, the simulator's PAT (a
// throwaway demo credential, valid only for this simulator), and curl commands to try.
func (d *demoEnv) printSummary(w io.Writer, serviceURL, apiKey string) {
	fmt.Fprintf(w, `
repoconnect demo is running.
  web UI       %[1]s/   (open it in a browser: connect the simulator, choose a repository, clone it)
  service      %[1]s
  API key      %[2]s
  simulated Azure DevOps Server 2022 (collection %[4]q):
  server URL   %[3]s
  collection   %[4]s
  PAT          %[5]s   (demo only: valid for this simulator alone)
  simulated Azure DevOps Services: organization %[7]q at %[6]s, signed in through OAuth
  policy-off organization %[8]q: its OAuth policy is off, sign in to it to see that failure explained
  SSH          both simulators serve git over SSH (%[9]s, %[10]s): a connection's page makes its key

Try it in another shell (copy and paste; id picks the id out of an answer, or prints the answer when it has none):
  export RC=%[1]s KEY=%[2]s
  id() { b=$(cat); v=$(printf '%%s' "$b" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4); [ -n "$v" ] && echo "$v" || { echo "no id in the answer: $b" >&2; return 1; }; }
  api() { curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' "$@"; }
  CONN=$(api -X POST $RC/api/v1/connections -d '{"name":"demo","type":"server-pat","serverUrl":"%[3]s","collection":"%[4]s","pat":"%[5]s"}' | id)
  api "$RC/api/v1/connections/$CONN/repositories"
  REPO=$(api "$RC/api/v1/connections/$CONN/repositories?q=ios-app" | id)
  PROF=$(api -X POST $RC/api/v1/build-profiles -d '{"name":"ios","connectionId":"'$CONN'","repositoryId":"'$REPO'","branch":"release/1.0"}' | id)
  api -X POST $RC/api/v1/build-profiles/$PROF/clone -d '{"depth":1}'
OAuth: create the connection, open its authorizationUrl in a browser and press Accept:
  api -X POST $RC/api/v1/connections -d '{"name":"cloud","type":"services-oauth","organization":"%[7]s"}'
Press Ctrl-C to stop; the demo's data directory is removed on exit.
`, serviceURL, apiKey, d.sim.URL(), d.collection, d.pat, d.cloud.URL(), d.organization, d.policyOffOrg, d.sim.SSHAddr(), d.cloud.SSHAddr())
}
