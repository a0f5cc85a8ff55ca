package gitops

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// fuzzAllocBound bounds what one pack input may allocate in all (runtime.MemStats.TotalAlloc),
// with objects of at most fuzzMaxObject bytes: the scanner's 1 MiB buffer, each worker's few
// contents and inflaters. A pack whose headers alone could make the engine allocate more (a
// count, a size, a delta's result size believed) fails the target.
const fuzzAllocBound = 96 << 20

// fuzzInputDeadline is how long one input of a pack target may take before the worker is
// stopped with every goroutine's stack: Go's fuzzing has no time limit per input, and a hang
// would otherwise go unnoticed (and unsaved) until -fuzztime ends.
const fuzzInputDeadline = 20 * time.Second

// watchdog panics, printing every goroutine's stack, unless the returned stop is called within
// fuzzInputDeadline; the fuzzing engine then saves the input as a crasher.
func watchdog(what string) (stop func() bool) {
	return time.AfterFunc(fuzzInputDeadline, func() {
		buf := make([]byte, 1<<20)
		fmt.Fprintf(os.Stderr, "%s\n", buf[:runtime.Stack(buf, true)])
		panic(fmt.Sprintf("%s took over %v", what, fuzzInputDeadline))
	}).Stop
}

// indexWithEngine runs the clone's pack path on pack (newPackWriter, Write in two chunks split
// at split, Close: scan, checksum, CRCs, resolve, idx) in a new directory under dir, and
// returns the .idx written, or the error.
func indexWithEngine(t *testing.T, dir string, pack []byte, split int) ([]byte, error) {
	defer watchdog(fmt.Sprintf("indexing a %d-byte pack", len(pack)))()
	d, err := os.MkdirTemp(dir, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(d)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := newPackWriter(packConfig{ctx: ctx, dir: d, meter: newMeter(CloneOptions{MaxBytes: 4 << 20}, d), maxObject: fuzzMaxObject})
	if err != nil {
		t.Fatal(err)
	}
	defer w.release()
	split = min(max(split, 0), len(pack))
	for _, chunk := range [][]byte{pack[:split], pack[split:]} {
		if len(chunk) == 0 {
			continue
		}
		if _, err = w.Write(chunk); err != nil {
			break
		}
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if idxs, _ := filepath.Glob(filepath.Join(d, "*")); len(idxs) > 0 {
			t.Fatalf("a refused pack left %v", idxs)
		}
		return nil, err
	}
	idxs, _ := filepath.Glob(filepath.Join(d, "*.idx"))
	if len(idxs) != 1 {
		t.Fatalf("an accepted pack left %v", idxs)
	}
	return os.ReadFile(idxs[0])
}

// FuzzPackScan feeds any bytes to the clone's pack path as a hostile server's pack: the first
// pass (scanPack) in memory, then, when it accepts them, the whole path. Every input must end
// in an error or an index, never a panic, a hang or an allocation past
// fuzzAllocBound; an accepted pack's .idx must be well formed (checkIdxShape) and, unless two
// objects share an id, byte for byte what the oracle's index-pack writes. fixSum makes the
// trailer the checksum of what precedes it, so mutations get past the checksum.
func FuzzPackScan(f *testing.F) {
	for name, p := range seedPacks(f, f.TempDir()) {
		f.Add(p, false, uint16(len(p)/3))
		if name == "ref" || name == "blob" {
			for _, d := range damagedPacks(p) {
				f.Add(d, false, uint16(7))
				f.Add(d, true, uint16(0))
			}
		}
	}
	hello := encodeObject(objBlob, 5, 0, []byte("hello"))
	x := sha1.Sum([]byte("blob 5\x00hello"))
	world := append(append(deltaVarintBytes(5), deltaVarintBytes(11)...), 0x91, 0, 5, 6, ' ', 'w', 'o', 'r', 'l', 'd')
	f.Add(packOf(hello, refDelta(x, world)), false, uint16(0))
	f.Add(packOf(hello, encodeObject(objOfsDelta, int64(len(world)), len(hello), world)), false, uint16(0))
	f.Add(packOf(hello, refDelta(x, append(append(deltaVarintBytes(5), deltaVarintBytes(5)...), 0x91, 0, 5))), false, uint16(0))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, pack []byte, fixSum bool, split uint16) {
		if fixSum && len(pack) >= 32 {
			pack = append([]byte(nil), pack...)
			sum := sha1.Sum(pack[:len(pack)-20])
			copy(pack[len(pack)-20:], sum[:])
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		// The first pass alone, in memory, refuses most inputs at a fraction of the cost of the
		// whole path (files, a pipe, workers); only what it accepts goes on.
		stop := watchdog(fmt.Sprintf("scanning a %d-byte pack", len(pack)))
		_, err := scanPack(bytes.NewReader(pack), fuzzMaxObject, nil)
		stop()
		var idx []byte
		if err == nil {
			idx, err = indexWithEngine(t, dir, pack, int(split))
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > fuzzAllocBound {
			t.Fatalf("a %d-byte pack made the engine allocate %d bytes", len(pack), n)
		}
		if err != nil {
			return
		}
		checkIdxShape(t, pack, idx)
		objs, oerr := refIndexPack(pack)
		if oerr != nil {
			t.Fatalf("the engine indexed a pack the oracle refuses: %v", oerr)
		}
		if !hasDuplicates(objs) && !bytes.Equal(idx, refIdx(pack, objs)) {
			t.Fatalf("the engine's idx differs from the oracle's")
		}
	})
}

// FuzzIdxWrite builds a valid pack from a program of fuzz bytes (whole objects of any type and
// deltas, OFS_DELTA or REF_DELTA, of copies and inserts on earlier objects; contents known to
// the harness, so every id is computed without the engine) and checks that the engine accepts
// it and writes exactly the .idx git index-pack writes: TestFuzzIdxSeedsMatchGit compares the
// oracle with git itself on the seeds.
func FuzzIdxWrite(f *testing.F) {
	for _, s := range idxSeeds {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, prog []byte) {
		pack, want := buildPack(prog)
		idx, err := indexWithEngine(t, dir, pack, len(pack)/2)
		if err != nil {
			t.Fatalf("a valid pack of %d objects refused: %v", len(want), err)
		}
		objs, err := refIndexPack(pack)
		if err != nil {
			t.Fatalf("the oracle refuses a built pack: %v", err)
		}
		for i, o := range objs {
			if o.id != want[i] {
				t.Fatalf("object %d: the oracle's id %x, the harness's %x", i, o.id, want[i])
			}
		}
		checkIdxShape(t, pack, idx)
		if !bytes.Equal(idx, refIdx(pack, objs)) {
			t.Fatalf("the engine's idx differs from the oracle's")
		}
	})
}

