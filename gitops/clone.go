package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
)

// DefaultTimeout bounds a clone when CloneOptions.Timeout is zero.
const DefaultTimeout = 30 * time.Minute

// DefaultMaxObjectBytes bounds one object's inflated size when CloneOptions.MaxObjectBytes is
// zero: a delta's result is built in memory, and a pack can claim any size.
const DefaultMaxObjectBytes = 1 << 30

// CloneOptions describes one clone.
type CloneOptions struct {
	// URL is the HTTP(S) clone URL. It must not carry user info: credentials go in PAT or Token.
	// With SSH, it is the SSH remote URL instead (ssh.go).
	URL string
	// Dir is the target directory; it must not exist or be empty. On failure or cancellation
	// nothing is left behind: a directory Clone created is removed, an existing empty one is
	// emptied.
	Dir string
	// Branch is the short branch name to check out ("main", "release/1.0"); empty means the
	// remote's default branch (HEAD).
	Branch string
	// Depth limits history to that many commits; 0 means full history.
	Depth int
	// AllBranches fetches every branch instead of only the chosen one.
	AllBranches bool
	// Tags fetches tags that point into the fetched history.
	Tags bool
	// PAT is sent as HTTP Basic with a non-empty user name (docs/azure-devops-protocol.md §3, §7).
	PAT connections.Secret
	// Token is an OAuth or Entra ID access token, sent as Bearer (docs/azure-devops-protocol.md §7).
	Token connections.Secret
	// SSH, when set, makes URL an SSH remote URL (ssh://[user@]host[:port]/path or the scp form
	// user@host:path) cloned with this key over go-git's SSH transport, dialled through Door
	// (ssh.go). PAT and Token are then ignored.
	SSH *SSHAuth
	// CACertificatePEM trusts a private certificate authority in addition to the system roots.
	CACertificatePEM []byte
	// Door is the outbound door (connections/egress) every request of the clone, its
	// redirects and its submodules go through; nil means egress.Default(), the default
	// policy (loopback, link-local and metadata destinations refused).
	Door *egress.Door
	// Progress receives git's sideband progress text; nil discards it.
	Progress io.Writer
	// OnProgress, when set, is called with the clone's progress: PhaseConnecting first, then on
	// every phase change and at most every 200 ms otherwise, never concurrently, never after
	// Clone returns, and last with PhaseDone on success (not on failure). It runs on the
	// clone's goroutines and must return quickly. Setting it makes the server send progress.
	OnProgress func(Progress)
	// MaxBytes bounds the bytes the clone writes to disk: the pack and its index, then the
	// work tree, its submodules' counted too; 0 means no limit. The pack is counted as it
	// arrives (reason repository_too_large), the work tree before any file is written, from
	// the sizes of the objects its trees name, and again before each file (reason
	// work_tree_too_large). Errors: ErrInvalidInput.
	MaxBytes int64
	// MaxFiles bounds the entries (files, directories, submodules) of the work tree, its
	// submodules' counted too; 0 means no limit. Errors: ErrInvalidInput, reason
	// too_many_files, before any file is written.
	MaxFiles int64
	// MaxObjectBytes aborts the clone when one object (a file, a tree, a delta's result) is
	// larger, inflated; 0 means DefaultMaxObjectBytes (1 GiB). It bounds what a pack can make
	// the engine allocate. Errors: ErrInvalidInput with reason object_too_large.
	MaxObjectBytes int64
	// MinFreeBytes is the free space the clone leaves on the file system of Dir: it does not
	// start when less is free, and stops when the free space falls below it, checked every
	// FreeCheckInterval (64 MiB) written, when the pack is in place and before the checkout;
	// 0 means no reserve. Errors: ErrInvalidInput, reason disk_space_low.
	MinFreeBytes int64
	// FreeSpace reports the bytes free for an unprivileged user on the file system of a
	// path; nil means statfs(2) (nothing is checked where statfs is not available). Tests
	// inject one.
	FreeSpace func(path string) (int64, error)
	// Memory is the process's budget for object contents, shared by every clone
	// (NewMemoryBudget); nil means no budget. A clone waits (honouring ctx) while other
	// clones hold it. Errors: ErrInvalidInput, reason memory_budget_exceeded, when one
	// object alone needs more than the whole budget.
	Memory *MemoryBudget
	// meter counts what the clone and its submodules write; Clone makes it.
	meter *meter
	// ssh is the running SSH clone (sshdial.go); Clone makes it from SSH.
	ssh *sshRun
	// beforePack replaces MaxSSHBeforePackBytes and MaxHTTPAdvertisementBytes when not 0
	// (tests).
	beforePack int64
	// Commit, 40 hex digits, checks out that commit (HEAD detached) instead of the branch's
	// tip; it must be in the history fetched (Branch, or every branch with AllBranches, to
	// Depth). Errors: ErrNotFound naming the commit when it is not.
	Commit string
	// Ref, a full ref name outside refs/heads/ (a pull request's refs/pull/{id}/merge), is
	// fetched alone instead of a branch (Branch must be empty) and checked out detached, at
	// Commit when set. go-git's clone maps any single-branch reference to refs/heads/, so this
	// initializes the repository and fetches the refspec +{Ref}:refs/remotes/origin/{Ref
	// without refs/}. Errors: ErrInvalidInput (field ref) for a ref outside refs/ or under
	// refs/heads/; ErrNotFound when the server does not advertise it.
	Ref string
	// Submodules clones the submodules the checked-out tree names (.gitmodules), recursively,
	// at the commits it records. Relative submodule URLs resolve against URL; the PAT or
	// token is sent to a submodule on the same scheme and host only, others are cloned
	// without credentials. Over SSH, the key (and its trusted host keys) go to a submodule on
	// the same SSH host and port only; an https one is cloned without credentials, an SSH one
	// on another host is refused (ErrInvalidInput, field submodules).
	Submodules bool
	// Timeout bounds the whole clone; 0 means DefaultTimeout.
	Timeout time.Duration
	// AllowEmpty makes an empty remote repository (no branch at all) a success, as it is for
	// `git clone`: Dir holds an initialized repository with the remote origin configured,
	// HEAD on an unborn branch and no files; Result.Empty is true. Without it (and always
	// when Branch is set, as git also refuses) an empty repository is ErrInvalidInput.
	AllowEmpty bool
	// Cache, when set, makes the clone go through the repository cache (cache.go): an
	// incremental fetch into the cached object store of CacheKey, with this clone's own
	// credential, then a checkout from it. nil: a cold clone, every object fetched.
	Cache *Cache
	// CacheKey names the cached repository; required with Cache (all three fields).
	CacheKey CacheKey
	// Reuse makes Dir a workspace kept between runs (requires Cache): when it holds an earlier
	// run's work tree it is updated in place (only what differs is written; modified,
	// untracked and ignored files are restored or removed, as `git reset --hard && git clean
	// -ffdx` would); when it is missing, empty or damaged it is checked out afresh from the
	// cache. The caller serialises runs on one workspace.
	Reuse bool
}

