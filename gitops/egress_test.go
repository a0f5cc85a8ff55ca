package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/gitops"
)

// recorder is a reverse proxy to target that records the requests it sees (path and
// whether they carried an Authorization header).
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T, target string, front func(w http.ResponseWriter, r *http.Request) bool) *recorder {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Method+" "+r.URL.Path+" auth="+boolString(r.Header.Get("Authorization") != ""))
		rec.mu.Unlock()
		if front != nil && front(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func boolString(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// A clone of a loopback URL under the default policy is refused before any request, and
// leaves nothing behind; the same clone with loopback allowed works.
func TestCloneRefusedDestination(t *testing.T) {
	sim := startSim(t)
	rec := newRecorder(t, sim.URL(), nil)
	u := strings.Replace(cloneURL(sim, repoByName(t, sim, "ios-app")), sim.URL(), rec.URL+"/tfs", 1)
	for _, door := range []*egress.Door{nil, egress.New(egress.Options{})} {
		dir := filepath.Join(t.TempDir(), "clone")
		_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: door, URL: u, Dir: dir, PAT: pat})
		if ce := connections.AsError(err); !errors.Is(err, connections.ErrDestinationNotAllowed) || ce.Message != egress.Message {
			t.Fatalf("err = %v, want destination_not_allowed", err)
		}
		leftNothing(t, dir)
	}
	if got := rec.requests(); len(got) != 0 {
		t.Fatalf("requests reached the server: %v", got)
	}
	if _, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: u, Dir: filepath.Join(t.TempDir(), "ok"), PAT: pat}); err != nil {
		t.Fatalf("with loopback allowed: %v", err)
	}
}

// A redirect of the first info/refs request is followed to the same host, and refused to
// another host (which gets no request); a redirect of a later request is refused.
func TestCloneRedirects(t *testing.T) {
	sim := startSim(t)
	other := newRecorder(t, sim.URL(), nil)
	otherURL, _ := url.Parse(other.URL)
	// front serves the simulator under /tfs, and redirects /same/... to /tfs/... on itself
	// and /away/... to /tfs/... on "localhost" (another host, the other recorder).
	var front *recorder
	front = newRecorder(t, sim.URL(), func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case strings.HasPrefix(r.URL.Path, "/same/"):
			http.Redirect(w, r, front.URL+"/tfs/"+strings.TrimPrefix(r.URL.RequestURI(), "/same/"), http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/away/"):
			http.Redirect(w, r, "http://localhost:"+otherURL.Port()+"/tfs/"+strings.TrimPrefix(r.URL.RequestURI(), "/away/"), http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/late/") && r.Method == http.MethodPost:
			http.Redirect(w, r, front.URL+"/tfs/"+strings.TrimPrefix(r.URL.RequestURI(), "/late/"), http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/late/"):
			r.URL.Path = "/tfs/" + strings.TrimPrefix(r.URL.Path, "/late/")
			return false
		default:
			return false
		}
		return true
	})
	path := strings.TrimPrefix(cloneURL(sim, repoByName(t, sim, "ios-app")), sim.URL()+"/")
	clone := func(prefix string) error {
		_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor,
			URL: front.URL + "/" + prefix + "/" + path, Dir: filepath.Join(t.TempDir(), prefix), PAT: pat})
		return err
	}
	if err := clone("same"); err != nil {
		t.Fatalf("same-host redirect of info/refs: %v", err)
	}
	for _, prefix := range []string{"away", "late"} {
		err := clone(prefix)
		if !errors.Is(err, connections.ErrDestinationNotAllowed) || strings.Contains(err.Error(), "localhost") {
			t.Fatalf("%s: err = %v, want destination_not_allowed naming no host", prefix, err)
		}
	}
	if got := other.requests(); len(got) != 0 {
		t.Fatalf("the other host got requests: %v", got)
	}
}

// A submodule on another host goes through the policy, and never gets the connection's
// credential: with loopback allowed it is asked without one; with only the superproject's
// address allowed it is refused without a request.
func TestCloneSubmoduleOnAnotherHost(t *testing.T) {
	sim := startSim(t)
	lib := makeRepo(t, sim, "lib", func(w string, commit func(string)) { commit("lib") })
	pinned := gitOut(t, lib.BarePath, "rev-parse", "main")
	other := newRecorder(t, sim.URL(), nil)
	otherURL, _ := url.Parse(other.URL)
	libURL := "http://localhost:" + otherURL.Port() + "/tfs/DefaultCollection/Engine/_git/lib"
	super := makeRepo(t, sim, "super", func(w string, commit func(string)) {
		write(t, filepath.Join(w, ".gitmodules"), []byte("[submodule \"lib\"]\n\tpath = lib\n\turl = "+libURL+"\n"), 0o644)
		gitOut(t, w, "add", "-A")
		gitOut(t, w, "update-index", "--add", "--cacheinfo", "160000,"+pinned+",lib")
		gitOut(t, w, "-c", "user.name=Engine Test", "-c", "user.email=engine@example.invalid", "commit", "-q", "-m", "with a submodule")
	})
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, super),
		Dir: filepath.Join(t.TempDir(), "a"), PAT: pat, Submodules: true})
	if !errors.Is(err, connections.ErrUnauthorized) { // the simulator asks for a credential
		t.Fatalf("err = %v, want the submodule's 401", err)
	}
	got := other.requests()
	if len(got) == 0 {
		t.Fatal("the submodule's host got no request")
	}
	for _, r := range got {
		if strings.HasSuffix(r, "auth=yes") {
			t.Fatalf("the submodule's host got the credential: %v", got)
		}
	}

	simURL, _ := url.Parse(sim.URL())
	only, err := egress.ParseRules("--allow-destinations", simURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	door := egress.New(egress.Options{Policy: egress.Policy{Allow: only}})
	dir := filepath.Join(t.TempDir(), "b")
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: door, URL: cloneURL(sim, super), Dir: dir, PAT: pat, Submodules: true})
	if !errors.Is(err, connections.ErrDestinationNotAllowed) {
		t.Fatalf("err = %v, want destination_not_allowed", err)
	}
	leftNothing(t, dir)
	if n := len(other.requests()); n != len(got) {
		t.Fatalf("the refused submodule's host got %d more requests", n-len(got))
	}
}

// What a server that is not a git server answers is not quoted back: a body that go-git
// reads as a malformed reference advertisement (its error carries the line) is reported
// without the line, so a clone URL naming an internal HTTP service cannot read it.
func TestCloneDoesNotQuoteForeignBody(t *testing.T) {
	const secret = "INTERNAL-SECRET-do-not-echo-0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		line := "zzzz " + secret + "\n"
		_, _ = w.Write([]byte(fmt.Sprintf("%04x%s", len(line)+4, line)))
	}))
	t.Cleanup(srv.Close)
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{URL: srv.URL + "/tfs/c/p/_git/r",
		Dir: filepath.Join(t.TempDir(), "w"), Door: gitops.LoopbackDoor})
	if err == nil {
		t.Fatal("the clone succeeded")
	}
	if ce := connections.AsError(err); ce == nil || strings.Contains(ce.Message, secret) || strings.Contains(err.Error(), secret) {
		t.Fatalf("err = %v, want an error that does not quote the body", err)
	}
}
