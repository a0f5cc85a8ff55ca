package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
	rec    *deliveryRecorder
}

// deliveryRecorder is the simulator's HookClient transport: it keeps each delivery's body (to
// replay a real one) and, while corrupt is set, sends a wrong Basic password.
type deliveryRecorder struct {
	mu      sync.Mutex
	bodies  [][]byte
	corrupt atomic.Bool
}

func (d *deliveryRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.bodies = append(d.bodies, body)
	d.mu.Unlock()
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	if d.corrupt.Load() {
		user, pass, _ := req.BasicAuth()
		out.SetBasicAuth(user, pass+"-wrong")
	}
	return http.DefaultTransport.RoundTrip(out)
}

// last returns the newest recorded body whose text contains marker.
func (d *deliveryRecorder) last(marker string) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.bodies) - 1; i >= 0; i-- {
		if bytes.Contains(d.bodies[i], []byte(marker)) {
			return d.bodies[i]
		}
	}
	return nil
}

func startLoop(t *testing.T, tune func(*services.Options)) *loopEnv {
	t.Helper()
	rec := &deliveryRecorder{}
	e := newEnvWith(t, azdosim.Options{VirtualDir: "tfs", Seed: true, HookClient: &http.Client{Timeout: 30 * time.Second, Transport: rec},
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
	l := &loopEnv{hookEnv: h, rec: rec, work: filepath.Join(t.TempDir(), "w"),
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

// push commits a change on top of the remote's branch from and pushes it to branch; it
// returns the new commit.
func (l *loopEnv) push(from, branch, msg string) string {
	l.t.Helper()
	l.git("fetch", "--quiet", l.remote, "+refs/heads/"+from+":refs/remotes/origin/"+from)
	l.git("checkout", "--quiet", "-B", "work", "origin/"+from)
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
	sha := l.push("main", "release/1.0", "a release fix")
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
	other := l.push("main", "feature/x", "not built")
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

// TestLoopPullRequestStatusAndOneThread: opening a pull request (simulator REST model, real
// merge ref) → the simulator's git.pullrequest.created → a run of the merge commit, a
// pull-request status on iteration 1 and one thread; a new push to the source branch → the
// simulator's git.pullrequest.updated → a second run, still one thread, its first comment
// updated.
func TestLoopPullRequestStatusAndOneThread(t *testing.T) {
	l := startLoop(t, nil)
	topic := l.push("main", "topic", "topic work")
	pr, err := l.sim.CreatePullRequest("DefaultCollection", l.repo.ID, "refs/heads/topic", "refs/heads/main", "topic")
	if err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("refs/pull/%d/merge", pr)
	merge := azdosimtest.Git(t, "", "--git-dir", l.repo.BarePath, "rev-parse", ref)
	r1 := l.runWith("a run of the merge commit", func(r map[string]any) bool { return r["commit"] == merge })
	tr := r1["trigger"].(map[string]any)
	if tr["kind"] != "pullRequest" || tr["ref"] != ref || tr["pullRequestId"] != float64(pr) || tr["sourceCommit"] != topic {
		t.Fatalf("pull request run %v", r1)
	}
	r1 = l.reported(r1["id"].(string), "commitStatus:succeeded", "pullRequestStatus:succeeded", "thread:succeeded")
	if rep := r1["report"].(map[string]any); rep["failed"] != nil || rep["iterationId"] != float64(1) || rep["threadId"] == nil {
		t.Fatalf("report %v", rep)
	}
	prs, err := l.sim.PullRequestStatuses("DefaultCollection", pr)
	if err != nil {
		t.Fatal(err)
	}
	if len(prs) != 2 || prs[0].State != "pending" || prs[1].State != "succeeded" || prs[1].IterationID != 1 ||
		prs[1].ContextGenre != "repoconnect" || prs[1].ContextName != "ios" || !strings.HasSuffix(prs[1].TargetURL, "/runs/"+r1["id"].(string)) {
		t.Fatalf("pull request statuses %+v", prs)
	}
	if st := statusesOf(t, l.sim, l.repo.ID, merge); len(st) != 2 {
		t.Fatalf("commit statuses on the merge commit: %+v", st)
	}
	threads := l.threads(pr)
	if len(threads) != 1 || len(threads[0].Comments) != 1 {
		t.Fatalf("threads %+v, want one with one comment", threads)
	}
	c := threads[0].Comments[0].Content
	for _, want := range []string{merge, "succeeded", "Duration:", reportPublicURL + "/ui/build-profiles/" + l.profile + "/runs/" + r1["id"].(string)} {
		if !strings.Contains(c, want) {
			t.Fatalf("the thread's comment lacks %q:\n%s", want, c)
		}
	}

	// A new push to the source branch: the pull request's new merge commit runs.
	topic2 := l.push("topic", "topic", "more topic work")
	r2 := l.runWith("a second pull request run", func(r map[string]any) bool {
		return r["id"] != r1["id"] && r["trigger"].(map[string]any)["sourceCommit"] == topic2
	})
	merge2 := r2["commit"].(string)
	r2 = l.reported(r2["id"].(string), "commitStatus:succeeded", "pullRequestStatus:succeeded", "thread:succeeded")
	if r2["report"].(map[string]any)["iterationId"] != float64(2) || merge2 == merge {
		t.Fatalf("second run %v", r2)
	}
	threads = l.threads(pr)
	if len(threads) != 1 || len(threads[0].Comments) != 1 {
		t.Fatalf("threads after a second run %+v, want still one with one comment", threads)
	}
	if c2 := threads[0].Comments[0].Content; !strings.Contains(c2, merge2) || strings.Contains(c2, merge) ||
		!strings.Contains(c2, r2["id"].(string)) {
		t.Fatalf("the comment was not updated for the second run:\n%s", c2)
	}
	if n := len(l.runs()); n != 2 {
		t.Fatalf("%d runs, want 2 (the topic pushes are not on a push filter)", n)
	}
}

func (l *loopEnv) threads(pr int) []azdosim.Thread {
	l.t.Helper()
	th, err := l.sim.PullRequestThreads("DefaultCollection", pr)
	if err != nil {
		l.t.Fatal(err)
	}
	return th
}

// TestLoopReplayAndWrongCredential: the simulator's real delivery replayed → no new run; a
// real delivery sent with a wrong password → 401 recorded by the simulator, nothing stored
// (the same event id with the right credential then starts its run).
func TestLoopReplayAndWrongCredential(t *testing.T) {
	l := startLoop(t, nil)
	sha := l.push("main", "main", "first")
	r := l.runWith("the push's run", func(r map[string]any) bool { return r["commit"] == sha })
	body := l.rec.last(sha)
	if body == nil {
		t.Fatal("no recorded delivery of the push")
	}
	code, res, _ := l.deliver(l.url, l.user, l.password, body)
	if code != 200 || res["ignored"] != services.IgnoredDuplicate {
		t.Fatalf("replayed delivery: %d %v", code, res)
	}
	l.reported(r["id"].(string), "commitStatus:succeeded")

	l.rec.corrupt.Store(true)
	before := len(l.sim.Deliveries("DefaultCollection"))
	sha2 := l.push("main", "main", "second")
	var refused azdosim.Delivery
	waitFor(t, "the refused delivery", func() bool {
		ds := l.sim.Deliveries("DefaultCollection")
		for _, d := range ds[min(before, len(ds)):] {
			if d.EventType == "git.push" {
				refused = d
				return true
			}
		}
		return false
	})
	l.rec.corrupt.Store(false)
	if refused.StatusCode != 401 {
		t.Fatalf("a delivery with a wrong password answered %+v, want 401", refused)
	}
	if n := len(l.runs()); n != 1 {
		t.Fatalf("%d runs after a refused delivery, want 1", n)
	}
	if st := statusesOf(t, l.sim, l.repo.ID, sha2); len(st) != 0 {
		t.Fatalf("statuses after a refused delivery: %+v", st)
	}
	code, res, _ = l.deliver(l.url, l.user, l.password, l.rec.last(sha2))
	if code != 202 || len(runIDsOf(res)) != 1 {
		t.Fatalf("the refused event with the right credential: %d %v (its id must not have been stored)", code, res)
	}
}

// TestLoopFailingStatusPostIsRecorded: every commit status post fails (simulator fault 503 on
// route commitStatuses) → the run keeps its own result (succeeded) and its report names the
// post, the reason and the message; each post was tried MaxAttempts times.
func TestLoopFailingStatusPostIsRecorded(t *testing.T) {
	l := startLoop(t, nil)
	l.sim.AddFault(azdosim.Fault{Route: "commitStatuses", Kind: azdosim.FaultKind("503")})
	sha := l.push("main", "main", "status fails")
	r := l.runWith("the push's run", func(r map[string]any) bool { return r["commit"] == sha })
	r = l.reported(r["id"].(string))
	rep := r["report"].(map[string]any)
	if r["state"] != "succeeded" || r["error"] != nil {
		t.Fatalf("the run's own result changed: %v", r)
	}
	if rep["failed"] != services.PostCommitStatus || rep["reason"] != string(connections.ReasonUpstreamUnavailable) ||
		!strings.HasPrefix(rep["error"].(string), "commitStatus: ") || !strings.Contains(rep["error"].(string), "HTTP 503") {
		t.Fatalf("report %v, want the commit status post named with azure_devops_unavailable", rep)
	}
	if strings.Contains(fmt.Sprint(r), simPAT) {
		t.Fatal("the report holds the PAT")
	}
	// pending and the final state, 3 attempts each (MaxAttempts 3 in startLoop).
	waitFor(t, "both posts' attempts", func() bool { return l.sim.RouteRequests("commitStatuses") >= 6 })
	if n := l.sim.RouteRequests("commitStatuses"); n != 6 {
		t.Fatalf("%d status requests, want 6 (2 posts × 3 attempts)", n)
	}
}
