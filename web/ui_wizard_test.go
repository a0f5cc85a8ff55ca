package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services"
)

// Demo mode signs in only browsers that asked for a loopback host: a page on another site
// whose DNS name was rebound to 127.0.0.1 names its own host and gets the sign-in page.
func TestUIDemoOnlyOnLoopbackHosts(t *testing.T) {
	e := newUIEnv(t, true)
	port := strings.TrimPrefix(e.srv.URL[strings.LastIndex(e.srv.URL, ":"):], ":")
	for host, signedIn := range map[string]bool{"127.0.0.1:" + port: true, "localhost:" + port: true, "[::1]:" + port: true,
		"attacker.example:" + port: false, "127.0.0.1.nip.io:" + port: false} {
		resp, _ := e.browser().do("GET", "/ui/connections", nil, "Host", host)
		if got := resp.StatusCode == http.StatusOK && sessionCookie(resp) != nil; got != signedIn {
			t.Errorf("Host %s: %d, session %v; want signed in %v", host, resp.StatusCode, sessionCookie(resp) != nil, signedIn)
		}
		if !signedIn && !strings.HasPrefix(resp.Header.Get("Location"), "/ui/sign-in") {
			t.Errorf("Host %s: sent to %q, want the sign-in page", host, resp.Header.Get("Location"))
		}
	}
}

