package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store/storetest"
)

// legacyWarning returns the legacy_oauth_app warning's message of a connection's JSON, and
// whether there is one.
func legacyWarning(conn map[string]any) (string, bool) {
	ws, _ := conn["warnings"].([]any)
	for _, w := range ws {
		if m, _ := w.(map[string]any); m["code"] == "legacy_oauth_app" {
			msg, _ := m["message"].(string)
			return msg, true
		}
	}
	return "", false
}

// ownAzureDevOpsApp is the oauth part of a connection on its own Azure DevOps OAuth app.
func ownAzureDevOpsApp() map[string]any {
	return map[string]any{"provider": "azure-devops", "clientId": azdoClientID, "clientSecret": azdoClientSecret}
}

// A connection on an Azure DevOps OAuth app carries legacy_oauth_app in its API answer, with
// the retirement notice and the way to Entra; Entra and PAT connections do not.
func TestLegacyOAuthWarningInAPI(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderEntra, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	legacyID, legacy := e.signIn(map[string]any{"name": "legacy", "oauth": ownAzureDevOpsApp()}, "Ada Lovelace")
	wantStatus(t, legacy, "authorized", "")
	msg, ok := legacyWarning(legacy)
	if !ok || !strings.Contains(msg, "April 2025") || !strings.Contains(msg, "2026") ||
		!strings.Contains(msg, "/api/v1/connections/"+legacyID+"/authorize") || !strings.Contains(msg, `"provider":"entra"`) {
		t.Errorf("legacy connection's warnings: %v", legacy["warnings"])
	}
	// The list shows it too.
	_, list := e.call("GET", "/api/v1/connections", nil)
	for _, c := range list["value"].([]any) {
		if m := c.(map[string]any); m["id"] == legacyID {
			if _, ok := legacyWarning(m); !ok {
				t.Errorf("the list's legacy connection has no warning: %v", m)
			}
		}
	}

	_, entra := e.signIn(map[string]any{"name": "entra"}, "Ada Lovelace")
	wantStatus(t, entra, "authorized", "")
	if _, ok := legacyWarning(entra); ok {
		t.Errorf("an Entra connection warns: %v", entra["warnings"])
	}

	const pat = "legacytestpat0123456789abcdefghijklmnopqrstu"
	e.sim.AddPAT(azdosim.PAT{Token: pat, UserName: "Pat User"})
	code, pc := e.call("POST", "/api/v1/connections", map[string]any{"name": "pat", "type": "services-pat", "organization": org, "pat": pat})
	if code != http.StatusCreated {
		t.Fatalf("PAT connection: %d %v", code, pc)
	}
	if _, ok := legacyWarning(e.get(pc["id"].(string))); ok {
		t.Errorf("a PAT connection warns: %v", pc["warnings"])
	}
}

