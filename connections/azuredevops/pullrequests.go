package azuredevops

import (
	"context"
	"strconv"

	"github.com/repoconnect/repoconnect/connections"
)

// PullRequest is what a build needs of a pull request (GitPullRequest in
// vsts-rest-api-specs specification/git/7.1/git.json): its id, status ("active", "completed",
// "abandoned"), title, full source and target ref names, the commits of the last merge
// (SourceCommit = lastMergeSourceCommit, TargetCommit = lastMergeTargetCommit, MergeCommit =
// lastMergeCommit, "" while the merge is pending or conflicting), MergeStatus ("succeeded",
// "conflicts", "queued", ...) and MergeRef, the ref to fetch the merge commit from
// (refs/pull/{id}/merge, learn.microsoft.com/azure/devops/pipelines/repos/azure-repos-git).
type PullRequest struct {
	ID                                      int
	Status, Title                           string
	SourceRef, TargetRef                    string
	SourceCommit, TargetCommit, MergeCommit string
	MergeStatus                             string
	MergeRef                                string
}

// Iteration is a pull request iteration (GitPullRequestIteration): one per push to the source
// branch, ids from 1; SourceCommit, TargetCommit and CommonCommit (the merge base) as the
// iteration saw them.
type Iteration struct {
	ID                                       int
	SourceCommit, TargetCommit, CommonCommit string
}

type wireCommitRef struct {
	CommitID wireText `json:"commitId"`
}

// wirePullRequest is the part of GitPullRequest the client reads.
type wirePullRequest struct {
	PullRequestID         wireInt       `json:"pullRequestId"`
	Status                prStatus      `json:"status"`
	Title                 wireText      `json:"title"`
	SourceRefName         wireText      `json:"sourceRefName"`
	TargetRefName         wireText      `json:"targetRefName"`
	MergeStatus           mergeStatus   `json:"mergeStatus"`
	LastMergeSourceCommit wireCommitRef `json:"lastMergeSourceCommit"`
	LastMergeTargetCommit wireCommitRef `json:"lastMergeTargetCommit"`
	LastMergeCommit       wireCommitRef `json:"lastMergeCommit"`
}

// prStatus is PullRequestStatus (notSet 0, active 1, abandoned 2, completed 3, all 4).
type prStatus string

func (s *prStatus) UnmarshalJSON(b []byte) error {
	*s = prStatus(readEnum(b, map[int64]string{0: "notSet", 1: "active", 2: "abandoned", 3: "completed", 4: "all"}))
	return nil
}

// mergeStatus is PullRequestAsyncStatus (notSet 0, queued 1, conflicts 2, succeeded 3,
// rejectedByPolicy 4, failure 5).
type mergeStatus string

func (s *mergeStatus) UnmarshalJSON(b []byte) error {
	*s = mergeStatus(readEnum(b, map[int64]string{0: "notSet", 1: "queued", 2: "conflicts", 3: "succeeded", 4: "rejectedByPolicy", 5: "failure"}))
	return nil
}

// GetPullRequest reads pull request prID of repository repoID in project: GET
// {collection}/{project}/_apis/git/repositories/{repoID}/pullRequests/{prID} (Pull
// Requests_Get Pull Request; scope vso.code). Errors: ErrInvalidInput for prID below 1,
// ErrNotFound for an unknown pull request (TF401180) or repository, else as every call.
func (c *Client) GetPullRequest(ctx context.Context, project, repoID string, prID int) (*PullRequest, error) {
	if prID < 1 {
		return nil, invalid("pullRequestId", "a pull request id is a positive number")
	}
	var w wirePullRequest
	if _, err := c.get(ctx, repoPath(project, repoID)+"/pullRequests/"+strconv.Itoa(prID), apiQuery(), lenient(&w)); err != nil {
		return nil, err
	}
	id := int(w.PullRequestID)
	return &PullRequest{ID: id, Status: string(w.Status), Title: string(w.Title), SourceRef: string(w.SourceRefName),
		TargetRef: string(w.TargetRefName), SourceCommit: string(w.LastMergeSourceCommit.CommitID),
		TargetCommit: string(w.LastMergeTargetCommit.CommitID), MergeCommit: string(w.LastMergeCommit.CommitID),
		MergeStatus: string(w.MergeStatus), MergeRef: "refs/pull/" + strconv.Itoa(id) + "/merge"}, nil
}

// wireIteration is the part of GitPullRequestIteration the client reads.
type wireIteration struct {
	ID              wireInt       `json:"id"`
	SourceRefCommit wireCommitRef `json:"sourceRefCommit"`
	TargetRefCommit wireCommitRef `json:"targetRefCommit"`
	CommonRefCommit wireCommitRef `json:"commonRefCommit"`
}

// LatestIteration returns the newest iteration of pull request prID (the highest id): GET
// .../pullRequests/{prID}/iterations (Pull Request Iterations_List; scope vso.code), the
// iteration a pull request status is posted on. Errors: ErrNotFound when the pull request
// has no iteration (or is unknown), else as GetPullRequest.
func (c *Client) LatestIteration(ctx context.Context, project, repoID string, prID int) (*Iteration, error) {
	if prID < 1 {
		return nil, invalid("pullRequestId", "a pull request id is a positive number")
	}
	var l wireList[wireIteration]
	if _, err := c.get(ctx, repoPath(project, repoID)+"/pullRequests/"+strconv.Itoa(prID)+"/iterations", apiQuery(), lenient(&l)); err != nil {
		return nil, err
	}
	var best *wireIteration
	for i := range l.Value {
		if best == nil || l.Value[i].ID > best.ID {
			best = &l.Value[i]
		}
	}
	if best == nil || best.ID < 1 {
		return nil, notFound("pull request %d has no iteration", prID)
	}
	return &Iteration{ID: int(best.ID), SourceCommit: string(best.SourceRefCommit.CommitID),
		TargetCommit: string(best.TargetRefCommit.CommitID), CommonCommit: string(best.CommonRefCommit.CommitID)}, nil
}

func notFound(format string, args ...any) error {
	return connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, format, args...)
}
