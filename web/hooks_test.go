package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store/redisstore"
)

// hookEnv is a service with a build profile of ios-app (branch main) whose triggers are push
// [main, release/*] and pullRequest [main], and the hook's URL and credential.
type hookEnv struct {
	*env
	repo                azdosim.RepoInfo
	profile             string
	url, user, password string
}

func newHookEnv(t *testing.T, tune func(*services.Options)) *hookEnv {
	t.Helper()
	e := newEnvWith(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, tune)
	conn := e.createConnection()
	h := &hookEnv{env: e}
	for _, r := range e.sim.Repositories("DefaultCollection") {
		if r.Name == "ios-app" {
			h.repo = r
		}
	}
	code, p, _ := e.call("POST", "/api/v1/build-profiles", map[string]any{"name": "ios", "connectionId": conn,
		"repositoryId": h.repo.ID, "branch": "main",
		"triggers": map[string]any{"push": map[string]any{"branches": []string{"main", "refs/heads/release/*"}},
			"pullRequest": map[string]any{"branches": []string{"main"}}}})
	if code != 201 {
		t.Fatalf("create profile: %d %v", code, p)
	}
	h.profile = p["id"].(string)
	hook, _ := p["hook"].(map[string]any)
	if hook == nil || hook["password"] == nil || hook["state"] != "subscribed" { // full-scope PAT: the service subscribed
		t.Fatalf("the created profile answers no hook with its password: %v", p)
	}
	h.url, h.user, h.password = hook["url"].(string), hook["user"].(string), hook["password"].(string)
	if !strings.HasPrefix(h.url, e.api.URL+"/hooks/azure-devops/") {
		t.Fatalf("hook url %q", h.url)
	}
	tr := p["triggers"].(map[string]any)["push"].(map[string]any)["branches"].([]any)
	if fmt.Sprint(tr) != "[main release/*]" {
		t.Fatalf("push branches stored as %v (refs/heads/ prefix should be dropped)", tr)
	}
	return h
}

// commitOn makes a new commit on branch in the simulator's bare repository (a real commit,
// as a push would leave it) and returns the old and new tips.
func (h *hookEnv) commitOn(branch, msg string) (old, next string) {
	h.t.Helper()
	old = git(h.t, h.repo.BarePath, "rev-parse", "refs/heads/"+branch)
	next = git(h.t, h.repo.BarePath, "commit-tree", old+"^{tree}", "-p", old, "-m", msg)
	git(h.t, h.repo.BarePath, "update-ref", "refs/heads/"+branch, next, old)
	return old, next
}

// pushPayload is a git.push delivery of the shape of the "Code pushed" sample payload
// (learn.microsoft.com/azure/devops/service-hooks/events#git.push), resource version 1.0.
func (h *hookEnv) pushPayload(eventID, repoID, ref, old, next string) []byte {
	b, _ := json.Marshal(map[string]any{
		"subscriptionId": "00000000-0000-0000-0000-000000000000", "notificationId": 1,
		"id": eventID, "eventType": "git.push", "publisherId": "tfs",
		"message":         map[string]any{"text": "Jamal Hartnett pushed updates to ios-app:" + ref},
		"resourceVersion": "1.0",
		"resource": map[string]any{
			"commits":    []any{map[string]any{"commitId": next, "comment": "Fixed bug in web.config file"}},
			"refUpdates": []any{map[string]any{"name": ref, "oldObjectId": old, "newObjectId": next}},
			"repository": map[string]any{"id": repoID, "name": h.repo.Name,
				"project":       map[string]any{"id": h.repo.ProjectID, "name": h.repo.ProjectName, "state": "wellFormed"},
				"defaultBranch": "refs/heads/main", "remoteUrl": "https://example/_git/ios-app"},
			"pushedBy": map[string]any{"displayName": "Jamal Hartnett", "id": "00ca946b-2fe9-4f2a-ae2f-40d5c48001bc",
				"uniqueName": "fabrikamfiber4@hotmail.com"},
			"pushId": 14, "date": "2014-05-02T19:17:13.3309587Z",
		},
		"resourceContainers": map[string]any{"collection": map[string]any{"id": "c12d0eb8-e382-443b-9f9c-c52cba5014c2"},
			"project": map[string]any{"id": h.repo.ProjectID}},
		"createdDate": "2024-05-02T19:17:28.3339587Z",
	})
	return b
}

