package azdosim_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

func TestServicesModeAnswers(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	tenant := sim.TenantID()
	host := strings.TrimPrefix(sim.URL(), "http://")
	if len(tenant) != 36 {
		t.Fatalf("default tenant %q", tenant)
	}
	challenge := `Bearer authorization_uri=https://login.microsoftonline.com/` + tenant + `, Basic realm="https://` + host + `/"`
	cases := []struct {
		name, path, auth string
		status           int
		typeKey          string
		tenantHeader     bool
	}{
		{"no credential", "/fabrikam/_apis/projects", "", 401, "UnauthorizedRequestException", true},
		{"no credential, org case", "/Fabrikam/_apis/connectionData?api-version=7.1-preview", "", 401, "UnauthorizedRequestException", true},
		{"no credential, git", "/fabrikam/Platform/_git/Platform/info/refs?service=git-upload-pack", "", 401, "", true},
		{"unknown org, no credential", "/fabrikan/_apis/projects", "", 404, "OrganizationNotFoundException", false},
		{"unknown org, project level", "/fabrikan/Platform/_apis/git/repositories", "", 404, "OrganizationNotFoundException", false},
		{"unknown org, vsts/info", "/fabrikan/Platform/_git/Platform/vsts/info", "", 404, "OrganizationNotFoundException", false},
		{"unknown org, git", "/fabrikan/Platform/_git/Platform/info/refs?service=git-upload-pack", "", 404, "", false},
		{"PAT", "/fabrikam/_apis/projects?api-version=7.1", "Basic " + basic(svcPAT), 200, "", true},
		{"PAT, git", "/fabrikam/Platform/_git/Platform/info/refs?service=git-upload-pack", "Basic " + b64("ci:"+svcPAT), 200, "", true},
		{"7.2 as a preview", "/fabrikam/_apis/projects?api-version=7.2-preview.1", "Basic " + basic(svcPAT), 200, "", true},
		{"7.2 is not released", "/fabrikam/_apis/projects?api-version=7.2", "Basic " + basic(svcPAT), 400, "VssInvalidPreviewVersionException", true},
		{"ceiling 7.2", "/fabrikam/_apis/projects?api-version=7.3-preview.1", "Basic " + basic(svcPAT), 400, "VssVersionOutOfRangeException", true},
		{"unknown token", "/fabrikam/_apis/projects", "Bearer not-a-token", 401, "UnauthorizedRequestException", true},
		{"jwt-bearer scheme", "/fabrikam/_apis/projects", "jwt-bearer not-a-token", 203, "", true},
		{"jwt-bearer scheme, git", "/fabrikam/Platform/_git/Platform/info/refs?service=git-upload-pack", "jwt-bearer x", 203, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, http.MethodGet, sim.URL()+c.path, c.auth)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.typeKey != "" {
				if m := r.decode(t); m["typeKey"] != c.typeKey {
					t.Fatalf("envelope %v", m)
				}
			}
			if got := r.header.Get("X-VSS-ResourceTenant"); (got == tenant) != c.tenantHeader || (got != "" && got != tenant) {
				t.Errorf("X-VSS-ResourceTenant %q", got)
			}
			if c.status == 401 && r.header.Get("WWW-Authenticate") != challenge {
				t.Errorf("WWW-Authenticate %q, want %q", r.header.Get("WWW-Authenticate"), challenge)
			}
			if c.status == 203 && !strings.Contains(r.body, "<html") {
				t.Errorf("203 body %q", r.body)
			}
		})
	}

	cd := call(t, http.MethodGet, sim.URL()+"/fabrikam/_apis/connectionData?connectOptions=includeServices&api-version=7.1-preview", "Basic "+basic(svcPAT)).decode(t)
	maps := cd["locationServiceData"].(map[string]any)["accessMappings"].([]any)
	if cd["deploymentType"] != "hosted" || maps[0].(map[string]any)["accessPoint"] != sim.URL()+"/fabrikam/" {
		t.Fatalf("connectionData %v", cd)
	}
	if ri := sim.Repositories("fabrikam"); len(ri) != 6 {
		t.Fatalf("seeded repositories in the default organization: %d", len(ri))
	}
}

