package services_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

const egressPAT = "egresstestpat0123456789"

// An answer from anything but the connection's own server never changes its status: neither
// a refusal of the outbound policy (another instance with a stricter policy checks it) nor a
// 401 of a submodule on another host (which is not sent the credential).
func TestStatusKeptOnForeignAnswers(t *testing.T) {
	ctx := context.Background()
	sim := azdosimtest.Start(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: egressPAT, UserName: "Egress"})
	st, kr, clock := browserStore(t), browserKeyring(t, "k1"), storetest.NewClock(time.Now())
	open := func(door bool) *services.Service {
		o := services.Options{Store: st, Keyring: kr, Now: clock.Now, WorkDir: t.TempDir()}
		if door {
			o.Door = services.LoopbackDoor
		}
		svc, err := services.New(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		return svc
	}
	loose, strict := open(true), open(false)
	conn, err := loose.CreateConnection(ctx, "acme", services.ConnectionInput{Name: "c", Type: "server-pat",
		ServerURL: sim.URL(), Collection: "DefaultCollection", PAT: egressPAT})
	if err != nil {
		t.Fatal(err)
	}
	authorized := func(when string) {
		t.Helper()
		c, err := loose.GetConnection(ctx, "acme", conn.ID)
		if err != nil || c.Status != services.StatusAuthorized {
			t.Fatalf("%s: status %q (%s), err %v; want authorized", when, c.Status, c.StatusReason, err)
		}
	}
	res, err := strict.CheckConnection(ctx, "acme", conn.ID)
	if err != nil || res.Valid || res.Reason != connections.ReasonDestinationNotAllowed {
		t.Fatalf("check under the strict policy: %+v %v", res, err)
	}
	authorized("after a refused check")

	// A superproject whose submodule is on "localhost" (another host than 127.0.0.1),
	// served by a recorder in front of the simulator.
	var mu sync.Mutex
	var auths []string
	target, _ := url.Parse(sim.URL())
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target.Host})
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(other.Close)
	lib, err := sim.CreateRepository("DefaultCollection", "Platform", "lib")
	if err != nil {
		t.Fatal(err)
	}
	super, err := sim.CreateRepository("DefaultCollection", "Platform", "super")
	if err != nil {
		t.Fatal(err)
	}
	w := t.TempDir()
	git := azdosimtest.Git
	git(t, w, "init", "-q", "-b", "main")
	git(t, w, "-c", "user.name=E", "-c", "user.email=e@example.invalid", "commit", "-q", "--allow-empty", "-m", "lib")
	git(t, w, "push", "-q", lib.BarePath, "main")
	pinned := git(t, w, "rev-parse", "HEAD")
	u, _ := url.Parse(other.URL)
	gm := "[submodule \"lib\"]\n\tpath = lib\n\turl = http://localhost:" + u.Port() + "/tfs/DefaultCollection/Platform/_git/lib\n"
	if err := os.WriteFile(filepath.Join(w, ".gitmodules"), []byte(gm), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, w, "add", ".gitmodules")
	git(t, w, "update-index", "--add", "--cacheinfo", "160000,"+pinned+",lib")
	git(t, w, "-c", "user.name=E", "-c", "user.email=e@example.invalid", "commit", "-q", "-m", "super")
	git(t, w, "push", "-q", super.BarePath, "main")

	p, err := loose.CreateBuildProfile(ctx, "acme", services.BuildProfileInput{Name: "super", ConnectionID: conn.ID, RepositoryID: super.ID, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = loose.CloneBuildProfile(ctx, "acme", p.ID, services.CloneInput{Submodules: true}, nil)
	if !errors.Is(err, connections.ErrUnauthorized) {
		t.Fatalf("clone: %v, want the submodule host's 401", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auths) == 0 {
		t.Fatal("the submodule's host was not asked")
	}
	for _, a := range auths {
		if a != "" {
			t.Fatal("the submodule's host got the connection's credential")
		}
	}
	authorized("after a submodule's 401")
}

// parse-url with a connectionId asks the server with the connection's stored credential, so
// the remote URL must be on that connection's server: on another host (here "localhost"
// against the connection's 127.0.0.1, a recorder) it is refused before any request, and the
// credential goes nowhere.
func TestParseURLConnectionCredentialStaysOnItsServer(t *testing.T) {
	ctx := context.Background()
	// Virtual directory vd, not tfs: a tfs URL's split needs no request (issue 16), so these
	// remote URLs must be guesses for the server to be asked at all.
	sim := azdosimtest.Start(t, azdosim.Options{VirtualDir: "vd", Seed: true}, azdosim.PAT{Token: egressPAT, UserName: "Egress"})
	svc, err := services.New(services.Options{Store: browserStore(t), Keyring: browserKeyring(t, "k1"), Door: services.LoopbackDoor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	conn, err := svc.CreateConnection(ctx, "acme", services.ConnectionInput{Name: "c", Type: "server-pat",
		ServerURL: sim.URL(), Collection: "DefaultCollection", PAT: egressPAT})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var auths []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(other.Close)
	u, _ := url.Parse(other.URL)
	simURL, _ := url.Parse(sim.URL())
	for _, remote := range []string{
		"http://localhost:" + u.Port() + "/vd/DefaultCollection/Platform/_git/ios", // another host
		"http://127.0.0.1:" + u.Port() + "/vd/DefaultCollection/Platform/_git/ios", // another port
		"https://" + simURL.Host + "/vd/DefaultCollection/Platform/_git/ios",       // another scheme
	} {
		_, err = svc.ParseRemoteURL(ctx, "acme", services.ParseURLInput{RemoteURL: remote, Resolve: true, ConnectionID: conn.ID})
		if ce := connections.AsError(err); ce == nil || ce.Field != "remoteUrl" {
			t.Errorf("%s: err = %v, want a refusal naming remoteUrl", remote, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auths) != 0 {
		t.Fatalf("another host was asked %d times (authorization %q) with the connection's credential", len(auths), auths)
	}
	// On the connection's own server it is still asked.
	r, err := svc.ParseRemoteURL(ctx, "acme", services.ParseURLInput{RemoteURL: sim.URL() + "/DefaultCollection/Platform/_git/Platform",
		Resolve: true, ConnectionID: conn.ID})
	if err != nil || r.Guessed || r.Collection != "DefaultCollection" {
		t.Fatalf("own server: %+v %v, want the split settled", r, err)
	}
}
