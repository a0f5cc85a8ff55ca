package gitops

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// A reused workspace (issue 18) is updated in place to a new commit: the work tree and
// .git/index end as a fresh clone of the commit leaves them (what `git reset --hard <commit>
// && git clean -ffdx` leaves), while only the files that differ are written.
//
// The steps: the new commit's trees are read (with checkout's plan and its safety rules:
// safeName, no duplicate names, path length, the meter's limits); the old index is read; the
// work tree is walked without ever following a symbolic link. A path the new tree does not
// have is removed (untracked, ignored and deleted files, nested repositories, empty
// directories). A tracked file is kept when its type and executable bit are the new tree's
// and its index entry names the new blob with stat data (mtime, ctime, inode, device, owner,
// size) equal to the disk's, as `git status` decides; a racily clean entry (mtime not older
// than the index file's) or an entry whose stat data differs is checked by hashing the file.
// Everything else is written afresh (unlink, then created with O_EXCL), on GOMAXPROCS workers
// when many files change, each with its own go-git object storage over .git. The new index
// (version 2, fresh stat data) replaces the old one atomically through .git/index.lock.

// Workspace limits on what is read from a workspace a build had in its hands.
const (
	// maxIndexFile is the largest .git/index read (bytes): 2 to 4 million entries, about 2.5
	// times its size in memory once decoded (a build wrote it: it is not trusted to be small).
	maxIndexFile = 256 << 20
	// maxSymlinkTarget is the longest symbolic link target written (bytes), as Linux's PATH_MAX.
	maxSymlinkTarget = 4096
	// parallelFrom is the number of files to write or hash from which the work goes to
	// GOMAXPROCS workers; below it one worker does it (each worker opens its own storage).
	parallelFrom = 64
	// workspaceObjectCache is the object cache of each worker's storage (bytes).
	workspaceObjectCache = 32 << 20
)

// wsTarget is one entry of the new commit's tree.
type wsTarget struct {
	hash plumbing.Hash
	mode filemode.FileMode // Regular, Executable, Symlink, Dir or Submodule
	seen bool              // the walk found it on disk (and kept, fixed or queued it)
}

// wsFile is a file of the new tree the update writes or hashes.
type wsFile struct {
	path string // slash-separated
	mode filemode.FileMode
	hash plumbing.Hash
	fi   os.FileInfo // the disk's lstat (candidates to hash only)
	size int64       // the blob's size (files to write, once planned)
}

// wsUpdate is one update in flight.
type wsUpdate struct {
	ctx     context.Context
	dir     string
	gitDir  string
	gitInfo os.FileInfo // lstat of .git, so that the walk never removes it
	targets map[string]*wsTarget
	old     map[string]*index.Entry // the old index's usable entries (stage 0, safe names)
	racy    int64                   // UnixNano of the old index's mtime; entries not older are hashed
	keep    []index.Entry           // entries of kept files, with stat data
	keptB   int64                   // bytes of the kept files
	hashes  []wsFile                // kept files to confirm by content
	writes  []wsFile                // files to write
	mkdirs  []string                // directories to create, parents first
	removed int64                   // files removed
	prog    *tracker                // the clone's progress; nil: none
	count   *fileCount              // files in place of the tree's, once the writes are known
}

// updateWorkspace updates the work tree dir (a non-bare repository whose .git already holds
// every object of commit) and its .git/index in place to commit, as described above, and
// returns what it wrote and removed (Fetched* are 0). HEAD and refs are left to the caller.
// The new tree's files and bytes (entries, blob sizes, directories at dirBlock bytes and the
// index) are checked against m's limits before anything is created or written (only what
// the new tree does not have is removed before); written files count against m as they are
// written (m may be nil). Errors: .git missing or not a directory, a
// corrupt index (a missing one is read as empty: every file is written), an object of commit
// missing or malformed, an unsafe tree entry, the limits (*limitError), ctx's error, I/O.
// After an error the work tree is partly updated and the old index left in place: a
// following update reads the stat data as changed and rehashes, so it is still correct.
func updateWorkspace(ctx context.Context, dir string, commit plumbing.Hash, m *meter) (Stats, error) {
	return updateWorkspaceTracked(ctx, dir, commit, m, nil)
}

