package azdosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// gitStatus is a commit status or a pull request status (GitStatus / GitPullRequestStatus in
// git/7.1/git.json).
type gitStatus struct {
	id                        int
	state                     string // one of statusStates
	description, targetURL    string
	contextName, contextGenre string
	createdBy                 identity
	created                   time.Time
	iterationID               int // pull request statuses only; 0 = the pull request itself
}

// statusStates are GitStatusState's values in enum order (git/7.1/git.json: notSet 0,
// pending 1, succeeded 2, failed 3, error 4, notApplicable 5).
var statusStates = []string{"notSet", "pending", "succeeded", "failed", "error", "notApplicable"}

// Status is a posted commit or pull request status as the test helpers return it.
type Status struct {
	ID                        int
	State                     string // notSet, pending, succeeded, failed, error or notApplicable
	Description, TargetURL    string
	ContextName, ContextGenre string
	CreatedBy                 string // the poster's display name
	Created                   time.Time
	IterationID               int // pull request statuses: the iteration, 0 = none
}

func (g *gitStatus) export() Status {
	return Status{ID: g.id, State: g.state, Description: g.description, TargetURL: g.targetURL,
		ContextName: g.contextName, ContextGenre: g.contextGenre, CreatedBy: g.createdBy.DisplayName,
		Created: g.created, IterationID: g.iterationID}
}

// statusContextJSON is GitStatusContext.
type statusContextJSON struct {
	Name  string `json:"name"`
	Genre string `json:"genre,omitempty"`
}

// statusJSON is GitStatus / GitPullRequestStatus on the wire, shaped like the spec's examples
// (git/7.1/httpExamples/statuses/POST_git_statuses.json, pullRequestStatuses/POST_git_pullRequestStatuses_status.json).
type statusJSON struct {
	ID           int               `json:"id"`
	State        string            `json:"state"`
	Description  string            `json:"description,omitempty"`
	Context      statusContextJSON `json:"context"`
	CreationDate time.Time         `json:"creationDate"`
	UpdatedDate  time.Time         `json:"updatedDate"`
	CreatedBy    identityLinkJSON  `json:"createdBy"`
	TargetURL    string            `json:"targetUrl,omitempty"`
	IterationID  int               `json:"iterationId,omitempty"`
	Links        linksJSON         `json:"_links,omitempty"`
}

// statusInJSON is the body of a status POST. state is a name (any case) or the enum number.
type statusInJSON struct {
	State       json.RawMessage   `json:"state"`
	Description string            `json:"description"`
	TargetURL   string            `json:"targetUrl"`
	Context     statusContextJSON `json:"context"`
	IterationID int               `json:"iterationId"`
}

// parseStatusIn validates a status body: a known state and a context name (the real service
// requires context.name; text unconfirmed).
// readStatusIn reads and checks a posted status (readBody, parseStatusIn); on an error it has
// answered it and ok is false.
func readStatusIn(w http.ResponseWriter, r *http.Request) (in statusInJSON, state string, ok bool) {
	if e := readBody(w, r, &in); e != nil {
		writeAPIError(w, e)
		return in, "", false
	}
	state, e := parseStatusIn(in)
	if e != nil {
		writeAPIError(w, e)
		return in, "", false
	}
	return in, state, true
}

func parseStatusIn(in statusInJSON) (string, *apiError) {
	if strings.TrimSpace(in.Context.Name) == "" {
		return "", errBadArgument("The status context name is required.")
	}
	raw := strings.Trim(string(in.State), `"`)
	if raw == "" || raw == "null" {
		return "notSet", nil
	}
	if n, err := strconv.Atoi(raw); err == nil && n >= 0 && n < len(statusStates) {
		return statusStates[n], nil
	}
	for _, st := range statusStates {
		if strings.EqualFold(st, raw) {
			return st, nil
		}
	}
	return "", errBadArgument("The value '" + raw + "' of state is not valid.")
}

func (s *Server) statusView(rc restCaller, g *gitStatus, self, repoAPI string) statusJSON {
	who := rc.urls.collection(rc.coll.name) + "/_apis/Identities/" + g.createdBy.ID
	return statusJSON{ID: g.id, State: g.state, Description: g.description,
		Context: statusContextJSON{Name: g.contextName, Genre: g.contextGenre}, CreationDate: g.created, UpdatedDate: g.created,
		CreatedBy: identityLinkJSON{ID: g.createdBy.ID, DisplayName: g.createdBy.DisplayName, UniqueName: g.createdBy.UniqueName,
			URL: who, ImageURL: rc.urls.collection(rc.coll.name) + "/_api/_common/identityImage?id=" + g.createdBy.ID},
		TargetURL: g.targetURL, IterationID: g.iterationID,
		Links: linksJSON{"self": {Href: self}, "repository": {Href: repoAPI}}}
}

