package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/repoconnect/repoconnect/gitops"
)

// cloneProgress shows a clone's progress on w: on a terminal, a progress bar per phase
// (schollz/progressbar) with objects counted and bytes received; elsewhere (a log, CI), whole
// lines only, each written at once and ending in a newline (never a carriage-return update):
// "cloning URL into DIR" at the start, one line per phase once it is over, and a line ending
// in "…" every lineEvery while a long phase runs, so a log shows the clone is alive.
type cloneProgress struct {
	w         io.Writer
	tty       bool
	mu        sync.Mutex
	phase     string
	last      gitops.Progress
	bar       *progressbar.ProgressBar
	lineEvery time.Duration    // non-terminal: the interval of the lines of a running phase
	now       func() time.Time // the clock (tests)
	lineAt    time.Time        // when the current phase began or last printed a line
}

// progressLineEvery is how often a running phase prints a line when w is not a terminal.
const progressLineEvery = 10 * time.Second

func newCloneProgress(w io.Writer) *cloneProgress {
	p := &cloneProgress{w: w, lineEvery: progressLineEvery, now: time.Now}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

// report is the gitops.CloneOptions.OnProgress callback.
func (p *cloneProgress) report(pr gitops.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Phase != p.phase {
		p.endPhase()
		p.phase = pr.Phase
		p.lineAt = p.now()
		if p.tty && pr.Phase != gitops.PhaseDone {
			p.bar = progressbar.NewOptions64(max(pr.ObjectsTotal, -1), progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(fmt.Sprintf("%-11s", pr.Phase)), progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(0))
		}
	}
	p.last = pr
	if !p.tty && pr.Phase != gitops.PhaseDone && p.now().Sub(p.lineAt) >= p.lineEvery {
		p.lineAt = p.now()
		fmt.Fprintf(p.w, "%-11s%s …\n", p.phase, p.counts())
	}
	if p.bar != nil {
		if pr.ObjectsTotal > 0 {
			p.bar.ChangeMax64(pr.ObjectsTotal)
		}
		_ = p.bar.Set64(pr.ObjectsDone)
		p.bar.Describe(fmt.Sprintf("%-11s %s", pr.Phase, mib(pr.BytesReceived)))
	}
}

// endPhase closes the current phase's bar, or prints its line.
func (p *cloneProgress) endPhase() {
	if p.phase == "" {
		return
	}
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	fmt.Fprintf(p.w, "%-11s%s\n", p.phase, p.counts())
}

// counts is " 12/40 objects, 1.2 MiB" for the last report: what is counted follows the phase
// (gitops.CountUnit: objects, deltas while resolving, files while checking out), when known.
func (p *cloneProgress) counts() string {
	counts := ""
	if p.last.ObjectsTotal > 0 {
		counts = fmt.Sprintf(" %d/%d %s,", p.last.ObjectsDone, p.last.ObjectsTotal, gitops.CountUnit(p.last.Phase))
	}
	return counts + " " + mib(p.last.BytesReceived)
}

// start prints the first line: what is cloned where.
func (p *cloneProgress) start(url, dir string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "cloning %s into %s\n", url, dir)
}

// done ends the last phase.
func (p *cloneProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.phase != gitops.PhaseDone {
		p.endPhase()
	}
	p.phase = ""
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// parseSize reads a size such as "500MiB", "2GiB", "750MB" or a number of bytes; "" is 0.
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	units := []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if len(s) > len(u.suffix) && s[len(s)-len(u.suffix):] == u.suffix {
			s, mult = s[:len(s)-len(u.suffix)], u.n
			break
		}
	}
	var v int64
	if _, err := fmt.Sscan(s, &v); err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a size: a positive number with B, KiB, MiB, GiB, KB, MB or GB", s)
	}
	return v * mult, nil
}
