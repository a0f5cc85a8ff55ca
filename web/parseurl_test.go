package web_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

func TestParseURLEndpoint(t *testing.T) {
	e := newEnv(t)
	code, m, _ := e.call("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": "https://fabrikam@dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/_optimized/ios-app"})
	if code != 200 {
		t.Fatalf("status %d: %v", code, m)
	}
	want := map[string]any{"kind": "services", "scheme": "https", "host": "dev.azure.com", "port": "", "virtualDirectory": "",
		"organization": "fabrikam", "collection": "fabrikam", "project": "Fabrikam Mobile", "repository": "ios-app", "guessed": false,
		"collectionUrl": "https://dev.azure.com/fabrikam", "cloneUrl": "https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios-app",
		"webUrl": "https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/ios-app"}
	var keys, wantKeys []string
	for k := range m {
		keys = append(keys, k)
	}
	for k, v := range want {
		wantKeys = append(wantKeys, k)
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	slices.Sort(keys)
	slices.Sort(wantKeys)
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("fields %v, want exactly %v", keys, wantKeys)
	}

	// The forms of issue 16: team-scoped URLs (team dropped), explicit ports kept, the tfs
	// rule settling the common on-prem URL, and a "+" read as a plus.
	for _, c := range []struct{ in, guessed, coll, vd, project, repo, collectionURL, cloneURL string }{
		{"https://dev.azure.com:456/fabrikam/Fabrikam%20Mobile/Mobile%20Team/_git/ios%20app", "false", "fabrikam", "", "Fabrikam Mobile", "ios app",
			"https://dev.azure.com:456/fabrikam", "https://dev.azure.com:456/fabrikam/Fabrikam%20Mobile/_git/ios%20app"},
		{"https://fabrikam.visualstudio.com:8443/DefaultCollection/Web/Team/_git/site", "false", "fabrikam", "", "Web", "site",
			"https://fabrikam.visualstudio.com:8443", "https://fabrikam.visualstudio.com:8443/Web/_git/site"},
		{"https://tfs.example.com/tfs/DefaultCollection/Proj/_git/Repo", "false", "DefaultCollection", "tfs", "Proj", "Repo",
			"https://tfs.example.com/tfs/DefaultCollection", "https://tfs.example.com/tfs/DefaultCollection/Proj/_git/Repo"},
		{"http://tfs.example.com:8080/tfs/DefaultCollection/My%20Project/My%20Team/_git/My%20Repo", "false", "DefaultCollection", "tfs", "My Project", "My Repo",
			"http://tfs.example.com:8080/tfs/DefaultCollection", "http://tfs.example.com:8080/tfs/DefaultCollection/My%20Project/_git/My%20Repo"},
		{"https://ado.example.com:8443/DefaultCollection/Web/Team/_git/site", "true", "DefaultCollection", "", "Web", "site",
			"https://ado.example.com:8443/DefaultCollection", "https://ado.example.com:8443/DefaultCollection/Web/_git/site"},
		{"https://dev.azure.com/o/C++%20Tools/_git/r", "false", "o", "", "C++ Tools", "r",
			"https://dev.azure.com/o", "https://dev.azure.com/o/C%2B%2B%20Tools/_git/r"},
	} {
		code, m, _ := e.call("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": c.in})
		if code != 200 || fmt.Sprint(m["guessed"]) != c.guessed || m["collection"] != c.coll || m["virtualDirectory"] != c.vd || m["project"] != c.project ||
			m["repository"] != c.repo || m["collectionUrl"] != c.collectionURL || m["cloneUrl"] != c.cloneURL || m["webUrl"] != c.cloneURL {
			t.Errorf("%s: %d %v", c.in, code, m)
		}
	}

	e.problem("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": "https://dev.azure.com.evil.example/o/p/_git/r"}, 400, "remoteUrl", "lookalike_host")
	e.problem("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": "https://dev.azure.com/o/p/_ssh/r"}, 400, "remoteUrl", "ssh_path_over_https")
	e.problem("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": ""}, 400, "remoteUrl", "invalid_input")
	e.problem("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": "https://h/x/C/P/_git/r", "virtualDirectory": "tfs"}, 400, "virtualDirectory", "virtual_directory_mismatch")
	e.problem("POST", "/api/v1/parse-url", map[string]any{"url": "https://dev.azure.com/o/p/_git/r"}, 400, "url", "invalid_input")
	e.problem("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": "https://ado.example.com/Main/Web/_git/site", "resolve": true}, 400, "pat", "invalid_input")
	// A tfs URL is settled without the server: resolve needs no credential, and none is sent.
	if code, m, _ = e.call("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": e.sim.URL() + "/DefaultCollection/_git/Platform", "resolve": true}); code != 200 || m["guessed"] != false || m["virtualDirectory"] != "tfs" {
		t.Errorf("resolve of a tfs URL: %d %v", code, m)
	}
	code, m, _ = e.call("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": "https://h/tfs/DefaultCollection/Web/_git/site", "virtualDirectory": "tfs/DefaultCollection"})
	if code != 200 || m["guessed"] != false || m["virtualDirectory"] != "tfs" || m["collection"] != "DefaultCollection" || m["project"] != "Web" {
		t.Errorf("owner form: %d %v", code, m)
	}
}

