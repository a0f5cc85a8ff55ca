package gitops

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"github.com/repoconnect/repoconnect/connections"
)

// The cache's side of the protocol: every run asks the server for its references with its own
// credential (the access check), picks the tip it wants, and fetches into the store only when
// the store lacks it at the depth asked. The fetch is go-git's upload-pack session with the
// request built here: the store's tips as haves, its shallow boundary as shallows, and
// "deepen" for the depth asked (an unshallow, deepen 2^31-1, when a full history is asked of a
// shallow store), which go-git's Remote.Fetch cannot say. The pack goes through this package's
// indexer into the store (packWriter), and its sidecar is written next to it.

// remoteTip is what the server advertised for the run: the ref wanted and its commit.
type remoteTip struct {
	name plumbing.ReferenceName // refs/heads/{branch}, or CloneOptions.Ref
	hash plumbing.Hash
}

// errColdPath makes Clone take the cold path: the cache does not serve this clone (an empty
// repository, options the cache does not handle).
var errColdPath = errors.New("gitops: the cache does not serve this clone")

// negotiate opens an upload-pack session with the run's credential and reads the server's
// references: the access check of every run. It returns the session (the caller closes it),
// the advertisement and the tip wanted. Errors: go-git's (translated by Clone), ErrNotFound
// for a Ref the server does not have, plumbing.ErrReferenceNotFound for a missing branch,
// errColdPath for an empty repository or a HEAD that names no branch.
func negotiate(ctx context.Context, opts CloneOptions) (transport.UploadPackSession, *packp.AdvRefs, remoteTip, error) {
	ep, err := transport.NewEndpoint(opts.URL)
	if err != nil {
		return nil, nil, remoteTip{}, err
	}
	ep.Proxy = proxyOptions(opts) // an SSH clone's door dialer (sshdial.go)
	cl, err := client.NewClient(ep)
	if err != nil {
		return nil, nil, remoteTip{}, err
	}
	sess, err := cl.NewUploadPackSession(ep, authMethod(opts))
	if err != nil {
		return nil, nil, remoteTip{}, err
	}
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		sess.Close()
		if errors.Is(err, transport.ErrEmptyRemoteRepository) {
			return nil, nil, remoteTip{}, errColdPath
		}
		return nil, nil, remoteTip{}, err
	}
	refs, err := ar.AllReferences()
	if err != nil {
		sess.Close()
		return nil, nil, remoteTip{}, err
	}
	var want plumbing.ReferenceName
	switch {
	case opts.Ref != "":
		want = plumbing.ReferenceName(opts.Ref)
	case opts.Branch != "":
		want = plumbing.NewBranchReferenceName(opts.Branch)
	default:
		head, err := refs.Reference(plumbing.HEAD)
		if err != nil || head.Type() != plumbing.SymbolicReference || !head.Target().IsBranch() {
			sess.Close()
			return nil, nil, remoteTip{}, errColdPath
		}
		want = head.Target()
	}
	ref, err := refs.Reference(want)
	if err != nil || ref.Type() != plumbing.HashReference {
		sess.Close()
		if opts.Ref != "" {
			return nil, nil, remoteTip{}, connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound, "the server has no ref %s", opts.Ref)
		}
		return nil, nil, remoteTip{}, plumbing.ErrReferenceNotFound
	}
	return sess, ar, remoteTip{name: want, hash: ref.Hash()}, nil
}

// fetched is what one fetch into the store brought.
type fetched struct {
	w                   *packWriter // the pack written (nil: the server sent none); resolved
	shallow, unshallow  []plumbing.Hash
	objects, packedSize int64
}

// errFetchTooLarge ends an incremental fetch whose pack has more objects than its bound.
var errFetchTooLarge = errors.New("the incremental fetch would bring more objects than a deepening one")

