package azdosim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookReceiver is a real HTTP consumer on loopback that records deliveries and answers
// status (settable).
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []receivedHook
	status int
}

type receivedHook struct {
	user, pass string
	header     http.Header
	body       map[string]any
}

func newReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{status: http.StatusOK}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		u, p, _ := r.BasicAuth()
		h.mu.Lock()
		h.got = append(h.got, receivedHook{user: u, pass: p, header: r.Header.Clone(), body: m})
		st := h.status
		h.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) received() []receivedHook {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]receivedHook(nil), h.got...)
}

// waitHooks waits, without sleeping, until cond holds after a change of the hooks state;
// it gives up at the test's deadline.
func waitHooks(t *testing.T, s *Server, what string, cond func() bool) {
	t.Helper()
	wait := 30 * time.Second // bounded, and within the test binary's deadline
	if deadline, ok := t.Deadline(); ok {
		wait = min(wait, time.Until(deadline)-5*time.Second)
	}
	timeout := time.After(wait)
	for {
		ch := s.HookChanged()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// subscribe creates a subscription with a PAT and answers its decoded JSON.
func subscribe(t *testing.T, s *Server, token string, body map[string]any) (answer, map[string]any) {
	t.Helper()
	a := doJSON(t, http.MethodPost, s.URL()+"/DefaultCollection/_apis/hooks/subscriptions?api-version=7.0", token, body)
	var m map[string]any
	if a.status == 200 {
		a.json(t, &m)
	}
	return a, m
}

func doJSON(t *testing.T, method, url, token string, body any) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("", token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	return send(t, req)
}

func webhookBody(eventType, url string, publisher map[string]string) map[string]any {
	return map[string]any{"publisherId": "tfs", "eventType": eventType, "resourceVersion": "1.0",
		"consumerId": "webHooks", "consumerActionId": "httpRequest", "publisherInputs": publisher,
		"consumerInputs": map[string]string{"url": url, "basicAuthUsername": "hookuser",
			"basicAuthPassword": "hook-secret-42", "httpHeaders": "X-Profile: p1"}}
}

// pushClone clones repo ios-app, commits a file and pushes HEAD to branch; it answers the
// pushed commit and the branch's previous commit ("" for a new branch).
func pushTo(t *testing.T, s *Server, work, branch string) (pushed string) {
	t.Helper()
	remote := s.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
	if _, err := os.Stat(filepath.Join(work, ".git")); err != nil {
		runGit(t, "", "-c", "http.extraHeader="+basicHeader("build", testPAT), "clone", "--quiet", remote, work)
	}
	if err := os.WriteFile(filepath.Join(work, "ci.txt"), []byte(branch+time.Now().String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "add", "ci.txt")
	runGit(t, work, "commit", "--quiet", "-m", "ci on "+branch)
	runGit(t, work, "-c", "http.extraHeader="+basicHeader("build", testPAT), "push", "--quiet", remote, "HEAD:refs/heads/"+branch)
	return runGit(t, work, "rev-parse", "HEAD")
}

// TestHookPushDelivery: a real git push to a filtered branch delivers one git.push with the
// real shape and the subscription's credentials; a push to another branch delivers nothing;
// GET masks the password.
func TestHookPushDelivery(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	rcv := newReceiver(t)
	info := findRepo(t, s, "ios-app")
	before := strings.TrimSpace(mustGit(t, info.BarePath, "rev-parse", "refs/heads/main"))
	a, sub := subscribe(t, s, testPAT, webhookBody("git.push", rcv.URL+"/hooks/azure-devops/h1",
		map[string]string{"repository": info.ID, "branch": "main", "projectId": info.ProjectID}))
	mustStatus(t, a, 200)
	if sub["status"] != "enabled" || sub["id"] == "" || sub["consumerInputs"].(map[string]any)["basicAuthPassword"] != secretMask {
		t.Fatalf("created: %s", a.body)
	}
	g := get(t, s.URL()+"/DefaultCollection/_apis/hooks/subscriptions/"+sub["id"].(string), testPAT, false)
	mustStatus(t, g, 200)
	if strings.Contains(string(g.body), "hook-secret-42") {
		t.Fatalf("GET echoes the password: %s", g.body)
	}

	work := filepath.Join(t.TempDir(), "w")
	pushTo(t, s, work, "feature/other") // filtered out
	pushed := pushTo(t, s, work, "main")
	waitHooks(t, s, "one delivery", func() bool { return len(s.Deliveries("")) >= 1 })
	got := rcv.received()
	if len(got) != 1 {
		t.Fatalf("received %d deliveries, want 1 (the other branch is filtered out)", len(got))
	}
	d := got[0]
	if d.user != "hookuser" || d.pass != "hook-secret-42" || d.header.Get("X-Profile") != "p1" {
		t.Fatalf("credentials %q/%q header %q", d.user, d.pass, d.header.Get("X-Profile"))
	}
	b := d.body
	if b["eventType"] != "git.push" || b["publisherId"] != "tfs" || b["resourceVersion"] != "1.0" || b["id"] == "" ||
		b["subscriptionId"] != sub["id"] || b["notificationId"] != float64(1) {
		t.Fatalf("envelope: %v", b)
	}
	res := b["resource"].(map[string]any)
	ups := res["refUpdates"].([]any)
	up := ups[0].(map[string]any)
	if len(ups) != 1 || up["name"] != "refs/heads/main" || up["oldObjectId"] != before || up["newObjectId"] != pushed {
		t.Fatalf("refUpdates %v, want main %s→%s", ups, before, pushed)
	}
	repo := res["repository"].(map[string]any)
	if repo["id"] != info.ID || repo["name"] != "ios-app" || repo["project"].(map[string]any)["id"] != info.ProjectID || repo["remoteUrl"] == "" {
		t.Fatalf("repository %v", repo)
	}
	if res["pushedBy"].(map[string]any)["displayName"] != "Demo User" || res["pushId"] == nil {
		t.Fatalf("pushedBy/pushId: %v", res)
	}
	commits := res["commits"].([]any)
	// The clone's main carries the feature/other commit too: both are new on main.
	if len(commits) != 2 || commits[0].(map[string]any)["commitId"] != pushed {
		t.Fatalf("commits %v", commits)
	}
	rc := b["resourceContainers"].(map[string]any)
	if rc["project"].(map[string]any)["id"] != info.ProjectID {
		t.Fatalf("resourceContainers %v", rc)
	}
	if ds := s.Deliveries(""); ds[0].StatusCode != 200 || ds[0].Attempt != 1 || ds[0].EventID != b["id"] {
		t.Fatalf("recorded %+v", ds)
	}
}

// TestHookRetriesThenDisabled: a consumer failing with 500 (an enduring failure) puts the
// subscription onProbation; the notification is retried on probation with the same event id,
// and when the probation retries fail too the subscription is disabledBySystem; PUT with
// status enabled repairs it and the next push is delivered; DELETE stops deliveries.
func TestHookRetriesThenDisabled(t *testing.T) {
	s := startServer(t, Options{Seed: true, HookRetryDelay: time.Millisecond, HookProbationDelay: time.Millisecond, HookProbationRetries: 2})
	rcv := newReceiver(t)
	rcv.status = http.StatusInternalServerError
	info := findRepo(t, s, "ios-app")
	body := webhookBody("git.push", rcv.URL, map[string]string{"repository": info.ID})
	_, sub := subscribe(t, s, testPAT, body)
	id := sub["id"].(string)
	work := filepath.Join(t.TempDir(), "w")
	pushTo(t, s, work, "main")
	waitHooks(t, s, "disabledBySystem", func() bool {
		ss := s.Subscriptions("")
		return len(ss) == 1 && ss[0].Status == HookDisabledBySystem
	})
	ds := s.Deliveries("")
	if len(ds) != 3 {
		t.Fatalf("%d attempts, want 3 (the failure and 2 probation retries) before disabledBySystem: %+v", len(ds), ds)
	}
	for i, d := range ds {
		if d.EventID != ds[0].EventID || d.Attempt != i+1 || d.StatusCode != 500 {
			t.Fatalf("attempt %d: %+v", i, d)
		}
	}
	for _, r := range rcv.received() {
		if r.body["id"] != ds[0].EventID || r.body["notificationId"] != float64(1) {
			t.Fatalf("a retry changed the event id or notification id: %v %v", r.body["id"], r.body["notificationId"])
		}
	}
	g := get(t, s.URL()+"/DefaultCollection/_apis/hooks/subscriptions/"+id, testPAT, false)
	if !strings.Contains(string(g.body), `"status":"disabledBySystem"`) || !strings.Contains(string(g.body), `"probationRetries":2`) {
		t.Fatalf("GET after failures: %s", g.body)
	}

	// A push while disabled delivers nothing.
	pushTo(t, s, work, "main")
	if n := len(s.Deliveries("")); n != 3 {
		t.Fatalf("%d attempts after a push to a disabled subscription, want 3", n)
	}

	// Repair: PUT the subscription back to enabled, with the masked password.
	rcv.mu.Lock()
	rcv.status = http.StatusOK
	rcv.mu.Unlock()
	var put map[string]any
	_ = json.Unmarshal(g.body, &put)
	put["status"] = "enabled"
	p := doJSON(t, http.MethodPut, s.URL()+"/DefaultCollection/_apis/hooks/subscriptions/"+id+"?api-version=7.0", testPAT, put)
	mustStatus(t, p, 200)
	if ss := s.Subscriptions(""); ss[0].Status != HookEnabled || ss[0].ConsumerInputs["basicAuthPassword"] != "hook-secret-42" {
		t.Fatalf("after PUT: %+v", ss[0])
	}
	pushTo(t, s, work, "main")
	waitHooks(t, s, "a delivery after the repair", func() bool {
		ds := s.Deliveries("")
		return len(ds) == 4 && ds[3].OK()
	})
	if r := rcv.received(); r[len(r)-1].pass != "hook-secret-42" {
		t.Fatalf("password after repair: %q", r[len(r)-1].pass)
	}

	// DELETE: no more deliveries.
	mustStatus(t, doJSON(t, http.MethodDelete, s.URL()+"/DefaultCollection/_apis/hooks/subscriptions/"+id+"?api-version=7.0", testPAT, nil), 204)
	pushTo(t, s, work, "main")
	if n := len(s.Deliveries("")); n != 4 || len(s.Subscriptions("")) != 0 {
		t.Fatalf("after DELETE: %d deliveries, %d subscriptions", n, len(s.Subscriptions("")))
	}
	wantEnvelope(t, get(t, s.URL()+"/DefaultCollection/_apis/hooks/subscriptions/"+id, testPAT, false), 404, "SubscriptionNotFoundException", id)
}

// TestHookScope: creating a subscription needs vso.hooks_write; the six default scopes are
// not enough; reading needs vso.hooks.
func TestHookScope(t *testing.T) {
	six := PAT{Token: "six-scopes-pat-000000000", Scopes: []string{"vso.code", "vso.code_status", "vso.threads_full",
		"vso.serviceendpoint_query", "vso.project", "vso.notification"}}
	writer := PAT{Token: "hooks-write-pat-00000000", Scopes: []string{"vso.code", "vso.hooks_write"}}
	s := startServer(t, Options{Seed: true}, six, writer)
	body := webhookBody("git.push", "http://127.0.0.1:1/x", nil)
	a, _ := subscribe(t, s, six.Token, body)
	wantEnvelope(t, a, 401, "UnauthorizedRequestException", "vso.hooks_write")
	wantEnvelope(t, get(t, s.URL()+"/DefaultCollection/_apis/hooks/subscriptions", six.Token, false), 401, "UnauthorizedRequestException", "vso.hooks")
	a, sub := subscribe(t, s, writer.Token, body)
	mustStatus(t, a, 200)
	l := get(t, s.URL()+"/DefaultCollection/_apis/hooks/subscriptions", writer.Token, false)
	mustStatus(t, l, 200)
	if !strings.Contains(string(l.body), sub["id"].(string)) || !strings.Contains(string(l.body), `"count":1`) {
		t.Fatalf("list: %s", l.body)
	}
	bad := webhookBody("git.push", "ftp://x", nil)
	a, _ = subscribe(t, s, writer.Token, bad)
	mustStatus(t, a, 400)
}

// TestHookDefaultClientLoopbackOnly: without Options.HookClient, a subscription to a
// non-loopback address is attempted and refused by the client, never sent.
func TestHookDefaultClientLoopbackOnly(t *testing.T) {
	s := startServer(t, Options{Seed: true, HookRetryDelay: time.Hour})
	info := findRepo(t, s, "ios-app")
	subscribe(t, s, testPAT, webhookBody("git.push", "http://192.0.2.1:9/hook", map[string]string{"repository": info.ID}))
	pushTo(t, s, filepath.Join(t.TempDir(), "w"), "main")
	waitHooks(t, s, "the refused attempt", func() bool { return len(s.Deliveries("")) == 1 })
	if d := s.Deliveries("")[0]; d.StatusCode != 0 || !strings.Contains(d.Err, "loopback") {
		t.Fatalf("attempt %+v, want refused by the loopback-only client", d)
	}
}

// TestHookPullRequestDelivery: creating a pull request delivers git.pullrequest.created
// (onPullRequest, called by the pull request model) with the pull request as resource,
// filtered by target branch: one delivery, to the subscription on main only.
func TestHookPullRequestDelivery(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	rcv := newReceiver(t)
	info := findRepo(t, s, "ios-app")
	subscribe(t, s, testPAT, webhookBody("git.pullrequest.created", rcv.URL, map[string]string{"repository": info.ID, "branch": "main"}))
	subscribe(t, s, testPAT, webhookBody("git.pullrequest.created", rcv.URL, map[string]string{"repository": info.ID, "branch": "release/1.0"}))
	id, err := s.CreatePullRequest("", info.ID, "develop", "main", "Add CI")
	if err != nil {
		t.Fatal(err)
	}
	waitHooks(t, s, "the pull request delivery", func() bool { return len(s.Deliveries("")) >= 1 })
	if n := len(s.Deliveries("")); n != 1 {
		t.Fatalf("%d deliveries, want 1 (the release/1.0 subscription must not get it)", n)
	}
	b := rcv.received()[0].body
	res := b["resource"].(map[string]any)
	if b["eventType"] != "git.pullrequest.created" || res["pullRequestId"] != float64(id) || res["targetRefName"] != "refs/heads/main" ||
		res["sourceRefName"] != "refs/heads/develop" || res["status"] != "active" || res["repository"].(map[string]any)["id"] != info.ID {
		t.Fatalf("payload %v", b)
	}
	if _, ok := res["lastMergeSourceCommit"].(map[string]any)["commitId"]; !ok {
		t.Fatalf("no lastMergeSourceCommit: %v", res)
	}
}

// TestHookGoneDisables: 410 Gone is a terminal failure: one attempt, then disabledBySystem
// (learn.microsoft.com/azure/devops/service-hooks/troubleshoot).
func TestHookGoneDisables(t *testing.T) {
	s := startServer(t, Options{Seed: true, HookRetryDelay: time.Millisecond})
	rcv := newReceiver(t)
	rcv.status = http.StatusGone
	info := findRepo(t, s, "ios-app")
	subscribe(t, s, testPAT, webhookBody("git.push", rcv.URL, map[string]string{"repository": info.ID}))
	pushTo(t, s, filepath.Join(t.TempDir(), "w"), "main")
	waitHooks(t, s, "disabledBySystem", func() bool { return s.Subscriptions("")[0].Status == HookDisabledBySystem })
	if n := len(s.Deliveries("")); n != 1 {
		t.Fatalf("%d attempts after 410, want 1", n)
	}
}

// TestHookFaultRoute: faults address the subscriptions resource by the route name
// "hooksSubscriptions".
func TestHookFaultRoute(t *testing.T) {
	s := startServer(t, Options{Seed: true, Faults: []Fault{{Route: "hooksSubscriptions", Kind: Fault503, Count: 1}}})
	body := webhookBody("git.push", "http://127.0.0.1:1/x", nil)
	a, _ := subscribe(t, s, testPAT, body)
	mustStatus(t, a, 503)
	a, _ = subscribe(t, s, testPAT, body)
	mustStatus(t, a, 200)
	if n := len(s.Subscriptions("")); n != 1 {
		t.Fatalf("%d subscriptions, want 1 (the faulted request stored nothing)", n)
	}
}

// TestHookTransientRetries: 503 is a transient failure: retried HookTransientRetries times
// without probation, then it counts as an enduring failure (probation), and after the
// probation retries the subscription is disabledBySystem; every attempt carries the same
// event id (learn.microsoft.com/azure/devops/service-hooks/troubleshoot).
func TestHookTransientRetries(t *testing.T) {
	s := startServer(t, Options{Seed: true, HookRetryDelay: time.Millisecond, HookTransientRetries: 2,
		HookProbationDelay: time.Millisecond, HookProbationRetries: 1})
	rcv := newReceiver(t)
	rcv.status = http.StatusServiceUnavailable
	info := findRepo(t, s, "ios-app")
	subscribe(t, s, testPAT, webhookBody("git.push", rcv.URL, map[string]string{"repository": info.ID}))
	pushTo(t, s, filepath.Join(t.TempDir(), "w"), "main")
	waitHooks(t, s, "disabledBySystem", func() bool { return s.Subscriptions("")[0].Status == HookDisabledBySystem })
	ds := s.Deliveries("")
	if len(ds) != 4 {
		t.Fatalf("%d attempts, want 4 (1 + 2 transient retries + 1 probation retry): %+v", len(ds), ds)
	}
	for _, d := range ds {
		if d.EventID != ds[0].EventID || d.StatusCode != 503 {
			t.Fatalf("attempt %+v", d)
		}
	}
}
