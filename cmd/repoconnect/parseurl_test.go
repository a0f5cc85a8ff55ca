package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// parseURLFields are exactly the fields parse-url prints.
var parseURLFields = []string{"cloneUrl", "collection", "collectionUrl", "guessed", "host", "kind", "organization",
	"port", "project", "repository", "scheme", "virtualDirectory", "webUrl"}

// parseOut runs parse-url and decodes its one JSON object.
func parseOut(t *testing.T, stdin string, args ...string) (map[string]any, int) {
	t.Helper()
	out, errs, code := run(t, stdin, append([]string{"parse-url"}, args...)...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil && code != 2 || strings.Count(strings.TrimSpace(out), "\n}") > 1 {
		t.Fatalf("parse-url %v: exit %d, not one JSON object: %q %s", args, code, out, errs)
	}
	return m, code
}

func TestParseURLCommand(t *testing.T) {
	m, code := parseOut(t, "", "https://tfs.example.com:8443/tfs/DefaultCollection/Team%20A/_git/app%20one?path=/x#L1")
	want := map[string]any{"kind": "server", "scheme": "https", "host": "tfs.example.com", "port": "8443",
		"virtualDirectory": "tfs", "organization": "", "collection": "DefaultCollection", "project": "Team A",
		"repository": "app one", "guessed": false, "collectionUrl": "https://tfs.example.com:8443/tfs/DefaultCollection",
		"cloneUrl": "https://tfs.example.com:8443/tfs/DefaultCollection/Team%20A/_git/app%20one",
		"webUrl":   "https://tfs.example.com:8443/tfs/DefaultCollection/Team%20A/_git/app%20one"}
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, parseURLFields) {
		t.Errorf("fields %v, want exactly %v", keys, parseURLFields)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}

	m, code = parseOut(t, "", "git@ssh.dev.azure.com:v3/fabrikam/Fabrikam%20Mobile/ios-app")
	if code != 0 || m["kind"] != "services" || m["organization"] != "fabrikam" || m["scheme"] != "ssh" ||
		m["cloneUrl"] != "https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios-app" {
		t.Errorf("SSH v3: exit %d, %v", code, m)
	}

	// Issue 16's forms: a team-scoped URL (team dropped) with an explicit port kept in every
	// derived URL, names with spaces and escapes; a "+" is a plus, written %2B.
	for in, want := range map[string]map[string]any{
		"https://dev.azure.com:456/fabrikam/Fabrikam%20Mobile/Mobile%20Team/_git/ios%20app": {"kind": "services", "port": "456", "guessed": false,
			"project": "Fabrikam Mobile", "repository": "ios app", "collectionUrl": "https://dev.azure.com:456/fabrikam",
			"cloneUrl": "https://dev.azure.com:456/fabrikam/Fabrikam%20Mobile/_git/ios%20app", "webUrl": "https://dev.azure.com:456/fabrikam/Fabrikam%20Mobile/_git/ios%20app"},
		"https://tfs.example.com:8443/tfs/DefaultCollection/Team%20Project/Team%20A/_git/My%20Repo": {"kind": "server", "guessed": false,
			"virtualDirectory": "tfs", "collection": "DefaultCollection", "project": "Team Project", "repository": "My Repo",
			"cloneUrl": "https://tfs.example.com:8443/tfs/DefaultCollection/Team%20Project/_git/My%20Repo"},
		"https://ado.example.com/DefaultCollection/Web/Team/_git/site": {"kind": "server", "guessed": true, "virtualDirectory": "",
			"collection": "DefaultCollection", "project": "Web", "repository": "site"},
		"git@ssh.dev.azure.com:v3/fabrikam/Web/Team/_full/site": {"kind": "services", "project": "Web", "repository": "site",
			"cloneUrl": "https://dev.azure.com/fabrikam/Web/_git/site"},
		"https://dev.azure.com/o/My+Project/_git/r": {"project": "My+Project", "cloneUrl": "https://dev.azure.com/o/My%2BProject/_git/r"},
	} {
		m, code := parseOut(t, "", in)
		for k, v := range want {
			if code != 0 || m[k] != v {
				t.Errorf("%s: exit %d, %s = %#v, want %#v", in, code, k, m[k], v)
			}
		}
	}

	// The owner form settles the split; the guess alone reads /a/b/Coll/_git/R differently.
	m, code = parseOut(t, "", "--virtual-dir", "tfs/DefaultCollection", "https://h/tfs/DefaultCollection/Web/_git/site")
	if code != 0 || m["guessed"] != false || m["virtualDirectory"] != "tfs" || m["collection"] != "DefaultCollection" || m["project"] != "Web" {
		t.Errorf("owner form: exit %d, %v", code, m)
	}
	m, code = parseOut(t, "", "--virtual-dir", "", "https://h/Main/Web/_git/site")
	if code != 0 || m["guessed"] != false || m["virtualDirectory"] != "" || m["collection"] != "Main" {
		t.Errorf("explicit empty virtual directory: exit %d, %v", code, m)
	}

	const pat = "ghp_notreallyaPAT0123456789"
	for in, want := range map[string][2]string{
		"https://dev.azure.com.evil.example/o/p/_git/r":  {"not Azure DevOps Services", "lookalike_host"},
		"https://u:" + pat + "@dev.azure.com/o/p/_git/r": {"password", "password_in_url"},
		"git@tfs.example.com:v3/o/p/r":                   {"v3", ""},
		"https://dev.azure.com/o/p/_git/r/commit/abc":    {"after the repository", ""},
		"ftp://h/c/p/_git/r":                             {"serves git over https://", "unknown_scheme"},
	} {
		says, reason := want[0], want[1]
		out, errs, code := run(t, "", "parse-url", in)
		var e map[string]string
		if code != 2 || json.Unmarshal([]byte(out), &e) != nil || len(e) != 2 || !strings.Contains(e["error"], says) || e["code"] == "" || e["code"] == "failed" {
			t.Errorf("%s: exit %d, stdout %q (want {\"error\": ...%q..., \"code\": ...}), stderr %q", in, code, out, says, errs)
		}
		if reason != "" && e["code"] != reason {
			t.Errorf("%s: code %q, want %q", in, e["code"], reason)
		}
		// The text on standard error carries the same sentence and code.
		if !strings.Contains(errs, e["error"]) || !strings.Contains(errs, "(code "+e["code"]+")") {
			t.Errorf("%s: stderr %q lacks the sentence and its code", in, errs)
		}
		if strings.Contains(out+errs, pat) {
			t.Errorf("%s: the password was printed", in)
		}
	}
	if _, _, code := run(t, "", "parse-url"); code != 2 {
		t.Errorf("no URL: exit %d", code)
	}
}

