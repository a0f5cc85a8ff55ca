package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/services"
)

// sshBrowser is a browser signed in to e's pages (web.New without a demo: sign-in by API key).
func (e *env) sshBrowser() *uiBrowser {
	return newUIBrowser(e.t, e.api.URL).signIn(e.key)
}

// sshSectionOf is the #ssh section of a page, or an htmx answer (the section's body), with
// its character references resolved (html/template writes "+" as "&#43;").
func sshSectionOf(t *testing.T, page string) string {
	t.Helper()
	if strings.HasPrefix(page, `<div class="ssh-body"`) {
		return html.UnescapeString(page)
	}
	i := strings.Index(page, `<section id="ssh"`)
	if i < 0 {
		t.Fatalf("no SSH section in %s", page)
	}
	j := strings.Index(page[i:], "</section>")
	return html.UnescapeString(page[i : i+j])
}

// The SSH section without JavaScript: every form posts and redirects to the page's section;
// the page shows the key, the check's outcome recorded on the connection, the trusted host
// key, and the removal's confirmation. A refused form answers the page with the field's
// error and the page's own address.
func TestUISSHWithoutJavaScript(t *testing.T) {
	e := newSSHEnv(t)
	id := e.createConnection()
	b := e.sshBrowser()
	page := "/ui/connections/" + id
	_, out := b.do("GET", page, nil)
	s := sshSectionOf(t, out)
	if !strings.Contains(s, `data-ssh="none"`) || !strings.Contains(s, "Accepted types: rsa") {
		t.Fatalf("the section without a key: %s", s)
	}

	resp, _ := b.do("POST", page+"/ssh-key", url.Values{"mode": {"generate"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"#ssh" {
		t.Fatalf("Generate: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	conn, err := e.svc.GetConnection(context.Background(), services.DefaultTenant, id)
	uiMust(t, err)
	if conn.SSH == nil {
		t.Fatal("Generate stored no key")
	}
	_, out = b.do("GET", page, nil)
	s = sshSectionOf(t, out)
	if !strings.Contains(s, ">"+conn.SSH.PublicKey+"</textarea>") || !strings.Contains(s, conn.SSH.Fingerprint) ||
		!strings.Contains(s, `href="`+conn.SSH.AddKeyURL+`"`) {
		t.Fatalf("the section with a key: %s", s)
	}

	if resp, _ = b.do("POST", page+"/ssh-check", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Check SSH: %d", resp.StatusCode)
	}
	_, out = b.do("GET", page, nil)
	s = sshSectionOf(t, out)
	fp := e.sim.SSHHostKeyFingerprint()
	if !strings.Contains(s, `data-ssh-outcome="host_key_unconfirmed"`) || !strings.Contains(s, `value="`+fp+`"`) || !strings.Contains(s, `id="ssh-host-addr">127.0.0.1:`) {
		t.Fatalf("the first check's outcome: %s", s)
	}
	if resp, _ = b.do("POST", page+"/ssh-host-key", url.Values{"fingerprint": {fp}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Trust this host key: %d", resp.StatusCode)
	}
	_, out = b.do("GET", page, nil)
	if s = sshSectionOf(t, out); !strings.Contains(s, "<dt>Trusted host key</dt>") || !strings.Contains(s, fp) {
		t.Fatalf("the trusted host key: %s", s)
	}

	// A refused port: the page, 400, with the field's error and the page's own address.
	resp, out = b.do("POST", page+"/ssh-key", url.Values{"mode": {"port"}, "port": {"seventy"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, `data-canonical="`+page+`"`) || !strings.Contains(out, `data-field="port"`) {
		t.Errorf("a refused port: %d %s", resp.StatusCode, sshSectionOf(t, out))
	}

	_, out = b.do("GET", page+"/ssh-key/remove", nil)
	if s = sshSectionOf(t, out); !strings.Contains(s, "Remove the SSH key?") || !strings.Contains(s, `action="`+page+`/ssh-key/remove"`) {
		t.Fatalf("the removal's confirmation: %s", s)
	}
	if c, _ := e.svc.GetConnection(context.Background(), services.DefaultTenant, id); c.SSH == nil {
		t.Fatal("asking to confirm removed the key")
	}
	if resp, _ = b.do("POST", page+"/ssh-key/remove", url.Values{}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Remove: %d", resp.StatusCode)
	}
	_, out = b.do("GET", page, nil)
	if s = sshSectionOf(t, out); !strings.Contains(s, `data-ssh="none"`) {
		t.Fatalf("after Remove: %s", s)
	}
}

// With htmx, each form answers the section's body alone (200, or the refusal's status with the
// field's error); a supplied private key is never in an answer.
func TestUISSHWithHtmx(t *testing.T) {
	e := newSSHEnv(t)
	id := e.createConnection()
	b := e.sshBrowser()
	page := "/ui/connections/" + id
	hx := []string{"HX-Request", "true"}

	pemText := rsaPEM(t, "")
	resp, out := b.do("POST", page+"/ssh-key", url.Values{"mode": {"own"}, "privateKey": {"-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----"}}, hx...)
	if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(out, `<div class="ssh-body"`) ||
		!strings.Contains(out, `id="ssh-private-key-error" role="alert"`) || !strings.Contains(out, `<details class="ssh-own" open>`) {
		t.Fatalf("a refused private key: %d %s", resp.StatusCode, out)
	}
	resp, out = b.do("POST", page+"/ssh-key", url.Values{"mode": {"own"}, "privateKey": {pemText}}, hx...)
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, `data-ssh="key"`) || !strings.Contains(out, "data-ssh-notice") {
		t.Fatalf("own key: %d %s", resp.StatusCode, out)
	}
	for _, s := range pemSecrets(t, pemText, "") {
		if strings.Contains(html.UnescapeString(out), s) {
			t.Fatalf("the answer carries the private key: %.60q", s)
		}
	}
	for _, s := range pemSecrets(t, pemText, "") {
		if strings.Contains(e.logs.String(), s) {
			t.Fatalf("the log carries the private key: %.60q", s)
		}
	}
	conn, err := e.svc.GetConnection(context.Background(), services.DefaultTenant, id)
	uiMust(t, err)
	if conn.SSH.Generated {
		t.Error("the supplied key is marked generated")
	}

	// The host key first, then the key is not added yet: the link to add it again.
	resp, out = b.do("POST", page+"/ssh-check", url.Values{}, hx...)
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, `data-ssh-outcome="host_key_unconfirmed"`) || !strings.Contains(out, `role="alert" tabindex="-1" autofocus`) {
		t.Fatalf("the first check: %d %s", resp.StatusCode, out)
	}
	resp, out = b.do("POST", page+"/ssh-host-key", url.Values{"fingerprint": {e.sim.SSHHostKeyFingerprint()}}, hx...)
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, "The host key is trusted") {
		t.Fatalf("Trust this host key: %d %s", resp.StatusCode, out)
	}
	resp, out = b.do("POST", page+"/ssh-check", url.Values{}, hx...)
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, `data-ssh-outcome="ssh_key_not_added"`) || !strings.Contains(out, `class="ssh-add-again"`) {
		t.Fatalf("the check before the key is added: %d %s", resp.StatusCode, out)
	}
	uiMust(t, e.sim.AddSSHPublicKey("API Tester", conn.SSH.PublicKey))
	resp, out = b.do("POST", page+"/ssh-check", url.Values{}, hx...)
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, `data-ssh-outcome="ok"`) || !strings.Contains(out, " refs of ") {
		t.Fatalf("the check with the key added: %d %s", resp.StatusCode, out)
	}

	// Another tenant's connection is a page not found.
	other, _, err := e.svc.CreateAPIKey(context.Background(), "other")
	uiMust(t, err)
	ob := newUIBrowser(t, e.api.URL).signIn(other)
	if resp, _ := ob.do("POST", page+"/ssh-check", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another tenant's Check SSH: %d", resp.StatusCode)
	}
	if resp, _ := ob.do("GET", page+"/ssh-key/remove", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another tenant's removal page: %d", resp.StatusCode)
	}
	// A cross-site form post is refused, as on every page.
	if resp, _ := b.do("POST", page+"/ssh-key/remove", url.Values{}, "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site removal: %d", resp.StatusCode)
	}
	if c, _ := e.svc.GetConnection(context.Background(), services.DefaultTenant, id); c.SSH == nil {
		t.Error("a refused removal removed the key")
	}
}

// The SSH form names what it does: a post without a mode, or with one the page does not know,
// is refused (400 naming mode, the page again) and stores nothing; it never generates a key
// that would replace one already added in Azure DevOps. A new key keeps the port saved.
func TestUISSHModeRequired(t *testing.T) {
	e := newSSHEnv(t)
	id := e.createConnection()
	b := e.sshBrowser()
	page := "/ui/connections/" + id
	stored := func() *services.SSHView {
		t.Helper()
		conn, err := e.svc.GetConnection(context.Background(), services.DefaultTenant, id)
		uiMust(t, err)
		return conn.SSH
	}
	refused := func(what string, form url.Values, hx ...string) {
		t.Helper()
		resp, out := b.do("POST", page+"/ssh-key", form, hx...)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, `data-field="mode"`) {
			t.Fatalf("%s: %d %s", what, resp.StatusCode, out)
		}
		if len(hx) == 0 && !strings.Contains(out, `data-canonical="`+page+`"`) {
			t.Errorf("%s: not the page again: %s", what, out)
		}
	}
	refused("no mode, no key", url.Values{"keyType": {"rsa"}})
	if v := stored(); v != nil {
		t.Fatalf("a post without a mode stored a key: %s", v.Fingerprint)
	}
	// A blank paste is refused beside the key's field, not read as a change of port.
	resp, out := b.do("POST", page+"/ssh-key", url.Values{"mode": {"own"}, "privateKey": {" \n "}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, `id="ssh-private-key-error"`) || !strings.Contains(out, "aste the private key, from its -----BEGIN line") {
		t.Fatalf("a blank private key: %d %s", resp.StatusCode, out)
	}

	if resp, _ := b.do("POST", page+"/ssh-key", url.Values{"mode": {"generate"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Generate: %d", resp.StatusCode)
	}
	before := stored()
	if before == nil {
		t.Fatal("Generate stored no key")
	}
	refused("no mode", url.Values{})
	refused("an unknown mode", url.Values{"mode": {"regenerate"}})
	refused("an unknown mode, htmx", url.Values{"mode": {"Generate"}}, "HX-Request", "true")
	if after := stored(); after == nil || after.Fingerprint != before.Fingerprint {
		t.Fatalf("a refused post changed the key: %v", after)
	}

	// The page's "Generate a new key" posts no port: the port the user saved stays.
	if resp, _ := b.do("POST", page+"/ssh-key", url.Values{"mode": {"port"}, "port": {"2222"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Save the port: %d", resp.StatusCode)
	}
	if resp, _ := b.do("POST", page+"/ssh-key", url.Values{"mode": {"generate"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Generate a new key: %d", resp.StatusCode)
	}
	if after := stored(); after == nil || after.Fingerprint == before.Fingerprint || after.Port != 2222 {
		t.Fatalf("a new key from the page: %+v, want a new fingerprint and port 2222", after)
	}

	// The saved port is shown with a control that clears it, which posts mode port alone.
	resp, out = b.do("GET", page, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, `id="ssh-clear-port"`) {
		t.Fatalf("the page with a saved port: %d, no control to clear it", resp.StatusCode)
	}
	resp, out = b.do("POST", page+"/ssh-key", url.Values{"mode": {"port"}}, "HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(out, "saved SSH port is cleared") || strings.Contains(out, `id="ssh-clear-port"`) {
		t.Fatalf("clearing the port: %d\n%s", resp.StatusCode, out)
	}
	if after := stored(); after == nil || after.Port != 0 {
		t.Fatalf("after clearing the port: %+v", after)
	}
}