// prPayload is a git.pullrequest.* delivery of the shape of the "Pull request created"
// sample payload (learn.microsoft.com/azure/devops/service-hooks/events#git.pullrequest.created).
func (h *hookEnv) prPayload(eventID, eventType string, id int, status, target, merge, source string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": eventID, "eventType": eventType, "publisherId": "tfs", "resourceVersion": "1.0",
		"resource": map[string]any{
			"repository": map[string]any{"id": h.repo.ID, "name": h.repo.Name,
				"project": map[string]any{"id": h.repo.ProjectID, "name": h.repo.ProjectName}},
			"pullRequestId": id, "status": status,
			"createdBy": map[string]any{"displayName": "Jamal Hartnett"},
			"title":     "my first pull request", "sourceRefName": "refs/heads/mytopic", "targetRefName": target,
			"mergeStatus":           "succeeded",
			"lastMergeSourceCommit": map[string]any{"commitId": source},
			"lastMergeCommit":       map[string]any{"commitId": merge},
		},
		"resourceContainers": map[string]any{"collection": map[string]any{"id": "c12d0eb8-e382-443b-9f9c-c52cba5014c2"}},
	})
	return b
}

// deliver POSTs a delivery with the Basic credential (user "" and password "": none).
func (h *hookEnv) deliver(url, user, password string, body []byte) (int, map[string]any, string) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if user != "" || password != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, string(raw)
}

func (h *hookEnv) runs() []map[string]any {
	h.t.Helper()
	code, l, _ := h.call("GET", "/api/v1/build-profiles/"+h.profile+"/runs", nil)
	if code != 200 {
		h.t.Fatalf("list runs: %d %v", code, l)
	}
	var out []map[string]any
	for _, v := range l["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	if int(l["count"].(float64)) != len(out) {
		h.t.Fatalf("count %v for %d runs", l["count"], len(out))
	}
	return out
}

// finished polls the run until it has finished and returns it.
func (h *hookEnv) finished(id string) map[string]any {
	h.t.Helper()
	var r map[string]any
	waitFor(h.t, "run "+id+" to finish", func() bool {
		_, r, _ = h.call("GET", "/api/v1/runs/"+id, nil)
		return r["state"] == "succeeded" || r["state"] == "failed"
	})
	return r
}

func runIDsOf(res map[string]any) []string {
	var ids []string
	rs, _ := res["runs"].([]any)
	for _, r := range rs {
		ids = append(ids, r.(map[string]any)["id"].(string))
	}
	return ids
}

