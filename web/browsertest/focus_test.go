package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// focusPage is a page whose elements carry focus indicators of known contrast: the ids say
// what the rule must find.
const focusPage = `<!DOCTYPE html><html lang="en"><head><title>focus</title><style>
body { margin: 0; font: 16px sans-serif; background: #fff; }
section { padding: 1rem; }
.grey { background: #f4f6f8; }
.dark { background: #0d1117; color: #fff; }
.dark a { color: #fff; }
.yellow { background: #fff8c5; }
a, button { display: inline-block; margin: .75rem; }
#orange:focus-visible, #orange-grey:focus-visible { outline: 3px solid #ff9f1c; outline-offset: 2px; }
#thin:focus-visible { outline: 1px solid #0a3069; outline-offset: 2px; }
#none:focus-visible, #none2:focus-visible { outline: none; }
#none2:focus-visible { background: #eee; }
#same, #same:focus-visible { outline: 3px solid #0a3069; outline-offset: 2px; }
.two:focus-visible { outline: 3px solid #0a3069; outline-offset: 2px; box-shadow: 0 0 0 2px #fff; }
#navy-dark:focus-visible { outline: 3px solid #0a3069; outline-offset: 2px; }
#shadow-only:focus-visible { outline: none; box-shadow: 0 0 0 3px #0a3069; }
#blue-btn { background: #0b5cad; color: #fff; border: 1px solid #0b5cad; }
#blue-btn:focus-visible { outline: 2px solid #1b1f24; outline-offset: -4px; }
#shadow-only { border: 0; background: #fff; }
</style></head><body>
<section><a id="orange" href="#a">orange on white</a><a id="thin" href="#b">thin</a><a id="none" href="#c">none</a><a id="none2" href="#c2">none, background</a>
<a id="same" href="#s">always outlined</a><button class="two" id="good-white">good</button><button id="blue-btn">inset orange</button>
<button id="shadow-only">shadow</button><button id="gone" disabled>disabled</button><a id="neg" href="#n" tabindex="-1">not in tab order</a></section>
<section class="grey"><a id="orange-grey" href="#d">orange on grey</a><a class="two" id="good-grey" href="#e">good on grey</a></section>
<section class="yellow"><a class="two" id="good-yellow" href="#f">good on yellow</a></section>
<section class="dark"><a class="two" id="good-dark" href="#g">good on dark</a><a id="navy-dark" href="#h">navy on dark</a></section>
<details><summary class="two" id="sum">More</summary><a id="hidden-in-details" href="#x">hidden</a></details>
</body></html>`

// The focus-contrast rule, on a page of known indicators: it fails the 2.05:1 orange ring on
// white and the 1.90:1 one on grey, a 1 px ring, no ring, a ring that is there without focus,
// a navy ring on the dark header colour and a near-black ring inside a blue button (2.48:1); it passes the
// two-tone ring on white, grey, yellow and dark, a 3 px box-shadow ring and the summary; it
// skips disabled, tabindex=-1 and hidden elements.
func TestFocusContrastRule(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(focusPage))
	}))
	t.Cleanup(srv.Close)
	b := New(t)
	var rep FocusReport
	b.Run("check the page", chromedp.Navigate(srv.URL), FocusContrast(&rep))
	got := map[string]FocusElement{}
	for _, e := range rep.Elements {
		got[e.Target] = e
		t.Logf("%-14s %5.2f:1 %-40s on %s %s", e.Target, e.Ratio, e.Indicator, e.Background, e.Problem)
	}
	if len(rep.NotVisible) > 0 {
		t.Errorf("not :focus-visible after the Tab press: %v", rep.NotVisible)
	}
	fail := map[string]string{
		"#orange": "2.0", "#orange-grey": "1.9", "#thin": "thick", "#none": "indicator", "#none2": "no focus indicator",
		"#same": "changes nothing", "#navy-dark": "1.4", "#blue-btn": "2.48",
	}
	pass := []string{"#good-white", "#good-grey", "#good-yellow", "#good-dark", "#shadow-only", "#sum"}
	for id, want := range fail {
		e, ok := got[id]
		if !ok {
			t.Errorf("%s was not checked", id)
			continue
		}
		if e.Problem == "" || !strings.Contains(e.Problem, want) {
			t.Errorf("%s: problem %q, want one mentioning %q (%+v)", id, e.Problem, want, e)
		}
	}
	for _, id := range pass {
		e, ok := got[id]
		if !ok {
			t.Errorf("%s was not checked", id)
			continue
		}
		if e.Problem != "" || e.Ratio < FocusMinRatio {
			t.Errorf("%s: %+v, want a pass", id, e)
		}
	}
	for _, id := range []string{"#gone", "#neg", "#hidden-in-details"} {
		if _, ok := got[id]; ok {
			t.Errorf("%s was checked, want it skipped", id)
		}
	}
	if len(rep.Violations) != len(fail) {
		t.Errorf("%d violations, want %d: %v", len(rep.Violations), len(fail), rep.Violations)
	}
	if rep.Worst.Ratio >= 2.06 {
		t.Errorf("worst %+v, want the orange ring's 2.05:1 or lower", rep.Worst)
	}
	// Where the orange ring on white really measures 2.05:1 and the one on grey 1.90:1.
	if r := got["#orange"].Ratio; r < 2.04 || r > 2.06 {
		t.Errorf("orange on white %.2f:1, want 2.05:1", r)
	}
	if r := got["#orange-grey"].Ratio; r < 1.89 || r > 1.91 {
		t.Errorf("orange on grey %.2f:1, want 1.90:1", r)
	}
	var first string
	b.Run("first Tab", FirstTab(&first))
	if first != `a[href="#a"]` {
		t.Errorf("first Tab on %q, want the first link", first)
	}
}