// anyScope reports whether pat grants one of scopes; the spec lists alternatives per
// operation (git/7.1/git.json "security": e.g. Statuses_Create vso.code_write or
// vso.code_status). On failure it answers as beginREST does.
func (s *Server) anyScope(w http.ResponseWriter, r *http.Request, rc restCaller, scopes ...string) bool {
	for _, sc := range scopes {
		if hasScope(rc.pat, sc) {
			return true
		}
	}
	w.Header().Set("WWW-Authenticate", s.challenge(r))
	writeAPIError(w, errMissingScope(rc.id, scopes[len(scopes)-1]))
	return false
}

// statusScope is the scope check of commit and pull request statuses: a POST needs
// vso.code_write or vso.code_status, a GET vso.code or vso.code_status (the security of
// Statuses_Create/List in git/7.1/git.json); it writes the refusal itself.
func (s *Server) statusScope(w http.ResponseWriter, r *http.Request, rc restCaller, write bool) bool {
	if write {
		return s.anyScope(w, r, rc, "vso.code_write", "vso.code_status")
	}
	return s.anyScope(w, r, rc, "vso.code", "vso.code_status")
}

// serveCommitStatuses answers .../repositories/{id}/commits/{sha}/statuses: POST (scope
// vso.code_status or vso.code_write) stores a status and answers 201 with it; GET (vso.code or
// vso.code_status) lists the commit's statuses newest first, with latestOnly=true only the
// newest per context (name + genre), $top/$skip paging (Statuses_List in git/7.1/git.json;
// order unconfirmed). Errors: 404 TF401175 for an unknown commit, 400 for a bad body.
func (s *Server) serveCommitStatuses(w http.ResponseWriter, r *http.Request, rc restCaller, rp *repo, sha string) {
	write := r.Method == http.MethodPost
	if !s.statusScope(w, r, rc, write) {
		return
	}
	full, err := revParse(rp.barePath, sha)
	if err != nil {
		writeAPIError(w, newAPIError(http.StatusNotFound, "GitUnresolvableToCommitException",
			"Microsoft.TeamFoundation.Git.Server.GitUnresolvableToCommitException",
			"TF401175:The version descriptor <Commit: "+sha+" > could not be resolved to a version in the repository "+rp.name))
		return
	}
	api := rc.urls.repoAPI(rc.coll.name, rp.proj.id, rp.id)
	self := api + "/commits/" + full + "/statuses"
	key := rp.id + "/" + full
	if write {
		in, state, ok := readStatusIn(w, r)
		if !ok {
			return
		}
		s.mu.Lock()
		rc.coll.nextStatusID++
		g := &gitStatus{id: rc.coll.nextStatusID, state: state, description: in.Description, targetURL: in.TargetURL,
			contextName: in.Context.Name, contextGenre: in.Context.Genre, createdBy: rc.id, created: time.Now().UTC().Truncate(time.Millisecond)}
		if rc.coll.commitStatuses == nil {
			rc.coll.commitStatuses = map[string][]*gitStatus{}
		}
		rc.coll.commitStatuses[key] = append(rc.coll.commitStatuses[key], g)
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, s.statusView(rc, g, self, api))
		return
	}
	q := r.URL.Query()
	top, e := nonNegativeParam(q.Get("top"), "top", 1000)
	var skip int
	if e == nil {
		skip, e = nonNegativeParam(q.Get("skip"), "skip", 0)
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	list := newestFirst(rc.coll.commitStatuses[key])
	s.mu.Unlock()
	if strings.EqualFold(q.Get("latestOnly"), "true") {
		list = latestPerContext(list)
	}
	start := min(skip, len(list))
	end := min(start+top, len(list))
	out := make([]statusJSON, 0, end-start)
	for _, g := range list[start:end] {
		out = append(out, s.statusView(rc, g, self, api))
	}
	writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
}

func newestFirst(in []*gitStatus) []*gitStatus {
	out := append([]*gitStatus(nil), in...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].id > out[j].id })
	return out
}

