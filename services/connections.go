package services

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// Connection types accepted by CreateConnection.
const (
	TypeServerPAT     = "server-pat"
	TypeServicesPAT   = "services-pat"
	TypeServicesOAuth = "services-oauth"
)

// ConnectionInput is what a caller sends to create a connection or to check a token.
//
// The server is named either by ServerURL plus Collection, or by RemoteURL: any clone URL the
// parser accepts (azuredevops.ParseRemoteURL), optionally with VirtualDirectory to settle the
// split of a Server URL ("tfs", "" for none, or the owner form "tfs/DefaultCollection").
// CheckToken tells an empty Type from the URL; CreateConnection requires it.
// PAT is the personal access token; CACertificate an optional PEM bundle for a private CA.
type ConnectionInput struct {
	Name             string             `json:"name"`
	Type             string             `json:"type"`
	ServerURL        string             `json:"serverUrl"`
	Collection       string             `json:"collection"`
	RemoteURL        string             `json:"remoteUrl,omitempty"`
	VirtualDirectory *string            `json:"virtualDirectory,omitempty"`
	PAT              connections.Secret `json:"pat"`
	CACertificate    string             `json:"caCertificate,omitempty"`

	// Organization names the Azure DevOps Services organization of a services-oauth or
	// services-pat connection, on the configured Services URL (or give serverUrl
	// https://dev.azure.com/{organization} or a remoteUrl).
	Organization string `json:"organization,omitempty"`
	// OAuth is the connection's own OAuth app, or scopes for the default app (services-oauth).
	OAuth *OAuthAppInput `json:"oauth,omitempty"`
	// ReturnURL is where the browser goes after the sign-in (services-oauth; optional).
	ReturnURL string `json:"returnUrl,omitempty"`
	// BrowserNonce binds an OAuth sign-in to the browser that holds it (CallbackInput); set
	// by the web pages, never read from JSON.
	BrowserNonce string `json:"-"`
	// ConnectionID makes check-token check a stored connection (any type; the way to check an
	// OAuth connection) instead of the fields above.
	ConnectionID string `json:"connectionId,omitempty"`
}

// Connection is a connection as callers see it: never the credential.
type Connection struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Type             string            `json:"type"`
	ServerURL        string            `json:"serverUrl"`
	Collection       string            `json:"collection"`
	VirtualDirectory string            `json:"virtualDirectory"`
	Status           string            `json:"status"`
	User             *connections.User `json:"user,omitempty"`
	HasCACertificate bool              `json:"hasCaCertificate"`
	CheckedAt        time.Time         `json:"checkedAt,omitzero"` // zero (absent) until a check ran
	CreatedAt        time.Time         `json:"createdAt"`
	// Warnings are the token check's warnings at creation (e.g. public_url_localhost) and
	// warnings about the connection's OAuth app (client_secret_expiring, client_secret_expired,
	// legacy_oauth_app while it signs in with an Azure DevOps OAuth app).
	Warnings []connections.Warning `json:"warnings,omitempty"`
	// StatusReason and StatusMessage say why the status is not authorized and what to do.
	StatusReason  string `json:"statusReason,omitempty"`
	StatusMessage string `json:"statusMessage,omitempty"`
	// OAuth is set for services-oauth connections.
	OAuth *OAuthView `json:"oauth,omitempty"`
	// AuthorizationURL is where to send the user's browser to sign in; set in the answer that
	// starts a sign-in (creation or POST …/authorize), with the time it stops working.
	AuthorizationURL       string     `json:"authorizationUrl,omitempty"`
	AuthorizationExpiresAt *time.Time `json:"authorizationExpiresAt,omitempty"`
	// SSH is the connection's SSH credential (services/ssh.go); absent when it clones over
	// HTTPS. CloneOver says which: "ssh" or "https".
	SSH       *SSHView `json:"ssh,omitempty"`
	CloneOver string   `json:"cloneOver"`
}

// view renders a stored connection for callers.
func (s *Service) view(c *store.Connection) *Connection {
	v := &Connection{ID: c.ID, Name: c.Name, Type: c.Type, Collection: c.Collection,
		VirtualDirectory: c.VirtualDirectory, Status: c.Status, HasCACertificate: c.CACertificate != "",
		CheckedAt: c.CheckedAt, CreatedAt: c.CreatedAt, ServerURL: c.ServerURL,
		StatusReason: c.StatusReason, StatusMessage: c.StatusMessage, CloneOver: "https"}
	if c.SSH != nil {
		v.CloneOver, v.SSH = "ssh", s.sshView(c)
	}
	if c.UserID != "" || c.UserDisplayName != "" {
		v.User = &connections.User{ID: c.UserID, DisplayName: c.UserDisplayName}
	}
	if c.OAuth != nil {
		v.OAuth = s.oauthView(c)
		v.Warnings = append(s.secretWarnings(c), s.legacyOAuthWarnings(c)...)
	}
	return v
}