// fetchInto fetches tip into e's store at depth (0: the full history) with the session of the
// run, sending the store's tips as haves and its shallow boundary, and writes the pack, its
// index and its sidecar into the store (not yet named in its state: the caller commits it).
//
// A store asked for a depth first fetches without "deepen": git's upload-pack, asked to deepen,
// sends every object of the new commits' trees again unless it may send a thin pack, which
// Azure DevOps does not offer, so a one-file push would cost a whole tree (and a full store
// would become shallow at the new tip). Without
// deepen the server sends what the haves do not reach: what changed when the new tip descends
// from a cached one. When it does not (a rewritten branch, history that joins below the
// shallow boundary), that could be far more: the pack's object count, in its header, is
// checked before anything is read, and past the objects the store holds (about what a
// deepening fetch sends) the fetch is dropped and made again with deepen. Errors: go-git's,
// the pack's (packWriter), I/O.
func (c *Cache) fetchInto(ctx context.Context, e *cacheEntry, st *cacheState, held int64, sess transport.UploadPackSession, ar *packp.AdvRefs,
	tip remoteTip, depth int, opts CloneOptions, tr *tracker) (*fetched, error) {
	if depth > 0 && len(st.Tips) > 0 && held > 0 {
		f, err := c.fetchOnce(ctx, e, st, sess, ar, tip, 0, held, opts, tr)
		if !errors.Is(err, errFetchTooLarge) {
			return f, err
		}
	}
	d := depth
	if d == 0 && len(st.Shallow) > 0 {
		d = math.MaxInt32 // git fetch --unshallow
	}
	return c.fetchOnce(ctx, e, st, sess, ar, tip, d, 0, opts, tr)
}

// fetchOnce is one upload-pack request of fetchInto: deepen to depth (0: none), and at most
// limit objects (0: no limit; errFetchTooLarge past it).
func (c *Cache) fetchOnce(ctx context.Context, e *cacheEntry, st *cacheState, sess transport.UploadPackSession, ar *packp.AdvRefs,
	tip remoteTip, depth int, limit int64, opts CloneOptions, tr *tracker) (*fetched, error) {
	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	req.Wants = []plumbing.Hash{tip.hash}
	seen := map[string]bool{tip.hash.String(): true}
	for _, h := range st.Tips {
		if !seen[h] && plumbing.IsHash(h) {
			seen[h] = true
			req.Haves = append(req.Haves, plumbing.NewHash(h))
		}
	}
	for _, s := range st.Shallow {
		req.Shallows = append(req.Shallows, plumbing.NewHash(s))
	}
	if depth > 0 {
		req.Depth = packp.DepthCommits(depth)
	}
	if len(req.Shallows) > 0 || depth > 0 {
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return nil, err
		}
	}
	var progress io.Writer = opts.Progress
	if tr != nil {
		progress = tr
		if opts.Progress != nil {
			progress = io.MultiWriter(opts.Progress, tr)
		}
	}
	if progress == nil && ar.Capabilities.Supports(capability.NoProgress) {
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return nil, err
		}
	}
	resp, err := sess.UploadPack(ctx, req)
	if errors.Is(err, transport.ErrEmptyUploadPackRequest) {
		return &fetched{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	var r io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		d := sideband.NewDemuxer(sideband.Sideband64k, resp)
		d.Progress = progress
		r = d
	case req.Capabilities.Supports(capability.Sideband):
		d := sideband.NewDemuxer(sideband.Sideband, resp)
		d.Progress = progress
		r = d
	}
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("pack header: %w", err)
	}
	if n := int64(binary.BigEndian.Uint32(hdr[8:])); limit > 0 && n > limit {
		return nil, errFetchTooLarge
	}
	r = io.MultiReader(bytes.NewReader(hdr[:]), r)
	f := &fetched{shallow: resp.Shallows, unshallow: resp.Unshallows}
	w, err := newPackWriter(packConfig{ctx: ctx, dir: e.packDir(), meter: opts.meter, mem: opts.Memory, maxObject: opts.MaxObjectBytes, prog: tr})
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.pw.CloseWithError(err)
		w.Close()
		w.release()
		return nil, err
	}
	if err := w.Close(); err != nil {
		w.release()
		return nil, err
	}
	f.w, f.objects, f.packedSize = w, int64(len(w.idx.entries)), w.written.Load()
	if err := writeSidecar(filepath.Join(e.packDir(), w.name()+".pack"), w.idx, w.res.byID); err != nil {
		w.release()
		return nil, err
	}
	return f, nil
}