// Result is what a successful clone produced: the checked-out commit (40 hex), the branch
// (short name, empty for a detached HEAD) and the absolute path of the work tree. Empty is
// true for an empty repository cloned with AllowEmpty: Commit is then "" and Branch the
// unborn branch HEAD names.
type Result struct {
	Commit string `json:"commit"`
	Branch string `json:"branch"`
	Path   string `json:"path"`
	Empty  bool   `json:"empty,omitempty"`
	// Source is the path the clone took: cold, cache or workspace (repeat.go).
	Source Source `json:"source"`
	// Stats is what the clone fetched and wrote.
	Stats Stats `json:"stats"`
}

// Clone clones opts.URL into opts.Dir with go-git and checks out the branch.
//
// Errors are *connections.Error: ErrInvalidInput (URL with user info or not http(s), target
// not empty, empty remote repository, an unreadable SSH key), ErrUnauthorized (401: invalid_token), ErrForbidden
// (403), ErrNotFound (404 repository, or branch missing), ErrUnreachable / ErrTLS (transport),
// ErrProtocol otherwise (an advertisement longer than MaxHTTPAdvertisementBytes too); over SSH also *HostKeyError (ErrHostKey), ErrUnauthorized
// (ssh_key_not_added), ErrUnreachable (ssh_wrong_port), ErrNotFound from git-upload-pack,
// ErrProtocol past MaxSSHBeforePackBytes or without a common algorithm (ssherrors.go). A
// cancelled context returns ctx.Err().
func Clone(ctx context.Context, opts CloneOptions) (*Result, error) {
	EnableAzureDevOpsCapabilities()
	u, sr, err := remoteOf(&opts)
	if err != nil {
		return nil, err
	}
	if opts.Commit != "" && !plumbing.IsHash(opts.Commit) {
		return nil, invalidf("commit", "the commit must be 40 hexadecimal digits")
	}
	if opts.Ref != "" && (!strings.HasPrefix(opts.Ref, "refs/") || strings.HasPrefix(opts.Ref, "refs/heads/") ||
		opts.Branch != "" || plumbing.ReferenceName(opts.Ref).Validate() != nil) {
		return nil, invalidf("ref", "ref must be a full ref name outside refs/heads/ (e.g. refs/pull/7/merge), without a branch")
	}
	if opts.Cache != nil {
		if err := opts.CacheKey.validate(); err != nil {
			return nil, err
		}
	}
	if opts.Reuse && (opts.Cache == nil || opts.AllBranches || opts.Tags) {
		return nil, invalidf("reuse", "a reused workspace is updated from the repository cache: it needs a cache, and neither every branch nor tags")
	}
	if opts.MaxObjectBytes <= 0 {
		opts.MaxObjectBytes = DefaultMaxObjectBytes
	}
	ctx, err = doorContext(ctx, u, &opts)
	if err != nil {
		return nil, err
	}
	var dir string
	var cleanup func()
	reusing := false
	if opts.Reuse {
		if dir, err = filepath.Abs(opts.Dir); err == nil && strings.TrimSpace(opts.Dir) != "" && reusable(dir) {
			// A workspace kept between runs: a failed run leaves it as it is (the next run's
			// update compares it with its index again, or rebuilds it when damaged).
			reusing, cleanup = true, func() {}
		}
	}
	if !reusing {
		if dir, cleanup, err = prepareDir(opts.Dir); err != nil {
			return nil, err
		}
	}
	if opts.meter == nil {
		opts.meter = newMeter(opts, dir)
	}
	if err := opts.meter.checkFree(); err != nil {
		cleanup()
		return nil, translateLimit(err)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if sr != nil {
		defer sr.start(ctx, opts.Door)() // before cancel: no dial after the clone
		opts.ssh = sr
	}

	co := &git.CloneOptions{
		URL:          opts.URL,
		Auth:         authMethod(opts),
		ProxyOptions: proxyOptions(opts),
		SingleBranch: !opts.AllBranches,
		Depth:        opts.Depth,
		Tags:         git.NoTags,
		Progress:     opts.Progress,
		// The work tree is checked out below, as go-git's clone would (MergeReset of HEAD), so
		// that the checkout phase can be reported.
		NoCheckout: true,
	}
	if opts.Tags {
		co.Tags = git.TagFollowing
	}
	if opts.Branch != "" {
		co.ReferenceName = plumbing.NewBranchReferenceName(opts.Branch)
	}
	var tr *tracker
	if opts.OnProgress != nil {
		tr = newTracker(opts.OnProgress)
		co.Progress = tr
		if opts.Progress != nil {
			co.Progress = io.MultiWriter(opts.Progress, tr)
		}
	}
	var res *Result
	if opts.Cache != nil && !opts.AllBranches && !opts.Tags {
		// Through the repository cache (cachecheckout.go); every branch and tags are the cold
		// path's.
		if reusing {
			res, err = reuseWorkspace(ctx, dir, tr, opts)
		} else {
			res, err = cloneCached(ctx, dir, tr, opts)
		}
	}
	if reusing && errors.Is(err, errColdPath) {
		// The cache does not serve this clone (an empty repository): the workspace goes, and
		// the cold path below makes the directory again.
		if err = emptyDir(dir); err != nil {
			return nil, err
		}
		err = errColdPath
	}
	if opts.Cache == nil || opts.AllBranches || opts.Tags || errors.Is(err, errColdPath) {
		res, err = clone(ctx, dir, co, tr, opts)
	}
	if err == nil && ctx.Err() != nil {
		// Cancelled or timed out after the last step that looks at ctx: a late cancel still
		// leaves nothing behind.
		err = ctx.Err()
	}
	if tr != nil {
		tr.stop(err == nil)
	}
	if err != nil {
		cleanup()
		return nil, failure(ctx, err, sr, u.Host, opts.Branch, timeout)
	}
	return res, nil
}

// clone runs go-git's clone without checkout, with the pack indexed by this package
// (packStorage), then checks out HEAD, reporting the checkout phase to tr (which may be nil).
// Errors are go-git's, untranslated, except a missing HEAD.
func clone(ctx context.Context, dir string, co *git.CloneOptions, tr *tracker, opts CloneOptions) (*Result, error) {
	wt := osfs.New(dir)
	dot, err := wt.Chroot(git.GitDirName)
	if err != nil {
		return nil, err
	}
	st := &packStorage{Storage: filesystem.NewStorage(dot, cache.NewObjectLRUDefault()), ctx: ctx,
		packDir: filepath.Join(dir, git.GitDirName, "objects", "pack"), meter: opts.meter, mem: opts.Memory, maxObject: opts.MaxObjectBytes, prog: tr}
	defer st.release()
	var repo *git.Repository
	if opts.Ref != "" {
		repo, err = fetchRef(ctx, st, wt, co, opts.Ref)
	} else {
		repo, err = git.CloneContext(ctx, st, wt, co)
	}
	if errors.Is(err, transport.ErrEmptyRemoteRepository) && opts.AllowEmpty && opts.Branch == "" {
		// What git leaves: the remote configured, HEAD on the unborn default branch (go-git's
		// init, as git's init.defaultBranch: the smart protocol v0 names no branch for an
		// empty repository), nothing else.
		return emptyResult(st, dir)
	}
	if err != nil {
		return nil, err
	}
	head, err := repo.Head()
	if err != nil {
		return nil, connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol, "the clone has no HEAD").Wrap(err)
	}
	if tr != nil {
		tr.phase(PhaseCheckout)
	}
	target, detached := head.Hash(), false
	if opts.Commit != "" {
		target, detached = plumbing.NewHash(opts.Commit), true
	}
	var gitlinks []index.Entry
	var stats Stats
	if st.last != nil && st.last.res != nil {
		// The pack is at hand, resolved: check out from it on every core (checkout.go).
		i, ok := st.last.res.find([20]byte(target))
		if !ok {
			return nil, connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound,
				"commit %s is not in the history fetched; fetch more (all branches, or a greater depth)", target)
		}
		if typ := st.last.res.idx.entries[i].typ; typ != objCommit {
			return nil, invalidf("commit", "%s is a %s, not a commit", target, typeName(typ))
		}
		if st.last.idx.largest() > workerBudget {
			// The resolver's large contents are garbage now: collect them before the checkout
			// builds them again, or the heap holds both (GOGC lets it grow to twice the live
			// bytes), twice git's peak.
			runtime.GC()
		}
		if gitlinks, stats, err = checkout(packSet{st.last.res}, dir, filepath.Join(dir, git.GitDirName), target, tr, opts.meter); err != nil {
			return nil, err
		}
		stats.FetchedObjects, stats.FetchedBytes = int64(len(st.last.idx.entries)), st.written()
	} else {
		w, err := repo.Worktree()
		if err == nil {
			err = w.Reset(&git.ResetOptions{Mode: git.MergeReset, Commit: target})
		}
		if err != nil {
			return nil, err
		}
	}
	if detached {
		if err := st.SetReference(plumbing.NewHashReference(plumbing.HEAD, target)); err != nil {
			return nil, err
		}
	}
	st.release() // the submodules' clones need the memory more
	if opts.Submodules && len(gitlinks) > 0 {
		if err := cloneSubmodules(ctx, dir, gitlinks, opts); err != nil {
			return nil, err
		}
	}
	res := &Result{Commit: target.String(), Path: dir, Source: SourceCold, Stats: stats}
	if !detached && head.Name().IsBranch() {
		res.Branch = head.Name().Short()
	}
	return res, nil
}

