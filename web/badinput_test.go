package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// problem asserts a problem+json answer with the status, and the field or code when given.
func (e *env) problem(method, path string, body any, status int, field, code string) {
	e.t.Helper()
	got, p, hdr := e.call(method, path, body)
	if got != status {
		e.t.Errorf("%s %s: status %d, want %d (%v)", method, path, got, status, p)
		return
	}
	if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
		e.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if p["status"] != float64(status) || p["title"] == "" || p["detail"] == "" {
		e.t.Errorf("%s %s: incomplete problem %v", method, path, p)
	}
	if field != "" && p["field"] != field {
		e.t.Errorf("%s %s: field %v, want %s (%v)", method, path, p["field"], field, p["detail"])
	}
	if code != "" && p["code"] != code {
		e.t.Errorf("%s %s: code %v, want %s (%v)", method, path, p["code"], code, p["detail"])
	}
}

func with(base map[string]any, k string, v any) map[string]any {
	m := map[string]any{}
	for kk, vv := range base {
		m[kk] = vv
	}
	if v == nil {
		delete(m, k)
	} else {
		m[k] = v
	}
	return m
}

func TestCreateConnectionBadInput(t *testing.T) {
	e := newEnv(t)
	good := e.connection()
	cases := []struct {
		name        string
		body        any
		status      int
		field, code string
	}{
		{"malformed JSON", `{"name": "x",`, 400, "", "invalid_input"},
		{"not an object", `[1,2]`, 400, "", "invalid_input"},
		{"unknown field", with(good, "token", "x"), 400, "token", "invalid_input"},
		{"name not a string", with(good, "name", 5), 400, "name", "invalid_input"},
		{"missing name", with(good, "name", nil), 400, "name", "invalid_input"},
		{"missing type", with(good, "type", nil), 400, "type", "invalid_input"},
		{"unknown type", with(good, "type", "github"), 400, "type", "invalid_input"},
		{"services type for a server", with(good, "type", "services-pat"), 400, "type", "invalid_input"},
		{"server URL not http", with(good, "serverUrl", "ftp://tfs.example.com/tfs"), 400, "serverUrl", "invalid_input"},
		{"server URL relative", with(good, "serverUrl", "tfs.example.com"), 400, "serverUrl", "invalid_input"},
		{"server URL with a password", with(good, "serverUrl", "http://u:p@127.0.0.1/tfs"), 400, "serverUrl", "invalid_input"},
		{"collection with a colon", with(good, "collection", "Bad:Name"), 400, "collection", "invalid_input"},
		{"missing collection", with(good, "collection", nil), 400, "collection", "invalid_input"},
		{"empty PAT", with(good, "pat", ""), 400, "pat", "invalid_input"},
		{"PAT with a space", with(good, "pat", "a b"), 400, "pat", "invalid_input"},
		{"CA certificate not PEM", with(good, "caCertificate", "nope"), 400, "caCertificate", "invalid_input"},
		{"name with a control character", with(good, "name", "a\u0000b"), 400, "name", "invalid_input"},
		{"wrong PAT", with(good, "pat", "wrongpat"), 422, "pat", "invalid_token"},
		{"missing collection on the server", with(good, "collection", "Nope"), 422, "collection", "collection_not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.problem("POST", "/api/v1/connections", c.body, c.status, c.field, c.code)
		})
	}
	e.t = t
	if _, list, _ := e.call("GET", "/api/v1/connections", nil); list["count"] != float64(0) {
		t.Fatalf("bad input stored something: %v", list)
	}
	e.createConnection()
	e.problem("POST", "/api/v1/connections", good, 409, "name", "")
	// The taken name is reported before the token is checked.
	e.problem("POST", "/api/v1/connections", with(good, "pat", "wrongpat"), 409, "name", "")
}

func TestBuildProfileBadInput(t *testing.T) {
	e := newEnv(t)
	id := e.createConnection()
	ids := map[string]string{}
	for _, r := range e.sim.Repositories("DefaultCollection") {
		ids[r.Name] = r.ID
	}
	good := map[string]any{"name": "p", "connectionId": id, "repositoryId": ids["ios-app"], "branch": "main"}
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"missing name", with(good, "name", nil), "name"},
		{"unknown connection", with(good, "connectionId", "nope"), "connectionId"},
		{"repository the connection cannot see", with(good, "repositoryId", "6f9619ff-8b86-d011-b42d-00c04fc964ff"), "repositoryId"},
		{"disabled repository", with(good, "repositoryId", ids["legacy-tools"]), "repositoryId"},
		{"empty repository", with(good, "repositoryId", ids["empty-repo"]), "repositoryId"},
		{"missing branch", with(good, "branch", "no-such-branch"), "branch"},
		{"depth not a number", `{"name":"p","connectionId":"x","repositoryId":"y","depth":1}`, "depth"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.problem("POST", "/api/v1/build-profiles", c.body, 400, c.field, "invalid_input")
		})
	}
	e.t = t
	if _, list, _ := e.call("GET", "/api/v1/build-profiles", nil); list["count"] != float64(0) {
		t.Fatalf("bad input stored something: %v", list)
	}
	code, p, _ := e.call("POST", "/api/v1/build-profiles", with(good, "branch", ""))
	if code != 201 || p["branch"] != "main" {
		t.Fatalf("default branch: %d %v", code, p)
	}
	e.problem("POST", "/api/v1/build-profiles/"+p["id"].(string)+"/clone", `{"depth":-1}`, 400, "depth", "invalid_input")
	e.problem("POST", "/api/v1/build-profiles/nope/clone", `{}`, 404, "", "not_found")
	e.problem("GET", "/api/v1/connections/nope/repositories", nil, 404, "", "not_found")
	e.problem("GET", "/api/v1/connections/"+id+"/repositories/6f9619ff-8b86-d011-b42d-00c04fc964ff/branches", nil, 404, "", "")
	e.problem("GET", "/api/v1/connections/"+id+"/repositories?project=Nope", nil, 400, "project", "invalid_input")
	e.problem("DELETE", "/api/v1/connections/nope", nil, 404, "", "not_found")
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	if code, _, _ := e.call("GET", "/api/v1/connections", nil); code != 200 {
		t.Fatalf("the valid key: %d", code)
	}
	req, _ := http.NewRequest("GET", e.api.URL+"/api/v1/connections", nil)
	req.Header.Set("Authorization", "bearer "+e.key) // scheme names are case-insensitive
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("lower-case bearer: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, auth := range []string{"", "Bearer ", "Bearer rck_wrong", "Basic abc", "Bearer " + e.key + "x"} {
		req, _ := http.NewRequest("GET", e.api.URL+"/api/v1/connections", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: %d %q", auth, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	resp, err := http.Get(e.api.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestCheckTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"serverUrl": e.sim.URL(), "collection": "DefaultCollection", "pat": simPAT}
	code, res, _ := e.call("POST", "/api/v1/check-token", body)
	if code != 200 || res["valid"] != true || res["apiVersion"] != "6.0" || res["deploymentType"] != "onPremises" {
		t.Fatalf("valid PAT: %d %v", code, res)
	}
	code, res, _ = e.call("POST", "/api/v1/check-token", with(body, "pat", "wrongpat"))
	if code != 200 || res["valid"] != false || res["reason"] != "invalid_token" || res["message"] == "" {
		t.Fatalf("wrong PAT: %d %v", code, res)
	}
	e.problem("POST", "/api/v1/check-token", with(body, "serverUrl", "nope"), 400, "serverUrl", "invalid_input")
}
