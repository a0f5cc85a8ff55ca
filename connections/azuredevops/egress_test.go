package azuredevops_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/egress"
)

// TestTokenCheckRefusedDestination: under the default policy a token check of a loopback
// port is refused before any connection, at step reach_host, with the same result whether
// the port is open (the simulator) or closed.
func TestTokenCheckRefusedDestination(t *testing.T) {
	sim := startSim(t, azdosim.Options{Seed: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	strict := azuredevops.Options{Door: egress.New(egress.Options{})}
	open := check(t, sim.URL(), "DefaultCollection", testPAT, strict)
	shut := check(t, closed, "DefaultCollection", testPAT, strict)
	wantFailure(t, open, connections.ReasonDestinationNotAllowed, "--allow-destinations")
	if open.Message != shut.Message || !reflect.DeepEqual(open.Steps, shut.Steps) {
		t.Fatalf("an open and a closed port are told apart:\n%+v\n%+v", open, shut)
	}
	if len(open.Steps) != 1 || open.Steps[0].Name != azuredevops.StepReach || open.Steps[0].OK {
		t.Fatalf("steps = %+v, want reach_host failed", open.Steps)
	}
	if strings.Contains(open.Message, "127.0.0.1") || strings.Contains(open.Message, "refused") {
		t.Fatalf("the message names the target: %s", open.Message)
	}
	// vsts/info (EndpointOfRemote) goes through the same door.
	r, err := azuredevops.ParseRemoteURL(sim.URL() + "/a/b/_git/c")
	if err != nil {
		t.Fatal(err)
	}
	_, err = azuredevops.EndpointOfRemote(context.Background(), r, azuredevops.Credential{PAT: testPAT}, strict)
	if !errors.Is(err, connections.ErrDestinationNotAllowed) {
		t.Fatalf("EndpointOfRemote: %v, want destination_not_allowed", err)
	}
}

// TestNonAzureBodyNotQuoted: a 401 (or 404, 500) of something that is not Azure DevOps is
// summarised by its status; its body never reaches the message.
func TestNonAzureBodyNotQuoted(t *testing.T) {
	const secret = "internal-admin-console: session for root expired at 10.0.0.7"
	var status atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		_, _ = io.WriteString(w, `{"message":"`+secret+`","error":"unauthorized"}`)
	}))
	t.Cleanup(ts.Close)
	for _, st := range []int{401, 403, 404, 500} {
		status.Store(int32(st))
		res := check(t, ts.URL, "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor})
		if res.Valid || strings.Contains(res.Message, "internal-admin") || strings.Contains(res.Message, "10.0.0.7") {
			t.Fatalf("HTTP %d: the body is quoted: %+v", st, res)
		}
		if st != 404 && !strings.Contains(res.Message, "without an Azure DevOps error") { // 404: collection_not_found
			t.Fatalf("HTTP %d: message %q does not summarise by status", st, res.Message)
		}
	}
	// A recognised Azure DevOps error is still quoted (the expired PAT's TF-shaped envelope).
	sim := startSim(t, azdosim.Options{Seed: true})
	res := check(t, sim.URL(), "DefaultCollection", "expiredpat", azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if !strings.Contains(res.Message, "expired") {
		t.Fatalf("the Azure DevOps message is no longer quoted: %q", res.Message)
	}
}

// TestRESTRedirectNotFollowed: a REST answer 302 to another host is reported, not followed,
// and the other host is not named.
func TestRESTRedirectNotFollowed(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	t.Cleanup(other.Close)
	u, _ := url.Parse(other.URL)
	target := "http://localhost:" + u.Port() + "/DefaultCollection/_apis/projects"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	}))
	t.Cleanup(ts.Close)
	res := check(t, ts.URL, "DefaultCollection", testPAT, azuredevops.Options{Door: azuredevops.LoopbackDoor, Timeout: 10 * time.Second})
	if res.Valid || res.Reason != connections.ReasonProtocol || strings.Contains(res.Message, "localhost") {
		t.Fatalf("result = %+v, want protocol_error naming no target", res)
	}
	if otherHits.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

// TestRetryAfterTextNotQuoted: a 429's Retry-After is the server's text; only the value parsed
// from it reaches the message, and a header that is no number and no date is not quoted at all.
func TestRetryAfterTextNotQuoted(t *testing.T) {
	var header atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", header.Load().(string))
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(ts.Close)
	ep, err := azuredevops.NewEndpoint(ts.URL, "DefaultCollection")
	if err != nil {
		t.Fatal(err)
	}
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: testPAT}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
	if err != nil {
		t.Fatal(err)
	}
	for hdr, want := range map[string]string{"7": "retry after 7s", "soon; see http://10.0.0.7/admin": "retry in a few seconds"} {
		header.Store(hdr)
		_, err := c.ListProjects(context.Background())
		ce := connections.AsError(err)
		if ce == nil || ce.Reason != connections.ReasonRateLimited || !strings.Contains(ce.Message, want) || strings.Contains(ce.Message, "10.0.0.7") {
			t.Fatalf("Retry-After %q: got %v, want rate_limited saying %q and nothing of the header's text", hdr, err, want)
		}
	}
}