// TestRemoteURLResolution: a server behind the virtual directory a/b, where the URL alone is
// read wrongly, is settled by vsts/info for parse-url, check-token and connection creation.
func TestRemoteURLResolution(t *testing.T) {
	e := newEnv(t)
	deep := azdosimtest.Start(t, azdosim.Options{VirtualDir: "a/b", Seed: true}, azdosim.PAT{Token: simPAT, UserName: "API Tester"})
	remote := deep.URL() + "/DefaultCollection/_git/Platform"

	code, m, _ := e.call("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": remote})
	if code != 200 || m["guessed"] != true || m["collection"] != "b" {
		t.Fatalf("the guess: %d %v", code, m)
	}
	code, m, _ = e.call("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": remote, "resolve": true, "pat": simPAT})
	if code != 200 || m["guessed"] != false || m["virtualDirectory"] != "a/b" || m["collection"] != "DefaultCollection" || m["project"] != "Platform" {
		t.Fatalf("resolved: %d %v", code, m)
	}
	// A team-scoped URL is a guess on a server without tfs (DefaultCollection third from the
	// end reads as its collection), which the server confirms: the team is dropped.
	team := deep.URL() + "/DefaultCollection/Platform/Platform%20Team/_git/Platform"
	if code, m, _ = e.call("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": team}); code != 200 || m["guessed"] != true || m["project"] != "Platform" {
		t.Fatalf("team-scoped guess: %d %v", code, m)
	}
	code, m, _ = e.call("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": team, "resolve": true, "pat": simPAT})
	if code != 200 || m["guessed"] != false || m["virtualDirectory"] != "a/b" || m["collection"] != "DefaultCollection" || m["project"] != "Platform" ||
		m["cloneUrl"] != deep.URL()+"/DefaultCollection/Platform/_git/Platform" {
		t.Fatalf("team-scoped, resolved: %d %v", code, m)
	}
	e.problem("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": remote, "resolve": true, "pat": "wrongpat"}, 422, "", "invalid_token")
	e.problem("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": deep.URL() + "/DefaultCollection/Platform/_git/nope", "resolve": true, "pat": simPAT}, 404, "", "not_found")

	// With the credential of a stored connection: on its own server it resolves; a remote URL
	// on another server (the other simulator, whose PAT is the same) is refused before the
	// connection's credential is sent anywhere.
	id := e.createConnection()
	own := e.sim.URL() + "/DefaultCollection/_git/Platform"
	code, m, _ = e.call("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": own, "resolve": true, "connectionId": id})
	if code != 200 || m["guessed"] != false || m["collection"] != "DefaultCollection" || m["project"] != "Platform" {
		t.Fatalf("resolved with a connection's PAT on its server: %d %v", code, m)
	}
	e.problem("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": remote, "resolve": true, "connectionId": id}, 400, "remoteUrl", "invalid_input")
	e.problem("POST", "/api/v1/parse-url", map[string]any{"remoteUrl": remote, "resolve": true, "connectionId": "nope"}, 404, "", "not_found")

	code, res, _ := e.call("POST", "/api/v1/check-token", map[string]any{"remoteUrl": remote, "pat": simPAT})
	if code != 200 || res["valid"] != true || res["deploymentType"] != "onPremises" {
		t.Fatalf("check-token with a remote URL: %d %v", code, res)
	}

	conn := map[string]any{"name": "deep", "type": "server-pat", "remoteUrl": remote, "pat": simPAT}
	code, c, _ := e.call("POST", "/api/v1/connections", conn)
	if code != 201 || c["serverUrl"] != deep.URL() || c["virtualDirectory"] != "a/b" || c["collection"] != "DefaultCollection" {
		t.Fatalf("connection from a remote URL: %d %v", code, c)
	}
	code, repos, _ := e.call("GET", "/api/v1/connections/"+c["id"].(string)+"/repositories", nil)
	if code != 200 || repos["count"].(float64) < 1 {
		t.Fatalf("repositories of the new connection: %d %v", code, repos)
	}

	for _, bad := range []struct {
		name        string
		body        map[string]any
		status      int
		field, code string
	}{
		{"both forms", with(conn, "serverUrl", deep.URL()), 400, "remoteUrl", "invalid_input"},
		{"on-prem SSH", with(conn, "remoteUrl", "ssh://127.0.0.1:22/a/b/DefaultCollection/_git/Platform"), 400, "remoteUrl", "not_resolvable"},
		{"look-alike", with(conn, "remoteUrl", "https://dev.azure.com.evil.example/o/p/_git/r"), 400, "remoteUrl", "lookalike_host"},
		{"no such repository", with(conn, "remoteUrl", deep.URL()+"/DefaultCollection/Platform/_git/nope"), 400, "remoteUrl", "not_found"},
		{"services URL, server type", with(conn, "remoteUrl", "https://dev.azure.com/o/p/_git/r"), 400, "type", "invalid_input"},
		{"virtual directory alone", with(with(conn, "remoteUrl", nil), "virtualDirectory", "tfs"), 400, "virtualDirectory", "invalid_input"},
		{"wrong PAT", with(conn, "pat", "wrongpat"), 422, "pat", "invalid_token"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			e.t = t
			bad.body["name"] = "bad " + bad.name
			e.problem("POST", "/api/v1/connections", bad.body, bad.status, bad.field, bad.code)
		})
	}
	e.t = t
	if _, list, _ := e.call("GET", "/api/v1/connections", nil); list["count"] != float64(2) {
		t.Fatalf("bad input stored something: %v", list)
	}
	if strings.Contains(e.logs.String(), simPAT) {
		t.Error("the PAT reached the log")
	}
}
