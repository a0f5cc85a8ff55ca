package web_test

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/web"
)

// uiEnv is the pages of one service on loopback, a seeded Server simulator under the virtual
// directory tfs, and the tenants acme and other with an API key each.
type uiEnv struct {
	t      *testing.T
	sim    *azdosim.Server
	svc    *services.Service
	srv    *httptest.Server
	keys   map[string]string // tenant → API key
	keyIDs map[string]string // tenant → API key id
}

func newUIEnv(t *testing.T, demo bool) *uiEnv {
	t.Helper()
	e := &uiEnv{t: t, keys: map[string]string{}, keyIDs: map[string]string{}}
	e.sim = azdosimtest.Start(t, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: simPAT, UserName: "UI Tester"})
	dir := t.TempDir()
	kr, _, err := secrets.LoadOrCreateFile(filepath.Join(dir, "sealing.key"))
	uiMust(t, err)
	st, err := bolt.Open(filepath.Join(dir, "db"), bolt.Options{})
	uiMust(t, err)
	t.Cleanup(func() { st.Close() })
	e.svc, err = services.New(services.Options{Door: loopbackDoor, Store: st, Keyring: kr, WorkDir: filepath.Join(dir, "work"), Logger: slog.New(slog.DiscardHandler)})
	uiMust(t, err)
	t.Cleanup(e.svc.Close)
	for _, tenant := range []string{"acme", "other"} {
		key, rec, err := e.svc.CreateAPIKey(context.Background(), tenant)
		uiMust(t, err)
		e.keys[tenant], e.keyIDs[tenant] = key, rec.ID
	}
	opts := web.Options{Service: e.svc}
	if demo {
		opts.Demo = &web.Demo{APIKey: e.keys["acme"], ServerURL: e.sim.URL(), Collection: "DefaultCollection", PAT: simPAT}
	}
	e.srv = httptest.NewServer(validated(t, web.New(opts)))
	t.Cleanup(e.srv.Close)
	return e
}

// uiMust stops the test on err.
func uiMust(t *testing.T, err error) {
	if t.Helper(); err != nil {
		t.Fatal(err)
	}
}

// browser is a new browser of the pages (uiBrowser, in ui_oauth_test.go).
func (e *uiEnv) browser() *uiBrowser { return newUIBrowser(e.t, e.srv.URL) }

// connect creates tenant's server-pat connection to the simulator through the service.
func (e *uiEnv) connect(tenant, name string) string {
	e.t.Helper()
	c, err := e.svc.CreateConnection(context.Background(), tenant, services.ConnectionInput{Name: name, Type: services.TypeServerPAT,
		ServerURL: e.sim.URL(), Collection: "DefaultCollection", PAT: connections.Secret(simPAT)})
	uiMust(e.t, err)
	return c.ID
}

// countConnections is the number of tenant's connections.
func (e *uiEnv) countConnections(tenant string) int {
	e.t.Helper()
	cs, _, err := e.svc.ListConnections(context.Background(), tenant, 100, "")
	uiMust(e.t, err)
	return len(cs)
}

// A browser without a session is sent to the sign-in page with where it was going; an htmx
// request gets 401 with HX-Redirect, since a fragment cannot become the sign-in page.
func TestUISignInRequired(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser()
	for _, c := range []struct {
		path, hx, header, want string
		status                 int
	}{
		{"/ui/connections", "", "Location", "/ui/sign-in?next=%2Fui%2Fconnections", http.StatusSeeOther},
		{"/ui/connections", "true", "HX-Redirect", "/ui/sign-in?next=%2Fui%2Fconnections", http.StatusUnauthorized},
		{"/ui/build-profiles?after=x", "", "Location", "/ui/sign-in?next=%2Fui%2Fbuild-profiles%3Fafter%3Dx", http.StatusSeeOther},
	} {
		resp, _ := b.do("GET", c.path, nil, "HX-Request", c.hx)
		if resp.StatusCode != c.status || resp.Header.Get(c.header) != c.want {
			t.Errorf("GET %s (HX-Request %q): %d %s=%q, want %d %q", c.path, c.hx, resp.StatusCode, c.header, resp.Header.Get(c.header), c.status, c.want)
		}
	}
	if resp, body := b.do("GET", "/ui/sign-in?next=%2Fui%2Fbuild-profiles", nil); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `name="next" value="/ui/build-profiles"`) {
		t.Errorf("sign-in page: %d %s", resp.StatusCode, body)
	}
}