func TestHookPushToFilteredBranchRunsThatCommit(t *testing.T) {
	h := newHookEnv(t, nil)
	old, next := h.commitOn("release/1.0", "a release fix")
	code, res, _ := h.deliver(h.url, h.user, h.password, h.pushPayload("evt-push-1", h.repo.ID, "refs/heads/release/1.0", old, next))
	ids := runIDsOf(res)
	if code != 202 || len(ids) != 1 {
		t.Fatalf("push to release/1.0: %d %v", code, res)
	}
	r := h.finished(ids[0])
	tr := r["trigger"].(map[string]any)
	if r["state"] != "succeeded" || r["commit"] != next || tr["kind"] != "push" || tr["ref"] != "refs/heads/release/1.0" ||
		tr["pushedBy"] != "Jamal Hartnett" || r["finishedAt"] == nil || r["buildProfileId"] != h.profile {
		t.Fatalf("run = %v", r)
	}
	code, job, _ := h.call("GET", "/api/v1/clones/"+r["cloneJobId"].(string), nil)
	if code != 200 || job["result"].(map[string]any)["commit"] != next {
		t.Fatalf("clone job of the run: %d %v", code, job)
	}
	code, p, _ := h.call("GET", "/api/v1/build-profiles/"+h.profile, nil)
	hook := p["hook"].(map[string]any)
	if code != 200 || hook["lastDeliveryAt"] == nil || hook["password"] != nil || hook["url"] != h.url {
		t.Fatalf("profile's hook after a delivery: %v", p)
	}
	if strings.Contains(fmt.Sprint(p), "sealedPassword") {
		t.Fatal("the profile answers the sealed hook password")
	}

	// Another branch: nothing.
	old, next = h.commitOn("develop", "work in progress")
	code, res, _ = h.deliver(h.url, h.user, h.password, h.pushPayload("evt-push-2", h.repo.ID, "refs/heads/develop", old, next))
	if code != 200 || res["ignored"] != services.IgnoredBranch {
		t.Fatalf("push to develop: %d %v", code, res)
	}
	// A deleted branch matching the filter: nothing.
	code, res, _ = h.deliver(h.url, h.user, h.password, h.pushPayload("evt-push-3", h.repo.ID, "refs/heads/release/2.0", next, strings.Repeat("0", 40)))
	if code != 200 || res["ignored"] != services.IgnoredDeletedRef {
		t.Fatalf("deleted release/2.0: %d %v", code, res)
	}
	if n := len(h.runs()); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
}

func TestHookReplayedDeliveryStartsOneRun(t *testing.T) {
	h := newHookEnv(t, nil)
	old, next := h.commitOn("main", "one")
	body := h.pushPayload("evt-replay", h.repo.ID, "refs/heads/main", old, next)
	if code, res, _ := h.deliver(h.url, h.user, h.password, body); code != 202 {
		t.Fatalf("first delivery: %d %v", code, res)
	}
	code, res, _ := h.deliver(h.url, h.user, h.password, body)
	if code != 200 || res["ignored"] != services.IgnoredDuplicate {
		t.Fatalf("replay: %d %v", code, res)
	}
	// Concurrent copies of one new delivery: one run.
	old, next = h.commitOn("main", "two")
	body = h.pushPayload("evt-concurrent", h.repo.ID, "refs/heads/main", old, next)
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = h.deliver(h.url, h.user, h.password, body)
		}()
	}
	wg.Wait()
	started := 0
	for _, c := range codes {
		if c == 202 {
			started++
		} else if c != 200 {
			t.Errorf("a concurrent copy answered %d", c)
		}
	}
	if started != 1 {
		t.Fatalf("%d of the concurrent copies started a run (codes %v)", started, codes)
	}
	if n := len(h.runs()); n != 2 {
		t.Fatalf("%d runs, want 2", n)
	}
}

