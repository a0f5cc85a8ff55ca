package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/repoconnect/repoconnect/connections"
)

// packSet is the packs one checkout reads (checkout.go), newest first: a cold clone's one
// pack, or the repository cache's. Every pack is self-contained (go-git never asks for
// thin-pack), so each object is read from the one pack that has it.
type packSet []*resolver

// find returns the pack of ps holding object id (the newest) and its entry there.
func (ps packSet) find(id [20]byte) (int, int32, bool) {
	for k, r := range ps {
		if i, ok := r.find(id); ok {
			return k, i, true
		}
	}
	return 0, 0, false
}

// key is the plan's key of entry i of pack k (checkoutPlan.files): the entries of all the packs
// numbered one after the other, newest pack first. The packs of a store hold fewer than 2^31
// entries together (each pack's count is a uint32 the scan bounds by memory long before).
func (ps packSet) key(k int, i int32) int32 {
	for _, r := range ps[:k] {
		i += int32(len(r.idx.entries))
	}
	return i
}

// entry is the pack and entry of a key (key's inverse).
func (ps packSet) entry(key int32) (int, int32) {
	for k, r := range ps {
		if n := int32(len(r.idx.entries)); key >= n {
			key -= n
		} else {
			return k, key
		}
	}
	return len(ps) - 1, key // not reached for a key key made
}

// close closes the pack files of ps that the set opened (openCachedPack), not those of skip
// (a packWriter's, which closes its own).
func (ps packSet) close(skip *os.File) {
	for _, r := range ps {
		if r.f != skip {
			r.f.Close()
		}
	}
}

// cloneCached is the clone through the repository cache (CloneOptions.Cache): the run's own
// negotiation and a fetch into the store when it lacks the tip (cacheRun), then a work tree in
// dir whose .git links the store's packs and carries HEAD, the refs, the remote and the
// shallow file a cold clone would, checked out from the packs on every core. Errors: as
// clone's (go-git's untranslated), errColdPath when the cache does not serve this clone.
func cloneCached(ctx context.Context, dir string, tr *tracker, opts CloneOptions) (*Result, error) {
	run, err := startCacheRun(ctx, tr, opts)
	if err != nil {
		return nil, err
	}
	defer run.close()
	return run.checkoutFresh(ctx, dir, tr, opts)
}

// checkoutFresh writes the run's commit into the empty directory dir: a .git as a cold clone
// leaves it, with the store's packs linked, the work tree checked out from them on every core,
// then the submodules. Errors: as cloneCached's.
func (run *cacheRun) checkoutFresh(ctx context.Context, dir string, tr *tracker, opts CloneOptions) (*Result, error) {
	gitDir := filepath.Join(dir, git.GitDirName)
	if err := run.initGitDir(dir, opts.URL); err != nil {
		return nil, err
	}
	if err := run.linkObjects(gitDir); err != nil {
		return nil, err
	}
	if tr != nil {
		tr.phase(PhaseCheckout)
	}
	gitlinks, stats, err := checkout(run.v.ps, dir, gitDir, run.target, tr, opts.meter)
	if err != nil {
		return nil, err
	}
	run.v.close() // the submodules' clones need the memory more
	if opts.Submodules && len(gitlinks) > 0 {
		if err := cloneSubmodules(ctx, dir, gitlinks, opts); err != nil {
			return nil, err
		}
	}
	return run.result(dir, stats), nil
}

// cacheRun is one run's use of the cache: the store, negotiated and fetched into, holding the
// commit to check out, its packs open (v.ps). A reused workspace (CloneOptions.Reuse) takes the
// same steps as cloneCached with its own update in place of checkout: startCacheRun; for a
// sound workspace run.linkObjects(gitDir), updateWorkspace(ctx, dir, run.target, m) and
// run.setRefs(gitDir); for a damaged one, emptied, cloneCached's steps; then run.result and
// run.close.
type cacheRun struct {
	c        *Cache
	e        *cacheEntry
	sess     transport.UploadPackSession
	v        *cacheView
	tip      remoteTip
	target   plumbing.Hash // the commit to check out: the tip or CloneOptions.Commit
	detached bool
}

