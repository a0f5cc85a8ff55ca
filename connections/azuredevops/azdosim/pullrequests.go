package azdosim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pullRequest is the simulator's in-memory pull request: created by CreatePullRequest, read
// through the pullRequests resources. Fields other than status are fixed at creation.
type pullRequest struct {
	id                     int
	repo                   *repo
	sourceRef, targetRef   string // full ref names
	title, description     string
	status                 string // "active", "completed" or "abandoned"
	createdBy              identity
	created                time.Time
	sourceCommit, tgCommit string // lastMergeSourceCommit, lastMergeTargetCommit
	mergeCommit            string // lastMergeCommit; "" while conflicting
	mergeStatus            string // "succeeded" or "conflicts"
	closed                 time.Time
	iterations             []prIteration
	statuses               []*gitStatus
	threads                []*prThread
	// gitMu serializes the git work on this pull request's merge ref (prwrite.go).
	gitMu sync.Mutex
}

// pullRequestCreator is the identity shown as createdBy of seeded pull requests (the demo
// data's author).
var pullRequestCreator = PAT{UserName: "Demo User"}

// CreatePullRequest opens an active pull request in repository repoID of collection ("" =
// default) from branch source into branch target (short names like "feature/x" or full
// "refs/heads/feature/x") with title, and returns its id (1, 2, ... per collection, as pull
// request ids are numbered per organization). Both branches must exist; their current commits
// become lastMergeSourceCommit and lastMergeTargetCommit, iteration 1 is recorded, the merge
// ref refs/pull/{id}/merge is made (see remerge) and git.pullrequest.created is announced
// (onPullRequest). Errors: unknown collection or
// repository id, a missing branch, source equal to target, an active pull request already
// joining the two branches (TF401179, as the real service refuses it).
func (s *Server) CreatePullRequest(collection, repoID, source, target, title string) (int, error) {
	s.mu.Lock()
	c, err := s.collectionLocked(collection)
	var rp *repo
	if err == nil {
		rp = c.findRepoByIDLocked(repoID)
	}
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if rp == nil {
		return 0, fmt.Errorf("azdosim: unknown repository id %q", repoID)
	}
	id, err := s.createPullRequest(c, rp, fullBranch(source), fullBranch(target), title, "", identityOf(pullRequestCreator))
	if err != nil {
		return 0, fmt.Errorf("azdosim: %w", err)
	}
	return id, nil
}

func fullBranch(name string) string {
	if strings.HasPrefix(name, "refs/") {
		return name
	}
	return "refs/heads/" + name
}

// findRepoByIDLocked finds a repository by id; the caller holds s.mu.
func (c *collection) findRepoByIDLocked(id string) *repo {
	for _, p := range c.projects {
		for _, r := range p.repos {
			if strings.EqualFold(r.id, id) {
				return r
			}
		}
	}
	return nil
}

// commitRefLinkJSON is a commit named by a pull request.
type commitRefLinkJSON struct {
	CommitID string `json:"commitId"`
	URL      string `json:"url"`
}

// identityLinkJSON is an IdentityRef with its links.
type identityLinkJSON struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	UniqueName  string `json:"uniqueName"`
	URL         string `json:"url"`
	ImageURL    string `json:"imageUrl"`
}

// pullRequestJSON is a pull request, shaped like the spec's example
// (specification/git/7.1/httpExamples/pullRequests/GET__git_repositories__repositoryId__pullRequests__pullRequestId_.json).
type pullRequestJSON struct {
	Repository            repoJSON           `json:"repository"`
	PullRequestID         int                `json:"pullRequestId"`
	CodeReviewID          int                `json:"codeReviewId"`
	Status                string             `json:"status"`
	CreatedBy             identityLinkJSON   `json:"createdBy"`
	CreationDate          time.Time          `json:"creationDate"`
	Title                 string             `json:"title"`
	Description           string             `json:"description,omitempty"`
	SourceRefName         string             `json:"sourceRefName"`
	TargetRefName         string             `json:"targetRefName"`
	IsDraft               bool               `json:"isDraft"`
	LastMergeSourceCommit commitRefLinkJSON  `json:"lastMergeSourceCommit"`
	LastMergeTargetCommit commitRefLinkJSON  `json:"lastMergeTargetCommit"`
	LastMergeCommit       *commitRefLinkJSON `json:"lastMergeCommit,omitempty"`
	MergeStatus           string             `json:"mergeStatus,omitempty"`
	MergeID               string             `json:"mergeId,omitempty"`
	ClosedDate            *time.Time         `json:"closedDate,omitempty"`
	Reviewers             []any              `json:"reviewers"`
	URL                   string             `json:"url"`
	SupportsIterations    bool               `json:"supportsIterations"`
	ArtifactID            string             `json:"artifactId"`
	Links                 linksJSON          `json:"_links,omitempty"`
}