// updateWorkspaceTracked is updateWorkspace reporting the checkout's files to tr (may be
// nil): once the files to write are known, the kept files of the tree's files are done, and
// each file written adds one.
func updateWorkspaceTracked(ctx context.Context, dir string, commit plumbing.Hash, m *meter, tr *tracker) (Stats, error) {
	var st Stats
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if err := m.checkFree(); err != nil {
		return st, err
	}
	u := &wsUpdate{ctx: ctx, dir: dir, gitDir: filepath.Join(dir, ".git"), prog: tr}
	gi, err := os.Lstat(u.gitDir)
	if err != nil {
		return st, fmt.Errorf("workspace: %w", err)
	}
	if !gi.IsDir() {
		return st, errors.New("workspace: .git is not a directory")
	}
	u.gitInfo = gi
	if fi, err := os.Lstat(dir); err != nil {
		return st, err
	} else if err := wsOwnerRWX(dir, fi); err != nil {
		return st, err
	}
	sto := openWorkspaceStorage(u.gitDir)
	defer sto.Close()
	// The old index is decoded while the new trees are read: neither needs the other.
	type decoded struct {
		entries []*index.Entry
		racy    int64
		err     error
	}
	oldc := make(chan decoded, 1)
	go func() {
		var d decoded
		d.entries, d.racy, d.err = readWorkspaceIndex(filepath.Join(u.gitDir, "index"), true)
		oldc <- d
	}()
	plan, err := u.readTarget(sto, commit, m)
	d := <-oldc
	if err != nil {
		return st, err
	}
	old, racy, err := d.entries, d.racy, d.err
	if err != nil {
		return st, err
	}
	u.racy = racy
	u.old = make(map[string]*index.Entry, len(old))
	for _, e := range old {
		if e.Stage == 0 && !e.SkipWorktree && !e.IntentToAdd && wsSafePath(e.Name) {
			u.old[e.Name] = e
		}
	}
	if err := u.walk(""); err != nil {
		return st, err
	}
	st.RemovedFiles = u.removed
	u.queueMissing()
	if err := u.confirm(); err != nil {
		return st, err
	}
	// The plan: every entry of the new tree, its bytes (kept files from the disk, files to
	// write from their objects), a block per directory and the index.
	// (Sizes come from the object headers, on one storage: every worker's storage would load
	// the pack indexes again.)
	for i := range u.writes {
		if i%256 == 0 && ctx.Err() != nil {
			return st, ctx.Err()
		}
		n, err := sto.EncodedObjectSize(u.writes[i].hash)
		if err != nil {
			return st, fmt.Errorf("blob %s of %s: %w", u.writes[i].hash, u.writes[i].path, err)
		}
		u.writes[i].size = n
	}
	size, ix := u.keptB, int64(indexOverhead)
	for _, w := range u.writes {
		size += w.size
		ix += indexEntrySize(w.path)
	}
	for _, e := range u.keep {
		ix += indexEntrySize(e.Name)
	}
	for _, g := range plan.gitlinks {
		ix += indexEntrySize(g.Name)
	}
	if err := m.plan(plan.entries, size+ix+int64(len(plan.dirs))*dirBlock); err != nil {
		return st, err
	}
	if m != nil {
		m.files.Add(plan.entries - int64(len(u.writes))) // the written files count as they are written
	}
	for _, d := range u.mkdirs {
		if err := os.Mkdir(u.abs(d), 0o755); err != nil {
			return st, err
		}
	}
	u.count = u.prog.files(int64(len(u.keep)), int64(len(u.keep)+len(u.writes)))
	entries, written, err := u.write(sto, m)
	if err != nil {
		return st, err
	}
	st.WrittenFiles, st.WrittenBytes = int64(len(u.writes)), written
	entries = append(entries, u.keep...)
	entries = append(entries, plan.gitlinks...)
	sort.Slice(entries, func(a, b int) bool { return entries[a].Name < entries[b].Name })
	if err := m.addBytes(ix, errTreeTooLarge); err != nil {
		return st, err
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	return st, wsReplaceIndex(u.gitDir, entries)
}

// openWorkspaceStorage opens go-git's storage of the object store gitDir, keeping its pack
// files open until Close.
func openWorkspaceStorage(gitDir string) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(osfs.New(gitDir), cache.NewObjectLRU(workspaceObjectCache),
		filesystem.Options{KeepDescriptors: true})
}