// A bad key gets the sign-in page again with the reason and no cookie; a good one gets an
// HttpOnly, SameSite=Lax session cookie that does not carry the key, which opens the pages
// until the key is revoked. Only destinations inside /ui are followed after sign-in.
func TestUISignIn(t *testing.T) {
	e := newUIEnv(t, false)
	for _, bad := range []string{"", "rck_notakey", "garbage", e.keys["acme"] + "x"} {
		resp, body := e.browser().do("POST", "/ui/sign-in", url.Values{"apiKey": {bad}, "next": {"/ui/build-profiles"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "That API key is not valid") || sessionCookie(resp) != nil {
			t.Errorf("bad key %q: %d %v %s", bad, resp.StatusCode, resp.Header, body)
		}
	}

	b := e.browser()
	key := e.keys["acme"]
	resp, _ := b.do("POST", "/ui/sign-in", url.Values{"apiKey": {" " + key + " "}, "next": {"/ui/build-profiles"}})
	ck := sessionCookie(resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/build-profiles" || ck == nil {
		t.Fatalf("sign-in: %d %v", resp.StatusCode, resp.Header)
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Errorf("cookie attributes: %+v", ck)
	}
	if ck.Value == "" || strings.Contains(ck.Value, key) || strings.Contains(ck.Value, key[4:]) {
		t.Errorf("the cookie carries the API key: %q", ck.Value)
	}
	if d := time.Until(ck.Expires); d < services.BrowserSessionTTL-time.Minute || d > services.BrowserSessionTTL+time.Minute {
		t.Errorf("cookie expires in %v, want %v", d, services.BrowserSessionTTL)
	}
	if resp, body := b.do("GET", "/ui/connections", nil); resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<h1") {
		t.Fatalf("connections with the cookie: %d %s", resp.StatusCode, body)
	}
	uiMust(t, e.svc.RevokeAPIKey(context.Background(), "acme", e.keyIDs["acme"]))
	if resp, _ := b.do("GET", "/ui/connections", nil); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/ui/sign-in?") {
		t.Fatalf("connections after the key was revoked: %d %v", resp.StatusCode, resp.Header)
	}

	for _, c := range []struct{ next, want string }{
		{"/ui/build-profiles?after=x", "/ui/build-profiles?after=x"}, {"//evil.example/", "/ui/connections"},
		{"https://evil.example/", "/ui/connections"}, {"/\\evil.example/", "/ui/connections"},
		{"/ui/\\evil.example", "/ui/connections"}, {"", "/ui/connections"},
	} {
		resp, _ := e.browser().do("POST", "/ui/sign-in", url.Values{"apiKey": {e.keys["other"]}, "next": {c.next}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != c.want {
			t.Errorf("next %q: %d to %q, want %q", c.next, resp.StatusCode, resp.Header.Get("Location"), c.want)
		}
	}
}

// Demo mode signs a browser without a cookie in as the demo key's tenant and shows the
// simulator's server URL, collection and PAT in the banner.
func TestUIDemoSignsIn(t *testing.T) {
	e := newUIEnv(t, true)
	e.connect("acme", "acme-conn")
	e.connect("other", "other-conn")
	b := e.browser()
	resp, body := b.do("GET", "/ui/connections", nil)
	if resp.StatusCode != http.StatusOK || sessionCookie(resp) == nil {
		t.Fatalf("demo: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{`data-demo="serverUrl">` + e.sim.URL() + "<", `data-demo="collection">DefaultCollection<`,
		`data-demo="pat">` + simPAT + "<", "acme-conn"} {
		if !strings.Contains(body, want) {
			t.Errorf("the demo page lacks %q", want)
		}
	}
	if strings.Contains(body, "other-conn") {
		t.Error("the demo browser sees another tenant's connection")
	}
	if resp, _ := b.do("GET", "/ui/connections", nil); resp.StatusCode != http.StatusOK || sessionCookie(resp) != nil {
		t.Errorf("second visit: %d, new session %v", resp.StatusCode, sessionCookie(resp))
	}
}

// serverForm is the wizard's server-pat form for the simulator.
func (e *uiEnv) serverForm(name, pat string) url.Values {
	u, _ := url.Parse(e.sim.URL())
	return url.Values{"kind": {"server"}, "name": {name}, "serverUrl": {u.Scheme + "://" + u.Host},
		"virtualDirectory": {"tfs"}, "collection": {"DefaultCollection"}, "pat": {pat}}
}

// Form posts a browser marks as cross-origin (Sec-Fetch-Site, or an Origin that is not the
// Host) are refused with 403 before they do anything; same-origin posts work.
func TestUICrossOriginPostsRefused(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	targets := []struct {
		path string
		form url.Values
	}{
		{"/ui/connections/new/check", e.serverForm("checked", simPAT)},
		{"/ui/connections", e.serverForm("created", simPAT)},
		{"/ui/sign-in", url.Values{"apiKey": {e.keys["other"]}}},
	}
	for _, origin := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"},
		{"Origin", "http://evil.example"}, {"Origin", "http://127.0.0.1:1"}} {
		for _, tg := range targets {
			resp, body := b.do("POST", tg.path, tg.form, origin...)
			if resp.StatusCode != http.StatusForbidden || sessionCookie(resp) != nil || strings.Contains(body, "data-valid") {
				t.Errorf("POST %s with %v: %d %s", tg.path, origin, resp.StatusCode, body)
			}
		}
	}
	if n := e.countConnections("acme"); n != 0 {
		t.Fatalf("a refused post created %d connections", n)
	}
	same := []string{"Sec-Fetch-Site", "same-origin", "Origin", e.srv.URL}
	if resp, body := b.do("POST", targets[0].path, targets[0].form, same...); resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-valid="true"`) {
		t.Errorf("same-origin check: %d %s", resp.StatusCode, body)
	}
	if resp, _ := b.do("POST", targets[1].path, targets[1].form, same...); resp.StatusCode != http.StatusSeeOther || e.countConnections("acme") != 1 {
		t.Errorf("same-origin create: %d, %d connections", resp.StatusCode, e.countConnections("acme"))
	}
	if resp, _ := e.browser().do("POST", targets[2].path, targets[2].form, same...); resp.StatusCode != http.StatusSeeOther || sessionCookie(resp) == nil {
		t.Errorf("same-origin sign-in: %d %v", resp.StatusCode, resp.Header)
	}
}

var (
	scriptTagRE = regexp.MustCompile(`<script[^>]*>`)
	styleAttrRE = regexp.MustCompile(`\sstyle=`)
)

// Every page carries the content security policy (scripts of this origin only, no framing)
// and no-store, and has no inline script or style it would block; the embedded assets are
// served with their media types.
func TestUISecurityHeaders(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/ui/sign-in", 200}, {"/ui/connections", 200}, {"/ui/connections/new", 200}, {"/ui/connections/new?kind=server", 200},
		{"/ui/connections/new?kind=services", 200}, {"/ui/connections/" + id, 200}, {"/ui/connections/" + id + "/delete", 200},
		{"/ui/build-profiles", 200}, {"/ui/connections/nope", 404},
	} {
		resp, body := b.do("GET", c.path, nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != c.status || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d %v", c.path, resp.StatusCode, resp.Header)
		}
		for _, tag := range scriptTagRE.FindAllString(body, -1) {
			if !strings.Contains(tag, ` src="/static/`) {
				t.Errorf("GET %s: inline or foreign script %s", c.path, tag)
			}
		}
		if styleAttrRE.MatchString(body) {
			t.Errorf("GET %s: an inline style attribute, which style-src 'self' blocks", c.path)
		}
	}
	for _, c := range []struct{ path, mediaType string }{
		{"/static/vendor/htmx.min.js", "javascript"}, {"/static/vendor/sse.min.js", "javascript"}, {"/static/css/app.css", "text/css"}, {"/static/js/app.js", "javascript"},
	} {
		resp, body := b.do("GET", c.path, nil)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), c.mediaType) || len(body) < 100 {
			t.Errorf("GET %s: %d %q (%d bytes)", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
}

// inputTag returns the input element of body with id.
func inputTag(body, id string) string {
	return regexp.MustCompile(`<input id="` + regexp.QuoteMeta(id) + `"[^>]*>`).FindString(body)
}

// Pasting a clone URL fills the fields from it and picks the kind: a Server URL checks
// Server in the kind switch (sent out of band) and fills server URL, virtual directory and
// collection, whatever the switch said; a Services URL checks Services and fills the
// organization. The default name follows (host or organization). A URL the parser refuses
// answers the fields with the parser's sentence under the URL field. Nothing says "guess".
func TestUIWizardParse(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	u, _ := url.Parse(e.sim.URL())
	parse := func(kind, remote string) string {
		t.Helper()
		resp, body := b.do("POST", "/ui/connections/new/parse", url.Values{"kind": {kind}, "remoteUrl": {remote}}, "HX-Request", "true")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, `<fieldset id="server-fields"`) {
			t.Fatalf("parse %q: %d %s", remote, resp.StatusCode, body)
		}
		if strings.Contains(strings.ToLower(body), "guess") {
			t.Errorf("parse %q says guess: %s", remote, body)
		}
		return body
	}
	checked := func(body, id string) bool {
		oob := body[strings.Index(body, `<fieldset id="kind-switch"`):]
		return strings.Contains(oob, `hx-swap-oob="true"`) && strings.Contains(inputTag(oob, id), " checked")
	}
	for _, kind := range []string{"services", "server"} {
		body := parse(kind, e.sim.URL()+"/DefaultCollection/Fabrikam%20Mobile/_git/android%20app")
		for id, want := range map[string]string{"serverUrl": u.Scheme + "://" + u.Host, "virtualDirectory": "tfs", "collection": "DefaultCollection"} {
			if tag := inputTag(body, id); !strings.Contains(tag, `value="`+want+`"`) {
				t.Errorf("%s form, field %s: %s, want value %q", kind, id, tag, want)
			}
		}
		if !checked(body, "kind-server") || checked(body, "kind-services") || !strings.Contains(body, `data-type="server-pat"`) {
			t.Errorf("%s form: a Server URL does not pick Server: %s", kind, body)
		}
		if !strings.Contains(body, `data-testid="vd">tfs<`) || !strings.Contains(body, "android app") || !strings.Contains(body, `data-default-name="127.0.0.1"`) {
			t.Errorf("understood: %s", body)
		}
	}
	for _, bad := range []string{"not a url", "https://tfs.example.com/tfs/DefaultCollection/Project", "ftp://tfs.example.com/tfs/C/P/_git/r"} {
		_, err := e.svc.ParseRemoteURL(context.Background(), "acme", services.ParseURLInput{RemoteURL: bad})
		ce := connections.AsError(err)
		if ce == nil || ce.Field != "remoteUrl" {
			t.Fatalf("the parser takes %q: %v", bad, err)
		}
		want := html.EscapeString(strings.ToUpper(ce.Message[:1]) + strings.TrimRight(ce.Message[1:], ". ") + ".")
		// The problem sits in the slot under the URL field (out of band), a status, not an alert.
		if body := parse("server", bad); !strings.Contains(body, `<div id="remoteUrl-status" class="url-status" role="status" hx-swap-oob="true"><p class="field-error" id="remoteUrl-error" data-invalid="remoteUrl">`+want+"<") ||
			strings.Contains(body, `role="alert"`) {
			t.Errorf("parse %q: no sentence %q in %s", bad, want, body)
		}
	}
	// A URL still being typed (no host yet) gets no complaint: the slot is sent, empty.
	for _, typing := range []string{"h", "https:/", "https://", "http://", "ssh://", "git@", "https://user@"} {
		body := parse("server", typing)
		if !strings.Contains(body, `<div id="remoteUrl-status" class="url-status" role="status" hx-swap-oob="true"></div>`) || strings.Contains(body, "field-error") {
			t.Errorf("parse %q while typing complains: %s", typing, body)
		}
	}
	// The page has the slot under the URL field, outside #server-fields, named by the input.
	_, page := b.do("GET", "/ui/connections/new", nil)
	if i, j := strings.Index(page, `<div id="remoteUrl-status"`), strings.Index(page, `<fieldset id="server-fields"`); i < 0 || j < i ||
		!strings.Contains(inputTag(page, "remoteUrl"), `aria-describedby="remoteUrl-help remoteUrl-status"`) {
		t.Errorf("no status slot under the URL field: %s", page)
	}
	for _, remote := range []string{"https://dev.azure.com/fabrikam/Fabrikam%20Mobile/_git/android%20app", "https://fabrikam.visualstudio.com/Fabrikam%20Mobile/_git/android%20app",
		"git@ssh.dev.azure.com:v3/fabrikam/Fabrikam%20Mobile/android%20app"} {
		body := parse("server", remote)
		if !checked(body, "kind-services") || checked(body, "kind-server") || !strings.Contains(inputTag(body, "collection"), `value="fabrikam"`) ||
			!strings.Contains(inputTag(body, "serverUrl"), `value=""`) || !strings.Contains(body, `data-default-name="fabrikam"`) ||
			!strings.Contains(body, `data-type="services-oauth"`) || !strings.Contains(body, "Azure DevOps Services, organization") {
			t.Errorf("a Services URL %s on the Server form: %s", remote, body)
		}
	}
}

