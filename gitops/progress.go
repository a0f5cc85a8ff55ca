package gitops

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Progress phases, in order.
const (
	PhaseConnecting  = "connecting"  // before the first sideband line or pack byte
	PhaseCounting    = "counting"    // server: "Enumerating objects" / "Counting objects"
	PhaseCompressing = "compressing" // server: "Compressing objects"
	PhaseReceiving   = "receiving"   // pack data arriving (objects: objects received of the pack's)
	PhaseResolving   = "resolving"   // the pack is in; resolving its deltas (objects: deltas done/all)
	PhaseCheckout    = "checkout"    // writing the work tree (objects: files written/all of the tree)
	PhaseDone        = "done"
)

// phaseRank orders the phases; an unknown phase ranks 0.
var phaseRank = map[string]int{PhaseConnecting: 1, PhaseCounting: 2, PhaseCompressing: 3,
	PhaseReceiving: 4, PhaseResolving: 5, PhaseCheckout: 6, PhaseDone: 7}

// Progress is a snapshot of one clone, as passed to CloneOptions.OnProgress.
//
// Phase only moves forward (the constants above, in order); a phase may be skipped (a clone
// served from the repository cache has no counting, receiving or resolving when nothing is
// fetched). ObjectsDone of ObjectsTotal count a different thing in each phase; ObjectsTotal is
// 0 while unknown (and, in resolving, when the pack has no deltas), and ObjectsDone never
// exceeds it when it is known. Within a phase ObjectsDone never goes down. On entering a phase
// both restart from that phase's own counts: a checkout never shows the resolving phase's.
//
//   - connecting: both 0.
//   - counting, compressing: the a/b of the server's "Counting objects" or "Compressing
//     objects" line ("Enumerating objects: N" gives N of 0).
//   - receiving: objects received of the objects in the pack. The engine reads the pack as it
//     arrives, so ObjectsDone is the objects parsed so far (published at least every
//     progressInterval while bytes arrive, never stuck at 0 while BytesReceived grows once an
//     object is in) and ObjectsTotal the pack header's count (before the header, the number
//     the server counted). A server's "Total N" line, sent as its last pack bytes go, gives
//     N of N.
//   - resolving: deltas resolved of the pack's deltas (OFS_DELTA and REF_DELTA objects); 0 of
//     0 for a pack without deltas.
//   - checkout: files written of the files of the tree checked out (regular files and symbolic
//     links; not directories, not submodules). A reused workspace updated in place counts the
//     files it keeps as done from the start. ObjectsTotal is 0 until the tree has been read
//     (the go-git fallback, used when the pack is not at hand, reports no counts).
//   - done: the checkout's files, all of them written (0 of 0 when the clone counted no
//     checkout: an empty repository, the go-git fallback).
//
// CountUnit names the unit of each phase's counts, for pages and logs.
//
// BytesReceived is the number of bytes of pack data this clone has received from the server
// (every pack it fetched, as written to disk; the sideband's progress text is not counted). It
// never decreases, and it stays 0 when the clone fetched nothing (a reused workspace or a
// cache that had every object).
type Progress struct {
	Phase         string `json:"phase"`
	ObjectsDone   int64  `json:"objects"`
	ObjectsTotal  int64  `json:"objectsTotal"`
	BytesReceived int64  `json:"bytes"`
}

// CountUnit is what Progress.ObjectsDone and ObjectsTotal count in phase, as a plural noun:
// "objects" (counting, compressing, receiving), "deltas" (resolving), "files" (checkout,
// done), "" in any other phase (connecting, a queued job's "") where nothing is counted.
func CountUnit(phase string) string {
	switch phase {
	case PhaseCounting, PhaseCompressing, PhaseReceiving:
		return "objects"
	case PhaseResolving:
		return "deltas"
	case PhaseCheckout, PhaseDone:
		return "files"
	}
	return ""
}

// progressInterval is the least time between two reports of the same phase.
const progressInterval = 200 * time.Millisecond

// progressLine is what one line of git's progress text says.
type progressLine struct {
	phase       string
	done, total int64
}

var (
	// "Counting objects:  50% (5/10)", "Compressing objects: 100% (3/3), done.",
	// "Enumerating objects: 12, done.", "Counting objects: 12, done." (older servers).
	objectsLine = regexp.MustCompile(`^(Enumerating|Counting|Compressing) objects:\s*(?:\d+%\s*\((\d+)/(\d+)\)|(\d+))`)
	// "Total 12 (delta 2), reused 0 (delta 0), pack-reused 0"
	totalLine = regexp.MustCompile(`^Total (\d+)`)
)

