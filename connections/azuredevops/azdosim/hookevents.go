package azdosim

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// refUpdate is one ref a push changed, as git.push's resource.refUpdates names it: name,
// oldObjectId, newObjectId (40 zeros for a created or a deleted ref).
type refUpdate struct{ Name, OldObjectID, NewObjectID string }

const zeroID = "0000000000000000000000000000000000000000"

// pushCounter numbers pushes (resource.pushId) across the server.
var pushCounter atomic.Int64

// refSnapshot reads every ref of a bare repository: name → object id.
func refSnapshot(gitDir string) map[string]string {
	out, err := git(gitDir, nil, nil, "for-each-ref", "--format=%(objectname) %(refname)")
	refs := map[string]string{}
	if err != nil {
		return refs
	}
	for _, line := range strings.Split(out, "\n") {
		if id, name, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			refs[name] = id
		}
	}
	return refs
}

// diffRefs lists the refs that differ between two snapshots, sorted by name.
func diffRefs(before, after map[string]string) []refUpdate {
	var ups []refUpdate
	for name, id := range after {
		if old, ok := before[name]; !ok || old != id {
			if !ok {
				old = zeroID
			}
			ups = append(ups, refUpdate{Name: name, OldObjectID: old, NewObjectID: id})
		}
	}
	for name, old := range before {
		if _, ok := after[name]; !ok {
			ups = append(ups, refUpdate{Name: name, OldObjectID: old, NewObjectID: zeroID})
		}
	}
	for i := 1; i < len(ups); i++ {
		for j := i; j > 0 && ups[j].Name < ups[j-1].Name; j-- {
			ups[j], ups[j-1] = ups[j-1], ups[j]
		}
	}
	return ups
}

// onPush is called after a git-receive-pack that changed refs of rp in c, with s.mu not held.
// It lets the pull requests whose branches moved refresh themselves (refreshPullRequests),
// then delivers git.push to each matching subscription (asynchronously).
func (s *Server) onPush(c *collection, rp *repo, pusher identity, updates []refUpdate) {
	if len(updates) == 0 {
		return
	}
	s.refreshPullRequests(c, rp, updates)
	var branches []string
	for _, u := range updates {
		branches = append(branches, u.Name)
	}
	subs := s.matchingSubscriptions(c, "git.push", rp.id, rp.proj.id, branches)
	if len(subs) == 0 {
		return
	}
	s.enqueue(s.pushEvent(c, rp, pusher, updates), subs)
}

// hookURLs is the URL set payloads are built with: Options.PublicURL, else the base of the
// last request that reached the hooks (push or subscription call).
func (s *Server) hookURLs() urlSet {
	if s.opts.PublicURL != "" {
		return urlSet{base: strings.TrimSuffix(s.opts.PublicURL, "/")}
	}
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return urlSet{base: s.hooks.base}
}

