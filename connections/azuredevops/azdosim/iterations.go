package azdosim

import (
	"net/http"
	"strconv"
	"time"
)

// iterationJSON is GitPullRequestIteration on the wire, shaped like
// git/7.1/httpExamples/pullRequestIterations/GET_git_pullRequestIterations.json (the fields
// the simulator knows).
type iterationJSON struct {
	ID              int               `json:"id"`
	Description     string            `json:"description,omitempty"`
	Author          identityLinkJSON  `json:"author"`
	CreatedDate     time.Time         `json:"createdDate"`
	UpdatedDate     time.Time         `json:"updatedDate"`
	SourceRefCommit commitRefLinkJSON `json:"sourceRefCommit"`
	TargetRefCommit commitRefLinkJSON `json:"targetRefCommit"`
	CommonRefCommit commitRefLinkJSON `json:"commonRefCommit"`
	HasMoreCommits  bool              `json:"hasMoreCommits"`
	Reason          string            `json:"reason"`
}

// serveIterations answers GET .../pullRequests/{n}/iterations[/{it}] (scope vso.code): one
// iteration per push to the source branch, the first made at creation (reason "create", then
// "push"), ids 1..n, with sourceRefCommit, targetRefCommit and commonRefCommit (the merge
// base). Errors: 404 for an unknown iteration (text unconfirmed).
func (s *Server) serveIterations(w http.ResponseWriter, rc restCaller, pr *pullRequest, tail []string) {
	api := rc.urls.repoAPI(rc.coll.name, pr.repo.proj.id, pr.repo.id)
	ref := func(sha string) commitRefLinkJSON {
		return commitRefLinkJSON{CommitID: sha, URL: api + "/commits/" + sha}
	}
	who := rc.urls.collection(rc.coll.name) + "/_apis/Identities/" + pr.createdBy.ID
	s.mu.Lock()
	its := append([]prIteration(nil), pr.iterations...)
	s.mu.Unlock()
	out := make([]iterationJSON, 0, len(its))
	for _, it := range its {
		reason := "push"
		if it.id == 1 {
			reason = "create"
		}
		out = append(out, iterationJSON{ID: it.id, Description: pr.title,
			Author: identityLinkJSON{ID: pr.createdBy.ID, DisplayName: pr.createdBy.DisplayName, UniqueName: pr.createdBy.UniqueName, URL: who,
				ImageURL: rc.urls.collection(rc.coll.name) + "/_api/_common/identityImage?id=" + pr.createdBy.ID},
			CreatedDate: it.created, UpdatedDate: it.created, SourceRefCommit: ref(it.sourceCommit),
			TargetRefCommit: ref(it.targetCommit), CommonRefCommit: ref(it.common), Reason: reason})
	}
	if len(tail) == 0 {
		writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
		return
	}
	n, err := strconv.Atoi(tail[0])
	if err != nil || n < 1 || n > len(out) {
		writeAPIError(w, newAPIError(http.StatusNotFound, "GitPullRequestIterationNotFoundException",
			"Microsoft.TeamFoundation.Git.Server.GitPullRequestIterationNotFoundException",
			"The pull request iteration "+tail[0]+" was not found."))
		return
	}
	writeJSON(w, http.StatusOK, out[n-1])
}
