package azuredevops

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
)

// TestRefreshAccessTokenNotValid: Azure DevOps OAuth's answer to a refresh token that is no
// longer valid, 400 invalid_request "The access token is not valid"
// (MicrosoftDocs/azure-devops-docs#8583), is a refused grant; other invalid_request answers,
// and the same words from Entra, stay oauth_error.
func TestRefreshAccessTokenNotValid(t *testing.T) {
	cases := []struct {
		name, provider, body string
		kind                 error
		reason               connections.Reason
	}{
		{"captured body", ProviderAzureDevOps, `{"Error":"invalid_request","ErrorDescription":"The access token is not valid"}`,
			connections.ErrUnauthorized, connections.ReasonGrantInvalid},
		{"with a period", ProviderAzureDevOps, `{"Error":"invalid_request","ErrorDescription":"The access token is not valid."}`,
			connections.ErrUnauthorized, connections.ReasonGrantInvalid},
		{"other invalid_request", ProviderAzureDevOps, `{"Error":"invalid_request","ErrorDescription":"The parameter assertion is missing."}`,
			connections.ErrProtocol, connections.ReasonOAuthError},
		{"Entra with the same words", ProviderEntra, `{"error":"invalid_request","error_description":"The access token is not valid"}`,
			connections.ErrProtocol, connections.ReasonOAuthError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := oauthFakeTokenEndpoint(t, 400, "application/json", c.body)
			app := OAuthApp{Provider: c.provider, ClientID: "c", ClientSecret: "s", CallbackURL: oauthCallback,
				AzureDevOpsURL: base, EntraAuthorityURL: base}
			_, err := app.Refresh(t.Context(), oauthHTTPClient(), "old-refresh-token", "t")
			e := connections.AsError(err)
			if e == nil || !errors.Is(err, c.kind) || e.Reason != c.reason {
				t.Fatalf("%T %v; want %v/%s", err, err, c.kind, c.reason)
			}
			if IsTransient(err) {
				t.Error("a refused refresh is transient")
			}
		})
	}
}

// TestEntraRefreshSendsScope: the Entra refresh request carries the app's scopes (resource
// prefixed, plus offline_access), the client id and secret, at the tenant's authority
// (golang/oauth2#540).
func TestEntraRefreshSendsScope(t *testing.T) {
	var mu sync.Mutex
	var got url.Values
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		got, path = r.PostForm, r.URL.Path
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"new-access","refresh_token":"new-refresh","scope":"499b84ac-1321-427f-aa17-267ca6975798/vso.code"}`))
	}))
	t.Cleanup(srv.Close)
	app := OAuthApp{Provider: ProviderEntra, ClientID: "client-1", ClientSecret: "secret-1", CallbackURL: oauthCallback,
		Scopes: []string{"vso.project", "vso.code"}, EntraAuthorityURL: srv.URL}
	tok, err := app.Refresh(t.Context(), srv.Client(), "refresh-1", "tenant-1")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := AzureDevOpsResourceID + "/vso.code " + AzureDevOpsResourceID + "/vso.project offline_access"
	if got.Get("scope") != want || got.Get("grant_type") != "refresh_token" || got.Get("refresh_token") != "refresh-1" ||
		got.Get("client_id") != "client-1" || got.Get("client_secret") != "secret-1" || got.Has("assertion") {
		t.Fatalf("refresh form %v; want scope %q", got, want)
	}
	if path != "/tenant-1/oauth2/v2.0/token" {
		t.Fatalf("posted to %s", path)
	}
	if tok.Access.Reveal() != "new-access" || tok.Refresh.Reveal() != "new-refresh" || !strings.Contains(strings.Join(tok.Scopes, " "), "vso.code") {
		t.Fatalf("token %+v", tok)
	}
}