// The Create of the Connect form: a wrong PAT is refused with 422, the check's steps shown
// once and the summary linking to the PAT (the PAT never echoed back); an empty form is
// refused at once with every missing field in one summary (400, plain sentences, each field
// marked, no sentence twice); a right PAT goes on to screen 2 with the connection made; a name
// left empty becomes the server's host; a taken name joins the summary. Nothing is stored by a
// refused form.
func TestUIWizardCreate(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	const wrongPAT = "wrongpatwrongpat0123456789abcdef"
	with := func(kv ...string) url.Values {
		f := e.serverForm("on-prem", simPAT)
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	empty := url.Values{"kind": {"server"}, "name": {""}, "remoteUrl": {""}, "serverUrl": {""}, "virtualDirectory": {""}, "collection": {""}, "pat": {""}}
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		links  []string // the summary's links, in order
		texts  []string // sentences each shown once
	}{
		{"wrong PAT", with("pat", wrongPAT), 422, []string{"pat"}, []string{"The token check failed: its steps, below, say why and how to fix it."}},
		{"empty Server form", empty, 400, []string{"serverUrl", "collection", "name", "pat"},
			[]string{"Enter the server URL, such as https://tfs.example.com, or paste a clone URL above.", "Enter the collection, such as DefaultCollection.",
				"Enter a name for the connection.", "Paste the personal access token."}},
		{"no server URL", with("serverUrl", "", "virtualDirectory", ""), 400, []string{"serverUrl"}, nil},
		{"empty Services PAT form", url.Values{"kind": {"services"}, "auth": {"pat"}}, 400, []string{"collection", "name", "pat"},
			[]string{"Enter the organization: the name after https://dev.azure.com/."}},
		{"empty sign-in form", url.Values{"kind": {"services"}, "auth": {"oauth"}}, 400, []string{"collection", "name"}, nil},
	} {
		resp, body := b.do("POST", "/ui/connections", c.form)
		if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(body, simPAT) || strings.Contains(body, wrongPAT) {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, body)
			continue
		}
		if n := strings.Count(body, "data-error-summary"); n != 1 || strings.Contains(body, "Invalid request") {
			t.Errorf("%s: %d error summaries, or API wording: %s", c.name, n, body)
		}
		var links []string
		for _, m := range regexp.MustCompile(`<a href="#([^"]+)" data-field=`).FindAllStringSubmatch(body, -1) {
			links = append(links, m[1])
		}
		if strings.Join(links, " ") != strings.Join(c.links, " ") {
			t.Errorf("%s: the summary links to %v, want %v", c.name, links, c.links)
		}
		want := "There is 1 problem:"
		if len(c.links) > 1 {
			want = "There are " + strconv.Itoa(len(c.links)) + " problems:"
		}
		if !strings.Contains(body, want) {
			t.Errorf("%s: no %q", c.name, want)
		}
		for _, id := range c.links {
			if tag := inputTag(body, id); !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, id+`-error"`) {
				t.Errorf("%s: field %s not marked: %s", c.name, id, tag)
			}
		}
		for _, s := range c.texts {
			if n := strings.Count(html.UnescapeString(body), s); n != 1 {
				t.Errorf("%s: %q shown %d times", c.name, s, n)
			}
		}
	}
	_, body := b.do("POST", "/ui/connections", with("pat", wrongPAT))
	if strings.Count(body, `class="fail" data-step="authenticate"`) != 1 {
		t.Errorf("the wrong PAT's steps: %s", body)
	}
	// A PAT was posted: the field, empty again, says to paste it again (its own help line);
	// without one posted it does not.
	const again = `<p id="pat-again" class="help pat-again">Paste the token again: it is not sent back to the page.</p>`
	if !strings.Contains(body, again) || !strings.Contains(inputTag(body, "pat"), "pat-again") || strings.Contains(body, wrongPAT) {
		t.Errorf("a refused Create with a PAT: no paste-again line: %s", body)
	}
	if _, body := b.do("POST", "/ui/connections", with("name", "", "serverUrl", "", "pat", "")); strings.Contains(body, "pat-again") {
		t.Errorf("a refused Create without a PAT says to paste it again: %s", body)
	}
	if n := e.countConnections("acme"); n != 0 {
		t.Fatalf("refused forms stored %d connections", n)
	}

	resp, _ := b.do("POST", "/ui/connections", e.serverForm("on-prem", simPAT))
	loc := resp.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/ui/new/choose?connection=")
	if resp.StatusCode != http.StatusSeeOther || id == loc || id == "" {
		t.Fatalf("create: %d %v", resp.StatusCode, resp.Header)
	}
	if c, err := e.svc.GetConnection(context.Background(), "acme", id); err != nil || c.Name != "on-prem" || c.Status != services.StatusAuthorized {
		t.Fatalf("the created connection: %+v %v", c, err)
	}
	if resp, body := b.do("GET", "/ui/connections/"+id, nil); resp.StatusCode != 200 || !strings.Contains(body, "on-prem") || strings.Contains(body, simPAT) {
		t.Errorf("the connection's page: %d %s", resp.StatusCode, body)
	}

	// The same name again: the service's problem joins the summary, its sentence at the field.
	resp, body = b.do("POST", "/ui/connections", e.serverForm("on-prem", simPAT))
	taken := `A connection named "on-prem" exists already; choose another name.`
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `<a href="#name" data-field="name">Connection name</a> is not accepted.`) ||
		strings.Count(html.UnescapeString(body), taken) != 1 || !strings.Contains(inputTag(body, "name"), `aria-invalid="true"`) ||
		!strings.Contains(body, `<a href="/ui/connections/`+id+`" data-taken-by="`+id+`">Open the connection on-prem</a>`) {
		t.Errorf("a taken name (with a link to the connection that has it): %d %s", resp.StatusCode, body)
	}

	// No name typed: the connection is named after the server's host.
	resp, _ = b.do("POST", "/ui/connections", with("name", ""))
	id = strings.TrimPrefix(resp.Header.Get("Location"), "/ui/new/choose?connection=")
	if c, err := e.svc.GetConnection(context.Background(), "acme", id); resp.StatusCode != http.StatusSeeOther || err != nil || c.Name != "127.0.0.1" {
		t.Errorf("create without a name: %d, %+v %v", resp.StatusCode, c, err)
	}
	if n := e.countConnections("acme"); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

