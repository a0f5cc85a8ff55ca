package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// repoItem is one repository of the picker, with why it cannot be chosen (Blocked).
type repoItem struct {
	Repo    connections.Repository
	Badge   string // "disabled", "empty" or ""
	Blocked string // the sentence that says why it cannot be built
}

type repoGroup struct {
	Project string
	Repos   []repoItem
}

type repoListData struct {
	ConnectionID string
	Query        string
	Groups       []repoGroup
	Total        int
}

// repositoryList: GET /ui/connections/{id}/repositories[?q=] answers the picker's list: the
// repositories of every project, filtered by q (the same filter as
// GET /api/v1/connections/{id}/repositories?q=), grouped by project.
func (u *ui) repositoryList(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	q := strings.TrimSpace(c.QueryParam("q"))
	rs, err := u.svc.ListRepositories(ctx, tenantOf(c), c.Param("id"), "", q)
	if err != nil {
		return u.fail(c, err)
	}
	d := repoListData{ConnectionID: c.Param("id"), Query: q, Total: len(rs)}
	slices.SortFunc(rs, func(a, b connections.Repository) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Project.Name), strings.ToLower(b.Project.Name)),
			cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)))
	})
	for _, r := range rs {
		if len(d.Groups) == 0 || d.Groups[len(d.Groups)-1].Project != r.Project.Name {
			d.Groups = append(d.Groups, repoGroup{Project: r.Project.Name})
		}
		g := &d.Groups[len(d.Groups)-1]
		g.Repos = append(g.Repos, pickerItem(r))
	}
	return u.fragment(c, http.StatusOK, "repo-list", d)
}

// pickerItem says whether a repository can be built: Azure DevOps refuses every git and REST
// request to a disabled repository, and an empty one has no branch to build.
func pickerItem(r connections.Repository) repoItem {
	switch {
	case r.IsDisabled:
		return repoItem{Repo: r, Badge: "disabled", Blocked: "A project administrator disabled this repository, so it cannot be cloned; ask them to enable it."}
	case r.IsEmpty:
		return repoItem{Repo: r, Badge: "empty", Blocked: "This repository has no commits yet; push a first commit to build it."}
	}
	return repoItem{Repo: r}
}

type chooseData struct {
	ConnectionID string
	Repo         connections.Repository
	Branches     []connections.Branch
	Name         string
	Branch       string
	Workspace    string // "fresh" or "reuse" (the form's choice)
	Problem      *Problem
}

// choosePage: GET /ui/connections/{id}/repositories/{repositoryId} chooses the branch of the
// repository (its default branch first) and names the build profile.
func (u *ui) choosePage(c echo.Context) error {
	d, err := u.chooseData(c, c.Param("id"), c.Param("repositoryId"))
	if err != nil {
		return u.fail(c, err)
	}
	return u.render(c, http.StatusOK, "choose", "", d.Repo.Name, "connections", d)
}

func (u *ui) chooseData(c echo.Context, connID, repoID string) (*chooseData, error) {
	ctx, cancel := reqContext(c)
	defer cancel()
	tenant := tenantOf(c)
	rs, err := u.svc.ListRepositories(ctx, tenant, connID, "", "")
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(rs, func(r connections.Repository) bool { return r.ID == repoID })
	if i < 0 {
		return nil, connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "the connection cannot see that repository (any more); choose another")
	}
	d := &chooseData{ConnectionID: connID, Repo: rs[i], Name: rs[i].Name, Branch: rs[i].DefaultBranch}
	if pickerItem(rs[i]).Blocked != "" {
		return d, nil
	}
	if d.Branches, err = u.svc.ListBranches(ctx, tenant, connID, repoID); err != nil {
		return nil, err
	}
	// The default branch leads; the rest keep the service's order (by name).
	slices.SortStableFunc(d.Branches, func(a, b connections.Branch) int {
		switch {
		case a.Name == d.Repo.DefaultBranch && b.Name != d.Repo.DefaultBranch:
			return -1
		case b.Name == d.Repo.DefaultBranch && a.Name != d.Repo.DefaultBranch:
			return 1
		}
		return 0
	})
	return d, nil
}

// createProfile: POST /ui/build-profiles {name, connectionId, repositoryId, branch,
// workspace?} creates
// the build profile (services.CreateBuildProfile, as POST /api/v1/build-profiles) and opens it.
func (u *ui) createProfile(c echo.Context) error {
	in := services.BuildProfileInput{Name: strings.TrimSpace(c.FormValue("name")), ConnectionID: c.FormValue("connectionId"),
		RepositoryID: c.FormValue("repositoryId"), Branch: c.FormValue("branch"), Workspace: c.FormValue("workspace")}
	ctx, cancel := reqContext(c)
	defer cancel()
	p, err := u.svc.CreateBuildProfile(ctx, tenantOf(c), in)
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/ui/build-profiles/"+url.PathEscape(p.ID))
	}
	prob := problemFor(err)
	if prob.Status >= 500 || prob.Status == statusClientClosedRequest {
		return u.fail(c, err)
	}
	d, derr := u.chooseData(c, in.ConnectionID, in.RepositoryID)
	if derr != nil {
		return u.fail(c, err)
	}
	d.Name, d.Branch, d.Workspace, d.Problem = in.Name, in.Branch, in.Workspace, &prob
	return u.render(c, prob.Status, "choose", "", d.Repo.Name, "connections", d)
}
