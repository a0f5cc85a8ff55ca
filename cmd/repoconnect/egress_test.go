package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The CLI allows loopback by default (its user chose the URL), and applies the same flags as
// serve: a deny entry, a link-local address and malformed settings.
func TestCLIDestinationFlags(t *testing.T) {
	sim := startSim(t)
	t.Setenv("AZURE_DEVOPS_PAT", cliPAT)
	cases := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"loopback allowed", []string{"check-token", "--server-url", sim.URL(), "--collection", "DefaultCollection"}, 0, "valid"},
		{"loopback denied", []string{"check-token", "--server-url", sim.URL(), "--collection", "DefaultCollection", "--deny-destinations", "127.0.0.0/8"}, 1, "destination_not_allowed"},
		{"link-local", []string{"check-token", "--server-url", "http://169.254.169.254", "--collection", "DefaultCollection"}, 1, "--allow-destinations"},
		{"bad entry", []string{"check-token", "--server-url", sim.URL(), "--collection", "c", "--allow-destinations", "http://x"}, 2, "--allow-destinations: entry \"http://x\""},
		{"bad boolean", []string{"check-token", "--server-url", sim.URL(), "--collection", "c", "--deny-private-networks=maybe"}, 2, "--deny-private-networks"},
		{"clone denied", []string{"clone", sim.URL() + "/DefaultCollection/Platform/_git/Platform", "--dir", t.TempDir() + "/c", "-q", "--deny-destinations", "loopback"}, 1, "outbound network policy"},
		// A guessed split (no tfs segment settles it), so the server would be asked.
		{"resolve denied", []string{"parse-url", "--resolve", strings.TrimSuffix(sim.URL(), "/tfs") + "/x/DefaultCollection/Platform/_git/Platform", "--deny-destinations", "loopback"}, 1, "outbound network policy"},
		{"settled: nothing to ask", []string{"parse-url", "--resolve", sim.URL() + "/DefaultCollection/_git/Platform", "--deny-destinations", "loopback"}, 0, `"guessed": false`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errs, code := run(t, "", c.args...)
			if code != c.code || !strings.Contains(out+errs, c.says) {
				t.Fatalf("exit %d (want %d); output does not say %q:\n%s%s", code, c.code, c.says, out, errs)
			}
		})
	}
	t.Setenv("REPOCONNECT_DENY_DESTINATIONS", "loopback")
	if out, _, code := run(t, "", "check-token", "--server-url", sim.URL(), "--collection", "DefaultCollection"); code != 1 || !strings.Contains(out, "destination_not_allowed") {
		t.Fatalf("REPOCONNECT_DENY_DESTINATIONS: exit %d\n%s", code, out)
	}
}

// serve --demo allows exactly its simulators: a connection to another loopback port is
// refused with 422 destination_not_allowed, one to the demo's simulator works.
func TestDemoAllowsOnlyItsSimulators(t *testing.T) {
	d := runDemo(t)
	d.api("POST", "/api/v1/connections", `{"name":"demo","type":"server-pat","serverUrl":"`+d.serverURL+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	other := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(other.Close)
	code, m := d.call("POST", "/api/v1/connections", `{"name":"other","type":"server-pat","serverUrl":"`+other.URL+`","collection":"`+d.collection+`","pat":"`+d.pat+`"}`)
	if code != 422 || m["code"] != "destination_not_allowed" {
		t.Fatalf("another loopback port: %d %v", code, m)
	}
	u, _ := url.Parse(other.URL)
	if strings.Contains(m["detail"].(string), u.Port()) {
		t.Fatalf("the refusal names the port: %v", m)
	}
}
