package services

import (
	"context"
	"net/url"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/services/store"
)

// ParseURLInput is a remote URL to read (POST /api/v1/parse-url).
//
// VirtualDirectory, when present (even ""), settles the split of a Server URL: "tfs", "a/b",
// "" for none, or Appcircle's owner form "tfs/DefaultCollection". Resolve asks the server when
// the split is still guessed (GET {remoteUrl}/vsts/info), with PAT (and CACertificate), or with
// the credential of the tenant's connection ConnectionID.
type ParseURLInput struct {
	RemoteURL        string             `json:"remoteUrl"`
	VirtualDirectory *string            `json:"virtualDirectory,omitempty"`
	Resolve          bool               `json:"resolve,omitempty"`
	PAT              connections.Secret `json:"pat,omitempty"`
	CACertificate    string             `json:"caCertificate,omitempty"`
	ConnectionID     string             `json:"connectionId,omitempty"`
}

// parseRemote reads a remote URL with the caller's virtual directory, if any. Errors are
// ErrInvalidInput naming the field ("remoteUrl" or "virtualDirectory").
func parseRemote(raw string, vd *string) (*azuredevops.RemoteURL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, invalid("remoteUrl", "the remote URL is required: paste the clone URL from the repository's Clone dialog")
	}
	if vd != nil {
		return azuredevops.ParseRemoteURLWithVirtualDirectory(raw, *vd)
	}
	return azuredevops.ParseRemoteURL(raw)
}

// ParseRemoteURL reads a remote URL into its parts and derived URLs (the same parser as
// connection creation and `repoconnect parse-url`), and settles a guessed split on the server
// when in.Resolve is set; no request is made otherwise, or when nothing is guessed.
//
// With ConnectionID, the remote URL must be on that connection's server (scheme, host and
// port): its credential is sent to no other host.
//
// Errors: ErrInvalidInput (the URL's rejection reason, field remoteUrl, also for a remote URL
// on another server than ConnectionID's; a missing credential for Resolve, field pat);
// store.ErrNotFound for a ConnectionID the tenant does not have (looked up whenever given,
// whether or not the split needs the server); the forge's errors
// when the server cannot be asked (ErrUnauthorized, ErrNotFound, ErrUnreachable, ErrTLS).
func (s *Service) ParseRemoteURL(ctx context.Context, tenant string, in ParseURLInput) (*azuredevops.RemoteURL, error) {
	r, err := parseRemote(in.RemoteURL, in.VirtualDirectory)
	if err != nil {
		return nil, err
	}
	var rec *store.Connection
	if in.ConnectionID != "" {
		// An id names a connection of the tenant or nothing, even when the split needs no
		// request (a tfs URL, a Services URL): another tenant's id answers as a missing one.
		if rec, err = s.store.GetConnection(ctx, tenant, in.ConnectionID); err != nil {
			return nil, err
		}
	}
	if !in.Resolve || !r.Guessed {
		return r, nil
	}
	var c *azuredevops.Client
	switch {
	case rec != nil:
		// The stored credential goes to the connection's own server only: a remote URL on
		// another scheme, host or port would be sent it (vsts/info carries the credential).
		if !sameServer(rec, r.Endpoint()) {
			return nil, invalid("remoteUrl", "the remote URL is not on the server of connection %s, so it is not asked with that connection's credential; give a PAT instead of connectionId", in.ConnectionID)
		}
		o, err := s.openRec(ctx, rec)
		if err != nil {
			return nil, err
		}
		if c, err = s.clientCred(r.Endpoint(), o.cred, o.rec.CACertificate); err != nil {
			return nil, err
		}
	case !in.PAT.Empty():
		if c, err = s.client(r.Endpoint(), in.PAT, in.CACertificate); err != nil {
			return nil, err
		}
	default:
		return nil, invalid("pat", "asking the server which split is right needs a PAT (or a connectionId) with Code (Read)")
	}
	return c.ResolveRemoteURL(ctx, r)
}

// sameServer reports whether ep is on rec's server: the same host and port, and the same
// scheme or http:80 upgraded to https:443 (egress.SameOrigin).
func sameServer(rec *store.Connection, ep azuredevops.Endpoint) bool {
	own, err := endpointOf(rec)
	if err != nil {
		return false
	}
	return egress.SameOrigin(&url.URL{Scheme: own.Scheme, Host: own.Host}, &url.URL{Scheme: ep.Scheme, Host: ep.Host})
}

// endpointFromRemote reads a pasted remote URL into the endpoint of a new connection, settled
// on the server with the PAT being checked (azuredevops.EndpointOfRemote).
func (s *Service) endpointFromRemote(ctx context.Context, in ConnectionInput) (azuredevops.Endpoint, error) {
	if strings.TrimSpace(in.ServerURL) != "" || strings.TrimSpace(in.Collection) != "" {
		return azuredevops.Endpoint{}, invalid("remoteUrl", "give either remoteUrl, or serverUrl and collection, not both")
	}
	r, err := parseRemote(in.RemoteURL, in.VirtualDirectory)
	if err != nil {
		return azuredevops.Endpoint{}, err
	}
	if in.PAT.Empty() { // refused right after, by field
		return r.Endpoint(), nil
	}
	opts, err := s.clientOptions(in.CACertificate)
	if err != nil {
		return azuredevops.Endpoint{}, err
	}
	return azuredevops.EndpointOfRemote(ctx, r, azuredevops.Credential{PAT: in.PAT}, opts)
}
