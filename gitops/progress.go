package gitops

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Progress phases, in order.
const (
	PhaseConnecting  = "connecting"  // before the first sideband line
	PhaseCounting    = "counting"    // server: "Enumerating objects" / "Counting objects"
	PhaseCompressing = "compressing" // server: "Compressing objects"
	PhaseReceiving   = "receiving"   // pack data arriving ("Total N (delta D)" seen, or bytes growing)
	PhaseResolving   = "resolving"   // the pack is in; resolving its deltas (objects: deltas done/all)
	PhaseCheckout    = "checkout"    // the pack is indexed; checking out the work tree
	PhaseDone        = "done"
)

// phaseRank orders the phases; an unknown phase ranks 0.
var phaseRank = map[string]int{PhaseConnecting: 1, PhaseCounting: 2, PhaseCompressing: 3,
	PhaseReceiving: 4, PhaseResolving: 5, PhaseCheckout: 6, PhaseDone: 7}

// Progress is a snapshot of one clone, as passed to CloneOptions.OnProgress.
//
// ObjectsDone and ObjectsTotal are the a/b of the server's current "Counting objects" or
// "Compressing objects" line ("Enumerating objects: N" gives N/0). On entering the receiving
// phase ObjectsTotal is the number of objects the server counted and ObjectsDone is 0 (go-git
// does not tell how many arrived); once the server's "Total N" line is seen both are N.
// ObjectsTotal is 0 while unknown. BytesReceived is the size in bytes of the files under the
// clone's .git/objects (the pack as it is written, then its index); it never decreases.
type Progress struct {
	Phase         string `json:"phase"`
	ObjectsDone   int64  `json:"objects"`
	ObjectsTotal  int64  `json:"objectsTotal"`
	BytesReceived int64  `json:"bytes"`
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

// tracker turns sideband lines and samples of the clone's size into calls of report: on every
// phase change, at most every progressInterval otherwise, never concurrently (report runs
// under mu, so it must return quickly) and never after stop.
type tracker struct {
	objectsDir string // {dir}/.git/objects
	report     func(Progress)
	now        func() time.Time

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

// newTracker reports PhaseConnecting and starts sampling the size of dir's .git/objects every
// progressInterval until stop.
func newTracker(dir string, report func(Progress)) *tracker {
	t := &tracker{objectsDir: filepath.Join(dir, ".git", "objects"), report: report, now: time.Now,
		quit: make(chan struct{}), finished: make(chan struct{})}
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

// sample measures the clone's objects every progressInterval until stop; growing bytes before
// the receiving phase mean pack data is arriving.
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

// measure updates BytesReceived (never downwards) and reports what is pending.
func (t *tracker) measure() {
	n := dirSize(t.objectsDir)
	t.set(func(p *Progress) {
		if n <= p.BytesReceived {
			return
		}
		p.BytesReceived = n
		if phaseRank[p.Phase] < phaseRank[PhaseReceiving] {
			p.Phase, p.ObjectsDone, p.ObjectsTotal = PhaseReceiving, 0, t.counted
		}
	})
}

// objects reports the pack indexer's counts: objects received of the pack's total
// (PhaseReceiving) or deltas resolved of all (PhaseResolving). Counts of an earlier phase are
// ignored, so the phase only moves forward.
func (t *tracker) objects(ph string, done, total int64) {
	t.set(func(p *Progress) {
		if phaseRank[ph] < phaseRank[p.Phase] {
			return
		}
		p.Phase, p.ObjectsDone, p.ObjectsTotal = ph, done, total
	})
}

// phase moves to a later phase (PhaseCheckout) and reports it.
func (t *tracker) phase(ph string) {
	t.set(func(p *Progress) {
		if phaseRank[ph] > phaseRank[p.Phase] {
			p.Phase = ph
		}
	})
}

// stop ends sampling and waits for it; with success it first reports PhaseDone with the final
// size (ObjectsDone = ObjectsTotal when known). Nothing is reported after stop.
func (t *tracker) stop(success bool) {
	close(t.quit)
	<-t.finished
	var n int64
	if success {
		n = dirSize(t.objectsDir)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if success {
		t.cur.Phase, t.cur.BytesReceived = PhaseDone, max(t.cur.BytesReceived, n)
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
