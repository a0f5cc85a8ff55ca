package gitops

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// The checkout writes the work tree of one commit straight from the pack just indexed, on
// every core: it reads the commit and its trees, marks the blobs they name and the delta
// chains leading to them, then walks the delta trees again (as the resolver does) and writes
// each blob's files the moment its content is rebuilt, so every object is inflated once and
// no chain is rebuilt per file. go-git's Worktree.Reset took 5.5 s of a 9 s depth-1 clone of
// the aws-sdk-go benchmark, reading blob by blob through its object cache. The index
// (.git/index, version 2) is written with go-git's encoder, with the stat data of the files.

// fileRef is one path of the work tree a blob is checked out to.
type fileRef struct {
	path string // slash-separated, relative to the work tree
	mode filemode.FileMode
}

// checkoutPlan is what the commit's trees ask for.
type checkoutPlan struct {
	files    map[int32][]fileRef // by entry of the blob (checkout: by packSet.key)
	dirs     []string
	gitlinks []index.Entry // submodule commits: a directory, and an index entry
	count    int           // files
	entries  int64         // files, directories and submodules: what MaxFiles bounds
	maxFiles int64         // 0: none; the plan stops growing past it (a tree naming a tree many times)
	// maxPaths (0: none) bounds paths: the bytes written so far and of the plan's paths.
	// Every path goes into .git/index, so paths past the size limit cannot be written anyway,
	// and they are held in memory until the files are written.
	maxPaths, paths int64
	// maxMem (0: none) bounds what the plan holds in memory until the files are written: its
	// paths plus planEntryBytes per entry, a quarter of the memory budget (planMemory).
	maxMem, mem int64
}

// planEntryBytes is what one planned entry costs in memory besides its path (a fileRef or a
// directory's string header, and the slices and map that hold them), in bytes.
const planEntryBytes = 64

// planMemory is the most a checkout plan may hold in memory under budget b (bytes; 0 when
// b is nil): a quarter of it, so that a tree naming a million 4 KiB paths is refused with
// memory_budget_exceeded instead of holding gigabytes. A plan is not reserved from b itself
// (the resolver's workers must be able to take the whole budget for one object), so
// --max-clones concurrent plans may add up to --max-clones quarters of it.
func planMemory(b *MemoryBudget) int64 {
	if b == nil {
		return 0
	}
	return b.size / 4
}

// maxPathLen is the longest path of the work tree (bytes, below the clone's directory) that
// is checked out: Linux's PATH_MAX. A longer one could not be created, and a deep chain of
// trees would otherwise make every file's path in the plan hundreds of KiB long.
const maxPathLen = 4096

// subtree is a tree still to be read by addTrees: its id and its path.
type subtree struct {
	id   [20]byte
	path string
}

// find returns the entry of object id, by binary search of the id order writeIdx made.
func (r *resolver) find(id [20]byte) (int32, bool) {
	k := sort.Search(len(r.byID), func(k int) bool {
		return bytes.Compare(r.idx.entries[r.byID[k]].sum[:], id[:]) >= 0
	})
	if k < len(r.byID) && r.idx.entries[r.byID[k]].sum == id {
		return r.byID[k], true
	}
	return 0, false
}

// dirBlock is what one directory of the work tree is counted as against the clone's size
// limit (bytes): a block of ext4 or XFS.
const dirBlock = 4096

