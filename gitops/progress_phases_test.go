package gitops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/gitops"
)

// phaseRepo makes a repository whose pack has deltas and whose tree has more files than one
// progress step (256): 12 directories of 50 files, an executable and a symbolic link, and a
// 64 KiB file changed by a line in each of 4 commits (each version a delta of the next).
// It returns the repository and the number of files of its tree (git ls-tree).
func phaseRepo(t *testing.T, sim *azdosim.Server, name string) (azdosim.RepoInfo, int) {
	t.Helper()
	r := makeRepo(t, sim, name, func(work string, commit func(string)) {
		big := strings.Repeat("a line of the big file, the same in every version\n", 1300)
		for c := range 4 {
			for i := range 600 {
				p := filepath.Join(work, fmt.Sprintf("dir%02d", i%12), fmt.Sprintf("file%03d.txt", i))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				body := strings.Repeat(fmt.Sprintf("file %d says hello\n", i), 40)
				if i%3 == 0 {
					body += fmt.Sprintf("version %d\n", c) // a third of them change: more deltas
				}
				write(t, p, []byte(body), 0o644)
			}
			write(t, filepath.Join(work, "big.txt"), []byte(big+fmt.Sprintf("version %d\n", c)), 0o644)
			write(t, filepath.Join(work, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
			if c == 0 {
				if err := os.Symlink("big.txt", filepath.Join(work, "link")); err != nil {
					t.Fatal(err)
				}
			}
			commit(fmt.Sprint("version ", c))
		}
	})
	files := strings.Count(gitOut(t, r.BarePath, "ls-tree", "-r", "--name-only", "HEAD"), "\n") + 1
	return r, files
}

// phaseRecorder collects OnProgress reports.
type phaseRecorder struct {
	mu  sync.Mutex
	got []gitops.Progress
}

func (r *phaseRecorder) add(p gitops.Progress) { r.mu.Lock(); r.got = append(r.got, p); r.mu.Unlock() }

func (r *phaseRecorder) reports() []gitops.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gitops.Progress(nil), r.got...)
}

// of returns the reports of phase ph.
func of(reports []gitops.Progress, ph string) []gitops.Progress {
	var out []gitops.Progress
	for _, p := range reports {
		if p.Phase == ph {
			out = append(out, p)
		}
	}
	return out
}

// checkCounts checks what holds in every phase: done never above a known total, done never
// down within a phase and a total, bytes never down.
func checkCounts(t *testing.T, reports []gitops.Progress) {
	t.Helper()
	for i, p := range reports {
		if p.ObjectsTotal > 0 && p.ObjectsDone > p.ObjectsTotal {
			t.Errorf("report %d: %d done of %d: %+v", i, p.ObjectsDone, p.ObjectsTotal, reports)
		}
		if i == 0 {
			continue
		}
		q := reports[i-1]
		if p.BytesReceived < q.BytesReceived {
			t.Errorf("report %d: bytes went down: %+v", i, reports)
		}
		if p.Phase == q.Phase && p.ObjectsTotal == q.ObjectsTotal && p.ObjectsDone < q.ObjectsDone {
			t.Errorf("report %d: %s count went down: %+v", i, p.Phase, reports)
		}
	}
}

// checkCheckout checks the checkout phase: its total is the tree's files (0 only before the
// tree is read, with done 0 too: never the resolving phase's counts), and done reaches it.
func checkCheckout(t *testing.T, reports []gitops.Progress, files int) {
	t.Helper()
	co := of(reports, gitops.PhaseCheckout)
	if len(co) == 0 {
		t.Fatalf("no checkout report: %+v", reports)
	}
	for _, p := range co {
		if p.ObjectsTotal != int64(files) && (p.ObjectsTotal != 0 || p.ObjectsDone != 0) {
			t.Errorf("checkout report %+v: want n of %d files (or 0 of 0 before the tree is read)", p, files)
		}
	}
	if last := co[len(co)-1]; last.ObjectsDone != int64(files) || last.ObjectsTotal != int64(files) {
		t.Errorf("last checkout report %+v, want %d of %d files: %+v", last, files, files, co)
	}
	done := reports[len(reports)-1]
	if done.Phase != gitops.PhaseDone || done.ObjectsDone != int64(files) || done.ObjectsTotal != int64(files) {
		t.Errorf("done report %+v, want %d of %d files", done, files, files)
	}
}