// idxSeeds are programs for buildPack: whole objects, OFS and REF delta chains, a blob of 0
// bytes, REF_DELTA bases after their deltas.
var idxSeeds = [][]byte{
	{0},
	{0x00, 5, 'h', 'e', 'l', 'l', 'o', 0x01, 0, 2, 0x03, 0, 3, 0x02, 0x20, 'x'},
	{0x04, 3, 'a', 'b', 'c', 0x08, 2, 'd', 'e', 0x0c, 1, 'f', 0x01, 0, 3, 1, 0, 2, 0x02, 1, 2, 0x0a, 'z', 1, 1, 1},
	{0x02, 40, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 0x01, 0, 4, 1, 3, 9, 0x40, 'x', 1, 0, 0, 0x02, 1, 3, 1, 2, 2, 0x10, 'y', 0x01, 2, 1, 0x30},
	bytes.Repeat([]byte{0x00, 9, 'q', 0x01, 0, 1, 0x81, 0x02, 1, 1, 0x07}, 6),
	{0xff, 0x04, 3, 'a', 'b', 'c', 0x01, 0, 2, 1, 0, 2, 0x02, 0x20, 'x', 0x01, 2, 1, 0x30},
	append([]byte{0xff}, bytes.Repeat([]byte{0x00, 9, 'q', 0x01, 0, 1, 0x81, 0x02, 1, 1, 0x07}, 6)...),
}

