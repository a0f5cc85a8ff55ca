package azdosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// maxWriteBody bounds the JSON body of a REST write (POST/PATCH) the simulator reads.
const maxWriteBody = 1 << 20

// readBody decodes the JSON body of a write into v. Errors: 400 for a body that is not JSON
// of the expected shape or larger than maxWriteBody (text unconfirmed).
func readBody(w http.ResponseWriter, r *http.Request, v any) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWriteBody))
	if err != nil {
		return errBadArgument("The request body could not be read: " + err.Error())
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errBadArgument("The request body is not valid: " + err.Error())
	}
	return nil
}

// prIteration is one iteration of a pull request: a push to its source branch (or its
// creation), as GitPullRequestIteration (git/7.1/git.json) names them.
type prIteration struct {
	id                                 int
	sourceCommit, targetCommit, common string
	created                            time.Time
}

// mergeRefOf is the ref of a pull request's merge commit, refs/pull/{id}/merge, the ref Azure
// DevOps builds pull requests from (learn.microsoft.com/azure/devops/pipelines/repos/azure-repos-git,
// "Pull request validation": Build.SourceBranch refs/pull/{id}/merge).
func mergeRefOf(pr *pullRequest) string { return "refs/pull/" + strconv.Itoa(pr.id) + "/merge" }

// mergeIDOf is the pull request's mergeId (a GUID per merge attempt in the real service; here
// one stable id per pull request).
func mergeIDOf(pr *pullRequest) string {
	return deterministicID("pr-merge", pr.repo.id, strconv.Itoa(pr.id))
}

// remerge reads the pull request's branch tips, records them as lastMergeSourceCommit and
// lastMergeTargetCommit, adds an iteration when forceIteration or the source commit moved,
// and makes the merge commit of source into target with real git (merge-tree --write-tree,
// commit-tree: parents target then source), pointing refs/pull/{id}/merge at it. A conflict
// sets mergeStatus "conflicts", clears lastMergeCommit and deletes the merge ref, as the real
// service leaves no merge commit then (GitPullRequest.mergeStatus, git/7.1/git.json). It
// returns whether anything changed. Called with s.mu not held.
func (s *Server) remerge(pr *pullRequest, forceIteration bool) bool {
	pr.gitMu.Lock()
	defer pr.gitMu.Unlock()
	dir := pr.repo.barePath
	src, err1 := revParse(dir, pr.sourceRef)
	tgt, err2 := revParse(dir, pr.targetRef)
	if err1 != nil || err2 != nil {
		return false // a branch is gone: keep the last known state
	}
	s.mu.Lock()
	same := !forceIteration && src == pr.sourceCommit && tgt == pr.tgCommit && pr.mergeStatus != ""
	title, who := pr.title, pr.createdBy
	s.mu.Unlock()
	if same {
		return false
	}
	common, _ := git(dir, nil, nil, "merge-base", tgt, src)
	common = strings.TrimSpace(common)
	merge, conflict, err := mergeCommit(dir, tgt, src,
		fmt.Sprintf("Merge pull request %d from %s into %s\n\n%s", pr.id, strings.TrimPrefix(pr.sourceRef, "refs/heads/"),
			strings.TrimPrefix(pr.targetRef, "refs/heads/"), title), who)
	status := "succeeded"
	switch {
	case err != nil:
		status, merge = "failure", ""
	case conflict:
		status = "conflicts"
	}
	if merge != "" {
		_, _ = git(dir, nil, nil, "update-ref", mergeRefOf(pr), merge)
	} else {
		_, _ = git(dir, nil, nil, "update-ref", "-d", mergeRefOf(pr))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	moved := len(pr.iterations) == 0 || pr.iterations[len(pr.iterations)-1].sourceCommit != src
	if forceIteration || moved {
		pr.iterations = append(pr.iterations, prIteration{id: len(pr.iterations) + 1, sourceCommit: src, targetCommit: tgt,
			common: common, created: time.Now().UTC().Truncate(time.Millisecond)})
	}
	pr.sourceCommit, pr.tgCommit, pr.mergeCommit, pr.mergeStatus = src, tgt, merge, status
	return true
}

// revParse resolves ref to a commit id in gitDir.
func revParse(gitDir, ref string) (string, error) {
	out, err := git(gitDir, nil, nil, "rev-parse", "-q", "--verify", ref+"^{commit}")
	return strings.TrimSpace(out), err
}

// mergeCommit merges theirs into ours in the bare repository gitDir without a work tree and
// returns the new commit (parents ours, theirs), or conflict true and no commit. It needs git
// 2.38 or later (merge-tree --write-tree exits 1 on conflicts).
func mergeCommit(gitDir, ours, theirs, message string, who identity) (string, bool, error) {
	cmd := exec.Command("git", "--git-dir", gitDir, "merge-tree", "--write-tree", "--no-messages", ours, theirs)
	cmd.Env = gitEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return "", true, nil
		}
		return "", false, fmt.Errorf("azdosim: git merge-tree: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	tree := strings.TrimSpace(strings.SplitN(out.String(), "\n", 2)[0])
	email := who.UniqueName
	if !strings.Contains(email, "@") {
		email += "@azdosim.invalid"
	}
	env := []string{"GIT_AUTHOR_NAME=" + who.DisplayName, "GIT_AUTHOR_EMAIL=" + email,
		"GIT_COMMITTER_NAME=" + who.DisplayName, "GIT_COMMITTER_EMAIL=" + email}
	commit, err := git(gitDir, []byte(message), env, "commit-tree", tree, "-p", ours, "-p", theirs)
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(commit), false, nil
}

// findPullRequest returns pull request id of c when it belongs to rp, else nil.
func (s *Server) findPullRequest(c *collection, rp *repo, id int) *pullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id >= 1 && id <= len(c.pullRequests) && (rp == nil || c.pullRequests[id-1].repo == rp) {
		return c.pullRequests[id-1]
	}
	return nil
}

