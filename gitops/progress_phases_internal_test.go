package gitops

import (
	"testing"
	"time"
)

// TestTrackerReceivingCountsObjects drives the tracker as a slow pack arrives: bytes before
// any sideband line move it to receiving with the objects parsed so far (never 0 of N once
// an object is in), the sampler publishes the count between the 256-object steps, entering
// checkout clears the resolving counts, and the end of each count is reported at once.
func TestTrackerReceivingCountsObjects(t *testing.T) {
	now := time.Unix(1000, 0)
	var got []Progress
	tr := &tracker{report: func(p Progress) { got = append(got, p) }, now: func() time.Time { return now }}
	tr.lines.fn = tr.line
	_, _ = tr.Write([]byte("Counting objects: 100% (500/500), done.\n"))
	tr.packBytes(12 << 10)
	tr.received(1, 500) // reported at once: the first object
	for i := int64(2); i <= 40; i++ {
		tr.received(i, 500) // held: not a 256 step
	}
	tr.packBytes(4 << 20)
	now = now.Add(progressInterval)
	tr.measure() // the sampler: bytes and the 40 objects
	want := []Progress{
		{Phase: PhaseCounting, ObjectsDone: 500, ObjectsTotal: 500},
		{Phase: PhaseReceiving, ObjectsDone: 1, ObjectsTotal: 500, BytesReceived: 12 << 10},
		{Phase: PhaseReceiving, ObjectsDone: 40, ObjectsTotal: 500, BytesReceived: 12<<10 + 4<<20},
	}
	if len(got) != len(want) {
		t.Fatalf("reports %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("report %d: %+v\nwant %+v", i, got[i], want[i])
		}
	}
	tr.received(500, 500) // the last object: at once, though soon after the last report
	if p := got[len(got)-1]; p.Phase != PhaseReceiving || p.ObjectsDone != 500 {
		t.Fatalf("last object: %+v", got)
	}
	tr.objects(PhaseResolving, 0, 300)
	tr.objects(PhaseResolving, 300, 300) // at once: the end of the count
	if p := got[len(got)-1]; p.Phase != PhaseResolving || p.ObjectsDone != 300 || p.ObjectsTotal != 300 {
		t.Fatalf("resolved: %+v", got)
	}
	tr.received(499, 500) // a late count of an earlier phase: ignored
	tr.phase(PhaseCheckout)
	if p := got[len(got)-1]; p.Phase != PhaseCheckout || p.ObjectsDone != 0 || p.ObjectsTotal != 0 {
		t.Fatalf("entering checkout: %+v, want 0 of 0 (not the deltas)", p)
	}
	c := tr.files(0, 1000)
	for range 1000 {
		c.add(1)
	}
	if p := got[len(got)-1]; p.Phase != PhaseCheckout || p.ObjectsDone != 1000 || p.ObjectsTotal != 1000 {
		t.Fatalf("checked out: %+v", got)
	}
}

// TestTrackerNoPackBytesBeforeObjects: bytes of a pack whose first object has not been parsed
// yet (a large first blob) move the clone to receiving with 0 objects of the server's count;
// the count then moves as objects are parsed.
func TestTrackerNoPackBytesBeforeObjects(t *testing.T) {
	now := time.Unix(1000, 0)
	var got []Progress
	tr := &tracker{report: func(p Progress) { got = append(got, p) }, now: func() time.Time { return now }}
	tr.lines.fn = tr.line
	_, _ = tr.Write([]byte("Enumerating objects: 7737, done.\n"))
	tr.packBytes(26 << 20)
	tr.measure()
	if p := got[len(got)-1]; p != (Progress{Phase: PhaseReceiving, ObjectsDone: 0, ObjectsTotal: 7737, BytesReceived: 26 << 20}) {
		t.Fatalf("%+v", got)
	}
	for i := int64(1); i <= 3000; i++ {
		tr.received(i, 7737)
	}
	now = now.Add(progressInterval)
	tr.measure()
	if p := got[len(got)-1]; p.ObjectsDone != 3000 || p.ObjectsTotal != 7737 {
		t.Fatalf("after 3000 objects: %+v", got)
	}
}

// TestCountUnit: each phase's counts have their unit.
func TestCountUnit(t *testing.T) {
	for ph, want := range map[string]string{"": "", PhaseConnecting: "", PhaseCounting: "objects", PhaseCompressing: "objects",
		PhaseReceiving: "objects", PhaseResolving: "deltas", PhaseCheckout: "files", PhaseDone: "files"} {
		if got := CountUnit(ph); got != want {
			t.Errorf("CountUnit(%q) = %q, want %q", ph, got, want)
		}
	}
}

// TestTrackerDoneWithoutCheckout: a clone that ends without a counted checkout reports done
// with 0 of 0 files, not the last pack's objects.
func TestTrackerDoneWithoutCheckout(t *testing.T) {
	var got []Progress
	tr := &tracker{report: func(p Progress) { got = append(got, p) }, now: time.Now, quit: make(chan struct{}), finished: make(chan struct{})}
	close(tr.finished) // no sampler
	tr.packBytes(100)
	tr.received(3, 3)
	tr.stop(true)
	if p := got[len(got)-1]; p != (Progress{Phase: PhaseDone, BytesReceived: 100}) {
		t.Fatalf("done: %+v", got)
	}
}