// buildPack turns prog into a valid version 2 pack and returns it with each object's id.
// Program: one byte per step, step%3 = 0: a whole object (type (step>>2)%4+1, then a length
// byte and that many content bytes); 1: an OFS_DELTA, 2: a REF_DELTA, on object (next byte
// mod the objects so far), of (next byte)%8+1 instructions, each a byte b: odd b copies (offset
// byte, length byte) of the base, even b inserts (b>>1)%32+1 bytes. Missing bytes read as 0; an
// object whose id is already in the pack is left out (git packs never hold one twice). A first
// byte 0xff emits the objects in reverse order, every delta a REF_DELTA before its base.
func buildPack(prog []byte) ([]byte, [][20]byte) {
	next := func() byte {
		if len(prog) == 0 {
			return 0
		}
		c := prog[0]
		prog = prog[1:]
		return c
	}
	type obj struct {
		typ     uint8
		content []byte
		id      [20]byte
		offset  int
		base    int // the index of a delta's base; -1 for a whole object
		delta   []byte
		ofs     bool
	}
	reverse := len(prog) > 0 && prog[0] == 0xff
	if reverse {
		prog = prog[1:]
	}
	var objs []obj
	var body bytes.Buffer
	body.WriteString("PACK\x00\x00\x00\x02\x00\x00\x00\x00")
	seen := map[[20]byte]bool{}
	for len(prog) > 0 && len(objs) < 64 {
		step := next()
		var o obj
		var delta []byte
		base := -1
		if step%3 == 0 || len(objs) == 0 {
			o.typ = (step>>2)%4 + 1
			n := int(next())
			for range n {
				o.content = append(o.content, next())
			}
		} else {
			base = int(next()) % len(objs)
			b := objs[base]
			o.typ = b.typ
			ops := int(next())%8 + 1 // git never writes a delta of under 4 bytes, nor applies one
			for range ops {
				c := next()
				if c&1 == 1 && len(b.content) > 0 {
					off := int(next()) % len(b.content)
					n := int(next())%(len(b.content)-off) + 1
					delta = append(delta, 0x80|0x01|0x02|0x10|0x20, byte(off), byte(off>>8), byte(n), byte(n>>8))
					o.content = append(o.content, b.content[off:off+n]...)
				} else {
					n := int(c>>1)%32 + 1
					ins := make([]byte, n)
					for k := range ins {
						ins[k] = next()
					}
					delta = append(append(delta, byte(n)), ins...)
					o.content = append(o.content, ins...)
				}
			}
			delta = append(append(deltaVarintBytes(uint64(len(b.content))), deltaVarintBytes(uint64(len(o.content)))...), delta...)
		}
		o.id = sha1.Sum(fmt.Appendf(nil, "%s %d\x00%s", typeName(o.typ), len(o.content), o.content))
		if seen[o.id] {
			continue
		}
		seen[o.id] = true
		o.base, o.delta, o.ofs = base, delta, step%3 == 1
		objs = append(objs, o)
	}
	// Emitted in order, or in reverse with every delta a REF_DELTA, whose base then comes
	// after it (git index-pack and the resolver find REF_DELTA bases anywhere in the pack).
	order := make([]int, len(objs))
	for i := range order {
		order[i] = i
		if reverse {
			order[i] = len(objs) - 1 - i
		}
	}
	ids := make([][20]byte, 0, len(objs))
	for _, i := range order {
		o := &objs[i]
		o.offset = body.Len()
		switch {
		case o.base < 0:
			body.Write(encodeObject(o.typ, int64(len(o.content)), 0, o.content))
		case o.ofs && !reverse:
			body.Write(ofsDelta(o.offset-objs[o.base].offset, o.delta))
		default:
			body.Write(refDelta(objs[o.base].id, o.delta))
		}
		ids = append(ids, o.id)
	}
	p := body.Bytes()
	p[11] = byte(len(objs))
	sum := sha1.Sum(p)
	return append(p, sum[:]...), ids
}

// ofsDelta encodes an OFS_DELTA object back bytes after its base (any distance).
func ofsDelta(back int, delta []byte) []byte {
	var b bytes.Buffer
	size := len(delta)
	c := byte(objOfsDelta<<4) | byte(size&0x0f)
	for size >>= 4; size > 0; size >>= 7 {
		b.WriteByte(c | 0x80)
		c = byte(size & 0x7f)
	}
	b.WriteByte(c)
	enc := []byte{byte(back & 0x7f)}
	for back >>= 7; back > 0; back >>= 7 {
		back--
		enc = append([]byte{0x80 | byte(back&0x7f)}, enc...)
	}
	b.Write(enc)
	zw := zlib.NewWriter(&b)
	zw.Write(delta)
	zw.Close()
	return b.Bytes()
}

// The oracle the pack targets compare against agrees with git index-pack byte for byte on
// every seed: real packs of git (OFS_DELTA, REF_DELTA, whole, one blob, empty) and the packs
// of FuzzIdxWrite's seed programs; and the engine agrees with both.
func TestFuzzIdxSeedsMatchGit(t *testing.T) {
	dir := t.TempDir()
	packs := seedPacks(t, dir)
	for i, s := range idxSeeds {
		packs[fmt.Sprintf("program %d", i)], _ = buildPack(s)
	}
	for name, pack := range packs {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seed.pack")
			if err := os.WriteFile(path, pack, 0o644); err != nil {
				t.Fatal(err)
			}
			gitSeed(t, dir, nil, "index-pack", "-o", path[:len(path)-5]+".idx", path)
			gitIdx, err := os.ReadFile(path[:len(path)-5] + ".idx")
			if err != nil {
				t.Fatal(err)
			}
			objs, err := refIndexPack(pack)
			if err != nil {
				t.Fatalf("the oracle refuses a pack git indexes: %v", err)
			}
			if !bytes.Equal(refIdx(pack, objs), gitIdx) {
				t.Fatal("the oracle's idx differs from git index-pack's")
			}
			ours, err := indexWithEngine(t, t.TempDir(), pack, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, gitIdx) {
				t.Fatal("the engine's idx differs from git index-pack's")
			}
		})
	}
}