// A form without its kind (no switch chosen, no URL to tell it) is refused in the summary,
// linked to the kind switch, with no connection made and no sign-in started.
func TestUIWizardNeedsKind(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	form := e.serverForm("no-kind", simPAT)
	form.Del("kind")
	resp, body := b.do("POST", "/ui/connections", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `<a href="#kind-services" data-field="kind-services">`) ||
		!strings.Contains(body, "Choose Azure DevOps Services (dev.azure.com) or Azure DevOps Server (on-premises).") || resp.Header.Get("Location") != "" {
		t.Fatalf("create without kind: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if n := e.countConnections("acme"); n != 0 {
		t.Fatalf("%d connections stored", n)
	}
	_, body = b.do("POST", "/ui/connections/new/check", form, "HX-Request", "true")
	if !strings.Contains(body, `data-field="kind"`) || !strings.Contains(body, "Choose Azure DevOps Services or Azure DevOps Server first.") ||
		strings.Contains(body, "data-step") || strings.Contains(body, `data-valid="true"`) {
		t.Fatalf("check without kind: %s", body)
	}

	// Server chosen for a Services address (typed, not pasted): the service's refusal points to
	// the kind switch, in the page's words.
	form = url.Values{"kind": {"server"}, "name": {"cloud"}, "serverUrl": {"https://dev.azure.com"}, "collection": {"fabrikam"}, "pat": {simPAT}}
	resp, body = b.do("POST", "/ui/connections", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `<a href="#kind-services" data-field="kind-services">Where Azure DevOps is</a> is not accepted.`) ||
		!strings.Contains(body, `id="kind-error">The server URL is Azure DevOps Services: choose Azure DevOps Services above.<`) {
		t.Fatalf("Server chosen for dev.azure.com: %d %s", resp.StatusCode, body)
	}
}

// Old links keep working: ?kind=server opens the Server form, ?kind=services the sign-in,
// &auth=pat the Services PAT; no kind opens the sign-in form. Each shows the scopes of its
// kind (the PAT page's name first, the vso ids second, what breaks without it), required and
// optional apart; the other kinds' fields and scopes are hidden.
func TestUIWizardKindsAndScopes(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	setRE := regexp.MustCompile(`(?s)<div class="scope-set" data-scopes="([^"]+)" data-when="[^"]+"( hidden)?>(.*?)</div>`)
	for _, c := range []struct{ query, typ, kind string }{
		{"?kind=server", services.TypeServerPAT, "kind-server"}, {"?kind=services", services.TypeServicesOAuth, "kind-services"},
		{"?kind=services&auth=pat", services.TypeServicesPAT, "kind-services"}, {"?kind=services&auth=oauth", services.TypeServicesOAuth, "kind-services"},
		{"", services.TypeServicesOAuth, "kind-services"},
	} {
		resp, body := b.do("GET", "/ui/connections/new"+c.query, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(inputTag(body, c.kind), " checked") || strings.Contains(body, "data-error-summary") {
			t.Errorf("%s: %d, %s not checked", c.query, resp.StatusCode, c.kind)
			continue
		}
		patShown := !regexp.MustCompile(`<div class="field" data-when="server-pat services-pat" hidden>\s*<label for="pat">`).MatchString(body)
		if patShown != (c.typ != services.TypeServicesOAuth) {
			t.Errorf("%s: the PAT field shown %v", c.query, patShown)
		}
		sets := setRE.FindAllStringSubmatch(body, -1)
		if len(sets) != 3 {
			t.Fatalf("%s: %d scope sets", c.query, len(sets))
		}
		for _, m := range sets {
			if shown := m[2] == ""; shown != (m[1] == c.typ) {
				t.Errorf("%s: the %s scopes shown %v", c.query, m[1], shown)
			}
			if m[1] != c.typ {
				continue
			}
			req, opt := services.ScopesFor(c.typ)
			if len(req) == 0 {
				t.Fatalf("no required scopes for %s", c.typ)
			}
			required, optional, _ := strings.Cut(m[3], "<h3>Optional</h3>")
			for _, s := range req {
				item := html.EscapeString(s.Name) + "</strong> <code>" + s.IDs[0] + "</code>"
				if !strings.Contains(required, item) || !strings.Contains(required, html.EscapeString(s.WithoutIt)) {
					t.Errorf("%s: required scope %s missing: %s", c.query, s.Name, m[3])
				}
			}
			optional, asked, _ := strings.Cut(optional, "<h3>Also asked for</h3>")
			for _, s := range opt {
				if !strings.Contains(optional, html.EscapeString(s.Name)+"</strong> <code>"+s.IDs[0]+"</code>") || strings.Contains(required, s.IDs[0]) {
					t.Errorf("%s: optional scope %s not apart: %s", c.query, s.Name, m[3])
				}
			}
			// Required means the service cannot work without it, for every type: a scope the
			// sign-in asks for without needing it is under "Also asked for", with its use.
			also := services.AlsoAskedFor(c.typ)
			if (c.typ == services.TypeServicesOAuth) != (len(also) > 0) || (len(also) == 0) != (asked == "") {
				t.Errorf("%s: %d also-asked scopes, section %q", c.query, len(also), asked)
			}
			for _, s := range also {
				if !strings.Contains(asked, html.EscapeString(s.Name)+"</strong> <code>"+s.IDs[0]+"</code>") || !strings.Contains(asked, html.EscapeString(s.Purpose)) ||
					strings.Contains(required, s.IDs[0]) || strings.Contains(optional, s.IDs[0]) {
					t.Errorf("%s: also-asked scope %s not apart: %s", c.query, s.Name, m[3])
				}
			}
		}
	}
	// The words: every help text, field message and scope sentence starts with a capital and
	// ends with one full stop; no ".;" chains, no "guess".
	tagRE, sentRE := regexp.MustCompile(`<[^>]+>`), regexp.MustCompile(`(?s)<p class="(?:help|field-error|scope-use|scope-without)"[^>]*>(.*?)</p>`)
	for _, req := range []struct {
		method, path string
		form         url.Values
	}{{"GET", "/ui/connections/new?kind=server", nil}, {"GET", "/ui/connections/new", nil}, {"POST", "/ui/connections", url.Values{"kind": {"server"}}},
		{"POST", "/ui/connections", url.Values{"kind": {"services"}, "auth": {"pat"}}}} {
		_, body := b.do(req.method, req.path, req.form)
		if strings.Contains(body, ".;") || strings.Contains(strings.ToLower(body), "guess") {
			t.Errorf("%s %s: a chained or guessing sentence", req.method, req.path)
		}
		for _, m := range sentRE.FindAllStringSubmatch(body, -1) {
			text := strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(m[1], ""))), " ")
			if text == "" || strings.ToUpper(text[:1]) != text[:1] || !strings.HasSuffix(text, ".") || strings.HasSuffix(text, "..") {
				t.Errorf("%s %s: not a sentence: %q", req.method, req.path, text)
			}
		}
	}

	// The Server PAT is asked for Code (read and status) and Project, not PR threads.
	req, opt := services.ScopesFor(services.TypeServerPAT)
	if req[0].Name != "Code → Read & status" || len(req) != 2 || len(opt) != 3 {
		t.Errorf("Server PAT scopes: %+v / %+v", req, opt)
	}
}

// A pasted clone URL is enough to create a Server connection (no script, or a submit before
// the fields were filled), and user info pasted with it (a PAT as user name) never comes back
// in a page.
func TestUIWizardPastedURL(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	u, _ := url.Parse(e.sim.URL())
	leaked := "pastedtokenpastedtoken"
	remote := u.Scheme + "://" + leaked + "@" + u.Host + "/tfs/DefaultCollection/Fabrikam%20Mobile/_git/android%20app"
	form := url.Values{"kind": {"server"}, "name": {"pasted"}, "remoteUrl": {remote}, "pat": {"wrong-pat"}}
	resp, body := b.do("POST", "/ui/connections", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body, leaked) || !strings.Contains(body, u.Host+"/tfs/DefaultCollection") {
		t.Fatalf("wrong PAT with a pasted URL: %d, user info echoed %v\n%s", resp.StatusCode, strings.Contains(body, leaked), body)
	}
	_, body = b.do("POST", "/ui/connections/new/parse", form, "HX-Request", "true")
	if strings.Contains(body, leaked) {
		t.Fatalf("the parsed fields echo the URL's user info: %s", body)
	}
	form.Set("pat", simPAT)
	if resp, body = b.do("POST", "/ui/connections", form); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/new/choose?connection=") {
		t.Fatalf("create from the pasted URL: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if n := e.countConnections("acme"); n != 1 {
		t.Fatalf("%d connections stored", n)
	}

	// The URL alone, with no kind chosen (no script) and no name: the URL picks Server, the
	// connection is named after the host.
	form = url.Values{"remoteUrl": {remote}, "pat": {simPAT}, "kind": {"services"}}
	resp, body = b.do("POST", "/ui/connections", form)
	id := strings.TrimPrefix(resp.Header.Get("Location"), "/ui/new/choose?connection=")
	c, err := e.svc.GetConnection(context.Background(), "acme", id)
	if resp.StatusCode != http.StatusSeeOther || err != nil || c.Name != u.Hostname() || c.Type != services.TypeServerPAT {
		t.Fatalf("create from the URL alone: %d %s %+v %v", resp.StatusCode, body, c, err)
	}
}

