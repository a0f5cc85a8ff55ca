package gitops

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/klauspost/compress/zlib"
)

// The pack indexer is this package's replacement for go-git's packfile.Parser on the clone
// path (git's index-pack, in Go): go-git's parser resolves deltas on one core and keeps
// per-object structures and contents that grow with the repository (9.8x git's peak memory on
// openssh-portable). Here the pack streams to disk while a first pass reads each object's
// header, inflates it once (klauspost/compress, faster than compress/zlib) and hashes the
// whole objects with crypto/sha1; only 56 bytes per object stay in memory. A second pass
// resolves deltas on every core (resolve.go) with a bounded buffer per worker, and the .idx is
// written by writeIdx. The pack format: git's
// Documentation/gitformat-pack.txt.

// Pack object types (gitformat-pack: "Object types").
const (
	objCommit   = 1
	objTree     = 2
	objBlob     = 3
	objTag      = 4
	objOfsDelta = 6
	objRefDelta = 7
)

// packEntry is what the first pass keeps of one object: 64 bytes.
type packEntry struct {
	offset int64  // where the object's header starts
	base   int64  // OFS_DELTA: the base's offset; REF_DELTA: -1 - index into refBases
	size   int64  // inflated size (for a delta: of the delta data)
	full   int64  // the object's size: size for a whole object, the delta's result size
	data   uint32 // header length: the zlib data starts at offset+data
	crc    uint32 // CRC-32 of the packed bytes, header included (idx v2)
	typ    uint8  // 1-4 for whole objects; 6, 7 for deltas; after resolving: the object's type
	disk   uint8  // the type as stored in the pack (6, 7 stay deltas)
	_      [2]byte
	sum    [20]byte // the object id, once known
}

// packIndex is the result of indexing one pack.
type packIndex struct {
	entries  []packEntry
	refBases [][20]byte // the bases REF_DELTA entries name
	checksum [20]byte   // the pack's trailing SHA-1
	end      int64      // where the trailer starts
	deltas   int        // how many entries are deltas
	// maxObject is the largest inflated size accepted of an object, a delta or a delta's
	// result (CloneOptions.MaxObjectBytes): what a resolving worker may have to allocate.
	maxObject int64
}

// errObjectTooLarge is returned for an object past CloneOptions.MaxObjectBytes.
var errObjectTooLarge = errors.New("an object of the repository is larger than the clone's object size limit")