// readTarget reads the trees of commit into u.targets with checkout's plan (its limits and
// safety rules) and returns the plan.
func (u *wsUpdate) readTarget(sto *filesystem.Storage, commit plumbing.Hash, m *meter) (*checkoutPlan, error) {
	c, err := object.GetCommit(sto, commit)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", commit, err)
	}
	plan := &checkoutPlan{files: map[int32][]fileRef{}}
	if m != nil && m.maxFiles > 0 {
		plan.maxFiles = max(m.maxFiles-m.files.Load(), 1)
	}
	if m != nil && m.maxBytes > 0 {
		plan.maxPaths, plan.paths = m.maxBytes, m.written.Load()
	}
	var blobs []plumbing.Hash
	ids := map[plumbing.Hash]int32{}
	read := func(id [20]byte, want uint8) ([]byte, error) {
		if err := u.ctx.Err(); err != nil {
			return nil, err
		}
		o, err := sto.EncodedObject(plumbing.TreeObject, plumbing.Hash(id))
		if err != nil {
			return nil, fmt.Errorf("tree %x: %w", id, err)
		}
		r, err := o.Reader()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(r)
	}
	find := func(id [20]byte) (int32, uint8, bool) {
		// A blob's type is checked when it is read (files to write) or hashed as a blob
		// (files kept); its presence when it is read.
		i, ok := ids[id]
		if !ok {
			i = int32(len(blobs))
			ids[id] = i
			blobs = append(blobs, id)
		}
		return i, objBlob, true
	}
	if err := plan.addTrees(read, find, c.TreeHash); err != nil {
		return nil, err
	}
	u.targets = make(map[string]*wsTarget, plan.entries)
	for i, fs := range plan.files {
		for _, f := range fs {
			u.targets[f.path] = &wsTarget{hash: blobs[i], mode: f.mode}
		}
	}
	for _, d := range plan.dirs {
		u.targets[d] = &wsTarget{mode: filemode.Dir}
	}
	for _, g := range plan.gitlinks {
		u.targets[g.Name] = &wsTarget{hash: g.Hash, mode: filemode.Submodule}
	}
	return plan, nil
}

// wsSafePath reports whether an index entry's name is a path checkout could write: relative,
// slash-separated components that each pass safeName, at most maxPathLen bytes.
func wsSafePath(p string) bool {
	if p == "" || len(p) > maxPathLen {
		return false
	}
	for {
		c, rest, more := strings.Cut(p, "/")
		if !safeName(c) {
			return false
		}
		if !more {
			return true
		}
		p = rest
	}
}

// readWorkspaceIndex reads .git/index (any version go-git reads, its checksum verified) and
// returns its entries and the UnixNano of its mtime. A missing index is no entries when
// missingOK, else an error. Errors: not a regular file, larger than maxIndexFile, corrupt.
func readWorkspaceIndex(path string, missingOK bool) ([]*index.Entry, int64, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) && missingOK {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("workspace index: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, errors.New("workspace index: .git/index is not a regular file")
	}
	if fi.Size() > maxIndexFile {
		return nil, 0, fmt.Errorf("workspace index: %d bytes, more than %d", fi.Size(), maxIndexFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("workspace index: %w", err)
	}
	defer f.Close()
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return nil, 0, errors.New("workspace index: .git/index changed while it was opened")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxIndexFile))
	if err != nil {
		return nil, 0, fmt.Errorf("workspace index: %w", err)
	}
	entries, ok, err := decodeIndexV2(data)
	if !ok {
		var idx index.Index
		err = index.NewDecoder(bytes.NewReader(data)).Decode(&idx)
		entries = idx.Entries
	}
	if err != nil {
		return nil, 0, fmt.Errorf("workspace index is corrupt: %w", err)
	}
	return entries, fi.ModTime().UnixNano(), nil
}

