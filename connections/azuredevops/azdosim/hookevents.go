package azdosim

// refUpdate is one ref a push changed, as git.push's resource.refUpdates names it: name,
// oldObjectId, newObjectId (40 zeros for a created or a deleted ref).
type refUpdate struct{ Name, OldObjectID, NewObjectID string }

// onPush is called after a git-receive-pack that changed refs of rp in c, with s.mu not held.
// The service hooks implement it (issue 17): they deliver git.push and let the pull requests
// whose branches moved refresh themselves.
func (s *Server) onPush(c *collection, rp *repo, pusher identity, updates []refUpdate) {}

// onPullRequest is called after pull request prID of c was created or changed, with s.mu not
// held; eventType is "git.pullrequest.created", "git.pullrequest.updated" or
// "git.pullrequest.merged". The service hooks implement it (issue 17).
func (s *Server) onPullRequest(eventType string, c *collection, prID int) {}
