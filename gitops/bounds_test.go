package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/gitops"
)

// zeroBombRepo is bomb (a) of issue 15 at test scale: one blob of size zero bytes named by
// files entries of one tree. The pack is a few KiB; the work tree files × size.
func zeroBombRepo(t *testing.T, sim *azdosim.Server, name string, size, files int) azdosim.RepoInfo {
	t.Helper()
	return hostileRepo(t, sim, name, func(blob func(string) string) []byte {
		id := blob(strings.Repeat("\x00", size))
		var entries [][3]string
		for k := range files {
			entries = append(entries, [3]string{"100644", fmt.Sprintf("zero%02d", k), id})
		}
		return treeBytes(entries...)
	})
}

// deltaBombRepo is bomb (b) at test scale: a blob of size zero bytes and a second one that
// differs in a few bytes, which the server sends as a small delta on the first.
func deltaBombRepo(t *testing.T, sim *azdosim.Server, name string, size int) azdosim.RepoInfo {
	t.Helper()
	r := hostileRepo(t, sim, name, func(blob func(string) string) []byte {
		base := strings.Repeat("\x00", size)
		other := base[:size/2] + "a delta makes this blob" + base[size/2+23:]
		return treeBytes([3]string{"100644", "a", blob(base)}, [3]string{"100644", "b", blob(other)})
	})
	gitIn(t, r.BarePath, nil, "repack", "-adfq")
	return r
}

// reasonOf is the reason of a *connections.Error, or "" for another error.
func reasonOf(err error) connections.Reason {
	if ce := connections.AsError(err); ce != nil && errors.Is(err, connections.ErrInvalidInput) {
		return ce.Reason
	}
	return ""
}

// Bomb (a): 20 entries naming one 8 MiB zero blob (a pack of a few KiB) is refused with a
// 1 MiB limit before any file is written: the bytes written stay under the limit, nothing is
// left, and the message names the setting. The file limit and the object size limit refuse
// it too, each with its own reason; without limits it clones.
func TestCloneZeroBombIsBounded(t *testing.T) {
	sim := startSim(t)
	r := zeroBombRepo(t, sim, "zero-bomb", 8<<20, 20)
	cases := []struct {
		name   string
		opts   gitops.CloneOptions
		reason connections.Reason
		flag   string
	}{
		{"bytes", gitops.CloneOptions{MaxBytes: 1 << 20}, connections.ReasonWorkTreeTooLarge, "--max-clone-size"},
		{"files", gitops.CloneOptions{MaxFiles: 5}, connections.ReasonTooManyFiles, "--max-clone-files"},
		{"object", gitops.CloneOptions{MaxObjectBytes: 4 << 20}, connections.ReasonObjectTooLarge, "--max-object-size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c")
			opts := c.opts
			opts.URL, opts.Dir, opts.PAT, opts.Door = cloneURL(sim, r), dir, pat, gitops.LoopbackDoor
			_, written, err := gitops.CloneMetered(context.Background(), opts)
			if got := reasonOf(err); got != c.reason || !strings.Contains(err.Error(), c.flag) {
				t.Fatalf("got %v (reason %q), want reason %q naming %s", err, got, c.reason, c.flag)
			}
			if written > 1<<20 {
				t.Errorf("%d bytes written before the refusal, more than the 1 MiB limit", written)
			}
			leftNothing(t, dir)
		})
	}
	dir := filepath.Join(t.TempDir(), "c")
	_, written, err := gitops.CloneMetered(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat,
		MaxBytes: 200 << 20, MaxFiles: 20})
	if err != nil || written < 160<<20 {
		t.Fatalf("with limits above it the bomb clones (%d bytes written): %v", written, err)
	}
}

// The free-space reserve: a clone does not start when the file system has less free, and
// stops when the free space falls below it while it runs; nothing is left either way.
func TestCloneFreeSpaceReserve(t *testing.T) {
	sim := startSim(t)
	r := zeroBombRepo(t, sim, "free-space", 1<<20, 3)
	for _, c := range []struct {
		name      string
		freeAfter int // calls answered with plenty before the space runs low
	}{{"at start", 0}, {"while running", 1}} {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			free := func(string) (int64, error) {
				if int(calls.Add(1)) <= c.freeAfter {
					return 100 << 30, nil
				}
				return 10 << 20, nil
			}
			dir := filepath.Join(t.TempDir(), "c")
			_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat,
				MinFreeBytes: 1 << 30, FreeSpace: free})
			if reasonOf(err) != connections.ReasonDiskSpaceLow || !strings.Contains(err.Error(), "--min-free-space") {
				t.Fatalf("10 MiB free with a 1 GiB reserve: %v", err)
			}
			if int(calls.Load()) <= c.freeAfter {
				t.Fatalf("the free space was checked %d times", calls.Load())
			}
			leftNothing(t, dir)
		})
	}
}