// TestParseURLResolve asks the simulator to settle splits the URL alone cannot decide.
func TestParseURLResolve(t *testing.T) {
	sim := azdosimtest.Start(t, azdosim.Options{VirtualDir: "a/b", Seed: true}, azdosim.PAT{Token: cliPAT, UserName: "CLI User"})
	remote := sim.URL() + "/DefaultCollection/_git/Platform" // /a/b/DefaultCollection/_git/Platform

	m, code := parseOut(t, "", remote)
	if code != 0 || m["guessed"] != true || m["virtualDirectory"] != "a" || m["collection"] != "b" {
		t.Fatalf("the guess: exit %d, %v", code, m)
	}
	t.Setenv("AZURE_DEVOPS_PAT", cliPAT)
	m, code = parseOut(t, "", "--resolve", remote)
	if code != 0 || m["guessed"] != false || m["virtualDirectory"] != "a/b" || m["collection"] != "DefaultCollection" ||
		m["project"] != "Platform" || m["repository"] != "Platform" || m["cloneUrl"] != sim.URL()+"/DefaultCollection/Platform/_git/Platform" {
		t.Fatalf("resolved: exit %d, %v", code, m)
	}
	m, code = parseOut(t, "", "--resolve", sim.URL()+"/DefaultCollection/Fabrikam%20Mobile/_git/android%20app")
	if code != 0 || m["virtualDirectory"] != "a/b" || m["project"] != "Fabrikam Mobile" || m["repository"] != "android app" {
		t.Fatalf("resolved with spaces: exit %d, %v", code, m)
	}

	m, code = parseOut(t, "", "--resolve", sim.URL()+"/DefaultCollection/Platform/Platform%20Team/_git/build%20scripts")
	if code != 0 || m["guessed"] != false || m["virtualDirectory"] != "a/b" || m["project"] != "Platform" || m["repository"] != "build scripts" ||
		m["cloneUrl"] != sim.URL()+"/DefaultCollection/Platform/_git/build%20scripts" {
		t.Fatalf("team-scoped, resolved: exit %d, %v", code, m)
	}

	out, _, code := run(t, "", "parse-url", "--resolve", sim.URL()+"/DefaultCollection/Platform/_git/nope")
	if code != 1 || !strings.Contains(out, `"error"`) || !strings.Contains(out, "no repository") || !strings.Contains(out, `"code":"`) {
		t.Errorf("unknown repository: exit %d, %s", code, out)
	}
	t.Setenv("AZURE_DEVOPS_PAT", "wrong")
	if out, _, code := run(t, "", "parse-url", "--resolve", remote); code != 1 || !strings.Contains(out, "personal access token") {
		t.Errorf("wrong PAT: exit %d, %s", code, out)
	}
	if out, _, code := run(t, "", "parse-url", "--resolve", "ssh://h:22/a/b/C/P/_git/r"); code != 1 || !strings.Contains(out, "SSH") {
		t.Errorf("SSH cannot be resolved: exit %d, %s", code, out)
	}
}