// decodeIndexV2 decodes an index of version 2 or 3 (what git and go-git write unless told
// otherwise) into the entries go-git's decoder gives, without its per-field reflection (a
// third of an update's CPU on 3,000 files); ok is false for another version, which go-git's
// decoder reads. The trailing SHA-1 is verified; optional extensions (TREE, REUC, UNTR…) are
// skipped, a mandatory one (a split or sparse index's) is an error, as for go-git. Errors:
// a bad signature or checksum, an entry or extension past the end.
func decodeIndexV2(data []byte) (entries []*index.Entry, ok bool, err error) {
	const head, trailer, fixed = 12, 20, 62 // header, checksum, an entry's bytes before its name
	if len(data) < head+trailer || string(data[:4]) != "DIRC" {
		return nil, true, errors.New("not an index (signature)")
	}
	version := binary.BigEndian.Uint32(data[4:])
	if version != 2 && version != 3 {
		return nil, false, nil
	}
	body := data[:len(data)-trailer]
	if sum := sha1.Sum(body); !bytes.Equal(sum[:], data[len(body):]) {
		return nil, true, errors.New("invalid checksum")
	}
	count := int(binary.BigEndian.Uint32(data[8:]))
	if count > (len(body)-head)/(fixed+2) { // an entry takes at least 64 bytes
		return nil, true, fmt.Errorf("%d entries cannot fit in %d bytes", count, len(data))
	}
	names := string(body) // one copy: the names are slices of it
	all := make([]index.Entry, count)
	entries = make([]*index.Entry, count)
	be := binary.BigEndian
	readStamp := func(b []byte) time.Time {
		if sec, nsec := be.Uint32(b), be.Uint32(b[4:]); sec != 0 || nsec != 0 {
			return time.Unix(int64(sec), int64(nsec))
		}
		return time.Time{}
	}
	off := head
	for i := range all {
		if off+fixed > len(body) {
			return nil, true, fmt.Errorf("entry %d past the end", i)
		}
		b := body[off:]
		e := &all[i]
		e.CreatedAt, e.ModifiedAt = readStamp(b[0:]), readStamp(b[8:])
		e.Dev, e.Inode = be.Uint32(b[16:]), be.Uint32(b[20:])
		e.Mode = filemode.FileMode(be.Uint32(b[24:]))
		e.UID, e.GID, e.Size = be.Uint32(b[28:]), be.Uint32(b[32:]), be.Uint32(b[36:])
		copy(e.Hash[:], b[40:60])
		flags := be.Uint16(b[60:])
		e.Stage = index.Stage(flags>>12) & 3
		n := fixed
		if flags&0x4000 != 0 { // extended flags
			if version < 3 || off+n+2 > len(body) {
				return nil, true, fmt.Errorf("entry %d: extended flags in a version %d index", i, version)
			}
			ext := be.Uint16(b[n:])
			e.IntentToAdd, e.SkipWorktree = ext&0x2000 != 0, ext&0x4000 != 0
			n += 2
		}
		nameLen := int(flags & 0xfff)
		if nameLen == 0xfff { // a longer name: up to its NUL
			nameLen = bytes.IndexByte(b[n:], 0)
		}
		if nameLen < 0 || off+n+nameLen >= len(body) || b[n+nameLen] != 0 {
			return nil, true, fmt.Errorf("entry %d: name past the end", i)
		}
		e.Name = names[off+n : off+n+nameLen]
		off += (n + nameLen + 8) &^ 7 // 1 to 8 NULs
		entries[i] = e
	}
	if off > len(body) {
		return nil, true, errors.New("the last entry runs past the end")
	}
	for off < len(body) { // extensions: a signature, a size, the data
		if off+8 > len(body) {
			return nil, true, errors.New("extension header past the end")
		}
		sig, size := body[off:off+4], int64(be.Uint32(body[off+4:]))
		if sig[0] < 'A' || sig[0] > 'Z' {
			return nil, true, fmt.Errorf("mandatory extension %q is not supported", sig)
		}
		if size > int64(len(body)-off-8) {
			return nil, true, fmt.Errorf("extension %q past the end", sig)
		}
		off += 8 + int(size)
	}
	return entries, true, nil
}

// abs is the path of the work tree's slash-separated path p.
func (u *wsUpdate) abs(p string) string { return filepath.Join(u.dir, filepath.FromSlash(p)) }