// parseProgressLine reads one line of git's sideband progress, with or without the
// "remote: " prefix the git CLI adds; ok is false for any other text.
func parseProgressLine(s string) (l progressLine, ok bool) {
	s = strings.TrimSpace(s)
	for strings.HasPrefix(s, "remote:") {
		s = strings.TrimSpace(strings.TrimPrefix(s, "remote:"))
	}
	if m := totalLine.FindStringSubmatch(s); m != nil {
		n := atoi(m[1])
		return progressLine{phase: PhaseReceiving, done: n, total: n}, true
	}
	m := objectsLine.FindStringSubmatch(s)
	if m == nil {
		return progressLine{}, false
	}
	l.phase = PhaseCounting
	if m[1] == "Compressing" {
		l.phase = PhaseCompressing
	}
	if m[4] != "" {
		l.done = atoi(m[4])
	} else {
		l.done, l.total = atoi(m[2]), atoi(m[3])
	}
	return l, true
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// maxLine bounds an unterminated progress line; longer text is not progress and is dropped.
const maxLine = 1024

// lineWriter is an io.Writer that splits git's progress text into lines at \r or \n, however
// the text is chunked, and hands each non-empty line to fn.
type lineWriter struct {
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			if len(w.buf)+len(p) <= maxLine {
				w.buf = append(w.buf, p...)
			} else {
				w.buf = w.buf[:0]
			}
			break
		}
		w.buf = append(w.buf, p[:i]...)
		if len(w.buf) > 0 && len(w.buf) <= maxLine {
			w.fn(string(w.buf))
		}
		w.buf, p = w.buf[:0], p[i+1:]
	}
	return n, nil
}

// tracker turns sideband lines, the pack writers' counts and its own samples into calls of
// report: on every phase change and at the end of a phase's count, at most every
// progressInterval otherwise, never concurrently (report runs under mu, so it must return
// quickly) and never after stop.
type tracker struct {
	report func(Progress)
	now    func() time.Time

	// Set by the pack writers without mu, read by the sampler.
	wire      atomic.Int64 // bytes of pack data written by this clone's pack writers
	recv      atomic.Int64 // objects of the current pack parsed so far
	recvTotal atomic.Int64 // objects in the current pack (its header)

	mu       sync.Mutex
	cur      Progress
	sent     Progress  // what report last got
	sentAt   time.Time // when
	counted  int64     // objects the server counted, for the receiving phase
	stopped  bool
	lines    lineWriter
	quit     chan struct{}
	finished chan struct{}
}

// newTracker reports PhaseConnecting and starts sampling the pack bytes received every
// progressInterval until stop.
func newTracker(report func(Progress)) *tracker {
	t := &tracker{report: report, now: time.Now, quit: make(chan struct{}), finished: make(chan struct{})}
	t.lines.fn = t.line
	t.set(func(p *Progress) { p.Phase = PhaseConnecting })
	go t.sample()
	return t
}

// Write takes sideband progress text (go-git's CloneOptions.Progress).
func (t *tracker) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lines.Write(p) // lines calls t.line with mu held
}

// line applies one progress line; mu is held. Lines of an earlier phase are ignored, so the
// phase only moves forward.
func (t *tracker) line(s string) {
	l, ok := parseProgressLine(s)
	if !ok || phaseRank[l.phase] < phaseRank[t.cur.Phase] {
		return
	}
	if l.phase == PhaseCounting {
		t.counted = max(l.done, l.total)
	}
	t.cur.Phase, t.cur.ObjectsDone, t.cur.ObjectsTotal = l.phase, l.done, l.total
	t.emit(false)
}

// set changes the current progress with fn and reports it.
func (t *tracker) set(fn func(*Progress)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(&t.cur)
	t.emit(false)
}

// emit reports cur when the phase changed, when force is set, or when it changed and the
// last report is progressInterval old; mu is held.
func (t *tracker) emit(force bool) {
	if t.stopped || t.report == nil || t.cur == t.sent {
		return
	}
	now := t.now()
	if force || t.cur.Phase != t.sent.Phase || now.Sub(t.sentAt) >= progressInterval {
		t.sent, t.sentAt = t.cur, now
		t.report(t.cur)
	}
}

// sample publishes the pack bytes and objects received every progressInterval until stop,
// and any change still held back by the throttle.
func (t *tracker) sample() {
	defer close(t.finished)
	tick := time.NewTicker(progressInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.quit:
			return
		case <-tick.C:
			t.measure()
		}
	}
}