// byteCounter counts the bytes read through it. The scanner reads through a bufio.Reader on
// top of it, which the inflater recognises and reads directly (klauspost's fast path); the
// position in the pack is the count less what the bufio.Reader holds.
type byteCounter struct {
	r io.Reader
	n int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// errPackTooLarge is returned when a pack passes CloneOptions.MaxBytes.
var errPackTooLarge = errors.New("the repository is larger than the clone's size limit")

// scanPack is the first pass: it reads a whole pack from r (the stream as it arrives), and
// returns every object's entry with the ids of the whole (non-delta) objects. onObject is
// called after each object with the number read so far and the total.
func scanPack(r io.Reader, maxObject int64, onObject func(done, total int64)) (*packIndex, error) {
	cnt := &byteCounter{r: r}
	cr := bufio.NewReaderSize(cnt, 1<<20)
	pos := func() int64 { return cnt.n - int64(cr.Buffered()) }
	var hdr [12]byte
	if _, err := io.ReadFull(cr, hdr[:]); err != nil {
		return nil, fmt.Errorf("pack header: %w", err)
	}
	if string(hdr[:4]) != "PACK" {
		return nil, errors.New("not a pack: no PACK signature")
	}
	if v := binary.BigEndian.Uint32(hdr[4:8]); v != 2 && v != 3 {
		return nil, fmt.Errorf("pack version %d is not supported", v)
	}
	count := binary.BigEndian.Uint32(hdr[8:12])
	// The count is the sender's word: believe it up to initialEntries (8 MiB of table), and
	// past that grow as the objects come (growEntries).
	idx := &packIndex{entries: make([]packEntry, 0, min(count, initialEntries)), maxObject: maxObject}
	refAt := map[[20]byte]int{}
	var zr io.ReadCloser
	hasher := sha1.New()
	copyBuf := make([]byte, 32<<10)
	var dh deltaHead
	var refID [20]byte // read through an interface, it would escape: one, not one per delta
	for i := uint32(0); i < count; i++ {
		e := packEntry{offset: pos()}
		typ, size, err := readObjectHeader(cr)
		if err != nil {
			return nil, fmt.Errorf("object %d at %d: %w", i, e.offset, err)
		}
		e.typ, e.disk, e.size = typ, typ, size
		if size > maxObject {
			return nil, fmt.Errorf("object at offset %d: %w", e.offset, &limitError{kind: errObjectTooLarge, limit: maxObject, have: size})
		}
		switch typ {
		case objOfsDelta:
			back, err := readOfsOffset(cr)
			if err != nil || back <= 0 || back > e.offset {
				return nil, fmt.Errorf("object %d at %d: bad delta base offset", i, e.offset)
			}
			e.base = e.offset - back
		case objRefDelta:
			if _, err := io.ReadFull(cr, refID[:]); err != nil {
				return nil, err
			}
			j, ok := refAt[refID]
			if !ok {
				j = len(idx.refBases)
				refAt[refID] = j
				idx.refBases = append(idx.refBases, refID)
			}
			e.base = -1 - int64(j)
		case objCommit, objTree, objBlob, objTag:
		default:
			return nil, fmt.Errorf("object %d at %d: unknown type %d", i, e.offset, typ)
		}
		e.data = uint32(pos() - e.offset)
		if zr == nil {
			if zr, err = zlib.NewReader(cr); err != nil {
				return nil, fmt.Errorf("object %d at %d: %w", i, e.offset, err)
			}
		} else if err := zr.(zlib.Resetter).Reset(cr, nil); err != nil {
			return nil, fmt.Errorf("object %d at %d: %w", i, e.offset, err)
		}
		var dst io.Writer = hasher
		if typ < objOfsDelta {
			hasher.Reset()
			writeObjectHeader(hasher, typ, size)
			e.full = size
		} else {
			idx.deltas++
			dh.n = 0
			dst = &dh
		}
		n, err := io.CopyBuffer(dst, zr, copyBuf) // io.Copy would allocate 32 KiB per object
		if err != nil {
			return nil, fmt.Errorf("object %d at %d: inflate: %w", i, e.offset, err)
		}
		if n != size {
			return nil, fmt.Errorf("object %d at %d: %d bytes inflated, header says %d", i, e.offset, n, size)
		}
		if typ < objOfsDelta {
			hasher.Sum(e.sum[:0])
		} else {
			// The result's size, from the delta's header: what the resolver will allocate.
			full, _, ok := deltaResultSize(dh.b[:dh.n])
			if !ok {
				return nil, fmt.Errorf("object %d at %d: %w: no result size", i, e.offset, errBadDelta)
			}
			if full > uint64(maxObject) {
				return nil, fmt.Errorf("delta at offset %d: %w", e.offset, &limitError{kind: errObjectTooLarge, limit: maxObject, have: int64(full)})
			}
			e.full = int64(full)
		}
		if len(idx.entries) == cap(idx.entries) {
			idx.entries = growEntries(idx.entries, int(count))
		}
		idx.entries = append(idx.entries, e)
		if onObject != nil {
			onObject(int64(i+1), int64(count))
		}
	}
	idx.end = pos()
	if _, err := io.ReadFull(cr, idx.checksum[:]); err != nil {
		return nil, fmt.Errorf("pack trailer: %w", err)
	}
	if _, err := cr.ReadByte(); err != io.EOF {
		return nil, errors.New("data after the pack trailer")
	}
	return idx, nil
}

// initialEntries is how many entries scanPack makes room for before it has read any, when the
// pack's count says so: 8 MiB, which a pack of 131072 objects (openssh-portable has 89k)
// fills without growing its table at all.
const initialEntries = 1 << 17

// growEntries returns entries with room for more, up to total (the pack's count): twice the
// capacity, or total when that is less than four times it. append grows a large slice by a
// quarter at a time, which for git.git's 420k entries (27 MB) allocated 143 MB on the way, and
// the heap grew to 126 MB during the scan (every larger copy is new memory while the smaller
// ones wait for the collector). Doubling allocates about twice the final size, and the last
// step goes straight to the count, so a truthful pack's table is exactly its size. Growth
// follows the objects actually read, so a count the sender inflated costs at most twice what
// it sent.
func growEntries(entries []packEntry, total int) []packEntry {
	c := max(2*cap(entries), 1<<10)
	if total < 4*cap(entries) && total > cap(entries) {
		c = total
	}
	c = min(c, max(total, cap(entries)+1))
	return append(make([]packEntry, 0, c), entries...)
}

// deltaHead keeps the first bytes of a delta written to it (the base and result sizes) and
// discards the rest.
type deltaHead struct {
	b [20]byte
	n int
}

func (d *deltaHead) Write(p []byte) (int, error) {
	d.n += copy(d.b[d.n:], p)
	return len(p), nil
}

// packCRCs reads the pack file once and sets each entry's CRC-32 of its packed bytes (from
// its header to the next object; the idx v2 table).
func packCRCs(f *os.File, idx *packIndex) error {
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, idx.end), 1<<20)
	if _, err := br.Discard(12); err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for i := range idx.entries {
		end := idx.end
		if i+1 < len(idx.entries) {
			end = idx.entries[i+1].offset
		}
		var crc uint32
		for left := end - idx.entries[i].offset; left > 0; {
			n, err := br.Read(buf[:min(left, int64(len(buf)))])
			if err != nil {
				return fmt.Errorf("pack file: %w", err)
			}
			crc = crc32.Update(crc, crc32.IEEETable, buf[:n])
			left -= int64(n)
		}
		idx.entries[i].crc = crc
	}
	return nil
}