// startCacheRun negotiates with the run's credential (the access check), fetches into the
// store when it lacks the tip at the depth asked (ensure), and checks that the commit to check
// out is there. The caller calls close. Errors: as cloneCached's; ErrNotFound for a commit not
// in the history fetched, ErrInvalidInput (field commit) for an object that is no commit.
func startCacheRun(ctx context.Context, tr *tracker, opts CloneOptions) (*cacheRun, error) {
	c := opts.Cache
	sess, ar, tip, err := negotiate(ctx, opts)
	if err != nil {
		return nil, err
	}
	run := &cacheRun{c: c, sess: sess, tip: tip, target: tip.hash, detached: opts.Ref != ""}
	run.e = c.acquire(opts.CacheKey)
	if run.v, err = c.ensure(ctx, run.e, sess, ar, tip, opts, tr); err != nil {
		run.close()
		return nil, err
	}
	if opts.Commit != "" {
		run.target, run.detached = plumbing.NewHash(opts.Commit), true
	}
	k, i, ok := run.v.ps.find([20]byte(run.target))
	if !ok {
		run.close()
		return nil, connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound,
			"commit %s is not in the history fetched; fetch more (all branches, or a greater depth)", run.target)
	}
	if typ := run.v.ps[k].idx.entries[i].typ; typ != objCommit {
		run.close()
		return nil, invalidf("commit", "%s is a %s, not a commit", run.target, typeName(typ))
	}
	return run, nil
}

// close ends the run: the packs, the store's use (which may evict others), the session.
func (run *cacheRun) close() {
	if run.v != nil {
		run.v.close()
	}
	if run.e != nil {
		run.c.release(run.e)
		run.e = nil
	}
	run.sess.Close()
}

// initGitDir writes dir/.git's configuration, refs, HEAD and shallow file as a cold clone of
// the run's tip would (initGitDir).
func (run *cacheRun) initGitDir(dir, url string) error {
	return initGitDir(dir, url, run.tip, run.target, run.detached, run.v.shallow)
}

// linkObjects puts the store's packs, as the run's fetch left them, into gitDir/objects/pack
// (linkPacks: hard links, copies across file systems) and writes gitDir/shallow as the store's
// (removed when the store is not shallow). For an existing .git, run.initGitDir is not needed;
// its refs are the caller's to move.
func (run *cacheRun) linkObjects(gitDir string) error {
	if err := linkPacks(run.e.packDir(), run.v.packs, gitDir); err != nil {
		return err
	}
	path := filepath.Join(gitDir, "shallow")
	if len(run.v.shallow) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeAtomic(path, []byte(strings.Join(run.v.shallow, "\n")+"\n"))
}

// result is the run's Result with stats (what it wrote) and what its fetch brought: Source
// cache, or cold when the store was empty before the run.
func (run *cacheRun) result(dir string, stats Stats) *Result {
	stats.FetchedObjects, stats.FetchedBytes = run.v.objects, run.v.bytes
	res := &Result{Commit: run.target.String(), Path: dir, Source: SourceCache, Stats: stats}
	if run.v.cold {
		res.Source = SourceCold // the store was empty: every object came from the server
	}
	if !run.detached {
		res.Branch = run.tip.name.Short()
	}
	return res
}

// cacheView is what one run reads of a store: the packs opened (newest first), their names
// and the shallow boundary as the run's fetch left them, and what that fetch brought.
type cacheView struct {
	ps      packSet
	w       *packWriter // the pack this run fetched, or nil
	packs   []string
	shallow []string
	objects int64
	bytes   int64
	cold    bool // the store held no pack before this run's fetch
	closed  bool
}

// close closes the packs the view opened and releases the fetched pack's resolved state.
func (v *cacheView) close() {
	if v.closed {
		return
	}
	v.closed = true
	var skip *os.File
	if v.w != nil {
		skip = v.w.tmp
		defer v.w.release()
	}
	v.ps.close(skip)
}

// maxCachePacks bounds the packs of one store (ensure).
const maxCachePacks = 64

