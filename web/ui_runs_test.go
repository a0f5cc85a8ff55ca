package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services"
)

var (
	hookPasswordRE = regexp.MustCompile(`<code class="wrap" id="hook-password" data-testid="hook-password">([^<]+)</code>`)
	hookURLRE      = regexp.MustCompile(`<code class="wrap" id="hook-url" data-testid="hook-url">([^<]+)</code>`)
	loadedAtRE     = regexp.MustCompile(`hook/delivery\?since=([^"]+)"`)
)

// pageBrowser is a browser signed in to the hook environment's tenant.
func (h *hookEnv) pageBrowser() *uiBrowser {
	return newUIBrowser(h.t, h.api.URL).signIn(h.key)
}

// The profile page shows the triggers as one pattern a line and saves them through the
// service's update (PATCH's validation): a bad pattern is shown under its field with the
// API's message and nothing changes; good patterns are stored as the API stores them.
func TestUIProfileTriggersEditAndValidation(t *testing.T) {
	h := newHookEnv(t, nil)
	b := h.pageBrowser()
	page := "/ui/build-profiles/" + h.profile
	resp, body := b.do("GET", page, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, ">main\nrelease/*</textarea>") || !strings.Contains(body, `name="pullRequest" rows="3" spellcheck="false">main</textarea>`) {
		t.Fatalf("profile page: %d\n%s", resp.StatusCode, body)
	}

	resp, body = b.do("POST", page+"/triggers", url.Values{"push": {"main\nbad..name"}, "pullRequest": {"main"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="push-error"`) ||
		!strings.Contains(body, "bad..name") || strings.Contains(body, `id="pullRequest-error"`) ||
		!strings.Contains(body, ">main\nbad..name</textarea>") {
		t.Fatalf("bad pattern: %d\n%s", resp.StatusCode, body)
	}
	// The same input through the API names the same field: the page used the API's check.
	code, prob, _ := h.call("PATCH", "/api/v1/build-profiles/"+h.profile, map[string]any{"triggers": map[string]any{
		"push": map[string]any{"branches": []string{"main", "bad..name"}}, "pullRequest": map[string]any{"branches": []string{"main"}}}})
	detail := strings.TrimSuffix(prob["detail"].(string), ".")
	if code != 400 || prob["field"] != "triggers.push.branches[1]" || len(detail) < 2 ||
		!strings.Contains(body, `id="push-error">`+template_escape(strings.ToUpper(detail[:1])+detail[1:])+".</p>") {
		t.Fatalf("API: %d %v; the page should show the same detail", code, prob)
	}
	_, p, _ := h.call("GET", "/api/v1/build-profiles/"+h.profile, nil)
	if got := p["triggers"].(map[string]any)["push"].(map[string]any)["branches"].([]any); len(got) != 2 || got[1] != "release/*" {
		t.Fatalf("a refused form changed the triggers: %v", p["triggers"])
	}

	resp, body = b.do("POST", page+"/triggers", url.Values{"push": {"refs/heads/develop\r\nfeature/**"}, "pullRequest": {""}})
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="notice"`) || !strings.Contains(body, ">develop\nfeature/**</textarea>") {
		t.Fatalf("save: %d\n%s", resp.StatusCode, body)
	}
	_, p, _ = h.call("GET", "/api/v1/build-profiles/"+h.profile, nil)
	tr := p["triggers"].(map[string]any)
	if got := tr["push"].(map[string]any)["branches"].([]any); len(got) != 2 || got[0] != "develop" || got[1] != "feature/**" || tr["pullRequest"] != nil {
		t.Fatalf("stored triggers: %v", tr)
	}
	// Both fields empty: every trigger off.
	if resp, body = b.do("POST", page+"/triggers", url.Values{"push": {" "}, "pullRequest": {""}}); resp.StatusCode != 200 {
		t.Fatalf("clear: %d\n%s", resp.StatusCode, body)
	}
	if _, p, _ = h.call("GET", "/api/v1/build-profiles/"+h.profile, nil); p["triggers"] != nil {
		t.Fatalf("triggers after clearing: %v", p["triggers"])
	}
}

// template_escape is html/template's escaping of a text node's quotes.
func template_escape(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "'", "&#39;", "&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// A profile's first trigger, saved on the page, creates the hook and shows the manual setup
// (URL, user, the events to pick) with the password once; reloading hides it; rotating shows
// a new URL and password once, and they work. "Check for a test delivery" tells whether a
// delivery arrived after the page was loaded.
func TestUIProfileHookManualSetupRotateAndDeliveryCheck(t *testing.T) {
	h := newHookEnv(t, nil)
	_, main, _ := h.call("GET", "/api/v1/build-profiles/"+h.profile, nil)
	code, p, _ := h.call("POST", "/api/v1/build-profiles", map[string]any{"name": "ios-plain", "connectionId": main["connectionId"],
		"repositoryId": h.repo.ID, "branch": "main"})
	if code != 201 {
		t.Fatalf("create: %d %v", code, p)
	}
	id := p["id"].(string)
	b := h.pageBrowser()
	page := "/ui/build-profiles/" + id
	if _, body := b.do("GET", page, nil); strings.Contains(body, `id="hook"`) || !strings.Contains(body, `data-testid="no-runs"`) {
		t.Fatalf("a profile without triggers shows a hook or runs:\n%s", body)
	}
	resp, body := b.do("POST", page+"/triggers", url.Values{"push": {"main"}})
	pw, u := hookPasswordRE.FindStringSubmatch(body), hookURLRE.FindStringSubmatch(body)
	if resp.StatusCode != 200 || pw == nil || u == nil || !strings.Contains(body, `data-hook-state="manual"`) {
		t.Fatalf("first trigger: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{"Project settings › Service hooks", "Web Hooks", "Code pushed", "Pull request created", "Pull request updated",
		`data-testid="hook-user">repoconnect-`, h.api.URL + "/hooks/azure-devops/",
		`<button type="button" class="copy secondary" data-copy="#hook-url" aria-label="Copy the URL">Copy</button>`,
		`data-copy="#hook-user" aria-label="Copy the user name"`, `data-copy="#hook-password" aria-label="Copy the password"`,
		`data-testid="hook-words">Set it up by hand below`} {
		if !strings.Contains(body, want) {
			t.Errorf("manual setup lacks %q", want)
		}
	}
	_, api, _ := h.call("GET", "/api/v1/build-profiles/"+id, nil)
	hook := api["hook"].(map[string]any)
	if u[1] != hook["url"] || !strings.Contains(body, `data-testid="hook-user">`+hook["user"].(string)+"<") {
		t.Fatalf("page hook %q, API hook %v", u[1], hook)
	}
	resp, body = b.do("GET", page, nil)
	if resp.StatusCode != 200 || strings.Contains(body, pw[1]) || !strings.Contains(body, `data-testid="hook-password-hidden"`) {
		t.Fatalf("the password is shown again on reload:\n%s", body)
	}
	since := loadedAtRE.FindStringSubmatch(body)
	if since == nil {
		t.Fatalf("no delivery check button:\n%s", body)
	}

	hookField := regexp.MustCompile(`name="hook" value="([^"]+)"`).FindStringSubmatch(body)
	if hookField == nil {
		t.Fatalf("the rotate form does not name the hook it rotates:\n%s", body)
	}
	resp, body = b.do("POST", page+"/hook/rotate", url.Values{"hook": {hookField[1]}})
	pw2, u2 := hookPasswordRE.FindStringSubmatch(body), hookURLRE.FindStringSubmatch(body)
	if resp.StatusCode != 200 || pw2 == nil || u2 == nil || pw2[1] == pw[1] || u2[1] == u[1] {
		t.Fatalf("rotate: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `data-canonical="/ui/build-profiles/`+id+`"`) {
		t.Errorf("the rotate answer has no canonical URL (a reload would post again):\n%s", body)
	}
	// A reload of the rotate answer posts the same form again: it must not rotate again.
	if resp, _ = b.do("POST", page+"/hook/rotate", url.Values{"hook": {hookField[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a replayed rotate form: %d, want 303 to the page", resp.StatusCode)
	}
	if _, api, _ := h.call("GET", "/api/v1/build-profiles/"+id, nil); api["hook"].(map[string]any)["url"] != u2[1] {
		t.Errorf("a replayed rotate form rotated again: hook %v, want the URL %s", api["hook"], u2[1])
	}
	if _, body = b.do("GET", page, nil); strings.Contains(body, pw2[1]) {
		t.Fatal("the rotated password is shown again on reload")
	}

	check := page + "/hook/delivery?since=" + since[1]
	if resp, body = b.do("GET", check, nil, "HX-Request", "true"); resp.StatusCode != 200 || !strings.Contains(body, `data-arrived="false"`) {
		t.Fatalf("check before a delivery: %d %s", resp.StatusCode, body)
	}
	_, api, _ = h.call("GET", "/api/v1/build-profiles/"+id, nil)
	user := api["hook"].(map[string]any)["user"].(string)
	old, next := h.commitOn("main", "test delivery")
	if code, res, _ := h.deliver(u2[1], user, pw2[1], h.pushPayload("evt-ui-1", h.repo.ID, "refs/heads/main", old, next)); code != 202 {
		t.Fatalf("delivery with the rotated credential: %d %v", code, res)
	}
	if code, _, _ := h.deliver(u[1], user, pw[1], h.pushPayload("evt-ui-2", h.repo.ID, "refs/heads/main", old, next)); code != 401 {
		t.Fatalf("delivery with the old credential: %d", code)
	}
	if resp, body = b.do("GET", check, nil, "HX-Request", "true"); resp.StatusCode != 200 || !strings.Contains(body, `data-arrived="true"`) {
		t.Fatalf("check after a delivery: %d %s", resp.StatusCode, body)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))
	if _, body = b.do("GET", page+"/hook/delivery?since="+future, nil, "HX-Request", "true"); !strings.Contains(body, `data-arrived="false"`) {
		t.Fatalf("a delivery before since counted: %s", body)
	}
	if _, body = b.do("GET", page, nil); !strings.Contains(body, `data-testid="last-delivery"><time`) {
		t.Fatalf("the page does not show the last delivery:\n%s", body)
	}
}

// The profile page lists the runs newest first with their trigger, short commit, ref, who
// pushed, state and times, and a pull-request run links to the pull request in Azure
// DevOps; each run's page shows its details. A run of another profile, or an unknown run, is
// the not-found page.
func TestUIProfileRunsListedAndRunPage(t *testing.T) {
	h := newHookEnv(t, nil)
	old, pushed := h.commitOn("main", "pushed work")
	code, res, _ := h.deliver(h.url, h.user, h.password, h.pushPayload("evt-ui-push", h.repo.ID, "refs/heads/main", old, pushed))
	pushRun := runIDsOf(res)
	if code != 202 || len(pushRun) != 1 {
		t.Fatalf("push: %d %v", code, res)
	}
	mainTip := git(t, h.repo.BarePath, "rev-parse", "refs/heads/main")
	_, topic := h.commitOn("develop", "topic work")
	merge := git(t, h.repo.BarePath, "commit-tree", topic+"^{tree}", "-p", mainTip, "-p", topic, "-m", "Merge pull request 7")
	git(t, h.repo.BarePath, "update-ref", "refs/pull/7/merge", merge)
	code, res, _ = h.deliver(h.url, h.user, h.password, h.prPayload("evt-ui-pr", services.EventPullRequestCreated, 7, "active", "refs/heads/main", merge, topic))
	prRun := runIDsOf(res)
	if code != 202 || len(prRun) != 1 {
		t.Fatalf("pull request: %d %v", code, res)
	}
	h.finished(pushRun[0])
	h.finished(prRun[0])
	_, p, _ := h.call("GET", "/api/v1/build-profiles/"+h.profile, nil)
	prURL := strings.TrimRight(p["remoteUrl"].(string), "/") + "/pullrequest/7"

	b := h.pageBrowser()
	resp, body := b.do("GET", "/ui/build-profiles/"+h.profile, nil)
	iPR, iPush := strings.Index(body, `data-run="`+prRun[0]+`"`), strings.Index(body, `data-run="`+pushRun[0]+`"`)
	if resp.StatusCode != 200 || iPR < 0 || iPush < 0 || iPR > iPush {
		t.Fatalf("runs not listed newest first: %d\n%s", resp.StatusCode, body)
	}
	prRow, pushRow := body[iPR:iPush], body[iPush:]
	for _, want := range []string{"pull request", `href="` + prURL + `"`, "#7", `>` + merge[:8] + `</code>`, "refs/pull/7/merge", `data-status="succeeded"`} {
		if !strings.Contains(prRow, want) {
			t.Errorf("pull request row lacks %q:\n%s", want, prRow)
		}
	}
	for _, want := range []string{">push<", `>` + pushed[:8] + `</code>`, "refs/heads/main", "Jamal Hartnett", `data-status="succeeded"`, "<time"} {
		if !strings.Contains(pushRow[:strings.Index(pushRow, "</tr>")], want) {
			t.Errorf("push row lacks %q:\n%s", want, pushRow)
		}
	}
	if strings.Contains(pushRow[:strings.Index(pushRow, "</tr>")], "pr-link") {
		t.Error("a push run links to a pull request")
	}

	resp, body = b.do("GET", "/ui/build-profiles/"+h.profile+"/runs/"+prRun[0], nil)
	for _, want := range []string{`data-testid="commit">` + merge + "<", `data-testid="ref">refs/pull/7/merge<`, `href="` + prURL + `"`, topic, `data-status="succeeded"`} {
		if resp.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("run page: %d lacks %q", resp.StatusCode, want)
		}
	}
	resp, body = b.do("GET", "/ui/build-profiles/"+h.profile+"/runs/"+pushRun[0], nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="pushed-by">Jamal Hartnett<`) || !strings.Contains(body, pushed) {
		t.Fatalf("push run page: %d\n%s", resp.StatusCode, body)
	}

	// The run page's facts, as the page fetches them when its live clone ends: the finished
	// run's commit and path taken, nothing more to ask; a page load goes to the run page.
	facts := "/ui/build-profiles/" + h.profile + "/runs/" + pushRun[0] + "/facts"
	resp, body = b.do("GET", facts, nil, "HX-Request", "true")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, `<div id="run-facts"`) || !strings.Contains(body, pushed) ||
		!strings.Contains(body, `data-finished="true"`) || strings.Contains(body, "hx-get") || strings.Contains(body, "<html") {
		t.Fatalf("run facts: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ = b.do("GET", facts, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/build-profiles/"+h.profile+"/runs/"+pushRun[0] {
		t.Errorf("run facts as a page load: %d %v", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The run under another profile of the same tenant, and an unknown run: not found.
	_, other, _ := h.call("POST", "/api/v1/build-profiles", map[string]any{"name": "ios-2", "connectionId": p["connectionId"], "repositoryId": h.repo.ID, "branch": "main"})
	r1, b1 := b.do("GET", "/ui/build-profiles/"+other["id"].(string)+"/runs/"+prRun[0], nil)
	r2, b2 := b.do("GET", "/ui/build-profiles/"+h.profile+"/runs/nope", nil)
	if r1.StatusCode != 404 || r2.StatusCode != 404 || strings.Contains(b1, merge) || !strings.Contains(b2, "Not found") {
		t.Fatalf("wrong profile: %d, unknown run: %d\n%s", r1.StatusCode, r2.StatusCode, b1)
	}
	if r3, b3 := b.do("GET", "/ui/build-profiles/"+other["id"].(string)+"/runs/"+prRun[0]+"/facts", nil, "HX-Request", "true"); r3.StatusCode != 404 || strings.Contains(b3, merge) {
		t.Fatalf("facts of a run under another profile: %d\n%s", r3.StatusCode, b3)
	}
}

// Another tenant's profile pages (triggers, hook, delivery check, runs) answer exactly as
// unknown ids do, and change nothing.
func TestUIOtherTenantRunPagesAre404(t *testing.T) {
	e := newUIEnv(t, false)
	ctx := context.Background()
	conn := e.connect("other", "their-conn")
	repos, err := e.svc.ListRepositories(ctx, "other", conn, "", "android")
	uiMust(t, err)
	prof, _, err := e.svc.CreateBuildProfileWithHook(ctx, "other", services.BuildProfileInput{Name: "their-profile", ConnectionID: conn,
		RepositoryID: repos[0].ID, Branch: "main", Triggers: &services.TriggersInput{Push: &services.BranchFilterInput{Branches: []string{"main"}}}})
	uiMust(t, err)
	run, err := e.svc.StartManualRun(ctx, "other", prof.ID, "")
	uiMust(t, err)
	flip := func(id string) string {
		return id[:len(id)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(id, "0")]
	}
	b := e.browser().signIn(e.keys["acme"])
	since := url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano))
	for _, c := range []struct{ method, path, id, hx string }{
		{"GET", "/ui/build-profiles/%s/runs/" + run.ID, prof.ID, ""},
		{"GET", "/ui/build-profiles/%s/runs/" + run.ID + "/facts", prof.ID, ""},
		{"GET", "/ui/build-profiles/" + prof.ID + "/runs/%s", run.ID, ""},
		{"POST", "/ui/build-profiles/%s/triggers", prof.ID, ""},
		{"POST", "/ui/build-profiles/%s/hook/rotate", prof.ID, ""},
		{"GET", "/ui/build-profiles/%s/hook/delivery?since=" + since, prof.ID, "true"},
	} {
		var form url.Values
		if c.method == "POST" {
			form = url.Values{"push": {"x"}}
		}
		r1, b1 := b.do(c.method, strings.Replace(c.path, "%s", c.id, 1), form, "HX-Request", c.hx)
		r2, b2 := b.do(c.method, strings.Replace(c.path, "%s", flip(c.id), 1), form, "HX-Request", c.hx)
		if r1.StatusCode != http.StatusNotFound || r2.StatusCode != http.StatusNotFound || b1 != b2 || strings.Contains(b1, "their-") {
			t.Errorf("%s %s: %d vs unknown %d\n%s\n%s", c.method, c.path, r1.StatusCode, r2.StatusCode, b1, b2)
		}
	}
	p, err := e.svc.GetBuildProfile(ctx, "other", prof.ID)
	uiMust(t, err)
	if p.Hook.ID != prof.Hook.ID || p.Triggers.Push.Branches[0] != "main" {
		t.Fatalf("another tenant's posts changed the profile: %+v", p)
	}
}

// The profile page's check of the hook's subscriptions (it calls Azure DevOps) is bounded: with
// Azure DevOps holding the service hooks requests, the page still comes within a few seconds,
// showing the state last known and saying it could not be checked now.
func TestUIProfileHookCheckIsBounded(t *testing.T) {
	s := newSubEnv(t)
	sim, err := url.Parse(s.sim.URL())
	uiMust(t, err)
	base := *sim
	base.Path = ""
	rp := httputil.NewSingleHostReverseProxy(&base)
	var hold atomic.Bool
	var held atomic.Int32
	release := make(chan struct{})
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() && strings.Contains(r.URL.Path, "/_apis/hooks/") {
			held.Add(1)
			select { // an Azure DevOps that does not answer, until the caller gives up
			case <-release:
			case <-r.Context().Done():
			}
			http.Error(w, "held", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(func() { close(release) }) // runs first: the held requests end before the proxy closes
	conn := s.connection()
	conn["serverUrl"] = proxy.URL + sim.Path
	code, c, _ := s.call("POST", "/api/v1/connections", conn)
	if code != 201 {
		t.Fatalf("create connection through the proxy: %d %v", code, c)
	}
	p := s.createProfile(c["id"].(string), "ios", map[string]any{"push": map[string]any{}})
	if h := p["hook"].(map[string]any); h["state"] != "subscribed" {
		t.Fatalf("hook: %v", h)
	}
	hold.Store(true)
	s.offset.Store(int64(2 * time.Minute)) // past the one-minute cache of the check: the page checks
	b := newUIBrowser(t, s.api.URL).signIn(s.key)
	start := time.Now()
	resp, body := b.do("GET", "/ui/build-profiles/"+p["id"].(string), nil)
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK || took > 15*time.Second {
		t.Fatalf("profile page with Azure DevOps held: %d after %v", resp.StatusCode, took)
	}
	if held.Load() == 0 {
		t.Fatalf("the page did not check the hook (nothing reached the held server) in %v", took)
	}
	if !strings.Contains(body, `data-testid="hook-unchecked"`) || !strings.Contains(body, `data-hook-state="subscribed"`) {
		t.Errorf("the page does not show the last known state and say it was not checked (%v):\n%s", took, body)
	}
}