// eventEnvelope is the part every event shares (learn.microsoft.com/azure/devops/service-hooks/events,
// the sample payloads): id (a new GUID per event), eventType, publisherId "tfs", message and
// detailedMessage {text, html, markdown}, resource, resourceVersion "1.0",
// resourceContainers {collection, account, project: {id}}, createdDate.
func eventEnvelope(c *collection, projectID, eventType, text, markdown string, resource any) hookEvent {
	id := uuid.NewString()
	msg := map[string]string{"text": text, "html": htmlEscape(text), "markdown": markdown}
	return hookEvent{id: id, eventType: eventType, coll: c, payload: map[string]any{
		"id": id, "eventType": eventType, "publisherId": "tfs",
		"message": msg, "detailedMessage": msg,
		"resource": resource, "resourceVersion": "1.0",
		"resourceContainers": map[string]any{"collection": map[string]string{"id": c.id},
			"account": map[string]string{"id": c.id}, "project": map[string]string{"id": projectID}},
		"createdDate": time.Now().UTC().Format(time.RFC3339Nano),
	}}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// pushEvent builds git.push (events page, "Code pushed"): resource.commits (the new commits of
// the updated refs, newest first, at most 100), refUpdates, repository (the repository
// resource: id, name, url, project, defaultBranch, remoteUrl...), pushedBy {id, displayName,
// uniqueName}, pushId, date, url.
func (s *Server) pushEvent(c *collection, rp *repo, pusher identity, updates []refUpdate) hookEvent {
	u := s.hookURLs()
	repoJ := s.repoView(u, c, rp, false)
	pushID := pushCounter.Add(1)
	api := u.repoAPI(c.name, rp.proj.id, rp.id)
	type refJ struct {
		Name        string `json:"name"`
		OldObjectID string `json:"oldObjectId"`
		NewObjectID string `json:"newObjectId"`
	}
	refs := make([]refJ, 0, len(updates))
	var commits []map[string]any
	for _, up := range updates {
		refs = append(refs, refJ(up))
		if up.NewObjectID != zeroID {
			commits = append(commits, newCommits(rp.barePath, up, api)...)
		}
	}
	if commits == nil {
		commits = []map[string]any{}
	}
	resource := map[string]any{
		"commits": commits, "refUpdates": refs, "repository": repoJ,
		"pushedBy": identityRefLite{ID: pusher.ID, DisplayName: pusher.DisplayName, UniqueName: pusher.UniqueName},
		"pushId":   pushID, "date": time.Now().UTC().Format(time.RFC3339Nano),
		"url": api + "/pushes/" + strconv.FormatInt(pushID, 10),
	}
	branch := strings.TrimPrefix(updates[0].Name, "refs/heads/")
	// "{who} pushed updates to {repository}:{branch}", as a captured delivery's message has
	// (the real text adds a line with the branch's web URL).
	text := pusher.DisplayName + " pushed updates to " + rp.name + ":" + branch
	md := text
	return eventEnvelope(c, rp.proj.id, "git.push", text, md, resource)
}

// newCommits lists the commits up reached that were not reachable from its old value (at most
// 100), as resource.commits items: commitId, author, committer {name, email, date}, comment, url.
func newCommits(gitDir string, up refUpdate, api string) []map[string]any {
	args := []string{"log", "-n", "100", "--format=%H%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%s", up.NewObjectID}
	if up.OldObjectID != zeroID {
		args = append(args, "^"+up.OldObjectID)
	}
	out, err := git(gitDir, nil, nil, args...)
	if err != nil {
		return nil
	}
	var cs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 8 {
			continue
		}
		cs = append(cs, map[string]any{"commitId": f[0],
			"author":    map[string]string{"name": f[1], "email": f[2], "date": f[3]},
			"committer": map[string]string{"name": f[4], "email": f[5], "date": f[6]},
			"comment":   f[7], "url": api + "/commits/" + f[0]})
	}
	return cs
}

// onPullRequest is called after pull request prID of c was created or changed, with s.mu not
// held; eventType is "git.pullrequest.created", "git.pullrequest.updated" or
// "git.pullrequest.merged". It delivers the event, whose resource is the pull request as the
// REST API renders it (pullRequestView), to each matching subscription (repository and
// target branch filters).
func (s *Server) onPullRequest(eventType string, c *collection, prID int) {
	s.mu.Lock()
	var pr *pullRequest
	if prID >= 1 && prID <= len(c.pullRequests) {
		pr = c.pullRequests[prID-1]
	}
	s.mu.Unlock()
	if pr == nil {
		return
	}
	subs := s.matchingSubscriptions(c, eventType, pr.repo.id, pr.repo.proj.id, []string{pr.targetRef})
	if len(subs) == 0 {
		return
	}
	s.enqueue(s.pullRequestEvent(eventType, c, pr), subs)
}

// pullRequestEvent builds git.pullrequest.* (events page, "Pull request created / updated /
// merge attempted"): resource is the pull request JSON; lastMergeCommit is read from
// refs/pull/{id}/merge when the view lacks it.
func (s *Server) pullRequestEvent(eventType string, c *collection, pr *pullRequest) hookEvent {
	u := s.hookURLs()
	view := s.pullRequestView(restCaller{coll: c, urls: u}, pr, true)
	raw, _ := json.Marshal(view)
	resource := map[string]any{}
	_ = json.Unmarshal(raw, &resource)
	if _, ok := resource["lastMergeCommit"]; !ok {
		if id, err := git(pr.repo.barePath, nil, nil, "rev-parse", "--verify", "-q", "refs/pull/"+strconv.Itoa(pr.id)+"/merge"); err == nil && strings.TrimSpace(id) != "" {
			id = strings.TrimSpace(id)
			resource["lastMergeCommit"] = map[string]string{"commitId": id,
				"url": u.repoAPI(c.name, pr.repo.proj.id, pr.repo.id) + "/commits/" + id}
		}
	}
	who := pr.createdBy.DisplayName
	var text string
	switch eventType {
	case "git.pullrequest.created":
		text = who + " created a new pull request"
	case "git.pullrequest.merged":
		text = who + " has created a pull request merge commit"
	default:
		text = who + " updated the pull request"
	}
	text += " " + strconv.Itoa(pr.id) + " (" + pr.title + ")"
	return eventEnvelope(c, pr.repo.proj.id, eventType, text, text, resource)
}
