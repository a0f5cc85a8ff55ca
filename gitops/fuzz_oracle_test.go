package gitops

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// This file is the fuzz targets' oracle: an index-pack written for clarity, not speed, on the
// standard library's zlib (not klauspost's) and a port of git's patch-delta.c, so that what
// the fuzzers compare against shares no code with the clone engine. Limits keep any input
// small: fuzzMaxObject bytes per object, fuzzMaxObjects objects.

// fuzzMaxObject is the object size limit the pack targets give the engine (and the oracle).
const fuzzMaxObject = 64 << 10

// fuzzMaxObjects bounds the objects the oracle reads of a pack.
const fuzzMaxObjects = 4096

// refObject is one object of a pack as the oracle reads it.
type refObject struct {
	offset, end int64 // its packed bytes: [offset, end)
	typ         uint8 // as stored (6, 7 for deltas)
	data        []byte
	ofsBase     int64    // OFS_DELTA: the base's offset
	refBase     [20]byte // REF_DELTA: the base's id
	// Resolved:
	done    bool
	objType uint8
	content []byte
	id      [20]byte
}

// refIndexPack reads a whole pack (trailer included) and returns its objects resolved, in pack
// order, or an error for anything git index-pack refuses (and a thin pack).
func refIndexPack(pack []byte) ([]*refObject, error) {
	if len(pack) < 32 || string(pack[:4]) != "PACK" {
		return nil, errors.New("no pack header")
	}
	if v := binary.BigEndian.Uint32(pack[4:8]); v != 2 && v != 3 {
		return nil, errors.New("version")
	}
	body := pack[:len(pack)-20]
	if sum := sha1.Sum(body); !bytes.Equal(sum[:], pack[len(pack)-20:]) {
		return nil, errors.New("checksum")
	}
	count := binary.BigEndian.Uint32(pack[8:12])
	if count > fuzzMaxObjects {
		return nil, errors.New("too many objects for the oracle")
	}
	r := bytes.NewReader(body)
	r.Seek(12, io.SeekStart)
	var objs []*refObject
	byOffset := map[int64]*refObject{}
	for range count {
		o := &refObject{offset: int64(len(body)) - int64(r.Len())}
		c, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		o.typ = c >> 4 & 7
		size := uint64(c & 15)
		for shift := 4; c&0x80 != 0; shift += 7 {
			if c, err = r.ReadByte(); err != nil || shift > 60 {
				return nil, errors.New("size")
			}
			size |= uint64(c&0x7f) << shift
		}
		if size > fuzzMaxObject {
			return nil, errors.New("object too large for the oracle")
		}
		switch o.typ {
		case objCommit, objTree, objBlob, objTag:
		case objOfsDelta:
			c, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			back := uint64(c & 0x7f)
			for c&0x80 != 0 {
				if c, err = r.ReadByte(); err != nil || back > 1<<50 {
					return nil, errors.New("ofs")
				}
				back = (back+1)<<7 | uint64(c&0x7f)
			}
			if back == 0 || back > uint64(o.offset) {
				return nil, errors.New("ofs out of the pack")
			}
			o.ofsBase = o.offset - int64(back)
			if byOffset[o.ofsBase] == nil {
				return nil, errors.New("no object at the ofs base")
			}
		case objRefDelta:
			if _, err := io.ReadFull(r, o.refBase[:]); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("type")
		}
		zr, err := zlib.NewReader(r) // r is an io.ByteReader: nothing is read past the stream
		if err != nil {
			return nil, err
		}
		o.data, err = io.ReadAll(io.LimitReader(zr, fuzzMaxObject+1))
		if err != nil {
			return nil, err
		}
		if uint64(len(o.data)) != size {
			return nil, errors.New("size mismatch")
		}
		// The stream must end here (a zlib stream with more data than the header says is refused).
		if _, err := zr.Read(make([]byte, 1)); err != io.EOF {
			return nil, errors.New("zlib stream longer than the size")
		}
		o.end = int64(len(body)) - int64(r.Len())
		objs = append(objs, o)
		byOffset[o.offset] = o
	}
	if r.Len() != 0 {
		return nil, errors.New("data after the last object")
	}
	byID := map[[20]byte]*refObject{}
	for progress := true; progress; {
		progress = false
		for _, o := range objs {
			if o.done {
				continue
			}
			var base *refObject
			switch o.typ {
			case objOfsDelta:
				base = byOffset[o.ofsBase]
			case objRefDelta:
				base = byID[o.refBase]
			default:
				o.objType, o.content = o.typ, o.data
			}
			if base != nil {
				if !base.done {
					continue
				}
				out, err := gitPatchDelta(base.content, o.data, fuzzMaxObject)
				if err != nil {
					return nil, err
				}
				o.objType, o.content = base.objType, out
			} else if o.typ >= objOfsDelta {
				continue
			}
			h := sha1.New()
			fmt.Fprintf(h, "%s %d\x00", typeName(o.objType), len(o.content))
			h.Write(o.content)
			h.Sum(o.id[:0])
			o.done, progress = true, true
			if _, dup := byID[o.id]; !dup {
				byID[o.id] = o
			}
		}
	}
	for _, o := range objs {
		if !o.done {
			return nil, errors.New("unresolved delta")
		}
	}
	return objs, nil
}