// The page of a connection on an Azure DevOps OAuth app shows the notice and the move button;
// the button re-authorizes through the operator's Entra app (the simulator's Entra endpoint),
// and once signed in the connection is on Entra, authorized, and the warning and the button
// are gone.
func TestLegacyOAuthMoveToEntraOnPage(t *testing.T) {
	e := newOAuthEnv(t, azuredevops.ProviderEntra, 1)
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	id, _ := e.signIn(map[string]any{"name": "legacy", "oauth": ownAzureDevOpsApp()}, "Ada Lovelace")
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)

	resp, page := a.do("GET", "/ui/connections/"+id, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-warning="legacy_oauth_app"`) || !strings.Contains(page, "April 2025") ||
		!strings.Contains(page, `id="move-to-entra-button"`) || !strings.Contains(page, `name="to" value="entra"`) {
		t.Fatalf("the legacy connection's page: %d %s", resp.StatusCode, page)
	}

	resp, body := a.do("POST", "/ui/connections/"+id+"/authorize", url.Values{"to": {"entra"}})
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(authURL, e.sim.EntraAuthorityURL()+"/"+e.sim.TenantID()+"/") {
		t.Fatalf("move: %d to %q %s", resp.StatusCode, authURL, body)
	}
	resp, body = a.do("GET", strings.TrimPrefix(e.callbackURL(authURL), a.base), nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "status=authorized") {
		t.Fatalf("callback of the move: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	conn := e.get(id)
	wantStatus(t, conn, "authorized", "")
	if o, _ := conn["oauth"].(map[string]any); o["provider"] != azuredevops.ProviderEntra || o["defaultApp"] != true {
		t.Errorf("after the move the app is %v", conn["oauth"])
	}
	if _, ok := legacyWarning(conn); ok {
		t.Errorf("the warning stays after the move: %v", conn["warnings"])
	}
	// The Entra token works: the connection lists its projects.
	if code, m := e.call("GET", "/api/v1/connections/"+id+"/projects", nil); code != http.StatusOK {
		t.Errorf("projects after the move: %d %v", code, m)
	}
	if _, page = a.do("GET", "/ui/connections/"+id, nil); strings.Contains(page, "legacy_oauth_app") || strings.Contains(page, "move-to-entra") {
		t.Errorf("the page still offers the move: %s", page)
	}
}

// Without an Entra app configured, the page says the operator must configure one and has no
// move button; a move posted anyway is refused and leaves the connection on its app.
func TestLegacyOAuthWithoutEntraConfigured(t *testing.T) {
	e := newOAuthUIEnv(t) // the default app is an Azure DevOps OAuth app
	id, conn := e.signIn(map[string]any{"name": "legacy"}, "Ada Lovelace")
	msg, ok := legacyWarning(conn)
	if !ok || !strings.Contains(msg, "operator must configure a Microsoft Entra ID app") {
		t.Fatalf("warnings: %v", conn["warnings"])
	}
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	resp, page := a.do("GET", "/ui/connections/"+id, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-entra="not-configured"`) || strings.Contains(page, "move-to-entra-button") {
		t.Fatalf("the page: %d %s", resp.StatusCode, page)
	}
	resp, body := a.do("POST", "/ui/connections/"+id+"/authorize", url.Values{"to": {"entra"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Microsoft Entra ID app") {
		t.Fatalf("move without Entra: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if o, _ := e.get(id)["oauth"].(map[string]any); o["provider"] != azuredevops.ProviderAzureDevOps {
		t.Errorf("the refused move changed the app: %v", o)
	}
}

// An organization not connected to an Entra tenant (X-VSS-ResourceTenant all zeros: personal
// Microsoft accounts) cannot move: its warning says so, and a move is refused before any
// sign-in starts, leaving the connection on its Azure DevOps OAuth app and authorized.
func TestLegacyOAuthOrganizationWithoutTenant(t *testing.T) {
	e := &oauthEnv{t: t, clock: storetest.NewClock(time.Now()), dir: t.TempDir(), logs: &syncBuffer{}}
	e.sim = azdosimtest.StartServices(t, azdosim.Options{Collections: []string{org}, Seed: true,
		TenantID: "00000000-0000-0000-0000-000000000000"})
	kr, _, err := secrets.LoadOrCreateFile(filepath.Join(e.dir, "sealing.key"))
	if err != nil {
		t.Fatal(err)
	}
	e.kr, e.be = kr, newBackend(t, onBolt, e.clock.Now)
	e.addInstance(azuredevops.ProviderEntra)
	callback := e.apis[0].URL + "/connector/callback"
	e.sim.RegisterOAuthApp(azdosim.OAuthApp{ClientID: azdoClientID, ClientSecret: azdoClientSecret,
		Scopes: azuredevops.DefaultScopes, CallbackURL: callback})
	if e.key, _, err = e.svcs[0].CreateAPIKey(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetOAuthPolicy(org, true); err != nil {
		t.Fatal(err)
	}
	id, conn := e.signIn(map[string]any{"name": "msa-org", "oauth": ownAzureDevOpsApp()}, "Ada Lovelace")
	wantStatus(t, conn, "authorized", "")
	if msg, ok := legacyWarning(conn); !ok || !strings.Contains(msg, "not connected to a Microsoft Entra tenant") {
		t.Fatalf("warnings: %v", conn["warnings"])
	}
	code, m := e.call("POST", "/api/v1/connections/"+id+"/authorize", map[string]any{"oauth": map[string]any{"provider": "entra"}})
	if code != http.StatusBadRequest || m["field"] != "oauth.provider" || !strings.Contains(fmt.Sprint(m["detail"]), "not connected to a Microsoft Entra tenant") {
		t.Fatalf("move through the API: %d %v", code, m)
	}
	a := newUIBrowser(t, e.apis[0].URL).signIn(e.key)
	resp, body := a.do("POST", "/ui/connections/"+id+"/authorize", url.Values{"to": {"entra"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not connected to a Microsoft Entra tenant") {
		t.Fatalf("move: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	conn = e.get(id)
	wantStatus(t, conn, "authorized", "")
	if o, _ := conn["oauth"].(map[string]any); o["provider"] != azuredevops.ProviderAzureDevOps {
		t.Errorf("the refused move changed the app: %v", o)
	}
}

// The operator's switch of the default app from an Azure DevOps OAuth app to an Entra app
// (every instance restarted with the new configuration; here instance 1 shares the store): a
// connection made on the old default app warns and moves with the page's button, and the
// sign-in completes on an instance configured with Entra.
func TestLegacyOAuthDefaultAppSwitchedToEntra(t *testing.T) {
	e := newOAuthUIEnv(t) // instance 0: the Azure DevOps OAuth app is the default
	id, _ := e.signIn(map[string]any{"name": "old-default"}, "Ada Lovelace")
	e.addInstance(azuredevops.ProviderEntra) // instance 1: Entra is the default now
	a := newUIBrowser(t, e.apis[1].URL).signIn(e.key)
	resp, page := a.do("GET", "/ui/connections/"+id, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-warning="legacy_oauth_app"`) || !strings.Contains(page, `id="move-to-entra-button"`) {
		t.Fatalf("the page on the Entra instance: %d %s", resp.StatusCode, page)
	}
	resp, body := a.do("POST", "/ui/connections/"+id+"/authorize", url.Values{"to": {"entra"}})
	authURL := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(authURL, e.sim.EntraAuthorityURL()+"/") {
		t.Fatalf("move: %d to %q %s", resp.StatusCode, authURL, body)
	}
	// The registered redirect URI names instance 0; the sign-in's state lives in the shared
	// store, so instance 1 (configured like every instance after the switch) completes it.
	callback := strings.TrimPrefix(e.callbackURL(authURL), e.apis[0].URL)
	if resp, body = a.do("GET", callback, nil); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "status=authorized") {
		t.Fatalf("callback on the Entra instance: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	_, conn := e.callOn(1, "GET", "/api/v1/connections/"+id, nil)
	wantStatus(t, conn, "authorized", "")
	if o, _ := conn["oauth"].(map[string]any); o["provider"] != azuredevops.ProviderEntra || o["defaultApp"] != true {
		t.Errorf("after the move the app is %v", conn["oauth"])
	}
	if _, ok := legacyWarning(conn); ok {
		t.Errorf("the warning stays: %v", conn["warnings"])
	}
}