var repoItemRE = regexp.MustCompile(`(?s)<li class="repo[^"]*" data-repo="([^"]*)">(.*?)</li>`)

// repoItems maps each repository of a picker list to its list item.
func repoItems(body string) map[string]string {
	m := map[string]string{}
	for _, s := range repoItemRE.FindAllStringSubmatch(body, -1) {
		m[html.UnescapeString(s[1])] = s[2]
	}
	return m
}

// The picker's list filters by name, and shows disabled and empty repositories with their
// badge and without a link, so they cannot be chosen.
func TestUIRepositoryList(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])
	resp, body := b.do("GET", "/ui/connections/"+id+"/repositories?q=android", nil, "HX-Request", "true")
	if items := repoItems(body); resp.StatusCode != 200 || len(items) != 1 || items["android app"] == "" {
		t.Fatalf("q=android: %d %v", resp.StatusCode, items)
	}
	resp, body = b.do("GET", "/ui/connections/"+id+"/repositories", nil, "HX-Request", "true")
	items := repoItems(body)
	if resp.StatusCode != 200 || len(items) != len(e.sim.Repositories("")) {
		t.Fatalf("all: %d %v", resp.StatusCode, items)
	}
	for name, badge := range map[string]string{"legacy-tools": "badge-disabled", "empty-repo": "badge-empty"} {
		if it := items[name]; !strings.Contains(it, badge) || strings.Contains(it, "<a ") {
			t.Errorf("%s: %q", name, it)
		}
	}
	ios := azdosimtest.Repository(t, e.sim, "ios-app")
	if it := items["ios-app"]; !strings.Contains(it, `<a class="repo-name" href="/ui/new/configure?connection=`+id+`&amp;repository=`+ios.ID+`">`) || strings.Contains(it, "badge") {
		t.Errorf("ios-app: %q", it)
	}
}

