package web_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
)

// reportPublicURL is the public URL the service links its runs' pages from.
const reportPublicURL = "https://repoconnect.example"

// loopEnv is the whole loop on loopback: the simulator delivering its real service-hook events
// to the service's hook endpoint (subscriptions created in the simulator through its REST
// API, with the profile's hook URL and credential), a work tree that pushes with the real git
// CLI over smart HTTP, and the service posting statuses and threads back to the simulator.
type loopEnv struct {
	*hookEnv
	work   string // a clone of ios-app, pushing with the simulator's PAT
	remote string
}

func startLoop(t *testing.T, tune func(*services.Options)) *loopEnv {
	t.Helper()
	e := newEnvWith(t, azdosim.Options{VirtualDir: "tfs", Seed: true, HookClient: &http.Client{Timeout: 30 * time.Second},
		HookRetryDelay: 10 * time.Millisecond}, func(o *services.Options) {
		o.Runs.PublicURL = reportPublicURL
		o.Runs.Report.InitialInterval = 5 * time.Millisecond
		o.Runs.Report.MaxAttempts = 3
		if tune != nil {
			tune(o)
		}
	})
	conn := e.createConnection()
	h := &hookEnv{env: e, repo: azdosimtest.Repository(t, e.sim, "ios-app")}
	code, p, _ := e.call("POST", "/api/v1/build-profiles", map[string]any{"name": "ios", "connectionId": conn,
		"repositoryId": h.repo.ID, "branch": "main",
		"triggers": map[string]any{"push": map[string]any{"branches": []string{"main", "release/*"}},
			"pullRequest": map[string]any{"branches": []string{"main"}}}})
	if code != 201 {
		t.Fatalf("create profile: %d %v", code, p)
	}
	h.profile = p["id"].(string)
	hook := p["hook"].(map[string]any)
	h.url, h.user, h.password = hook["url"].(string), hook["user"].(string), hook["password"].(string)

	// The subscriptions, as a user (or the subscriptions code) creates them in Azure DevOps:
	// pushes of every branch (the service filters), pull requests targeting main.
	u, _ := url.Parse(e.sim.URL())
	c, err := azuredevops.New(azuredevops.Endpoint{Scheme: u.Scheme, Host: u.Host, VirtualDirectory: strings.Trim(u.Path, "/"),
		Collection: "DefaultCollection"}, azuredevops.Credential{PAT: connections.Secret(simPAT)}, azuredevops.Options{Door: loopbackDoor})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []struct{ typ, branch string }{{"git.push", ""}, {"git.pullrequest.created", "main"}, {"git.pullrequest.updated", "main"}} {
		if _, err := c.CreateSubscription(context.Background(), azuredevops.WebHook(ev.typ, h.repo.ProjectID, h.repo.ID, ev.branch,
			h.url, h.user, connections.Secret(h.password))); err != nil {
			t.Fatalf("create subscription %s: %v", ev.typ, err)
		}
	}
	l := &loopEnv{hookEnv: h, work: filepath.Join(t.TempDir(), "w"),
		remote: e.sim.URL() + "/DefaultCollection/" + url.PathEscape(h.repo.ProjectName) + "/_git/ios-app"}
	l.git("clone", "--quiet", l.remote, l.work)
	return l
}

// git runs the git CLI isolated from the user's configuration, with the PAT as an extra
// header (never in the URL).
func (l *loopEnv) git(args ...string) string {
	l.t.Helper()
	hdr := "http.extraHeader=Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(":"+simPAT))
	dir := ""
	if args[0] != "clone" {
		dir = l.work
	}
	return azdosimtest.Git(l.t, dir, append([]string{"-c", hdr}, args...)...)
}

