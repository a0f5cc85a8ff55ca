package gitops

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zlib"
)

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(bytes.TrimSpace(out))
}

// The indexer reproduces git's own index of a pack byte for byte (ids, offsets, CRCs, order),
// also when every worker must drop and rebuild the bases of long delta chains (a one-byte
// budget forces the rebuild path on every step).
func TestIndexMatchesGitIndexPack(t *testing.T) {
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "main")
	var text bytes.Buffer
	for i := range 3000 {
		fmt.Fprintf(&text, "line %d of a file that changes a little in every commit\n", i)
	}
	content := text.Bytes()
	for c := range 30 {
		content = bytes.Replace(content, []byte(fmt.Sprintf("line %d ", c*53)), []byte(fmt.Sprintf("edit %d ", c)), 1)
		if err := os.WriteFile(filepath.Join(dir, "f.txt"), content, 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, dir, "add", "-A")
		run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", fmt.Sprint(c))
	}
	run(t, dir, "repack", "-adq", "--depth=50")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("packs: %v", packs)
	}
	// The same objects as REF_DELTA only, as Azure DevOps sends them (no ofs-delta): git
	// pack-objects without --delta-base-offset, indexed by git index-pack.
	refPack := filepath.Join(t.TempDir(), "ref.pack")
	objects := run(t, dir, "rev-list", "--objects", "--all")
	cmd := exec.Command("git", "-C", dir, "pack-objects", "-q", "--stdout", "--depth=50", "--no-reuse-delta")
	cmd.Stdin = bytes.NewBufferString(objects + "\n")
	refData, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(refPack, refData, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "index-pack", "-o", refPack[:len(refPack)-len(".pack")]+".idx", refPack)
	for _, c := range []struct {
		kind string
		pack string
		typ  uint8
	}{{"ofs", packs[0], objOfsDelta}, {"ref", refPack, objRefDelta}} {
		data, err := os.ReadFile(c.pack)
		if err != nil {
			t.Fatal(err)
		}
		gitIdx, err := os.ReadFile(c.pack[:len(c.pack)-len(".pack")] + ".idx")
		if err != nil {
			t.Fatal(err)
		}
		for _, budget := range []int64{32 << 20, 1} {
			t.Run(fmt.Sprintf("%s deltas, budget %d", c.kind, budget), func(t *testing.T) {
				defer func(b int64) { workerBudget = b }(workerBudget)
				workerBudget = budget
				idx, err := scanPack(bytes.NewReader(data), DefaultMaxObjectBytes, nil)
				if err != nil {
					t.Fatal(err)
				}
				kind := 0
				for _, e := range idx.entries {
					if e.disk == c.typ {
						kind++
					}
				}
				if idx.deltas < 20 || kind != idx.deltas {
					t.Fatalf("%d deltas, %d of them %s: the test needs delta chains of one kind", idx.deltas, kind, c.kind)
				}
				f, err := os.Open(c.pack)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if err := packCRCs(f, idx); err != nil {
					t.Fatal(err)
				}
				if _, err := resolveDeltas(context.Background(), f, idx, nil, nil); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), "ours.idx")
				if _, err := writeIdx(out, idx); err != nil {
					t.Fatal(err)
				}
				ours, _ := os.ReadFile(out)
				if !bytes.Equal(ours, gitIdx) {
					t.Fatalf("our index (%d bytes) differs from git's (%d bytes)", len(ours), len(gitIdx))
				}
			})
		}
	}
}

