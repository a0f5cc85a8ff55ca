package azdosim

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// repoView renders r as the repository JSON of docs/azure-devops-protocol.md §5: defaultBranch absent and
// size 0 for an empty repository, size otherwise the bytes under objects/, remoteUrl and
// webUrl {public}/{collection}/{project}/_git/{repo} percent-encoded, url by ids.
func (s *Server) repoView(u urlSet, c *collection, r *repo, withLinks bool) repoJSON {
	s.mu.Lock()
	disabled := r.disabled
	s.mu.Unlock()
	remote := u.remote(c.name, r.proj.name, r.name)
	rj := repoJSON{
		ID:            r.id,
		Name:          r.name,
		URL:           u.repoAPI(c.name, r.proj.id, r.id),
		Project:       projectView(u, c, r.proj),
		DefaultBranch: defaultBranch(r.barePath),
		Size:          repoSize(r.barePath),
		RemoteURL:     remote,
		SSHURL:        s.sshURL(u, c.name, r.proj.name, r.name),
		WebURL:        remote,
		IsDisabled:    disabled,
	}
	if withLinks {
		rj.Links = linksJSON{
			"self":         {Href: rj.URL},
			"project":      {Href: rj.Project.URL},
			"web":          {Href: remote},
			"ssh":          {Href: rj.SSHURL},
			"commits":      {Href: rj.URL + "/commits"},
			"refs":         {Href: rj.URL + "/refs"},
			"pullRequests": {Href: rj.URL + "/pullRequests"},
			"items":        {Href: rj.URL + "/items"},
			"pushes":       {Href: rj.URL + "/pushes"},
		}
	}
	return rj
}

// serveRepositories answers .../_apis/git/repositories[/{idOrName}[/refs]] at collection or
// project level (docs/azure-devops-protocol.md §5). tail holds the segments after "repositories".
func (s *Server) serveRepositories(w http.ResponseWriter, r *http.Request, rc restCaller, projName string, tail []string) {
	s.mu.Lock()
	var proj *project
	if projName != "" {
		proj = rc.coll.findProject(projName)
	}
	var repos []*repo
	if projName == "" {
		for _, p := range rc.coll.projects {
			repos = append(repos, p.repos...)
		}
	} else if proj != nil {
		repos = append(repos, proj.repos...)
	}
	var one *repo
	if len(tail) >= 1 {
		if proj != nil {
			one = proj.findRepo(tail[0])
		} else if projName == "" {
			one = rc.coll.findRepoAnyProject(tail[0])
		}
	}
	disabled := one != nil && one.disabled
	s.mu.Unlock()

	if projName != "" && proj == nil {
		writeAPIError(w, errProjectNotFound(projName))
		return
	}
	if len(tail) == 0 {
		sort.Slice(repos, func(i, j int) bool {
			a, b := nameKey(repos[i].name), nameKey(repos[j].name)
			if a != b {
				return a < b
			}
			return nameKey(repos[i].proj.name) < nameKey(repos[j].proj.name)
		})
		out := make([]repoJSON, 0, len(repos))
		for _, rp := range repos {
			out = append(out, s.repoView(rc.urls, rc.coll, rp, false))
		}
		writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
		return
	}
	if one == nil {
		writeAPIError(w, errRepoNotFound(tail[0]))
		return
	}
	if len(tail) == 1 {
		writeJSON(w, http.StatusOK, s.repoView(rc.urls, rc.coll, one, true))
		return
	}
	// The resources of a disabled repository answer as a missing one: 404 TF401019
	// (GitRepositoryNotFoundException), as captured in
	// cribeiro84/azure-devops-pull-request-hub#170 and renovatebot/renovate#13013; the
	// repository itself stays listed with isDisabled true.
	if disabled {
		writeAPIError(w, errRepoNotFound(tail[0]))
		return
	}
	switch strings.ToLower(tail[1]) {
	case "refs":
		s.serveRefs(w, r, rc, one, strings.Join(tail[2:], "/"))
	case "items":
		s.serveItem(w, r, rc, one, strings.Join(tail[2:], "/"))
	case "commits":
		if len(tail) == 4 && strings.EqualFold(tail[3], "statuses") {
			s.serveCommitStatuses(w, r, rc, one, tail[2])
			return
		}
		s.serveCommits(w, r, rc, one, tail[2:])
	case "pullrequests":
		s.serveRepoPullRequests(w, r, rc, one, tail[2:])
	default:
		writeAPIError(w, errNotFound())
	}
}

// serveRefs answers the refs list: filter is a prefix after "refs/" ("heads/"), taken from the
// query or else from the path after refs/ (pathFilter: the route template's {*filter}),
// sorted by name, read from the bare repository; $top (max 1000) and continuationToken page it
// with X-MS-ContinuationToken; without either, everything comes back (docs/azure-devops-protocol.md §5).
func (s *Server) serveRefs(w http.ResponseWriter, r *http.Request, rc restCaller, rp *repo, pathFilter string) {
	pr, e := parsePage(r, 0, 100, 1000)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	filter := r.URL.Query().Get("filter")
	if filter == "" {
		filter = pathFilter
	}
	refs, err := listRefs(rp.barePath, "refs/"+strings.TrimPrefix(filter, "refs/"))
	if err != nil {
		writeAPIError(w, newAPIError(http.StatusInternalServerError, "GitRepositoryException",
			"Microsoft.TeamFoundation.Git.Server.GitRepositoryException", err.Error()))
		return
	}
	keys := make([]string, len(refs))
	for i, ref := range refs {
		keys[i] = ref.Name
	}
	start, end, next := pr.window(keys)
	base := rc.urls.repoAPI(rc.coll.name, rp.proj.id, rp.id) + "/refs?filter="
	out := make([]refJSON, 0, end-start)
	for _, ref := range refs[start:end] {
		out = append(out, refJSON{
			Name:     ref.Name,
			ObjectID: ref.ObjectID,
			Creator:  identityRefJSON{DisplayName: rc.id.DisplayName, ID: rc.id.ID, UniqueName: rc.id.UniqueName},
			URL:      base + url.QueryEscape(strings.TrimPrefix(ref.Name, "refs/")),
		})
	}
	setContinuation(w, next)
	writeJSON(w, http.StatusOK, listJSON{Count: len(out), Value: out})
}

// resolveGitRepo finds the repository of a _git route; project "" is the short form where the
// project is named like the repository (docs/azure-devops-protocol.md §2). It returns the error to answer.
func (s *Server) resolveGitRepo(c *collection, projName, repoName string) (*repo, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lookup := projName
	if lookup == "" {
		lookup = repoName
	}
	p := c.findProject(lookup)
	if p == nil {
		if projName == "" {
			return nil, errRepoNotFound(repoName)
		}
		return nil, errProjectNotFound(projName)
	}
	rp := p.findRepo(repoName)
	if rp == nil {
		return nil, errRepoNotFound(repoName)
	}
	return rp, nil
}

// serveVstsInfo answers GET {remoteUrl}/vsts/info (docs/azure-devops-protocol.md §2): serverUrl (the public
// base including the virtual directory), the collection and the repository, in the shape of
// the REST specification's example (vstsInfoView: the project's state as the number 1).
func (s *Server) serveVstsInfo(w http.ResponseWriter, r *http.Request, rt route) {
	rc, ok := s.beginREST(w, r, rt.coll, false, false, "vso.code")
	if !ok {
		return
	}
	rp, e := s.resolveGitRepo(rc.coll, rt.project, rt.repo)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, vstsInfoView(rc.urls, rc.coll, rp))
}
