package services

import (
	"cmp"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/services/store"
)

// DefaultServicesURL is where Azure DevOps Services organizations live.
const DefaultServicesURL = "https://dev.azure.com"

// DefaultStateTTL is how long a started sign-in may take before its state expires.
const DefaultStateTTL = 10 * time.Minute

// SecretExpiryWarning is how long before a client secret's expiry the service starts to warn
// (Azure DevOps OAuth client secrets expire every 60 days; docs/azure-devops-protocol.md §6).
const SecretExpiryWarning = 14 * 24 * time.Hour

// OAuthSettings is the operator's configuration of OAuth for Azure DevOps Services: the default
// app (used by connections that bring none; ClientID empty means there is no default), and the
// addresses of Services and of the OAuth providers (defaults: the public ones; tests and demo
// mode point them at the simulator).
type OAuthSettings struct {
	// Provider of the default app: azuredevops.ProviderAzureDevOps or ProviderEntra.
	Provider string
	ClientID string
	// ClientSecret of the default app (from the environment or a _FILE; never stored).
	ClientSecret connections.Secret
	// ClientSecretExpiry, when known, makes connections on the default app warn 14 days ahead.
	ClientSecretExpiry time.Time
	// Scopes of the default app; empty means azuredevops.DefaultScopes.
	Scopes []string
	// CallbackURL is this service's public …/connector/callback, registered with the apps.
	CallbackURL string
	// ServicesURL is the base of organizations; empty means DefaultServicesURL.
	ServicesURL string
	// AzureDevOpsOAuthURL and EntraAuthorityURL replace the providers' public endpoints.
	AzureDevOpsOAuthURL string
	EntraAuthorityURL   string
	// StateTTL bounds a sign-in; 0 means DefaultStateTTL.
	StateTTL time.Duration
	// ReturnOrigins are the origins (scheme://host[:port]) a returnUrl may point to besides
	// this service's own paths.
	ReturnOrigins []string
}

// HasDefaultApp reports whether an operator default app is configured.
func (o OAuthSettings) HasDefaultApp() bool { return o.ClientID != "" }

// DefaultApp returns the operator's default app as the driver takes it.
func (o OAuthSettings) DefaultApp() azuredevops.OAuthApp {
	return azuredevops.OAuthApp{Provider: o.Provider, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		Scopes: o.Scopes, CallbackURL: o.CallbackURL, AzureDevOpsURL: o.AzureDevOpsOAuthURL,
		EntraAuthorityURL: o.EntraAuthorityURL}
}

// OAuthAppInput is a connection's own OAuth app, or, with ClientID empty, a choice of scopes
// for the operator's default app. ClientSecretExpiresAt is the secret's expiry date, when
// known (RFC 3339).
type OAuthAppInput struct {
	Provider              string             `json:"provider"`
	ClientID              string             `json:"clientId"`
	ClientSecret          connections.Secret `json:"clientSecret"`
	ClientSecretExpiresAt *time.Time         `json:"clientSecretExpiresAt,omitempty"`
	Scopes                []string           `json:"scopes,omitempty"`
	CallbackURL           string             `json:"callbackUrl,omitempty"`
}

// OAuthView is what callers see of a connection's OAuth settings: never a token or secret.
type OAuthView struct {
	Provider              string     `json:"provider"`
	Scopes                []string   `json:"scopes"`
	DefaultApp            bool       `json:"defaultApp"`
	ClientID              string     `json:"clientId,omitempty"`
	EntraTenant           string     `json:"entraTenant,omitempty"`
	TokenExpiresAt        *time.Time `json:"tokenExpiresAt,omitempty"`
	ClientSecretExpiresAt *time.Time `json:"clientSecretExpiresAt,omitempty"`
}