// A damaged pack is refused: a flipped byte in the middle breaks an object or the checksum.
func TestScanRefusesDamagedPacks(t *testing.T) {
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), bytes.Repeat([]byte("data\n"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "add", "-A")
	run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "one")
	run(t, dir, "repack", "-adq")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.pack"))
	data, _ := os.ReadFile(packs[0])
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"truncated", data[:len(data)-30]},
		{"not a pack", append([]byte("KCAP"), data[4:]...)},
		{"trailing garbage", append(append([]byte(nil), data...), 'x')},
	} {
		if _, err := scanPack(bytes.NewReader(c.data), DefaultMaxObjectBytes, nil); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// packOf assembles a version 2 pack of already encoded objects.
func packOf(objs ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("PACK\x00\x00\x00\x02")
	b.Write([]byte{byte(len(objs) >> 24), byte(len(objs) >> 16), byte(len(objs) >> 8), byte(len(objs))})
	for _, o := range objs {
		b.Write(o)
	}
	sum := sha1.Sum(b.Bytes())
	return append(b.Bytes(), sum[:]...)
}

// encodeObject is one pack object: the header (type, inflated size), an OFS_DELTA's base
// distance (one byte, < 128), the zlib data.
func encodeObject(typ uint8, size int64, back int, data []byte) []byte {
	var b bytes.Buffer
	c := typ<<4 | byte(size&0x0f) // the pack entry header: type and size, base-128
	for size >>= 4; size > 0; size >>= 7 {
		b.WriteByte(c | 0x80)
		c = byte(size & 0x7f)
	}
	b.WriteByte(c)
	if typ == objOfsDelta {
		b.WriteByte(byte(back))
	}
	zw := zlib.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}

// deltaVarintBytes encodes a delta header number.
func deltaVarintBytes(v uint64) []byte {
	var out []byte
	for ; v >= 0x80; v >>= 7 {
		out = append(out, byte(v)|0x80)
	}
	return append(out, byte(v))
}

// A pack that announces objects larger than the limit, whole or as a delta's result, is
// refused with errObjectTooLarge before anything of that size is allocated (a 60-byte pack
// must not take the process down).
func TestPackObjectSizeLimit(t *testing.T) {
	base := encodeObject(objBlob, 5, 0, []byte("hello"))
	for _, size := range []uint64{1 << 63, 1 << 50, 1 << 40, 2 << 20} {
		delta := append(append(deltaVarintBytes(5), deltaVarintBytes(size)...), 0x91, 0x00, 0x05) // copy 5 bytes at 0
		pack := packOf(base, encodeObject(objOfsDelta, int64(len(delta)), len(base), delta))
		w, err := newPackWriter(packConfig{ctx: context.Background(), dir: t.TempDir(), maxObject: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(pack); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); !errors.Is(err, errObjectTooLarge) {
			t.Errorf("a delta claiming %d bytes: %v", size, err)
		}
		w.release()
	}
	// A whole object's header past the limit stops the first pass.
	big := encodeObject(objBlob, 2<<20, 0, make([]byte, 2<<20))
	if _, err := scanPack(bytes.NewReader(packOf(big)), 1<<20, nil); !errors.Is(err, errObjectTooLarge) {
		t.Errorf("a 2 MiB blob with a 1 MiB limit: %v", err)
	}
	if _, err := scanPack(bytes.NewReader(packOf(big)), 4<<20, nil); err != nil {
		t.Errorf("a 2 MiB blob with a 4 MiB limit: %v", err)
	}
}

// A REF_DELTA whose base is not in the pack (a thin pack) is refused, not left unresolved.
func TestThinPackRefused(t *testing.T) {
	delta := append(append(deltaVarintBytes(5), deltaVarintBytes(5)...), 0x91, 0x00, 0x05)
	var ref bytes.Buffer
	ref.WriteByte(objRefDelta<<4 | byte(len(delta)))
	ref.Write(bytes.Repeat([]byte{0xab}, 20)) // no object of the pack has this id
	zw := zlib.NewWriter(&ref)
	zw.Write(delta)
	zw.Close()
	w, err := newPackWriter(packConfig{ctx: context.Background(), dir: t.TempDir(), maxObject: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer w.release()
	if _, err := w.Write(packOf(encodeObject(objBlob, 5, 0, []byte("hello")), ref.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil || !bytes.Contains([]byte(err.Error()), []byte("not in the pack")) {
		t.Fatalf("a thin pack: %v", err)
	}
}

// refDelta encodes a REF_DELTA object on base id.
func refDelta(base [20]byte, delta []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(objRefDelta<<4 | byte(len(delta)&0x0f))
	for n := len(delta) >> 4; n > 0; n >>= 7 { // never more than one more byte here
		b.Bytes()[b.Len()-1] |= 0x80
		b.WriteByte(byte(n & 0x7f))
	}
	b.Write(base[:])
	zw := zlib.NewWriter(&b)
	zw.Write(delta)
	zw.Close()
	return b.Bytes()
}

// Packs git index-pack refuses ("already resolved") are refused here too, at once and without
// a race: an object twice with a delta on its id, and a delta that rebuilds its own base
// (which would otherwise be its own child, without end).
func TestDuplicateBasesRefused(t *testing.T) {
	hello := encodeObject(objBlob, 5, 0, []byte("hello"))
	x := sha1.Sum([]byte("blob 5\x00hello"))
	world := append(append(deltaVarintBytes(5), deltaVarintBytes(11)...), 0x91, 0, 5, 6, ' ', 'w', 'o', 'r', 'l', 'd')
	same := append(append(deltaVarintBytes(5), deltaVarintBytes(5)...), 0x91, 0, 5)
	var dup [][]byte
	for range 50 {
		dup = append(dup, hello)
	}
	for name, pack := range map[string][]byte{
		"object twice":              packOf(append(dup, refDelta(x, world))...),
		"delta rebuilding its base": packOf(hello, refDelta(x, same)),
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			w, err := newPackWriter(packConfig{ctx: ctx, dir: t.TempDir(), maxObject: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer w.release()
			if _, err := w.Write(pack); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err == nil || !strings.Contains(err.Error(), "twice") {
				t.Fatalf("Close: %v", err)
			}
		})
	}
}
