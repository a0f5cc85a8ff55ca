package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/services"
)

// api sends a JSON request to the serving directory's API with its key and decodes a 2xx
// answer into out.
func (s *servingDir) api(t *testing.T, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, raw)
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(out); err != nil {
		t.Fatalf("%s %s: %v in %s", method, path, err, raw)
	}
}

// While serve holds the embedded store, an operator accepts a Server connection's SSH host key
// through the admin socket: the command shows the waiting key, refuses another fingerprint,
// and the accepted one is the connection's trusted key at once.
func TestAcceptHostKeyWhileServing(t *testing.T) {
	noSealingEnv(t)
	dir := t.TempDir()
	srv := startServing(t, dir)
	if srv.serverURL == "" || srv.collection == "" {
		t.Fatalf("the demo printed no simulated server: %+v", srv)
	}
	var conn services.Connection
	srv.api(t, http.MethodPost, "/api/v1/connections", `{"name":"ssh","type":"server-pat","serverUrl":"`+srv.serverURL+
		`","collection":"`+srv.collection+`","pat":"`+srv.pat+`"}`, &conn)
	srv.api(t, http.MethodPut, "/api/v1/connections/"+conn.ID+"/ssh-key", `{"generate":true}`, &conn)
	var check services.SSHCheck
	srv.api(t, http.MethodPost, "/api/v1/connections/"+conn.ID+"/ssh-check", `{}`, &check)
	fp := check.HostKeyFingerprint
	if check.OK || check.Reason != "host_key_unconfirmed" || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("first check: %+v", check)
	}

	args := []string{"connection", "accept-host-key", "--data-dir", dir, "--tenant", services.DefaultTenant, "--connection", conn.ID}
	out, errs, code := run(t, "", args...)
	if code != 2 || !strings.Contains(out, "waiting to be accepted: "+fp) || !strings.Contains(errs, "admin socket") {
		t.Fatalf("without --fingerprint while serving: exit %d\n%s\n%s", code, out, errs)
	}
	if _, errs, code := run(t, "", append(args, "--fingerprint", "SHA256:"+strings.Repeat("C", 43))...); code != 2 || !strings.Contains(errs, "fingerprint") {
		t.Fatalf("another fingerprint while serving: exit %d %s", code, errs)
	}
	if out, errs, code := run(t, "", append(args, "--fingerprint", fp)...); code != 0 || !strings.Contains(out, fp) {
		t.Fatalf("accept while serving: exit %d\n%s\n%s", code, out, errs)
	}
	var got services.Connection
	srv.api(t, http.MethodGet, "/api/v1/connections/"+conn.ID, "", &got)
	if got.SSH == nil || got.SSH.HostKey == nil || len(got.SSH.HostKey.Fingerprints) != 1 || got.SSH.HostKey.Fingerprints[0] != fp || got.SSH.SeenHostKeyFingerprint != "" {
		t.Fatalf("after the command, the service says: %+v", got.SSH)
	}
	if _, errs, code := run(t, "", "connection", "accept-host-key", "--data-dir", dir, "--connection", "no-such-id", "--fingerprint", fp); code == 0 || !strings.Contains(errs, "no-such-id") {
		t.Fatalf("unknown connection while serving: exit %d %s", code, errs)
	}
}
