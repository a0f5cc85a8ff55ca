package services

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Service-hook event types the hook endpoint acts on (Web Hooks consumer, resource version
// 1.0). Source: learn.microsoft.com/azure/devops/service-hooks/events (sections "Code
// pushed" git.push, "Pull request created" git.pullrequest.created, "Pull request updated"
// git.pullrequest.updated, "Pull request merge attempted" git.pullrequest.merged), whose sample
// payloads give the fields read here.
const (
	EventGitPush            = "git.push"
	EventPullRequestCreated = "git.pullrequest.created"
	EventPullRequestUpdated = "git.pullrequest.updated"
	EventPullRequestMerged  = "git.pullrequest.merged"
)

// zeroCommit is the object id of a deleted (or not yet existing) ref in a refUpdate.
const zeroCommit = "0000000000000000000000000000000000000000"

// HookEvent is what the hook endpoint reads of one delivery. Every field is untrusted input.
//
// Shape read (resource version 1.0, sample payloads of the events page cited on EventGitPush):
//
//	{"id": "<event id>", "eventType": "git.push", "resourceVersion": "1.0",
//	 "resource": {
//	   "refUpdates": [{"name": "refs/heads/main", "oldObjectId": "<40 hex>", "newObjectId": "<40 hex>"}],
//	   "repository": {"id": "<guid>", "project": {"id": "<guid>"}},
//	   "pushedBy": {"displayName": "...", "uniqueName": "..."},
//	   "pullRequestId": 1, "status": "active|abandoned|completed",
//	   "sourceRefName": "refs/heads/topic", "targetRefName": "refs/heads/main",
//	   "lastMergeCommit": {"commitId": "<40 hex>"}, "lastMergeSourceCommit": {"commitId": "<40 hex>"}},
//	 "resourceContainers": {"collection": {"id"}, "account": {"id"}, "project": {"id"}}}
type HookEvent struct {
	ID              string
	EventType       string
	ResourceVersion string
	CollectionID    string // resourceContainers.collection.id
	AccountID       string // resourceContainers.account.id (Services' organization)
	ProjectID       string // resource.repository.project.id, else resourceContainers.project.id
	RepositoryID    string
	RefUpdates      []RefUpdate
	PushedBy        string // pushedBy.displayName (uniqueName when it is empty)

	PullRequestID     int
	Status            string
	SourceRefName     string
	TargetRefName     string
	MergeCommit       string // lastMergeCommit.commitId
	MergeSourceCommit string // lastMergeSourceCommit.commitId
}

// RefUpdate is one ref a push changed.
type RefUpdate struct {
	Name        string `json:"name"`
	OldObjectID string `json:"oldObjectId"`
	NewObjectID string `json:"newObjectId"`
}

// Bounds of what a delivery may carry (a push of more refs is read up to the bound).
const (
	maxRefUpdates = 100
	maxRefLen     = 1024
	maxEventIDLen = 200
)

type wireID struct {
	ID string `json:"id"`
}

type wireCommit struct {
	CommitID string `json:"commitId"`
}

type wireEvent struct {
	ID                 string `json:"id"`
	EventType          string `json:"eventType"`
	ResourceVersion    string `json:"resourceVersion"`
	ResourceContainers struct {
		Collection wireID `json:"collection"`
		Account    wireID `json:"account"`
		Project    wireID `json:"project"`
	} `json:"resourceContainers"`
	Resource struct {
		RefUpdates []RefUpdate `json:"refUpdates"`
		Repository struct {
			ID      string `json:"id"`
			Project wireID `json:"project"`
		} `json:"repository"`
		PushedBy struct {
			DisplayName string `json:"displayName"`
			UniqueName  string `json:"uniqueName"`
		} `json:"pushedBy"`
		PullRequestID         int         `json:"pullRequestId"`
		Status                string      `json:"status"`
		SourceRefName         string      `json:"sourceRefName"`
		TargetRefName         string      `json:"targetRefName"`
		LastMergeCommit       *wireCommit `json:"lastMergeCommit"`
		LastMergeSourceCommit *wireCommit `json:"lastMergeSourceCommit"`
	} `json:"resource"`
}

// ParseHookEvent reads a Web Hooks delivery. Unknown fields are ignored (the payload carries
// many more); a field of an unexpected JSON type, a body that is not one JSON object, a
// missing event id or event type, or an oversized id or ref name is an error (ErrInvalidInput,
// reason hook_payload_invalid, naming the field). Commit ids are lower-cased; ref updates
// beyond 100 are dropped.
func ParseHookEvent(body []byte) (*HookEvent, error) {
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, payloadError("", "the delivery is not a JSON object of the Web Hooks shape")
	}
	if dec.More() {
		return nil, payloadError("", "the delivery holds more than one JSON value")
	}
	switch {
	case w.ID == "" || len(w.ID) > maxEventIDLen:
		return nil, payloadError("id", "the delivery has no event id (or a longer one than %d bytes)", maxEventIDLen)
	case w.EventType == "" || len(w.EventType) > 100:
		return nil, payloadError("eventType", "the delivery has no event type")
	}
	r := &w.Resource
	ev := &HookEvent{ID: w.ID, EventType: w.EventType, ResourceVersion: w.ResourceVersion,
		CollectionID: lowerID(w.ResourceContainers.Collection.ID), AccountID: lowerID(w.ResourceContainers.Account.ID),
		ProjectID: lowerID(r.Repository.Project.ID), RepositoryID: lowerID(r.Repository.ID),
		PullRequestID: r.PullRequestID, Status: r.Status,
		SourceRefName: r.SourceRefName, TargetRefName: r.TargetRefName}
	if ev.ProjectID == "" {
		ev.ProjectID = lowerID(w.ResourceContainers.Project.ID)
	}
	ev.PushedBy = r.PushedBy.DisplayName
	if ev.PushedBy == "" {
		ev.PushedBy = r.PushedBy.UniqueName
	}
	if len(ev.PushedBy) > 256 {
		ev.PushedBy = ev.PushedBy[:256]
	}
	if r.LastMergeCommit != nil {
		ev.MergeCommit = strings.ToLower(r.LastMergeCommit.CommitID)
	}
	if r.LastMergeSourceCommit != nil {
		ev.MergeSourceCommit = strings.ToLower(r.LastMergeSourceCommit.CommitID)
	}
	if len(ev.SourceRefName) > maxRefLen || len(ev.TargetRefName) > maxRefLen {
		return nil, payloadError("resource.targetRefName", "a ref name is longer than %d bytes", maxRefLen)
	}
	for i, u := range r.RefUpdates {
		if i == maxRefUpdates {
			break
		}
		if len(u.Name) > maxRefLen {
			return nil, payloadError("resource.refUpdates", "a ref name is longer than %d bytes", maxRefLen)
		}
		u.OldObjectID, u.NewObjectID = strings.ToLower(u.OldObjectID), strings.ToLower(u.NewObjectID)
		ev.RefUpdates = append(ev.RefUpdates, u)
	}
	return ev, nil
}

// lowerID lower-cases a GUID for comparison (Azure DevOps writes them lower-case; a
// comparison should not depend on it).
func lowerID(s string) string {
	if len(s) > 100 {
		return ""
	}
	return strings.ToLower(s)
}
