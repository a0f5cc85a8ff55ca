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

// prThread is a pull request comment thread (GitPullRequestCommentThread, git/7.1/git.json).
type prThread struct {
	id                 int
	status             string // one of threadStatuses
	properties         map[string]propertyJSON
	comments           []*prComment
	published, updated time.Time
}

// prComment is one comment of a thread (Comment in git/7.1/git.json).
type prComment struct {
	id, parentID                      int
	author                            identity
	content, commentType              string
	published, updated, contentUpdate time.Time
}

// propertyJSON is one entry of a PropertiesCollection on the wire: {"$type","$value"}.
type propertyJSON struct {
	Type  string `json:"$type"`
	Value any    `json:"$value"`
}

// threadStatuses are CommentThreadStatus's values in enum order (git/7.1/git.json: unknown 0,
// active 1, fixed 2, wontFix 3, closed 4, byDesign 5, pending 6).
var threadStatuses = []string{"unknown", "active", "fixed", "wontFix", "closed", "byDesign", "pending"}

// commentTypes are CommentType's values in enum order (unknown 0, text 1, codeChange 2, system 3).
var commentTypes = []string{"unknown", "text", "codeChange", "system"}

// enumValue maps a JSON enum given as a name (any case) or its number to the name; def when
// absent. ok false for anything else.
func enumValue(raw json.RawMessage, names []string, def string) (string, bool) {
	v := strings.Trim(string(raw), `"`)
	if v == "" || v == "null" {
		return def, true
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n >= 0 && n < len(names) {
			return names[n], true
		}
		return "", false
	}
	for _, name := range names {
		if strings.EqualFold(name, v) {
			return name, true
		}
	}
	return "", false
}

// Thread is a pull request thread as the test helpers return it.
type Thread struct {
	ID         int
	Status     string            // active, fixed, closed, ...
	Properties map[string]string // each property's value as text
	Comments   []Comment
}

// Comment is one comment of a Thread.
type Comment struct {
	ID, ParentID int
	Author       string // display name
	Content      string
	Updated      time.Time // lastContentUpdatedDate
}

// commentJSON is a Comment on the wire, shaped like
// git/7.1/httpExamples/pullRequestThreadComments/GET_git_pullRequestThreadComment.json.
type commentJSON struct {
	ID                     int              `json:"id"`
	ParentCommentID        int              `json:"parentCommentId"`
	Author                 identityLinkJSON `json:"author"`
	Content                string           `json:"content"`
	PublishedDate          time.Time        `json:"publishedDate"`
	LastUpdatedDate        time.Time        `json:"lastUpdatedDate"`
	LastContentUpdatedDate time.Time        `json:"lastContentUpdatedDate"`
	CommentType            string           `json:"commentType"`
	UsersLiked             []any            `json:"usersLiked"`
	Links                  linksJSON        `json:"_links,omitempty"`
}

// threadJSON is a GitPullRequestCommentThread on the wire, shaped like
// git/7.1/httpExamples/pullRequestThreads/GET_git_pullRequestThread.json; properties carry
// {"$type","$value"} pairs as the real answers do.
type threadJSON struct {
	ID              int                     `json:"id"`
	PublishedDate   time.Time               `json:"publishedDate"`
	LastUpdatedDate time.Time               `json:"lastUpdatedDate"`
	Comments        []commentJSON           `json:"comments"`
	Status          string                  `json:"status"`
	ThreadContext   any                     `json:"threadContext"`
	Properties      map[string]propertyJSON `json:"properties"`
	IsDeleted       bool                    `json:"isDeleted"`
	Links           linksJSON               `json:"_links,omitempty"`
}

// commentInJSON is a comment in a thread or comment write.
type commentInJSON struct {
	ParentCommentID int             `json:"parentCommentId"`
	Content         *string         `json:"content"`
	CommentType     json.RawMessage `json:"commentType"`
}

// threadInJSON is the body of a thread POST.
type threadInJSON struct {
	Comments   []commentInJSON            `json:"comments"`
	Status     json.RawMessage            `json:"status"`
	Properties map[string]json.RawMessage `json:"properties"`
}

// parseProperties takes a thread's properties either as plain values ({"k":"v"}) or typed
// ({"k":{"$type":"System.String","$value":"v"}}), the form the real answers use.
func parseProperties(in map[string]json.RawMessage) map[string]propertyJSON {
	out := map[string]propertyJSON{}
	for k, raw := range in {
		var typed struct {
			Type  string `json:"$type"`
			Value any    `json:"$value"`
		}
		if json.Unmarshal(raw, &typed) == nil && typed.Type != "" {
			out[k] = propertyJSON{Type: typed.Type, Value: typed.Value}
			continue
		}
		var v any
		_ = json.Unmarshal(raw, &v)
		t := "System.String"
		switch v.(type) {
		case float64:
			t = "System.Int32"
		case bool:
			t = "System.Boolean"
		}
		out[k] = propertyJSON{Type: t, Value: v}
	}
	return out
}

