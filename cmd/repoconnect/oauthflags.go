package main

import (
	"cmp"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services"
)

// oauthFlags configure OAuth connections (the operator's default app). The client secret is
// read from REPOCONNECT_OAUTH_CLIENT_SECRET or the file named by
// REPOCONNECT_OAUTH_CLIENT_SECRET_FILE, never from a flag (flags show up in ps).
type oauthFlags struct {
	publicURL     string
	provider      string
	clientID      string
	secretExpires string
	scopes        string
	callbackURL   string
	returnOrigins []string
	servicesURL   string
	azdoOAuthURL  string
	entraURL      string
}

func (f *oauthFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.publicURL, "public-url", "", "the service's public base URL, e.g. https://repoconnect.example.com (default http://{addr})")
	fl.StringVar(&f.provider, "oauth-provider", azuredevops.ProviderEntra, "default OAuth app's provider: entra (Microsoft Entra ID) or azure-devops (Azure DevOps OAuth app)")
	fl.StringVar(&f.clientID, "oauth-client-id", "", "default OAuth app's client id; its secret comes from REPOCONNECT_OAUTH_CLIENT_SECRET(_FILE)")
	fl.StringVar(&f.secretExpires, "oauth-client-secret-expires", "", "expiry date of the default app's client secret (YYYY-MM-DD), to warn 14 days ahead")
	fl.StringVar(&f.scopes, "oauth-scopes", strings.Join(azuredevops.DefaultScopes, " "), "scopes the default app requests; for an Azure DevOps OAuth app exactly the registered ones (an app registered with vso.notification must list it too)")
	fl.StringVar(&f.callbackURL, "oauth-callback-url", "", "redirect URI registered with the apps (default {public-url}/connector/callback)")
	fl.StringArrayVar(&f.returnOrigins, "oauth-return-origin", nil, "origin (https://ci.example.com) a sign-in's returnUrl may point to (repeatable)")
	fl.StringVar(&f.servicesURL, "services-url", services.DefaultServicesURL, "base URL of Azure DevOps Services organizations")
	fl.StringVar(&f.azdoOAuthURL, "azure-devops-oauth-url", azuredevops.DefaultAzureDevOpsOAuthURL, "base URL of the Azure DevOps OAuth endpoints")
	fl.StringVar(&f.entraURL, "entra-authority-url", azuredevops.DefaultEntraAuthorityURL, "base URL of the Microsoft Entra ID endpoints")
}

// settings parses the flags and the secret into services.OAuthSettings. publicURL is the
// service's own base URL when --public-url is not given. An incomplete default app is a
// usage error naming the missing piece.
func (f *oauthFlags) settings(publicURL string, log *slog.Logger) (services.OAuthSettings, error) {
	base := strings.TrimRight(cmp.Or(f.publicURL, publicURL), "/")
	o := services.OAuthSettings{Provider: f.provider, ClientID: strings.TrimSpace(f.clientID),
		Scopes: strings.Fields(strings.ReplaceAll(f.scopes, ",", " ")), CallbackURL: cmp.Or(f.callbackURL, base+"/connector/callback"),
		ServicesURL: f.servicesURL, AzureDevOpsOAuthURL: f.azdoOAuthURL, EntraAuthorityURL: f.entraURL,
		ReturnOrigins: f.returnOrigins}
	secret, err := secretFromEnv("REPOCONNECT_OAUTH_CLIENT_SECRET")
	if err != nil {
		return o, err
	}
	o.ClientSecret = secret
	if f.secretExpires != "" {
		t, err := parseDate(f.secretExpires)
		if err != nil {
			return o, usageError("--oauth-client-secret-expires: %v", err)
		}
		o.ClientSecretExpiry = t
	}
	if o.ClientID == "" {
		log.Info("no default OAuth app configured: OAuth connections must bring their own app (--oauth-client-id to set one)")
		return o, nil
	}
	if err := o.DefaultApp().Validate("oauth-"); err != nil {
		return o, usageError("the default OAuth app: %v", err)
	}
	if left := time.Until(o.ClientSecretExpiry); !o.ClientSecretExpiry.IsZero() && left < services.SecretExpiryWarning {
		log.Warn("the default OAuth app's client secret expires soon or has expired: create a new one and set REPOCONNECT_OAUTH_CLIENT_SECRET", "expires", o.ClientSecretExpiry.Format("2006-01-02"))
	}
	log.Info("default OAuth app", "provider", o.Provider, "clientId", o.ClientID, "callback", o.CallbackURL)
	return o, nil
}

// secretFromEnv reads NAME or the file named by NAME_FILE (trailing newline removed).
func secretFromEnv(name string) (connections.Secret, error) {
	if v := os.Getenv(name); v != "" {
		return connections.Secret(strings.TrimSpace(v)), nil
	}
	if p := os.Getenv(name + "_FILE"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", usageError("%s_FILE: %v", name, err)
		}
		return connections.Secret(strings.TrimSpace(string(b))), nil
	}
	return "", nil
}

// parseDate accepts YYYY-MM-DD or RFC 3339.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}
