package web_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/services"
)

// failingTransport answers 500 to every request while fail is set (a service that cannot take
// deliveries), else passes them on: the simulator's Options.HookClient in these tests.
type failingTransport struct{ fail atomic.Bool }

func (f *failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.fail.Load() {
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: 500, Status: "500 Internal Server Error", Body: http.NoBody, Header: http.Header{},
			Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// subEnv is an env whose simulator delivers hooks through a failingTransport, with a clock the
// test can move (for the one-minute cache of the subscription check).
type subEnv struct {
	*env
	tr     *failingTransport
	offset atomic.Int64
	repo   azdosim.RepoInfo
}

func newSubEnv(t *testing.T) *subEnv {
	t.Helper()
	s := &subEnv{tr: &failingTransport{}}
	s.env = newEnvWith(t, azdosim.Options{VirtualDir: "tfs", Seed: true, HookClient: &http.Client{Transport: s.tr},
		HookRetryDelay: time.Millisecond, HookProbationDelay: time.Millisecond, HookProbationRetries: 1},
		func(o *services.Options) {
			o.Now = func() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) }
		})
	for _, r := range s.sim.Repositories("DefaultCollection") {
		if r.Name == "ios-app" {
			s.repo = r
		}
	}
	return s
}

func (s *subEnv) subs() []azdosim.SubscriptionInfo { return s.sim.Subscriptions("DefaultCollection") }

// createProfile creates a profile of ios-app on conn with triggers and answers it.
func (s *subEnv) createProfile(conn, name string, triggers map[string]any) map[string]any {
	s.t.Helper()
	code, p, _ := s.call("POST", "/api/v1/build-profiles", map[string]any{"name": name, "connectionId": conn,
		"repositoryId": s.repo.ID, "branch": "main", "triggers": triggers})
	if code != 201 {
		s.t.Fatalf("create profile: %d %v", code, p)
	}
	return p
}

// push clones ios-app (once) into work, commits and pushes HEAD to branch with real git over
// smart HTTP, and answers the pushed commit.
func (s *subEnv) push(work, branch string) string {
	s.t.Helper()
	remote := s.sim.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
	auth := "http.extraHeader=Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(":"+simPAT))
	if _, err := os.Stat(filepath.Join(work, ".git")); err != nil {
		git(s.t, filepath.Dir(work), "-c", auth, "clone", "--quiet", remote, work)
	}
	git(s.t, work, "commit", "--quiet", "--allow-empty", "-m", "ci on "+branch)
	git(s.t, work, "-c", auth, "push", "--quiet", remote, "HEAD:refs/heads/"+branch)
	return git(s.t, work, "rev-parse", "HEAD")
}

