package azdosim_test

import (
	"bytes"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// compatApp is an Azure DevOps OAuth app allowed to push (vso.code_write), for the git forms
// that carry its token.
const (
	compatAppID     = "9a0c4d2e-compat-app"
	compatAppSecret = "compat-app-secret-value"
	compatCallback  = "https://ci.example/oauth/compat"
)

// gitRun runs the real git CLI in dir, isolated from the user's and the system's git
// configuration (azdosim.GitEnv), with extra environment; it returns the combined output and
// the error.
func gitRun(dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = azdosim.GitEnv(append([]string{"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com"}, env...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func gitOK(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitRun(dir, nil, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// credForm is one way of handing git a credential: remote is the URL git is given (with user
// info or not) and config the -c options before the command.
type credForm struct {
	name   string
	remote func(base string) string
	config []string
}

// withUser puts user info into an http URL.
func withUser(base, userinfo string) string {
	return strings.Replace(base, "http://", "http://"+userinfo+"@", 1)
}

func extraHeader(v string) []string { return []string{"-c", "http.extraHeader=Authorization: " + v} }

// patForms are the credential forms of git over HTTPS for a PAT.
func patForms(pat string) []credForm {
	plain := func(b string) string { return b }
	return []credForm{
		{"any user name, PAT as password", func(b string) string { return withUser(b, "build:"+url.PathEscape(pat)) }, nil},
		{"empty user name, extraHeader Basic", plain, extraHeader("Basic " + b64(":"+pat))},
		{"PAT as user name, empty password", func(b string) string { return withUser(b, url.PathEscape(pat)+":") }, nil},
	}
}

// tokenForms are the credential forms of git over HTTPS for an OAuth access token (kind
// names the provider in subtest names).
func tokenForms(kind, token string) []credForm {
	plain := func(b string) string { return b }
	return []credForm{
		// Microsoft's Entra page writes the scheme in lower case: "AUTHORIZATION: bearer".
		{kind + " token, extraHeader bearer", plain, extraHeader("bearer " + token)},
		{kind + " token as Basic password (Git Credential Manager, oauth type)", func(b string) string { return withUser(b, "user:"+url.PathEscape(token)) }, nil},
	}
}

// compatTokens returns an Entra access token (vso.code_write) and an Azure DevOps OAuth app's
// access token (vso.code_write, with the organization's policy turned on) for user.
func compatTokens(t *testing.T, sim *azdosim.Server, user string) (entra, azdo string) {
	t.Helper()
	verifier, challenge := pkce("compat-")
	code := entraCode(t, sim, "organizations", adoResource+"/vso.code_write offline_access", challenge, user)
	r := entraToken(t, sim, "organizations", redeemForm(code, verifier))
	if r.status != 200 {
		t.Fatalf("entra redeem: %d %s", r.status, r.body)
	}
	entra = r.decode(t)["access_token"].(string)

	sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: compatAppID, ClientSecret: compatAppSecret,
		Scopes: []string{"vso.code_write"}, CallbackURL: compatCallback})
	if err := sim.SetOAuthPolicy("fabrikam", true); err != nil {
		t.Fatal(err)
	}
	q := consent(t, authorizeURL(sim.AzureDevOpsOAuthURL()+"/oauth2/authorize", map[string]string{"client_id": compatAppID,
		"response_type": "Assertion", "state": "s", "scope": "vso.code_write", "redirect_uri": compatCallback}), user, true)
	f := url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {compatAppSecret}, "grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {q.Get("code")}, "redirect_uri": {compatCallback}}
	hr, err := noRedirect().PostForm(sim.AzureDevOpsOAuthURL()+"/oauth2/token", f)
	tr := read(t)(hr, err)
	if tr.status != 200 {
		t.Fatalf("azdo token: %d %s", tr.status, tr.body)
	}
	return entra, tr.decode(t)["access_token"].(string)
}

// TestGitCLICredentialForms runs the real git CLI (ls-remote, clone, push, fetch) against
// the simulator with every credential form of git over HTTPS that Microsoft documents or its
// tools send, and checks that a wrong secret in each form is refused with 401.
func TestGitCLICredentialForms(t *testing.T) {
	sim := startOAuth(t, azdosim.Options{})
	entra, azdo := compatTokens(t, sim, "Grace Hopper")
	base := sim.URL() + "/fabrikam/Platform/_git/Platform"
	main := strings.Fields(gitOK(t, "", "--git-dir", repoBare(t, sim, "Platform"), "show-ref", "refs/heads/main"))[0]

	var forms []credForm
	forms = append(forms, patForms(svcPAT)...)
	forms = append(forms, tokenForms("Entra", entra)...)
	forms = append(forms, tokenForms("Azure DevOps OAuth", azdo)...)
	for i, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			remote := f.remote(base)
			refs := gitOK(t, "", append(f.config, "ls-remote", remote)...)
			if !strings.Contains(refs, main+"\trefs/heads/main") || !strings.Contains(refs, "\tHEAD") {
				t.Fatalf("ls-remote lists %q, want main at %s", refs, main)
			}
			dst := filepath.Join(t.TempDir(), "clone")
			gitOK(t, "", append(f.config, "clone", "--quiet", remote, dst)...)
			if b, err := os.ReadFile(filepath.Join(dst, "docs", "architecture.md")); err != nil || !strings.HasPrefix(string(b), "# Architecture") {
				t.Fatalf("cloned file: %q %v", b, err)
			}
			if got := gitOK(t, dst, "rev-parse", "HEAD"); got != main {
				t.Fatalf("clone HEAD %s, want %s", got, main)
			}

			// Push a new branch, see it with ls-remote, and fetch it into a second clone.
			branch := "compat/form-" + string(rune('a'+i))
			if err := os.WriteFile(filepath.Join(dst, "pushed.txt"), []byte(f.name+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			gitOK(t, dst, "add", "pushed.txt")
			gitOK(t, dst, "commit", "--quiet", "-m", "pushed with "+f.name)
			pushed := gitOK(t, dst, "rev-parse", "HEAD")
			gitOK(t, dst, append(f.config, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch)...)
			if refs := gitOK(t, "", append(f.config, "ls-remote", remote, "refs/heads/"+branch)...); refs != pushed+"\trefs/heads/"+branch {
				t.Fatalf("after push, ls-remote says %q, want %s", refs, pushed)
			}
			other := filepath.Join(t.TempDir(), "other")
			gitOK(t, "", "init", "--quiet", other)
			gitOK(t, other, append(f.config, "fetch", "--quiet", remote, "refs/heads/"+branch+":refs/remotes/origin/"+branch)...)
			if got := gitOK(t, other, "rev-parse", "refs/remotes/origin/"+branch); got != pushed {
				t.Fatalf("fetched %s, want %s", got, pushed)
			}
		})
	}

	// One wrong secret per form: refused with 401 (the status git saw, from its curl trace).
	bad := append(patForms("wrong-"+svcPAT), tokenForms("unknown", "not-a-token-0123456789")...)
	for _, f := range bad {
		t.Run("wrong: "+f.name, func(t *testing.T) {
			out, err := gitRun("", []string{"GIT_CURL_VERBOSE=1"}, append(f.config, "ls-remote", f.remote(base))...)
			if err == nil {
				t.Fatalf("ls-remote with a wrong secret succeeded:\n%s", out)
			}
			if !strings.Contains(out, "Recv header: HTTP/1.1 401") || strings.Contains(out, "Recv header: HTTP/1.1 200") {
				t.Fatalf("want a 401 and no 200 in git's trace:\n%s", tail(out))
			}
		})
	}
}

// repoBare is the bare repository of the named repository of the default organization.
func repoBare(t *testing.T, sim *azdosim.Server, name string) string {
	t.Helper()
	for _, r := range sim.Repositories("") {
		if r.Name == name {
			return r.BarePath
		}
	}
	t.Fatalf("no repository %q", name)
	return ""
}

// tail is the end of a long trace, for failure messages.
func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}