// measure updates BytesReceived from the pack writers (it never goes down) and, while pack
// data arrives, the objects received: pack bytes before the receiving phase move the clone
// into it. Then it reports what is pending.
func (t *tracker) measure() {
	n, recv, total := t.wire.Load(), t.recv.Load(), t.recvTotal.Load()
	t.set(func(p *Progress) {
		grew := n > p.BytesReceived
		p.BytesReceived = max(p.BytesReceived, n)
		switch {
		case grew && phaseRank[p.Phase] < phaseRank[PhaseReceiving]:
			p.Phase, p.ObjectsDone, p.ObjectsTotal = PhaseReceiving, recv, t.counted
			if total > 0 {
				p.ObjectsTotal = total
			}
		case p.Phase == PhaseReceiving && recv > p.ObjectsDone && (total == 0 || total == p.ObjectsTotal):
			p.ObjectsDone = recv
		}
	})
}

// packBytes counts n bytes of pack data written (the pack writers call it on every write).
func (t *tracker) packBytes(n int) {
	if t != nil {
		t.wire.Add(int64(n))
	}
}

// received takes the pack scanner's count: done objects of the pack's total parsed. It is
// called for every object, so it only stores the count; the first object, every 256th and
// the last are reported at once (the others by the sampler).
func (t *tracker) received(done, total int64) {
	if t == nil {
		return
	}
	t.recvTotal.Store(total)
	t.recv.Store(done)
	if done == 1 || done%256 == 0 || done == total {
		t.objects(PhaseReceiving, done, total)
	}
}

// objects reports a phase's counts: objects received of the pack's total (PhaseReceiving),
// deltas resolved of all (PhaseResolving) or files written of all (PhaseCheckout). Counts of
// an earlier phase are ignored, so the phase only moves forward; within a phase and the same
// total, done never goes down. The end of a count (done = total) is reported at once.
func (t *tracker) objects(ph string, done, total int64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &t.cur
	if phaseRank[ph] < phaseRank[p.Phase] {
		return
	}
	if ph == p.Phase && total == p.ObjectsTotal {
		done = max(done, p.ObjectsDone)
	}
	p.Phase, p.ObjectsDone, p.ObjectsTotal = ph, done, total
	p.BytesReceived = max(p.BytesReceived, t.wire.Load())
	t.emit(total > 0 && done == total)
}

// phase moves to a later phase (PhaseCheckout) and reports it, with the counts of the
// earlier phase cleared (0 of 0: unknown until the new phase counts).
func (t *tracker) phase(ph string) {
	t.set(func(p *Progress) {
		if phaseRank[ph] > phaseRank[p.Phase] {
			p.Phase, p.ObjectsDone, p.ObjectsTotal = ph, 0, 0
		}
	})
}

// fileCount counts the files a checkout writes, for the tracker: done of total, reported at
// the start, every 256 files and at the last (the tracker throttles further). Safe for
// concurrent use; a nil *fileCount or one without a tracker counts nothing.
type fileCount struct {
	tr    *tracker
	total int64
	done  atomic.Int64
}

// files starts the checkout's count: start files of total are in place already (a reused
// workspace's kept files; 0 for a new directory). t may be nil.
func (t *tracker) files(start, total int64) *fileCount {
	c := &fileCount{tr: t, total: total}
	c.done.Store(start)
	t.objects(PhaseCheckout, start, total)
	return c
}

// add counts n files written.
func (c *fileCount) add(n int64) {
	if c == nil || c.tr == nil || n <= 0 {
		return
	}
	d := c.done.Add(n)
	if d/256 != (d-n)/256 || d == c.total {
		c.tr.objects(PhaseCheckout, d, c.total)
	}
}

// stop ends sampling and waits for it; with success it first reports PhaseDone with the final
// byte count and the checkout's files, all done (0 of 0 without a counted checkout). Nothing
// is reported after stop.
func (t *tracker) stop(success bool) {
	close(t.quit)
	<-t.finished
	t.mu.Lock()
	defer t.mu.Unlock()
	if success {
		if t.cur.Phase != PhaseCheckout { // no counted checkout: no files to show
			t.cur.ObjectsDone, t.cur.ObjectsTotal = 0, 0
		}
		t.cur.Phase, t.cur.BytesReceived = PhaseDone, max(t.cur.BytesReceived, t.wire.Load())
		if t.cur.ObjectsTotal > 0 {
			t.cur.ObjectsDone = t.cur.ObjectsTotal
		}
		t.emit(true)
	}
	t.stopped = true
}

// dirSize sums the sizes of the regular files below dir; files that vanish while it walks
// (a temporary pack being renamed) are skipped.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			n += fi.Size()
		}
		return nil
	})
	return n
}