// A build profile of a branch that does not exist comes back as screen 3 (Configure and run)
// with the reason in its error summary, linked to the branch field, and stores nothing; an
// existing branch opens the new profile.
func TestUIBuildProfileUnknownBranch(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "acme-conn")
	b := e.browser().signIn(e.keys["acme"])
	repo := azdosimtest.Repository(t, e.sim, "android app")
	form := url.Values{"name": {"android"}, "connectionId": {id}, "repositoryId": {repo.ID}, "branch": {"no-such-branch"}}
	resp, body := b.do("POST", "/ui/build-profiles", form)
	if resp.StatusCode < 400 || resp.StatusCode > 499 || !strings.Contains(body, `data-error-summary`) || !strings.Contains(body, `<a href="#branch">`) ||
		!strings.Contains(body, `data-value="feature/login"`) || !strings.Contains(body, "no-such-branch") {
		t.Fatalf("unknown branch: %d %s", resp.StatusCode, body)
	}
	if ps, _, err := e.svc.ListBuildProfiles(context.Background(), "acme", 10, ""); err != nil || len(ps) != 0 {
		t.Fatalf("profiles after a refused form: %v %v", ps, err)
	}
	form.Set("branch", "feature/login")
	resp, _ = b.do("POST", "/ui/build-profiles", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/build-profiles/") {
		t.Fatalf("existing branch: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, body := b.do("GET", resp.Header.Get("Location"), nil); resp.StatusCode != 200 || !strings.Contains(body, "feature/login") {
		t.Errorf("the profile's page: %d %s", resp.StatusCode, body)
	}
}