// walk reconciles the real directory rel (slash-separated; "" is the work tree) with the new
// tree: what the tree does not have is removed, directories the tree has are walked, and
// files are kept, queued to be hashed or queued to be written. It descends only into real
// directories, so nothing below a symbolic link is ever touched.
func (u *wsUpdate) walk(rel string) error {
	if err := u.ctx.Err(); err != nil {
		return err
	}
	des, err := os.ReadDir(u.abs(rel))
	if err != nil {
		return err
	}
	for _, de := range des {
		p := de.Name()
		if rel != "" {
			p = rel + "/" + p
		}
		if rel == "" && de.Name() == ".git" {
			continue
		}
		fi, err := de.Info() // lstat
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if rel == "" && os.SameFile(fi, u.gitInfo) { // .git by another spelling (a case-insensitive file system)
			continue
		}
		t := u.targets[p]
		if t == nil {
			n, err := wsRemoveTree(u.abs(p), fi)
			u.removed += n
			if err != nil {
				return err
			}
			continue
		}
		t.seen = true
		switch t.mode {
		case filemode.Dir, filemode.Submodule:
			if !fi.IsDir() {
				n, err := wsRemoveTree(u.abs(p), fi)
				u.removed += n
				if err != nil {
					return err
				}
				t.seen = false // created with the directories missing, once the plan passed
				continue
			}
			if err := wsOwnerRWX(u.abs(p), fi); err != nil {
				return err
			}
			if t.mode == filemode.Submodule { // a cold clone leaves the submodule's directory empty
				if err := u.empty(p); err != nil {
					return err
				}
				continue
			}
			if err := u.walk(p); err != nil {
				return err
			}
		default:
			if err := u.checkFile(p, t, fi); err != nil {
				return err
			}
		}
	}
	return nil
}

// empty removes everything in the real directory rel.
func (u *wsUpdate) empty(rel string) error {
	des, err := os.ReadDir(u.abs(rel))
	if err != nil {
		return err
	}
	for _, de := range des {
		fi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		n, err := wsRemoveTree(u.abs(rel+"/"+de.Name()), fi)
		u.removed += n
		if err != nil {
			return err
		}
	}
	return nil
}

// checkFile decides the fate of the file (or symbolic link) p of the new tree, whose disk
// entry is fi: kept, hashed, or written (a directory there is removed first).
func (u *wsUpdate) checkFile(p string, t *wsTarget, fi os.FileInfo) error {
	f := wsFile{path: p, mode: t.mode, hash: t.hash}
	if fi.IsDir() {
		n, err := wsRemoveTree(u.abs(p), fi)
		u.removed += n
		if err != nil {
			return err
		}
		u.writes = append(u.writes, f)
		return nil
	}
	isLink := fi.Mode()&fs.ModeSymlink != 0
	if t.mode == filemode.Symlink {
		if !isLink {
			u.writes = append(u.writes, f)
			return nil
		}
	} else if !fi.Mode().IsRegular() || (fi.Mode().Perm()&0o100 != 0) != (t.mode == filemode.Executable) {
		u.writes = append(u.writes, f)
		return nil
	}
	e := u.old[p]
	if e == nil || e.Hash != t.hash || (e.Mode == filemode.Symlink) != isLink {
		u.writes = append(u.writes, f)
		return nil
	}
	if statMatches(e, fi) && e.ModifiedAt.UnixNano() < u.racy {
		u.keepFile(f, fi)
		return nil
	}
	f.fi = fi
	u.hashes = append(u.hashes, f)
	return nil
}

// keepFile records the kept file f, whose lstat is fi, for the new index.
func (u *wsUpdate) keepFile(f wsFile, fi os.FileInfo) {
	e := index.Entry{Name: f.path, Hash: f.hash, Mode: f.mode, Size: uint32(fi.Size()), ModifiedAt: fi.ModTime()}
	statData(fi, &e)
	u.keep = append(u.keep, e)
	u.keptB += fi.Size()
}