// readObjectHeader reads an object's type and inflated size (gitformat-pack: the size is a
// little-endian base-128 number whose first 4 bits sit beside the 3 type bits).
func readObjectHeader(r io.ByteReader) (uint8, int64, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	typ := (b >> 4) & 7
	size := int64(b & 0x0f)
	shift := uint(4)
	for b&0x80 != 0 {
		if b, err = r.ReadByte(); err != nil {
			return 0, 0, err
		}
		if shift > 56 {
			return 0, 0, errors.New("object size overflows")
		}
		size |= int64(b&0x7f) << shift
		shift += 7
	}
	return typ, size, nil
}

// readOfsOffset reads an OFS_DELTA's distance back to its base (gitformat-pack: big-endian
// base-128 with 1 added at each continuation).
func readOfsOffset(r io.ByteReader) (int64, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	off := int64(b & 0x7f)
	for b&0x80 != 0 {
		if b, err = r.ReadByte(); err != nil {
			return 0, err
		}
		if off > 1<<49 {
			return 0, errors.New("delta offset overflows")
		}
		off = ((off + 1) << 7) | int64(b&0x7f)
	}
	return off, nil
}

// writeObjectHeader writes the loose-object header git hashes before the content:
// "{type} {size}\x00".
func writeObjectHeader(w io.Writer, typ uint8, size int64) {
	var b [32]byte
	h := append(b[:0], typeName(typ)...)
	h = append(h, ' ')
	h = strconv.AppendInt(h, size, 10)
	h = append(h, 0)
	w.Write(h)
}

func typeName(typ uint8) string {
	return plumbing.ObjectType(typ).String()
}

// packWriter is the io.WriteCloser go-git's fetch copies the pack into (storer.PackfileWriter):
// it writes the stream to a temporary file in objects/pack while scanPack reads the same bytes
// through a pipe; Close resolves the deltas and writes pack-{checksum}.pack and .idx.
type packWriter struct {
	ctx      context.Context
	dir      string // the repository's objects/pack
	tmp      *os.File
	pw       *io.PipeWriter
	done     chan error
	idx      *packIndex
	res      *resolver // after Close: the resolved pack, for the checkout
	written  atomic.Int64
	meter    *meter // the clone's limits: MaxBytes, the free-space reserve
	mem      *MemoryBudget
	prog     *tracker
	onReady  func()    // after the pack and index are in place
	sum      hash.Hash // SHA-1 of all bytes but the last 20 (held in tail)
	tail     []byte
	gcMu     sync.Mutex
	loosen   func() // set while the collector is tightened for this pack (tightenGC)
	released bool   // released: the collector is not tightened again
}

// packConfig is what a packWriter needs to know of its clone.
type packConfig struct {
	ctx       context.Context // the clone's: resolving stops when it ends
	dir       string          // the repository's objects/pack
	meter     *meter          // the clone's limits (CloneOptions.MaxBytes, MinFreeBytes)
	maxObject int64           // CloneOptions.MaxObjectBytes, resolved
	mem       *MemoryBudget   // CloneOptions.Memory; nil: none
	prog      *tracker        // may be nil
	onReady   func()          // after the pack and index are in place
}