// Bomb (b): a 16 MiB blob and a small delta making a second one. A budget smaller than one
// object is refused with memory_budget_exceeded; with a budget that holds one clone's base
// and result, four concurrent bombs all clone, wait for each other, and never reserve more
// than the budget at once (the semaphore's high-water mark).
func TestCloneDeltaBombWithinMemoryBudget(t *testing.T) {
	const size = 16 << 20
	sim := startSim(t)
	r := deltaBombRepo(t, sim, "delta-bomb", size)

	small := gitops.NewMemoryBudget(8 << 20)
	dir := filepath.Join(t.TempDir(), "c")
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat, Memory: small})
	if reasonOf(err) != connections.ReasonMemoryBudgetExceeded || !strings.Contains(err.Error(), "--clone-memory") {
		t.Fatalf("a 16 MiB object with an 8 MiB budget: %v", err)
	}
	leftNothing(t, dir)
	if small.InUse() != 0 {
		t.Errorf("%d bytes still reserved after the clone", small.InUse())
	}

	budget := gitops.NewMemoryBudget(2*size + gitops.WorkerBudget + 8<<20)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for k := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[k] = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r),
				Dir: filepath.Join(t.TempDir(), "c"), PAT: pat, Memory: budget})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if budget.Peak() > budget.Size() || budget.Peak() < 2*size {
		t.Errorf("the budget's high-water mark is %d bytes: want between the base and result (%d) and the budget (%d)", budget.Peak(), 2*size, budget.Size())
	}
	if budget.InUse() != 0 {
		t.Errorf("%d bytes still reserved after the clones", budget.InUse())
	}
}

// The index (.git/index) is counted with the work tree: a tree of many empty files with long
// names writes next to nothing to the work tree but an index of about 330 bytes per file.
// With a limit the pack and empty files stay under, the index passes it and is refused
// before it is written; with a limit above all of it, what the clone counted covers what is on
// disk.
func TestCloneIndexCountedAgainstSizeLimit(t *testing.T) {
	sim := startSim(t)
	r := hostileRepo(t, sim, "long-names", func(blob func(string) string) []byte {
		id := blob("")
		var entries [][3]string
		for k := range 600 {
			entries = append(entries, [3]string{"100644", fmt.Sprintf("%s%04d", strings.Repeat("n", 246), k), id})
		}
		return treeBytes(entries...)
	})
	const limit = 96 << 10
	dir := filepath.Join(t.TempDir(), "c")
	_, _, err := gitops.CloneMetered(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat, MaxBytes: limit})
	if got := reasonOf(err); got != connections.ReasonWorkTreeTooLarge {
		t.Fatalf("an index of ~200 KiB under a %d-byte limit: %v (reason %q), want %s (on disk: %d bytes)", limit, err, got, connections.ReasonWorkTreeTooLarge, duBytes(t, dir))
	}
	leftNothing(t, dir)

	dir = filepath.Join(t.TempDir(), "c")
	_, written, err := gitops.CloneMetered(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if idx := fileSize(t, filepath.Join(dir, ".git", "index")); written < idx {
		t.Fatalf("counted %d bytes, less than the index alone (%d)", written, idx)
	}
}

// duBytes is the size of the regular files below dir (0 when it is gone).
func duBytes(t *testing.T, dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A chain of trees whose path passes PATH_MAX (4096 bytes) is refused while the trees are
// read, naming the length, before anything of the work tree is written: every file below it
// would otherwise hold a path that long in memory.
func TestCloneRefusesPathPastPathMax(t *testing.T) {
	sim := startSim(t)
	r, err := sim.CreateRepository("DefaultCollection", "Engine", "deep")
	if err != nil {
		t.Fatal(err)
	}
	blob := gitIn(t, r.BarePath, []byte("x"), "hash-object", "-w", "--stdin")
	tree := gitIn(t, r.BarePath, treeBytes([3]string{"100644", "f", blob}), "hash-object", "-t", "tree", "-w", "--stdin")
	for k := range 20 { // 20 directories of 250 bytes: a path of about 5000 bytes
		tree = gitIn(t, r.BarePath, treeBytes([3]string{"40000", fmt.Sprintf("%s%02d", strings.Repeat("d", 248), k), tree}), "hash-object", "-t", "tree", "-w", "--stdin")
	}
	commit := gitIn(t, r.BarePath, nil, "commit-tree", tree, "-m", "deep")
	gitIn(t, r.BarePath, nil, "update-ref", "refs/heads/main", commit)
	gitIn(t, r.BarePath, nil, "symbolic-ref", "HEAD", "refs/heads/main")
	dir := filepath.Join(t.TempDir(), "c")
	_, err = gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat})
	if err == nil || !strings.Contains(err.Error(), "longer than 4096") {
		t.Fatalf("a path of ~5000 bytes: %v", err)
	}
	leftNothing(t, dir)
}