// statMatches reports whether the index entry's stat data is the disk's, as git's
// ie_match_stat compares it (with core.checkStat=default, core.trustctime=true): mtime and
// ctime to the nanosecond, inode, device, owner, size, all as the index's 32 bits hold them.
func statMatches(e *index.Entry, fi os.FileInfo) bool {
	var d index.Entry
	d.ModifiedAt = fi.ModTime()
	statData(fi, &d)
	return !e.ModifiedAt.IsZero() && indexStamp(e.ModifiedAt) == indexStamp(d.ModifiedAt) &&
		indexStamp(e.CreatedAt) == indexStamp(d.CreatedAt) && e.Inode == d.Inode && e.Dev == d.Dev &&
		e.UID == d.UID && e.GID == d.GID && e.Size == uint32(fi.Size())
}

// indexStamp is t as the index holds it: 32-bit seconds and nanoseconds (zero for the zero time,
// as go-git reads and writes it).
func indexStamp(t time.Time) [2]uint32 {
	if t.IsZero() {
		return [2]uint32{}
	}
	return [2]uint32{uint32(t.Unix()), uint32(t.Nanosecond())}
}

// queueMissing queues what the new tree has and the walk did not find: directories (in
// path order, so parents first) to create and files to write.
func (u *wsUpdate) queueMissing() {
	var missing []string
	for p, t := range u.targets {
		if !t.seen {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	for _, p := range missing {
		t := u.targets[p]
		switch t.mode {
		case filemode.Dir, filemode.Submodule:
			u.mkdirs = append(u.mkdirs, p)
		default:
			u.writes = append(u.writes, wsFile{path: p, mode: t.mode, hash: t.hash})
		}
	}
}

// confirm hashes the files whose stat data did not prove them clean: those whose content is
// the new blob are kept, the others written.
func (u *wsUpdate) confirm() error {
	same := make([]bool, len(u.hashes))
	err := wsParallel(u.ctx, len(u.hashes), "", nil, func(_ *filesystem.Storage, i int) error {
		ok, err := wsHashMatches(u.abs(u.hashes[i].path), u.hashes[i])
		same[i] = ok
		return err
	})
	if err != nil {
		return err
	}
	for i, f := range u.hashes {
		if same[i] {
			u.keepFile(f, f.fi)
		} else {
			u.writes = append(u.writes, wsFile{path: f.path, mode: f.mode, hash: f.hash})
		}
	}
	u.hashes = nil
	return nil
}

// wsHashMatches reports whether the file (or symbolic link) at path, whose lstat is f.fi,
// holds the blob f.hash. A file that changed since the lstat does not match.
func wsHashMatches(path string, f wsFile) (bool, error) {
	if f.fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(path)
		if err != nil {
			return false, nil
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(target)) == f.hash, nil
	}
	r, err := os.Open(path)
	if err != nil {
		return false, nil // gone or unreadable: written afresh
	}
	defer r.Close()
	if ofi, err := r.Stat(); err != nil || !os.SameFile(f.fi, ofi) || ofi.Size() != f.fi.Size() {
		return false, nil // replaced (by a link, perhaps) since the walk
	}
	h := plumbing.NewHasher(plumbing.BlobObject, f.fi.Size())
	n, err := io.Copy(h, r)
	if err != nil {
		return false, nil
	}
	return n == f.fi.Size() && h.Sum() == f.hash, nil
}

// write writes the queued files from the object store, on wsParallel workers when there are
// many, each counted against m before it is written, and returns their index entries and
// bytes.
func (u *wsUpdate) write(sto *filesystem.Storage, m *meter) ([]index.Entry, int64, error) {
	entries := make([]index.Entry, len(u.writes))
	var written atomic.Int64
	err := wsParallel(u.ctx, len(u.writes), u.gitDir, sto, func(s *filesystem.Storage, i int) error {
		f := u.writes[i]
		if err := m.addFile(f.size); err != nil {
			return err
		}
		e, err := wsWriteBlob(s, u.abs(f.path), f)
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.path, err)
		}
		entries[i] = e
		written.Add(int64(e.Size))
		u.count.add(1) // nil-safe
		return nil
	})
	return entries, written.Load(), err
}

