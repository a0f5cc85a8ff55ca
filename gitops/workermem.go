package gitops

import (
	"os"
	"runtime/debug"
	"sync"
)

// A resolving or checkout worker's part of the clones' memory budget (MemoryBudget): what it
// reserves before each object it builds, and how it lets go of everything before it waits.

// newWorker returns a worker of r with no reservation yet.
func (r *resolver) newWorker() *worker { return &worker{r: r, res: reservation{b: r.mem}} }

// stepNeed is the memory building delta c from its base b takes: both contents and the
// inflated delta.
func (r *resolver) stepNeed(b, c int32) int64 {
	return r.idx.entries[b].full + r.idx.entries[c].full + r.idx.entries[c].size
}

// chainPeak is the most memory materialize(i) holds at once: the largest step of the chain
// from the whole object to i.
func (r *resolver) chainPeak(i int32) int64 {
	peak := int64(0)
	for j := i; ; {
		p := r.baseOf(j)
		if p < 0 {
			return max(peak, r.idx.entries[j].full)
		}
		peak = max(peak, r.stepNeed(p, j))
		j = p
	}
}

// letGo drops everything the worker holds that it can rebuild (contents on the path, buffers
// kept for reuse), before it waits for the budget holding nothing.
func (wk *worker) letGo(stack []frame) {
	for k := range stack {
		wk.drop(&stack[k])
	}
	wk.free, wk.freeBytes, wk.delta = nil, 0, nil
}

// reserveRoot reserves what materializing entry i takes, as the first step of a walk.
func (wk *worker) reserveRoot(i int32) error {
	if wk.res.grow(workerFixed + wk.freeBytes + int64(cap(wk.delta)) + wk.r.chainPeak(i)) {
		return nil
	}
	wk.letGo(nil)
	return wk.res.wait(wk.r.ctx, workerFixed+wk.r.chainPeak(i))
}

// reserveChild reserves what building child on the top of stack takes: what the worker
// holds, the child's content and delta, and when the top's content was dropped, rebuilding
// it (up to workerBudget of contents kept on the way, and the largest step of the path).
// When the budget is short it lets go of everything and waits for what the step takes from
// scratch.
func (wk *worker) reserveChild(stack []frame, child int32) error {
	r := wk.r
	top := &stack[len(stack)-1]
	step := r.idx.entries[top.i].full + r.idx.entries[child].full + r.idx.entries[child].size
	// The top's content is in held already (or rebuilt within scratch).
	ce := &r.idx.entries[child]
	need := workerFixed + wk.held + wk.freeBytes + max(int64(cap(wk.delta)), ce.size) + ce.full
	scratch := func() int64 {
		peak := r.chainPeak(stack[0].i)
		for m := 1; m < len(stack); m++ {
			peak = max(peak, r.stepNeed(stack[m-1].i, stack[m].i))
		}
		return workerFixed + workerBudget + max(peak, step)
	}
	if top.data == nil {
		need += scratch()
	}
	if wk.res.grow(need) {
		return nil
	}
	wk.letGo(stack)
	return wk.res.wait(r.ctx, scratch())
}

// tightGCPercent is the collector's GOGC while a large pack is scanned, resolved and checked
// out (tightenGC). Resolving allocates every object's content and lets it go (gigabytes for
// git.git) over per-object tables that stay live, and at GOGC=100 the heap grows to twice
// what is live between collections: 167 MiB of peak RSS on a full clone of git.git, against
// git's 100 MiB; at 25, 109 MiB for the same wall time (the tables hold no pointers, so a
// collection costs little however often it runs).
const tightGCPercent = 25

// tightAbove is the object count of a pack from which its clone tightens the collector: below
// it the heap is a few MiB, the Go runtime's own floor, and collecting more often would only
// cost time.
const tightAbove = 32 << 10

// gcTight counts the clones that have the collector tightened, and keeps the GOGC to restore.
var gcTight struct {
	sync.Mutex
	users int
	saved int
}

// tightenGC sets GOGC to tightGCPercent until the returned function is called (it may be
// called more than once; only the first call counts), unless the GOGC environment variable
// is set (the operator's choice stands) or the collector is already as tight or off.
// Concurrent clones share it: the last one to finish restores the value the first found.
func tightenGC() (loosen func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	gcTight.Lock()
	if gcTight.users == 0 {
		gcTight.saved = debug.SetGCPercent(tightGCPercent)
		if gcTight.saved < 0 || gcTight.saved <= tightGCPercent {
			debug.SetGCPercent(gcTight.saved)
		}
	}
	gcTight.users++
	gcTight.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			gcTight.Lock()
			if gcTight.users--; gcTight.users == 0 {
				debug.SetGCPercent(gcTight.saved)
			}
			gcTight.Unlock()
		})
	}
}
