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
	"os"
	"path/filepath"
	"strings"
)

// A pack of the repository cache keeps, next to its .pack and .idx, a sidecar (.rcx) with what
// the checkout needs of the resolved pack: every entry's offset, base, sizes, types and id, the
// REF_DELTA bases and the id order. A later run rebuilds a resolver from it (newResolver)
// without inflating a delta again. The sidecar is the one place that knows packEntry's fields
// besides the indexer (encodeSidecar, decodeSidecar).

// sidecarMagic starts a sidecar file (version 1).
const sidecarMagic = "RCX1"

// sidecarHeader is the bytes before the entries: magic, count, REF_DELTA bases, end, checksum.
const sidecarHeader = 4 + 4 + 4 + 8 + 20

// sidecarEntry is the bytes of one entry: offset, base, size, full (8 each), data (4), typ,
// disk (1 each), id (20).
const sidecarEntry = 8*4 + 4 + 1 + 1 + 20

// encodeSidecar writes the sidecar of a resolved pack to w: idx's entries, its REF_DELTA
// bases, the id order byID (writeIdx), and a trailing SHA-1 of all of it.
func encodeSidecar(w io.Writer, idx *packIndex, byID []int32) error {
	sum := sha1.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 256<<10)
	var b [sidecarEntry]byte
	copy(b[:4], sidecarMagic)
	binary.BigEndian.PutUint32(b[4:], uint32(len(idx.entries)))
	binary.BigEndian.PutUint32(b[8:], uint32(len(idx.refBases)))
	binary.BigEndian.PutUint64(b[12:], uint64(idx.end))
	copy(b[20:40], idx.checksum[:])
	bw.Write(b[:sidecarHeader])
	for i := range idx.entries {
		e := &idx.entries[i]
		if e.typ >= objOfsDelta {
			return fmt.Errorf("object at %d was never resolved", e.offset)
		}
		binary.BigEndian.PutUint64(b[0:], uint64(e.offset))
		binary.BigEndian.PutUint64(b[8:], uint64(e.base))
		binary.BigEndian.PutUint64(b[16:], uint64(e.size))
		binary.BigEndian.PutUint64(b[24:], uint64(e.full))
		binary.BigEndian.PutUint32(b[32:], e.data)
		b[36], b[37] = e.typ, e.disk
		copy(b[38:], e.sum[:])
		bw.Write(b[:sidecarEntry])
	}
	for _, r := range idx.refBases {
		bw.Write(r[:])
	}
	for _, i := range byID {
		binary.BigEndian.PutUint32(b[:4], uint32(i))
		bw.Write(b[:4])
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(sum.Sum(nil))
	return err
}

// errSidecar is a sidecar that is damaged or does not describe its pack.
var errSidecar = errors.New("the cached pack's sidecar is damaged")

