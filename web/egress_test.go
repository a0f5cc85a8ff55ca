package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/web"
)

// TestDestinationNotAllowed: under serve's default policy (no Door: loopback refused) every
// route that reaches a tenant-chosen server answers 422 destination_not_allowed, with a body
// that is the same for an open port (the simulator) and a closed one, and that names the
// setting to change and nothing of the target.
func TestDestinationNotAllowed(t *testing.T) {
	sim := azdosimtest.Start(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: simPAT, UserName: "API Tester"})
	dir := t.TempDir()
	kr, _, err := secrets.LoadOrCreateFile(filepath.Join(dir, "sealing.key"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, "repoconnect.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := services.New(services.Options{Store: st, Keyring: kr, WorkDir: filepath.Join(dir, "work"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	key, _, err := svc.CreateAPIKey(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(web.New(web.Options{Service: svc}))
	t.Cleanup(api.Close)
	post := func(path string, body map[string]any) (int, []byte) {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", api.URL+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	_ = ln.Close()
	u, _ := url.Parse(sim.URL())
	port := u.Port()

	var first []byte
	for _, server := range []string{
		sim.URL(), "http://" + closed + "/tfs", // an open and a closed loopback port
		"http://169.254.169.254", "http://[::ffff:127.0.0.1]:" + port + "/tfs",
		"http://2130706433:" + port + "/tfs", "http://0177.0.0.1:" + port + "/tfs", "http://0.0.0.0:" + port + "/tfs",
	} {
		code, body := post("/api/v1/connections", map[string]any{"name": "x", "type": "server-pat", "serverUrl": server,
			"collection": "DefaultCollection", "pat": simPAT})
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		if code != 422 || p["code"] != "destination_not_allowed" || p["field"] != "serverUrl" ||
			!strings.Contains(p["detail"].(string), "--allow-destinations") {
			t.Fatalf("%s: %d %s", server, code, body)
		}
		for _, leak := range []string{"127.0.0.1", "169.254", "refused", "timeout", port} {
			if strings.Contains(string(body), leak) {
				t.Fatalf("%s: the answer names %q: %s", server, leak, body)
			}
		}
		if first == nil {
			first = body
		} else if !bytes.Equal(first, body) {
			t.Fatalf("%s: the answer differs from the open port's:\n%s\n%s", server, first, body)
		}
	}
	// parse-url --resolve asks vsts/info through the same door.
	code, body := post("/api/v1/parse-url", map[string]any{"remoteUrl": sim.URL() + "/DefaultCollection/_git/Platform", "resolve": true, "pat": simPAT})
	if code != 422 || !strings.Contains(string(body), "destination_not_allowed") {
		t.Fatalf("parse-url resolve: %d %s", code, body)
	}
}