// pullRequestView renders pr; withLinks adds _links as the single-pull-request answer has.
func (s *Server) pullRequestView(rc restCaller, pr *pullRequest, withLinks bool) pullRequestJSON {
	api := rc.urls.repoAPI(rc.coll.name, pr.repo.proj.id, pr.repo.id)
	self := api + "/pullRequests/" + strconv.Itoa(pr.id)
	who := rc.urls.collection(rc.coll.name) + "/_apis/Identities/" + pr.createdBy.ID
	s.mu.Lock()
	status, title, description := pr.status, pr.title, pr.description
	srcCommit, tgtCommit, mergeCommit, mergeStatus, closed := pr.sourceCommit, pr.tgCommit, pr.mergeCommit, pr.mergeStatus, pr.closed
	s.mu.Unlock()
	pj := pullRequestJSON{
		Repository:    s.repoView(rc.urls, rc.coll, pr.repo, false),
		PullRequestID: pr.id,
		CodeReviewID:  pr.id,
		Status:        status,
		CreatedBy: identityLinkJSON{ID: pr.createdBy.ID, DisplayName: pr.createdBy.DisplayName, UniqueName: pr.createdBy.UniqueName,
			URL: who, ImageURL: rc.urls.collection(rc.coll.name) + "/_api/_common/identityImage?id=" + pr.createdBy.ID},
		CreationDate:          pr.created,
		Title:                 title,
		Description:           description,
		MergeStatus:           mergeStatus,
		MergeID:               mergeIDOf(pr),
		SourceRefName:         pr.sourceRef,
		TargetRefName:         pr.targetRef,
		LastMergeSourceCommit: commitRefLinkJSON{CommitID: srcCommit, URL: api + "/commits/" + srcCommit},
		LastMergeTargetCommit: commitRefLinkJSON{CommitID: tgtCommit, URL: api + "/commits/" + tgtCommit},
		Reviewers:             []any{},
		URL:                   self,
		SupportsIterations:    true,
		ArtifactID:            "vstfs:///Git/PullRequestId/" + pr.repo.proj.id + "%2f" + pr.repo.id + "%2f" + strconv.Itoa(pr.id),
	}
	if mergeCommit != "" {
		pj.LastMergeCommit = &commitRefLinkJSON{CommitID: mergeCommit, URL: api + "/commits/" + mergeCommit}
	}
	if !closed.IsZero() {
		pj.ClosedDate = &closed
	}
	if withLinks {
		pj.Links = linksJSON{
			"self":         {Href: self},
			"repository":   {Href: api},
			"sourceCommit": {Href: pj.LastMergeSourceCommit.URL},
			"targetCommit": {Href: pj.LastMergeTargetCommit.URL},
			"createdBy":    {Href: who},
		}
	}
	return pj
}

func errPullRequestNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "GitPullRequestNotFoundException",
		"Microsoft.TeamFoundation.Git.Server.GitPullRequestNotFoundException",
		"TF401180: The requested pull request was not found.")
}

// serveRepoPullRequests answers .../repositories/{id}/pullRequests[/{n}[/...]]: the list
// filtered by searchCriteria (see servePullRequestList), or one pull request of that
// repository; POST creates one, PATCH updates one (prwrite.go), and the resources under one
// pull request go to servePullRequestChild.
func (s *Server) serveRepoPullRequests(w http.ResponseWriter, r *http.Request, rc restCaller, rp *repo, tail []string) {
	switch {
	case len(tail) == 0 && r.Method == http.MethodPost:
		s.servePullRequestCreate(w, r, rc, rp)
		return
	case len(tail) == 1 && r.Method == http.MethodPatch:
		s.servePullRequestPatch(w, r, rc, rp, tail[0])
		return
	case len(tail) >= 2:
		s.servePullRequestChild(w, r, rc, rp, tail)
		return
	case r.Method != http.MethodGet:
		writeAPIError(w, errMethodNotAllowed(r.Method))
		return
	}
	if len(tail) == 1 {
		s.serveOnePullRequest(w, rc, tail[0], func(pr *pullRequest) bool { return pr.repo == rp })
		return
	}
	s.servePullRequestList(w, r, rc, func(pr *pullRequest) bool { return pr.repo == rp })
}

// serveProjectPullRequests answers {coll}[/{project}]/_apis/git/pullRequests[/{n}]: the pull
// requests of the project's repositories (of the whole collection without a project), or one
// pull request by id (GetPullRequestById). Errors: 404 TF200016 for an unknown project,
// TF401180 for an unknown id.
func (s *Server) serveProjectPullRequests(w http.ResponseWriter, r *http.Request, rc restCaller, projName string, tail []string) {
	var proj *project
	if projName != "" {
		s.mu.Lock()
		proj = rc.coll.findProject(projName)
		s.mu.Unlock()
		if proj == nil {
			writeAPIError(w, errProjectNotFound(projName))
			return
		}
	}
	in := func(pr *pullRequest) bool { return proj == nil || pr.repo.proj == proj }
	if len(tail) == 1 {
		s.serveOnePullRequest(w, rc, tail[0], in)
		return
	}
	s.servePullRequestList(w, r, rc, in)
}