func newPackWriter(cfg packConfig) (*packWriter, error) {
	if err := os.MkdirAll(cfg.dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(cfg.dir, "tmp_pack_")
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	w := &packWriter{ctx: cfg.ctx, dir: cfg.dir, tmp: tmp, pw: pw, done: make(chan error, 1), meter: cfg.meter, mem: cfg.mem, prog: cfg.prog,
		onReady: cfg.onReady, sum: sha1.New(), tail: make([]byte, 0, 40)}
	go func() {
		idx, err := scanPack(pr, cfg.maxObject, w.received)
		w.idx = idx
		pr.CloseWithError(err) // unblocks Write when the scan stops early
		w.done <- err
	}()
	return w, nil
}

// release closes the pack file and drops the resolved pack.
func (w *packWriter) release() {
	w.tmp.Close()
	w.res, w.idx = nil, nil
	w.loosenGC()
}

// loosenGC gives the collector back its GOGC (after resolving, or when the pack is dropped
// unresolved), for good.
func (w *packWriter) loosenGC() {
	w.gcMu.Lock()
	if w.loosen != nil {
		w.loosen()
	}
	w.released = true
	w.gcMu.Unlock()
}

func (w *packWriter) received(done, total int64) {
	if done == 1 && total >= tightAbove {
		// A large pack: its tables and the contents resolved are collected tightly from the
		// scan to the end of the checkout (release). A writer dropped without release (a
		// fetch that writes a second pack) loosens the collector when it is collected.
		w.gcMu.Lock()
		if !w.released && w.loosen == nil {
			w.loosen = tightenGC()
			runtime.AddCleanup(w, func(loosen func()) { loosen() }, w.loosen)
		}
		w.gcMu.Unlock()
	}
	w.prog.received(done, total) // nil-safe
}

func (w *packWriter) Write(p []byte) (int, error) {
	w.written.Add(int64(len(p)))
	w.prog.packBytes(len(p)) // nil-safe
	if err := w.meter.addBytes(int64(len(p)), errPackTooLarge); err != nil {
		w.pw.CloseWithError(err)
		return 0, err
	}
	if _, err := w.tmp.Write(p); err != nil {
		w.pw.CloseWithError(err)
		return 0, err
	}
	// Hash all but the last 20 bytes seen, which may be the trailer.
	if len(p) >= 20 {
		w.sum.Write(w.tail)
		w.sum.Write(p[:len(p)-20])
		w.tail = append(w.tail[:0], p[len(p)-20:]...)
	} else {
		w.tail = append(w.tail, p...)
		if k := len(w.tail) - 20; k > 0 {
			w.sum.Write(w.tail[:k])
			w.tail = append(w.tail[:0], w.tail[k:]...)
		}
	}
	return w.pw.Write(p)
}

// Close finishes the pack: it waits for the first pass, resolves the deltas and writes the
// index, then moves both into place. On any error the temporary file is removed.
func (w *packWriter) Close() (err error) {
	defer func() {
		if err != nil {
			w.loosenGC()
			w.tmp.Close()
			os.Remove(w.tmp.Name())
		}
	}()
	w.pw.Close()
	if err := <-w.done; err != nil {
		return err
	}
	if string(w.sum.Sum(nil)) != string(w.idx.checksum[:]) {
		return errors.New("pack checksum mismatch: the pack was damaged in transfer")
	}
	if err := w.meter.checkFree(); err != nil {
		return err
	}
	if err := packCRCs(w.tmp, w.idx); err != nil {
		return err
	}
	if w.prog != nil {
		w.prog.objects(PhaseResolving, 0, int64(w.idx.deltas))
	}
	if w.res, err = resolveDeltas(w.ctx, w.tmp, w.idx, w.prog, w.mem); err != nil {
		return err
	}
	name := "pack-" + fmt.Sprintf("%x", w.idx.checksum)
	if w.res.byID, err = writeIdx(filepath.Join(w.dir, name+".idx"), w.idx); err != nil {
		return err
	}
	// The index: 28 bytes per object and a 1 KiB header, counted like the pack.
	if err := w.meter.addBytes(int64(len(w.idx.entries))*28+1100, errPackTooLarge); err != nil {
		return err
	}
	// The file stays open (renamed) for the checkout to read; release closes it.
	if err := os.Rename(w.tmp.Name(), filepath.Join(w.dir, name+".pack")); err != nil {
		return err
	}
	if w.onReady != nil {
		w.onReady()
	}
	return nil
}
