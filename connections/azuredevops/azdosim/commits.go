package azdosim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// gitUserDateJSON is a commit's author or committer.
type gitUserDateJSON struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	Date  time.Time `json:"date"`
}

// commitRefJSON is one commit of a list, shaped like the spec's example
// (specification/git/7.1/httpExamples/commits/GET__git_repositories__repositoryId__commits.json).
type commitRefJSON struct {
	CommitID         string          `json:"commitId"`
	Author           gitUserDateJSON `json:"author"`
	Committer        gitUserDateJSON `json:"committer"`
	Comment          string          `json:"comment"`
	CommentTruncated bool            `json:"commentTruncated,omitempty"`
	ChangeCounts     map[string]int  `json:"changeCounts"`
	URL              string          `json:"url"`
	RemoteURL        string          `json:"remoteUrl"`
	// Parents and TreeID are sent for one commit only, as the spec's single-commit example does.
	Parents []string `json:"parents,omitempty"`
	TreeID  string   `json:"treeId,omitempty"`
	parents []string
}

// serveCommits answers GET .../repositories/{id}/commits: the commits reachable from
// searchCriteria.itemVersion (version and versionType; default the default branch), newest
// first as `git log` orders them, touching searchCriteria.itemPath when given, paged by
// searchCriteria.$skip / $top (or the plain $skip / $top the SDK also sends; default top 100).
// An empty repository answers an empty list. comment is the subject line; commentTruncated is
// set when the message has more. Errors: 404 TF401175 for an unresolvable version, 400 for a
// bad $top / $skip.
func (s *Server) serveCommits(w http.ResponseWriter, r *http.Request, rc restCaller, rp *repo, tail []string) {
	if len(tail) == 1 {
		s.serveCommit(w, rc, rp, tail[0])
		return
	}
	q := r.URL.Query()
	pick := func(a, b string) string {
		if v := q.Get(a); v != "" {
			return v
		}
		return q.Get(b)
	}
	top, e := nonNegativeParam(pick("searchCriteria.$top", "$top"), "$top", 100)
	var skip int
	if e == nil {
		skip, e = nonNegativeParam(pick("searchCriteria.$skip", "$skip"), "$skip", 0)
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	if top == 0 {
		top = 100
	}
	vt, v := q.Get("searchCriteria.itemVersion.versionType"), q.Get("searchCriteria.itemVersion.version")
	if v == "" && vt == "" && defaultBranch(rp.barePath) == "" {
		writeJSON(w, http.StatusOK, listJSON{Count: 0, Value: []commitRefJSON{}})
		return
	}
	commit, _, e := resolveVersion(rp, vt, v)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	out, err := logCommits(rp.barePath, commit, q.Get("searchCriteria.itemPath"), skip, top)
	if err != nil {
		writeAPIError(w, newAPIError(http.StatusInternalServerError, "GitRepositoryException",
			"Microsoft.TeamFoundation.Git.Server.GitRepositoryException", "The commits could not be read."))
		return
	}
	for i := range out {
		s.commitURLs(rc, rp, &out[i])
	}
	writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
}

func (s *Server) commitURLs(rc restCaller, rp *repo, c *commitRefJSON) {
	c.URL = rc.urls.repoAPI(rc.coll.name, rp.proj.id, rp.id) + "/commits/" + c.CommitID
	c.RemoteURL = rc.urls.remote(rc.coll.name, rp.proj.name, rp.name) + "/commit/" + c.CommitID
}

// serveCommit answers GET .../commits/{commitId}: one commit with its parents and treeId
// (specification/git/7.1/httpExamples/commits/GET__git_repositories__repositoryId__commits__commitId_.json).
// Error: 404 TF401175 when the id names no commit.
func (s *Server) serveCommit(w http.ResponseWriter, rc restCaller, rp *repo, id string) {
	commit, _, e := resolveVersion(rp, "commit", id)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	out, err := logCommits(rp.barePath, commit, "", 0, 1)
	tree, terr := git(rp.barePath, nil, nil, "rev-parse", commit+"^{tree}")
	if err != nil || terr != nil || len(out) != 1 {
		writeAPIError(w, newAPIError(http.StatusInternalServerError, "GitRepositoryException",
			"Microsoft.TeamFoundation.Git.Server.GitRepositoryException", "The commit could not be read."))
		return
	}
	c := out[0]
	s.commitURLs(rc, rp, &c)
	c.Parents = append([]string{}, c.parents...)
	c.TreeID = strings.TrimSpace(tree)
	writeJSON(w, http.StatusOK, c)
}

// logCommits runs one `git log` from commit (limited to itemPath when not "") and parses
// ids, people, dates, subject and the per-commit Add/Edit/Delete counts.
func logCommits(gitDir, commit, itemPath string, skip, top int) ([]commitRefJSON, error) {
	const rs, us = "\x1e", "\x1f"
	args := []string{"log", "--no-renames", "--name-status", "--skip=" + strconv.Itoa(skip), "--max-count=" + strconv.Itoa(top),
		"--format=" + rs + "%H" + us + "%an" + us + "%ae" + us + "%aI" + us + "%cn" + us + "%ce" + us + "%cI" + us + "%s" + us + "%b" + us + "%P" + us,
		commit}
	if p := strings.Trim(itemPath, "/"); p != "" {
		args = append(args, "--", p)
	}
	raw, err := git(gitDir, nil, nil, args...)
	if err != nil {
		return nil, err
	}
	out := []commitRefJSON{}
	for _, rec := range strings.Split(raw, rs) {
		f := strings.Split(rec, us)
		if len(f) < 11 {
			continue
		}
		ad, _ := time.Parse(time.RFC3339, f[3])
		cd, _ := time.Parse(time.RFC3339, f[6])
		c := commitRefJSON{
			CommitID:         f[0],
			Author:           gitUserDateJSON{Name: f[1], Email: f[2], Date: ad.UTC()},
			Committer:        gitUserDateJSON{Name: f[4], Email: f[5], Date: cd.UTC()},
			Comment:          f[7],
			CommentTruncated: strings.TrimSpace(f[8]) != "",
			ChangeCounts:     map[string]int{"Add": 0, "Edit": 0, "Delete": 0},
		}
		c.parents = strings.Fields(f[9])
		for _, line := range strings.Split(f[10], "\n") {
			status, _, ok := strings.Cut(line, "\t")
			if !ok {
				continue
			}
			switch status {
			case "A":
				c.ChangeCounts["Add"]++
			case "D":
				c.ChangeCounts["Delete"]++
			default:
				c.ChangeCounts["Edit"]++
			}
		}
		out = append(out, c)
	}
	return out, nil
}
