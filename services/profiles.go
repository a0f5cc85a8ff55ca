package services

import (
	"context"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
)

// BuildProfileInput is what a caller sends to create a build profile. Branch is a short name;
// empty means the repository's default branch.
type BuildProfileInput struct {
	Name         string `json:"name"`
	ConnectionID string `json:"connectionId"`
	RepositoryID string `json:"repositoryId"`
	Branch       string `json:"branch"`
	// Triggers start runs from service-hook deliveries (triggers.go); nil: none.
	Triggers *TriggersInput `json:"triggers,omitempty"`
	// ServiceEndpoints are ids of the project's service connections the profile names
	// (serviceendpoints.go: at most MaxProfileServiceEndpoints, each one the project has).
	ServiceEndpoints []string `json:"serviceEndpoints,omitempty"`
	// Workspace is "fresh" (a new directory per run) or "reuse" (one work tree kept between
	// runs, workspace.go); "" means fresh.
	Workspace string `json:"workspace,omitempty"`
}

// CreateBuildProfile checks that the connection exists, that its credential can see the
// repository, that the repository is neither disabled nor empty and that the branch exists, then
// stores the profile. Errors: ErrInvalidInput naming the field (connectionId, repositoryId,
// branch, name, serviceEndpoints[i], workspace); store.ErrConflict for a duplicate name; forge errors.
func (s *Service) CreateBuildProfile(ctx context.Context, tenant string, in BuildProfileInput) (*store.BuildProfile, error) {
	p, _, err := s.CreateBuildProfileWithHook(ctx, tenant, in)
	return p, err
}

// CreateBuildProfileWithHook is CreateBuildProfile that also returns the hook's credential
// (shown once) when in has triggers; nil otherwise. Errors: as CreateBuildProfile, and field
// errors triggers.* (triggers.go), checked before anything is stored.
func (s *Service) CreateBuildProfileWithHook(ctx context.Context, tenant string, in BuildProfileInput) (*store.BuildProfile, *HookCredential, error) {
	name, err := checkName("name", "build profile", in.Name)
	if err != nil {
		return nil, nil, err
	}
	workspace, err := checkWorkspace("workspace", in.Workspace)
	if err != nil {
		return nil, nil, err
	}
	if err := checkID("connectionId", in.ConnectionID, ""); err != nil {
		return nil, nil, err
	}
	if err := checkID("repositoryId", in.RepositoryID, "; list them at /api/v1/connections/{id}/repositories"); err != nil {
		return nil, nil, err
	}
	o, err := s.open(ctx, tenant, in.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, invalid("connectionId", "there is no connection %q", in.ConnectionID)
	} else if err != nil {
		return nil, nil, err
	}
	var repo *connections.Repository
	err = s.call(ctx, o, func(c *azuredevops.Client) (err error) {
		repo, err = c.GetRepository(ctx, in.RepositoryID)
		return err
	})
	if errors.Is(err, connections.ErrNotFound) {
		return nil, nil, invalid("repositoryId", "the connection cannot see a repository with id %q; list the repositories it can see at /api/v1/connections/%s/repositories", in.RepositoryID, o.rec.ID)
	} else if err != nil {
		return nil, nil, err
	}
	if err := buildable(repo); err != nil {
		return nil, nil, err
	}
	branch := strings.TrimPrefix(strings.TrimSpace(in.Branch), "refs/heads/")
	if branch == "" {
		branch = strings.TrimPrefix(repo.DefaultBranch, "refs/heads/")
	}
	triggers, err := normalizeTriggers("triggers", in.Triggers, branch)
	if err != nil {
		return nil, nil, err
	}
	var branches []connections.Branch
	if err := s.call(ctx, o, func(c *azuredevops.Client) (err error) {
		branches, err = c.ListBranches(ctx, repo.ID)
		return err
	}); err != nil {
		return nil, nil, err
	}
	if !hasBranch(branches, branch) {
		return nil, nil, invalid("branch", "the repository %q has no branch %q", repo.Name, branch)
	}
	project := repo.Project.ID
	if project == "" {
		project = repo.Project.Name
	}
	endpoints, err := s.checkServiceEndpoints(ctx, o, project, in.ServiceEndpoints)
	if err != nil {
		return nil, nil, err
	}
	p := &store.BuildProfile{ID: newID(), TenantID: tenant, Name: name, ConnectionID: o.rec.ID,
		RepositoryID: repo.ID, RepositoryName: repo.Name, ProjectName: repo.Project.Name,
		RemoteURL: repo.RemoteURL, Branch: branch, CreatedAt: s.now().UTC(),
		ProjectID: strings.ToLower(repo.Project.ID), ServiceEndpoints: endpoints, Workspace: workspace}
	if err := s.store.CreateBuildProfile(detach(ctx), p); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, nil, invalid("name", "a build profile named %q exists already", name).Wrap(store.ErrConflict)
		}
		return nil, nil, err
	}
	if triggers != nil {
		// The triggers and the hook are written by an update: the store's create keeps its
		// contract, and the hook id is indexed with the profile's update.
		up, cred, err := s.UpdateBuildProfile(ctx, tenant, p.ID, BuildProfilePatch{Triggers: in.Triggers})
		if err != nil {
			_ = s.store.DeleteBuildProfile(detach(ctx), tenant, p.ID)
			return nil, nil, err
		}
		return up, cred, nil
	}
	return p, nil, nil
}

