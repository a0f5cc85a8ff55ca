package azuredevops_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

// resultsClient starts a seeded simulator behind /tfs and a client with token (registered with
// scopes; none = full access), logging at debug level into logs.
func resultsClient(t *testing.T, token string, scopes []string, logs *bytes.Buffer) (*azdosim.Server, *azuredevops.Client) {
	t.Helper()
	sim := azdosimtest.Start(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: token, Scopes: scopes})
	ep, err := azuredevops.NewEndpoint(sim.URL(), "DefaultCollection")
	if err != nil {
		t.Fatal(err)
	}
	opts := azuredevops.Options{Door: azuredevops.LoopbackDoor}
	if logs != nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := azuredevops.New(ep, azuredevops.Credential{PAT: connections.Secret(token)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

// TestResultsOut: the calls a run's results need, against the simulator: a pull request's
// merge commit and latest iteration, a commit status pending then succeeded, a pull request
// status on that iteration, one thread found again by its property and its comment updated.
// The credential never shows in the debug log.
func TestResultsOut(t *testing.T) {
	var logs bytes.Buffer
	sim, c := resultsClient(t, testPAT, nil, &logs)
	ctx := context.Background()
	ri := azdosimtest.Repository(t, sim, "ios-app")
	prID, err := sim.CreatePullRequest("", ri.ID, "develop", "main", "Settings")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := c.GetPullRequest(ctx, ri.ProjectName, ri.ID, prID)
	if err != nil {
		t.Fatal(err)
	}
	merge := azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", "refs/pull/1/merge")
	if pr.MergeCommit != merge || pr.MergeRef != "refs/pull/1/merge" || pr.Status != "active" || pr.MergeStatus != "succeeded" ||
		pr.SourceRef != "refs/heads/develop" || pr.TargetRef != "refs/heads/main" || pr.SourceCommit == "" {
		t.Fatalf("GetPullRequest %+v (merge %s)", pr, merge)
	}
	it, err := c.LatestIteration(ctx, ri.ProjectName, ri.ID, prID)
	if err != nil || it.ID != 1 || it.SourceCommit != pr.SourceCommit || it.CommonCommit == "" {
		t.Fatalf("LatestIteration %+v %v", it, err)
	}
	st := azuredevops.Status{State: "pending", Description: "Build running", TargetURL: "https://ci.example/runs/1",
		ContextName: "ios build", ContextGenre: "repoconnect"}
	posted, err := c.PostCommitStatus(ctx, ri.ProjectName, ri.ID, merge, st)
	if err != nil || posted.State != "pending" || posted.ID == 0 || posted.Genre != "repoconnect" || posted.CreatedAt.IsZero() {
		t.Fatalf("PostCommitStatus %+v %v", posted, err)
	}
	st.State = "succeeded"
	if _, err := c.PostCommitStatus(ctx, ri.ProjectName, ri.ID, merge, st); err != nil {
		t.Fatal(err)
	}
	got, _ := sim.CommitStatuses("", ri.ID, merge)
	if len(got) != 2 || got[1].State != "succeeded" || got[1].TargetURL != st.TargetURL {
		t.Fatalf("simulator commit statuses %+v", got)
	}
	ps, err := c.PostPullRequestStatus(ctx, ri.ProjectName, ri.ID, prID, it.ID, st)
	if err != nil || ps.IterationID != 1 || ps.State != "succeeded" {
		t.Fatalf("PostPullRequestStatus %+v %v", ps, err)
	}
	// One thread per pull request and profile: absent, created, then found and updated.
	th, err := c.FindThread(ctx, ri.ProjectName, ri.ID, prID, "repoconnect.profile", "p-1")
	if err != nil || th != nil {
		t.Fatalf("FindThread before: %+v %v", th, err)
	}
	created, err := c.CreateThread(ctx, ri.ProjectName, ri.ID, prID, "Build 1 succeeded", map[string]string{"repoconnect.profile": "p-1"})
	if err != nil || created.ID == 0 || len(created.Comments) != 1 || created.Status != "active" {
		t.Fatalf("CreateThread %+v %v", created, err)
	}
	found, err := c.FindThread(ctx, ri.ProjectName, ri.ID, prID, "repoconnect.profile", "p-1")
	if err != nil || found == nil || found.ID != created.ID || found.Properties["repoconnect.profile"] != "p-1" {
		t.Fatalf("FindThread after: %+v %v", found, err)
	}
	if other, err := c.FindThread(ctx, ri.ProjectName, ri.ID, prID, "repoconnect.profile", "p-2"); err != nil || other != nil {
		t.Fatalf("FindThread of another profile: %+v %v", other, err)
	}
	content := "Build 2 failed\n\n" + azuredevops.ThreadMarker("repoconnect.profile", "p-1")
	cm, err := c.UpdateComment(ctx, ri.ProjectName, ri.ID, prID, found.ID, found.Comments[0].ID, content)
	if err != nil || cm.Content != content {
		t.Fatalf("UpdateComment %+v %v", cm, err)
	}
	threads, _ := sim.PullRequestThreads("", prID)
	if len(threads) != 1 || len(threads[0].Comments) != 1 || !strings.HasPrefix(threads[0].Comments[0].Content, "Build 2 failed") {
		t.Fatalf("simulator threads %+v", threads)
	}
	if strings.Contains(logs.String(), testPAT) || !strings.Contains(logs.String(), "POST") {
		t.Fatalf("debug log leaks the PAT or misses the writes:\n%s", logs.String())
	}
}

// TestResultsOutErrors: bad input is refused before any request; a credential without
// vso.code_status is ErrUnauthorized; a failing upstream is an error the caller can record;
// an unknown pull request is ErrNotFound.
func TestResultsOutErrors(t *testing.T) {
	sim, c := resultsClient(t, "code-only-pat-0123456789", []string{"vso.code"}, nil)
	ctx := context.Background()
	ri := azdosimtest.Repository(t, sim, "ios-app")
	sha := azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", "refs/heads/main")
	st := azuredevops.Status{State: "succeeded", ContextName: "b"}
	if _, err := c.PostCommitStatus(ctx, ri.ProjectName, ri.ID, "main", st); !errors.Is(err, connections.ErrInvalidInput) {
		t.Fatalf("bad sha: %v", err)
	}
	if _, err := c.PostCommitStatus(ctx, ri.ProjectName, ri.ID, sha, azuredevops.Status{State: "done", ContextName: "b"}); !errors.Is(err, connections.ErrInvalidInput) {
		t.Fatalf("bad state: %v", err)
	}
	if _, err := c.PostCommitStatus(ctx, ri.ProjectName, ri.ID, sha, st); !errors.Is(err, connections.ErrUnauthorized) {
		t.Fatalf("missing scope: %v", err)
	}
	if _, err := c.GetPullRequest(ctx, ri.ProjectName, ri.ID, 42); !errors.Is(err, connections.ErrNotFound) {
		t.Fatalf("unknown pull request: %v", err)
	}
	// A failing write is ErrUpstreamUnavailable, for the caller's retry policy.
	sim.AddFault(azdosim.Fault{Route: "commitStatuses", Kind: azdosim.Fault503, Count: 1})
	full, _ := resultsClientFull(t, sim)
	if _, err := full.PostCommitStatus(ctx, ri.ProjectName, ri.ID, sha, st); !errors.Is(err, connections.ErrUpstreamUnavailable) {
		t.Fatalf("503 on a status post: %v", err)
	}
	if _, err := full.PostCommitStatus(ctx, ri.ProjectName, ri.ID, sha, st); err != nil {
		t.Fatalf("the post after the fault: %v", err)
	}
	sim.AddFault(azdosim.Fault{Route: "serviceEndpoints", Kind: azdosim.Fault500})
	if _, err := c.ListServiceEndpoints(ctx, ri.ProjectName); err == nil {
		t.Fatal("a 500 from serviceEndpoints was not an error")
	}
}

// TestListServiceEndpoints: the project's service connections with their type and readiness,
// sorted by name, for a credential holding vso.serviceendpoint_query.
func TestListServiceEndpoints(t *testing.T) {
	sim, c := resultsClient(t, "se-pat-0123456789", []string{"vso.serviceendpoint_query"}, nil)
	if _, err := sim.AddServiceEndpoint("", "Platform", "Production", "azurerm", true); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.AddServiceEndpoint("", "Platform", "Legacy", "generic", false); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListServiceEndpoints(context.Background(), "Platform")
	if err != nil || len(got) != 2 || got[0].Name != "Legacy" || got[0].IsReady || got[1].Type != "azurerm" || !got[1].IsReady || got[1].ID == "" {
		t.Fatalf("ListServiceEndpoints %+v %v", got, err)
	}
	if _, err := c.ListServiceEndpoints(context.Background(), "No such project"); !errors.Is(err, connections.ErrNotFound) {
		t.Fatalf("unknown project: %v", err)
	}
}

// resultsClientFull is a client of sim with a full-access PAT (registered here).
func resultsClientFull(t *testing.T, sim *azdosim.Server) (*azuredevops.Client, error) {
	t.Helper()
	sim.AddPAT(azdosim.PAT{Token: "full-pat-0123456789"})
	ep, err := azuredevops.NewEndpoint(sim.URL(), "DefaultCollection")
	if err != nil {
		t.Fatal(err)
	}
	return azuredevops.New(ep, azuredevops.Credential{PAT: connections.Secret("full-pat-0123456789")}, azuredevops.Options{Door: azuredevops.LoopbackDoor})
}
