package azdosim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeJSONReq sends method url with a JSON body and Basic ":token" (api-version 7.0 unless
// url names one: writes need it).
func writeJSONReq(t *testing.T, method, url, token string, body any) answer {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(url, "api-version=") {
		url += map[bool]string{true: "&", false: "?"}[strings.Contains(url, "?")] + "api-version=7.0"
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("", token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	return send(t, req)
}

// commitOn makes a commit in the bare repository gitDir on top of parent that sets file to
// content, moves ref to it and returns it (no work tree: a temporary index).
func commitOn(t *testing.T, gitDir, parent, ref, file, content string) string {
	t.Helper()
	index := filepath.Join(t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + index, "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com"}
	must := func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	must(git(gitDir, nil, env, "read-tree", parent))
	blob := must(git(gitDir, []byte(content), env, "hash-object", "-w", "--stdin"))
	must(git(gitDir, nil, env, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+file))
	tree := must(git(gitDir, nil, env, "write-tree"))
	c := must(git(gitDir, []byte("change "+file), env, "commit-tree", tree, "-p", parent))
	must(git(gitDir, nil, nil, "update-ref", ref, c))
	return c
}

func repoByName(t *testing.T, s *Server, name string) RepoInfo {
	t.Helper()
	for _, r := range s.Repositories("") {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no repository %s", name)
	return RepoInfo{}
}

type prAnswer struct {
	PullRequestID         int    `json:"pullRequestId"`
	Status                string `json:"status"`
	MergeStatus           string `json:"mergeStatus"`
	Title                 string `json:"title"`
	LastMergeCommit       *struct{ CommitID string }
	LastMergeSourceCommit struct{ CommitID string }
	LastMergeTargetCommit struct{ CommitID string }
	ClosedDate            string `json:"closedDate"`
}

// TestPullRequestRESTLifecycle: a pull request opened over REST has a real merge commit of
// source into target at refs/pull/{id}/merge; a push to the source branch (refreshPullRequests)
// makes a new merge commit and iteration 2; completing moves the target branch to the merge
// commit.
func TestPullRequestRESTLifecycle(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	ri := repoByName(t, s, "ios-app")
	api := s.URL() + "/DefaultCollection/Fabrikam%20Mobile/_apis/git/repositories/" + ri.ID
	a := writeJSONReq(t, http.MethodPost, api+"/pullrequests?api-version=7.0", testPAT,
		map[string]string{"sourceRefName": "refs/heads/develop", "targetRefName": "refs/heads/main", "title": "Settings", "description": "d"})
	mustStatus(t, a, http.StatusCreated)
	var pr prAnswer
	a.json(t, &pr)
	dev, _ := revParse(ri.BarePath, "refs/heads/develop")
	main0, _ := revParse(ri.BarePath, "refs/heads/main")
	mergeRef := "refs/pull/" + strconv.Itoa(pr.PullRequestID) + "/merge"
	merge, err := revParse(ri.BarePath, mergeRef)
	if err != nil || pr.LastMergeCommit == nil || pr.LastMergeCommit.CommitID != merge || pr.MergeStatus != "succeeded" ||
		pr.LastMergeSourceCommit.CommitID != dev || pr.LastMergeTargetCommit.CommitID != main0 {
		t.Fatalf("created %+v, merge ref %s %v", pr, merge, err)
	}
	parents, _ := git(ri.BarePath, nil, nil, "rev-parse", merge+"^1", merge+"^2")
	if strings.Fields(parents)[0] != main0 || strings.Fields(parents)[1] != dev {
		t.Fatalf("merge parents %q, want %s %s", parents, main0, dev)
	}
	// Both sides' files are in the merge commit.
	if _, err := git(ri.BarePath, nil, nil, "cat-file", "-e", merge+":Sources/FabrikamApp/SettingsView.swift"); err != nil {
		t.Fatal(err)
	}
	// The same branches again: 409 TF401179.
	a = writeJSONReq(t, http.MethodPost, api+"/pullrequests", testPAT, map[string]string{"sourceRefName": "refs/heads/develop", "targetRefName": "refs/heads/main"})
	mustStatus(t, a, http.StatusConflict)
	if !strings.Contains(string(a.body), "TF401179") {
		t.Fatalf("duplicate: %s", a.body)
	}
	// A push to the source: a new merge commit and iteration 2.
	dev2 := commitOn(t, ri.BarePath, dev, "refs/heads/develop", "NOTES.md", "more\n")
	c, _ := s.collectionLocked("")
	s.refreshPullRequests(c, c.findRepoByIDLocked(ri.ID), []refUpdate{{Name: "refs/heads/develop", OldObjectID: dev, NewObjectID: dev2}})
	merge2, _ := revParse(ri.BarePath, mergeRef)
	if merge2 == merge {
		t.Fatal("the merge ref did not move after a push to the source")
	}
	a = get(t, api+"/pullRequests/"+strconv.Itoa(pr.PullRequestID)+"/iterations", testPAT, false)
	mustStatus(t, a, http.StatusOK)
	var its struct {
		Value []struct {
			ID              int
			SourceRefCommit struct{ CommitID string }
			TargetRefCommit struct{ CommitID string }
			CommonRefCommit struct{ CommitID string }
		}
	}
	a.json(t, &its)
	if len(its.Value) != 2 || its.Value[0].SourceRefCommit.CommitID != dev || its.Value[1].SourceRefCommit.CommitID != dev2 ||
		its.Value[1].TargetRefCommit.CommitID != main0 || its.Value[1].CommonRefCommit.CommitID == "" || its.Value[1].ID != 2 {
		t.Fatalf("iterations %s", a.body)
	}
	// Completing with a stale lastMergeSourceCommit: 409; with the current one: merged.
	a = writeJSONReq(t, http.MethodPatch, api+"/pullrequests/"+strconv.Itoa(pr.PullRequestID), testPAT,
		map[string]any{"status": "completed", "lastMergeSourceCommit": map[string]string{"commitId": dev}})
	mustStatus(t, a, http.StatusConflict)
	a = writeJSONReq(t, http.MethodPatch, api+"/pullrequests/"+strconv.Itoa(pr.PullRequestID), testPAT,
		map[string]any{"status": "completed", "lastMergeSourceCommit": map[string]string{"commitId": dev2}})
	mustStatus(t, a, http.StatusOK)
	a.json(t, &pr)
	if tip, _ := revParse(ri.BarePath, "refs/heads/main"); tip != merge2 || pr.Status != "completed" || pr.ClosedDate == "" {
		t.Fatalf("completed: main at %s (want %s), %+v", tip, merge2, pr)
	}
	// A completed pull request cannot be abandoned.
	if err := s.AbandonPullRequest("", pr.PullRequestID); err == nil {
		t.Fatal("abandoned a completed pull request")
	}
}

// TestPullRequestConflictHasNoMergeRef: conflicting branches give mergeStatus "conflicts",
// no lastMergeCommit and no merge ref; completing is refused.
func TestPullRequestConflictHasNoMergeRef(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	ri := repoByName(t, s, "ios-app")
	first, _ := git(ri.BarePath, nil, nil, "rev-list", "--max-parents=0", "refs/heads/main")
	commitOn(t, ri.BarePath, strings.TrimSpace(first), "refs/heads/clash", "README.md", "# another title\n")
	id, err := s.CreatePullRequest("", ri.ID, "clash", "main", "Clash")
	if err != nil {
		t.Fatal(err)
	}
	a := get(t, s.URL()+"/DefaultCollection/_apis/git/repositories/"+ri.ID+"/pullRequests/"+strconv.Itoa(id), testPAT, false)
	var pr prAnswer
	a.json(t, &pr)
	if pr.MergeStatus != "conflicts" || pr.LastMergeCommit != nil {
		t.Fatalf("conflicting pull request: %s", a.body)
	}
	if _, err := revParse(ri.BarePath, "refs/pull/"+strconv.Itoa(id)+"/merge"); err == nil {
		t.Fatal("a merge ref exists for a conflicting pull request")
	}
	if err := s.CompletePullRequest("", id); err == nil {
		t.Fatal("completed a conflicting pull request")
	}
	if err := s.AbandonPullRequest("", id); err != nil {
		t.Fatal(err)
	}
	title := "Renamed"
	if err := s.UpdatePullRequest("", id, PullRequestUpdate{Status: "active", Title: &title}); err != nil {
		t.Fatal(err)
	}
	a = get(t, s.URL()+"/DefaultCollection/_apis/git/repositories/"+ri.ID+"/pullRequests/"+strconv.Itoa(id), testPAT, false)
	a.json(t, &pr)
	if pr.Status != "active" || pr.Title != "Renamed" || pr.ClosedDate != "" {
		t.Fatalf("reactivated: %s", a.body)
	}
}

// TestStatusesThreadsScopesAndFaults: statuses and threads need their scopes for writes, read
// with vso.code, and the new route names take faults.
func TestStatusesThreadsScopesAndFaults(t *testing.T) {
	s := startServer(t, Options{Seed: true},
		PAT{Token: "code-only-0123456789", Scopes: []string{"vso.code"}},
		PAT{Token: "status-0123456789", Scopes: []string{"vso.code_status", "vso.threads_full"}})
	ri := repoByName(t, s, "ios-app")
	id, err := s.CreatePullRequest("", ri.ID, "develop", "main", "x")
	if err != nil {
		t.Fatal(err)
	}
	sha, _ := revParse(ri.BarePath, "refs/heads/main")
	api := s.URL() + "/DefaultCollection/_apis/git/repositories/" + ri.ID
	status := map[string]any{"state": "pending", "description": "building", "targetUrl": "https://ci.example/runs/1",
		"context": map[string]string{"name": "build", "genre": "repoconnect"}}
	mustStatus(t, writeJSONReq(t, http.MethodPost, api+"/commits/"+sha+"/statuses", "code-only-0123456789", status), http.StatusUnauthorized)
	mustStatus(t, writeJSONReq(t, http.MethodPost, api+"/commits/"+sha+"/statuses", "status-0123456789", status), http.StatusCreated)
	status["state"] = 2 // the enum number of succeeded
	mustStatus(t, writeJSONReq(t, http.MethodPost, api+"/commits/"+sha+"/statuses", "status-0123456789", status), http.StatusCreated)
	a := get(t, api+"/commits/"+sha+"/statuses?latestOnly=true", "code-only-0123456789", false)
	mustStatus(t, a, http.StatusOK)
	if !strings.Contains(string(a.body), `"count":1`) || !strings.Contains(string(a.body), `"state":"succeeded"`) {
		t.Fatalf("latestOnly: %s", a.body)
	}
	got, err := s.CommitStatuses("", ri.ID, sha)
	if err != nil || len(got) != 2 || got[0].State != "pending" || got[1].State != "succeeded" || got[1].ContextGenre != "repoconnect" ||
		got[1].TargetURL != "https://ci.example/runs/1" {
		t.Fatalf("CommitStatuses %+v %v", got, err)
	}
	mustStatus(t, writeJSONReq(t, http.MethodPost, api+"/commits/"+strings.Repeat("0", 40)+"/statuses", testPAT, status), http.StatusNotFound)
	// A pull request status on iteration 1; iteration 9 does not exist.
	prAPI := api + "/pullRequests/" + strconv.Itoa(id)
	status["iterationId"] = 1
	mustStatus(t, writeJSONReq(t, http.MethodPost, prAPI+"/statuses", "status-0123456789", status), http.StatusOK)
	status["iterationId"] = 9
	mustStatus(t, writeJSONReq(t, http.MethodPost, prAPI+"/statuses", "status-0123456789", status), http.StatusBadRequest)
	prs, err := s.PullRequestStatuses("", id)
	if err != nil || len(prs) != 1 || prs[0].IterationID != 1 {
		t.Fatalf("PullRequestStatuses %+v %v", prs, err)
	}
	// A thread with a property, then its comment edited.
	thread := map[string]any{"comments": []map[string]any{{"parentCommentId": 0, "content": "run 1", "commentType": 1}},
		"status": 1, "properties": map[string]any{"repoconnect.profile": "p1"}}
	mustStatus(t, writeJSONReq(t, http.MethodPost, prAPI+"/threads", "code-only-0123456789", thread), http.StatusUnauthorized)
	a = writeJSONReq(t, http.MethodPost, prAPI+"/threads", "status-0123456789", thread)
	mustStatus(t, a, http.StatusOK)
	var th struct {
		ID         int
		Status     string
		Properties map[string]struct {
			Type  string `json:"$type"`
			Value string `json:"$value"`
		}
	}
	a.json(t, &th)
	if th.Status != "active" || th.Properties["repoconnect.profile"].Value != "p1" {
		t.Fatalf("thread %s", a.body)
	}
	a = writeJSONReq(t, http.MethodPatch, prAPI+"/threads/"+strconv.Itoa(th.ID)+"/comments/1", "status-0123456789", map[string]string{"content": "run 2"})
	mustStatus(t, a, http.StatusOK)
	threads, err := s.PullRequestThreads("", id)
	if err != nil || len(threads) != 1 || len(threads[0].Comments) != 1 || threads[0].Comments[0].Content != "run 2" ||
		threads[0].Properties["repoconnect.profile"] != "p1" {
		t.Fatalf("PullRequestThreads %+v %v", threads, err)
	}
	mustStatus(t, get(t, prAPI+"/threads/99", testPAT, false), http.StatusNotFound)
	// Faults by the new route names.
	for _, f := range []struct{ route, method, url string }{
		{"commitStatuses", http.MethodPost, api + "/commits/" + sha + "/statuses"},
		{"pullRequestStatuses", http.MethodPost, prAPI + "/statuses"},
		{"threads", http.MethodPost, prAPI + "/threads"},
		{"pullRequestWrites", http.MethodPatch, prAPI},
	} {
		s.AddFault(Fault{Route: f.route, Kind: Fault500, Count: 1})
		a := writeJSONReq(t, f.method, f.url, testPAT, map[string]any{})
		if a.status != http.StatusInternalServerError {
			t.Errorf("fault %s: %d %s", f.route, a.status, a.body)
		}
	}
}

// TestServiceEndpointsList: seeded endpoints are listed per project with their readiness,
// filtered by type; the scope is one of the serviceendpoint family.
func TestServiceEndpointsList(t *testing.T) {
	s := startServer(t, Options{Seed: true}, PAT{Token: "code-only-0123456789", Scopes: []string{"vso.code"}},
		PAT{Token: "se-0123456789", Scopes: []string{"vso.serviceendpoint_query"}})
	id, err := s.AddServiceEndpoint("", "Fabrikam Mobile", "GitHub connection", "github", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddServiceEndpoint("", "Fabrikam Mobile", "Azure", "azurerm", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddServiceEndpoint("", "Fabrikam Mobile", "azure", "azurerm", false); err == nil {
		t.Fatal("a duplicate name was accepted")
	}
	u := s.URL() + "/DefaultCollection/Fabrikam%20Mobile/_apis/serviceendpoint/endpoints?api-version=7.0"
	mustStatus(t, get(t, u, "code-only-0123456789", false), http.StatusUnauthorized)
	a := get(t, u, "se-0123456789", false)
	mustStatus(t, a, http.StatusOK)
	var l struct {
		Count int
		Value []struct {
			ID, Name, Type string
			IsReady        bool
		}
	}
	a.json(t, &l)
	if l.Count != 2 || l.Value[0].Name != "Azure" || l.Value[0].IsReady || l.Value[1].ID != id || !l.Value[1].IsReady {
		t.Fatalf("endpoints %s", a.body)
	}
	a = get(t, u+"&type=github", "se-0123456789", false)
	a.json(t, &l)
	if l.Count != 1 || l.Value[0].Type != "github" {
		t.Fatalf("by type %s", a.body)
	}
	mustStatus(t, get(t, s.URL()+"/DefaultCollection/Nope/_apis/serviceendpoint/endpoints", testPAT, false), http.StatusNotFound)
	s.AddFault(Fault{Route: "serviceEndpoints", Kind: Fault500, Count: 1})
	mustStatus(t, get(t, u, testPAT, false), http.StatusInternalServerError)
}

// TestRefreshOnTargetMoveAndConcurrently: a push to the target branch remakes the merge commit
// without a new iteration; refreshes racing with REST reads end with the merge ref on the
// latest tips of both branches.
func TestRefreshOnTargetMoveAndConcurrently(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	ri := repoByName(t, s, "ios-app")
	id, err := s.CreatePullRequest("", ri.ID, "develop", "main", "x")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.collectionLocked("")
	rp := c.findRepoByIDLocked(ri.ID)
	main0, _ := revParse(ri.BarePath, "refs/heads/main")
	main1 := commitOn(t, ri.BarePath, main0, "refs/heads/main", "CHANGELOG.md", "1\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 {
			a := get(t, s.URL()+"/DefaultCollection/_apis/git/repositories/"+ri.ID+"/pullRequests/"+strconv.Itoa(id), testPAT, false)
			if a.status != http.StatusOK {
				t.Errorf("read during refresh: %d", a.status)
			}
		}
	}()
	for range 3 {
		s.refreshPullRequests(c, rp, []refUpdate{{Name: "refs/heads/main", OldObjectID: main0, NewObjectID: main1}})
	}
	<-done
	merge, err := revParse(ri.BarePath, "refs/pull/"+strconv.Itoa(id)+"/merge")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := git(ri.BarePath, nil, nil, "rev-parse", merge+"^1")
	if strings.TrimSpace(first) != main1 {
		t.Fatalf("merge commit's first parent %s, want the new target tip %s", first, main1)
	}
	s.mu.Lock()
	n := len(c.pullRequests[id-1].iterations)
	s.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d iterations after target pushes, want 1", n)
	}
}