// packDeltas counts the deltas of the clone's pack with git verify-pack (a delta's line has
// 7 fields: id, type, size, size in pack, offset, depth, base).
func packDeltas(t *testing.T, dir string) int {
	t.Helper()
	idx, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.idx"))
	if err != nil || len(idx) != 1 {
		t.Fatalf("pack indexes %v, %v", idx, err)
	}
	n := 0
	for _, line := range strings.Split(gitOut(t, "", "verify-pack", "-v", idx[0]), "\n") {
		if f := strings.Fields(line); len(f) == 7 && len(f[0]) == 40 {
			n++
		}
	}
	return n
}

// TestProgressPhasesColdClone clones a repository with deltas and 600+ files: resolving
// counts the pack's deltas up to all of them, checkout counts the tree's files from 0 up to
// all of them (never the deltas' counts), receiving counts the pack's objects up to all of
// them with the bytes received, and the done report keeps the files' count.
func TestProgressPhasesColdClone(t *testing.T) {
	sim := startSim(t)
	r, files := phaseRepo(t, sim, "phases")
	var rec phaseRecorder
	dir := filepath.Join(t.TempDir(), "clone")
	if _, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r),
		Dir: dir, PAT: pat, OnProgress: rec.add}); err != nil {
		t.Fatal(err)
	}
	reports := rec.reports()
	checkCounts(t, reports)
	checkCheckout(t, reports, files)

	deltas := packDeltas(t, dir)
	if deltas == 0 {
		t.Fatal("the test pack has no deltas")
	}
	res := of(reports, gitops.PhaseResolving)
	if len(res) == 0 {
		t.Fatalf("no resolving report: %+v", reports)
	}
	for _, p := range res {
		if p.ObjectsTotal != int64(deltas) {
			t.Errorf("resolving report %+v, want n of the pack's %d deltas", p, deltas)
		}
	}
	if last := res[len(res)-1]; last.ObjectsDone != int64(deltas) {
		t.Errorf("last resolving report %+v, want %d of %d", last, deltas, deltas)
	}

	objects, err := strconv.Atoi(gitOut(t, r.BarePath, "rev-list", "--objects", "--count", "HEAD"))
	if err != nil {
		t.Fatal(err)
	}
	recv := of(reports, gitops.PhaseReceiving)
	if len(recv) == 0 {
		t.Fatalf("no receiving report: %+v", reports)
	}
	for _, p := range recv {
		if p.ObjectsTotal != int64(objects) {
			t.Errorf("receiving report %+v, want n of the pack's %d objects", p, objects)
		}
	}
	last := recv[len(recv)-1]
	if last.ObjectsDone != int64(objects) || last.BytesReceived <= 0 {
		t.Errorf("last receiving report %+v, want %d of %d objects and bytes", last, objects, objects)
	}
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.pack"))
	fi, err := os.Stat(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	if done := reports[len(reports)-1]; done.BytesReceived != fi.Size() {
		t.Errorf("done report says %d bytes received, the pack has %d", done.BytesReceived, fi.Size())
	}
	t.Logf("%d files, %d deltas, %d objects, %d reports: %+v", files, deltas, objects, len(reports), reports)
}

// TestProgressPhasesReusedWorkspace: a reused workspace updated in place after a push counts
// the tree's files, the kept ones done from the start.
func TestProgressPhasesReusedWorkspace(t *testing.T) {
	sim := startSim(t)
	r, files := phaseRepo(t, sim, "phases-reuse")
	c := newCache(t, 0)
	key := gitops.CacheKey{Tenant: "t", Connection: "c", Repository: r.ID}
	ws := filepath.Join(t.TempDir(), "ws")
	opts := gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: cloneURL(sim, r), Dir: ws, PAT: pat, Cache: c, CacheKey: key, Reuse: true}

	var first phaseRecorder
	opts.OnProgress = first.add
	if _, err := gitops.Clone(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, first.reports())
	checkCheckout(t, first.reports(), files) // through the cache, into a new directory

	pushFile(t, sim, r, "main", "README.md", "one more file\n")
	var second phaseRecorder
	opts.OnProgress = second.add
	res, err := gitops.Clone(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != gitops.SourceWorkspace {
		t.Fatalf("source %q, want the workspace updated in place", res.Source)
	}
	reports := second.reports()
	checkCounts(t, reports)
	checkCheckout(t, reports, files+1)
	for _, p := range of(reports, gitops.PhaseCheckout) {
		if p.ObjectsTotal > 0 && p.ObjectsDone < int64(files) {
			t.Errorf("checkout report %+v: the %d kept files are done from the start", p, files)
		}
	}
	if b := reports[len(reports)-1].BytesReceived; b <= 0 || b > 64<<10 {
		t.Errorf("the push's fetch received %d bytes; want the new pack's few bytes, not the store's", b)
	}
}
