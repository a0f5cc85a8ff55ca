package azuredevops

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Thread is a pull request discussion thread (GitPullRequestCommentThread in
// vsts-rest-api-specs specification/git/7.1/git.json): its id, status ("active", "fixed",
// "closed", ...), its properties as text, and its comments oldest first.
type Thread struct {
	ID         int
	Status     string
	Properties map[string]string
	Comments   []ThreadComment
}

// ThreadComment is one comment of a Thread: its id (1 for the first comment of a thread),
// the comment it answers (0 = none), the author's display name and the content (markdown).
type ThreadComment struct {
	ID, ParentID int
	Author       string
	Content      string
}

// wireThread and wireComment are the parts of GitPullRequestCommentThread and Comment the
// client reads. Properties arrive as {"name": {"$type": "...", "$value": ...}} (a
// PropertiesCollection).
type wireThread struct {
	ID         wireInt                    `json:"id"`
	Status     threadStatus               `json:"status"`
	Properties map[string]json.RawMessage `json:"properties"`
	Comments   []wireComment              `json:"comments"`
	IsDeleted  wireBool                   `json:"isDeleted"`
}

type wireComment struct {
	ID              wireInt  `json:"id"`
	ParentCommentID wireInt  `json:"parentCommentId"`
	Content         wireText `json:"content"`
	Author          struct {
		DisplayName wireText `json:"displayName"`
	} `json:"author"`
}

// threadStatus is CommentThreadStatus (unknown 0, active 1, fixed 2, wontFix 3, closed 4,
// byDesign 5, pending 6).
type threadStatus string

func (s *threadStatus) UnmarshalJSON(b []byte) error {
	*s = threadStatus(readEnum(b, map[int64]string{0: "unknown", 1: "active", 2: "fixed", 3: "wontFix", 4: "closed", 5: "byDesign", 6: "pending"}))
	return nil
}

func (w wireThread) toThread() Thread {
	t := Thread{ID: int(w.ID), Status: string(w.Status), Properties: map[string]string{}}
	for k, raw := range w.Properties {
		var typed struct {
			Value json.RawMessage `json:"$value"`
		}
		if isObject(raw) && json.Unmarshal(raw, &typed) == nil && typed.Value != nil {
			raw = typed.Value
		}
		var v wireText
		_ = v.UnmarshalJSON(raw)
		t.Properties[k] = string(v)
	}
	for _, c := range w.Comments {
		t.Comments = append(t.Comments, ThreadComment{ID: int(c.ID), ParentID: int(c.ParentCommentID),
			Author: string(c.Author.DisplayName), Content: string(c.Content)})
	}
	return t
}

// ThreadMarker is the hidden line CreateThread puts at the end of the first comment, so that
// FindThread recognises the thread even where properties are not kept: an HTML comment, which
// Azure DevOps' markdown does not display.
func ThreadMarker(key, value string) string {
	return fmt.Sprintf("<!-- %s: %s -->", key, value)
}

func threadsPath(project, repoID string, prID int) string {
	return repoPath(project, repoID) + "/pullRequests/" + strconv.Itoa(prID) + "/threads"
}

// FindThread returns the thread of pull request prID that carries property key with value
// value, or whose first comment contains ThreadMarker(key, value); nil (and no error) when none
// does. It reads GET .../pullRequests/{prID}/threads (Pull Request Threads_List; scope vso.code
// or vso.threads_full); deleted threads are skipped. Errors: ErrInvalidInput for prID below 1
// or an empty key, else as every call (ErrNotFound for an unknown pull request).
func (c *Client) FindThread(ctx context.Context, project, repoID string, prID int, key, value string) (*Thread, error) {
	if prID < 1 || key == "" {
		return nil, invalid("pullRequestId", "a pull request id is a positive number and a thread key is required")
	}
	var l wireList[wireThread]
	if _, err := c.get(ctx, threadsPath(project, repoID, prID), apiQuery(), lenient(&l)); err != nil {
		return nil, err
	}
	marker := ThreadMarker(key, value)
	for _, w := range l.Value {
		if w.IsDeleted {
			continue
		}
		t := w.toThread()
		if v, ok := t.Properties[key]; ok && v == value {
			return &t, nil
		}
		if len(t.Comments) > 0 && strings.Contains(t.Comments[0].Content, marker) {
			return &t, nil
		}
	}
	return nil, nil
}

// CreateThread opens a thread on pull request prID with one comment (content, markdown; a
// ThreadMarker line for each property is appended) and properties: POST
// .../pullRequests/{prID}/threads with status active and commentType text (Pull Request
// Threads_Create; scope vso.threads_full; body as docs/azure-devops-protocol.md §5). Errors as FindThread.
func (c *Client) CreateThread(ctx context.Context, project, repoID string, prID int, content string, properties map[string]string) (*Thread, error) {
	if prID < 1 {
		return nil, invalid("pullRequestId", "a pull request id is a positive number")
	}
	keys := make([]string, 0, len(properties))
	for k := range properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		content += "\n\n" + ThreadMarker(k, properties[k])
	}
	body := map[string]any{
		"comments":   []map[string]any{{"parentCommentId": 0, "content": content, "commentType": "text"}},
		"status":     "active",
		"properties": properties,
	}
	var w wireThread
	if _, err := c.send(ctx, "POST", threadsPath(project, repoID, prID), apiQuery(), body, lenient(&w)); err != nil {
		return nil, err
	}
	t := w.toThread()
	return &t, nil
}

// UpdateComment replaces the content of comment commentID of thread threadID: PATCH
// .../pullRequests/{prID}/threads/{threadID}/comments/{commentID} (Pull Request Thread
// Comments_Update; scope vso.threads_full). The caller keeps any ThreadMarker line in content
// (CreateThread's markers are not re-added). Errors as FindThread; ErrNotFound for an unknown
// thread or comment.
func (c *Client) UpdateComment(ctx context.Context, project, repoID string, prID, threadID, commentID int, content string) (*ThreadComment, error) {
	if prID < 1 || threadID < 1 || commentID < 1 {
		return nil, invalid("pullRequestId", "pull request, thread and comment ids are positive numbers")
	}
	var w wireComment
	path := threadsPath(project, repoID, prID) + "/" + strconv.Itoa(threadID) + "/comments/" + strconv.Itoa(commentID)
	if _, err := c.send(ctx, "PATCH", path, apiQuery(), map[string]string{"content": content}, lenient(&w)); err != nil {
		return nil, err
	}
	return &ThreadComment{ID: int(w.ID), ParentID: int(w.ParentCommentID), Author: string(w.Author.DisplayName), Content: string(w.Content)}, nil
}