// decodeSidecar reads a sidecar written by encodeSidecar: the pack's index (entries resolved,
// REF_DELTA bases, end, checksum) and the id order. Every field is checked against the others
// (offsets ascending within the pack, bases before their deltas, types, the id order sorted),
// so a damaged sidecar is an error (errSidecar), never an out-of-range read later. Sizes past
// maxObject are errObjectTooLarge. What it allocates is bounded by data's length.
func decodeSidecar(data []byte, maxObject int64) (*packIndex, []int32, error) {
	if len(data) < sidecarHeader+20 || string(data[:4]) != sidecarMagic {
		return nil, nil, errSidecar
	}
	body, trailer := data[:len(data)-20], data[len(data)-20:]
	if sum := sha1.Sum(body); !bytes.Equal(sum[:], trailer) {
		return nil, nil, fmt.Errorf("%w: checksum mismatch", errSidecar)
	}
	n := int64(binary.BigEndian.Uint32(data[4:]))
	m := int64(binary.BigEndian.Uint32(data[8:]))
	if int64(len(body)) != sidecarHeader+n*(sidecarEntry+4)+m*20 {
		return nil, nil, fmt.Errorf("%w: wrong length", errSidecar)
	}
	idx := &packIndex{entries: make([]packEntry, n), refBases: make([][20]byte, m), end: int64(binary.BigEndian.Uint64(data[12:])), maxObject: maxObject}
	copy(idx.checksum[:], data[20:40])
	p := data[sidecarHeader:]
	prev := int64(11)
	for i := range idx.entries {
		b := p[i*sidecarEntry:]
		e := &idx.entries[i]
		e.offset = int64(binary.BigEndian.Uint64(b[0:]))
		e.base = int64(binary.BigEndian.Uint64(b[8:]))
		e.size = int64(binary.BigEndian.Uint64(b[16:]))
		e.full = int64(binary.BigEndian.Uint64(b[24:]))
		e.data = binary.BigEndian.Uint32(b[32:])
		e.typ, e.disk = b[36], b[37]
		copy(e.sum[:], b[38:58])
		if e.offset <= prev || e.offset+int64(e.data) > idx.end || e.data == 0 || e.size < 0 || e.full < 0 ||
			e.typ < objCommit || e.typ > objTag {
			return nil, nil, fmt.Errorf("%w: entry %d", errSidecar, i)
		}
		switch e.disk {
		case objOfsDelta:
			if e.base < 12 || e.base >= e.offset {
				return nil, nil, fmt.Errorf("%w: entry %d's base", errSidecar, i)
			}
			idx.deltas++
		case objRefDelta:
			if e.base >= 0 || -1-e.base >= m {
				return nil, nil, fmt.Errorf("%w: entry %d's base", errSidecar, i)
			}
			idx.deltas++
		default:
			if e.disk != e.typ || e.size != e.full {
				return nil, nil, fmt.Errorf("%w: entry %d's type", errSidecar, i)
			}
		}
		if e.size > maxObject || e.full > maxObject {
			return nil, nil, fmt.Errorf("object at offset %d: %w", e.offset, &limitError{kind: errObjectTooLarge, limit: maxObject, have: max(e.size, e.full)})
		}
		prev = e.offset
	}
	p = p[n*sidecarEntry:]
	for j := range idx.refBases {
		copy(idx.refBases[j][:], p[j*20:])
	}
	p = p[m*20:]
	byID := make([]int32, n)
	for k := range byID {
		i := binary.BigEndian.Uint32(p[k*4:])
		if int64(i) >= n || (k > 0 && bytes.Compare(idx.entries[byID[k-1]].sum[:], idx.entries[i].sum[:]) >= 0) {
			return nil, nil, fmt.Errorf("%w: id order", errSidecar)
		}
		byID[k] = int32(i)
	}
	return idx, byID, nil
}

// writeSidecar writes the sidecar of the pack at packPath (its name with .rcx for .pack), by a
// temporary file renamed into place.
func writeSidecar(packPath string, idx *packIndex, byID []int32) error {
	path := strings.TrimSuffix(packPath, ".pack") + ".rcx"
	return replaceFile(path, "tmp_rcx_", 0o444, func(w io.Writer) error { return encodeSidecar(w, idx, byID) })
}

// openCachedPack opens the pack pack-{name}.pack of dir with its sidecar and returns a resolver
// ready for the checkout (no delta resolved again: the ids and types come from the sidecar).
// The caller closes r.f. Errors: I/O, errSidecar, a sidecar of another pack.
func openCachedPack(ctx context.Context, dir, name string, maxObject int64, mem *MemoryBudget) (*resolver, error) {
	base := filepath.Join(dir, name)
	data, err := os.ReadFile(base + ".rcx")
	if err != nil {
		return nil, err
	}
	idx, byID, err := decodeSidecar(data, maxObject)
	if err != nil {
		return nil, err
	}
	if fmt.Sprintf("pack-%x", idx.checksum) != name {
		return nil, fmt.Errorf("%w: it describes another pack", errSidecar)
	}
	f, err := os.Open(base + ".pack")
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != idx.end+20 {
		f.Close()
		return nil, fmt.Errorf("%w: the pack's size does not match", errSidecar)
	}
	r, err := newResolver(ctx, f, idx, nil, mem)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.byID = byID
	for j, id := range idx.refBases {
		i, ok := r.find(id)
		if !ok {
			f.Close()
			return nil, fmt.Errorf("%w: a REF_DELTA base is not in the pack", errSidecar)
		}
		r.refBase[j] = i
	}
	if err := r.acyclic(); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// acyclic checks that every entry's chain of delta bases ends at a whole object (a sidecar
// naming a REF_DELTA base that leads back to itself would make materialize loop): each entry
// is walked once, O(n).
func (r *resolver) acyclic() error {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(r.idx.entries))
	var path []int32
	for i := range r.idx.entries {
		path = path[:0]
		j := int32(i)
		for j >= 0 && state[j] == unseen {
			state[j] = onPath
			path = append(path, j)
			j = r.baseOf(j)
		}
		if j >= 0 && state[j] == onPath {
			return fmt.Errorf("%w: a delta chain leads back to itself", errSidecar)
		}
		if j < 0 && len(path) > 0 && r.idx.entries[path[len(path)-1]].disk >= objOfsDelta {
			return fmt.Errorf("%w: a delta has no base", errSidecar)
		}
		for _, k := range path {
			state[k] = done
		}
	}
	return nil
}