func TestHookWrongCredentialIsRefusedAndNothingStored(t *testing.T) {
	h := newHookEnv(t, nil)
	old, next := h.commitOn("main", "secret marker commit")
	body := h.pushPayload("evt-cred", h.repo.ID, "refs/heads/main", old, next)
	unknown := h.url[:strings.LastIndex(h.url, "/")+1] + "0123456789abcdef0123456789abcdef"
	for name, c := range map[string][3]string{
		"wrong password": {h.url, h.user, h.password + "x"},
		"wrong user":     {h.url, "someone", h.password},
		"none":           {h.url, "", ""},
		"unknown hook":   {unknown, h.user, h.password},
	} {
		code, _, raw := h.deliver(c[0], c[1], c[2], body)
		if code != 401 || strings.TrimSpace(raw) != "{}" {
			t.Errorf("%s: %d %q, want 401 with an empty problem", name, code, raw)
		}
	}
	// The credential is checked before the body is read: an oversized body with a wrong
	// credential is a 401 too.
	if code, _, raw := h.deliver(h.url, h.user, "wrong", bytes.Repeat([]byte(" "), services.DefaultMaxHookBody+10)); code != 401 || strings.TrimSpace(raw) != "{}" {
		t.Errorf("oversized body with a wrong credential: %d %q", code, raw)
	}
	if n := len(h.runs()); n != 0 {
		t.Fatalf("%d runs after refused deliveries", n)
	}
	_, p, _ := h.call("GET", "/api/v1/build-profiles/"+h.profile, nil)
	if p["hook"].(map[string]any)["lastDeliveryAt"] != nil {
		t.Fatal("a refused delivery was recorded as the last delivery")
	}
	if strings.Contains(h.logs.String(), "secret marker") || strings.Contains(h.logs.String(), "evt-cred") {
		t.Fatal("the log holds the refused payload")
	}
	// The event id was not stored either: the genuine delivery with that id starts its run.
	if code, res, _ := h.deliver(h.url, h.user, h.password, body); code != 202 {
		t.Fatalf("the genuine delivery after refused ones: %d %v", code, res)
	}
}

func TestHookWrongRepositoryIsRefused(t *testing.T) {
	h := newHookEnv(t, nil)
	old, next := h.commitOn("main", "one")
	other := "11111111-2222-3333-4444-555555555555"
	code, res, _ := h.deliver(h.url, h.user, h.password, h.pushPayload("evt-repo", other, "refs/heads/main", old, next))
	if code != 422 || res["code"] != string(services.ReasonHookMismatch) || res["field"] != "resource.repository.id" {
		t.Fatalf("delivery for another repository: %d %v", code, res)
	}
	code, res, _ = h.deliver(h.url, h.user, h.password, []byte(`{"id": 7}`))
	if code != 400 || res["code"] != string(services.ReasonHookPayloadInvalid) {
		t.Fatalf("malformed delivery: %d %v", code, res)
	}
	code, res, _ = h.deliver(h.url, h.user, h.password, bytes.Repeat([]byte(" "), services.DefaultMaxHookBody+1))
	if code != 413 || res["code"] != string(services.ReasonHookPayloadTooLarge) {
		t.Fatalf("oversized delivery: %d %v", code, res)
	}
	if n := len(h.runs()); n != 0 {
		t.Fatalf("%d runs after refused deliveries", n)
	}
	if code, res, _ := h.deliver(h.url, h.user, h.password, h.pushPayload("evt-repo", h.repo.ID, "refs/heads/main", old, next)); code != 202 {
		t.Fatalf("the same event id for the right repository: %d %v", code, res)
	}
}

