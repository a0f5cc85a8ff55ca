package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

const (
	secretClient = "cmd-test-client-secret-do-not-print"
	tenantGUID   = "3d0c5a8e-7b1f-4c2a-9e6d-1f2b3c4d5e6f"
)

// TestCommandServices runs --services with an OAuth app and the policy on, and walks the Azure
// DevOps OAuth flow against it. Not parallel: it sets the secret in the environment.
func TestCommandServices(t *testing.T) {
	t.Setenv(secretEnv, secretClient)
	cb := "https://ci.example/cb"
	first, stop := startCommand(t, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--services", "--tenant-id", tenantGUID,
		"--oauth-policy", "--oauth-app", "cmd-app="+cb, "--pat", secretPAT)

	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"client_id": {"cmd-app"}, "response_type": {"Assertion"}, "state": {"s"}, "redirect_uri": {cb},
		"scope": {strings.Join(defaultOAuthScopes, " ")}}
	page, err := hc.Get(first + "/_vssps/oauth2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	redirect, err := azdosimtest.SubmitConsent(hc, page, "Ada", true)
	if err != nil {
		t.Fatal(err)
	}
	redirect.Body.Close()
	loc, _ := url.Parse(redirect.Header.Get("Location"))
	code := loc.Query().Get("code")
	resp, err := hc.PostForm(first+"/_vssps/oauth2/token", url.Values{
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {secretClient},
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {code}, "redirect_uri": {cb}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	access := strings.Split(strings.Split(string(body), `"access_token":"`)[1], `"`)[0]
	req, _ := http.NewRequest(http.MethodGet, first+"/fabrikam/_apis/projects?api-version=7.1", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-VSS-ResourceTenant") != tenantGUID {
		t.Fatalf("projects with the token (policy on): %d %v", resp.StatusCode, resp.Header)
	}

	rest, stderr := stop()
	for _, want := range []string{"organization fabrikam: 2 projects with repositories, 6 repositories", "tenant: " + tenantGUID,
		"azure devops oauth authorize: " + first + "/_vssps/oauth2/authorize", "azure devops oauth token: " + first + "/_vssps/oauth2/token",
		"entra authorize: " + first + "/_entra/" + tenantGUID + "/oauth2/v2.0/authorize", "oauth app cmd-app: callback " + cb} {
		if !strings.Contains(rest, want) {
			t.Errorf("summary lacks %q:\n%s", want, rest)
		}
	}
	for _, out := range []string{first, rest, stderr} {
		if strings.Contains(out, secretClient) || strings.Contains(out, secretPAT) || strings.Contains(out, access) || strings.Contains(out, code) {
			t.Errorf("a secret was printed: %q", out)
		}
	}
}

func TestCommandServicesFlagErrors(t *testing.T) {
	cases := []struct {
		name, env string
		args      []string
		wantErr   string
	}{
		{"app without secret", "", []string{"--services", "--oauth-app", "a=https://ci.example/cb"}, secretEnv},
		{"app without services", secretClient, []string{"--oauth-app", "a=https://ci.example/cb"}, "--services"},
		{"policy without services", "", []string{"--oauth-policy"}, "--services"},
		{"malformed app", secretClient, []string{"--services", "--oauth-app", "just-an-id"}, "CLIENT_ID=CALLBACK_URL"},
		{"bad tenant", "", []string{"--services", "--tenant-id", "contoso"}, "GUID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(secretEnv, c.env)
			var out, errOut strings.Builder
			cmd := newRootCommand(context.Background(), &out, &errOut)
			cmd.SetArgs(append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--seed=false"}, c.args...))
			err := cmd.Execute()
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want one naming %q", err, c.wantErr)
			}
			if strings.Contains(out.String()+errOut.String()+err.Error(), secretClient) {
				t.Fatal("the secret was printed")
			}
		})
	}
}