// ensure makes e's store hold tip at the depth opts asks (and opts.Commit), fetching into it
// when it does not, one run at a time per store, and opens its packs for the run. A store
// that fails verification, or whose packs cannot be opened, is dropped and fetched afresh.
func (c *Cache) ensure(ctx context.Context, e *cacheEntry, sess transport.UploadPackSession, ar *packp.AdvRefs, tip remoteTip,
	opts CloneOptions, tr *tracker) (*cacheView, error) {
	e.fetch.Lock()
	defer e.fetch.Unlock()
	st, err := c.load(e)
	if err != nil {
		return nil, err
	}
	if len(st.Packs) > maxCachePacks {
		// Every fetch adds a pack, and each run opens them all: past the bound the store is
		// fetched again whole, one pack (git's repack, by the server).
		if st, err = c.drop(e); err != nil {
			return nil, err
		}
	}
	ps, err := c.openPacks(ctx, e, st, opts)
	if err != nil {
		var le *limitError
		if errors.As(err, &le) || ctx.Err() != nil {
			return nil, err
		}
		if st, err = c.drop(e); err != nil {
			return nil, err
		}
		ps = nil
	}
	v := &cacheView{ps: ps, cold: len(ps) == 0}
	ok, err := sufficient(ps, st, tip.hash, opts.Depth)
	if err == nil && ok && opts.Commit != "" {
		_, _, ok = ps.find([20]byte(plumbing.NewHash(opts.Commit)))
	}
	if err != nil {
		v.close()
		return nil, err
	}
	// A tip moves with a fetch, or is recorded when the ref is new to the store: a run that
	// saw an older advertisement than the last fetch's does not move it back (the tips are
	// the haves of the next fetch).
	_, known := st.Tips[string(tip.name)]
	changed := !known
	if !ok {
		var held int64
		for _, r := range ps {
			held += int64(len(r.idx.entries))
		}
		f, err := c.fetchInto(ctx, e, st, held, sess, ar, tip, opts.Depth, opts, tr)
		if err != nil {
			v.close()
			return nil, err
		}
		if f.w != nil {
			v.w = f.w
			v.ps = append(packSet{f.w.res}, v.ps...)
			st.Packs = append(st.Packs, f.w.name())
		}
		st.Shallow = mergeShallow(st.Shallow, f)
		v.objects, v.bytes = f.objects, f.packedSize
		changed = true
	}
	if changed {
		st.Tips[string(tip.name)] = tip.hash.String()
		if err := c.save(e, st); err != nil {
			v.close()
			return nil, err
		}
		c.resize(e)
	}
	v.packs = append([]string(nil), st.Packs...)
	v.shallow = append([]string(nil), st.Shallow...)
	return v, nil
}

// openPacks opens the store's packs for a checkout, newest first (openCachedPack).
func (c *Cache) openPacks(ctx context.Context, e *cacheEntry, st *cacheState, opts CloneOptions) (packSet, error) {
	ps := make(packSet, 0, len(st.Packs))
	for k := len(st.Packs) - 1; k >= 0; k-- {
		r, err := openCachedPack(ctx, e.packDir(), st.Packs[k], opts.MaxObjectBytes, opts.Memory)
		if err != nil {
			ps.close(nil)
			return nil, err
		}
		ps = append(ps, r)
	}
	return ps, nil
}

// initGitDir makes dir/.git what a cold clone leaves besides the objects: the configuration
// with the remote origin (its fetch refspec the branch's, as go-git's single-branch clone
// writes it, or git's default for a Ref), the branch and its upstream, refs/remotes/origin/…,
// HEAD (on the branch, or detached at target) and the shallow file.
func initGitDir(dir, url string, tip remoteTip, target plumbing.Hash, detached bool, shallow []string) error {
	wt := osfs.New(dir)
	dot, err := wt.Chroot(git.GitDirName)
	if err != nil {
		return err
	}
	s := filesystem.NewStorage(dot, cache.NewObjectLRUDefault())
	repo, err := git.Init(s, wt)
	if err != nil {
		return err
	}
	rc := &config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{url}}
	if tip.name.IsBranch() {
		rc.Fetch = []config.RefSpec{config.RefSpec("+" + string(tip.name) + ":" + string(localRef(tip.name)))}
	}
	if _, err := repo.CreateRemote(rc); err != nil {
		return err
	}
	if tip.name.IsBranch() {
		if err := repo.CreateBranch(&config.Branch{Name: tip.name.Short(), Remote: git.DefaultRemoteName, Merge: tip.name}); err != nil {
			return err
		}
	}
	if err := setRefs(s, tip, target, detached); err != nil {
		return err
	}
	if len(shallow) > 0 {
		hs := make([]plumbing.Hash, len(shallow))
		for k, h := range shallow {
			hs[k] = plumbing.NewHash(h)
		}
		if err := s.SetShallow(hs); err != nil {
			return err
		}
	}
	return nil
}

