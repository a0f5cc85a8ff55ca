package services

import (
	"context"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// WarningLegacyOAuthApp is the code of the warning a connection carries while it signs in
// with an Azure DevOps OAuth app rather than Microsoft Entra ID.
//
// Microsoft stopped registering new Azure DevOps OAuth apps in April 2025 and has announced
// the removal of the platform in 2026; existing apps work until then
// (learn.microsoft.com/azure/devops/integrate/get-started/authentication/azure-devops-oauth,
// devblogs.microsoft.com/devops/no-new-azure-devops-oauth-apps). The replacement is an
// Entra ID app (entra-oauth on the same site). The move is the re-authorize action with
// oauth.provider "entra": the operator's default Entra app, or the connection's own Entra app.
const WarningLegacyOAuthApp = "legacy_oauth_app"

// EntraConfigured reports whether the operator's default OAuth app is a Microsoft Entra ID
// app, so that a connection on an Azure DevOps OAuth app can move to it without app details.
func (s *Service) EntraConfigured() bool {
	o := s.opts.OAuth
	return o.HasDefaultApp() && o.Provider == azuredevops.ProviderEntra
}

// legacyOAuthWarnings is the legacy_oauth_app warning for a connection on an Azure DevOps
// OAuth app (its own or the default one), with what to do; nil for Entra and PAT connections.
func (s *Service) legacyOAuthWarnings(rec *store.Connection) []connections.Warning {
	if rec.OAuth == nil || rec.OAuth.Provider != azuredevops.ProviderAzureDevOps {
		return nil
	}
	msg := "this connection signs in with an Azure DevOps OAuth app. Microsoft has taken no new Azure DevOps OAuth app registrations since April 2025 and retires the platform in 2026; the connection stops working then. "
	if t := rec.OAuth.EntraTenant; t != "" && t == azuredevops.EntraDefaultTenant {
		// DiscoverTenant found no tenant: a personal-account organization.
		msg += "Its organization is not connected to a Microsoft Entra tenant, and Microsoft Entra ID cannot sign in to such an organization: connect the organization to a tenant (Organization settings > Microsoft Entra), then move the connection to Entra ID; or use a PAT connection."
	} else if s.EntraConfigured() {
		msg += "Move it to Microsoft Entra ID: re-authorize it with the Entra app (the button on its page, or POST /api/v1/connections/" + rec.ID +
			"/authorize with {\"oauth\":{\"provider\":\"entra\"}}) and sign in with a work account of the organization's Entra tenant."
	} else {
		msg += "To move it to Microsoft Entra ID, the operator must configure a Microsoft Entra ID app (REPOCONNECT_OAUTH_PROVIDER=entra with its client id and secret), or re-authorize it with your own Entra app (POST /api/v1/connections/" + rec.ID +
			"/authorize with oauth.provider \"entra\", clientId and clientSecret)."
	}
	return []connections.Warning{{Code: WarningLegacyOAuthApp, Message: msg}}
}

// MoveToEntra starts the move of a connection on an Azure DevOps OAuth app to the operator's
// default Microsoft Entra ID app: a re-authorization (Authorize) with oauth.provider "entra",
// which first asks the organization for its Entra tenant again (entraTenantFor). The Entra app
// travels with the pending sign-in: the connection keeps its Azure DevOps OAuth app, tokens,
// status and legacy_oauth_app warning until the user signs in at the returned authorization
// URL and the callback succeeds; then it is on Entra, with the Entra tokens, and the warning
// goes. An abandoned or failed sign-in leaves it working on its old app.
//
// Errors: store.ErrNotFound; ErrInvalidInput on field "oauth.provider" when the operator has
// no default Entra app, the connection is on Entra already, or its organization is not
// connected to an Entra tenant; field "type" for a PAT connection; ErrUnreachable/ErrTLS
// from the tenant look-up.
func (s *Service) MoveToEntra(ctx context.Context, tenant, id string, in ReauthorizeInput) (*Connection, error) {
	if !s.EntraConfigured() {
		return nil, invalid("oauth.provider", "this service has no Microsoft Entra ID app: the operator must configure one (REPOCONNECT_OAUTH_PROVIDER=entra with its client id and secret) before connections can move to it")
	}
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if rec.OAuth != nil && rec.OAuth.Provider == azuredevops.ProviderEntra {
		return nil, invalid("oauth.provider", "the connection already signs in with Microsoft Entra ID; re-authorize it to sign in again")
	}
	in.OAuth = &OAuthAppInput{Provider: azuredevops.ProviderEntra}
	return s.Authorize(ctx, tenant, id, in)
}

// entraTenantFor is called before a connection moves from an Azure DevOps OAuth app to an
// Entra app: it asks the organization for its Entra tenant again (DiscoverTenant; it may have
// been connected to one since the connection was made) and returns it for the pending app of
// the sign-in (the connection record is not written), or refuses (ErrInvalidInput on
// "oauth.provider") an organization with none, since Entra ID cannot sign in to an
// organization that is not connected to a tenant (entra-oauth on learn.microsoft.com: Entra
// apps do not support personal Microsoft accounts for Azure DevOps).
func (s *Service) entraTenantFor(ctx context.Context, rec *store.Connection) (string, error) {
	hc, err := s.oauthHTTPClient()
	if err != nil {
		return "", err
	}
	ep, err := s.servicesEndpoint(rec.Collection)
	if err != nil {
		return "", err
	}
	entraTenant, err := azuredevops.DiscoverTenant(ctx, hc, ep)
	if err != nil {
		return "", err
	}
	if entraTenant == azuredevops.EntraDefaultTenant {
		return "", invalid("oauth.provider", "the organization %q is not connected to a Microsoft Entra tenant, and Microsoft Entra ID cannot sign in to it: connect the organization to a tenant first, or keep the Azure DevOps OAuth app until then", rec.Collection)
	}
	return entraTenant, nil
}
