package azuredevops

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/repoconnect/repoconnect/connections"
)

// OAuth providers of Azure DevOps Services (docs/azure-devops-protocol.md §6). Server has no OAuth.
const (
	// ProviderAzureDevOps is an Azure DevOps OAuth app (app.vssps.visualstudio.com): no new
	// registrations since April 2025, removal announced for 2026.
	ProviderAzureDevOps = "azure-devops"
	// ProviderEntra is a Microsoft Entra ID app registration, the replacement.
	ProviderEntra = "entra"
)

// Well-known addresses and ids (docs/azure-devops-protocol.md §6).
const (
	// DefaultAzureDevOpsOAuthURL is the base of the Azure DevOps OAuth endpoints
	// ({base}/oauth2/authorize, {base}/oauth2/token).
	DefaultAzureDevOpsOAuthURL = "https://app.vssps.visualstudio.com"
	// DefaultEntraAuthorityURL is the base of the Entra endpoints
	// ({base}/{tenant}/oauth2/v2.0/authorize|token).
	DefaultEntraAuthorityURL = "https://login.microsoftonline.com"
	// AzureDevOpsResourceID is Azure DevOps' resource (application) id in Entra; Entra scopes
	// are "{resource}/vso.code" and so on.
	AzureDevOpsResourceID = "499b84ac-1321-427f-aa17-267ca6975798"
	// EntraDefaultTenant is the authority segment used when an organization names no tenant.
	EntraDefaultTenant = "organizations"
)

// DefaultScopes is the scope set a connection asks for when its operator names none: Code
// read and status, PR threads, Service Endpoints (read, query) and Project (docs/azure-devops-protocol.md
// §6, scope table). Each one enables calls the user sees: vso.code the catalog and clones,
// vso.code_status commit and pull-request statuses, vso.threads_full the pull-request thread,
// vso.serviceendpoint_query the service endpoint listing, vso.project the project list.
// vso.notification ("Notifications: read"), which Appcircle-style connections also ask for,
// is not among them: no call of the service needs it (service-hook subscriptions need
// vso.hooks_write, not it). NormalizeScopes still accepts it when listed explicitly, since an
// Azure DevOps OAuth app must be asked for exactly the scopes it registered.
var DefaultScopes = []string{"vso.code", "vso.code_status", "vso.threads_full",
	"vso.serviceendpoint_query", "vso.project"}

// ScopePurposes says in one phrase what each scope of DefaultScopes (and vso.notification,
// accepted when an operator lists it) is for, for pages and error messages.
var ScopePurposes = map[string]string{
	"vso.code":                  "read the code of repositories to clone them (Code: read)",
	"vso.code_status":           "post build status on commits (Code: status)",
	"vso.threads_full":          "comment on pull requests (PR threads: full)",
	"vso.serviceendpoint_query": "list a project's service connections for build profiles (Service Endpoints: read, query)",
	"vso.project":               "list projects (Project and team: read)",
	"vso.notification":          "not used by this service; asked for only when an OAuth app registered it (Notifications: read)",
}

// scopeName is the grammar of an Azure DevOps scope: vso.{area}[_{level}].
var scopeName = regexp.MustCompile(`^vso\.[a-z]+(_[a-z]+)*$`)

