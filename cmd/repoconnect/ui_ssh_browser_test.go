package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	bt "github.com/repoconnect/repoconnect/web/browsertest"
)

// SSH on the connection page, as a user meets it in the demo: a Server connection with a build
// profile; Generate a key; the public key read on the page and added in the simulator through
// the page's link (User settings > SSH public keys); Check SSH shows the host key to compare
// (the simulator's own) with "Trust this host key"; trusted, Check SSH passes; Clone now on
// the profile succeeds over SSH, and once the key is removed in the simulator Clone now fails
// with the key not added: the clone went over SSH. At 1280×900 and 375×812, axe and the
// focus-contrast rule at each state of the section; a refused private key's error takes the
// focus.
func TestBrowserSSHKeyCheckAndClone(t *testing.T) {
	for _, vp := range pageWidths {
		t.Run(vp.name, func(t *testing.T) {
			d := runDemo(t)
			conn := d.api("POST", "/api/v1/connections", fmt.Sprintf(`{"name":"ssh-demo","type":"server-pat","serverUrl":%q,"collection":%q,"pat":%q}`,
				d.serverURL, d.collection, d.pat))
			id := conn["id"].(string)
			repo := d.api("GET", "/api/v1/connections/"+id+"/repositories?q=android", "")["value"].([]any)[0].(map[string]any)
			prof := d.api("POST", "/api/v1/build-profiles", fmt.Sprintf(`{"name":"android over ssh","connectionId":%q,"repositoryId":%q,"branch":"main"}`,
				id, repo["id"].(string)))
			pid := prof["id"].(string)

			b := bt.New(t)
			check := func(step string) {
				t.Helper()
				b.Shot(vp.name + "-ssh-" + step)
				accessible(t, b, vp.name+" ssh "+step)
				var wide bool
				b.Run("sideways scroll at "+step, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &wide))
				if wide {
					t.Errorf("%s: the page scrolls sideways at %d px", step, vp.width)
				}
			}
			page := d.service + "/ui/connections/" + id
			var roles string
			b.Run("the connection page without a key",
				bt.Viewport(vp.width, vp.height, vp.mobile),
				chromedp.Navigate(page),
				chromedp.WaitVisible(`#ssh [data-ssh=none] #ssh-generate`, chromedp.ByQuery),
				bt.Text(`#ssh [data-testid=ssh-roles]`, &roles),
			)
			if !strings.Contains(roles, "lists projects, repositories and branches") || !strings.Contains(roles, "The SSH key clones.") {
				t.Errorf("which credential does what: %q", roles)
			}
			check("none")

			var focused string
			b.Run("a private key that is not one: the error takes the focus",
				chromedp.Click(`.ssh-own > summary`, chromedp.ByQuery),
				chromedp.WaitVisible(`#ssh-private-key`, chromedp.ByQuery),
				chromedp.SendKeys(`#ssh-private-key`, "not a private key", chromedp.ByQuery),
				chromedp.Click(`#ssh-use-own`, chromedp.ByQuery),
				chromedp.WaitVisible(`#ssh-private-key-error`, chromedp.ByQuery),
				bt.WaitJS(`!!document.activeElement && !!document.activeElement.closest('#ssh') && document.activeElement.matches('.alert.error, .field-error')`),
				chromedp.Evaluate(`document.activeElement.textContent`, &focused),
			)
			for _, e := range b.ConsoleErrors() { // the refusal's 400, and nothing else
				if !strings.Contains(e, "status of 400") {
					t.Errorf("the pages reported an error: %q", e)
				}
			}
			if !strings.Contains(focused, "key") {
				t.Errorf("the focused error does not say what is wrong with the key: %q", focused)
			}
			check("own-key-refused")

			var pub, fp, addURL string
			var ok bool
			b.Run("Generate a key",
				chromedp.Click(`#ssh-generate`, chromedp.ByQuery),
				chromedp.WaitVisible(`#ssh [data-ssh=key] #ssh-public-key`, chromedp.ByQuery),
				chromedp.Value(`#ssh-public-key`, &pub, chromedp.ByQuery),
				bt.Text(`#ssh-fingerprint`, &fp),
				chromedp.AttributeValue(`#ssh-add-key`, "href", &addURL, &ok, chromedp.ByQuery),
			)
			if !strings.HasPrefix(pub, "ssh-rsa ") || !strings.HasPrefix(fp, "SHA256:") || !ok {
				t.Fatalf("after Generate: public key %q, fingerprint %q, link %q", pub, fp, addURL)
			}
			if u, err := url.Parse(addURL); err != nil || !strings.HasSuffix(u.Path, "/"+d.collection+"/_usersSettings/keys") {
				t.Fatalf("the Add it link is %q, not the collection's User settings > SSH public keys", addURL)
			}
			check("key")

			b.Run("add the key in the simulator through the link",
				chromedp.Navigate(addURL),
				chromedp.WaitVisible(`#add-key`, chromedp.ByQuery),
				chromedp.SendKeys(`#name`, "repoconnect", chromedp.ByQuery),
				chromedp.SetValue(`#key`, pub, chromedp.ByQuery),
				chromedp.Click(`#add-key button[type=submit]`, chromedp.ByQuery),
				bt.WaitText(`#keys`, fp),
			)

			var seen string
			b.Run("Check SSH shows the host key to compare",
				chromedp.Navigate(page+"#ssh"),
				chromedp.WaitVisible(`#ssh-check`, chromedp.ByQuery),
				chromedp.Click(`#ssh-check`, chromedp.ByQuery),
				chromedp.WaitVisible(`[data-ssh-outcome=host_key_unconfirmed] #ssh-trust`, chromedp.ByQuery),
				bt.Text(`#ssh-host-fingerprint`, &seen),
				bt.WaitText(`[data-ssh-outcome]`, "Compare it with the fingerprint your server administrator gives you."),
				// The outcome, shown in place, takes the focus (a screen reader reads it).
				bt.WaitJS(`!!document.activeElement && document.activeElement.matches('[data-ssh-outcome]')`),
			)
			if seen != azdosim.DefaultSSHHostKeyFingerprint {
				t.Fatalf("the page shows host key %q; the simulator's is %q", seen, azdosim.DefaultSSHHostKeyFingerprint)
			}
			check("host-key")

			b.Run("Trust this host key, then Check SSH passes",
				chromedp.Click(`#ssh-trust`, chromedp.ByQuery),
				chromedp.WaitVisible(`#ssh [data-ssh-notice]`, chromedp.ByQuery),
				// The section was just swapped in: once htmx has settled it, the new Check SSH
				// is pressed where it is (a click by coordinates could land where it was before
				// the phone's page scrolled to the notice).
				bt.WaitJS(`!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling') && !!document.querySelector('#ssh-check')`),
				chromedp.Evaluate(`document.querySelector('#ssh-check').click()`, nil),
				chromedp.WaitVisible(`[data-ssh-outcome=ok]`, chromedp.ByQuery),
			)
			check("ok")
			if c := d.api("GET", "/api/v1/connections/"+id, ""); c["cloneOver"] != "ssh" {
				t.Fatalf("the connection clones over %v", c["cloneOver"])
			}

			var commit string
			b.Run("Clone now succeeds over SSH",
				chromedp.Navigate(d.service+"/ui/build-profiles/"+pid),
				chromedp.WaitVisible(`#clone-now`, chromedp.ByQuery),
				chromedp.Click(`#clone-now`, chromedp.ByQuery),
				chromedp.WaitVisible(`#clone [data-state=succeeded] [data-testid=commit]`, chromedp.ByQuery),
				bt.Text(`#clone [data-testid=commit]`, &commit),
			)
			if !hex40.MatchString(commit) {
				t.Fatalf("the clone shows commit %q", commit)
			}

			// The key removed in the simulator, a clone fails as the key not added: it went
			// over SSH, not over HTTPS with the PAT (which still works).
			var failure string
			b.Run("remove the key in the simulator, Clone now fails over SSH",
				chromedp.Navigate(addURL),
				chromedp.WaitVisible(`#keys`, chromedp.ByQuery),
				chromedp.Click(`#keys button[aria-label="Remove repoconnect"]`, chromedp.ByQuery),
				chromedp.WaitVisible(`#no-keys`, chromedp.ByQuery),
				chromedp.Navigate(d.service+"/ui/build-profiles/"+pid),
				bt.WaitJS(`!!document.querySelector('#clone-now') && !document.querySelector('#clone-now').disabled`),
				chromedp.Click(`#clone-now`, chromedp.ByQuery),
				chromedp.WaitVisible(`#clone [data-state=failed]`, chromedp.ByQuery),
				bt.Text(`#clone [data-state=failed]`, &failure),
			)
			if !strings.Contains(failure, "SSH") && !strings.Contains(failure, "ssh") {
				t.Errorf("the failed clone does not say SSH: %q", failure)
			}

			// A saved port is shown with a control that clears it (the port of the server's
			// SSH URL is dialled again).
			if c := d.api("PUT", "/api/v1/connections/"+id+"/ssh-key", `{"port":2222}`); c["ssh"].(map[string]any)["port"] != float64(2222) {
				t.Fatalf("the API did not save the port: %v", c["ssh"])
			}
			b.Run("the page shows the saved port",
				chromedp.Navigate(page+"#ssh"),
				chromedp.WaitVisible(`#ssh-clear-port`, chromedp.ByQuery),
			)
			check("port")
			b.Run("use the port of the server's SSH URL",
				chromedp.Click(`#ssh-clear-port`, chromedp.ByQuery),
				bt.WaitText(`#ssh [data-ssh-notice]`, "saved SSH port is cleared"),
				bt.WaitJS(`!document.querySelector('#ssh-clear-port')`),
			)
			if port := d.api("GET", "/api/v1/connections/"+id, "")["ssh"].(map[string]any)["port"]; port != nil {
				t.Errorf("the port is %v after clearing it", port)
			}
			if errs := b.ConsoleErrors(); len(errs) > 0 {
				t.Fatalf("the pages reported errors: %q", errs)
			}
		})
	}
}