// emptyResult is the Result of an empty repository cloned with AllowEmpty.
func emptyResult(st *packStorage, dir string) (*Result, error) {
	head, err := st.Reference(plumbing.HEAD)
	if err != nil {
		return nil, err
	}
	return &Result{Path: dir, Branch: head.Target().Short(), Empty: true}, nil
}

// packStorage is go-git's filesystem storage with this package's pack indexer in place of
// go-git's (storer.PackfileWriter, which go-git's fetch uses when the storage has it).
type packStorage struct {
	*filesystem.Storage
	ctx       context.Context
	packDir   string
	meter     *meter
	mem       *MemoryBudget
	maxObject int64
	prog      *tracker
	last      *packWriter // the pack fetched, kept for the checkout
	total     int64       // bytes of the packs written before last
}

// PackfileWriter returns the writer the fetched pack is copied into.
func (s *packStorage) PackfileWriter() (io.WriteCloser, error) {
	w, err := newPackWriter(packConfig{ctx: s.ctx, dir: s.packDir, meter: s.meter, mem: s.mem, maxObject: s.maxObject, prog: s.prog,
		onReady: s.Storage.ObjectStorage.Reindex})
	if err == nil {
		s.total = s.written()
		s.last = w
	}
	return w, err
}

// written is the bytes of the packs fetched so far.
func (s *packStorage) written() int64 {
	if s.last == nil {
		return s.total
	}
	return s.total + s.last.written.Load()
}

