package azdosim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// RepoInfo describes one repository of the simulator as its owner sees it.
//
// ID, ProjectID are UUID strings; BarePath is the bare repository on disk; DefaultBranch is a
// full ref name ("refs/heads/main"), empty when Empty (no refs at all: docs/azure-devops-protocol.md §5,
// "empty repositories have no defaultBranch"). DefaultBranch and Empty are read from disk when
// asked, so pushes show up.
type RepoInfo struct {
	ID, Name, Collection, ProjectID, ProjectName, BarePath, DefaultBranch string
	Disabled, Empty                                                       bool
}

type collection struct {
	id, name     string
	projects     []*project
	pullRequests []*pullRequest // in creation order; ids count from 1 per collection (pullrequests.go)
	// commitStatuses holds the statuses posted to commits, by repository id + "/" + commit
	// (statuses.go); endpoints the seeded service endpoints (serviceendpoints.go).
	commitStatuses map[string][]*gitStatus
	endpoints      []*serviceEndpoint
	nextStatusID   int
}

type project struct {
	id, name, description string
	revision              int
	lastUpdate            time.Time
	repos                 []*repo
}

type repo struct {
	id, name, barePath string
	disabled           bool
	proj               *project
}

// addCollection registers a collection; duplicate names (case-insensitive) are an error.
func (s *Server) addCollection(name string) error {
	if err := checkName("collection", name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findCollectionLocked(name) != nil {
		return fmt.Errorf("azdosim: duplicate collection %q", name)
	}
	s.collections = append(s.collections, &collection{id: deterministicID("collection", name), name: name})
	return nil
}

// checkName rejects names Azure DevOps would not accept in a path segment.
func checkName(kind, name string) error {
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "/\\?#%") || strings.HasPrefix(name, "_") {
		return fmt.Errorf("azdosim: invalid %s name %q", kind, name)
	}
	return nil
}

func (s *Server) findCollectionLocked(name string) *collection {
	for _, c := range s.collections {
		if nameKey(c.name) == nameKey(name) {
			return c
		}
	}
	return nil
}

// collectionLocked resolves a collection name, "" meaning the default collection; the caller
// holds s.mu.
func (s *Server) collectionLocked(name string) (*collection, error) {
	if name == "" {
		return s.collections[0], nil
	}
	c := s.findCollectionLocked(name)
	if c == nil {
		return nil, fmt.Errorf("azdosim: unknown collection %q", name)
	}
	return c, nil
}

// findProject matches a project by name (case-insensitively) or by id.
func (c *collection) findProject(nameOrID string) *project {
	for _, p := range c.projects {
		if nameKey(p.name) == nameKey(nameOrID) || strings.EqualFold(p.id, nameOrID) {
			return p
		}
	}
	return nil
}

// findRepo matches a repository by name (case-insensitively) or id within a project.
func (p *project) findRepo(nameOrID string) *repo {
	for _, r := range p.repos {
		if nameKey(r.name) == nameKey(nameOrID) || strings.EqualFold(r.id, nameOrID) {
			return r
		}
	}
	return nil
}

// findRepoAnyProject matches a repository in the whole collection, by id first, then by name
// in project-name order.
func (c *collection) findRepoAnyProject(nameOrID string) *repo {
	for _, p := range c.sortedProjects() {
		for _, r := range p.repos {
			if strings.EqualFold(r.id, nameOrID) {
				return r
			}
		}
	}
	for _, p := range c.sortedProjects() {
		if r := p.findRepo(nameOrID); r != nil {
			return r
		}
	}
	return nil
}

func (c *collection) sortedProjects() []*project {
	out := append([]*project(nil), c.projects...)
	sort.Slice(out, func(i, j int) bool { return nameKey(out[i].name) < nameKey(out[j].name) })
	return out
}

func (p *project) sortedRepos() []*repo {
	out := append([]*repo(nil), p.repos...)
	sort.Slice(out, func(i, j int) bool { return nameKey(out[i].name) < nameKey(out[j].name) })
	return out
}

// AddProject creates a project in collection ("" = the default collection) and returns its
// deterministic id. Adding an existing project (case-insensitive name) returns its id without
// error. Errors: unknown collection, invalid name.
func (s *Server) AddProject(collection, name string) (id string, err error) {
	p, err := s.ensureProject(collection, name, "")
	if err != nil {
		return "", err
	}
	return p.id, nil
}

