// Package browsertest drives Debian's Chromium (headless, through the DevTools protocol with
// chromedp) for the web UI's browser tests: one fresh browser per test with an empty profile
// and background networking off, so it talks to loopback only; numbered PNG screenshots in the
// test's artifact directory (go test -artifacts keeps them); and every console error, uncaught
// exception and failed resource load collected, for a test to assert there were none.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Timeout bounds one Run (a step of a test): a page that never shows what is awaited fails
// the test after it instead of hanging.
const Timeout = 30 * time.Second

// Browser is one headless Chromium with one tab.
type Browser struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	shots  int
	mu     sync.Mutex
	errors []string
}

// ExecPath finds the browser: $CHROMIUM, else chromium or chromium-browser on PATH. It is ""
// when there is none.
func ExecPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// New starts Chromium for t (1280×900 window) and closes it when t ends. A missing browser
// fails the test with the package to install (CI installs Debian's chromium), unless
// RC_SKIP_BROWSER=1 says to skip browser tests on this machine.
func New(t *testing.T) *Browser {
	t.Helper()
	path := ExecPath()
	if path == "" {
		if os.Getenv("RC_SKIP_BROWSER") == "1" {
			t.Skip("RC_SKIP_BROWSER=1 and no Chromium installed")
		}
		t.Fatal("the browser tests need Chromium: apt-get install chromium (or set CHROMIUM=/path, or RC_SKIP_BROWSER=1 to skip them)")
	}
	// The profile is removed after Chromium exits; its helper processes may still be writing
	// for a moment, so removal is retried until a deadline instead of t.TempDir's one try.
	profile, err := os.MkdirTemp("", "rc-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{t: t, ctx: ctx, dir: t.ArtifactDir()}
	chromedp.ListenTarget(ctx, b.listen)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for deadline := time.Now().Add(10 * time.Second); ; <-tick.C {
			if err := os.RemoveAll(profile); err == nil || time.Now().After(deadline) {
				return
			}
		}
	})
	if err := chromedp.Run(ctx, cdplog.Enable(), runtime.Enable()); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	return b
}

// listen keeps what the page reports as going wrong.
func (b *Browser) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.APITypeError && e.Type != runtime.APITypeAssert {
			return
		}
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
		}
		msg = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
	case *cdplog.EventEntryAdded:
		if e.Entry.Level != cdplog.LevelError {
			return
		}
		msg = "log: " + e.Entry.Text + " " + e.Entry.URL
	default:
		return
	}
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

// Listen adds fn to the listeners of the tab's DevTools events (a test that pauses requests
// with the Fetch domain hears *fetch.EventRequestPaused here). fn runs on chromedp's event
// loop: it must not block, and runs DevTools commands in a goroutine with Context.
func (b *Browser) Listen(fn func(ev any)) { chromedp.ListenTarget(b.ctx, fn) }

// Context is the tab's context, for DevTools commands sent outside Run (from a listener).
func (b *Browser) Context() context.Context { return b.ctx }

// ConsoleErrors returns what the pages reported as errors so far and forgets them.
func (b *Browser) ConsoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.errors
	b.errors = nil
	return out
}

// Run runs actions within Timeout; on failure it saves a screenshot named "failed" and fails
// the test with what step was being done.
func (b *Browser) Run(step string, actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.Shot("failed-" + step)
		b.t.Fatalf("%s: %v (console: %q)", step, err, b.ConsoleErrors())
	}
}

// Shot saves a full-page PNG screenshot as NN-name.png in the test's artifact directory and
// returns its path.
func (b *Browser) Shot(name string) string {
	b.t.Helper()
	b.shots++
	var png []byte
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	// Chromium reports a 0-wide layout for a moment while a page is being replaced (after a
	// form's redirect, say), and a full-page screenshot then fails with "Cannot take
	// screenshot with 0 width": wait for a laid-out, loaded document, and try again while that
	// transient error persists, until the step's deadline.
	err := chromedp.Run(ctx, WaitJS(`document.readyState === 'complete' && document.documentElement.scrollWidth > 0`))
	for err == nil {
		err = chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100))
		if err == nil || !strings.Contains(err.Error(), "0 width") {
			break
		}
		select {
		case <-ctx.Done():
			err = fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
			err = nil
		}
	}
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("save screenshot: %v", err)
	}
	return path
}

// Viewport sets the page's size in CSS pixels (mobile true emulates a touch phone).
func Viewport(width, height int64, mobile bool) chromedp.Action {
	return emulation.SetDeviceMetricsOverride(width, height, 1, mobile)
}

// WaitText waits until the text content of the first element matching sel contains want.
func WaitText(sel, want string) chromedp.Action {
	return WaitJS(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want))
}

// WaitJS evaluates the boolean expression js every 50 ms until it is true or the step's
// deadline passes.
func WaitJS(js string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			var ok bool
			if err := chromedp.Evaluate(js, &ok).Do(ctx); err != nil {
				return fmt.Errorf("evaluate %s: %w", js, err)
			}
			if ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w", js, ctx.Err())
			case <-tick.C:
			}
		}
	})
}

// Text reads the trimmed text content of the first element matching sel into out.
func Text(sel string, out *string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var s string
		if err := chromedp.TextContent(sel, &s, chromedp.ByQuery).Do(ctx); err != nil {
			return err
		}
		*out = strings.TrimSpace(s)
		return nil
	})
}
