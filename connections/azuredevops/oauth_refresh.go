package azuredevops

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/repoconnect/repoconnect/connections"
)

// refreshSource is the oauth2.TokenSource of a refresh. Azure DevOps OAuth wants the refresh
// token in "assertion" next to the client secret in "client_assertion" (docs/azure-devops-protocol.md §6);
// Entra wants RFC 6749's refresh_token with client_id, the client secret when the app has one,
// and the scope of the app's Azure DevOps scopes plus offline_access (golang/oauth2#540:
// x/oauth2 sends no scope on refresh). Every call to Token sends one request; nothing is
// cached.
type refreshSource struct {
	ctx     context.Context
	hc      *http.Client
	app     OAuthApp
	refresh connections.Secret
	tenant  string
}

// form is the refresh request's body.
func (s *refreshSource) form(c *oauth2.Config) url.Values {
	if s.app.Provider == ProviderEntra {
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.refresh.Reveal()},
			"client_id": {s.app.ClientID}, "scope": {strings.Join(c.Scopes, " ")}}
		if c.ClientSecret != "" {
			f.Set("client_secret", c.ClientSecret)
		}
		return f
	}
	return url.Values{
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {s.app.ClientSecret.Reveal()},
		"grant_type":            {"refresh_token"},
		"assertion":             {s.refresh.Reveal()},
		"redirect_uri":          {s.app.CallbackURL},
	}
}

var _ oauth2.TokenSource = (*refreshSource)(nil)

// Token posts the refresh form and returns the new pair: token type forced to "Bearer",
// expires_in read as seconds (a string from Azure DevOps, a number from Entra), the rotated refresh token in RefreshToken and the granted
// scopes in Extra("scope"). Errors are *connections.Error (see classifyOAuth).
func (s *refreshSource) Token() (*oauth2.Token, error) {
	c := s.app.config(s.tenant)
	tokenURL := c.Endpoint.TokenURL
	form := s.form(c)
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, classifyOAuth(s.app.Provider, tokenURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, classifyOAuth(s.app.Provider, tokenURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, classifyOAuth(s.app.Provider, tokenURL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, classifyOAuth(s.app.Provider, tokenURL, parseOAuthError(resp.StatusCode, body))
	}
	var tj tokenJSON
	if err := json.Unmarshal(body, &tj); err != nil || tj.AccessToken == "" {
		return nil, classifyOAuth(s.app.Provider, tokenURL, errUnreadableToken)
	}
	t := &oauth2.Token{AccessToken: tj.AccessToken, TokenType: "Bearer", RefreshToken: tj.RefreshToken}
	if secs := tj.expiresIn(); secs > 0 {
		t.Expiry = time.Now().Add(time.Duration(secs) * time.Second)
	}
	return t.WithExtra(map[string]any{"scope": string(tj.Scope)}), nil
}

// errUnreadableToken: a 2xx answer without a JSON access_token.
var errUnreadableToken = errorString("the token answer has no access_token")

// tokenJSON is a token answer. ExpiresIn is a JSON string in Azure DevOps OAuth ("3599") and
// a number in Entra; both are accepted. The token type is not read (the token is always sent
// as Bearer) and the scope is read tolerantly, so neither fails a decode.
type tokenJSON struct {
	AccessToken  string          `json:"access_token"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	Scope        wireText        `json:"scope"`
}

func (t tokenJSON) expiresIn() int64 {
	raw := strings.Trim(string(t.ExpiresIn), `" `)
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
