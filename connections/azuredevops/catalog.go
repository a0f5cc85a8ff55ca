package azuredevops

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"strconv"

	"github.com/repoconnect/repoconnect/connections"
)

// APIVersion is the REST api-version the client asks for: 6.0, the ceiling of Azure DevOps
// Server 2020, the oldest release the service supports (docs/azure-devops-protocol.md §1).
const APIVersion = "6.0"

// pageSize is the $top sent on paged lists (projects, refs).
const pageSize = 100

// maxPages bounds a paged walk, so a server that keeps sending continuation tokens cannot keep
// the client busy forever (100 pages of 100 = 10,000 items).
const maxPages = 100

var _ connections.Provider = (*Client)(nil)

// paged walks a list that continues through the X-MS-ContinuationToken header
// (docs/azure-devops-protocol.md §4, §5), calling each for every page.
func paged[T any](ctx context.Context, c *Client, path string, q url.Values, each func([]T)) error {
	q.Set("$top", strconv.Itoa(pageSize))
	for range maxPages {
		var page wireList[T]
		r, err := c.get(ctx, path, q, lenient(&page))
		if err != nil {
			return err
		}
		each(page.Value)
		next := r.header.Get("X-MS-ContinuationToken")
		if next == "" {
			return nil
		}
		q.Set("continuationToken", next)
	}
	return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
		"the server kept sending continuation tokens after %d pages", maxPages)
}

func apiQuery() url.Values { return url.Values{"api-version": {APIVersion}} }

// ListProjects returns every project of the collection visible to the credential, sorted by
// name (GET {collection}/_apis/projects, paged; docs/azure-devops-protocol.md §5). A missing collection is
// ErrNotFound with reason collection_not_found.
func (c *Client) ListProjects(ctx context.Context) ([]connections.Project, error) {
	var out []connections.Project
	err := paged(ctx, c, "_apis/projects", apiQuery(), func(ps []wireProject) {
		for _, p := range ps {
			out = append(out, p.toProject())
		}
	})
	if err != nil {
		return nil, c.collectionNotFound(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ListRepositories returns the repositories of project (name or id), or of the whole
// collection when project is empty, sorted by project then name (GET
// [{project}/]_apis/git/repositories, one unpaged list; docs/azure-devops-protocol.md §5).
func (c *Client) ListRepositories(ctx context.Context, project string) ([]connections.Repository, error) {
	path := "_apis/git/repositories"
	if project != "" {
		path = url.PathEscape(project) + "/" + path
	}
	var list wireList[wireRepository]
	if _, err := c.get(ctx, path, apiQuery(), lenient(&list)); err != nil {
		if project == "" {
			return nil, c.collectionNotFound(err)
		}
		return nil, err
	}
	out := make([]connections.Repository, 0, len(list.Value))
	for _, r := range list.Value {
		out = append(out, r.toRepository())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Project.Name != out[j].Project.Name {
			return out[i].Project.Name < out[j].Project.Name
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// GetRepository returns one repository by id (GET _apis/git/repositories/{id}); ErrNotFound
// when it does not exist or the credential cannot see it.
func (c *Client) GetRepository(ctx context.Context, repositoryID string) (*connections.Repository, error) {
	var r wireRepository
	if _, err := c.get(ctx, "_apis/git/repositories/"+url.PathEscape(repositoryID), apiQuery(), lenient(&r)); err != nil {
		return nil, err
	}
	repo := r.toRepository()
	return &repo, nil
}

// ListBranches returns the branch heads of a repository, sorted by name (GET
// _apis/git/repositories/{id}/refs?filter=heads/, paged; docs/azure-devops-protocol.md §5).
func (c *Client) ListBranches(ctx context.Context, repositoryID string) ([]connections.Branch, error) {
	q := apiQuery()
	q.Set("filter", "heads/")
	var out []connections.Branch
	err := paged(ctx, c, "_apis/git/repositories/"+url.PathEscape(repositoryID)+"/refs", q, func(refs []wireRef) {
		for _, r := range refs {
			if name, ok := cutHeads(string(r.Name)); ok {
				out = append(out, connections.Branch{Name: name, Commit: string(r.ObjectID)})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func cutHeads(ref string) (string, bool) {
	const p = "refs/heads/"
	if len(ref) > len(p) && ref[:len(p)] == p {
		return ref[len(p):], true
	}
	return "", false
}

// collectionNotFound re-labels a 404 on a collection-level call as collection_not_found.
func (c *Client) collectionNotFound(err error) error {
	if !errors.Is(err, connections.ErrNotFound) {
		return err
	}
	return connections.Errorf(connections.ErrNotFound, connections.ReasonCollectionNotFound,
		"the collection %q was not found at %s; check the collection name (Azure DevOps Server shows them under Administration > Collections) and the virtual directory (older servers use /tfs)",
		c.ep.Collection, c.ep.ServerURL()).Wrap(err)
}