// checkout writes the work tree of commit into dir and the index into gitDir, from the packs
// ps (each resolved and self-contained: a cold clone's one pack, or the repository cache's),
// and returns the submodules (gitlinks) the tree names and what it wrote (Stats.WrittenFiles,
// WrittenBytes). The commit and its trees may be in any of the packs; each blob is written
// from the newest pack that has it, each pack's files by writeFiles on every core. The files
// and bytes of the work tree are counted against m's limits before anything is written, and
// again before each file. Errors: an object of the commit that is in no pack, malformed trees,
// the limits (*limitError), I/O.
func checkout(ps packSet, dir, gitDir string, commit plumbing.Hash, prog *tracker, m *meter) ([]index.Entry, Stats, error) {
	if err := m.checkFree(); err != nil {
		return nil, Stats{}, err
	}
	if len(ps) == 0 {
		return nil, Stats{}, errors.New("no pack to check out from")
	}
	wks := make([]*worker, len(ps))
	defer func() {
		for _, wk := range wks {
			if wk != nil {
				wk.res.release()
			}
		}
	}()
	read := func(id [20]byte, want uint8) ([]byte, error) {
		k, i, ok := ps.find(id)
		if !ok {
			return nil, fmt.Errorf("object %x is not in the pack", id)
		}
		r := ps[k]
		if t := r.idx.entries[i].typ; t != want {
			return nil, fmt.Errorf("object %x is a %s, not a %s", id, typeName(t), typeName(want))
		}
		if wks[k] == nil {
			wks[k] = r.newWorker()
		}
		for j, wk := range wks { // the previous content read is no longer used
			if j != k && wk != nil {
				wk.res.release()
			}
		}
		if err := wks[k].reserveRoot(i); err != nil {
			return nil, err
		}
		return wks[k].materialize(i)
	}
	c, err := read(commit, objCommit)
	if err != nil {
		return nil, Stats{}, err
	}
	if !bytes.HasPrefix(c, []byte("tree ")) || len(c) < 45 {
		return nil, Stats{}, errors.New("malformed commit: no tree")
	}
	var root [20]byte
	if _, err := hex.Decode(root[:], c[5:45]); err != nil {
		return nil, Stats{}, fmt.Errorf("malformed commit: %w", err)
	}
	plan := &checkoutPlan{files: map[int32][]fileRef{}}
	if m.maxFiles > 0 {
		plan.maxFiles = max(m.maxFiles-m.files.Load(), 1) // what the superproject or the submodules before took
	}
	if m.maxBytes > 0 {
		plan.maxPaths, plan.paths = m.maxBytes, m.written.Load() // the paths come on top of what is written
	}
	plan.maxMem = planMemory(ps[0].mem)
	findTyped := func(id [20]byte) (int32, uint8, bool) {
		k, i, ok := ps.find(id)
		if !ok {
			return 0, 0, false
		}
		return ps.key(k, i), ps[k].idx.entries[i].typ, true
	}
	if err := plan.addTrees(read, findTyped, root); err != nil {
		return nil, Stats{}, err
	}
	for _, wk := range wks {
		if wk != nil {
			wk.res.release()
		}
	}
	// The plan's blobs by pack: each pack's files are written by writeFiles, on every core.
	packs := make([]*checkoutPlan, len(ps))
	var bytes int64
	ix := int64(indexOverhead)
	for key, fs := range plan.files {
		k, i := ps.entry(key)
		if packs[k] == nil {
			packs[k] = &checkoutPlan{files: map[int32][]fileRef{}}
		}
		packs[k].files[i] = fs
		packs[k].count += len(fs)
		bytes += ps[k].idx.entries[i].full * int64(len(fs))
		for _, f := range fs {
			ix += indexEntrySize(f.path)
		}
	}
	for _, g := range plan.gitlinks {
		ix += indexEntrySize(g.Name)
	}
	// The index is counted with the work tree: with long names it outgrows empty files. So
	// are the directories, a block each: many directories of one empty file each take disk
	// the files' sizes do not show.
	dirs := int64(len(plan.dirs)) * dirBlock
	if err := m.plan(plan.entries, bytes+ix+dirs); err != nil {
		return nil, Stats{}, err
	}
	if err := m.addBytes(dirs, errTreeTooLarge); err != nil { // and the free-space check sees them
		return nil, Stats{}, err
	}
	for _, d := range plan.dirs {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			return nil, Stats{}, err
		}
	}
	m.files.Add(int64(len(plan.dirs))) // the files are counted as they are written
	var total int64
	for _, pp := range packs {
		if pp != nil {
			total += int64(pp.count)
		}
	}
	count := prog.files(0, total) // one count over every pack's files
	var entries []index.Entry
	for k, pp := range packs {
		if pp == nil {
			continue
		}
		es, err := writeFiles(ps[k], dir, pp, count, m)
		if err != nil {
			return nil, Stats{}, err
		}
		entries = append(entries, es...)
	}
	st := Stats{WrittenFiles: int64(len(entries)), WrittenBytes: bytes}
	entries = append(entries, plan.gitlinks...)
	if err := m.addBytes(ix, errTreeTooLarge); err != nil {
		return nil, Stats{}, err
	}
	sort.Slice(entries, func(a, b int) bool { return entries[a].Name < entries[b].Name })
	return plan.gitlinks, st, writeIndex(filepath.Join(gitDir, "index"), entries)
}

// addTrees adds the tree root and everything below it to the plan, one tree at a time (breadth
// first): only one tree's content is in memory at once, so each read reserves its own.
func (p *checkoutPlan) addTrees(read func([20]byte, uint8) ([]byte, error), find func([20]byte) (int32, uint8, bool), root [20]byte) error {
	queue := []subtree{{id: root}}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		subs, err := p.addTree(read, find, next.id, next.path)
		if err != nil {
			return err
		}
		queue = append(queue, subs...)
	}
	return nil
}