// buildable refuses disabled and empty repositories, naming the field repositoryId.
func buildable(repo *connections.Repository) error {
	switch {
	case repo.IsDisabled:
		return invalid("repositoryId", "the repository %q is disabled in Azure DevOps; a project administrator can enable it under Project settings > Repositories", repo.Name)
	case repo.IsEmpty:
		return invalid("repositoryId", "the repository %q is empty; push a first commit before building it", repo.Name)
	}
	return nil
}

func hasBranch(bs []connections.Branch, name string) bool {
	for _, b := range bs {
		if b.Name == name {
			return true
		}
	}
	return false
}

// GetBuildProfile returns a build profile of the tenant; store.ErrNotFound otherwise.
func (s *Service) GetBuildProfile(ctx context.Context, tenant, id string) (*store.BuildProfile, error) {
	return s.store.GetBuildProfile(ctx, tenant, id)
}

// ListBuildProfiles returns one page of the tenant's build profiles, oldest first (limit and
// after as in ListConnections).
func (s *Service) ListBuildProfiles(ctx context.Context, tenant string, limit int, after string) ([]*store.BuildProfile, string, error) {
	page, err := pageOf(limit, after)
	if err != nil {
		return nil, "", err
	}
	ps, next, err := s.store.ListBuildProfiles(ctx, tenant, page)
	return ps, next, pageError(err)
}

// DeleteBuildProfile deletes a build profile and its clones; store.ErrNotFound when absent.
//
// Its Azure DevOps hook subscriptions are deleted first, best effort: a failure is logged and
// does not block the delete (subscriptions.go).
func (s *Service) DeleteBuildProfile(ctx context.Context, tenant, id string) error {
	p, err := s.store.GetBuildProfile(ctx, tenant, id)
	if err != nil {
		return err
	}
	s.deleteSubscriptions(detach(ctx), nil, p)
	if err := s.store.DeleteBuildProfile(ctx, tenant, id); err != nil {
		return err
	}
	s.removeClones(ctx, tenant, id)
	s.workspaces.forget(s.cloneRoot(tenant, id))
	return nil
}

// cloneRoot is the directory holding a build profile's clones.
func (s *Service) cloneRoot(tenant, profileID string) string {
	return filepath.Join(s.opts.WorkDir, safeSegment(tenant), safeSegment(profileID))
}

// removeClones deletes a deleted build profile's clones, its reused workspace included; a failure is logged, not returned,
// since the record is gone already.
func (s *Service) removeClones(ctx context.Context, tenant, profileID string) {
	if s.opts.WorkDir == "" {
		return
	}
	s.cancelClonesOf(ctx, tenant, profileID) // else a running clone would write the directory again
	if err := os.RemoveAll(s.cloneRoot(tenant, profileID)); err != nil {
		s.log.WarnContext(ctx, "could not remove a deleted build profile's clones", "profile", profileID, "err", err)
	}
}