// push commits a change on top of base (a ref of the clone) and pushes it to branch; it
// returns the new commit.
func (l *loopEnv) push(base, branch, msg string) string {
	l.t.Helper()
	l.git("checkout", "--quiet", "-B", "work", base)
	if err := os.WriteFile(filepath.Join(l.work, "ci.txt"), []byte(msg), 0o644); err != nil {
		l.t.Fatal(err)
	}
	l.git("add", "ci.txt")
	l.git("commit", "--quiet", "-m", msg)
	l.git("push", "--quiet", l.remote, "HEAD:refs/heads/"+branch)
	return l.git("rev-parse", "HEAD")
}

// runWith polls the profile's runs until one satisfies cond, and returns it.
func (l *loopEnv) runWith(what string, cond func(r map[string]any) bool) map[string]any {
	l.t.Helper()
	var found map[string]any
	waitFor(l.t, what, func() bool {
		for _, r := range l.runs() {
			if cond(r) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// reported polls a run until its report holds the final posts (want entries) or a failure.
func (l *loopEnv) reported(id string, want ...string) map[string]any {
	l.t.Helper()
	var r map[string]any
	waitFor(l.t, "the report of run "+id, func() bool {
		_, r, _ = l.call("GET", "/api/v1/runs/"+id, nil)
		rep, _ := r["report"].(map[string]any)
		if rep == nil || (r["state"] != "succeeded" && r["state"] != "failed") {
			return false
		}
		if rep["failed"] != nil {
			return true
		}
		have := map[string]bool{}
		for _, s := range rep["statuses"].([]any) {
			have[s.(string)] = true
		}
		for _, w := range want {
			if !have[w] {
				return false
			}
		}
		return true
	})
	return r
}

func statusesOf(t *testing.T, sim *azdosim.Server, repoID, sha string) []azdosim.Status {
	t.Helper()
	st, err := sim.CommitStatuses("DefaultCollection", repoID, sha)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestLoopPushRunsAndPostsStatus: a real git push to a filtered branch → the simulator's real
// delivery → one run of that commit → pending then succeeded commit statuses, context
// repoconnect/ios, linking the run's page; a push to another branch → no run.
func TestLoopPushRunsAndPostsStatus(t *testing.T) {
	l := startLoop(t, nil)
	sha := l.push("origin/main", "release/1.0", "a release fix")
	r := l.runWith("a run of the pushed commit", func(r map[string]any) bool { return r["commit"] == sha })
	id := r["id"].(string)
	r = l.reported(id, "commitStatus:succeeded")
	if r["state"] != "succeeded" || r["trigger"].(map[string]any)["kind"] != "push" || r["report"].(map[string]any)["failed"] != nil {
		t.Fatalf("run = %v", r)
	}
	st := statusesOf(t, l.sim, l.repo.ID, sha)
	if len(st) != 2 {
		t.Fatalf("statuses on %s: %+v, want pending then succeeded", sha, st)
	}
	newest, oldest := st[0], st[1]
	if newest.Created.Before(oldest.Created) {
		newest, oldest = oldest, newest
	}
	want := reportPublicURL + "/ui/build-profiles/" + l.profile + "/runs/" + id
	if oldest.State != "pending" || newest.State != "succeeded" || newest.ContextGenre != "repoconnect" ||
		newest.ContextName != "ios" || newest.TargetURL != want || oldest.TargetURL != want {
		t.Fatalf("statuses %+v, want pending → succeeded on repoconnect/ios linking %s", st, want)
	}
	// Another branch: delivered, no run, no status.
	other := l.push("origin/main", "feature/x", "not built")
	waitFor(t, "the feature/x delivery", func() bool {
		ds := l.sim.Deliveries("DefaultCollection")
		return len(ds) >= 2 && ds[len(ds)-1].OK()
	})
	if runs := l.runs(); len(runs) != 1 {
		t.Fatalf("%d runs after a push to feature/x, want 1", len(runs))
	}
	if st := statusesOf(t, l.sim, l.repo.ID, other); len(st) != 0 {
		t.Fatalf("statuses on an unbuilt commit: %+v", st)
	}
}