func TestHookPullRequestRunsTheMergeCommit(t *testing.T) {
	h := newHookEnv(t, nil)
	mainTip := git(t, h.repo.BarePath, "rev-parse", "refs/heads/main")
	_, topic := h.commitOn("develop", "topic work")
	// What Azure DevOps keeps for an active pull request: refs/pull/{id}/merge, the merge of
	// the source into the target.
	merge := git(t, h.repo.BarePath, "commit-tree", topic+"^{tree}", "-p", mainTip, "-p", topic, "-m", "Merge pull request 1")
	git(t, h.repo.BarePath, "update-ref", "refs/pull/1/merge", merge)

	code, res, _ := h.deliver(h.url, h.user, h.password, h.prPayload("evt-pr-1", services.EventPullRequestCreated, 1, "active", "refs/heads/main", merge, topic))
	ids := runIDsOf(res)
	if code != 202 || len(ids) != 1 {
		t.Fatalf("pull request created: %d %v", code, res)
	}
	r := h.finished(ids[0])
	tr := r["trigger"].(map[string]any)
	if r["commit"] != merge || tr["kind"] != "pullRequest" || tr["ref"] != "refs/pull/1/merge" || tr["pullRequestId"] != float64(1) {
		t.Fatalf("pull request run = %v", r)
	}
	if r["state"] != "succeeded" {
		t.Fatalf("pull request run did not succeed: %v", r)
	}
	code, job, _ := h.call("GET", "/api/v1/clones/"+r["cloneJobId"].(string), nil)
	if code != 200 || job["result"].(map[string]any)["commit"] != merge {
		t.Fatalf("the pull request run's clone: %d %v, want the merge commit %s checked out", code, job, merge)
	}
	// An update without new commits (a vote, a title): nothing.
	code, res, _ = h.deliver(h.url, h.user, h.password, h.prPayload("evt-pr-2", services.EventPullRequestUpdated, 1, "active", "refs/heads/main", merge, topic))
	if code != 200 || res["ignored"] != services.IgnoredNoNewCommits {
		t.Fatalf("update without new commits: %d %v", code, res)
	}
	// Merged, abandoned, or another target: nothing.
	for name, body := range map[string][]byte{
		"merged":    h.prPayload("evt-pr-3", services.EventPullRequestMerged, 1, "completed", "refs/heads/main", merge, topic),
		"abandoned": h.prPayload("evt-pr-4", services.EventPullRequestUpdated, 1, "abandoned", "refs/heads/main", merge, topic),
		"target":    h.prPayload("evt-pr-5", services.EventPullRequestCreated, 2, "active", "refs/heads/develop", merge, topic),
	} {
		if code, res, _ := h.deliver(h.url, h.user, h.password, body); code != 200 || res["ignored"] == nil {
			t.Errorf("%s: %d %v", name, code, res)
		}
	}
	// New commits on the source: a new merge commit, a second run.
	merge2 := git(t, h.repo.BarePath, "commit-tree", topic+"^{tree}", "-p", mainTip, "-p", topic, "-m", "Merge pull request 1 again")
	code, res, _ = h.deliver(h.url, h.user, h.password, h.prPayload("evt-pr-6", services.EventPullRequestUpdated, 1, "active", "refs/heads/main", merge2, merge2))
	if code != 202 {
		t.Fatalf("update with new commits: %d %v", code, res)
	}
	if n := len(h.runs()); n != 2 {
		t.Fatalf("%d runs, want 2", n)
	}
}

