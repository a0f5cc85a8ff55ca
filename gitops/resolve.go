package gitops

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/klauspost/compress/zlib"
)

// workerBudget bounds the object contents one resolving worker keeps for the delta chain it is
// walking; past it, ancestors' contents are dropped and rebuilt from the pack when needed
// (as git's index-pack does with its delta base cache). A worker holds at most workerBudget of
// ancestors plus the parent and the child being built (each at most the largest object) and
// one inflated delta, so the live memory for resolving is at most about GOMAXPROCS ×
// (workerBudget + 3 × the largest object), plus the tables of about 80 bytes per object; the
// Go heap may reach 1.25 times the live memory between collections (tightGCPercent, for packs
// of tightAbove objects or more; twice at GOGC=100 for smaller ones).
var workerBudget int64 = 32 << 20 // a variable so tests can force the rebuild path

// resolver resolves the deltas of a scanned pack: for every whole object with deltas on it,
// a worker inflates it and walks its delta tree depth first, applying each delta to its
// parent's content and hashing the result. The tree holds both kinds of delta: an OFS_DELTA
// names its base by offset, known from the scan; a REF_DELTA by id, known once the base is
// hashed, so a node's REF_DELTA children are looked up by its id the moment it is resolved
// (as git's index-pack does). Azure DevOps does not offer ofs-delta (docs/azure-devops-protocol.md §7):
// every delta it sends is a REF_DELTA, and chains 50 deep are common.
type resolver struct {
	ctx      context.Context // resolving and checkout stop when it ends
	f        *os.File
	idx      *packIndex
	parent   []int32 // OFS_DELTA: the index of the base entry; -1 otherwise
	kids     []int32 // OFS_DELTA children of entry i: kids[start[i]:start[i+1]]
	start    []int32
	refKids  []int32 // REF_DELTA entries naming refBases[j]: refKids[refStart[j]:refStart[j+1]]
	refStart []int32
	refOrder []int32 // the j of refBases in id order, for refKidsOf's binary search
	refBase  []int32 // the entry whose id is refBases[j], once resolved; -1 before (atomic)
	byID     []int32 // the entries in id order (writeIdx), which find searches
	resolved atomic.Int64
	prog     *tracker
	mem      *MemoryBudget // the process's budget for object contents; nil: none
}

// resolveDeltas fills in the id and type of every delta entry of idx, reading the pack from f.
// Errors: a base that is not in the pack (a thin pack), a malformed delta, or I/O.
// Object contents are reserved from mem (nil: no budget) before they are built.
func resolveDeltas(ctx context.Context, f *os.File, idx *packIndex, prog *tracker, mem *MemoryBudget) (*resolver, error) {
	r, err := newResolver(ctx, f, idx, prog, mem)
	if err != nil {
		return nil, err
	}
	return r, r.resolve()
}

// newResolver builds the delta tables of idx (by each entry's type in the pack, disk, so it
// also serves a pack resolved earlier, whose entries the repository cache kept: cachepack.go).
// Errors: an OFS_DELTA whose base offset is no object.
func newResolver(ctx context.Context, f *os.File, idx *packIndex, prog *tracker, mem *MemoryBudget) (*resolver, error) {
	n := len(idx.entries)
	r := &resolver{ctx: ctx, f: f, idx: idx, parent: make([]int32, n), start: make([]int32, n+1), prog: prog, mem: mem}
	counts := make([]int32, n+1)
	for i := range idx.entries {
		r.parent[i] = -1
		e := &idx.entries[i]
		if e.disk != objOfsDelta {
			continue
		}
		j := sort.Search(i, func(k int) bool { return idx.entries[k].offset >= e.base })
		if j >= i || idx.entries[j].offset != e.base {
			return nil, fmt.Errorf("delta at %d: no object at its base offset %d", e.offset, e.base)
		}
		r.parent[i] = int32(j)
		counts[j+1]++
	}
	r.start, r.kids = csr(counts, n, func(yield func(group, member int32)) {
		for i, p := range r.parent {
			if p >= 0 {
				yield(p, int32(i))
			}
		}
	})
	m := len(idx.refBases)
	refCounts := make([]int32, m+1)
	for i := range idx.entries {
		if e := &idx.entries[i]; e.disk == objRefDelta {
			refCounts[-e.base]++ // group j = -1-base, counted at j+1
		}
	}
	r.refStart, r.refKids = csr(refCounts, m, func(yield func(group, member int32)) {
		for i := range idx.entries {
			if e := &idx.entries[i]; e.disk == objRefDelta {
				yield(int32(-1-e.base), int32(i))
			}
		}
	})
	r.refOrder, r.refBase = make([]int32, m), make([]int32, m)
	for j := range m {
		r.refOrder[j], r.refBase[j] = int32(j), -1
	}
	sort.Slice(r.refOrder, func(a, b int) bool {
		return bytes.Compare(idx.refBases[r.refOrder[a]][:], idx.refBases[r.refOrder[b]][:]) < 0
	})
	return r, nil
}

