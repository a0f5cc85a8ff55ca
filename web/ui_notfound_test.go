package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// A page path that does not exist, or a method a page does not take, answers a page (or, for
// htmx, the alert fragment in the alert region) like every other error of the pages, never
// the API's JSON problem that htmx would swap into the page.
func TestUIUnknownPageIsAPage(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	for _, c := range []struct{ method, path, hx string }{
		{"GET", "/ui/nope", ""}, {"GET", "/ui/connections/new/check", ""}, {"GET", "/ui/nope", "true"},
	} {
		resp, body := b.do(c.method, c.path, nil, "HX-Request", c.hx)
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "There is no such page here.") || strings.Contains(body, "openapi") {
			t.Errorf("%s %s (HX-Request %q): %d %s %s", c.method, c.path, c.hx, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if c.hx == "true" && resp.Header.Get("HX-Retarget") != "#alerts" {
			t.Errorf("%s %s from htmx: HX-Retarget %q", c.method, c.path, resp.Header.Get("HX-Retarget"))
		}
	}
	// The API keeps its JSON.
	resp, body := b.do("GET", "/api/v1/nope", nil)
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("GET /api/v1/nope: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}