func TestServicesOptions(t *testing.T) {
	if _, err := azdosim.New(azdosim.Options{Services: true, VirtualDir: "tfs"}); err == nil {
		t.Error("New accepted a virtual directory in Services mode")
	}
	if _, err := azdosim.New(azdosim.Options{Services: true, TenantID: "contoso"}); err == nil {
		t.Error("New accepted a tenant id that is not a GUID")
	}
	a := azdosimtest.StartServices(t, azdosim.Options{Collections: []string{"contoso"}})
	b := azdosimtest.StartServices(t, azdosim.Options{Collections: []string{"contoso", "other"}})
	if a.TenantID() != b.TenantID() || a.TenantID() == "" {
		t.Errorf("default tenant not deterministic: %q %q", a.TenantID(), b.TenantID())
	}
	r := call(t, http.MethodGet, b.URL()+"/other/_apis/projects", "")
	if r.status != 401 || r.header.Get("X-VSS-ResourceTenant") != b.TenantID() {
		t.Errorf("second organization: %d %v", r.status, r.header)
	}
	// Server mode keeps refusing Bearer and serves no tenant.
	srv := azdosimtest.Start(t, azdosim.Options{}, azdosim.PAT{Token: svcPAT})
	srv.RegisterOAuthApp(azdosim.OAuthApp{ClientID: appID, ClientSecret: appSecret, Scopes: appScopes, CallbackURL: callback})
	if err := srv.SetOAuthPolicy("DefaultCollection", true); err != nil {
		t.Fatal(err)
	}
	access, _ := azdoTokens(t, srv, "Ada")
	r = call(t, http.MethodGet, srv.URL()+"/DefaultCollection/_apis/projects", bearer(access))
	if r.status != 401 || r.header.Get("X-VSS-ResourceTenant") != "" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic realm=") {
		t.Errorf("Bearer on Server: %d %v", r.status, r.header)
	}
	if r := call(t, http.MethodGet, srv.URL()+"/NoSuch/_apis/projects", ""); r.status != 401 {
		t.Errorf("unknown collection without credential on Server: %d", r.status)
	}
}

// gitClone runs git clone with an Authorization extra header, isolated from the host's
// configuration, and returns its error and output.
func gitClone(remote, auth, dst string) ([]byte, error) {
	cmd := exec.Command("git", "-c", "http.extraHeader=Authorization: "+auth, "clone", "--quiet", remote, dst)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=")
	return cmd.CombinedOutput()
}

// TestServicesGitCloneWithBearer clones over smart HTTP with OAuth access tokens: the Azure
// DevOps token fails while the policy is off and works once it is on; the Entra token works
// regardless.
func TestServicesGitCloneWithBearer(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	remote := sim.URL() + "/fabrikam/Fabrikam%20Mobile/_git/ios-app"
	want := azdosimtest.Git(t, azdosimtest.Repository(t, sim, "ios-app").BarePath, "rev-parse", "refs/heads/main")
	access, _ := azdoTokens(t, sim, "Ada")
	if out, err := gitClone(remote, "Bearer "+access, filepath.Join(t.TempDir(), "c")); err == nil {
		t.Fatalf("clone with the policy off succeeded: %s", out)
	}
	if err := sim.SetOAuthPolicy("fabrikam", true); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "c")
	if out, err := gitClone(remote, "Bearer "+access, dst); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	if got := azdosimtest.Git(t, dst, "rev-parse", "HEAD"); got != want {
		t.Fatalf("HEAD %s, want %s", got, want)
	}
	if err := sim.SetOAuthPolicy("fabrikam", false); err != nil {
		t.Fatal(err)
	}
	verifier, challenge := pkce("git-")
	code := entraCode(t, sim, "organizations", entraScopes, challenge, "Ada")
	tok := entraToken(t, sim, "organizations", redeemForm(code, verifier)).decode(t)
	dst = filepath.Join(t.TempDir(), "e")
	if out, err := gitClone(remote, "Bearer "+tok["access_token"].(string), dst); err != nil {
		t.Fatalf("clone with an Entra token: %v\n%s", err, out)
	}
}