// resolve fills in the id and type of every delta entry (resolveDeltas).
func (r *resolver) resolve() error {
	idx := r.idx
	var roots []int32
	for i := range idx.entries {
		if e := &idx.entries[i]; e.typ < objOfsDelta {
			if _, ref := r.refKidsOf(e.sum); len(ref) == 0 && len(r.children(int32(i))) == 0 {
				continue
			}
			roots = append(roots, int32(i))
		}
	}
	if err := r.eachRoot(roots, func(wk *worker, root int32) error { return wk.tree(root) }, nil); err != nil {
		return err
	}
	unresolved := 0
	for i := range idx.entries {
		if idx.entries[i].typ >= objOfsDelta {
			unresolved++
		}
	}
	if unresolved > 0 {
		return fmt.Errorf("%d deltas name bases that are not in the pack (a thin pack, or a cycle)", unresolved)
	}
	return nil
}

// csr groups members by group in the compressed sparse row form: the members of group g are
// list[start[g]:start[g+1]]. counts[g+1] holds the size of group g; it is reused.
func csr(counts []int32, groups int, each func(yield func(group, member int32))) (start, list []int32) {
	start = counts
	for g := 1; g <= groups; g++ {
		start[g] += start[g-1]
	}
	list = make([]int32, start[groups])
	fill := append([]int32(nil), start[:groups]...)
	each(func(g, member int32) {
		list[fill[g]] = member
		fill[g]++
	})
	return start, list
}

// children returns entry i's OFS_DELTA deltas.
func (r *resolver) children(i int32) []int32 { return r.kids[r.start[i]:r.start[i+1]] }

// refKidsOf returns the REF_DELTA entries that name id as their base, and the j of that base
// in refBases (-1 when none does).
func (r *resolver) refKidsOf(id [20]byte) (int32, []int32) {
	k := sort.Search(len(r.refOrder), func(k int) bool {
		return bytes.Compare(r.idx.refBases[r.refOrder[k]][:], id[:]) >= 0
	})
	if k == len(r.refOrder) || r.idx.refBases[r.refOrder[k]] != id {
		return -1, nil
	}
	j := r.refOrder[k]
	return j, r.refKids[r.refStart[j]:r.refStart[j+1]]
}

// claimKids returns every delta based on entry i, whose id must be known: its OFS_DELTA
// children, then the REF_DELTA ones naming its id, which it claims for i (refBase). An id
// claimed by another entry means the pack holds that object twice, or a delta rebuilds its
// own base: resolving its deltas twice would race, and a delta of itself would never end, so
// the pack is refused, as git index-pack refuses it ("already resolved").
func (r *resolver) claimKids(i int32) ([]int32, error) {
	ofs := r.children(i)
	j, ref := r.refKidsOf(r.idx.entries[i].sum)
	if len(ref) == 0 {
		return ofs, nil
	}
	if !atomic.CompareAndSwapInt32(&r.refBase[j], -1, i) && atomic.LoadInt32(&r.refBase[j]) != i {
		return nil, fmt.Errorf("object %x is in the pack twice (or a delta rebuilds its own base); its deltas cannot be resolved once", r.idx.entries[i].sum)
	}
	if len(ofs) == 0 {
		return ref, nil
	}
	return append(ofs[:len(ofs):len(ofs)], ref...), nil
}

// kidsOf returns the deltas resolved on entry i: its OFS_DELTA children and the REF_DELTA
// ones it claimed (claimKids). It only reads, for the checkout after resolving.
func (r *resolver) kidsOf(i int32) []int32 {
	ofs := r.children(i)
	j, ref := r.refKidsOf(r.idx.entries[i].sum)
	if len(ref) == 0 || atomic.LoadInt32(&r.refBase[j]) != i {
		return ofs
	}
	if len(ofs) == 0 {
		return ref
	}
	return append(ofs[:len(ofs):len(ofs)], ref...)
}