// TestSubscriptionsFollowTriggers: triggers on a PAT that may manage service hooks → the
// service creates a Web Hooks subscription per event in the simulator, filtered to the
// repository (push to its one plain branch; pull requests repository-wide for a wildcard
// list), delivering to the hook URL with the hook's credential; a real git push is delivered
// and starts a run of the pushed commit; clearing the triggers deletes the subscriptions.
func TestSubscriptionsFollowTriggers(t *testing.T) {
	s := newSubEnv(t)
	conn := s.createConnection()
	p := s.createProfile(conn, "ios", map[string]any{"push": map[string]any{"branches": []string{"main"}},
		"pullRequest": map[string]any{"branches": []string{"main", "release/*"}}})
	hook := p["hook"].(map[string]any)
	if hook["state"] != "subscribed" || len(hook["subscriptions"].([]any)) != 3 {
		t.Fatalf("hook after create: %v", hook)
	}
	subs := s.subs()
	if len(subs) != 3 {
		t.Fatalf("%d subscriptions in the simulator, want 3: %+v", len(subs), subs)
	}
	events := map[string]azdosim.SubscriptionInfo{}
	for _, sub := range subs {
		events[sub.EventType] = sub
		ci, pi := sub.ConsumerInputs, sub.PublisherInputs
		if sub.PublisherID != "tfs" || sub.ConsumerID != "webHooks" || sub.ConsumerActionID != "httpRequest" ||
			ci["url"] != hook["url"] || ci["basicAuthUsername"] != hook["user"] || ci["basicAuthPassword"] != hook["password"] ||
			pi["repository"] != s.repo.ID || pi["projectId"] != s.repo.ProjectID {
			t.Fatalf("subscription %+v does not match the hook %v", sub, hook)
		}
	}
	if events["git.push"].PublisherInputs["branch"] != "main" {
		t.Errorf("push subscription not filtered to main: %v", events["git.push"].PublisherInputs)
	}
	for _, ev := range []string{"git.pullrequest.created", "git.pullrequest.updated"} {
		if sub, ok := events[ev]; !ok || sub.PublisherInputs["branch"] != "" {
			t.Errorf("%s: %+v (want repository-wide: the filter list has a wildcard)", ev, sub)
		}
	}

	pushed := s.push(filepath.Join(t.TempDir(), "w"), "main")
	id := p["id"].(string)
	waitFor(t, "a run of the pushed commit", func() bool {
		_, l, _ := s.call("GET", "/api/v1/build-profiles/"+id+"/runs", nil)
		v, _ := l["value"].([]any)
		return len(v) == 1 && v[0].(map[string]any)["commit"] == pushed &&
			v[0].(map[string]any)["trigger"].(map[string]any)["kind"] == "push"
	})
	_, got, _ := s.call("GET", "/api/v1/build-profiles/"+id, nil)
	if h := got["hook"].(map[string]any); h["state"] != "subscribed" || h["lastDeliveryAt"] == nil || h["password"] != nil {
		t.Fatalf("hook after a delivery: %v", h)
	}

	code, cleared, _ := s.call("PATCH", "/api/v1/build-profiles/"+id, map[string]any{"triggers": nil})
	if code != 200 {
		t.Fatalf("clear triggers: %d %v", code, cleared)
	}
	if n := len(s.subs()); n != 0 {
		t.Fatalf("%d subscriptions left after the triggers were cleared", n)
	}
	if h := cleared["hook"].(map[string]any); h["state"] != "manual" || h["subscriptions"] != nil {
		t.Fatalf("hook after clearing the triggers: %v", h)
	}
}

// TestSubscriptionsDeletedWithProfileAndConnection: deleting a profile deletes its
// subscriptions; deleting a connection deletes its profiles' subscriptions.
func TestSubscriptionsDeletedWithProfileAndConnection(t *testing.T) {
	s := newSubEnv(t)
	conn := s.createConnection()
	push := map[string]any{"push": map[string]any{}}
	a := s.createProfile(conn, "a", push)
	s.createProfile(conn, "b", push)
	if n := len(s.subs()); n != 2 {
		t.Fatalf("%d subscriptions, want 2", n)
	}
	if code, _, _ := s.call("DELETE", "/api/v1/build-profiles/"+a["id"].(string), nil); code != 204 {
		t.Fatalf("delete profile: %d", code)
	}
	if subs := s.subs(); len(subs) != 1 {
		t.Fatalf("%d subscriptions after the profile's delete, want 1", len(subs))
	}
	if code, _, _ := s.call("DELETE", "/api/v1/connections/"+conn, nil); code != 204 {
		t.Fatalf("delete connection: %d", code)
	}
	if n := len(s.subs()); n != 0 {
		t.Fatalf("%d subscriptions after the connection's delete", n)
	}
}