func TestProfileTriggersPatchValidation(t *testing.T) {
	e := newEnv(t)
	conn := e.createConnection()
	var repo azdosim.RepoInfo
	for _, r := range e.sim.Repositories("DefaultCollection") {
		if r.Name == "ios-app" {
			repo = r
		}
	}
	code, p, _ := e.call("POST", "/api/v1/build-profiles", map[string]any{"name": "ios", "connectionId": conn, "repositoryId": repo.ID, "branch": "main"})
	if code != 201 || p["hook"] != nil || p["projectId"] != repo.ProjectID {
		t.Fatalf("create without triggers: %d %v", code, p)
	}
	id := p["id"].(string)
	path := "/api/v1/build-profiles/" + id
	many := make([]string, services.MaxTriggerPatterns+1)
	for i := range many {
		many[i] = fmt.Sprintf("b%d", i)
	}
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"triggers": map[string]any{"push": map[string]any{"branches": []string{"main", "bad branch"}}}}, "triggers.push.branches[1]"},
		{map[string]any{"triggers": map[string]any{"push": map[string]any{"branches": []string{"a/../b"}}}}, "triggers.push.branches[0]"},
		{map[string]any{"triggers": map[string]any{"push": map[string]any{"branches": []string{"x/***"}}}}, "triggers.push.branches[0]"},
		{map[string]any{"triggers": map[string]any{"push": map[string]any{"branches": []string{strings.Repeat("a", services.MaxTriggerPatternLen+1)}}}}, "triggers.push.branches[0]"},
		{map[string]any{"triggers": map[string]any{"push": map[string]any{"branches": many}}}, "triggers.push.branches"},
		{map[string]any{"triggers": map[string]any{"pullRequest": map[string]any{"branches": []string{}}}}, "triggers.pullRequest.branches"},
		{map[string]any{"triggers": map[string]any{"pushes": map[string]any{}}}, "triggers"},
		{map[string]any{"name": "ok", "triggers": map[string]any{"push": map[string]any{"branches": []string{"/main"}}}}, "triggers.push.branches[0]"},
		{map[string]any{"branch": "no-such-branch", "triggers": map[string]any{"push": map[string]any{}}}, "branch"},
		{map[string]any{"name": ""}, "name"},
	} {
		code, body, _ := e.call("PATCH", path, c.body)
		if code != 400 || body["field"] != c.field {
			t.Errorf("PATCH %v: %d %v, want 400 naming %s", c.body, code, body, c.field)
		}
	}
	code, got, _ := e.call("GET", path, nil)
	if code != 200 || got["triggers"] != nil || got["hook"] != nil || got["name"] != "ios" || got["version"] != float64(1) {
		t.Fatalf("refused patches changed the profile: %v", got)
	}
	// A valid patch: push defaults to the profile's branch; the hook appears with its password once.
	code, got, _ = e.call("PATCH", path, map[string]any{"name": "ios-ci", "branch": "develop", "triggers": map[string]any{"push": map[string]any{}}})
	hook, _ := got["hook"].(map[string]any)
	if code != 200 || got["name"] != "ios-ci" || got["branch"] != "develop" || hook == nil || hook["password"] == nil ||
		fmt.Sprint(got["triggers"].(map[string]any)["push"].(map[string]any)["branches"]) != "[develop]" {
		t.Fatalf("valid patch: %d %v", code, got)
	}
	h := &hookEnv{env: e, repo: repo, profile: id, url: hook["url"].(string), user: hook["user"].(string), password: hook["password"].(string)}
	// Rotation: a new URL and password; the old ones are refused.
	code, rot, _ := e.call("POST", path+"/hook/rotate", nil)
	nh := rot["hook"].(map[string]any)
	if code != 200 || nh["password"] == nil || nh["url"] == h.url {
		t.Fatalf("rotate: %d %v", code, rot)
	}
	old, next := h.commitOn("develop", "after rotation")
	body := h.pushPayload("evt-rot", repo.ID, "refs/heads/develop", old, next)
	if code, _, _ := h.deliver(h.url, h.user, h.password, body); code != 401 {
		t.Fatalf("the old hook after rotation: %d", code)
	}
	if code, res, _ := h.deliver(nh["url"].(string), nh["user"].(string), nh["password"].(string), body); code != 202 {
		t.Fatalf("the new hook: %d %v", code, res)
	}
	// triggers: null turns them off; the hook stays (its deliveries start nothing).
	code, got, _ = e.call("PATCH", path, map[string]any{"triggers": nil})
	if code != 200 || got["triggers"] != nil {
		t.Fatalf("triggers null: %d %v", code, got)
	}
}