func (s *Server) commentView(rc restCaller, c *prComment, self string) commentJSON {
	who := rc.urls.collection(rc.coll.name) + "/_apis/Identities/" + c.author.ID
	return commentJSON{ID: c.id, ParentCommentID: c.parentID,
		Author: identityLinkJSON{ID: c.author.ID, DisplayName: c.author.DisplayName, UniqueName: c.author.UniqueName, URL: who,
			ImageURL: rc.urls.collection(rc.coll.name) + "/_api/_common/identityImage?id=" + c.author.ID},
		Content: c.content, PublishedDate: c.published, LastUpdatedDate: c.updated, LastContentUpdatedDate: c.contentUpdate,
		CommentType: c.commentType, UsersLiked: []any{}, Links: linksJSON{"self": {Href: self}}}
}

// threadView renders t; the caller holds s.mu.
func (s *Server) threadView(rc restCaller, pr *pullRequest, t *prThread) threadJSON {
	self := rc.urls.repoAPI(rc.coll.name, pr.repo.proj.id, pr.repo.id) + "/pullRequests/" + strconv.Itoa(pr.id) + "/threads/" + strconv.Itoa(t.id)
	tj := threadJSON{ID: t.id, PublishedDate: t.published, LastUpdatedDate: t.updated, Status: t.status,
		Properties: t.properties, Comments: make([]commentJSON, 0, len(t.comments)), Links: linksJSON{"self": {Href: self}}}
	for _, c := range t.comments {
		tj.Comments = append(tj.Comments, s.commentView(rc, c, self+"/comments/"+strconv.Itoa(c.id)))
	}
	return tj
}

func errThreadNotFound(id string) *apiError {
	return newAPIError(http.StatusNotFound, "GitPullRequestCommentThreadNotFoundException",
		"Microsoft.TeamFoundation.Git.Server.GitPullRequestCommentThreadNotFoundException",
		"TF401181: The pull request comment thread "+id+" was not found.")
}

func errCommentNotFound(id string) *apiError {
	return newAPIError(http.StatusNotFound, "CommentNotFoundException",
		"Microsoft.TeamFoundation.Discussion.Server.CommentNotFoundException", "The comment "+id+" was not found.")
}