func (s *Server) serveOnePullRequest(w http.ResponseWriter, rc restCaller, rawID string, in func(*pullRequest) bool) {
	id, err := strconv.Atoi(rawID)
	s.mu.Lock()
	var found *pullRequest
	if err == nil && id >= 1 && id <= len(rc.coll.pullRequests) && in(rc.coll.pullRequests[id-1]) {
		found = rc.coll.pullRequests[id-1]
	}
	s.mu.Unlock()
	if found == nil {
		writeAPIError(w, errPullRequestNotFound())
		return
	}
	writeJSON(w, http.StatusOK, s.pullRequestView(rc, found, true))
}

// servePullRequestList answers a pull request list, newest first: searchCriteria.status
// (active when unset or notSet, as git/7.1/git.json documents; completed, abandoned, all),
// searchCriteria.sourceRefName and targetRefName (full ref names),
// searchCriteria.repositoryId, then $skip and $top (without $top everything; the real default
// page size is unconfirmed). Errors: 400 for a bad $top / $skip or status.
func (s *Server) servePullRequestList(w http.ResponseWriter, r *http.Request, rc restCaller, in func(*pullRequest) bool) {
	q := r.URL.Query()
	top, e := nonNegativeParam(q.Get("$top"), "$top", 0)
	var skip int
	if e == nil {
		skip, e = nonNegativeParam(q.Get("$skip"), "$skip", 0)
	}
	status := strings.ToLower(q.Get("searchCriteria.status"))
	switch status {
	case "", "notset":
		status = "active"
	case "active", "completed", "abandoned", "all":
	default:
		if e == nil {
			e = errBadArgument("The value '" + q.Get("searchCriteria.status") + "' of parameter searchCriteria.status is not valid.")
		}
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	src, tgt, repoID := q.Get("searchCriteria.sourceRefName"), q.Get("searchCriteria.targetRefName"), q.Get("searchCriteria.repositoryId")
	s.mu.Lock()
	var picked []*pullRequest
	for _, pr := range rc.coll.pullRequests {
		if in(pr) && (status == "all" || pr.status == status) && (src == "" || pr.sourceRef == src) &&
			(tgt == "" || pr.targetRef == tgt) && (repoID == "" || strings.EqualFold(pr.repo.id, repoID)) {
			picked = append(picked, pr)
		}
	}
	s.mu.Unlock()
	sort.Slice(picked, func(i, j int) bool { return picked[i].id > picked[j].id })
	start := min(skip, len(picked))
	end := len(picked)
	if top > 0 {
		end = min(start+top, len(picked))
	}
	out := make([]pullRequestJSON, 0, end-start)
	for _, pr := range picked[start:end] {
		out = append(out, s.pullRequestView(rc, pr, false))
	}
	writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
}

// pullRequestByRawID is the pull request of rp whose id is the path segment raw, or nil (not
// a number, or no such pull request).
func (s *Server) pullRequestByRawID(rc restCaller, rp *repo, raw string) *pullRequest {
	id, err := strconv.Atoi(raw)
	if err != nil {
		return nil
	}
	return s.findPullRequest(rc.coll, rp, id)
}

// servePullRequestChild answers .../pullRequests/{n}/{iterations|statuses|threads}/...
// (tail starts with {n}). Errors: TF401180 for an unknown pull request.
func (s *Server) servePullRequestChild(w http.ResponseWriter, r *http.Request, rc restCaller, rp *repo, tail []string) {
	pr := s.pullRequestByRawID(rc, rp, tail[0])
	if pr == nil {
		writeAPIError(w, errPullRequestNotFound())
		return
	}
	sub := strings.ToLower(tail[1])
	switch {
	case sub == "statuses" && len(tail) <= 3:
		if len(tail) == 3 || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
			writeAPIError(w, errNotFound())
			return
		}
		s.servePullRequestStatuses(w, r, rc, pr, 0)
	case sub == "iterations" && len(tail) == 4 && strings.EqualFold(tail[3], "statuses"):
		it, err := strconv.Atoi(tail[2])
		if err != nil || it < 1 || r.Method == http.MethodPatch {
			writeAPIError(w, errNotFound())
			return
		}
		s.servePullRequestStatuses(w, r, rc, pr, it)
	case sub == "iterations" && len(tail) <= 3 && r.Method == http.MethodGet:
		s.serveIterations(w, rc, pr, tail[2:])
	case sub == "threads":
		s.serveThreads(w, r, rc, pr, tail[2:])
	default:
		writeAPIError(w, errNotFound())
	}
}