// wsWriteBlob replaces whatever is at path (never a directory: the walk removed those) by the
// blob f.hash, and returns its index entry. The old entry is unlinked, never written
// through: a symbolic link a build left there is removed, not followed.
func wsWriteBlob(s *filesystem.Storage, path string, f wsFile) (index.Entry, error) {
	o, err := s.EncodedObject(plumbing.BlobObject, f.hash)
	if err != nil {
		return index.Entry{}, fmt.Errorf("blob %s: %w", f.hash, err)
	}
	r, err := o.Reader()
	if err != nil {
		return index.Entry{}, err
	}
	defer r.Close()
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return index.Entry{}, err
	}
	fr := fileRef{path: f.path, mode: f.mode}
	if f.mode == filemode.Symlink {
		if o.Size() > maxSymlinkTarget {
			return index.Entry{}, fmt.Errorf("symbolic link target of %d bytes, more than %d", o.Size(), maxSymlinkTarget)
		}
		target, err := io.ReadAll(io.LimitReader(r, maxSymlinkTarget+1))
		if err != nil {
			return index.Entry{}, err
		}
		if int64(len(target)) != o.Size() {
			return index.Entry{}, fmt.Errorf("blob %s: %d bytes read, header says %d", f.hash, len(target), o.Size())
		}
		if err := os.Symlink(string(target), path); err != nil {
			return index.Entry{}, err
		}
		return indexEntry(path, fr, o.Size(), f.hash), nil
	}
	n, err := createFile(path, f.mode, r)
	if err != nil {
		return index.Entry{}, err
	}
	if n != o.Size() {
		return index.Entry{}, fmt.Errorf("blob %s: %d bytes read, header says %d", f.hash, n, o.Size())
	}
	return indexEntry(path, fr, n, f.hash), nil
}

// wsParallel runs fn(storage, i) for i in [0, n): on one worker below parallelFrom, with the
// storage one, else on GOMAXPROCS workers, each with its own object storage over gitDir (none
// when gitDir is ""): go-git's storage is not safe for concurrent use. The first error stops
// the others.
func wsParallel(ctx context.Context, n int, gitDir string, one *filesystem.Storage, fn func(*filesystem.Storage, int) error) error {
	if n == 0 {
		return nil
	}
	workers := 1
	if n >= parallelFrom {
		workers = min(runtime.GOMAXPROCS(0), n)
	}
	var (
		next     atomic.Int64
		failed   atomic.Bool
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err })
		failed.Store(true)
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := one
			if workers > 1 && gitDir != "" {
				s = openWorkspaceStorage(gitDir)
				defer s.Close()
			}
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(err)
					return
				}
				if err := fn(s, i); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// wsRemoveTree removes the entry at path, whose lstat is fi, and everything below it when it
// is a real directory (a symbolic link is removed, never followed), and returns the number
// of files (non-directories) removed. Directories a build made unwritable are made writable
// by their owner first.
func wsRemoveTree(path string, fi os.FileInfo) (int64, error) {
	if !fi.IsDir() {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
		return 1, nil
	}
	if err := wsOwnerRWX(path, fi); err != nil {
		return 0, err
	}
	des, err := os.ReadDir(path)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, de := range des {
		cfi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		k, err := wsRemoveTree(filepath.Join(path, de.Name()), cfi)
		n += k
		if err != nil {
			return n, err
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return n, err
	}
	return n, nil
}

// wsOwnerRWX gives the real directory path (lstat fi) read, write and search permission for its
// owner, when a build took them away, so that its entries can be listed, removed and written.
func wsOwnerRWX(path string, fi os.FileInfo) error {
	if fi.Mode().Perm()&0o700 == 0o700 {
		return nil
	}
	return os.Chmod(path, fi.Mode().Perm()|0o700)
}

// wsReplaceIndex writes the index of entries (sorted by path) to .git/index.lock and renames it
// over .git/index: a reader sees the old index or the new one, never half of one. A stale
// lock (a build's git killed mid-command; runs on a workspace are serialised) is removed.
func wsReplaceIndex(gitDir string, entries []index.Entry) error {
	lock, path := filepath.Join(gitDir, "index.lock"), filepath.Join(gitDir, "index")
	if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	idx := &index.Index{Version: 2, Entries: make([]*index.Entry, len(entries))}
	for i := range entries {
		idx.Entries[i] = &entries[i]
	}
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	err = index.NewEncoder(w).Encode(idx)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(lock, path)
	}
	if err != nil {
		os.Remove(lock)
	}
	return err
}