// latestPerContext keeps the first (newest) status of each context of a newest-first list.
func latestPerContext(in []*gitStatus) []*gitStatus {
	seen := map[string]bool{}
	var out []*gitStatus
	for _, g := range in {
		k := g.contextGenre + "/" + g.contextName
		if !seen[k] {
			seen[k] = true
			out = append(out, g)
		}
	}
	return out
}

// servePullRequestStatuses answers .../pullRequests/{n}/statuses and
// .../pullRequests/{n}/iterations/{it}/statuses: POST (vso.code_status or vso.code_write)
// stores a status on the pull request, with iterationId from the body or the path (it must
// name an existing iteration; 0 = the pull request itself), 200 with it (Pull Request
// Statuses_Create answers 200 in git/7.1/git.json); GET (vso.code or vso.code_status) lists
// them in posting order (the iteration's only, on the iteration path). Errors: 400 for a bad
// body or an unknown iteration.
func (s *Server) servePullRequestStatuses(w http.ResponseWriter, r *http.Request, rc restCaller, pr *pullRequest, pathIteration int) {
	write := r.Method == http.MethodPost
	if !s.statusScope(w, r, rc, write) {
		return
	}
	api := rc.urls.repoAPI(rc.coll.name, pr.repo.proj.id, pr.repo.id)
	self := api + "/pullRequests/" + strconv.Itoa(pr.id) + "/statuses"
	if write {
		in, state, ok := readStatusIn(w, r)
		if !ok {
			return
		}
		if pathIteration > 0 {
			in.IterationID = pathIteration
		}
		s.mu.Lock()
		if in.IterationID < 0 || in.IterationID > len(pr.iterations) {
			n := len(pr.iterations)
			s.mu.Unlock()
			writeAPIError(w, errBadArgument(fmt.Sprintf("The iteration %d does not exist; the pull request has %d.", in.IterationID, n)))
			return
		}
		rc.coll.nextStatusID++
		g := &gitStatus{id: rc.coll.nextStatusID, state: state, description: in.Description, targetURL: in.TargetURL,
			contextName: in.Context.Name, contextGenre: in.Context.Genre, createdBy: rc.id,
			created: time.Now().UTC().Truncate(time.Millisecond), iterationID: in.IterationID}
		pr.statuses = append(pr.statuses, g)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, s.statusView(rc, g, self+"/"+strconv.Itoa(g.id), api))
		return
	}
	s.mu.Lock()
	var list []*gitStatus
	for _, g := range pr.statuses {
		if pathIteration == 0 || g.iterationID == pathIteration {
			list = append(list, g)
		}
	}
	s.mu.Unlock()
	out := make([]statusJSON, 0, len(list))
	for _, g := range list {
		out = append(out, s.statusView(rc, g, self+"/"+strconv.Itoa(g.id), api))
	}
	writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
}

// CommitStatuses returns the statuses posted to commit sha (full id) of repository repoID in
// collection ("" = default), oldest first. Errors: an unknown collection.
func (s *Server) CommitStatuses(collection, repoID, sha string) ([]Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.collectionLocked(collection)
	if err != nil {
		return nil, err
	}
	rp := c.findRepoByIDLocked(repoID)
	if rp == nil {
		return nil, fmt.Errorf("azdosim: unknown repository id %q", repoID)
	}
	var out []Status
	for _, g := range c.commitStatuses[rp.id+"/"+strings.ToLower(sha)] {
		out = append(out, g.export())
	}
	return out, nil
}

// pullRequestLocked finds pull request prID of collection ("" = default); s.mu is held.
// Errors: an unknown collection or pull request.
func (s *Server) pullRequestLocked(collection string, prID int) (*pullRequest, error) {
	c, err := s.collectionLocked(collection)
	if err != nil {
		return nil, err
	}
	if prID < 1 || prID > len(c.pullRequests) {
		return nil, fmt.Errorf("azdosim: unknown pull request %d", prID)
	}
	return c.pullRequests[prID-1], nil
}

// PullRequestStatuses returns the statuses posted to pull request prID, oldest first.
// Errors: an unknown collection or pull request.
func (s *Server) PullRequestStatuses(collection string, prID int) ([]Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, err := s.pullRequestLocked(collection, prID)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, g := range pr.statuses {
		out = append(out, g.export())
	}
	return out, nil
}