// Typing a URL does not send the PAT anywhere: the server is asked only when the user
// presses "ask the server" (resolve=1), which the note on an uncertain split offers once a
// PAT is in; the note says what the server will confirm, never "guess".
// A team-scoped URL on a server without a virtual directory is such a guess; the common
// /tfs/DefaultCollection/{project}/_git/{repo} URL is not (its tfs segment settles the split).
func TestUIWizardResolvesOnlyWhenAsked(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	plain := azdosimtest.Start(t, azdosim.Options{Seed: true}, azdosim.PAT{Token: simPAT, UserName: "UI Tester"})
	u, _ := url.Parse(plain.URL())
	form := url.Values{"kind": {"server"}, "remoteUrl": {u.Scheme + "://" + u.Host + "/DefaultCollection/Platform/Platform%20Team/_git/Platform"}, "pat": {simPAT}}
	const confirms = "The server confirms the collection when you check."
	_, body := b.do("POST", "/ui/connections/new/parse", form, "HX-Request", "true")
	// Still uncertain: the server was not asked (an answer would have settled the split).
	if !strings.Contains(body, confirms) || strings.Contains(body, "guess") || !strings.Contains(body, "ask the server") || !strings.Contains(body, "project <code>Platform</code>") {
		t.Fatalf("typing a team-scoped URL with a PAT filled in: %s", body)
	}
	form.Set("resolve", "1")
	_, body = b.do("POST", "/ui/connections/new/parse", form, "HX-Request", "true")
	if strings.Contains(body, confirms) || !strings.Contains(body, "The server confirmed") || !strings.Contains(body, `data-testid="collection">DefaultCollection<`) {
		t.Fatalf("asked: %s", body)
	}
	if strings.Contains(body, "Platform Team") {
		t.Fatalf("the team is shown as a name: %s", body)
	}

	// Without a PAT the note says how to ask.
	form.Del("resolve")
	form.Set("pat", "")
	if _, body = b.do("POST", "/ui/connections/new/parse", form, "HX-Request", "true"); !strings.Contains(body, confirms) || !strings.Contains(body, "fill in the token and paste the URL again") {
		t.Fatalf("a guess without a PAT: %s", body)
	}

	// The common legacy URL is read by the tfs rule, with its port kept: no guess, no note.
	tfs, _ := url.Parse(e.sim.URL())
	for _, remote := range []string{
		tfs.Scheme + "://" + tfs.Host + "/tfs/DefaultCollection/Platform/_git/Platform",
		tfs.Scheme + "://" + tfs.Host + "/tfs/DefaultCollection/Platform/Platform%20Team/_git/Platform",
	} {
		form = url.Values{"kind": {"server"}, "remoteUrl": {remote}, "pat": {simPAT}}
		_, body = b.do("POST", "/ui/connections/new/parse", form, "HX-Request", "true")
		if strings.Contains(body, confirms) || strings.Contains(body, "The server confirmed") ||
			!strings.Contains(body, `data-testid="vd">tfs<`) || !strings.Contains(body, `value="`+tfs.Scheme+"://"+tfs.Host+`"`) {
			t.Fatalf("%s: %s", remote, body)
		}
	}
}

// A sign-in started with no name typed names the connection after the organization, and a
// PAT left in the (hidden) PAT field is not sent with it: the browser goes to the provider.
func TestUIWizardSignInDefaultName(t *testing.T) {
	e := newOAuthUIEnv(t)
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	resp, body := a.do("POST", "/ui/connections", url.Values{"kind": {"services"}, "auth": {"oauth"}, "name": {""}, "collection": {org}, "pat": {"left-in-the-hidden-field"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), e.sim.AzureDevOpsOAuthURL()+"/") {
		t.Fatalf("sign-in without a name: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	code, list := e.call("GET", "/api/v1/connections", nil)
	if vs := list["value"].([]any); code != http.StatusOK || len(vs) != 1 || vs[0].(map[string]any)["name"] != org || vs[0].(map[string]any)["type"] != services.TypeServicesOAuth {
		t.Fatalf("connections: %d %v", code, list)
	}
}
