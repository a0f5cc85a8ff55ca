//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// apiClient bounds one API call: a synchronous clone of the small test repository answers
// within seconds, so five minutes means the service hangs.
var apiClient = &http.Client{Timeout: 5 * time.Minute}

// client calls the HTTP API of a running `repoconnect serve` with an API key.
type client struct {
	t    *testing.T
	base string // http://127.0.0.1:PORT
	key  string // "" sends no Authorization header
}

// call sends method path (under base) with body as JSON (nil: none) and returns the status,
// the raw answer and the answer decoded as a JSON object (nil when it is not one).
func (c client) call(method, path string, body any) (int, string, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	var obj map[string]any
	_ = json.Unmarshal(raw, &obj)
	return resp.StatusCode, string(raw), obj
}

// createAPIKey runs `repoconnect apikey create` with args and returns the key, printed alone
// on the last line of stdout.
func createAPIKey(t *testing.T, args ...string) string {
	t.Helper()
	out, code := runCmd(t, loopbackEnv(), bin.repoconnect, append([]string{"apikey", "create"}, args...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])
	if code != 0 || key == "" || strings.Contains(key, " ") {
		t.Fatalf("apikey create %s: exit %d:\n%s", strings.Join(args, " "), code, tail(out, 10))
	}
	return key
}

// serverConnection is the body creating a Server PAT connection to the simulator at base.
func serverConnection(name, base, pat string) map[string]any {
	return map[string]any{"name": name, "type": "server-pat", "serverUrl": base, "collection": "DefaultCollection", "pat": pat}
}

// TestSkeletonAPI is the walking skeleton through the HTTP API of `repoconnect serve
// --data-dir DIR` with nothing else configured (the sealing key is created in the data
// directory): no API key is 401; a connection with a valid PAT is created and its answer has
// no PAT; a wrong PAT is 422; the repository list names the repository; a build profile on the
// branch "release" clones the commit that branch points at. Afterwards the PAT is readable
// nowhere in the data directory or the service's log.
func TestSkeletonAPI(t *testing.T) {
	w := t.TempDir()
	importDir := filepath.Join(w, "import")
	source := filepath.Join(importDir, "MOBILE_IOS", "wallet.git")
	realRepo(t, source)
	pat := newPAT(t)
	_, simBase := startSimulator(t, w, importDir, pat)

	data := filepath.Join(w, "data")
	key := createAPIKey(t, "--data-dir", data)
	srv, base := startServe(t, w, "serve", "--data-dir", data)
	api := client{t: t, base: base + "/api/v1", key: key}

	if code, body, _ := (client{t: t, base: api.base}).call("GET", "/connections", nil); code != http.StatusUnauthorized {
		t.Errorf("GET /connections without an API key: %d, want 401: %s", code, body)
	}
	code, body, conn := api.call("POST", "/connections", serverConnection("e2e", simBase, pat))
	cid, _ := conn["id"].(string)
	if code != http.StatusCreated || cid == "" {
		t.Fatalf("create a connection: %d, want 201 with an id: %.300s", code, body)
	}
	if strings.Contains(body, pat) {
		t.Error("the connection's answer carries the PAT")
	}
	if code, body, _ := api.call("POST", "/connections", serverConnection("bad", simBase, "nope")); code != http.StatusUnprocessableEntity {
		t.Errorf("create a connection with a wrong PAT: %d, want 422: %.300s", code, body)
	}

	code, body, repos := api.call("GET", "/connections/"+cid+"/repositories", nil)
	var rid string
	list, _ := repos["value"].([]any)
	for _, r := range list {
		if r, ok := r.(map[string]any); ok && r["name"] == "wallet" {
			rid, _ = r["id"].(string)
		}
	}
	if code != http.StatusOK || rid == "" {
		t.Fatalf("the repository list: %d, want 200 naming wallet: %.300s", code, body)
	}

	code, body, prof := api.call("POST", "/build-profiles", map[string]any{"name": "p", "connectionId": cid, "repositoryId": rid, "branch": "release"})
	pid, _ := prof["id"].(string)
	if code != http.StatusCreated || pid == "" {
		t.Fatalf("create a build profile: %d, want 201 with an id: %.300s", code, body)
	}
	code, body, cl := api.call("POST", "/build-profiles/"+pid+"/clone", map[string]any{})
	want := git(t, "-C", source, "rev-parse", "release")
	if code != http.StatusOK || cl["commit"] != want {
		t.Fatalf("clone the build profile: %d, want 200 at %s (the branch release): %.300s", code, want, body)
	}

	if !foundUnder(t, data, cid) {
		t.Errorf("the connection id %s is in no file under the data directory: the search for the PAT would look in the wrong place", cid)
	}
	srvOut, _ := srv.out.snapshot()
	assertNoSecret(t, pat, map[string]string{"the service's log": srvOut}, data)
	t.Logf("skeleton api: connection, repositories, build profile on branch release, clone at %s; no PAT at rest", want)
}