func (s *Server) ensureProject(collName, name, description string) (*project, error) {
	if err := checkName("project", name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.collectionLocked(collName)
	if err != nil {
		return nil, err
	}
	if p := c.findProject(name); p != nil {
		return p, nil
	}
	p := &project{
		id:          deterministicID("project", c.name, name),
		name:        name,
		description: description,
		revision:    len(c.projects) + 10,
		lastUpdate:  time.Now().UTC().Truncate(time.Millisecond),
	}
	c.projects = append(c.projects, p)
	return p, nil
}

// ImportRepository registers the existing bare repository at barePath (used in place, not
// copied) as repository name of project in collection ("" = default); the project is created
// if missing. Errors: unknown collection, invalid names, barePath not a bare git repository,
// or a repository of that name already in the project.
func (s *Server) ImportRepository(collection, project, name, barePath string) (RepoInfo, error) {
	abs, err := filepath.Abs(barePath)
	if err != nil {
		return RepoInfo{}, fmt.Errorf("azdosim: %w", err)
	}
	if err := checkBareRepo(abs); err != nil {
		return RepoInfo{}, err
	}
	return s.registerRepo(collection, project, name, abs)
}

// CreateRepository creates a new empty bare repository (HEAD -> refs/heads/main) under
// DataDir and registers it as repository name of project ("" collection = default); the
// project is created if missing. Errors as for ImportRepository, plus git failures.
func (s *Server) CreateRepository(collection, project, name string) (RepoInfo, error) {
	if err := checkName("repository", name); err != nil {
		return RepoInfo{}, err
	}
	s.mu.Lock()
	c, err := s.collectionLocked(collection)
	s.mu.Unlock()
	if err != nil {
		return RepoInfo{}, err
	}
	dir := filepath.Join(s.dataDir, c.id, deterministicID("repo", c.name, project, name)+".git")
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := initBare(dir); err != nil {
			return RepoInfo{}, err
		}
	}
	return s.registerRepo(collection, project, name, dir)
}

func (s *Server) registerRepo(collName, projName, name, barePath string) (RepoInfo, error) {
	if err := checkName("repository", name); err != nil {
		return RepoInfo{}, err
	}
	p, err := s.ensureProject(collName, projName, "")
	if err != nil {
		return RepoInfo{}, err
	}
	s.mu.Lock()
	c, _ := s.collectionLocked(collName)
	if p.findRepo(name) != nil {
		s.mu.Unlock()
		return RepoInfo{}, fmt.Errorf("azdosim: repository %q already exists in project %q", name, p.name)
	}
	r := &repo{id: deterministicID("repo", c.name, p.name, name), name: name, barePath: barePath, proj: p}
	p.repos = append(p.repos, r)
	s.mu.Unlock()
	return s.info(c, r), nil
}

// SetDisabled disables or re-enables the repository with id repoID in collection ("" =
// default). A disabled repository is listed with isDisabled true and refuses git traffic
// (see smarthttp.go). Errors: unknown collection or repository id.
func (s *Server) SetDisabled(collection, repoID string, disabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.collectionLocked(collection)
	if err != nil {
		return err
	}
	for _, p := range c.projects {
		for _, r := range p.repos {
			if strings.EqualFold(r.id, repoID) {
				r.disabled = disabled
				return nil
			}
		}
	}
	return fmt.Errorf("azdosim: unknown repository id %q", repoID)
}

// Repositories lists the repositories of collection ("" = default), sorted by project then
// repository name; nil for an unknown collection.
func (s *Server) Repositories(collection string) []RepoInfo {
	s.mu.Lock()
	c, err := s.collectionLocked(collection)
	if err != nil {
		s.mu.Unlock()
		return nil
	}
	var rs []*repo
	for _, p := range c.sortedProjects() {
		rs = append(rs, p.sortedRepos()...)
	}
	s.mu.Unlock()
	out := make([]RepoInfo, 0, len(rs))
	for _, r := range rs {
		out = append(out, s.info(c, r))
	}
	return out
}

// info snapshots r (taking the lock for the mutable fields) and reads HEAD from disk.
func (s *Server) info(c *collection, r *repo) RepoInfo {
	s.mu.Lock()
	ri := RepoInfo{ID: r.id, Name: r.name, Collection: c.name, ProjectID: r.proj.id,
		ProjectName: r.proj.name, BarePath: r.barePath, Disabled: r.disabled}
	s.mu.Unlock()
	ri.DefaultBranch = defaultBranch(r.barePath)
	ri.Empty = ri.DefaultBranch == "" && !hasRefs(r.barePath)
	return ri
}
