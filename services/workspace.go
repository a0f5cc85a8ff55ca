package services

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
)

// Repeat builds (issue 18): the service's side of the repository cache (one per process,
// Options.CacheDir) and of the reusable workspaces (a profile setting).

// Build profile workspace settings (store.BuildProfile.Workspace).
const (
	// WorkspaceFresh gives each run a new directory ({work}/{tenant}/{profile}/{time}-{id});
	// the janitor removes it after Options.CloneRetention. The default.
	WorkspaceFresh = "fresh"
	// WorkspaceReuse keeps one work tree per profile ({work}/{tenant}/{profile}/workspace),
	// updated in place by each run (gitops.CloneOptions.Reuse); the janitor leaves it, deleting
	// the profile removes it. It needs the repository cache (Options.CacheDir): without one,
	// runs of the profile clone into fresh directories.
	WorkspaceReuse = "reuse"
)

// DefaultCacheMaxBytes is the repository cache's size bound `repoconnect serve` sets unless
// --cache-max-bytes says otherwise: 10 GiB.
const DefaultCacheMaxBytes int64 = 10 << 30

// workspaceDirName is the reused workspace's directory below a profile's clone root; fresh
// clone directories are named {time}-{id} and never collide with it.
const workspaceDirName = "workspace"

// workspaceLockName is the lock file beside it (flock: runs of other processes on the same
// work directory are serialised too).
const workspaceLockName = "workspace.lock"

// checkWorkspace validates a workspace setting: "" means fresh. Errors: a field error naming
// field and the allowed values.
func checkWorkspace(field, v string) (string, error) {
	switch v {
	case "", WorkspaceFresh:
		return WorkspaceFresh, nil
	case WorkspaceReuse:
		return WorkspaceReuse, nil
	}
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return "", invalid(field, "workspace must be %q (a new directory for every run) or %q (one work tree kept between runs), not %s",
		WorkspaceFresh, WorkspaceReuse, strconv.Quote(v))
}

// WorkspaceOf is a profile's workspace setting, "fresh" for profiles saved before it existed.
func WorkspaceOf(p *store.BuildProfile) string {
	if p.Workspace == WorkspaceReuse {
		return WorkspaceReuse
	}
	return WorkspaceFresh
}

// openCache opens the repository cache of Options.CacheDir once, when set.
func (s *Service) openCache() error {
	if s.opts.CacheDir == "" {
		return nil
	}
	c, err := gitops.NewCache(s.opts.CacheDir, s.opts.CacheMaxBytes)
	if err != nil {
		return err
	}
	s.cache = c
	return nil
}

// CacheDir is the repository cache's directory (absolute), "" when the service has none.
func (s *Service) CacheDir() string {
	if s.cache == nil {
		return ""
	}
	return s.cache.Dir()
}

// cacheKey is the cache entry of a profile's repository: never shared between tenants or
// connections.
func cacheKey(tenant string, p *store.BuildProfile) gitops.CacheKey {
	return gitops.CacheKey{Tenant: tenant, Connection: p.ConnectionID, Repository: p.RepositoryID}
}

// WorkspacePath is the reused workspace of a profile: {work}/{tenant}/{profile}/workspace.
func (s *Service) WorkspacePath(tenant, profileID string) string {
	return filepath.Join(s.cloneRoot(tenant, profileID), workspaceDirName)
}

// workspaceLocks serialises the runs of one profile on its workspace in this process (the
// flock of takeWorkspace serialises them across processes).
type workspaceLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex // clone root → its workspace's lock
}

func (w *workspaceLocks) of(root string) *sync.Mutex {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.locks == nil {
		w.locks = map[string]*sync.Mutex{}
	}
	l := w.locks[root]
	if l == nil {
		l = &sync.Mutex{}
		w.locks[root] = l
	}
	return l
}

// forget drops a deleted profile's lock.
func (w *workspaceLocks) forget(root string) {
	w.mu.Lock()
	delete(w.locks, root)
	w.mu.Unlock()
}

// takeWorkspace takes the profile's workspace at once or not at all (TryLock): the
// in-process lock, then an exclusive flock on {root}/workspace.lock. It returns the release,
// and false when another run holds the workspace (or the lock file cannot be made).
func (s *Service) takeWorkspace(root string) (func(), bool) {
	l := s.workspaces.of(root)
	if !l.TryLock() {
		return nil, false
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		l.Unlock()
		return nil, false
	}
	f, err := os.OpenFile(filepath.Join(root, workspaceLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		l.Unlock()
		return nil, false
	}
	if lockMarker(f) != nil { // another process's run holds it
		f.Close()
		l.Unlock()
		return nil, false
	}
	return func() {
		_ = f.Close() // and so unlocked
		l.Unlock()
	}, true
}

// cloneTarget chooses where a clone of p goes: the profile's workspace when it reuses one,
// the service has a cache and the workspace is free; otherwise a new directory below root.
// release frees the workspace (a no-op for a fresh directory).
func (s *Service) cloneTarget(tenant string, p *store.BuildProfile, root string) (dir string, reuse bool, release func()) {
	if WorkspaceOf(p) == WorkspaceReuse && s.cache != nil {
		if rel, ok := s.takeWorkspace(root); ok {
			return s.WorkspacePath(tenant, p.ID), true, rel
		}
		s.log.Info("the workspace is in use by another run: this run clones into a fresh directory", "tenant", tenant, "profile", p.ID)
	} else if WorkspaceOf(p) == WorkspaceFresh {
		if _, err := os.Lstat(filepath.Join(root, workspaceDirName)); err == nil {
			// A workspace left by a switch to fresh while a run held it: removed once free.
			s.dropWorkspace(context.Background(), tenant, p.ID)
		}
	}
	return filepath.Join(root, s.now().UTC().Format("20060102T150405Z")+"-"+newID()[:8]), false, func() {}
}

// dropWorkspace removes a profile's workspace once it no longer reuses one, unless a run
// holds it (then it stays until the profile is deleted); failures are logged.
func (s *Service) dropWorkspace(ctx context.Context, tenant, profileID string) {
	if s.opts.WorkDir == "" {
		return
	}
	root := s.cloneRoot(tenant, profileID)
	release, ok := s.takeWorkspace(root)
	if !ok {
		s.log.WarnContext(ctx, "the workspace is in use: it stays until the profile is deleted", "profile", profileID)
		return
	}
	defer release()
	if err := os.RemoveAll(filepath.Join(root, workspaceDirName)); err != nil {
		s.log.WarnContext(ctx, "could not remove a workspace no longer reused", "profile", profileID, "err", err)
	}
}

// runSource copies a clone's source and stats into a run record.
func runSource(r *store.Run, res *gitops.Result) {
	if res == nil {
		return
	}
	r.Source = string(res.Source)
	st := res.Stats
	r.Stats = &store.CloneStats{FetchedObjects: st.FetchedObjects, FetchedBytes: st.FetchedBytes,
		WrittenFiles: st.WrittenFiles, WrittenBytes: st.WrittenBytes, RemovedFiles: st.RemovedFiles}
}