// pullRequestCreateJSON is the body of POST .../pullrequests (GitPullRequest, the fields the
// simulator takes).
type pullRequestCreateJSON struct {
	SourceRefName string `json:"sourceRefName"`
	TargetRefName string `json:"targetRefName"`
	Title         string `json:"title"`
	Description   string `json:"description"`
}

// servePullRequestCreate answers POST .../repositories/{id}/pullrequests: 201 with the new
// pull request. Errors: 400 TF401398 for a missing branch (status and text captured in
// mburumaxwell/paklo#1365), 400 for source equal to target, TF401179 when an active pull
// request already joins the two branches (text captured in Azure/azure-cli#29914; the status,
// 409 here, is unconfirmed).
func (s *Server) servePullRequestCreate(w http.ResponseWriter, r *http.Request, rc restCaller, rp *repo) {
	var in pullRequestCreateJSON
	if e := readBody(w, r, &in); e != nil {
		writeAPIError(w, e)
		return
	}
	src, tgt := fullBranch(in.SourceRefName), fullBranch(in.TargetRefName)
	id, err := s.createPullRequest(rc.coll, rp, src, tgt, in.Title, in.Description, rc.id)
	if errors.Is(err, errDuplicatePullRequest) {
		writeAPIError(w, newAPIError(http.StatusConflict, "GitPullRequestExistsException",
			"Microsoft.TeamFoundation.Git.Server.GitPullRequestExistsException", err.Error()))
		return
	}
	if err != nil {
		writeAPIError(w, errBadArgument(err.Error()))
		return
	}
	pr := s.findPullRequest(rc.coll, rp, id)
	writeJSON(w, http.StatusCreated, s.pullRequestView(rc, pr, true))
}

// errDuplicatePullRequest: an active pull request already joins the two branches.
var errDuplicatePullRequest = errors.New("TF401179: An active pull request for the source and target branch already exists.")