// refIdx is the version 2 .idx of a resolved pack, as git index-pack writes it.
func refIdx(pack []byte, objs []*refObject) []byte {
	sorted := append([]*refObject(nil), objs...)
	sort.SliceStable(sorted, func(a, b int) bool { return bytes.Compare(sorted[a].id[:], sorted[b].id[:]) < 0 })
	var b bytes.Buffer
	b.Write([]byte{0xff, 't', 'O', 'c', 0, 0, 0, 2})
	for k := range 256 {
		n := sort.Search(len(sorted), func(i int) bool { return int(sorted[i].id[0]) > k })
		binary.Write(&b, binary.BigEndian, uint32(n))
	}
	for _, o := range sorted {
		b.Write(o.id[:])
	}
	for _, o := range sorted {
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(pack[o.offset:o.end]))
	}
	var large []uint64
	for _, o := range sorted {
		if o.offset < 1<<31 {
			binary.Write(&b, binary.BigEndian, uint32(o.offset))
		} else {
			binary.Write(&b, binary.BigEndian, uint32(1<<31|len(large)))
			large = append(large, uint64(o.offset))
		}
	}
	for _, off := range large {
		binary.Write(&b, binary.BigEndian, off)
	}
	b.Write(pack[len(pack)-20:])
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// hasDuplicates reports whether two objects of the pack have the same id (their order in the
// idx is then not defined).
func hasDuplicates(objs []*refObject) bool {
	seen := map[[20]byte]bool{}
	for _, o := range objs {
		if seen[o.id] {
			return true
		}
		seen[o.id] = true
	}
	return false
}

// checkIdxShape checks what any valid .idx of pack must satisfy: header, fan-out consistent
// with the sorted ids, every object's offset once with the CRC-32 of its packed bytes, the
// pack's checksum and the index's own.
func checkIdxShape(t *testing.T, pack, idx []byte) {
	t.Helper()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("idx of a %d-byte pack: "+format, append([]any{len(pack)}, a...)...)
	}
	if len(idx) < 8+1024+40 || !bytes.Equal(idx[:8], []byte{0xff, 't', 'O', 'c', 0, 0, 0, 2}) {
		fail("no v2 header (%d bytes)", len(idx))
	}
	n := int(binary.BigEndian.Uint32(idx[8+1020:]))
	if n != int(binary.BigEndian.Uint32(pack[8:12])) {
		fail("%d objects, the pack has %d", n, binary.BigEndian.Uint32(pack[8:12]))
	}
	ids := idx[8+1024:]
	if len(ids) < n*28+40 {
		fail("too short for %d objects", n)
	}
	crcs, offs := ids[n*20:], ids[n*24:]
	large := offs[n*4:]
	var nLarge int
	spans := make([][2]int64, 0, n)
	crcAt := map[int64]uint32{}
	for i := range n {
		id := ids[i*20 : i*20+20]
		if i > 0 && bytes.Compare(ids[(i-1)*20:i*20], id) > 0 {
			fail("ids not sorted at %d", i)
		}
		for k := range 256 {
			below := binary.BigEndian.Uint32(idx[8+4*k:])
			if (int(id[0]) <= k) != (i < int(below)) {
				fail("fan-out[%d]=%d disagrees with id %d (%x)", k, below, i, id[:1])
			}
		}
		off := int64(binary.BigEndian.Uint32(offs[i*4:]))
		if off&(1<<31) != 0 {
			k := int(off &^ (1 << 31))
			if k != nLarge || len(large) < 8*(k+1) {
				fail("large offset table")
			}
			off = int64(binary.BigEndian.Uint64(large[8*k:]))
			nLarge++
		}
		if _, dup := crcAt[off]; dup {
			fail("offset %d twice", off)
		}
		crcAt[off] = binary.BigEndian.Uint32(crcs[i*4:])
		spans = append(spans, [2]int64{off, 0})
	}
	tail := large[8*nLarge:]
	if len(tail) != 40 {
		fail("%d bytes after the offsets, want 40", len(tail))
	}
	if !bytes.Equal(tail[:20], pack[len(pack)-20:]) {
		fail("pack checksum")
	}
	if sum := sha1.Sum(idx[:len(idx)-20]); !bytes.Equal(sum[:], tail[20:]) {
		fail("idx checksum")
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a][0] < spans[b][0] })
	end := int64(len(pack) - 20)
	for i := range spans {
		next := end
		if i+1 < n {
			next = spans[i+1][0]
		}
		if (i == 0 && spans[0][0] != 12) || next <= spans[i][0] || next > end {
			fail("object spans do not tile the pack")
		}
		if got := crc32.ChecksumIEEE(pack[spans[i][0]:next]); got != crcAt[spans[i][0]] {
			fail("CRC of the object at %d", spans[i][0])
		}
	}
}