// release frees the last pack's resolved state.
func (s *packStorage) release() {
	if s.last != nil {
		s.total = s.written()
		s.last.release()
		s.last = nil
	}
}

func authMethod(opts CloneOptions) transport.AuthMethod {
	switch {
	case opts.ssh != nil:
		return &sshKeyAuth{run: opts.ssh}
	case !opts.Token.Empty():
		return &githttp.TokenAuth{Token: opts.Token.Reveal()}
	case !opts.PAT.Empty():
		// Any non-empty user name works with a PAT over git HTTPS (docs/azure-devops-protocol.md §3).
		return &githttp.BasicAuth{Username: "repoconnect", Password: opts.PAT.Reveal()}
	}
	return nil
}

// prepareDir makes dir absolute and ready, and returns the function that undoes it.
func prepareDir(dir string) (string, func(), error) {
	if strings.TrimSpace(dir) == "" {
		return "", nil, invalidf("dir", "the target directory is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, invalidf("dir", "the target directory is not a valid path")
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return abs, func() { _ = os.RemoveAll(abs) }, nil
	case err != nil:
		return "", nil, invalidf("dir", "the target directory cannot be read: %v", err)
	case len(entries) > 0:
		return "", nil, invalidf("dir", "the target directory %s is not empty", abs)
	}
	return abs, func() {
		entries, _ := os.ReadDir(abs)
		for _, e := range entries {
			_ = os.RemoveAll(filepath.Join(abs, e.Name()))
		}
	}, nil
}

// formatBytes writes n bytes in binary units: "512 MiB", "1.5 GiB", "900 B".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %ciB", int64(v), "KMGTP"[exp])
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[exp])
}

