package azuredevops

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// StatusStates are the states a commit or pull request status may take (GitStatusState in
// vsts-rest-api-specs specification/git/7.1/git.json; docs/azure-devops-protocol.md §5).
var StatusStates = []string{"notSet", "pending", "succeeded", "failed", "error", "notApplicable"}

// Status is a commit or pull request status to post. State is one of StatusStates; ContextName
// (required) and ContextGenre identify the status, so that a later post with the same context
// supersedes it in Azure DevOps' display (e.g. genre "repoconnect", name the build profile);
// TargetURL is the link shown with it (the run's page); Description is one line of text.
type Status struct {
	State, Description, TargetURL string
	ContextName, ContextGenre     string
}

// PostedStatus is a status as Azure DevOps stored it: its id, the state, the context and
// when it was created (UTC). IterationID is the pull request iteration (0 for a commit status
// or a pull request status without an iteration).
type PostedStatus struct {
	ID          int
	State       string
	ContextName string
	Genre       string
	IterationID int
	CreatedAt   time.Time
}

// wireStatus is GitStatus / GitPullRequestStatus (git/7.1/git.json).
type wireStatus struct {
	ID      wireInt     `json:"id"`
	State   statusState `json:"state"`
	Context struct {
		Name  wireText `json:"name"`
		Genre wireText `json:"genre"`
	} `json:"context"`
	IterationID  wireInt  `json:"iterationId"`
	CreationDate wireText `json:"creationDate"`
}

func (w wireStatus) toPosted() *PostedStatus {
	t, _ := time.Parse(time.RFC3339Nano, string(w.CreationDate))
	return &PostedStatus{ID: int(w.ID), State: string(w.State),
		ContextName: string(w.Context.Name), Genre: string(w.Context.Genre), IterationID: int(w.IterationID), CreatedAt: t.UTC()}
}

// statusState is a GitStatusState read from its name or its number.
type statusState string

func (s *statusState) UnmarshalJSON(b []byte) error {
	*s = statusState(readEnum(b, statusStateNumbers))
	return nil
}

// statusStateNumbers maps GitStatusState's numbers to names, for answers that send numbers.
var statusStateNumbers = map[int64]string{0: "notSet", 1: "pending", 2: "succeeded", 3: "failed", 4: "error", 5: "notApplicable"}

var commitID = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

// statusBody validates st and returns the JSON body of a status post.
func statusBody(st Status, iterationID int) (map[string]any, error) {
	ok := false
	for _, s := range StatusStates {
		ok = ok || s == st.State
	}
	if !ok {
		return nil, invalid("state", "the status state %q is not one of notSet, pending, succeeded, failed, error, notApplicable", st.State)
	}
	if st.ContextName == "" {
		return nil, invalid("context", "a status needs a context name")
	}
	ctxJSON := map[string]string{"name": st.ContextName}
	if st.ContextGenre != "" {
		ctxJSON["genre"] = st.ContextGenre
	}
	b := map[string]any{"state": st.State, "context": ctxJSON}
	if st.Description != "" {
		b["description"] = st.Description
	}
	if st.TargetURL != "" {
		b["targetUrl"] = st.TargetURL
	}
	if iterationID > 0 {
		b["iterationId"] = iterationID
	}
	return b, nil
}

// repoPath is {project}/_apis/git/repositories/{repoID}, escaped.
func repoPath(project, repoID string) string {
	return url.PathEscape(project) + "/_apis/git/repositories/" + url.PathEscape(repoID)
}

// PostCommitStatus posts st to commit sha (40 hex digits) of repository repoID in project
// (name or id): POST {collection}/{project}/_apis/git/repositories/{repoID}/commits/{sha}/statuses
// (Statuses_Create in git/7.1/git.json; scope vso.code_status or vso.code_write). Errors:
// ErrInvalidInput for a bad sha, state or missing context; otherwise as every call
// (ErrUnauthorized for a credential without the scope, ErrNotFound for an unknown commit or
// repository, ErrRateLimited, ErrUpstreamUnavailable-style transport errors, ErrProtocol).
func (c *Client) PostCommitStatus(ctx context.Context, project, repoID, sha string, st Status) (*PostedStatus, error) {
	if !commitID.MatchString(sha) {
		return nil, invalid("commit", "a commit id is 40 hexadecimal digits")
	}
	body, err := statusBody(st, 0)
	if err != nil {
		return nil, err
	}
	var w wireStatus
	if _, err := c.send(ctx, "POST", repoPath(project, repoID)+"/commits/"+sha+"/statuses", apiQuery(), body, lenient(&w)); err != nil {
		return nil, err
	}
	return w.toPosted(), nil
}

// PostPullRequestStatus posts st to pull request prID, on iteration iterationID (from
// LatestIteration; 0 = the pull request without an iteration): POST
// .../repositories/{repoID}/pullRequests/{prID}/statuses (Pull Request Statuses_Create in
// git/7.1/git.json, api-version 6.0-preview.1; scope vso.code_status). Errors as
// PostCommitStatus; ErrInvalidInput for a prID below 1.
func (c *Client) PostPullRequestStatus(ctx context.Context, project, repoID string, prID, iterationID int, st Status) (*PostedStatus, error) {
	if prID < 1 || iterationID < 0 {
		return nil, invalid("pullRequestId", "a pull request id is a positive number")
	}
	body, err := statusBody(st, iterationID)
	if err != nil {
		return nil, err
	}
	var w wireStatus
	path := repoPath(project, repoID) + "/pullRequests/" + strconv.Itoa(prID) + "/statuses"
	if _, err := c.send(ctx, "POST", path, previewQuery(), body, lenient(&w)); err != nil {
		return nil, err
	}
	return w.toPosted(), nil
}
