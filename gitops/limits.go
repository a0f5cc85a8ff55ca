package gitops

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"github.com/repoconnect/repoconnect/connections"
)

// The limits of one clone: what it writes to disk (pack, index and work tree: bytes and
// files), the free space it leaves on the data directory's file system, the size of one
// object, and the memory its object contents take from a budget shared by every clone of the
// process. A clone and its submodules share one meter.

// FreeCheckInterval is how many bytes a clone writes between two checks of the free space
// (CloneOptions.MinFreeBytes); it also checks when it starts, when the pack is in place and
// before the checkout.
const FreeCheckInterval = 64 << 20

// Limit errors, translated by translate to their own reasons.
var (
	// errTreeTooLarge: the clone (pack, index and work tree) would write more than MaxBytes.
	errTreeTooLarge = errors.New("the work tree is larger than the clone's size limit")
	// errTooManyFiles: the work tree would hold more than MaxFiles files.
	errTooManyFiles = errors.New("the work tree has more files than the clone's file limit")
	// errDiskSpaceLow: the data directory's free space fell below MinFreeBytes.
	errDiskSpaceLow = errors.New("the free space of the clone's file system is below the reserve")
	// errPlanMemory: the work tree's paths need more memory to plan than planMemory allows.
	errPlanMemory = errors.New("the work tree's paths need more memory than the clone's memory budget allows")
	// errMemoryBudget: one object alone needs more than the whole memory budget.
	errMemoryBudget = errors.New("one object needs more memory than the clones' memory budget")
)

// limitError carries the figures of a limit error for translate's message.
type limitError struct {
	kind        error // one of the errors above, or errPackTooLarge, errObjectTooLarge
	limit, have int64
}

func (e *limitError) Error() string {
	return fmt.Sprintf("%v (limit %d, needed %d)", e.kind, e.limit, e.have)
}
func (e *limitError) Unwrap() error { return e.kind }

// meter counts what a clone and its submodules write, against CloneOptions' limits. A nil
// *meter counts nothing and limits nothing.
type meter struct {
	maxBytes, maxFiles, minFree int64
	freeSpace                   func(string) (int64, error)
	dir                         string // where free space is measured: the top clone's directory
	written, files              atomic.Int64
	nextCheck                   atomic.Int64 // the written count at which the free space is checked again
}

func newMeter(opts CloneOptions, dir string) *meter {
	m := &meter{maxBytes: opts.MaxBytes, maxFiles: opts.MaxFiles, minFree: opts.MinFreeBytes, freeSpace: opts.FreeSpace, dir: dir}
	if m.freeSpace == nil {
		m.freeSpace = freeSpace
	}
	m.nextCheck.Store(FreeCheckInterval)
	return m
}

// addBytes counts n bytes written (kind is errPackTooLarge for the pack, errTreeTooLarge for
// the work tree) and checks the free space every FreeCheckInterval bytes.
func (m *meter) addBytes(n int64, kind error) error {
	if m == nil {
		return nil
	}
	w := m.written.Add(n)
	if m.maxBytes > 0 && w > m.maxBytes {
		return &limitError{kind: kind, limit: m.maxBytes, have: w}
	}
	if next := m.nextCheck.Load(); w >= next && m.nextCheck.CompareAndSwap(next, w+FreeCheckInterval) {
		return m.checkFree()
	}
	return nil
}

// plan refuses a work tree of files files and bytes bytes that would pass the limits before
// any of it is written.
func (m *meter) plan(files, bytes int64) error {
	if m == nil {
		return nil
	}
	if m.maxFiles > 0 && m.files.Load()+files > m.maxFiles {
		return &limitError{kind: errTooManyFiles, limit: m.maxFiles, have: m.files.Load() + files}
	}
	if w := m.written.Load() + bytes; m.maxBytes > 0 && w > m.maxBytes {
		return &limitError{kind: errTreeTooLarge, limit: m.maxBytes, have: w}
	}
	return nil
}

// addFile counts one file of size bytes about to be written to the work tree.
func (m *meter) addFile(size int64) error {
	if m == nil {
		return nil
	}
	if f := m.files.Add(1); m.maxFiles > 0 && f > m.maxFiles {
		return &limitError{kind: errTooManyFiles, limit: m.maxFiles, have: f}
	}
	return m.addBytes(size, errTreeTooLarge)
}