func invalidf(field, format string, args ...any) *connections.Error {
	e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, format, args...)
	e.Field = field
	return e
}

// fetchRef is the clone of one ref outside refs/heads/ (CloneOptions.Ref): an empty
// repository with the remote origin, a fetch of the refspec +ref:refs/remotes/origin/{ref
// without refs/} (go-git's clone cannot name it), and HEAD detached at what it fetched.
func fetchRef(ctx context.Context, st *packStorage, wt billy.Filesystem, co *git.CloneOptions, ref string) (*git.Repository, error) {
	repo, err := git.Init(st, wt)
	if err != nil {
		return nil, err
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{co.URL}}); err != nil {
		return nil, err
	}
	local := plumbing.ReferenceName("refs/remotes/" + git.DefaultRemoteName + "/" + strings.TrimPrefix(ref, "refs/"))
	err = repo.FetchContext(ctx, &git.FetchOptions{RemoteName: git.DefaultRemoteName, Auth: co.Auth, Depth: co.Depth,
		Progress: co.Progress, ProxyOptions: co.ProxyOptions, Tags: git.NoTags, RefSpecs: []config.RefSpec{config.RefSpec("+" + ref + ":" + string(local))}})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		err = nil
	}
	if err != nil {
		var noMatch git.NoMatchingRefSpecError
		if errors.As(err, &noMatch) {
			return nil, connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "the server has no ref %s", ref)
		}
		return nil, err
	}
	got, err := repo.Reference(local, true)
	if err != nil {
		return nil, connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "the server has no ref %s", ref)
	}
	if err := st.SetReference(plumbing.NewHashReference(plumbing.HEAD, got.Hash())); err != nil {
		return nil, err
	}
	return repo, nil
}