// setRefs points the refs of a work tree's .git (storage s) at the run's commit as a cold
// clone does: refs/remotes/origin/…, the branch (refs/heads/{branch}) and HEAD, on the branch
// or detached at target.
func setRefs(s *filesystem.Storage, tip remoteTip, target plumbing.Hash, detached bool) error {
	refs := []*plumbing.Reference{plumbing.NewHashReference(localRef(tip.name), tip.hash)}
	if tip.name.IsBranch() {
		refs = append(refs, plumbing.NewHashReference(tip.name, tip.hash))
	}
	if detached {
		refs = append(refs, plumbing.NewHashReference(plumbing.HEAD, target))
	} else {
		refs = append(refs, plumbing.NewSymbolicReference(plumbing.HEAD, tip.name))
	}
	for _, r := range refs {
		if err := s.SetReference(r); err != nil {
			return err
		}
	}
	return nil
}

// setRefs moves the refs and HEAD of an existing work tree's .git (a reused workspace) to the
// run's commit, as initGitDir writes them for a new one (setRefs). The configuration is kept.
func (run *cacheRun) setRefs(gitDir string) error {
	return setRefs(filesystem.NewStorage(osfs.New(gitDir), cache.NewObjectLRUDefault()), run.tip, run.target, run.detached)
}

// linkPacks puts the packs names (pack-{sum}) of the store's pack directory src into
// gitDir/objects/pack, .pack and .idx, by hard link, or by copy where a link cannot be made
// (another file system: EXDEV; a link refused: EPERM). A pack already there is kept.
func linkPacks(src string, names []string, gitDir string) error {
	dst := filepath.Join(gitDir, "objects", "pack")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		for _, ext := range []string{".idx", ".pack"} { // git finds a pack by its .idx: the .pack goes first
			from, to := filepath.Join(src, n+ext), filepath.Join(dst, n+ext)
			if _, err := os.Lstat(to); err == nil {
				continue
			}
			err := os.Link(from, to)
			if errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EPERM) {
				err = copyFile(from, to)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile copies a pack file (read-only, as git keeps them) by a temporary file renamed into
// place.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	return replaceFile(to, ".tmp_pack_", 0o444, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// linkObjects puts every pack of key's store that gitDir (a work tree's .git) lacks into its
// objects/pack (linkPacks), and writes its shallow file as the store's when the store is
// shallow: for a reused workspace, after a run fetched into the store. The store is verified
// first (a damaged one is dropped: the error says so, and the caller checks out afresh).
// Errors: ErrInvalidInput for an incomplete key, errCacheDamaged, I/O.
func (c *Cache) linkObjects(key CacheKey, gitDir string) error {
	if err := key.validate(); err != nil {
		return err
	}
	if !c.Has(key) {
		return fmt.Errorf("%w: no store for the key", errCacheDamaged)
	}
	e := c.acquire(key)
	defer c.release(e)
	e.fetch.Lock()
	defer e.fetch.Unlock()
	if _, err := os.Stat(filepath.Join(e.dir, "state")); err != nil {
		return fmt.Errorf("%w: no store for the key", errCacheDamaged)
	}
	st, err := c.load(e)
	if err != nil {
		return err
	}
	if len(st.Packs) == 0 {
		return fmt.Errorf("%w: the store was dropped", errCacheDamaged)
	}
	if err := linkPacks(e.packDir(), st.Packs, gitDir); err != nil {
		return err
	}
	if len(st.Shallow) == 0 {
		return nil
	}
	var b strings.Builder
	for _, s := range st.Shallow {
		b.WriteString(s + "\n")
	}
	return writeAtomic(filepath.Join(gitDir, "shallow"), []byte(b.String()))
}