// appPage uses the pages' own style sheet (web/static/css/app.css) with a focusable element of
// each kind on each background the pages have: white, --panel, the red, yellow and green
// alerts, the demo banner, the dark header and the skip link over it.
const appPage = `<!DOCTYPE html><html lang="en"><head><title>app.css</title><link rel="stylesheet" href="/app.css"></head><body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="#b">repoconnect</a><nav aria-label="Main"><a href="#c" aria-current="page">Connections</a><a href="#n" class="nav-new">New build profile</a><button type="button" class="link">Sign out</button></nav></header>
<aside class="demo"><h2>Demo</h2><a href="#d">demo link</a> <button type="button" class="copy secondary">Copy</button></aside>
<main id="main" tabindex="-1">
<p><a href="#w">a link on white</a> <button type="button">Primary</button> <button type="button" class="secondary">Secondary</button> <button type="button" class="danger">Danger</button></p>
<form class="actions"><button type="button" class="danger">Delete</button></form>
<div class="field"><label for="t">Text</label><input id="t" type="text"></div>
<div class="field"><label for="bad">Invalid</label><input id="bad" type="text" aria-invalid="true"></div>
<div class="field"><label for="s">Select</label><select id="s"><option>a</option></select></div>
<div class="field"><label for="ta">Area</label><textarea id="ta"></textarea></div>
<details><summary>Details</summary><p>x</p></details>
<div class="empty"><a href="#p">a link on the panel</a> <input aria-label="on panel" type="text"></div>
<div class="alert error"><a href="#e">a link in an error</a> <button type="button" class="secondary retry">Retry</button></div>
<div class="alert warn"><a href="#y">a link in a warning</a></div>
<div class="alert ok"><a href="#g">a link in a success</a></div>
</main></body></html>`

// The pages' focus indicator passes on every background they have: 11.2:1 or more against the
// page backgrounds (navy against white, --panel and the alerts, white against the header);
// where the sample beside an element lands on a neighbour (a link a space away from a blue
// button) the white band still has 6.67:1 against the neighbour's blue.
func TestFocusContrastOfAppCSS(t *testing.T) {
	css, err := os.ReadFile("../static/css/app.css")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/app.css" {
			w.Header().Set("Content-Type", "text/css")
			_, _ = w.Write(css)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(appPage))
	}))
	t.Cleanup(srv.Close)
	b := New(t)
	var rep FocusReport
	b.Run("check app.css", chromedp.Navigate(srv.URL), chromedp.WaitVisible(`main`, chromedp.ByQuery), FocusContrast(&rep))
	for _, e := range rep.Elements {
		t.Logf("%-50s %5.2f:1 %-38s on %s", e.Target, e.Ratio, e.Indicator, e.Background)
	}
	if len(rep.Elements) < 22 {
		t.Errorf("checked %d elements, want every one of the page's 22", len(rep.Elements))
	}
	for _, v := range rep.Violations {
		t.Errorf("%v", v)
	}
	if len(rep.NotVisible) > 0 {
		t.Errorf("not :focus-visible: %v", rep.NotVisible)
	}
	for _, e := range rep.Elements {
		if want := 11.0; e.Background != "rgb(11, 92, 173)" && e.Ratio < want {
			t.Errorf("%s: %.2f:1 on %s, want at least %.0f:1", e.Target, e.Ratio, e.Background, want)
		}
	}
	if rep.Worst.Ratio < 6.5 {
		t.Errorf("lowest ratio %+v, want at least 6.5:1", rep.Worst)
	}
}
