package azdosim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/git"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/serviceendpoint"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// compatPullRequestWrites drives issue 17's resources with Microsoft's client: a pull request
// created over REST, its iterations, a commit status and a pull request status, a thread whose
// comment is edited, then completion (the target branch moves to the merge commit).
func compatPullRequestWrites(t *testing.T, sim *azdosim.Server, c git.Client) {
	ctx := context.Background()
	ri := azdosimtest.Repository(t, sim, "android app")
	project := ptr(ri.ProjectName)
	// A branch of its own: "pull requests" already joined feature/login and main.
	azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "update-ref", "refs/heads/feature/compat", "refs/heads/feature/login")
	pr, err := c.CreatePullRequest(ctx, git.CreatePullRequestArgs{RepositoryId: ptr(ri.ID), Project: project,
		GitPullRequestToCreate: &git.GitPullRequest{SourceRefName: ptr("refs/heads/feature/compat"), TargetRefName: ptr("refs/heads/main"),
			Title: ptr("Login screen"), Description: ptr("Adds the login activity.")}})
	if err != nil {
		t.Fatalf("CreatePullRequest: %v", err)
	}
	id := intv(pr.PullRequestId)
	mergeRef := "refs/pull/" + strconv.Itoa(id) + "/merge"
	merge := azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", mergeRef)
	source := azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", "refs/heads/feature/compat")
	if pr.LastMergeCommit == nil || str(pr.LastMergeCommit.CommitId) != merge || pr.MergeStatus == nil ||
		*pr.MergeStatus != git.PullRequestAsyncStatusValues.Succeeded || str(pr.Description) != "Adds the login activity." {
		t.Fatalf("CreatePullRequest answered %+v (merge ref %s)", pr, merge)
	}
	its, err := c.GetPullRequestIterations(ctx, git.GetPullRequestIterationsArgs{RepositoryId: ptr(ri.ID), Project: project, PullRequestId: ptr(id)})
	if err != nil || len(*its) != 1 || intv((*its)[0].Id) != 1 || (*its)[0].SourceRefCommit == nil || str((*its)[0].SourceRefCommit.CommitId) != source ||
		(*its)[0].CommonRefCommit == nil || str((*its)[0].CommonRefCommit.CommitId) == "" {
		t.Fatalf("GetPullRequestIterations: %+v %v", its, err)
	}
	ctxName := &git.GitStatusContext{Name: ptr("build/android"), Genre: ptr("repoconnect")}
	st, err := c.CreateCommitStatus(ctx, git.CreateCommitStatusArgs{RepositoryId: ptr(ri.ID), Project: project, CommitId: ptr(merge),
		GitCommitStatusToCreate: &git.GitStatus{State: &git.GitStatusStateValues.Pending, Description: ptr("building"),
			TargetUrl: ptr("https://ci.example/runs/7"), Context: ctxName}})
	if err != nil || st.State == nil || *st.State != git.GitStatusStateValues.Pending || intv(st.Id) == 0 || st.CreatedBy == nil || st.CreationDate == nil {
		t.Fatalf("CreateCommitStatus: %+v %v", st, err)
	}
	sts, err := c.GetStatuses(ctx, git.GetStatusesArgs{RepositoryId: ptr(ri.ID), Project: project, CommitId: ptr(merge)})
	if err != nil || len(*sts) != 1 || str((*sts)[0].TargetUrl) != "https://ci.example/runs/7" || (*sts)[0].Context == nil ||
		str((*sts)[0].Context.Genre) != "repoconnect" {
		t.Fatalf("GetStatuses: %+v %v", sts, err)
	}
	pst, err := c.CreatePullRequestStatus(ctx, git.CreatePullRequestStatusArgs{RepositoryId: ptr(ri.ID), Project: project, PullRequestId: ptr(id),
		Status: &git.GitPullRequestStatus{State: &git.GitStatusStateValues.Succeeded, Context: ctxName, IterationId: ptr(1)}})
	if err != nil || intv(pst.IterationId) != 1 || pst.State == nil || *pst.State != git.GitStatusStateValues.Succeeded {
		t.Fatalf("CreatePullRequestStatus: %+v %v", pst, err)
	}
	psts, err := c.GetPullRequestStatuses(ctx, git.GetPullRequestStatusesArgs{RepositoryId: ptr(ri.ID), Project: project, PullRequestId: ptr(id)})
	if err != nil || len(*psts) != 1 || intv((*psts)[0].IterationId) != 1 {
		t.Fatalf("GetPullRequestStatuses: %+v %v", psts, err)
	}
	th, err := c.CreateThread(ctx, git.CreateThreadArgs{RepositoryId: ptr(ri.ID), Project: project, PullRequestId: ptr(id),
		CommentThread: &git.GitPullRequestCommentThread{Status: &git.CommentThreadStatusValues.Active,
			Comments:   &[]git.Comment{{ParentCommentId: ptr(0), Content: ptr("Build 1: succeeded"), CommentType: &git.CommentTypeValues.Text}},
			Properties: map[string]any{"repoconnect.profile": "android"}}})
	if err != nil || intv(th.Id) == 0 || th.Comments == nil || len(*th.Comments) != 1 || th.Status == nil || *th.Status != git.CommentThreadStatusValues.Active {
		t.Fatalf("CreateThread: %+v %v", th, err)
	}
	cm, err := c.UpdateComment(ctx, git.UpdateCommentArgs{RepositoryId: ptr(ri.ID), Project: project, PullRequestId: ptr(id), ThreadId: th.Id,
		CommentId: (*th.Comments)[0].Id, Comment: &git.Comment{Content: ptr("Build 2: failed")}})
	if err != nil || str(cm.Content) != "Build 2: failed" {
		t.Fatalf("UpdateComment: %+v %v", cm, err)
	}
	ths, err := c.GetThreads(ctx, git.GetThreadsArgs{RepositoryId: ptr(ri.ID), Project: project, PullRequestId: ptr(id)})
	if err != nil || len(*ths) != 1 || len(*(*ths)[0].Comments) != 1 || str((*(*ths)[0].Comments)[0].Content) != "Build 2: failed" ||
		!strings.Contains(stringOf((*ths)[0].Properties), "android") {
		t.Fatalf("GetThreads: %+v %v", ths, err)
	}
	done, err := c.UpdatePullRequest(ctx, git.UpdatePullRequestArgs{RepositoryId: ptr(ri.ID), Project: project, PullRequestId: ptr(id),
		GitPullRequestToUpdate: &git.GitPullRequest{Status: &git.PullRequestStatusValues.Completed, LastMergeSourceCommit: &git.GitCommitRef{CommitId: ptr(source)}}})
	if err != nil || done.Status == nil || *done.Status != git.PullRequestStatusValues.Completed || done.ClosedDate == nil {
		t.Fatalf("UpdatePullRequest (complete): %+v %v", done, err)
	}
	if tip := azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", "refs/heads/main"); tip != merge {
		t.Fatalf("main at %s after completion, want the merge commit %s", tip, merge)
	}
}