func TestRunsListingAndRetention(t *testing.T) {
	h := newHookEnv(t, func(o *services.Options) { o.Runs.Keep = 3 })
	var ids []string
	for i := range 4 {
		old, next := h.commitOn("main", fmt.Sprintf("c%d", i))
		code, res, _ := h.deliver(h.url, h.user, h.password, h.pushPayload(fmt.Sprintf("evt-%d", i), h.repo.ID, "refs/heads/main", old, next))
		if code != 202 {
			t.Fatalf("delivery %d: %d %v", i, code, res)
		}
		ids = append(ids, runIDsOf(res)[0])
	}
	got := h.runs()
	if len(got) != 3 || got[0]["id"] != ids[3] || got[2]["id"] != ids[1] {
		t.Fatalf("runs %v, want the 3 newest of %v, newest first", got, ids)
	}
	if code, _, _ := h.call("GET", "/api/v1/runs/"+ids[0], nil); code != 404 {
		t.Fatalf("the run beyond retention answers %d", code)
	}
	code, page, _ := h.call("GET", "/api/v1/build-profiles/"+h.profile+"/runs?limit=2", nil)
	if code != 200 || page["count"] != float64(2) || page["next"] == nil {
		t.Fatalf("first page: %d %v", code, page)
	}
	code, page2, _ := h.call("GET", "/api/v1/build-profiles/"+h.profile+"/runs?limit=2&after="+page["next"].(string), nil)
	if code != 200 || page2["count"] != float64(1) || page2["value"].([]any)[0].(map[string]any)["id"] != ids[1] {
		t.Fatalf("second page: %d %v", code, page2)
	}
	// Manual runs (Clone now as a run).
	code, r, _ := h.call("POST", "/api/v1/build-profiles/"+h.profile+"/runs", map[string]any{"force": true}) // the push runs may still run
	if code != 202 || r["trigger"].(map[string]any)["kind"] != "manual" {
		t.Fatalf("manual run: %d %v", code, r)
	}
	if fr := h.finished(r["id"].(string)); fr["state"] != "succeeded" || fr["commit"] != git(t, h.repo.BarePath, "rev-parse", "refs/heads/main") {
		t.Fatalf("manual run finished as %v", fr)
	}
	if code, _, _ := h.call("GET", "/api/v1/build-profiles/nope/runs", nil); code != 404 {
		t.Fatalf("runs of an unknown profile: %d", code)
	}
}

// On the Redis store and the Redis clone queue: a push runs its commit, and concurrent copies
// of one delivery start one run (SET NX).
func TestHookOnRedisStoreAndQueue(t *testing.T) {
	b := newBackend(t, onRedis, nil)
	st, _, _ := b.instance(nil)
	rs := st.(*redisstore.Store)
	h := newHookEnv(t, func(o *services.Options) {
		o.Store = st
		o.CloneQueue = services.NewRedisCloneQueue(rs.Client(), rs.Prefix(), services.RedisCloneQueueOptions{})
	})
	old, next := h.commitOn("release/1.0", "on redis")
	body := h.pushPayload("evt-redis", h.repo.ID, "refs/heads/release/1.0", old, next)
	var wg sync.WaitGroup
	codes := make([]int, 6)
	results := make([]map[string]any, 6)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], results[i], _ = h.deliver(h.url, h.user, h.password, body)
		}()
	}
	wg.Wait()
	var ids []string
	for i, c := range codes {
		if c == 202 {
			ids = append(ids, runIDsOf(results[i])...)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("concurrent copies started runs %v (codes %v)", ids, codes)
	}
	if r := h.finished(ids[0]); r["state"] != "succeeded" || r["commit"] != next {
		t.Fatalf("run on Redis = %v", r)
	}
	if n := len(h.runs()); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
}

// Clone now through the existing clone job API is recorded as a manual run.
func TestCloneJobIsRecordedAsManualRun(t *testing.T) {
	h := newHookEnv(t, nil)
	code, job, _ := h.call("POST", "/api/v1/build-profiles/"+h.profile+"/clones", map[string]any{"depth": 1})
	if code != 202 {
		t.Fatalf("clone job: %d %v", code, job)
	}
	runs := h.runs()
	if len(runs) != 1 || runs[0]["cloneJobId"] != job["id"] || runs[0]["trigger"].(map[string]any)["kind"] != "manual" {
		t.Fatalf("runs after a clone job: %v", runs)
	}
	r := h.finished(runs[0]["id"].(string))
	if r["state"] != "succeeded" || r["commit"] != git(t, h.repo.BarePath, "rev-parse", "refs/heads/main") {
		t.Fatalf("the clone job's run: %v", r)
	}
}