// addTree adds the entries of the tree id at prefix to the plan and returns its subtrees (id,
// path).
func (p *checkoutPlan) addTree(read func([20]byte, uint8) ([]byte, error), find func([20]byte) (int32, uint8, bool), id [20]byte, prefix string) ([]subtree, error) {
	t, err := read(id, objTree)
	if err != nil {
		return nil, err
	}
	var subs []subtree
	seen := map[string]bool{} // a name twice would write one path twice, the second through the first
	for len(t) > 0 {
		sp := bytes.IndexByte(t, ' ')
		nul := bytes.IndexByte(t, 0)
		if sp < 0 || nul < sp || len(t) < nul+21 {
			return nil, errors.New("malformed tree")
		}
		m, err := strconv.ParseUint(string(t[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("malformed tree: mode %q", t[:sp])
		}
		name := string(t[sp+1 : nul])
		if !safeName(name) {
			return nil, fmt.Errorf("tree entry %q is not a safe path", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("malformed tree: the name %q appears twice", name)
		}
		seen[name] = true
		var sub [20]byte
		copy(sub[:], t[nul+1:nul+21])
		t = t[nul+21:]
		path := name
		if prefix != "" {
			path = prefix + "/" + name
		}
		if p.entries++; p.maxFiles > 0 && p.entries > p.maxFiles {
			return nil, &limitError{kind: errTooManyFiles, limit: p.maxFiles, have: p.entries}
		}
		if len(path) > maxPathLen {
			return nil, fmt.Errorf("tree entry %.64q… is a path of %d bytes, longer than %d", path, len(path), maxPathLen)
		}
		if p.paths += int64(len(path)); p.maxPaths > 0 && p.paths > p.maxPaths {
			return nil, &limitError{kind: errTreeTooLarge, limit: p.maxPaths, have: p.paths}
		}
		if p.mem += int64(len(path)) + planEntryBytes; p.maxMem > 0 && p.mem > p.maxMem {
			return nil, &limitError{kind: errPlanMemory, limit: p.maxMem, have: p.mem}
		}
		switch mode := filemode.FileMode(m); mode {
		case filemode.Dir:
			p.dirs = append(p.dirs, path)
			subs = append(subs, subtree{id: sub, path: path})
		case filemode.Submodule:
			p.dirs = append(p.dirs, path)
			p.gitlinks = append(p.gitlinks, index.Entry{Name: path, Hash: plumbing.Hash(sub), Mode: filemode.Submodule})
		case filemode.Regular, filemode.Executable, filemode.Deprecated, filemode.Symlink:
			i, typ, ok := find(sub)
			if !ok {
				return nil, fmt.Errorf("blob %x of %s is not in the pack", sub, path)
			}
			if typ != objBlob {
				return nil, fmt.Errorf("malformed tree: %s names a %s, not a blob", path, typeName(typ))
			}
			if mode == filemode.Deprecated {
				mode = filemode.Regular
			}
			p.files[i] = append(p.files[i], fileRef{path: path, mode: mode})
			p.count++
		default:
			return nil, fmt.Errorf("tree entry %s has an unknown mode %o", path, m)
		}
	}
	return subs, nil
}

// safeName reports whether a tree entry's name can be checked out: not empty, ".", "..", no
// slash or NUL, and not a name git itself refuses for .git (git's verify_path: ".git" in any
// case, and what NTFS reads as it: trailing dots and spaces, the short name "git~1", and either
// before a backslash or a colon: git's is_ntfs_dotgit).
func safeName(name string) bool {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return false
	}
	trimmed := name
	if k := strings.IndexAny(name, `\:`); k >= 0 {
		trimmed = name[:k] // NTFS: a backslash separates, a colon starts an alternate data stream
	}
	trimmed = strings.TrimRight(trimmed, ". ")
	return !strings.EqualFold(trimmed, ".git") && !strings.EqualFold(trimmed, "git~1")
}

// writeFiles walks the delta trees that lead to the plan's blobs on GOMAXPROCS workers and
// writes each blob's files, counting each in count (the checkout's progress; may be nil); it
// returns their index entries.
func writeFiles(r *resolver, dir string, plan *checkoutPlan, count *fileCount, m *meter) ([]index.Entry, error) {
	n := len(r.idx.entries)
	kidsOf := r.kidsOf      // the deltas each entry's walk resolved, REF_DELTA ones by its id
	want := make([]bool, n) // the blob is needed, or a delta below it is
	var roots []int32
	for i := range plan.files {
		for j := i; j >= 0 && !want[j]; j = r.baseOf(j) {
			want[j] = true
			if r.baseOf(j) < 0 {
				roots = append(roots, j)
			}
		}
	}
	var (
		mu      sync.Mutex
		entries = make([]index.Entry, 0, plan.count)
	)
	report := count.add // nil-safe
	kids := func(i int32) ([]int32, error) { return kidsOf(i), nil }
	err := r.eachRoot(roots, func(wk *worker, root int32) error {
		if streamable(r, root, plan.files[root], kidsOf, want) {
			es, err := wk.writeStreamed(dir, root, plan.files[root], m)
			wk.files = append(wk.files, es...)
			report(int64(len(es)))
			return err
		}
		return wk.walk(root, kidsOf(root), kids, func(c int32) bool { return want[c] }, func(i int32, data []byte) error {
			for _, f := range plan.files[i] {
				if err := m.addFile(int64(len(data))); err != nil {
					return err
				}
				e, err := writeFile(dir, f, data, plumbing.Hash(r.idx.entries[i].sum))
				if err != nil {
					return err
				}
				wk.files = append(wk.files, e)
				report(1)
			}
			return nil
		})
	}, func(wk *worker) {
		mu.Lock()
		entries = append(entries, wk.files...)
		mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	if len(entries) != plan.count {
		return nil, fmt.Errorf("checked out %d files of %d", len(entries), plan.count)
	}
	return entries, nil
}

// streamable reports whether entry i, the root of a delta tree, is a large whole blob that
// no wanted delta is based on and whose files are all regular: its content is then never
// needed in memory (writeStreamed).
func streamable(r *resolver, i int32, files []fileRef, kidsOf func(int32) []int32, want []bool) bool {
	if r.idx.entries[i].size <= streamThreshold || len(files) == 0 {
		return false
	}
	for _, f := range files {
		if f.mode == filemode.Symlink {
			return false
		}
	}
	for _, k := range kidsOf(i) {
		if want[k] {
			return false
		}
	}
	return true
}

// writeStreamed writes the files of the whole blob entry i by inflating it from the pack
// straight into each file, through a bounded buffer, and returns their index entries.
func (wk *worker) writeStreamed(dir string, i int32, files []fileRef, m *meter) ([]index.Entry, error) {
	e := &wk.r.idx.entries[i]
	out := make([]index.Entry, 0, len(files))
	for _, fr := range files {
		if err := m.addFile(e.size); err != nil {
			return nil, err
		}
		zr, err := wk.open(i)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, filepath.FromSlash(fr.path))
		n, err := createFile(path, fr.mode, zr)
		if err == nil && n != e.size {
			err = fmt.Errorf("object at %d: %d bytes inflated, header says %d", e.offset, n, e.size)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, indexEntry(path, fr, n, plumbing.Hash(e.sum)))
	}
	return out, nil
}

// writeFile writes one file (or symbolic link) of the work tree and returns its index entry.
func writeFile(dir string, f fileRef, data []byte, id plumbing.Hash) (index.Entry, error) {
	path := filepath.Join(dir, filepath.FromSlash(f.path))
	var err error
	switch f.mode {
	case filemode.Symlink:
		err = os.Symlink(string(data), path)
	default:
		_, err = createFile(path, f.mode, bytes.NewReader(data))
	}
	if err != nil {
		return index.Entry{}, err
	}
	return indexEntry(path, f, int64(len(data)), id), nil
}

// createFile writes a new regular file of the given mode (executable: 0755, else 0644) with
// what src holds and returns its size, never through an existing path: O_EXCL fails on
// anything there, a symbolic link included, so no file of the tree lands outside the work tree.
func createFile(path string, mode filemode.FileMode, src io.Reader) (int64, error) {
	perm := os.FileMode(0o644)
	if mode == filemode.Executable {
		perm = 0o755
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// indexEntry is the index entry of the file just written at path: its stat data, so that
// git status need not read it again.
func indexEntry(path string, f fileRef, size int64, id plumbing.Hash) index.Entry {
	e := index.Entry{Name: f.path, Hash: id, Mode: f.mode, Size: uint32(size)}
	if fi, err := os.Lstat(path); err == nil {
		e.ModifiedAt = fi.ModTime()
		statData(fi, &e) // stat_*.go
	}
	return e
}

// indexOverhead is the bytes of .git/index (version 2) beyond its entries: the header and
// the trailing checksum.
const indexOverhead = 12 + 20

// indexEntrySize is the bytes of the version 2 index entry of path: 62 bytes of stat data,
// id and flags, the path and 1 to 8 NULs padding it to a multiple of 8.
func indexEntrySize(path string) int64 { return int64(62+len(path)+8) &^ 7 }

// writeIndex writes .git/index (version 2) with entries sorted by path.
func writeIndex(path string, entries []index.Entry) error {
	idx := &index.Index{Version: 2, Entries: make([]*index.Entry, len(entries))}
	for i := range entries {
		idx.Entries[i] = &entries[i]
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := index.NewEncoder(f).Encode(idx); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