// CloneInput tunes a clone. Depth 0 is full history. Commit (40 hex digits) checks out that
// commit of the profile's branch, HEAD detached, instead of the branch's tip; it must be
// within Depth commits of the tip (gitops.CloneOptions.Commit). Submodules clones the
// submodules the tree names, recursively, at their recorded commits, with the connection's
// credential sent to the same host only.
type CloneInput struct {
	Depth      int    `json:"depth"`
	Commit     string `json:"commit,omitempty"`
	Submodules bool   `json:"submodules,omitempty"`
	// Ref is the full ref to fetch instead of the profile's branch (a run's ref:
	// refs/heads/{branch}, or a pull request's refs/pull/{id}/merge, fetched alone:
	// gitops.CloneOptions.Ref); with Commit, the commit checked out of it.
	Ref string `json:"ref,omitempty"`
	// Force starts the clone even while another run of the profile is queued or running.
	// Without it StartClone refuses such a start with a *connections.Error of kind
	// connections.ErrRunActive, reason connections.ReasonRunActive ("run_active"; the API
	// answers 409), field "force", whose message names the active run and whose cause is a
	// *RunActiveError (runguard.go). CloneBuildProfile (the synchronous clone) and the runs
	// of service hooks and polling are not guarded and ignore it.
	Force bool `json:"force,omitempty"`
}

// maxDepth bounds the depth a caller may ask for.
const maxDepth = 1 << 20

// CloneBuildProfile clones the profile's repository and branch into a new directory below the
// work directory ({work}/{tenant}/{profile}/{time}-{random}; removed with the profile) and
// returns the commit checked out. A profile with workspace "reuse" clones into its workspace
// instead ({work}/{tenant}/{profile}/workspace: the same path every time, updated in place)
// when the service has a cache and no other run holds the workspace; a run that cannot take
// it at once uses a new directory. With a cache (Options.CacheDir) every clone goes through
// it; Result.Source and Result.Stats say which path the clone took and what it moved. The clone URL is built from the connection's server URL and
// the repository's current project and name (looked up by id), not from the remoteUrl the
// server reported, so a server whose public URL says localhost still clones
// (docs/azure-devops-protocol.md §3). Errors: store.ErrNotFound, field errors (depth; repositoryId when the
// repository became disabled or empty), forge errors and the clone engine's errors;
// ErrCloneCancelled when the profile is deleted while it clones.
func (s *Service) CloneBuildProfile(ctx context.Context, tenant, id string, in CloneInput, progress io.Writer) (*gitops.Result, error) {
	p, err := s.checkClone(ctx, tenant, id, in)
	if err != nil {
		return nil, err
	}
	// Held like a job's clone: the janitor leaves it alone, deleting the profile cancels it.
	ctx, release := s.clones.hold(ctx, s.cloneRoot(tenant, p.ID))
	defer release()
	// It waits in line for one of Options.MaxClones slots, as a job does, until ctx ends.
	if err := s.clones.slots.acquire(ctx); err != nil {
		return nil, err
	}
	defer s.clones.slots.release()
	res, err := s.trackedClone(ctx, tenant, p, in, progress, nil) // telemetry.go
	if err != nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return res, err
}

// checkClone validates what a clone can be refused for without asking the forge: the depth,
// the work directory and the profile. Errors: field error depth, ErrInvalidInput without a
// work directory, store.ErrNotFound.
func (s *Service) checkClone(ctx context.Context, tenant, id string, in CloneInput) (*store.BuildProfile, error) {
	if in.Depth < 0 || in.Depth > maxDepth {
		return nil, invalid("depth", "depth must be 0 (full history) or a positive number of commits")
	}
	if in.Commit != "" && !isCommitID(in.Commit) {
		return nil, invalid("commit", "commit must be a full commit id: 40 hexadecimal digits")
	}
	if s.opts.WorkDir == "" {
		return nil, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "no work directory is configured for clones")
	}
	p, err := s.store.GetBuildProfile(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if err := s.allow(ctx, tenant, ActionClone); err != nil {
		return nil, err
	}
	return p, nil
}

