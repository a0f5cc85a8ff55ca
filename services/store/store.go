// Package store defines the persistence contract of the service (connections with sealed
// credentials, build profiles, API keys) and holds its backends: bbolt (embedded, default) and,
// later, Redis. Every backend passes the same contract test suite (storetest).
//
// Records carry a TenantID; every read and write is scoped by tenant, so a record of another
// tenant is reported exactly like a missing one (ErrNotFound).
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every backend.
var (
	// ErrNotFound: no record with that id in that tenant.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a record with the same unique name (per tenant) exists.
	ErrConflict = errors.New("store: conflict")
	// ErrStale: an update carried a Version that is no longer current (optimistic concurrency).
	ErrStale = errors.New("store: stale version")
)

// Connection is a stored forge connection. Credential is sealed (services/secrets) before it
// reaches a backend; backends store it opaquely and never look inside.
type Connection struct {
	ID               string    `json:"id"`
	TenantID         string    `json:"tenantId"`
	Name             string    `json:"name"`
	Type             string    `json:"type"` // "server-pat", "services-pat", "services-oauth"
	ServerURL        string    `json:"serverUrl"`
	VirtualDirectory string    `json:"virtualDirectory"`
	Collection       string    `json:"collection"`
	CACertificate    string    `json:"caCertificate,omitempty"` // PEM, public material
	Status           string    `json:"status"`
	UserID           string    `json:"userId,omitempty"`
	UserDisplayName  string    `json:"userDisplayName,omitempty"`
	SealedCredential []byte    `json:"sealedCredential"`
	CheckedAt        time.Time `json:"checkedAt"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
	// Version increases by one on every successful write; Update refuses a stale one.
	Version int64 `json:"version"`
}

// BuildProfile binds a connection's repository and branch to a build.
type BuildProfile struct {
	ID             string    `json:"id"`
	TenantID       string    `json:"tenantId"`
	Name           string    `json:"name"`
	ConnectionID   string    `json:"connectionId"`
	RepositoryID   string    `json:"repositoryId"`
	RepositoryName string    `json:"repositoryName"`
	ProjectName    string    `json:"projectName"`
	RemoteURL      string    `json:"remoteUrl"`
	Branch         string    `json:"branch"`
	CreatedAt      time.Time `json:"createdAt"`
	Version        int64     `json:"version"`
}

// APIKey is a caller credential. Only the SHA-256 hash of the key is stored (hex in Hash).
type APIKey struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenantId"`
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"createdAt"`
}

// Store is the persistence contract. Implementations are safe for concurrent use.
//
// Create* set Version to 1 and fail with ErrConflict on a duplicate name within the tenant
// (connections, build profiles) or duplicate id. Update* succeed only when the passed Version
// equals the stored one, then store Version+1 and write it back into the argument; otherwise
// ErrStale (or ErrNotFound). Get/Delete of an id that is absent or belongs to another tenant
// return ErrNotFound. List* return records ordered by CreatedAt, then ID.
type Store interface {
	CreateConnection(ctx context.Context, c *Connection) error
	GetConnection(ctx context.Context, tenantID, id string) (*Connection, error)
	ListConnections(ctx context.Context, tenantID string) ([]*Connection, error)
	UpdateConnection(ctx context.Context, c *Connection) error
	// DeleteConnection removes the connection and every build profile that refers to it.
	DeleteConnection(ctx context.Context, tenantID, id string) error

	CreateBuildProfile(ctx context.Context, p *BuildProfile) error
	GetBuildProfile(ctx context.Context, tenantID, id string) (*BuildProfile, error)
	ListBuildProfiles(ctx context.Context, tenantID string) ([]*BuildProfile, error)
	DeleteBuildProfile(ctx context.Context, tenantID, id string) error

	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash finds a key by the hex SHA-256 of its secret; ErrNotFound when none.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error)
	DeleteAPIKey(ctx context.Context, tenantID, id string) error

	Close() error
}