// Directories take disk that the files' sizes do not show: 300 directories of one empty file
// each (a pack of a few hundred bytes) are counted a block each against the size limit.
func TestCloneDirectoriesCountedAgainstSizeLimit(t *testing.T) {
	sim := startSim(t)
	r, err := sim.CreateRepository("DefaultCollection", "Engine", "many-dirs")
	if err != nil {
		t.Fatal(err)
	}
	empty := gitIn(t, r.BarePath, nil, "hash-object", "-w", "--stdin")
	sub := gitIn(t, r.BarePath, treeBytes([3]string{"100644", "f", empty}), "hash-object", "-t", "tree", "-w", "--stdin")
	var entries [][3]string
	for k := range 300 {
		entries = append(entries, [3]string{"40000", fmt.Sprintf("d%03d", k), sub})
	}
	root := gitIn(t, r.BarePath, treeBytes(entries...), "hash-object", "-t", "tree", "-w", "--stdin")
	commit := gitIn(t, r.BarePath, nil, "commit-tree", root, "-m", "many directories")
	gitIn(t, r.BarePath, nil, "update-ref", "refs/heads/main", commit)
	gitIn(t, r.BarePath, nil, "symbolic-ref", "HEAD", "refs/heads/main")

	const limit = 512 << 10 // the index (~25 KiB) and pack fit; 300 directories (1.2 MiB) do not
	dir := filepath.Join(t.TempDir(), "c")
	_, _, err = gitops.CloneMetered(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat, MaxBytes: limit})
	if got := reasonOf(err); got != connections.ReasonWorkTreeTooLarge {
		t.Fatalf("300 directories under a %d-byte limit: %v (reason %q), want %s", limit, err, got, connections.ReasonWorkTreeTooLarge)
	}
	leftNothing(t, dir)
	if _, _, err := gitops.CloneMetered(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: filepath.Join(t.TempDir(), "c"), PAT: pat, MaxBytes: 4 << 20}); err != nil {
		t.Fatalf("under a 4 MiB limit: %v", err)
	}
}

// A path the file system cannot hold (a 300-byte name: NAME_MAX is 255) is the repository's
// fault and is said without the service's own paths; nothing is left.
func TestCloneLocalErrorNamesNoServicePath(t *testing.T) {
	sim := startSim(t)
	r := hostileRepo(t, sim, "name-too-long", func(blob func(string) string) []byte {
		return treeBytes([3]string{"100644", strings.Repeat("n", 300), blob("x")})
	})
	dir := filepath.Join(t.TempDir(), "c")
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat})
	if reasonOf(err) != connections.ReasonInvalidInput || strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "nnnn") ||
		!strings.Contains(err.Error(), "file name too long") {
		t.Fatalf("got %v, want invalid_input saying 'file name too long' without the path", err)
	}
	leftNothing(t, dir)
}

// The checkout plan holds every path in memory until the files are written: a tree of 4,000
// 250-byte names (1.25 MB of paths from a pack of a few KiB) is refused under a 4 MiB memory
// budget, whose quarter bounds the plan, and clones under 16 MiB.
func TestClonePlanBoundedByMemoryBudget(t *testing.T) {
	sim := startSim(t)
	r := hostileRepo(t, sim, "plan-memory", func(blob func(string) string) []byte {
		id := blob("")
		var entries [][3]string
		for k := range 4000 {
			entries = append(entries, [3]string{"100644", fmt.Sprintf("%s%04d", strings.Repeat("p", 246), k), id})
		}
		return treeBytes(entries...)
	})
	dir := filepath.Join(t.TempDir(), "c")
	_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: dir, PAT: pat, Memory: gitops.NewMemoryBudget(4 << 20)})
	if reasonOf(err) != connections.ReasonMemoryBudgetExceeded || !strings.Contains(err.Error(), "paths") || !strings.Contains(err.Error(), "--clone-memory") {
		t.Fatalf("got %v, want memory_budget_exceeded for the plan's paths, naming --clone-memory", err)
	}
	leftNothing(t, dir)
	if _, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: filepath.Join(t.TempDir(), "c"), PAT: pat, Memory: gitops.NewMemoryBudget(16 << 20)}); err != nil {
		t.Fatalf("under a 16 MiB budget: %v", err)
	}
}
