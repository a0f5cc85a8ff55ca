package gitops

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"testing"
)

// gcPercent reads the collector's GOGC without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// A pack's entry table ends exactly as large as its count when the count is true, whether it
// fits the first allocation or grows past it: no quarter-step growth leaving a table (and the
// garbage of its copies) larger than the pack.
func TestScanSizesTableToCount(t *testing.T) {
	blob := encodeObject(objBlob, 5, 0, []byte("hello"))
	for _, n := range []int{3, initialEntries + 1000} {
		objs := make([][]byte, n)
		for i := range objs {
			objs[i] = blob // the scan does not mind an object sent twice; resolving would
		}
		idx, err := scanPack(bytes.NewReader(packOf(objs...)), DefaultMaxObjectBytes, nil)
		if err != nil {
			t.Fatalf("%d objects: %v", n, err)
		}
		if len(idx.entries) != n || cap(idx.entries) != n {
			t.Errorf("%d objects: table of %d entries, capacity %d", n, len(idx.entries), cap(idx.entries))
		}
	}
}

// A count the sender inflated is believed only up to initialEntries: a 3-object pack that
// claims a billion objects allocates a few MiB, not 64 GiB, and is refused.
func TestScanDoesNotBelieveAHugeCount(t *testing.T) {
	blob := encodeObject(objBlob, 5, 0, []byte("hello"))
	pack := packOf(blob, blob, blob)
	pack = pack[:len(pack)-20] // no trailer: the stream ends after three objects
	copy(pack[8:12], []byte{0x40, 0, 0, 0})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := scanPack(bytes.NewReader(pack), DefaultMaxObjectBytes, nil); err == nil {
		t.Fatal("a pack claiming 1<<30 objects with 3 was accepted")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("the scan allocated %d bytes for a 3-object pack", got)
	}
}

// growEntries doubles (from 1024), goes straight to the count when that is near, and never
// past the count; a count below what is held (it cannot be, the scan stops at the count)
// still makes room for one more.
func TestGrowEntries(t *testing.T) {
	for _, c := range []struct{ held, total, want int }{
		{0, 1 << 30, 1 << 10},
		{1 << 10, 1 << 30, 2 << 10},
		{1 << 17, 150000, 150000},
		{1 << 17, 1 << 30, 1 << 18},
		{100, 150, 150},
		{100, 100, 101},
	} {
		got := cap(growEntries(make([]packEntry, c.held), c.total))
		if got != c.want {
			t.Errorf("growEntries(%d held, count %d): capacity %d, want %d", c.held, c.total, got, c.want)
		}
	}
}

// tightenGC sets GOGC to tightGCPercent while any clone holds it, each loosen counts once, the
// last one restores what the first found, and a GOGC the operator set is left alone.
func TestTightenGC(t *testing.T) {
	t.Setenv("GOGC", "")
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	a := tightenGC()
	b := tightenGC()
	if p := gcPercent(); p != tightGCPercent {
		t.Fatalf("GOGC %d while two clones hold it, want %d", p, tightGCPercent)
	}
	a()
	a() // a second call of the same loosen must not release b's hold
	if p := gcPercent(); p != tightGCPercent {
		t.Fatalf("GOGC %d while one clone holds it, want %d", p, tightGCPercent)
	}
	b()
	if p := gcPercent(); p != 100 {
		t.Fatalf("GOGC %d after both clones, want 100 back", p)
	}

	debug.SetGCPercent(10) // already tighter: left as it is
	c := tightenGC()
	if p := gcPercent(); p != 10 {
		t.Errorf("GOGC %d, want the tighter 10 kept", p)
	}
	c()
	if p := gcPercent(); p != 10 {
		t.Errorf("GOGC %d after loosening, want 10", p)
	}

	debug.SetGCPercent(100)
	t.Setenv("GOGC", "100")
	d := tightenGC()
	if p := gcPercent(); p != 100 {
		t.Errorf("GOGC %d with GOGC set in the environment, want it left at 100", p)
	}
	d()
}