// createPullRequest is CreatePullRequest with a description and a creator. Errors: missing
// or equal branches, errDuplicatePullRequest.
func (s *Server) createPullRequest(c *collection, rp *repo, src, tgt, title, description string, who identity) (int, error) {
	if in := strings.TrimSpace(src); in == "" || in == "refs/heads/" || tgt == "" || tgt == "refs/heads/" {
		return 0, fmt.Errorf("sourceRefName and targetRefName are required")
	}
	if src == tgt {
		return 0, fmt.Errorf("the source and target branch are both %s", src)
	}
	srcCommit, err1 := revParse(rp.barePath, src)
	tgtCommit, err2 := revParse(rp.barePath, tgt)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches")
	}
	s.mu.Lock()
	for _, other := range c.pullRequests {
		if other.repo == rp && other.status == "active" && other.sourceRef == src && other.targetRef == tgt {
			s.mu.Unlock()
			return 0, errDuplicatePullRequest
		}
	}
	pr := &pullRequest{id: len(c.pullRequests) + 1, repo: rp, sourceRef: src, targetRef: tgt, title: title, description: description,
		status: "active", createdBy: who, created: time.Now().UTC().Truncate(time.Millisecond),
		sourceCommit: srcCommit, tgCommit: tgtCommit}
	c.pullRequests = append(c.pullRequests, pr)
	s.mu.Unlock()
	s.remerge(pr, true)
	s.onPullRequest("git.pullrequest.created", c, pr.id)
	return pr.id, nil
}

// pullRequestPatchJSON is the body of PATCH .../pullrequests/{id}: the fields the simulator
// changes (GitPullRequest in git/7.1/git.json; the SDK sends only the fields set).
type pullRequestPatchJSON struct {
	Status                *string `json:"status"`
	Title                 *string `json:"title"`
	Description           *string `json:"description"`
	LastMergeSourceCommit *struct {
		CommitID string `json:"commitId"`
	} `json:"lastMergeSourceCommit"`
}

// servePullRequestPatch answers PATCH .../repositories/{id}/pullrequests/{n}: 200 with the
// pull request after the change. See UpdatePullRequest for what each field does.
func (s *Server) servePullRequestPatch(w http.ResponseWriter, r *http.Request, rc restCaller, rp *repo, rawID string) {
	pr := s.pullRequestByRawID(rc, rp, rawID)
	if pr == nil {
		writeAPIError(w, errPullRequestNotFound())
		return
	}
	var in pullRequestPatchJSON
	if e := readBody(w, r, &in); e != nil {
		writeAPIError(w, e)
		return
	}
	u := PullRequestUpdate{Title: in.Title, Description: in.Description}
	if in.Status != nil {
		u.Status = *in.Status
	}
	if in.LastMergeSourceCommit != nil {
		u.LastMergeSourceCommit = in.LastMergeSourceCommit.CommitID
	}
	if e := s.updatePullRequest(rc.coll, pr, u, rc.id); e != nil {
		writeAPIError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, s.pullRequestView(rc, pr, true))
}

// PullRequestUpdate is a change to a pull request (UpdatePullRequest): nil and "" fields are
// left alone.
type PullRequestUpdate struct {
	// Status is "completed" (merge into the target branch), "abandoned", or "active" (reopen
	// an abandoned pull request).
	Status string
	// Title and Description replace the pull request's when not nil.
	Title, Description *string
	// LastMergeSourceCommit, when set on completion, must equal the pull request's current
	// lastMergeSourceCommit: the real service refuses to complete a pull request whose source
	// moved since the caller looked (git/7.1/git.json, Pull Requests_Update: "to complete,
	// set status to completed and lastMergeSourceCommit").
	LastMergeSourceCommit string
}

// UpdatePullRequest changes pull request prID of collection ("" = default) as u says, as the
// PATCH resource does. Completing merges: the target branch moves to the merge commit
// (refs/pull/{id}/merge) with real git, the pull request becomes completed with closedDate,
// and the events git.pullrequest.merged then a git.push of the target branch are announced
// (onPullRequest, onPush). Abandoning and reopening announce git.pullrequest.updated, as does a
// new title or description. Errors: an unknown collection or id, a completion of a pull
// request that is not active, conflicting, or whose lastMergeSourceCommit is stale.
func (s *Server) UpdatePullRequest(collection string, prID int, u PullRequestUpdate) error {
	s.mu.Lock()
	c, err := s.collectionLocked(collection)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	pr := s.findPullRequest(c, nil, prID)
	if pr == nil {
		return fmt.Errorf("azdosim: unknown pull request %d", prID)
	}
	if e := s.updatePullRequest(c, pr, u, identityOf(pullRequestCreator)); e != nil {
		return fmt.Errorf("azdosim: %s", e.message)
	}
	return nil
}

// CompletePullRequest completes (merges) pull request prID: UpdatePullRequest with status
// "completed".
func (s *Server) CompletePullRequest(collection string, prID int) error {
	return s.UpdatePullRequest(collection, prID, PullRequestUpdate{Status: "completed"})
}