// baseOf is the entry entry j is a delta of, or -1 for a whole object (or a REF_DELTA whose
// base is not resolved).
func (r *resolver) baseOf(j int32) int32 {
	e := &r.idx.entries[j]
	switch e.disk {
	case objOfsDelta:
		return r.parent[j]
	case objRefDelta:
		return atomic.LoadInt32(&r.refBase[-1-e.base])
	}
	return -1
}

// eachRoot calls fn for every root on GOMAXPROCS goroutines, each with a worker of its own;
// an error, a panic (recoverInto) or the end of r.ctx stops them all, and the errors are
// joined. done, when not nil, is called with each worker as its goroutine ends.
func (r *resolver) eachRoot(roots []int32, fn func(wk *worker, root int32) error, done func(wk *worker)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer recoverInto(&errs[w])
			wk := r.newWorker()
			defer wk.res.release()
			if done != nil {
				defer done(wk)
			}
			for {
				k := next.Add(1) - 1
				if k >= int64(len(roots)) {
					return
				}
				err := r.ctx.Err()
				if err == nil {
					err = fn(wk, roots[k])
					// Between roots the worker keeps only its reusable buffers.
					wk.res.shrink(workerFixed + wk.freeBytes + int64(cap(wk.delta)))
				}
				if err != nil {
					errs[w] = err
					next.Store(int64(len(roots))) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// recoverInto turns a panic of a resolving or checkout worker into an error in *err, so a
// pack that gets past the checks never takes the process down.
func recoverInto(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("gitops: the pack could not be processed: %v", p)
	}
}

// worker resolves delta trees one at a time.
type worker struct {
	r         *resolver
	zr        io.ReadCloser
	raw       []byte        // the compressed bytes of the object being inflated (to streamThreshold)
	br        *bufio.Reader // over the pack, for objects past streamThreshold
	delta     []byte        // the inflated delta being applied
	free      [][]byte      // contents no longer needed, for reuse
	freeBytes int64         // the capacity of free
	held      int64         // the capacity of the contents the current walk holds
	rd        bytes.Reader  // over raw
	files     []index.Entry // checkout: the index entries of the files this worker wrote
	h         hash.Hash     // resolving: the SHA-1 of each object, reused
	res       reservation   // the worker's part of the memory budget
}

// take returns a buffer of n bytes, reusing a freed one when one is large enough.
func (wk *worker) take(n int64) []byte {
	best := -1 // the smallest that fits and is not far larger: large buffers stay for large contents
	for k, b := range wk.free {
		if c := int64(cap(b)); c >= n && c <= 4*n+64<<10 && (best < 0 || cap(b) < cap(wk.free[best])) {
			best = k
		}
	}
	if best < 0 {
		return make([]byte, n)
	}
	b := wk.free[best]
	wk.free = append(wk.free[:best], wk.free[best+1:]...)
	wk.freeBytes -= int64(cap(b))
	return b[:n]
}

// freeBudget bounds the bytes of the buffers a worker keeps for reuse: enough for the
// contents of a delta chain's next steps, while a checkout of small files keeps little. 8 MiB
// per worker was a tenth of a full git.git clone's peak; with the collector tight
// (tightenGC) a buffer let go is soon memory to allocate again anyway.
const freeBudget = 2 << 20

// maxFree bounds how many buffers a worker keeps for reuse (take searches them all).
const maxFree = 64

// give returns a buffer for reuse. The buffers kept and the contents the walk holds share
// workerBudget, and at most maxFree are kept: the oldest go first.
func (wk *worker) give(b []byte) {
	limit := min(workerBudget-wk.held, freeBudget)
	if b == nil || int64(cap(b)) > limit {
		return
	}
	for len(wk.free) > 0 && (wk.freeBytes+int64(cap(b)) > limit || len(wk.free) >= maxFree) {
		wk.freeBytes -= int64(cap(wk.free[0]))
		wk.free = wk.free[1:]
	}
	wk.free = append(wk.free, b)
	wk.freeBytes += int64(cap(b))
}

// frame is one object on the current path of a depth-first walk.
type frame struct {
	i    int32
	data []byte // nil when dropped to stay within workerBudget
	kids []int32
	next int
}

// tree resolves the deltas under root, OFS_DELTA and REF_DELTA alike: each one's id and type
// are recorded.
func (wk *worker) tree(root int32) error {
	typ := wk.r.idx.entries[root].typ
	kids, err := wk.r.claimKids(root)
	if err != nil {
		return err
	}
	return wk.walk(root, kids, wk.r.claimKids, func(int32) bool { return true }, func(i int32, data []byte) error {
		e := &wk.r.idx.entries[i]
		if i == root {
			return nil
		}
		if wk.h == nil {
			wk.h = sha1.New()
		}
		wk.h.Reset() // one hasher per worker, not one per object
		writeObjectHeader(wk.h, typ, int64(len(data)))
		wk.h.Write(data)
		wk.h.Sum(e.sum[:0])
		e.typ = typ
		if n := wk.r.resolved.Add(1); wk.r.prog != nil && (n%256 == 0 || n == int64(wk.r.idx.deltas)) {
			wk.r.prog.objects(PhaseResolving, n, int64(wk.r.idx.deltas))
		}
		return nil
	})
}

// walk visits root and then, following kidsOf, depth first, the deltas under it that keep says to follow (of
// root: kids), with each one's content. Contents are kept along the current path within
// workerBudget; dropped ones are rebuilt from the pack when needed.
func (wk *worker) walk(root int32, kids []int32, kidsOf func(int32) ([]int32, error), keep func(child int32) bool, visit func(i int32, data []byte) error) error {
	if err := wk.reserveRoot(root); err != nil {
		return err
	}
	data, err := wk.materialize(root)
	if err != nil {
		return err
	}
	if err := visit(root, data); err != nil {
		return err
	}
	stack := []frame{{i: root, data: data, kids: kids}}
	wk.held = int64(cap(data))
	visits := 0
	defer func() { wk.held = 0 }()
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.next == len(top.kids) {
			wk.drop(top)
			stack = stack[:len(stack)-1]
			continue
		}
		child := top.kids[top.next]
		top.next++
		if !keep(child) {
			continue
		}
		if err := wk.reserveChild(stack, child); err != nil {
			return err
		}
		if top.data == nil { // dropped to stay within the budget: rebuild it
			if err := wk.restore(stack); err != nil {
				return err
			}
		}
		out, err := wk.patch(child, top.data)
		if err != nil {
			return err
		}
		if top.next == len(top.kids) {
			// Its last child is built: nothing needs this content any more (a chain without
			// branches then holds two contents, not the whole path).
			wk.drop(top)
		}
		if err := visit(child, out); err != nil {
			return err
		}
		kids, err := kidsOf(child)
		if err != nil {
			return err
		}
		if visits++; visits%256 == 0 && wk.r.ctx.Err() != nil { // one delta tree can be long
			return wk.r.ctx.Err()
		}
		if len(kids) == 0 {
			wk.give(out)
		} else {
			stack = append(stack, frame{i: child, data: out, kids: kids})
			wk.held += int64(cap(out))
			wk.trim(stack)
		}
	}
	return nil
}

// drop gives up the content of f.
func (wk *worker) drop(f *frame) {
	wk.held -= int64(cap(f.data))
	wk.give(f.data)
	f.data = nil
}

// trim keeps the contents held within workerBudget by dropping those of the frames nearest the
// root first (all but the top), to be rebuilt if a sibling needs them.
func (wk *worker) trim(stack []frame) {
	for len(wk.free) > 0 && wk.held+wk.freeBytes > workerBudget { // the buffers kept for reuse go first
		wk.freeBytes -= int64(cap(wk.free[0]))
		wk.free = wk.free[1:]
	}
	for k := 0; wk.held > workerBudget && k < len(stack)-1; k++ {
		wk.drop(&stack[k])
	}
}

// restore rebuilds the dropped content of the top of stack from the nearest frame below it
// that still holds its own (from the pack when none does), keeping every content rebuilt on
// the way: the walk pops to those frames next, and would otherwise rebuild each from the
// pack again, once per level of a deep chain. Then the budget is kept as in walk (trim).
func (wk *worker) restore(stack []frame) error {
	top := len(stack) - 1
	j := top
	for j >= 0 && stack[j].data == nil {
		j--
	}
	if j < 0 {
		data, err := wk.materialize(stack[0].i)
		if err != nil {
			return err
		}
		stack[0].data, j = data, 0
		wk.held += int64(cap(data))
	}
	for m := j + 1; m <= top; m++ {
		out, err := wk.patch(stack[m].i, stack[m-1].data)
		if err != nil {
			return err
		}
		stack[m].data = out
		wk.held += int64(cap(out))
		if f := &stack[m-1]; f.next == len(f.kids) {
			wk.drop(f) // no child left to build: only the way to the top needed it
		}
		wk.trim(stack[:m+1])
	}
	return nil
}

// materialize rebuilds the content of entry i from its chain of bases in the pack.
func (wk *worker) materialize(i int32) ([]byte, error) {
	var chain []int32
	for j := i; ; {
		chain = append(chain, j)
		p := wk.r.baseOf(j)
		if p < 0 {
			break
		}
		j = p
	}
	if e := &wk.r.idx.entries[chain[len(chain)-1]]; e.disk >= objOfsDelta {
		return nil, fmt.Errorf("object at %d: its delta base is not known", e.offset)
	}
	e := &wk.r.idx.entries[chain[len(chain)-1]]
	data, err := wk.inflate(chain[len(chain)-1], wk.take(e.size))
	if err != nil {
		return nil, err
	}
	for k := len(chain) - 2; k >= 0; k-- {
		next, err := wk.patch(chain[k], data)
		if err != nil {
			return nil, err
		}
		wk.give(data)
		data = next
	}
	return data, nil
}

// patch inflates delta entry i and applies it to base, into a reused buffer.
func (wk *worker) patch(i int32, base []byte) ([]byte, error) {
	var err error
	if wk.delta, err = wk.inflate(i, wk.delta[:0]); err != nil {
		return nil, err
	}
	size, _, ok := deltaResultSize(wk.delta)
	if !ok {
		return nil, fmt.Errorf("delta at %d: %w: no result size", wk.r.idx.entries[i].offset, errBadDelta)
	}
	if size > uint64(wk.r.idx.maxObject) || int64(size) != wk.r.idx.entries[i].full {
		return nil, fmt.Errorf("delta at %d: %w: its result has %d bytes", wk.r.idx.entries[i].offset, errBadDelta, size)
	}
	out, err := applyDelta(wk.take(int64(size)), base, wk.delta)
	if err != nil {
		return nil, fmt.Errorf("delta at %d: %w", wk.r.idx.entries[i].offset, err)
	}
	return out, nil
}

// streamThreshold is the compressed size above which an object's zlib data is read from the
// pack through a bounded buffer instead of in one read: a 20 MiB binary then costs its
// inflated bytes, not twice that, and the checkout writes a large whole blob without holding
// it at all (writeStreamed).
const streamThreshold = 1 << 20

// inflate reads entry i's zlib data from the pack file (one read of exactly its compressed
// bytes, or through a bounded buffer past streamThreshold) and inflates it into dst's
// storage when large enough.
func (wk *worker) inflate(i int32, dst []byte) ([]byte, error) {
	e := &wk.r.idx.entries[i]
	zr, err := wk.open(i)
	if err != nil {
		return nil, err
	}
	if int64(cap(dst)) >= e.size {
		dst = dst[:e.size]
	} else {
		dst = make([]byte, e.size)
	}
	if _, err := io.ReadFull(zr, dst); err != nil {
		return nil, fmt.Errorf("object at %d: inflate: %w", e.offset, err)
	}
	return dst, nil
}

// open returns the inflater of entry i's zlib data, reused between calls: valid until the
// next call.
func (wk *worker) open(i int32) (io.Reader, error) {
	e := &wk.r.idx.entries[i]
	end := wk.r.idx.end
	if int(i)+1 < len(wk.r.idx.entries) {
		end = wk.r.idx.entries[i+1].offset
	}
	start := e.offset + int64(e.data)
	n := end - start
	var src io.Reader
	if n > streamThreshold {
		sec := io.NewSectionReader(wk.r.f, start, n)
		if wk.br == nil {
			wk.br = bufio.NewReaderSize(sec, 256<<10)
		} else {
			wk.br.Reset(sec)
		}
		src = wk.br // a flate.Reader: the inflater reads it directly
	} else {
		if int64(cap(wk.raw)) < n {
			wk.raw = make([]byte, n)
		}
		raw := wk.raw[:n]
		if _, err := wk.r.f.ReadAt(raw, start); err != nil {
			return nil, fmt.Errorf("object at %d: %w", e.offset, err)
		}
		wk.rd.Reset(raw)
		src = &wk.rd
	}
	var err error
	if wk.zr == nil {
		wk.zr, err = zlib.NewReader(src)
	} else {
		err = wk.zr.(zlib.Resetter).Reset(src, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("object at %d: %w", e.offset, err)
	}
	return wk.zr, nil
}