// TestSubscriptionsManualWithoutScope: a PAT with the six default scopes (no vso.hooks_write)
// gets the manual setup: state manual with the reason, the events to pick, no subscription in
// the simulator, the connection still authorized; the check endpoint tells when a delivery
// with the hook's credential arrived.
func TestSubscriptionsManualWithoutScope(t *testing.T) {
	s := newSubEnv(t)
	const pat = "defaultscopespat0123456789abcdefghij"
	s.sim.AddPAT(azdosim.PAT{Token: pat, UserName: "Scoped", Scopes: []string{"vso.code", "vso.code_status",
		"vso.threads_full", "vso.serviceendpoint_query", "vso.project", "vso.notification"}})
	body := s.connection()
	body["pat"] = pat
	code, c, _ := s.call("POST", "/api/v1/connections", body)
	if code != 201 {
		t.Fatalf("create connection: %d %v", code, c)
	}
	conn := c["id"].(string)
	p := s.createProfile(conn, "ios", map[string]any{"push": map[string]any{"branches": []string{"main", "release/*"}},
		"pullRequest": map[string]any{"branches": []string{"main"}}})
	hook := p["hook"].(map[string]any)
	if hook["state"] != "manual" || hook["reason"] != services.ManualCannotManage || hook["password"] == nil ||
		strings.Join(toStrings(hook["events"]), ",") != "git.push,git.pullrequest.created,git.pullrequest.updated" {
		t.Fatalf("hook: %v", hook)
	}
	if n := len(s.subs()); n != 0 {
		t.Fatalf("%d subscriptions made with a PAT lacking the scope", n)
	}
	if _, got, _ := s.call("GET", "/api/v1/connections/"+conn, nil); got["status"] != "authorized" {
		t.Fatalf("a refused subscription changed the connection's status: %v", got)
	}
	id := p["id"].(string)
	since := time.Now().UTC().Add(-time.Second).Format(time.RFC3339Nano)
	check := "/api/v1/build-profiles/" + id + "/hook/check?since=" + url.QueryEscape(since)
	if code, r, _ := s.call("GET", check, nil); code != 200 || r["delivered"] != false {
		t.Fatalf("check before a delivery: %d %v", code, r)
	}
	// A test delivery as the user's manual subscription would send it (a push to a branch the
	// triggers ignore).
	h := &hookEnv{env: s.env, repo: s.repo}
	zero := strings.Repeat("0", 40)
	if code, r, raw := h.deliver(hook["url"].(string), hook["user"].(string), hook["password"].(string),
		h.pushPayload("ev-test-1", s.repo.ID, "refs/heads/other", zero, strings.Repeat("a", 40))); code != 200 {
		t.Fatalf("test delivery: %d %v %s", code, r, raw)
	}
	if code, r, _ := s.call("GET", check, nil); code != 200 || r["delivered"] != true || r["lastDeliveryAt"] == nil {
		t.Fatalf("check after a delivery: %d %v", code, r)
	}
	if code, r, _ := s.call("GET", "/api/v1/build-profiles/"+id+"/hook/check?since=yesterday", nil); code != 400 {
		t.Fatalf("bad since: %d %v", code, r)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestSubscriptionRepair: deliveries failing until Azure DevOps disables the subscription
// (disabledBySystem after the probation retries) → GET of the profile re-enables it; when the
// credential may no longer replace it (vso.hooks read only), the hook answers "failing".
func TestSubscriptionRepair(t *testing.T) {
	s := newSubEnv(t)
	conn := s.createConnection()
	p := s.createProfile(conn, "ios", map[string]any{"push": map[string]any{}})
	id := p["id"].(string)
	work := filepath.Join(t.TempDir(), "w")

	disable := func() {
		t.Helper()
		s.tr.fail.Store(true)
		s.push(work, "main")
		waitFor(t, "disabledBySystem", func() bool {
			ss := s.subs()
			return len(ss) == 1 && ss[0].Status == azdosim.HookDisabledBySystem
		})
		s.tr.fail.Store(false)
	}
	disable()
	_, got, _ := s.call("GET", "/api/v1/build-profiles/"+id, nil)
	if h := got["hook"].(map[string]any); h["state"] != "subscribed" {
		t.Fatalf("hook after the repair: %v", h)
	}
	if ss := s.subs(); ss[0].Status != azdosim.HookEnabled || ss[0].ConsumerInputs["basicAuthPassword"] != p["hook"].(map[string]any)["password"] {
		t.Fatalf("subscription after the repair: %+v", ss[0])
	}

	// Disabled again, and the PAT loses vso.hooks_write (keeps vso.hooks, read): the repair
	// fails and the hook says so.
	disable()
	s.sim.AddPAT(azdosim.PAT{Token: simPAT, UserName: "API Tester", Scopes: []string{"vso.code", "vso.hooks", "vso.project"}})
	s.offset.Add(int64(2 * time.Minute)) // past the check's cache
	_, got, _ = s.call("GET", "/api/v1/build-profiles/"+id, nil)
	if h := got["hook"].(map[string]any); h["state"] != "failing" {
		t.Fatalf("hook whose repair failed: %v", h)
	}
	if ss := s.subs(); ss[0].Status != azdosim.HookDisabledBySystem {
		t.Fatalf("subscription: %+v", ss[0])
	}
}

// TestSubscriptionsOAuthAskForTheScope: an OAuth connection signed in with the six default
// scopes gets the manual setup with the hint to re-authorize with vso.hooks_write added
// (needsScope, reauthorize, reauthorizeScopes); after that sign-in, GET of the profile creates
// the subscription with the hook's credential (no rotation).
func TestSubscriptionsOAuthAskForTheScope(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderAzureDevOps, 1)
	conn := e.authorized("cloud")
	// Azure DevOps OAuth apps must be asked for exactly their registered scopes: the simulator's
	// app is registered anew with vso.hooks_write (a real one would be an app registered with
	// it, or an Entra app, whose scopes are asked per sign-in).
	e.sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: azdoClientID, ClientSecret: azdoClientSecret,
		Scopes: append(slices.Clone(azuredevops.DefaultScopes), azuredevops.HooksWriteScope), CallbackURL: e.apis[0].URL + "/connector/callback"})
	var repo azdosim.RepoInfo
	for _, r := range e.sim.Repositories(org) {
		if r.Name == "ios-app" {
			repo = r
		}
	}
	code, p := e.call("POST", "/api/v1/build-profiles", map[string]any{"name": "ios", "connectionId": conn,
		"repositoryId": repo.ID, "branch": "main", "triggers": map[string]any{"push": map[string]any{}}})
	if code != 201 {
		t.Fatalf("create profile: %d %v", code, p)
	}
	hook := p["hook"].(map[string]any)
	scopes := toStrings(hook["reauthorizeScopes"])
	if hook["state"] != "manual" || hook["reason"] != services.ManualNeedsScope || hook["needsScope"] != "vso.hooks_write" ||
		hook["reauthorize"] != "/api/v1/connections/"+conn+"/authorize" || !slices.Contains(scopes, "vso.hooks_write") ||
		len(scopes) != len(azuredevops.DefaultScopes)+1 {
		t.Fatalf("hook: %v", hook)
	}
	if n := len(e.sim.Subscriptions(org)); n != 0 {
		t.Fatalf("%d subscriptions before the scope was granted", n)
	}
	code, re := e.call("POST", hook["reauthorize"].(string), map[string]any{"oauth": map[string]any{"scopes": scopes}})
	if code != http.StatusOK {
		t.Fatalf("re-authorize: %d %v", code, re)
	}
	if code, page := e.consent(re["authorizationUrl"].(string), "Ada Lovelace", true); code != http.StatusOK {
		t.Fatalf("callback: %d %s", code, page)
	}
	_, got := e.call("GET", "/api/v1/build-profiles/"+p["id"].(string), nil)
	h := got["hook"].(map[string]any)
	subs := e.sim.Subscriptions(org)
	if h["state"] != "subscribed" || len(subs) != 1 || subs[0].ConsumerInputs["basicAuthPassword"] != hook["password"] ||
		subs[0].ConsumerInputs["url"] != hook["url"] {
		t.Fatalf("after the re-authorize: hook %v, subscriptions %+v", h, subs)
	}
}