// NormalizeScopes validates scopes ("vso.code", also written space- or comma-separated in one
// entry) and returns them sorted without duplicates; empty means DefaultScopes. Errors are
// ErrInvalidInput on field, naming the first bad scope.
func NormalizeScopes(field string, scopes []string) ([]string, error) {
	var out []string
	for _, entry := range scopes {
		for _, sc := range strings.FieldsFunc(entry, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
			sc = strings.TrimPrefix(sc, AzureDevOpsResourceID+"/")
			if !scopeName.MatchString(sc) {
				return nil, invalid(field, "%q is not an Azure DevOps scope; scopes look like vso.code or vso.project (the default set is %s)", sc, strings.Join(DefaultScopes, " "))
			}
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		out = slices.Clone(DefaultScopes)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// OAuthApp is an OAuth app registration: the operator's default one or a connection's own.
//
// Provider is ProviderAzureDevOps or ProviderEntra. Scopes are short Azure DevOps scopes
// ("vso.code"); for Azure DevOps OAuth they must equal the scopes registered with the app, or
// the callback gets error=InvalidScope (§6). CallbackURL is the redirect URI registered with
// the app (…/connector/callback). AzureDevOpsURL and EntraAuthorityURL replace the public
// endpoints (DefaultAzureDevOpsOAuthURL, DefaultEntraAuthorityURL); the simulator sets them.
type OAuthApp struct {
	Provider          string
	ClientID          string
	ClientSecret      connections.Secret
	Scopes            []string
	CallbackURL       string
	AzureDevOpsURL    string
	EntraAuthorityURL string
}

// Validate checks the app's settings; errors are ErrInvalidInput naming the field under
// prefix ("oauth.clientId", ...). An Entra app may have no secret (public client with PKCE).
func (a OAuthApp) Validate(prefix string) error {
	switch a.Provider {
	case ProviderAzureDevOps, ProviderEntra:
	default:
		return invalid(prefix+"provider", "the OAuth provider must be %q (Azure DevOps OAuth app) or %q (Microsoft Entra ID), not %q", ProviderAzureDevOps, ProviderEntra, a.Provider)
	}
	if strings.TrimSpace(a.ClientID) == "" || len(a.ClientID) > 200 || strings.ContainsAny(a.ClientID, " \t\r\n") {
		return invalid(prefix+"clientId", "the OAuth app's client id is required: the application (client) id of the app registration")
	}
	if a.Provider == ProviderAzureDevOps && a.ClientSecret.Empty() {
		return invalid(prefix+"clientSecret", "an Azure DevOps OAuth app needs its client secret (app.vsaex.visualstudio.com > the app > Client secret)")
	}
	u, err := url.Parse(a.CallbackURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return invalid(prefix+"callbackUrl", "the callback URL must be the absolute http(s) URL registered with the app, ending in /connector/callback")
	}
	if _, err := NormalizeScopes(prefix+"scopes", a.Scopes); err != nil {
		return err
	}
	return nil
}

// Token is an OAuth token pair. Lifetime is expires_in of the answer (zero: not given), so a
// caller can date the expiry with its own clock; Expiry is that instant by the wall clock.
// Scopes are the scopes the provider granted, short form where it could be told.
type Token struct {
	Access   connections.Secret
	Refresh  connections.Secret
	Lifetime time.Duration
	Expiry   time.Time
	Scopes   []string
}

// config is the x/oauth2 configuration of the app for an Entra tenant (ignored for Azure
// DevOps OAuth). The client secret of an Azure DevOps app is not put in it: it travels as
// client_assertion, not client_secret (§6).
func (a OAuthApp) config(tenant string) *oauth2.Config {
	c := &oauth2.Config{ClientID: a.ClientID, RedirectURL: a.CallbackURL}
	if a.Provider == ProviderEntra {
		base := strings.TrimRight(orDefault(a.EntraAuthorityURL, DefaultEntraAuthorityURL), "/")
		t := url.PathEscape(orDefault(tenant, EntraDefaultTenant))
		c.Endpoint = oauth2.Endpoint{AuthURL: base + "/" + t + "/oauth2/v2.0/authorize",
			TokenURL: base + "/" + t + "/oauth2/v2.0/token", AuthStyle: oauth2.AuthStyleInParams}
		c.ClientSecret = a.ClientSecret.Reveal()
		scopes, _ := NormalizeScopes("scopes", a.Scopes)
		for _, s := range scopes {
			c.Scopes = append(c.Scopes, AzureDevOpsResourceID+"/"+s)
		}
		c.Scopes = append(c.Scopes, "offline_access")
		return c
	}
	base := strings.TrimRight(orDefault(a.AzureDevOpsURL, DefaultAzureDevOpsOAuthURL), "/")
	c.Endpoint = oauth2.Endpoint{AuthURL: base + "/oauth2/authorize", TokenURL: base + "/oauth2/token",
		AuthStyle: oauth2.AuthStyleInParams}
	c.Scopes, _ = NormalizeScopes("scopes", a.Scopes)
	return c
}

// AuthCodeURL returns the URL to send the user's browser to, and the PKCE verifier to keep
// (sealed) until the callback: empty for Azure DevOps OAuth, which has no PKCE. Azure DevOps
// OAuth asks for response_type=Assertion (§6); Entra for an authorization code with PKCE
// (S256) and offline_access, at the tenant's authority (tenant "" means "organizations").
func (a OAuthApp) AuthCodeURL(state, tenant string) (authURL, verifier string) {
	c := a.config(tenant)
	if a.Provider == ProviderEntra {
		verifier = oauth2.GenerateVerifier()
		return c.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), verifier
	}
	return c.AuthCodeURL(state, oauth2.SetAuthURLParam("response_type", "Assertion")), ""
}

// Exchange trades an authorization code for tokens, using hc (its transport and timeout).
// Azure DevOps OAuth: the JWT-bearer exchange with the client secret as client_assertion and
// the code as assertion (§6); the answer's string expires_in is understood and its token type
// "jwt-bearer" is not kept (the token is always sent as Bearer). Entra: the code with the PKCE
// verifier. Errors: *connections.Error from classifyOAuth (ErrUnauthorized with
// grant_invalid/client_invalid for refusals, ErrUnreachable/ErrTLS, ErrProtocol).
func (a OAuthApp) Exchange(ctx context.Context, hc *http.Client, code, verifier, tenant string) (*Token, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
	c := a.config(tenant)
	var opts []oauth2.AuthCodeOption
	if a.Provider == ProviderEntra {
		opts = append(opts, oauth2.VerifierOption(verifier))
	} else {
		opts = append(opts,
			oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
			oauth2.SetAuthURLParam("client_assertion", a.ClientSecret.Reveal()),
			oauth2.SetAuthURLParam("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
			oauth2.SetAuthURLParam("assertion", code))
	}
	tok, err := c.Exchange(ctx, code, opts...)
	if err != nil {
		return nil, classifyOAuth(a.Provider, c.Endpoint.TokenURL, err)
	}
	return tokenOf(tok), nil
}

// Refresh trades a refresh token for a new token pair through TokenSource. The answer's
// refresh token replaces the old one (Azure DevOps OAuth refresh tokens are single use, §6);
// when the provider sends none, the old one is kept. Errors as for Exchange.
func (a OAuthApp) Refresh(ctx context.Context, hc *http.Client, refresh connections.Secret, tenant string) (*Token, error) {
	tok, err := a.TokenSource(ctx, hc, refresh, tenant).Token()
	if err != nil {
		if e := connections.AsError(err); e != nil {
			return nil, e
		}
		return nil, classifyOAuth(a.Provider, a.config(tenant).Endpoint.TokenURL, err)
	}
	t := tokenOf(tok)
	if t.Refresh.Empty() {
		t.Refresh = refresh
	}
	return t, nil
}

// TokenSource returns an oauth2.TokenSource that refreshes with refresh each time Token is
// called (no caching: the service caches, persists and deduplicates). It is refreshSource for
// both providers: x/oauth2's own refresh request can neither carry the refresh token in
// "assertion", as Azure DevOps OAuth wants (§6), nor the scope, which Entra's v2.0 endpoint
// requires on a refresh (golang/oauth2#540; the identity platform's "Refresh the access
// token" marks scope required). tenant selects the Entra authority ("" = organizations).
func (a OAuthApp) TokenSource(ctx context.Context, hc *http.Client, refresh connections.Secret, tenant string) oauth2.TokenSource {
	return &refreshSource{ctx: ctx, hc: hc, app: a, refresh: refresh, tenant: tenant}
}

// tokenOf converts an x/oauth2 token: the type is forced to Bearer (Azure DevOps answers
// "jwt-bearer", which must not be sent back, §6), and the granted scopes are read from
// "scope" with the Entra resource prefix removed.
func tokenOf(t *oauth2.Token) *Token {
	t.TokenType = "Bearer"
	out := &Token{Access: connections.Secret(t.AccessToken), Refresh: connections.Secret(t.RefreshToken), Expiry: t.Expiry}
	if !t.Expiry.IsZero() {
		out.Lifetime = time.Until(t.Expiry).Round(time.Second)
	}
	if s, ok := t.Extra("scope").(string); ok {
		for _, sc := range strings.Fields(s) {
			sc = strings.TrimPrefix(sc, AzureDevOpsResourceID+"/")
			if strings.HasPrefix(sc, "vso.") {
				out.Scopes = append(out.Scopes, sc)
			}
		}
	}
	return out
}