// name is the pack's name once Close has put it in place: pack-{checksum}.
func (w *packWriter) name() string { return fmt.Sprintf("pack-%x", w.idx.checksum) }

// commitParents returns the commit's parents (its "parent" header lines).
func commitParents(c []byte) []plumbing.Hash {
	var out []plumbing.Hash
	for len(c) > 0 {
		nl := bytes.IndexByte(c, '\n')
		if nl <= 0 {
			break
		}
		line := c[:nl]
		c = c[nl+1:]
		if p, ok := bytes.CutPrefix(line, []byte("parent ")); ok && plumbing.IsHash(string(p)) {
			out = append(out, plumbing.NewHash(string(p)))
		}
	}
	return out
}

// readObject returns the content of object id of type want from the packs (a worker of its
// own, released before it returns). Errors: not in the packs, another type, the pack's.
func (ps packSet) readObject(id plumbing.Hash, want uint8) ([]byte, error) {
	k, i, ok := ps.find(id)
	if !ok {
		return nil, plumbing.ErrObjectNotFound
	}
	if t := ps[k].idx.entries[i].typ; t != want {
		return nil, fmt.Errorf("object %s is a %s, not a %s", id, typeName(t), typeName(want))
	}
	wk := ps[k].newWorker()
	defer wk.res.release()
	if err := wk.reserveRoot(i); err != nil {
		return nil, err
	}
	return wk.materialize(i)
}

// sufficient reports whether the packs hold tip with depth commits of history (0: all of it):
// every commit within depth-1 parents of tip is there and none of them but the last
// generation is on the shallow boundary. A store never shallow has the whole history of every
// commit it has; a full history is not looked for in a shallow one (it is fetched: unshallow).
func sufficient(ps packSet, st *cacheState, tip plumbing.Hash, depth int) (bool, error) {
	if _, _, ok := ps.find(tip); !ok {
		return false, nil
	}
	if len(st.Shallow) == 0 {
		return true, nil
	}
	if depth == 0 {
		return false, nil
	}
	shallow := map[string]bool{}
	for _, s := range st.Shallow {
		shallow[s] = true
	}
	seen := map[plumbing.Hash]bool{tip: true}
	gen := []plumbing.Hash{tip}
	for g := 0; g < depth && len(gen) > 0; g++ {
		var next []plumbing.Hash
		for _, h := range gen {
			c, err := ps.readObject(h, objCommit)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if g == depth-1 {
				continue
			}
			if shallow[h.String()] {
				if len(commitParents(c)) > 0 {
					return false, nil
				}
				continue
			}
			for _, p := range commitParents(c) {
				if !seen[p] {
					seen[p] = true
					next = append(next, p)
				}
			}
		}
		gen = next
	}
	return true, nil
}

// mergeShallow is the shallow boundary after a fetch: the old one with the server's shallow
// lines added and its unshallow lines removed.
func mergeShallow(old []string, f *fetched) []string {
	set := map[string]bool{}
	for _, s := range old {
		set[s] = true
	}
	for _, h := range f.shallow {
		set[h.String()] = true
	}
	for _, h := range f.unshallow {
		delete(set, h.String())
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// localRef is where the work tree keeps the tip fetched: refs/remotes/origin/{name without
// refs/heads/ or refs/}, as a cold clone (and fetchRef) do.
func localRef(name plumbing.ReferenceName) plumbing.ReferenceName {
	if name.IsBranch() {
		return plumbing.NewRemoteReferenceName(git.DefaultRemoteName, name.Short())
	}
	return plumbing.ReferenceName("refs/remotes/" + git.DefaultRemoteName + "/" + strings.TrimPrefix(string(name), "refs/"))
}