var (
	sseConnectRE = regexp.MustCompile(`sse-connect="/ui/clones/([^"/]+)/events"`)
	commitRE     = regexp.MustCompile(`<code data-testid="commit">([0-9a-f]{40})</code>`)
)

// "Clone now" answers the live panel; its event stream sends progress and ends with a "done"
// event showing the succeeded job and the branch's commit. Unknown and other tenants' jobs
// are 404.
func TestUICloneStreamsDone(t *testing.T) {
	e := newUIEnv(t, false)
	conn := e.connect("acme", "acme-conn")
	ios := azdosimtest.Repository(t, e.sim, "ios-app")
	p, err := e.svc.CreateBuildProfile(context.Background(), "acme", services.BuildProfileInput{Name: "ios", ConnectionID: conn, RepositoryID: ios.ID, Branch: "main"})
	uiMust(t, err)
	b := e.browser().signIn(e.keys["acme"])
	resp, body := b.do("POST", "/ui/build-profiles/"+p.ID+"/clones", url.Values{}, "HX-Request", "true")
	m := sseConnectRE.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("start: %d %s", resp.StatusCode, body)
	}
	events := "/ui/clones/" + m[1] + "/events"
	resp, body = b.do("GET", events, nil, "Accept", "text/event-stream")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
	}
	evs, _ := readSSE(t, strings.NewReader(body))
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	for _, ev := range evs[:len(evs)-1] {
		if ev.name != "progress" {
			t.Errorf("event before the last: %q", ev.name)
		}
	}
	done := evs[len(evs)-1]
	c := commitRE.FindStringSubmatch(done.data)
	if done.name != "done" || !strings.Contains(done.data, `data-state="succeeded"`) || c == nil {
		t.Fatalf("last event: %+v", done)
	}
	if want := azdosimtest.Git(t, ios.BarePath, "rev-parse", "main"); c[1] != want {
		t.Errorf("commit %s, want %s", c[1], want)
	}
	if resp, _ := b.do("GET", "/ui/clones/0123456789abcdef0123456789abcdef/events", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown job: %d", resp.StatusCode)
	}
	if resp, _ := e.browser().signIn(e.keys["other"]).do("GET", events, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another tenant's job: %d", resp.StatusCode)
	}
}