// gitPatchDelta is git's patch_delta (patch-delta.c), ported line for line: the reference
// applyDelta is compared with. A header size without its last byte ends at the data's end, as
// in get_delta_hdr_size. maxSize stands in for git's xmallocz failing.
func gitPatchDelta(src, delta []byte, maxSize uint64) ([]byte, error) {
	bad := errors.New("git: bad delta")
	if len(delta) < 4 { // DELTA_SIZE_MIN
		return nil, bad
	}
	data := delta
	hdr := func() uint64 {
		var size uint64
		var i uint
		for len(data) > 0 {
			c := data[0]
			data = data[1:]
			size |= uint64(c&0x7f) << i
			i += 7
			if c&0x80 == 0 || i >= 64 {
				break
			}
		}
		return size
	}
	if hdr() != uint64(len(src)) {
		return nil, bad
	}
	size := hdr()
	if size > maxSize {
		return nil, bad
	}
	dst := make([]byte, 0, size)
	for len(data) > 0 {
		cmd := data[0]
		data = data[1:]
		if cmd&0x80 != 0 {
			var off, n uint64
			for k := range 7 {
				if cmd&(1<<k) == 0 {
					continue
				}
				if len(data) == 0 {
					return nil, bad
				}
				if k < 4 {
					off |= uint64(data[0]) << (8 * k)
				} else {
					n |= uint64(data[0]) << (8 * (k - 4))
				}
				data = data[1:]
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > uint64(len(src)) || n > size {
				return nil, bad
			}
			dst = append(dst, src[off:off+n]...)
			size -= n
		} else if cmd != 0 {
			if uint64(cmd) > size || int(cmd) > len(data) {
				return nil, bad
			}
			dst = append(dst, data[:cmd]...)
			data = data[cmd:]
			size -= uint64(cmd)
		} else {
			return nil, bad
		}
	}
	if size != 0 {
		return nil, bad
	}
	return dst, nil
}

// gitSeed runs git in dir and returns its output.
func gitSeed(tb testing.TB, dir string, stdin []byte, args ...string) []byte {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.invalid", "GIT_AUTHOR_DATE=2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2020-01-01T00:00:00Z")
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %v: %v", args, err)
	}
	return out
}

// seedPacks builds a small repository with git (edits to one file over a few commits, a
// directory, an executable, a symbolic link) and returns real packs of it by name: OFS_DELTA
// and REF_DELTA ones, whole objects only, a single blob, and an empty pack.
func seedPacks(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	repo := filepath.Join(dir, "seedrepo")
	os.MkdirAll(filepath.Join(repo, "sub"), 0o755)
	gitSeed(tb, repo, nil, "init", "-q", "-b", "main")
	var text strings.Builder
	for i := range 300 {
		fmt.Fprintf(&text, "line %d of a file that changes a little\n", i)
	}
	content := text.String()
	for c := range 4 {
		content = strings.Replace(content, fmt.Sprintf("line %d ", c*37), fmt.Sprintf("edit %d ", c), 1)
		os.WriteFile(filepath.Join(repo, "f.txt"), []byte(content), 0o644)
		os.WriteFile(filepath.Join(repo, "sub", "g.txt"), []byte(content[:len(content)/(c+2)]), 0o644)
		os.WriteFile(filepath.Join(repo, "run.sh"), []byte(fmt.Sprintf("#!/bin/sh\necho %d\n", c)), 0o755)
		gitSeed(tb, repo, nil, "add", "-A")
		gitSeed(tb, repo, nil, "commit", "-q", "-m", fmt.Sprint(c))
	}
	os.Symlink("f.txt", filepath.Join(repo, "link"))
	gitSeed(tb, repo, nil, "add", "-A")
	gitSeed(tb, repo, nil, "commit", "-q", "-m", "link")
	objects := gitSeed(tb, repo, nil, "rev-list", "--objects", "--all")
	blob := gitSeed(tb, repo, nil, "rev-parse", "HEAD:run.sh")
	return map[string][]byte{
		"ofs":   gitSeed(tb, repo, objects, "pack-objects", "-q", "--stdout", "--delta-base-offset", "--no-reuse-delta"),
		"ref":   gitSeed(tb, repo, objects, "pack-objects", "-q", "--stdout", "--no-reuse-delta"),
		"whole": gitSeed(tb, repo, objects, "pack-objects", "-q", "--stdout", "--depth=0"),
		"blob":  gitSeed(tb, repo, blob, "pack-objects", "-q", "--stdout"),
		"empty": gitSeed(tb, repo, nil, "pack-objects", "-q", "--stdout"),
	}
}

// damagedPacks derives damaged packs from a good one: truncated, a byte flipped in the header,
// the middle and the trailer, trailing garbage, the object count raised.
func damagedPacks(p []byte) [][]byte {
	flip := func(at int) []byte {
		q := append([]byte(nil), p...)
		q[at] ^= 0x40
		return q
	}
	more := append([]byte(nil), p...)
	more[11]++
	return [][]byte{p[:len(p)/2], p[:len(p)-1], flip(5), flip(12), flip(len(p) / 2), flip(len(p) - 1), append(append([]byte(nil), p...), 0), more}
}
