package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
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

// A form without its kind is refused naming the field (no connection, no OAuth sign-in).
func TestUIWizardNeedsKind(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	form := e.serverForm("no-kind", simPAT)
	form.Del("kind")
	resp, body := b.do("POST", "/ui/connections", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `data-field="kind"`) || resp.Header.Get("Location") != "" {
		t.Fatalf("create without kind: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if n := e.countConnections("acme"); n != 0 {
		t.Fatalf("%d connections stored", n)
	}
	_, body = b.do("POST", "/ui/connections/new/check", form, "HX-Request", "true")
	if !strings.Contains(body, `data-field="kind"`) {
		t.Fatalf("check without kind: %s", body)
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
	if resp, body = b.do("POST", "/ui/connections", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create from the pasted URL: %d %s", resp.StatusCode, body)
	}
	if n := e.countConnections("acme"); n != 1 {
		t.Fatalf("%d connections stored", n)
	}
}

// Typing a URL does not send the PAT anywhere: the server is asked only when the user
// presses "ask the server" (resolve=1), which the guessed-split note offers once a PAT is in.
// A team-scoped URL on a server without a virtual directory is such a guess; the common
// /tfs/DefaultCollection/{project}/_git/{repo} URL is not (its tfs segment settles the split).
func TestUIWizardResolvesOnlyWhenAsked(t *testing.T) {
	e := newUIEnv(t, false)
	b := e.browser().signIn(e.keys["acme"])
	plain := azdosimtest.Start(t, azdosim.Options{Seed: true}, azdosim.PAT{Token: simPAT, UserName: "UI Tester"})
	u, _ := url.Parse(plain.URL())
	form := url.Values{"kind": {"server"}, "remoteUrl": {u.Scheme + "://" + u.Host + "/DefaultCollection/Platform/Platform%20Team/_git/Platform"}, "pat": {simPAT}}
	_, body := b.do("POST", "/ui/connections/new/parse", form, "HX-Request", "true")
	// Still a guess: the server was not asked (an answer would have settled the split).
	if !strings.Contains(body, "is a guess") || !strings.Contains(body, "ask the server") || !strings.Contains(body, "project <code>Platform</code>") {
		t.Fatalf("typing a team-scoped URL with a PAT filled in: %s", body)
	}
	form.Set("resolve", "1")
	_, body = b.do("POST", "/ui/connections/new/parse", form, "HX-Request", "true")
	if strings.Contains(body, "is a guess") || !strings.Contains(body, "The server confirmed") || !strings.Contains(body, `data-testid="collection">DefaultCollection<`) {
		t.Fatalf("asked: %s", body)
	}
	if strings.Contains(body, "Platform Team") {
		t.Fatalf("the team is shown as a name: %s", body)
	}

	// Without a PAT the note says how to ask.
	form.Del("resolve")
	form.Set("pat", "")
	if _, body = b.do("POST", "/ui/connections/new/parse", form, "HX-Request", "true"); !strings.Contains(body, "is a guess") || !strings.Contains(body, "fill in the PAT") {
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
		if strings.Contains(body, "is a guess") || strings.Contains(body, "The server confirmed") ||
			!strings.Contains(body, `data-testid="vd">tfs<`) || !strings.Contains(body, `value="`+tfs.Scheme+"://"+tfs.Host+`"`) {
			t.Fatalf("%s: %s", remote, body)
		}
	}
}