// checkFree returns errDiskSpaceLow when the free space is below the reserve. A file system
// that cannot be asked is no error: the reserve is a safeguard, not a precondition.
func (m *meter) checkFree() error {
	if m == nil {
		return nil
	}
	if m.minFree <= 0 {
		return nil
	}
	free, err := m.freeSpace(m.dir)
	if err != nil {
		return nil
	}
	if free < m.minFree {
		return &limitError{kind: errDiskSpaceLow, limit: m.minFree, have: free}
	}
	return nil
}

// MemoryBudget is the memory the clones of a process may use for object contents: one
// shared weighted semaphore (golang.org/x/sync/semaphore) of Size bytes. Each resolving or
// checkout worker reserves what its next object needs (the base and the result of a delta
// with the inflated delta, a whole object's size, its reusable buffers and a fixed 1.3 MiB of
// read buffers) before it builds it, and waits, holding nothing, while other clones hold the
// budget. So the object contents of every clone together never pass Size. Per-object tables
// (about 150 bytes per object of the pack) and per-clone stream buffers (about 2.5 MiB) are
// outside it. A nil *MemoryBudget is no budget. Safe for concurrent use.
type MemoryBudget struct {
	size  int64
	sem   *semaphore.Weighted
	mu    sync.Mutex
	used  int64
	peak  int64
	freed atomic.Int64 // bytes given back since the last collection collect ran
}

// collectAbove is the size of a reservation, and of the bytes given back before it, past
// which collect runs the garbage collector before the contents are built.
const collectAbove = 64 << 20

// collect runs the garbage collector before n bytes are built when more than collectAbove
// was given back since it last ran: the budget counts live contents, and without it the
// heap would hold the given-back contents (garbage) and the new ones at once, the budget
// overshot by the garbage (GOGC, or a soft memory limit overshot by one large allocation).
func (b *MemoryBudget) collect(n int64) {
	if n >= collectAbove && b.freed.Load() >= collectAbove {
		b.freed.Store(0)
		runtime.GC()
	}
}

// NewMemoryBudget returns a budget of size bytes (at least 64 MiB is sensible: a worker
// reserves about 10 MiB for its buffers).
func NewMemoryBudget(size int64) *MemoryBudget {
	return &MemoryBudget{size: size, sem: semaphore.NewWeighted(size)}
}

// Size is the budget in bytes.
func (b *MemoryBudget) Size() int64 { return b.size }

// InUse is the bytes reserved now.
func (b *MemoryBudget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Peak is the most bytes ever reserved at once (for tests and metrics): never above Size.
func (b *MemoryBudget) Peak() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}

func (b *MemoryBudget) count(n int64) {
	b.mu.Lock()
	b.used += n
	b.peak = max(b.peak, b.used)
	b.mu.Unlock()
}

// tryAcquire reserves n bytes if they are free now.
func (b *MemoryBudget) tryAcquire(n int64) bool {
	if !b.sem.TryAcquire(n) {
		return false
	}
	b.count(n)
	return true
}

// acquire reserves n bytes, waiting for them; errMemoryBudget when n is more than the whole
// budget, ctx's error when it ends first.
func (b *MemoryBudget) acquire(ctx context.Context, n int64) error {
	if n > b.size {
		return &limitError{kind: errMemoryBudget, limit: b.size, have: n}
	}
	if err := b.sem.Acquire(ctx, n); err != nil {
		return err
	}
	b.count(n)
	return nil
}

func (b *MemoryBudget) release(n int64) {
	if n > 0 {
		b.count(-n)
		b.freed.Add(n)
		b.sem.Release(n)
	}
}

// workerFixed is what a worker reserves beyond the contents: the compressed bytes of one
// object read at once (streamThreshold), the streaming reader's buffer and the inflater.
const workerFixed = streamThreshold + 256<<10 + 64<<10

// reservation is one worker's part of a MemoryBudget.
type reservation struct {
	b    *MemoryBudget
	held int64
}