// cloneProfile is the rest of CloneBuildProfile once checkClone passed: it looks the
// repository up and clones it. progress gets git's sideband text and onProgress the clone's
// progress (gitops.CloneOptions); either may be nil.
func (s *Service) cloneProfile(ctx context.Context, tenant string, p *store.BuildProfile, in CloneInput, progress io.Writer, onProgress func(gitops.Progress)) (*gitops.Result, error) {
	ctx = connKey(ctx, p.ConnectionID) // the clone's requests are paced with the connection's REST calls
	o, err := s.open(ctx, tenant, p.ConnectionID)
	if err != nil {
		return nil, err
	}
	// The repository's current names: it may have been renamed since the profile was made.
	var repo *connections.Repository
	if err := s.call(ctx, o, func(c *azuredevops.Client) (err error) {
		repo, err = c.GetRepository(ctx, p.RepositoryID)
		return err
	}); err != nil {
		return nil, err
	}
	if err := buildable(repo); err != nil {
		return nil, err
	}
	parent := s.cloneRoot(tenant, p.ID)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	// A profile reusing its workspace clones into it when no other run holds it (workspace.go).
	dir, reuse, releaseWorkspace := s.cloneTarget(tenant, p, parent)
	defer releaseWorkspace()
	cloneURL := o.ep.CollectionURL() + "/" + url.PathEscape(repo.Project.Name) + "/_git/" + url.PathEscape(repo.Name)
	start := s.now()
	unmark, err := s.markClone(dir) // janitor.go: removed at the next start if this process dies
	if err != nil {
		return nil, err
	}
	branch, ref := p.Branch, ""
	if in.Ref != "" {
		if b, ok := strings.CutPrefix(in.Ref, "refs/heads/"); ok {
			branch = b
		} else {
			branch, ref = "", in.Ref // a pull request's merge ref: fetched alone (gitops.CloneOptions.Ref)
		}
	}
	opts := gitops.CloneOptions{URL: cloneURL, Dir: dir, Branch: branch, Ref: ref, Depth: in.Depth,
		Door: s.door, PAT: o.cred.PAT, Token: o.cred.Bearer, CACertificatePEM: []byte(o.rec.CACertificate), Progress: progress,
		OnProgress: onProgress, Timeout: s.opts.CloneTimeout, MaxBytes: s.opts.MaxCloneBytes,
		Commit: strings.ToLower(in.Commit), Submodules: in.Submodules,
		MaxFiles: s.opts.MaxCloneFiles, MaxObjectBytes: s.opts.MaxObjectBytes, MinFreeBytes: s.opts.MinFreeSpace,
		Memory: s.clones.memory, Reuse: reuse}
	if s.cache != nil {
		opts.Cache, opts.CacheKey = s.cache, cacheKey(tenant, p)
	}
	// A connection with an SSH key clones over SSH (sshclone.go); the cache is the same: it
	// fetches with each clone's own URL and credential.
	overSSH, err := s.sshCloneOptions(o, repo, &opts)
	if err != nil {
		unmark()
		return nil, err
	}
	res, err := gitops.Clone(ctx, opts)
	unmark()
	if err != nil {
		s.log.WarnContext(ctx, "clone failed", "tenant", tenant, "profile", p.ID, "ssh", overSSH, "err", err)
		if overSSH {
			return nil, s.sshError(ctx, o.rec, err)
		}
		return nil, s.observe(ctx, o, err)
	}
	s.log.InfoContext(ctx, "cloned", "tenant", tenant, "profile", p.ID, "commit", res.Commit, "source", res.Source,
		"fetchedObjects", res.Stats.FetchedObjects, "writtenFiles", res.Stats.WrittenFiles, "ms", s.now().Sub(start).Milliseconds())
	return res, nil
}

// isCommitID reports whether s is 40 hexadecimal digits.
func isCommitID(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// safeSegment makes a tenant name usable as one path segment.
func safeSegment(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == '.' {
			return '_'
		}
		return r
	}, s)
}
