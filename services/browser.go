package services

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
)

// BrowserSessionTTL is how long a browser session of the web UI lasts after sign-in.
const BrowserSessionTTL = 12 * time.Hour

// browserSessionAAD binds sealed session tokens to their use, so no other sealed blob of the
// service (a sealed PAT, say) opens as a session.
var browserSessionAAD = []byte("repoconnect/browser-session/v1")

// NewBrowserSession signs a browser in with an API key: it authenticates the key and returns
// an opaque token for a cookie (base64url, about 130 characters) that carries the key sealed
// with the service's keyring (AES-256-GCM) and its expiry, BrowserSessionTTL from now. Every
// instance sharing the keyring accepts it, so no session is stored; revoking the API key ends
// the session at its next use. Errors: ErrInvalidAPIKey, or the store's.
func (s *Service) NewBrowserSession(ctx context.Context, apiKey string) (token, tenant string, expires time.Time, err error) {
	tenant, err = s.Authenticate(ctx, apiKey)
	if err != nil {
		return "", "", time.Time{}, err
	}
	expires = s.now().Add(BrowserSessionTTL).UTC().Truncate(time.Second)
	plain := binary.BigEndian.AppendUint64(nil, uint64(expires.Unix()))
	plain = append(plain, apiKey...)
	sealed, err := s.keyring.Seal(plain, browserSessionAAD)
	if err != nil {
		return "", "", time.Time{}, err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), tenant, expires, nil
}

// BrowserSession returns the tenant of a token made by NewBrowserSession. A token that does
// not open (another keyring, tampered), has expired, or whose API key was revoked is
// ErrInvalidAPIKey; store failures are returned as they are.
func (s *Service) BrowserSession(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 1024 {
		return "", ErrInvalidAPIKey
	}
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", ErrInvalidAPIKey
	}
	plain, err := s.keyring.Open(sealed, browserSessionAAD)
	if err != nil || len(plain) < 9 {
		return "", ErrInvalidAPIKey
	}
	if !s.now().Before(time.Unix(int64(binary.BigEndian.Uint64(plain[:8])), 0)) {
		return "", ErrInvalidAPIKey
	}
	return s.Authenticate(ctx, string(plain[8:]))
}

// Scope is an Azure DevOps scope a connection asks for, with what the service uses it for.
type Scope struct {
	Name    string `json:"name"`
	Purpose string `json:"purpose"`
}

// RequiredScopes lists the scopes of a connection (docs/azure-devops-protocol.md §6): for an OAuth app
// they are asked for at sign-in; for a PAT they are the scopes to tick when making it.
func RequiredScopes() []Scope {
	out := make([]Scope, 0, len(azuredevops.DefaultScopes))
	for _, n := range azuredevops.DefaultScopes {
		out = append(out, Scope{Name: n, Purpose: azuredevops.ScopePurposes[n]})
	}
	return out
}

// ScopeInfo is a permission a connection asks for, as the pages list it: Name as the Azure
// DevOps PAT page writes it ("Code → Read & status"), IDs the scope ids (vso.code, …), Purpose
// what the service uses it for and WithoutIt what stops working without it (both sentences).
// From azuredevops.ScopesFor (connections/azuredevops/scopes.go).
type ScopeInfo struct {
	Name      string   `json:"name"`
	IDs       []string `json:"ids"`
	Purpose   string   `json:"purpose"`
	WithoutIt string   `json:"withoutIt"`
}

// ScopesFor lists the permissions a connection of type kind (TypeServerPAT, TypeServicesPAT
// or TypeServicesOAuth) needs, required (the service cannot do its job without them) and
// optional apart, in the order pages show them. A sign-in's scopes it asks for without
// needing them are in AlsoAskedFor. An unknown kind gets none.
func ScopesFor(kind string) (required, optional []ScopeInfo) {
	req, opt := azuredevops.ScopesFor(azuredevops.CredentialKind(kind))
	return scopeInfos(req), scopeInfos(opt)
}

// AlsoAskedFor lists the permissions a sign-in of type kind asks for (the OAuth app's
// DefaultScopes) though the connection works without them, each with its use; none for a
// PAT type.
func AlsoAskedFor(kind string) []ScopeInfo {
	return scopeInfos(azuredevops.AlsoAskedFor(azuredevops.CredentialKind(kind)))
}

func scopeInfos(in []azuredevops.ScopeInfo) []ScopeInfo {
	out := make([]ScopeInfo, 0, len(in))
	for _, s := range in {
		out = append(out, ScopeInfo{Name: s.PATName, IDs: s.IDs, Purpose: s.Purpose, WithoutIt: s.WithoutIt})
	}
	return out
}