// compatServiceEndpoints lists seeded service connections with the SDK's serviceendpoint
// client (its own resource area).
func compatServiceEndpoints(t *testing.T, sim *azdosim.Server, conn *azuredevops.Connection) {
	ctx := context.Background()
	id, err := sim.AddServiceEndpoint("", "Platform", "Docker Hub", "dockerregistry", true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := serviceendpoint.NewClient(ctx, conn)
	if err != nil {
		t.Fatalf("serviceendpoint.NewClient: %v", err)
	}
	list, err := c.GetServiceEndpoints(ctx, serviceendpoint.GetServiceEndpointsArgs{Project: ptr("Platform")})
	if err != nil || len(*list) != 1 || (*list)[0].Id == nil || (*list)[0].Id.String() != id || str((*list)[0].Type) != "dockerregistry" ||
		(*list)[0].IsReady == nil || !*(*list)[0].IsReady {
		t.Fatalf("GetServiceEndpoints: %+v %v", list, err)
	}
}

func stringOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// seedIssue17 posts a commit status (to statusesURL), a pull request status and a thread (to
// prAPI) with plain HTTP and seeds a service endpoint, so that TestCompatFieldsKnownToTheSDK
// sees every answer of issue 17's resources with content.
func seedIssue17(t *testing.T, sim *azdosim.Server, statusesURL, prAPI string) {
	t.Helper()
	status := `{"state":"succeeded","description":"ok","targetUrl":"https://ci.example/1","context":{"name":"build","genre":"repoconnect"},"iterationId":1}`
	for _, p := range []struct{ url, body string }{
		{statusesURL, status},
		{prAPI + "/statuses", status},
		{prAPI + "/threads", `{"comments":[{"parentCommentId":0,"content":"hello","commentType":1}],"status":1,"properties":{"k":"v"}}`},
	} {
		req, _ := http.NewRequest(http.MethodPost, p.url+"?api-version=7.0", strings.NewReader(p.body))
		req.SetBasicAuth("", compatPAT)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d %s", p.url, resp.StatusCode, body)
		}
	}
	if _, err := sim.AddServiceEndpoint("", "Fabrikam Mobile", "GitHub", "github", true); err != nil {
		t.Fatal(err)
	}
}