// Another tenant's connection answers exactly as an unknown one (404) on every page and
// action, and the refused delete leaves it in place.
func TestUIOtherTenantConnectionIs404(t *testing.T) {
	e := newUIEnv(t, false)
	e.connect("acme", "acme-conn")
	theirs := e.connect("other", "their-conn")
	unknown := theirs[:len(theirs)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(theirs, "0")]
	b := e.browser().signIn(e.keys["acme"])
	for _, c := range []struct{ method, path, hx string }{
		{"GET", "/ui/connections/%s", ""}, {"GET", "/ui/connections/%s/delete", ""}, {"GET", "/ui/connections/%s/repositories", "true"},
		{"POST", "/ui/connections/%s/check", "true"}, {"POST", "/ui/connections/%s/delete", ""}, {"POST", "/ui/connections/%s/authorize", ""},
	} {
		var form url.Values
		if c.method == "POST" {
			form = url.Values{}
		}
		r1, b1 := b.do(c.method, strings.Replace(c.path, "%s", theirs, 1), form, "HX-Request", c.hx)
		r2, b2 := b.do(c.method, strings.Replace(c.path, "%s", unknown, 1), form, "HX-Request", c.hx)
		if r1.StatusCode != http.StatusNotFound || r2.StatusCode != http.StatusNotFound || b1 != b2 || strings.Contains(b1, "their-conn") {
			t.Errorf("%s %s: %d vs unknown %d\n%s\n%s", c.method, c.path, r1.StatusCode, r2.StatusCode, b1, b2)
		}
	}
	if _, err := e.svc.GetConnection(context.Background(), "other", theirs); err != nil {
		t.Fatalf("their connection after acme's delete: %v", err)
	}
}