// applyApp validates in against the operator's settings and writes the app details into d
// (sealing a per-connection secret under the connection's AAD). It is used at creation and at
// re-authorization; nil in keeps d's app and scopes.
func (s *Service) applyApp(tenant, connID string, in *OAuthAppInput, d *store.OAuthDetails) error {
	def := s.opts.OAuth
	if in == nil {
		in = &OAuthAppInput{}
	}
	if in.ClientID == "" {
		if in.Provider == "" && d.Provider != "" && d.ClientID != "" {
			// Re-authorization without new app details keeps the connection's own app.
			return s.applyScopes(in, d)
		}
		if !def.HasDefaultApp() {
			return invalid("oauth.clientId", "this service has no default OAuth app: give your app's provider, clientId, clientSecret (and callbackUrl) in oauth, or ask the operator to configure one")
		}
		if in.Provider != "" && in.Provider != def.Provider {
			return invalid("oauth.provider", "the service's default OAuth app is a %s app; give your own app's clientId to use %s", def.Provider, in.Provider)
		}
		d.Provider, d.ClientID, d.SealedClientSecret, d.ClientSecretExpiry, d.CallbackURL = def.Provider, "", nil, nil, ""
		if d.Scopes == nil {
			d.Scopes, _ = azuredevops.NormalizeScopes("scopes", def.Scopes)
		}
		return s.applyScopes(in, d)
	}
	app := azuredevops.OAuthApp{Provider: in.Provider, ClientID: strings.TrimSpace(in.ClientID), ClientSecret: in.ClientSecret,
		Scopes: in.Scopes, CallbackURL: cmp.Or(in.CallbackURL, def.CallbackURL)}
	if app.CallbackURL == "" {
		return invalid("oauth.callbackUrl", "give the callback URL registered with your app (this service's …/connector/callback); the service has none configured")
	}
	if err := app.Validate("oauth."); err != nil {
		return err
	}
	d.Provider, d.ClientID, d.CallbackURL, d.ClientSecretExpiry = app.Provider, app.ClientID, in.CallbackURL, in.ClientSecretExpiresAt
	d.SealedClientSecret = nil
	if !in.ClientSecret.Empty() {
		sealed, err := s.keyring.Seal([]byte(in.ClientSecret.Reveal()), clientSecretAAD(tenant, connID))
		if err != nil {
			return err
		}
		d.SealedClientSecret = sealed
	}
	d.Scopes = nil
	return s.applyScopes(in, d)
}

// applyScopes sets the requested scopes (in.Scopes, else the ones d has, else the defaults).
func (s *Service) applyScopes(in *OAuthAppInput, d *store.OAuthDetails) error {
	switch {
	case len(in.Scopes) > 0:
		sc, err := azuredevops.NormalizeScopes("oauth.scopes", in.Scopes)
		if err != nil {
			return err
		}
		d.Scopes = sc
	case len(d.Scopes) == 0:
		d.Scopes, _ = azuredevops.NormalizeScopes("oauth.scopes", s.opts.OAuth.Scopes)
	}
	return nil
}

// appFor returns the app a stored OAuth connection signs in with: its own (secret unsealed) or
// the operator's default, with the connection's scopes.
func (s *Service) appFor(rec *store.Connection) (azuredevops.OAuthApp, error) {
	return s.appOf(rec.TenantID, rec.ID, rec.OAuth)
}

// appOf is appFor for the app details d of connection connID (the connection's own, or the
// pending app of a sign-in, whose secret is sealed under the same AAD).
func (s *Service) appOf(tenant, connID string, d *store.OAuthDetails) (azuredevops.OAuthApp, error) {
	def := s.opts.OAuth
	app := azuredevops.OAuthApp{Provider: d.Provider, Scopes: d.Scopes,
		AzureDevOpsURL: def.AzureDevOpsOAuthURL, EntraAuthorityURL: def.EntraAuthorityURL}
	if d.ClientID == "" {
		if !def.HasDefaultApp() || def.Provider != d.Provider {
			return app, connections.Errorf(connections.ErrUnauthorized, connections.ReasonClientInvalid,
				"the service's default OAuth app is no longer configured; re-authorize the connection with your own app")
		}
		app.ClientID, app.ClientSecret, app.CallbackURL = def.ClientID, def.ClientSecret, def.CallbackURL
		return app, nil
	}
	app.ClientID, app.CallbackURL = d.ClientID, cmp.Or(d.CallbackURL, def.CallbackURL)
	if len(d.SealedClientSecret) > 0 {
		plain, err := s.keyring.Open(d.SealedClientSecret, clientSecretAAD(tenant, connID))
		if err != nil {
			return app, err
		}
		app.ClientSecret = connections.Secret(plain)
	}
	return app, nil
}

