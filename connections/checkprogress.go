package connections

import (
	"context"
	"sync"
	"time"
)

// CheckPlan is what a token check is about to do, told before its first request: Host is the
// host (and port, when not the scheme's default) it reaches; Timeout bounds each request of the
// check (connect, TLS, headers and body: the driver's own request timeout, e.g. 30 s); Steps
// names the steps it will report, in order (CheckStep.Name values; a failure may add a step not
// planned, such as Azure DevOps' org_membership).
type CheckPlan struct {
	Host    string
	Timeout time.Duration
	Steps   []string
}

// CheckObserver watches a token check as it runs (see WithCheckObserver). Both fields may be
// nil. The driver calls them from its own goroutines (an HTTP transport's connection hooks
// among them), one call at a time, and never after CheckToken returned.
type CheckObserver struct {
	// Start is called once, before the first request.
	Start func(CheckPlan)
	// Step is called for each step as soon as it is known to pass or to fail: a step that
	// passed early (the host reached when the connection is made, before any answer) and
	// that the result then reports failed is told again with OK false. The result of
	// CheckToken stays the whole truth.
	Step func(CheckStep)
}

type checkObserverKey struct{}

// WithCheckObserver returns ctx carrying o: a Provider's CheckToken run under it reports its
// plan and its steps to o as they happen. The result is the same with or without it.
func WithCheckObserver(ctx context.Context, o CheckObserver) context.Context {
	return context.WithValue(ctx, checkObserverKey{}, o)
}

// CheckObserverFrom returns the observer ctx carries, and whether it carries one.
func CheckObserverFrom(ctx context.Context) (CheckObserver, bool) {
	o, ok := ctx.Value(checkObserverKey{}).(CheckObserver)
	return o, ok
}

// CheckReporter is the driver's side of a CheckObserver: it serializes the calls, tells each
// step once (again only when its outcome changes), and stops telling anything once closed. The
// zero of *CheckReporter (nil) is usable and reports nothing.
type CheckReporter struct {
	mu     sync.Mutex
	obs    CheckObserver
	seen   map[string]bool // step → OK as last told
	closed bool
}

// NewCheckReporter returns the reporter of the observer ctx carries, or nil when it carries none.
func NewCheckReporter(ctx context.Context) *CheckReporter {
	o, ok := CheckObserverFrom(ctx)
	if !ok || (o.Start == nil && o.Step == nil) {
		return nil
	}
	return &CheckReporter{obs: o, seen: map[string]bool{}}
}

// Start tells the observer the check's plan.
func (r *CheckReporter) Start(p CheckPlan) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed && r.obs.Start != nil {
		r.obs.Start(p)
	}
}

// Step tells the observer s, unless a step of that name was told with the same outcome.
func (r *CheckReporter) Step(s CheckStep) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok, told := r.seen[s.Name]; r.closed || (told && ok == s.OK) {
		return
	}
	r.seen[s.Name] = s.OK
	if r.obs.Step != nil {
		r.obs.Step(s)
	}
}

// Close ends the reports: later calls (a connection hook firing after the check returned)
// tell nothing.
func (r *CheckReporter) Close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}
