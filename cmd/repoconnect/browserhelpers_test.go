package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"testing"

	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// Helpers shared by the browser tests.

var hex40 = regexp.MustCompile(`^[0-9a-f]{40}$`)

// pageWidths are the two viewports every page is checked at: a desktop window (1280×900 CSS
// px) and a touch phone (375×812, mobile emulation).
var pageWidths = []struct {
	name          string
	width, height int64
	mobile        bool
}{{"desktop", 1280, 900, false}, {"mobile", 375, 812, true}}

// accessible checks the current page against WCAG 2.1 A and AA with axe-core, and the
// keyboard focus indicator of every focusable element with the focus-contrast rule (at least
// 3:1 against the colours beside it, at least 2 CSS px; bt.FocusContrast). A page with no
// focusable element fails: every page has at least the skip link and the header's links, so
// none found means the rule did not run. It returns the focus report (ratios measured).
func accessible(t *testing.T, b *bt.Browser, step string) bt.FocusReport {
	t.Helper()
	var vs []bt.Violation
	var focus bt.FocusReport
	b.Run("accessibility of "+step, bt.Axe(&vs), bt.FocusContrast(&focus))
	for _, v := range vs {
		t.Errorf("%s: accessibility: %v", step, v)
	}
	for _, v := range focus.Violations {
		t.Errorf("%s: accessibility: %v", step, v)
	}
	for _, sel := range focus.NotVisible {
		t.Errorf("%s: focus contrast: %s does not match :focus-visible when focused after a Tab press", step, sel)
	}
	if len(focus.Elements) == 0 {
		t.Errorf("%s: focus contrast: no focusable element found (not even the skip link)", step)
	}
	return focus
}

// heldServer is a proxy to the Azure DevOps Server at target that holds every git-upload-pack
// request until its client goes away or the test ends: held receives a value per held request,
// so a test sees a clone running, stuck at the server, without waiting on time.
func heldServer(t *testing.T, target string) (front string, held <-chan struct{}) {
	t.Helper()
	to, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	hold, heldc := make(chan struct{}), make(chan struct{}, 4)
	proxy := httputil.NewSingleHostReverseProxy(to)
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
			select {
			case heldc <- struct{}{}:
			default:
			}
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hold) }) // before srv.Close, which waits for the held requests
	return srv.URL, heldc
}