// endpointFor validates type, server (server URL and collection, or a remote URL), PAT and
// CA certificate, and returns the Azure DevOps endpoint. Errors are field errors
// (ErrInvalidInput); a guessed remote URL is settled on the server (endpointFromRemote).
func (s *Service) endpointFor(ctx context.Context, in ConnectionInput) (azuredevops.Endpoint, error) {
	switch in.Type {
	case TypeServerPAT, TypeServicesPAT, "":
	case TypeServicesOAuth:
		return azuredevops.Endpoint{}, invalid("type", "an OAuth connection is checked by its id: send connectionId, or POST /api/v1/connections/{id}/check")
	default:
		return azuredevops.Endpoint{}, invalid("type", "unknown type %q: use server-pat, services-pat or services-oauth", in.Type)
	}
	var (
		ep  azuredevops.Endpoint
		err error
	)
	byOrganization := in.Type == TypeServicesPAT && strings.TrimSpace(in.Organization) != "" &&
		strings.TrimSpace(in.ServerURL) == "" && strings.TrimSpace(in.RemoteURL) == ""
	switch {
	case byOrganization:
		// The organization on the configured Services URL (dev.azure.com unless the operator
		// or the demo points elsewhere), as an OAuth connection finds it.
		ep, err = s.servicesEndpoint(strings.TrimSpace(in.Organization))
	case strings.TrimSpace(in.RemoteURL) != "":
		ep, err = s.endpointFromRemote(ctx, in)
	case in.VirtualDirectory != nil:
		err = invalid("virtualDirectory", "virtualDirectory goes with remoteUrl; with serverUrl, write it in the server URL (https://host/tfs)")
	default:
		ep, err = azuredevops.NewEndpoint(in.ServerURL, in.Collection)
	}
	if err != nil {
		return ep, err
	}
	switch {
	case in.Type == TypeServerPAT && ep.Kind() == azuredevops.KindServices:
		return ep, invalid("type", "%s is Azure DevOps Services: use type services-pat", ep.Host)
	case in.Type == TypeServicesPAT && ep.Kind() == azuredevops.KindServer && !byOrganization:
		return ep, invalid("type", "%s is not Azure DevOps Services (dev.azure.com): use type server-pat", ep.Host)
	}
	if strings.TrimSpace(in.PAT.Reveal()) == "" {
		return ep, invalid("pat", "the personal access token is required")
	}
	if strings.ContainsAny(in.PAT.Reveal(), " \t\r\n:") {
		return ep, invalid("pat", "the personal access token contains white space or a colon; paste the token alone")
	}
	if in.CACertificate != "" {
		if err := azuredevops.CheckCACertificate([]byte(in.CACertificate)); err != nil {
			return ep, err
		}
	}
	return ep, nil
}

// CheckToken runs the token check for in (name is not needed; an empty type is told from the
// server URL: dev.azure.com and *.visualstudio.com are services-pat, anything else server-pat)
// and returns its result. Field errors come back as ErrInvalidInput; a failed check is a
// result with Valid false.
func (s *Service) CheckToken(ctx context.Context, tenant string, in ConnectionInput) (*connections.CheckResult, error) {
	if err := s.allow(ctx, tenant, ActionCheckToken); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.ConnectionID) != "" {
		if err := checkID("connectionId", in.ConnectionID, ""); err != nil {
			return nil, err
		}
		return s.checkConnection(ctx, tenant, in.ConnectionID)
	}
	ep, err := s.endpointFor(ctx, in)
	if err != nil {
		return nil, err
	}
	c, err := s.client(ep, in.PAT, in.CACertificate)
	if err != nil {
		return nil, err
	}
	return c.CheckToken(credKey(ctx, ep.Host, in.PAT))
}