// serveThreads answers .../pullRequests/{n}/threads[/{t}[/comments[/{c}]]] (tail: the
// segments after "threads"). Writes (POST, PATCH) need vso.threads_full or vso.code_write,
// reads vso.code or vso.threads_full (git/7.1/git.json security). POST threads: comments
// (content, parentCommentId, commentType), status and properties → 200 with the thread;
// GET threads: every thread, oldest first; GET threads/{t}: one; POST threads/{t}/comments: a
// new comment → 200; PATCH threads/{t}/comments/{c}: new content (lastContentUpdatedDate
// moves) → 200 with the comment. Status codes of the writes follow the spec's answers (200);
// unconfirmed against a live server. Errors: 404 for an unknown thread or comment, 400 for a
// bad body or enum value.
func (s *Server) serveThreads(w http.ResponseWriter, r *http.Request, rc restCaller, pr *pullRequest, tail []string) {
	write := r.Method != http.MethodGet
	if write && !s.anyScope(w, r, rc, "vso.code_write", "vso.threads_full") ||
		!write && !s.anyScope(w, r, rc, "vso.code", "vso.threads_full") {
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if len(tail) == 0 {
		if r.Method == http.MethodPost {
			s.createThread(w, r, rc, pr, now)
			return
		}
		if r.Method != http.MethodGet {
			writeAPIError(w, errMethodNotAllowed(r.Method))
			return
		}
		s.mu.Lock()
		out := make([]threadJSON, 0, len(pr.threads))
		for _, t := range pr.threads {
			out = append(out, s.threadView(rc, pr, t))
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
		return
	}
	tid, _ := strconv.Atoi(tail[0])
	s.mu.Lock()
	var t *prThread
	for _, x := range pr.threads {
		if x.id == tid {
			t = x
		}
	}
	s.mu.Unlock()
	if t == nil {
		writeAPIError(w, errThreadNotFound(tail[0]))
		return
	}
	switch {
	case len(tail) == 1 && r.Method == http.MethodGet:
		s.mu.Lock()
		tj := s.threadView(rc, pr, t)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, tj)
	case len(tail) == 2 && strings.EqualFold(tail[1], "comments") && r.Method == http.MethodPost:
		var in commentInJSON
		if e := readBody(w, r, &in); e != nil {
			writeAPIError(w, e)
			return
		}
		ct, ok := enumValue(in.CommentType, commentTypes, "text")
		if !ok || in.Content == nil {
			writeAPIError(w, errBadArgument("A comment needs content and a valid commentType."))
			return
		}
		s.mu.Lock()
		c := &prComment{id: len(t.comments) + 1, parentID: in.ParentCommentID, author: rc.id, content: *in.Content,
			commentType: ct, published: now, updated: now, contentUpdate: now}
		t.comments = append(t.comments, c)
		t.updated = now
		cj := s.commentView(rc, c, "")
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, cj)
	case len(tail) == 3 && strings.EqualFold(tail[1], "comments") && r.Method == http.MethodPatch:
		var in commentInJSON
		if e := readBody(w, r, &in); e != nil {
			writeAPIError(w, e)
			return
		}
		cid, _ := strconv.Atoi(tail[2])
		s.mu.Lock()
		var c *prComment
		for _, x := range t.comments {
			if x.id == cid {
				c = x
			}
		}
		if c == nil {
			s.mu.Unlock()
			writeAPIError(w, errCommentNotFound(tail[2]))
			return
		}
		if in.Content != nil {
			c.content, c.contentUpdate = *in.Content, now
		}
		c.updated, t.updated = now, now
		cj := s.commentView(rc, c, "")
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, cj)
	case len(tail) == 3 && strings.EqualFold(tail[1], "comments") && r.Method == http.MethodGet:
		cid, _ := strconv.Atoi(tail[2])
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range t.comments {
			if c.id == cid {
				writeJSON(w, http.StatusOK, s.commentView(rc, c, ""))
				return
			}
		}
		writeAPIError(w, errCommentNotFound(tail[2]))
	default:
		writeAPIError(w, errNotFound())
	}
}

func errMethodNotAllowed(method string) *apiError {
	return newAPIError(http.StatusMethodNotAllowed, "HttpMethodNotAllowedException",
		"Microsoft.VisualStudio.Services.WebApi.HttpMethodNotAllowedException", "The requested resource does not support http method '"+method+"'.")
}

func (s *Server) createThread(w http.ResponseWriter, r *http.Request, rc restCaller, pr *pullRequest, now time.Time) {
	var in threadInJSON
	if e := readBody(w, r, &in); e != nil {
		writeAPIError(w, e)
		return
	}
	status, ok := enumValue(in.Status, threadStatuses, "active")
	if !ok || len(in.Comments) == 0 {
		writeAPIError(w, errBadArgument("A thread needs at least one comment and a valid status."))
		return
	}
	t := &prThread{status: status, properties: parseProperties(in.Properties), published: now, updated: now}
	for i, c := range in.Comments {
		ct, ok := enumValue(c.CommentType, commentTypes, "text")
		if !ok || c.Content == nil {
			writeAPIError(w, errBadArgument("A comment needs content and a valid commentType."))
			return
		}
		t.comments = append(t.comments, &prComment{id: i + 1, parentID: c.ParentCommentID, author: rc.id, content: *c.Content,
			commentType: ct, published: now, updated: now, contentUpdate: now})
	}
	s.mu.Lock()
	t.id = len(pr.threads) + 1
	pr.threads = append(pr.threads, t)
	tj := s.threadView(rc, pr, t)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, tj)
}

// PullRequestThreads returns the threads of pull request prID in collection ("" = default),
// oldest first, with their comments. Errors: an unknown collection or pull request.
func (s *Server) PullRequestThreads(collection string, prID int) ([]Thread, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, err := s.pullRequestLocked(collection, prID)
	if err != nil {
		return nil, err
	}
	var out []Thread
	for _, t := range pr.threads {
		th := Thread{ID: t.id, Status: t.status, Properties: map[string]string{}}
		keys := make([]string, 0, len(t.properties))
		for k := range t.properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			th.Properties[k] = fmt.Sprint(t.properties[k].Value)
		}
		for _, cm := range t.comments {
			th.Comments = append(th.Comments, Comment{ID: cm.id, ParentID: cm.parentID, Author: cm.author.DisplayName,
				Content: cm.content, Updated: cm.contentUpdate})
		}
		out = append(out, th)
	}
	return out, nil
}