// checkWorkspace returns an error when the workspace dir is damaged and must be rebuilt from
// the cache rather than updated: .git missing or not a directory, .git/index missing,
// unreadable, corrupt (its checksum is verified) or naming an unsafe path, HEAD missing or
// not resolving to a commit, or an object of HEAD's commit (its trees and blobs) missing.
func checkWorkspace(dir string) error { return checkWorkspaceDepth(dir, true) }

// checkWorkspaceDepth is checkWorkspace; with objects false, HEAD's trees and blobs are not
// looked for and the index is only required to be a regular file: a reused workspace's update
// needs only the new commit's objects (linked from the cache before it), and it decodes the
// index itself (a corrupt one is its error), so a run reads neither the old commit's trees
// nor the index twice.
func checkWorkspaceDepth(dir string, objects bool) error {
	gitDir := filepath.Join(dir, ".git")
	gi, err := os.Lstat(gitDir)
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	if !gi.IsDir() {
		return errors.New("workspace: .git is not a directory")
	}
	if objects {
		entries, _, err := readWorkspaceIndex(filepath.Join(gitDir, "index"), false)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !wsSafePath(e.Name) {
				return fmt.Errorf("workspace index names an unsafe path %.64q", e.Name)
			}
		}
	} else if fi, err := os.Lstat(filepath.Join(gitDir, "index")); err != nil || !fi.Mode().IsRegular() {
		// Its contents are read once, by updateWorkspace, which refuses a corrupt index (the
		// run then rebuilds the workspace) and ignores entries with unsafe names.
		return errors.New("workspace: .git/index is missing or not a regular file")
	}
	sto := openWorkspaceStorage(gitDir)
	defer sto.Close()
	head, err := storer.ResolveReference(sto, plumbing.HEAD)
	if err != nil {
		return fmt.Errorf("workspace HEAD: %w", err)
	}
	if !objects {
		if head.Hash().IsZero() {
			return errors.New("workspace HEAD names no commit")
		}
		return nil
	}
	c, err := object.GetCommit(sto, head.Hash())
	if err != nil {
		return fmt.Errorf("workspace HEAD %s: %w", head.Hash(), err)
	}
	// Every tree is read and every blob looked up: in the pack indexes, then (go-git looks
	// for a loose object first, a path resolved per object) loose or in alternates.
	packs, err := wsPackIndexes(gitDir)
	if err != nil {
		return err
	}
	has := func(id plumbing.Hash) error {
		for _, idx := range packs {
			if ok, _ := idx.Contains(id); ok {
				return nil
			}
		}
		return sto.HasEncodedObject(id)
	}
	queue := []plumbing.Hash{c.TreeHash}
	seen := map[plumbing.Hash]bool{}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		t, err := object.GetTree(sto, id)
		if err != nil {
			return fmt.Errorf("workspace HEAD tree %s: %w", id, err)
		}
		for _, e := range t.Entries {
			switch e.Mode {
			case filemode.Dir:
				queue = append(queue, e.Hash)
			case filemode.Submodule:
			default:
				if !seen[e.Hash] {
					seen[e.Hash] = true
					if err := has(e.Hash); err != nil {
						return fmt.Errorf("workspace HEAD blob %s of %s: %w", e.Hash, e.Name, err)
					}
				}
			}
		}
	}
	return nil
}

// wsPackIndexes reads the indexes of the packs of gitDir (objects/pack/pack-*.idx). Errors: an
// unreadable or malformed index.
func wsPackIndexes(gitDir string) ([]*idxfile.MemoryIndex, error) {
	names, err := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "pack-*.idx"))
	if err != nil {
		return nil, err
	}
	var out []*idxfile.MemoryIndex
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("workspace pack index: %w", err)
		}
		idx := idxfile.NewMemoryIndex()
		err = idxfile.NewDecoder(bufio.NewReader(f)).Decode(idx)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("workspace pack index %s: %w", filepath.Base(name), err)
		}
		out = append(out, idx)
	}
	return out, nil
}
