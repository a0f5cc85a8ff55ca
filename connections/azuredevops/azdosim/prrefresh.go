package azdosim

// refreshPullRequests is called by the service hooks after a push to rp in c (s.mu not held):
// active pull requests whose source or target branch moved get a new merge commit
// (refs/pull/{id}/merge, lastMergeCommit) and a git.pullrequest.updated event. The pull
// request model implements it (issue 17).
func (s *Server) refreshPullRequests(c *collection, rp *repo, updates []refUpdate) {}
