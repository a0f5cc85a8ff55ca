package gitops

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
)

// reusable reports whether dir is to be updated in place as a reused workspace
// (CloneOptions.Reuse): it exists and holds something. A missing or empty directory is
// checked out afresh from the cache, as any clone.
func reusable(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}

// reuseWorkspace brings the reused workspace dir to the run's commit: the run's own
// negotiation and a fetch into the cache when it lacks the commit (startCacheRun), then, for
// a sound workspace (checkWorkspaceDepth without HEAD's objects: the update needs only the
// new commit's, linked from the cache), the cache's packs linked into its .git, the work tree
// and index updated in place (updateWorkspace: only what differs is written; modified,
// untracked and ignored files restored or removed), HEAD and refs moved, and the packs the
// store no longer has unlinked from it. A damaged workspace (a missing .git, a missing or corrupt
// index, HEAD naming no commit), one whose update failed (an object it needs missing) for any reason but a limit, and one of a
// clone with submodules (their work trees are clones of their own) is emptied and checked
// out afresh from the cache: Source is then cache, not workspace. Errors: as cloneCached's;
// the limits (*limitError) of the update; I/O.
func reuseWorkspace(ctx context.Context, dir string, tr *tracker, opts CloneOptions) (*Result, error) {
	sound := checkWorkspaceDepth(dir, false) == nil && !opts.Submodules
	run, err := startCacheRun(ctx, tr, opts)
	if err != nil {
		return nil, err
	}
	defer run.close()
	gitDir := filepath.Join(dir, git.GitDirName)
	if sound {
		res, err := run.updateInPlace(ctx, dir, gitDir, tr, opts)
		var le *limitError
		if err == nil || errors.As(err, &le) || ctx.Err() != nil {
			return res, err
		}
		// Anything else (an object the update could not read, a file it could not replace):
		// the workspace is not trusted; it is rebuilt below.
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	return run.checkoutFresh(ctx, dir, tr, opts)
}

// updateInPlace is reuseWorkspace's path for a sound workspace.
func (run *cacheRun) updateInPlace(ctx context.Context, dir, gitDir string, tr *tracker, opts CloneOptions) (*Result, error) {
	if err := run.linkObjects(gitDir); err != nil {
		return nil, err
	}
	if tr != nil {
		tr.phase(PhaseCheckout)
	}
	stats, err := updateWorkspaceTracked(ctx, dir, run.target, opts.meter, tr)
	if err != nil {
		return nil, err
	}
	if err := run.setRefs(gitDir); err != nil {
		return nil, err
	}
	if err := prunePacks(gitDir, run.v.packs); err != nil {
		return nil, err
	}
	res := run.result(dir, stats)
	res.Source = SourceWorkspace
	return res, nil
}

// prunePacks removes from gitDir/objects/pack the packs (pack-{sum}.pack, .idx and any other
// file of that name) that are not in keep, the store's packs as this run left them: they are
// earlier runs' links to packs the store has since replaced (a store refetched whole), and
// would otherwise pile up in a workspace kept for months. Every object of the commit checked
// out is in keep's packs.
func prunePacks(gitDir string, keep []string) error {
	dir := filepath.Join(gitDir, "objects", "pack")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(keep))
	for _, k := range keep {
		want[k] = true
	}
	for _, e := range entries {
		name := e.Name()
		base := strings.TrimSuffix(name, filepath.Ext(name))
		if !strings.HasPrefix(name, "pack-") || want[base] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// emptyDir removes everything in dir, dir itself kept: directories a build made read-only are
// made writable first, and symbolic links are removed, never followed.
func emptyDir(dir string) error {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755) // WalkDir reads a directory after this call: a 0555 one opens
		}
		return nil
	})
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