// TestSubscriptionDeletedInAzureDevOpsIsRecreated: a subscription a user deleted in Azure
// DevOps is made again by the next check (GET of the profile), with a new id stored.
func TestSubscriptionDeletedInAzureDevOpsIsRecreated(t *testing.T) {
	s := newSubEnv(t)
	conn := s.createConnection()
	p := s.createProfile(conn, "ios", map[string]any{"push": map[string]any{}})
	old := s.subs()
	if len(old) != 1 {
		t.Fatalf("%d subscriptions", len(old))
	}
	req, _ := http.NewRequest("DELETE", s.sim.URL()+"/DefaultCollection/_apis/hooks/subscriptions/"+old[0].ID+"?api-version=6.0", nil)
	req.SetBasicAuth("", simPAT)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || len(s.subs()) != 0 {
		t.Fatalf("delete in the simulator: %d, %d left", resp.StatusCode, len(s.subs()))
	}
	_, got, _ := s.call("GET", "/api/v1/build-profiles/"+p["id"].(string), nil)
	h := got["hook"].(map[string]any)
	now := s.subs()
	if h["state"] != "subscribed" || len(now) != 1 || now[0].ID == old[0].ID || now[0].Status != azdosim.HookEnabled {
		t.Fatalf("after the check: hook %v, subscriptions %+v", h, now)
	}
	if ids := h["subscriptions"].([]any); len(ids) != 1 || ids[0].(map[string]any)["id"] != now[0].ID {
		t.Fatalf("stored subscriptions %v, want the new id %s", ids, now[0].ID)
	}
}