// The delete page says that the connection's build profiles (and their runs) are deleted
// with it, and names them; a connection without profiles says it has none.
func TestUIConnectionDeletePage(t *testing.T) {
	e := newUIEnv(t, false)
	ctx := context.Background()
	id := e.connect("acme", "doomed")
	other := e.connect("acme", "kept")
	repos, err := e.svc.ListRepositories(ctx, "acme", id, "", "android")
	uiMust(t, err)
	for _, p := range []struct{ name, conn string }{{"first", id}, {"second", id}, {"elsewhere", other}} {
		_, err := e.svc.CreateBuildProfile(ctx, "acme", services.BuildProfileInput{Name: p.name, ConnectionID: p.conn, RepositoryID: repos[0].ID, Branch: "main"})
		uiMust(t, err)
	}
	b := e.browser().signIn(e.keys["acme"])
	resp, page := b.do("GET", "/ui/connections/"+id+"/delete", nil)
	m := html.UnescapeString(mainOf(t, page))
	if resp.StatusCode != http.StatusOK || !strings.Contains(m, "Its 2 build profiles are deleted with it, with their runs and clones:") ||
		!strings.Contains(m, `data-profiles="2"`) || !strings.Contains(m, ">first</a>") || !strings.Contains(m, ">second</a>") ||
		strings.Contains(m, "elsewhere") || !strings.Contains(m, "Delete doomed and its 2 build profiles") || strings.Contains(m, "stop working") {
		t.Errorf("the delete page: %d %s", resp.StatusCode, m)
	}
	third := e.connect("acme", "empty")
	if _, page := b.do("GET", "/ui/connections/"+third+"/delete", nil); !strings.Contains(mainOf(t, page), "It has no build profiles.") {
		t.Errorf("the delete page of a connection without profiles: %s", mainOf(t, page))
	}
}

// Replacing a PAT lists the permissions by kind (required apart from optional, the PAT
// page's names first); its form waits visibly; "Last check" has no date until a check;
// the answer to the POST names the page's own URL (data-canonical) for app.js.
func TestUIConnectionReplacePATPage(t *testing.T) {
	e := newUIEnv(t, false)
	id := e.connect("acme", "pat-conn")
	b := e.browser().signIn(e.keys["acme"])
	_, page := b.do("GET", "/ui/connections/"+id, nil)
	m := mainOf(t, page)
	req, opt := services.ScopesFor(services.TypeServerPAT)
	i, j := strings.Index(m, "<h3>Required</h3>"), strings.Index(m, "<h3>Optional</h3>")
	if i < 0 || j < i || !strings.Contains(m[i:j], "<strong>"+html.EscapeString(req[0].Name)+"</strong> <code>vso.code</code>") ||
		!strings.Contains(m[j:], html.EscapeString(opt[0].Name)) || strings.Contains(m, "TODO") || strings.Contains(m, "scopes-list") {
		t.Errorf("the scopes of Replace the PAT: %s", m)
	}
	if !strings.Contains(m, `data-busy-text="Checking the new token… up to 30 s"`) || strings.Contains(m, "data-canonical") {
		t.Errorf("the PAT form: %s", m)
	}
	c, err := e.svc.GetConnection(context.Background(), "acme", id)
	uiMust(t, err)
	if c.CheckedAt.IsZero() && strings.Contains(m, `datetime="0001`) {
		t.Errorf("a zero time has a datetime: %s", m)
	}
	resp, out := b.do("POST", "/ui/connections/"+id+"/pat", url.Values{"pat": {simPAT}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, `data-canonical="/ui/connections/`+id+`"`) {
		t.Errorf("the answer to Replace the PAT: %d %s", resp.StatusCode, mainOf(t, out))
	}
	if resp, out = b.do("POST", "/ui/connections/"+id+"/pat", url.Values{"pat": {"wrongpatwrongpat0123456789abcdef"}}); resp.StatusCode < 400 ||
		!strings.Contains(out, `data-canonical="/ui/connections/`+id+`"`) {
		t.Errorf("a refused Replace the PAT: %d %s", resp.StatusCode, mainOf(t, out))
	}
}
