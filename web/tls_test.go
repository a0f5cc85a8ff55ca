package web_test

import (
	"encoding/pem"
	"net/http/httptest"
	"testing"
)

// TestPrivateCA: a server signed by a private CA fails with code tls until the connection carries
// the CA certificate, which then serves both the REST calls and the go-git clone.
func TestPrivateCA(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewTLSServer(e.sim.Handler())
	defer ts.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}))
	conn := with(with(e.connection(), "serverUrl", ts.URL+"/tfs"), "name", "tls")

	e.problem("POST", "/api/v1/connections", conn, 422, "caCertificate", "tls")
	code, c, _ := e.call("POST", "/api/v1/connections", with(conn, "caCertificate", ca))
	if code != 201 || c["hasCaCertificate"] != true {
		t.Fatalf("with the CA: %d %v", code, c)
	}
	id := c["id"].(string)
	_, repos, _ := e.call("GET", "/api/v1/connections/"+id+"/repositories?q=ios-app", nil)
	rid := repos["value"].([]any)[0].(map[string]any)["id"].(string)
	code, p, _ := e.call("POST", "/api/v1/build-profiles", map[string]any{"name": "tls", "connectionId": id, "repositoryId": rid})
	if code != 201 {
		t.Fatalf("build profile: %d %v", code, p)
	}
	code, cl, _ := e.call("POST", "/api/v1/build-profiles/"+p["id"].(string)+"/clone", map[string]any{"depth": 1})
	if code != 200 || len(cl["commit"].(string)) != 40 || cl["branch"] != "main" {
		t.Fatalf("clone over TLS with the private CA: %d %v", code, cl)
	}
}
