package web_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/services"
)

// TestDestinationNotAllowed: under serve's default policy (no Door: loopback refused) every
// route that reaches a tenant-chosen server answers 422 destination_not_allowed, with a body
// that is the same for an open port (the simulator) and a closed one, and that names the
// setting to change and nothing of the target.
func TestDestinationNotAllowed(t *testing.T) {
	env := newEnvWith(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, func(o *services.Options) { o.Door = nil })
	sim := env.sim
	post := func(path string, body map[string]any) (int, []byte) {
		t.Helper()
		code, raw, _ := env.raw("POST", path, body)
		return code, raw
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
		body = withoutRequestID(body) // each request has its own
		if first == nil {
			first = body
		} else if !bytes.Equal(first, body) {
			t.Fatalf("%s: the answer differs from the open port's:\n%s\n%s", server, first, body)
		}
	}
	// parse-url --resolve asks vsts/info through the same door (for a guessed split: a tfs
	// URL is settled without a request).
	code, body := post("/api/v1/parse-url", map[string]any{"remoteUrl": "http://" + u.Host + "/x/DefaultCollection/Platform/_git/Platform", "resolve": true, "pat": simPAT})
	if code != 422 || !strings.Contains(string(body), "destination_not_allowed") {
		t.Fatalf("parse-url resolve: %d %s", code, body)
	}
}