// AbandonPullRequest abandons pull request prID: UpdatePullRequest with status "abandoned".
func (s *Server) AbandonPullRequest(collection string, prID int) error {
	return s.UpdatePullRequest(collection, prID, PullRequestUpdate{Status: "abandoned"})
}

func errPullRequestState(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidArgumentValueException",
		"Microsoft.TeamFoundation.Core.WebApi.InvalidArgumentValueException", msg)
}

// updatePullRequest applies u to pr on behalf of who; s.mu not held.
func (s *Server) updatePullRequest(c *collection, pr *pullRequest, u PullRequestUpdate, who identity) *apiError {
	s.mu.Lock()
	changed := false
	if u.Title != nil && *u.Title != pr.title {
		pr.title, changed = *u.Title, true
	}
	if u.Description != nil && *u.Description != pr.description {
		pr.description, changed = *u.Description, true
	}
	cur := pr.status
	s.mu.Unlock()
	switch strings.ToLower(u.Status) {
	case "", strings.ToLower(cur):
	case "completed":
		if cur != "active" {
			return errPullRequestState("The pull request is " + cur + " and cannot be completed.")
		}
		return s.completePullRequest(c, pr, u.LastMergeSourceCommit, who)
	case "abandoned":
		if cur != "active" {
			return errPullRequestState("The pull request is " + cur + " and cannot be abandoned.")
		}
		s.mu.Lock()
		pr.status, pr.closed = "abandoned", time.Now().UTC().Truncate(time.Millisecond)
		s.mu.Unlock()
		changed = true
	case "active":
		if cur != "abandoned" {
			return errPullRequestState("The pull request is " + cur + " and cannot be reactivated.")
		}
		s.mu.Lock()
		pr.status, pr.closed = "active", time.Time{}
		s.mu.Unlock()
		s.remerge(pr, false)
		changed = true
	default:
		return errBadArgument("The value '" + u.Status + "' of status is not valid.")
	}
	if changed {
		s.onPullRequest("git.pullrequest.updated", c, pr.id)
	}
	return nil
}

// completePullRequest merges pr: the merge commit is refreshed first (the target may have
// moved), then the target branch moves to it with a compare-and-swap update-ref.
func (s *Server) completePullRequest(c *collection, pr *pullRequest, expectSource string, who identity) *apiError {
	s.remerge(pr, false)
	pr.gitMu.Lock()
	s.mu.Lock()
	merge, status, src, tgt := pr.mergeCommit, pr.mergeStatus, pr.sourceCommit, pr.tgCommit
	s.mu.Unlock()
	if expectSource != "" && !strings.EqualFold(expectSource, src) {
		pr.gitMu.Unlock()
		return newAPIError(http.StatusConflict, "GitPullRequestStaleException",
			"Microsoft.TeamFoundation.Git.Server.GitPullRequestStaleException",
			"TF401192: The pull request's source branch moved since lastMergeSourceCommit "+expectSource+".")
	}
	if merge == "" {
		pr.gitMu.Unlock()
		return newAPIError(http.StatusConflict, "GitPullRequestCannotBeCompletedException",
			"Microsoft.TeamFoundation.Git.Server.GitPullRequestCannotBeCompletedException",
			"The pull request cannot be completed: its merge status is "+status+".")
	}
	_, err := git(pr.repo.barePath, nil, nil, "update-ref", pr.targetRef, merge, tgt)
	if err == nil {
		s.mu.Lock()
		pr.status, pr.closed = "completed", time.Now().UTC().Truncate(time.Millisecond)
		s.mu.Unlock()
	}
	pr.gitMu.Unlock()
	if err != nil {
		return newAPIError(http.StatusConflict, "GitPullRequestCannotBeCompletedException",
			"Microsoft.TeamFoundation.Git.Server.GitPullRequestCannotBeCompletedException",
			"The pull request cannot be completed: the target branch moved; retry.")
	}
	s.onPullRequest("git.pullrequest.merged", c, pr.id)
	s.onPush(c, pr.repo, who, []refUpdate{{Name: pr.targetRef, OldObjectID: tgt, NewObjectID: merge}})
	return nil
}