// servicesEndpoint is the endpoint of an organization on the configured Services base URL.
func (s *Service) servicesEndpoint(org string) (azuredevops.Endpoint, error) {
	u, err := url.Parse(cmp.Or(s.opts.OAuth.ServicesURL, DefaultServicesURL))
	if err != nil || u.Host == "" {
		return azuredevops.Endpoint{}, invalid("organization", "the service's Azure DevOps Services URL is malformed")
	}
	if err := azuredevops.ValidateCollectionName(org); err != nil {
		return azuredevops.Endpoint{}, invalid("organization", "%v", err)
	}
	return azuredevops.Endpoint{Scheme: u.Scheme, Host: u.Host, VirtualDirectory: strings.Trim(u.Path, "/"), Collection: org}, nil
}

// organizationOf finds the organization an OAuth connection names: the organization (or
// collection) field, else the organization of a Services server URL or remote URL.
func organizationOf(in ConnectionInput) (string, error) {
	if org := strings.TrimSpace(cmp.Or(in.Organization, in.Collection)); org != "" && strings.TrimSpace(in.ServerURL) == "" && strings.TrimSpace(in.RemoteURL) == "" {
		return org, nil
	}
	if strings.TrimSpace(in.RemoteURL) != "" {
		r, err := azuredevops.ParseRemoteURL(in.RemoteURL)
		if err != nil {
			return "", err
		}
		if r.Kind != azuredevops.KindServices {
			return "", invalid("remoteUrl", "OAuth connects Azure DevOps Services only; %s is Azure DevOps Server: use type server-pat", r.Host)
		}
		return r.Organization, nil
	}
	if strings.TrimSpace(in.ServerURL) != "" {
		ep, err := azuredevops.NewEndpoint(in.ServerURL, in.Collection)
		if err != nil {
			return "", err
		}
		if ep.Kind() != azuredevops.KindServices {
			return "", invalid("serverUrl", "OAuth connects Azure DevOps Services only; %s is Azure DevOps Server: use type server-pat", ep.Host)
		}
		return ep.Collection, nil
	}
	return "", invalid("organization", "the organization is required: the {organization} of https://dev.azure.com/{organization}")
}

// checkReturnURL accepts a path of this service ("/builds/7", not "//host") or an absolute
// URL on one of the configured return origins; "" is fine.
func (s *Service) checkReturnURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || len(raw) > 2000 || strings.ContainsAny(raw, "\\\r\n"):
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//"):
		return nil
	case (u.Scheme == "https" || u.Scheme == "http") && u.User == nil && slices.Contains(s.opts.OAuth.ReturnOrigins, u.Scheme+"://"+u.Host):
		return nil
	}
	return invalid("returnUrl", "returnUrl must be a path of this service (/…) or a URL on an origin the operator allowed")
}

// oauthHTTPClient is the HTTP client of token requests: the OAuth door (the outbound policy
// with the operator's OAuth addresses allowed), the forge timeout, no redirects.
func (s *Service) oauthHTTPClient() (*http.Client, error) {
	hc, err := s.oauthDoor.Client(nil, egress.NoRedirects)
	if err != nil {
		return nil, err
	}
	hc.Timeout = s.opts.ForgeTimeout
	if hc.Timeout <= 0 {
		hc.Timeout = azuredevops.DefaultTimeout
	}
	return hc, nil
}

// oauthDestinations are the allow rules of the operator's OAuth addresses: the base of
// Services and, with providers, the providers' endpoints. Requests may reach them whatever the
// outbound policy says of their addresses: the operator chose them, not a tenant.
func oauthDestinations(o OAuthSettings, providers bool) []egress.Rule {
	urls := []string{o.ServicesURL}
	if providers {
		urls = append(urls, o.AzureDevOpsOAuthURL, o.EntraAuthorityURL)
	}
	var rules []egress.Rule
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if raw == "" || err != nil || u.Host == "" {
			continue
		}
		port := u.Port()
		if port == "" {
			port = "443"
			if u.Scheme == "http" {
				port = "80"
			}
		}
		if r, err := egress.ParseRules("OAuth settings", net.JoinHostPort(u.Hostname(), port)); err == nil {
			rules = append(rules, r...)
		}
	}
	return rules
}

// clientSecretAAD binds a sealed per-connection client secret to its connection.
func clientSecretAAD(tenant, connectionID string) []byte {
	return []byte("oauth-client-secret/" + tenant + "/" + connectionID)
}
