package web_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// newSSHEnv is newEnv with the simulator serving SSH.
func newSSHEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, azdosim.Options{VirtualDir: "tfs", Seed: true, SSHAddr: "127.0.0.1:0"}, nil)
}

// androidProfile creates a build profile of the seeded "android app" on main and returns its id.
func (e *env) androidProfile(connID string) string {
	e.t.Helper()
	code, repos, _ := e.call("GET", "/api/v1/connections/"+connID+"/repositories?q=android", nil)
	if code != 200 {
		e.t.Fatalf("repositories: %d %v", code, repos)
	}
	rid := repos["value"].([]any)[0].(map[string]any)["id"].(string)
	code, p, _ := e.call("POST", "/api/v1/build-profiles", map[string]any{"name": "android ssh", "connectionId": connID, "repositoryId": rid, "branch": "main"})
	if code != 201 {
		e.t.Fatalf("build profile: %d %v", code, p)
	}
	return p["id"].(string)
}

// A Server connection's SSH through the API against the simulator's SSH server: the first
// check shows the host key (200, ok false, host_key_unconfirmed), accepted it names the key
// not added, added it passes; a clone goes over SSH; a changed host key stops the clone
// (409 host_key_changed) and the check shows the new key until it is accepted.
func TestSSHCheckAndCloneThroughTheAPI(t *testing.T) {
	e := newSSHEnv(t)
	id := e.createConnection()
	base := "/api/v1/connections/" + id
	code, c, _ := e.call("PUT", base+"/ssh-key", map[string]any{"generate": true})
	if code != 200 {
		t.Fatalf("generate: %d %v", code, c)
	}
	pub := c["ssh"].(map[string]any)["publicKey"].(string)

	code, chk, _ := e.call("POST", base+"/ssh-check", nil)
	if code != 200 || chk["ok"] != false || chk["reason"] != "host_key_unconfirmed" || chk["hostKeyFingerprint"] != e.sim.SSHHostKeyFingerprint() {
		t.Fatalf("first check: %d %v (the simulator's host key is %s)", code, chk, e.sim.SSHHostKeyFingerprint())
	}
	if code, p, _ := e.call("POST", base+"/ssh-host-key", map[string]any{"fingerprint": "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}); code != 400 || p["field"] != "fingerprint" {
		t.Errorf("accepting a key that was not seen: %d %v", code, p)
	}
	code, c, _ = e.call("POST", base+"/ssh-host-key", map[string]any{"fingerprint": e.sim.SSHHostKeyFingerprint()})
	if hk, _ := c["ssh"].(map[string]any)["hostKey"].(map[string]any); code != 200 || hk["source"] != "confirmed" {
		t.Fatalf("accept the host key: %d %v", code, c)
	}
	if code, chk, _ = e.call("POST", base+"/ssh-check", nil); code != 200 || chk["ok"] != false || chk["reason"] != "ssh_key_not_added" {
		t.Fatalf("check before the key is added: %d %v", code, chk)
	}
	if err := e.sim.AddSSHPublicKey("API Tester", pub); err != nil {
		t.Fatal(err)
	}
	code, chk, _ = e.call("POST", base+"/ssh-check", map[string]any{"repository": "Fabrikam Mobile/android app"})
	if code != 200 || chk["ok"] != true || chk["refs"].(float64) < 1 || chk["repository"] != "Fabrikam Mobile/android app" {
		t.Fatalf("check with the key added: %d %v", code, chk)
	}
	if _, c, _ = e.call("GET", base, nil); c["ssh"].(map[string]any)["checkedAt"] == nil || c["ssh"].(map[string]any)["checkReason"] != nil {
		t.Errorf("the check is not recorded on the connection: %v", c["ssh"])
	}

	pid := e.androidProfile(id)
	if code, cl, _ := e.call("POST", "/api/v1/build-profiles/"+pid+"/clone", map[string]any{"depth": 1}); code != 200 {
		t.Fatalf("clone over SSH: %d %v", code, cl)
	}

	// The server's host key changes.
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(k, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetSSHHostKey(pem.EncodeToMemory(blk)); err != nil {
		t.Fatal(err)
	}
	newFP := e.sim.SSHHostKeyFingerprint()
	code, p, _ := e.call("POST", "/api/v1/build-profiles/"+pid+"/clone", map[string]any{"depth": 1})
	if code != 409 || p["code"] != "host_key_changed" {
		t.Fatalf("clone after the host key changed: %d %v, want 409 host_key_changed", code, p)
	}
	code, chk, _ = e.call("POST", base+"/ssh-check", nil)
	if code != 200 || chk["reason"] != "host_key_changed" || chk["hostKeyFingerprint"] != newFP {
		t.Fatalf("check after the host key changed: %d %v", code, chk)
	}
	if _, c, _ = e.call("GET", base, nil); c["ssh"].(map[string]any)["seenHostKeyFingerprint"] != newFP {
		t.Errorf("the new host key is not shown on the connection: %v", c["ssh"])
	}
	if code, c, _ = e.call("POST", base+"/ssh-host-key", map[string]any{"fingerprint": newFP}); code != 200 {
		t.Fatalf("accept the new host key: %d %v", code, c)
	}
	if code, cl, _ := e.call("POST", "/api/v1/build-profiles/"+pid+"/clone", map[string]any{"depth": 1}); code != 200 {
		t.Fatalf("clone after the new key is accepted: %d %v", code, cl)
	}
	if strings.Contains(e.logs.String(), "BEGIN OPENSSH PRIVATE KEY") {
		t.Error("a private key is in the log")
	}
}