// CreateConnection validates in, runs the token check and stores the connection with the PAT
// sealed, in status authorized. Errors: ErrInvalidInput (field errors), *CheckFailedError
// (the check failed: nothing stored), store.ErrConflict (name taken in the tenant).
func (s *Service) CreateConnection(ctx context.Context, tenant string, in ConnectionInput) (*Connection, error) {
	if err := s.allow(ctx, tenant, ActionCreateConnection); err != nil {
		return nil, err
	}
	name, err := checkName("name", "connection", in.Name)
	if err != nil {
		return nil, err
	}
	switch in.Type {
	case "":
		return nil, invalid("type", "the type is required: server-pat (Azure DevOps Server), services-pat or services-oauth (Azure DevOps Services)")
	case TypeServicesOAuth:
		return s.createOAuthConnection(ctx, tenant, name, in)
	}
	if in.OAuth != nil || in.ReturnURL != "" {
		return nil, invalid("oauth", "oauth and returnUrl go with type services-oauth")
	}
	ep, err := s.endpointFor(ctx, in)
	if err != nil {
		return nil, err
	}
	if err := s.nameFree(ctx, tenant, name); err != nil {
		return nil, err
	}
	res, err := s.mustPass(ctx, ep, in.PAT, in.CACertificate)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	rec := &store.Connection{ID: newID(), TenantID: tenant, Name: name, Type: in.Type,
		ServerURL: ep.ServerURL(), VirtualDirectory: ep.VirtualDirectory, Collection: ep.Collection,
		CACertificate: in.CACertificate, CheckedAt: res.CheckedAt, CreatedAt: now, UpdatedAt: now}
	s.setStatus(rec, StatusAuthorized, "", "")
	if res.User != nil {
		rec.UserID, rec.UserDisplayName = res.User.ID, res.User.DisplayName
	}
	rec.SealedCredential, err = s.keyring.Seal([]byte(in.PAT.Reveal()), credentialAAD(tenant, rec.ID))
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateConnection(detach(ctx), rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, nameTaken(name)
		}
		return nil, err
	}
	s.log.InfoContext(ctx, "connection created", "tenant", tenant, "connection", rec.ID, "type", rec.Type, "server", rec.ServerURL, "collection", rec.Collection)
	v := s.view(rec)
	v.Warnings = res.Warnings
	return v, nil
}

// GetConnection returns a connection of the tenant; store.ErrNotFound otherwise.
func (s *Service) GetConnection(ctx context.Context, tenant, id string) (*Connection, error) {
	c, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	return s.view(c), nil
}

// ListConnections returns one page of the tenant's connections, oldest first: at most limit
// (1 to MaxPageSize; 0 means DefaultPageSize) after the cursor after ("" for the first page),
// and the cursor of the next page ("" after the last). Errors: field errors on "limit" and
// "after" (ErrInvalidInput).
func (s *Service) ListConnections(ctx context.Context, tenant string, limit int, after string) ([]*Connection, string, error) {
	page, err := pageOf(limit, after)
	if err != nil {
		return nil, "", err
	}
	cs, next, err := s.store.ListConnections(ctx, tenant, page)
	if err != nil {
		return nil, "", pageError(err)
	}
	out := make([]*Connection, 0, len(cs))
	for _, c := range cs {
		out = append(out, s.view(c))
	}
	return out, next, nil
}

// DeleteConnection deletes a connection, its build profiles and their clones;
// store.ErrNotFound when absent. The profiles' Azure DevOps hook subscriptions are deleted
// first, with the connection's credential, best effort: a failure is logged and never blocks
// the delete.
func (s *Service) DeleteConnection(ctx context.Context, tenant, id string) error {
	profiles, _, err := s.store.ListBuildProfiles(ctx, tenant, store.Page{})
	if err != nil {
		return err
	}
	var o *opened
	for _, p := range profiles {
		if p.ConnectionID != id || p.Hook == nil || len(p.Hook.Subscriptions) == 0 {
			continue
		}
		if o == nil {
			if o, err = s.open(ctx, tenant, id); err != nil {
				s.log.WarnContext(ctx, "could not delete the hook subscriptions of a deleted connection's profiles", "connection", id, "err", err)
				break
			}
		}
		s.deleteSubscriptions(detach(ctx), o, p)
	}
	if err := s.store.DeleteConnection(ctx, tenant, id); err != nil {
		return err
	}
	s.dropCatalog(ctx, tenant, id)
	for _, p := range profiles {
		if p.ConnectionID == id {
			s.removeClones(ctx, tenant, p.ID)
		}
	}
	s.log.InfoContext(ctx, "connection deleted", "tenant", tenant, "connection", id)
	return nil
}

// nameFree answers a taken name before the forge is asked; the store still decides races.
func (s *Service) nameFree(ctx context.Context, tenant, name string) error {
	existing, _, err := s.store.ListConnections(ctx, tenant, store.Page{})
	if err != nil {
		return err
	}
	for _, c := range existing {
		if c.Name == name {
			return nameTaken(name)
		}
	}
	return nil
}

func nameTaken(name string) error {
	return invalid("name", "a connection named %q exists already; choose another name", name).Wrap(store.ErrConflict)
}

// mustPass runs the token check of a PAT against ep and returns its result when the PAT is
// valid; a failed check is *CheckFailedError (the caller stores nothing).
func (s *Service) mustPass(ctx context.Context, ep azuredevops.Endpoint, pat connections.Secret, caPEM string) (*connections.CheckResult, error) {
	c, err := s.client(ep, pat, caPEM)
	if err != nil {
		return nil, err
	}
	res, err := c.CheckToken(credKey(ctx, ep.Host, pat))
	if err != nil {
		return nil, err
	}
	if !res.Valid {
		return nil, &CheckFailedError{Result: res}
	}
	return res, nil
}

// credentialAAD binds a sealed credential to its record, so a blob copied into another
// record does not open.
func credentialAAD(tenant, connectionID string) []byte {
	return []byte("connection/" + tenant + "/" + connectionID)
}