// grow makes the reservation at least n bytes without waiting; false when the budget is
// short.
func (r *reservation) grow(n int64) bool {
	if r.b == nil || n <= r.held {
		return true
	}
	if n > r.b.size {
		return false // wait reports it
	}
	n = r.round(n)
	if !r.b.tryAcquire(n - r.held) {
		return false
	}
	r.b.collect(n - r.held)
	r.held = n
	return true
}

// wait gives up the whole reservation and waits for n bytes: the caller holds nothing it
// reserved, so waiting cannot deadlock with other workers. Errors: errMemoryBudget (a
// *limitError) when n is more than the whole budget, ctx's error.
func (r *reservation) wait(ctx context.Context, n int64) error {
	if r.b == nil {
		return nil
	}
	r.release()
	if n > r.b.size {
		return &limitError{kind: errMemoryBudget, limit: r.b.size, have: n}
	}
	n = r.round(n)
	if err := r.b.acquire(ctx, n); err != nil {
		return err
	}
	r.b.collect(n)
	r.held = n
	return nil
}

// shrink gives back what is above n bytes.
func (r *reservation) shrink(n int64) {
	if r.b == nil {
		return
	}
	if n = r.round(n); r.held > n {
		r.b.release(r.held - n)
		r.held = n
	}
}

func (r *reservation) release() { r.shrink(0) }

// round rounds n up to a whole MiB, so that small steps seldom touch the semaphore, but not
// past the budget.
func (r *reservation) round(n int64) int64 { return min((n+1<<20-1)&^(1<<20-1), r.b.size) }

// parentDir is filepath.Dir, for freeSpace's walk up to an existing directory.
func parentDir(p string) string { return filepath.Dir(p) }

// translateLimit turns a limit error (*limitError anywhere in err's chain) into the
// *connections.Error of its own reason, naming the setting that raises the limit; nil for
// other errors.
func translateLimit(err error) *connections.Error {
	var le *limitError
	if !errors.As(err, &le) {
		return nil
	}
	lim, have := formatBytes(le.limit), formatBytes(le.have)
	var ce *connections.Error
	switch le.kind {
	case errPackTooLarge:
		ce = connections.Errorf(connections.ErrInvalidInput, connections.ReasonTooLarge,
			"the repository is larger than the clone's size limit of %s; raise the limit (serve --max-clone-size, clone --max-size) or clone with a depth", lim)
	case errTreeTooLarge:
		ce = connections.Errorf(connections.ErrInvalidInput, connections.ReasonWorkTreeTooLarge,
			"the clone would write %s to disk (pack and work tree), more than its size limit of %s; raise it (serve --max-clone-size, clone --max-size) or clone with a depth", have, lim)
	case errTooManyFiles:
		ce = connections.Errorf(connections.ErrInvalidInput, connections.ReasonTooManyFiles,
			"the work tree has more than %d files and directories, the clone's limit; raise it (serve --max-clone-files, clone --max-files)", le.limit)
	case errObjectTooLarge:
		ce = connections.Errorf(connections.ErrInvalidInput, connections.ReasonObjectTooLarge,
			"the repository has an object of %s, larger than the clone's object size limit of %s; raise it (serve --max-object-size, clone --max-object-size); files that large belong in Git LFS", have, lim)
	case errDiskSpaceLow:
		ce = connections.Errorf(connections.ErrInvalidInput, connections.ReasonDiskSpaceLow,
			"only %s is free on the clone's file system, less than the reserve of %s; free some space, or lower the reserve (serve --min-free-space, clone --min-free-space)", have, lim)
	case errMemoryBudget:
		ce = connections.Errorf(connections.ErrInvalidInput, connections.ReasonMemoryBudgetExceeded,
			"one object of the repository needs %s of memory to build, more than the clones' memory budget of %s; raise it (serve --clone-memory, clone --memory)", have, lim)
	case errPlanMemory:
		ce = connections.Errorf(connections.ErrInvalidInput, connections.ReasonMemoryBudgetExceeded,
			"the work tree's paths need more than %s of memory to plan, a quarter of the clones' memory budget; raise it (serve --clone-memory, clone --memory)", lim)
	default:
		return nil
	}
	return ce.Wrap(err)
}

// largest is the size of the largest object of the pack, inflated.
func (idx *packIndex) largest() int64 {
	var n int64
	for i := range idx.entries {
		n = max(n, idx.entries[i].full)
	}
	return n
}
