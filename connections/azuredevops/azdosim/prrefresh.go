package azdosim

// refreshPullRequests is called by the service hooks after a push to rp in c (s.mu not held):
// active pull requests of rp whose source or target branch the push moved get a new merge
// commit (refs/pull/{id}/merge, lastMergeCommit; remerge), a new iteration when the source
// moved, and a git.pullrequest.updated event (onPullRequest), as Azure DevOps recomputes the
// merge on every push to either branch and fires "Pull request updated" for source pushes
// (learn.microsoft.com/azure/devops/service-hooks/events, git.pullrequest.updated).
func (s *Server) refreshPullRequests(c *collection, rp *repo, updates []refUpdate) {
	moved := map[string]bool{}
	for _, u := range updates {
		moved[u.Name] = true
	}
	s.mu.Lock()
	var hit []*pullRequest
	for _, pr := range c.pullRequests {
		if pr.repo == rp && pr.status == "active" && (moved[pr.sourceRef] || moved[pr.targetRef]) {
			hit = append(hit, pr)
		}
	}
	s.mu.Unlock()
	for _, pr := range hit {
		if s.remerge(pr, false) {
			s.onPullRequest("git.pullrequest.updated", c, pr.id)
		}
	}
}
