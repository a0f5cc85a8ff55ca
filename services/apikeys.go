package services

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"

	"github.com/repoconnect/repoconnect/services/store"
)

// DefaultTenant is the tenant of API keys created without one.
const DefaultTenant = "default"

// apiKeyPrefix starts every API key, so leaked keys are easy to find with a scanner.
const apiKeyPrefix = "rck_"

var tenantName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ErrInvalidAPIKey is returned by Authenticate for a missing, malformed or unknown key.
var ErrInvalidAPIKey = errors.New("invalid API key")

// CreateAPIKey makes a new API key for tenant (DefaultTenant when empty): "rck_" followed by
// 43 base64url characters (256 random bits). Only its SHA-256 is stored; the returned key is
// the only copy. Errors: ErrInvalidInput for a bad tenant name (1-63 of A-Z a-z 0-9 . _ -).
func (s *Service) CreateAPIKey(ctx context.Context, tenant string) (key string, rec *store.APIKey, err error) {
	if tenant == "" {
		tenant = DefaultTenant
	}
	if !tenantName.MatchString(tenant) {
		return "", nil, invalid("tenant", "a tenant name is 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, err
	}
	key = apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	rec = &store.APIKey{ID: newID()[:16], TenantID: tenant, Hash: hashKey(key), CreatedAt: s.now().UTC()}
	if err := s.store.CreateAPIKey(ctx, rec); err != nil {
		return "", nil, err
	}
	return key, rec, nil
}

// Authenticate returns the tenant of an API key, or ErrInvalidAPIKey.
func (s *Service) Authenticate(ctx context.Context, key string) (string, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 200 {
		return "", ErrInvalidAPIKey
	}
	k, err := s.store.APIKeyByHash(ctx, hashKey(key))
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrInvalidAPIKey
	} else if err != nil {
		return "", err
	}
	return k.TenantID, nil
}

// ListAPIKeys returns every API key of the tenant (ids and dates; the keys themselves are not
// kept), oldest first; with tenant "", those of every tenant APIKeyTenants names, tenant by
// tenant.
func (s *Service) ListAPIKeys(ctx context.Context, tenant string) ([]*store.APIKey, error) {
	if tenant != "" {
		keys, _, err := s.store.ListAPIKeys(ctx, tenant, store.Page{})
		return keys, err
	}
	tenants, err := s.APIKeyTenants(ctx)
	if err != nil {
		return nil, err
	}
	all := []*store.APIKey{}
	for _, t := range tenants {
		keys, _, err := s.store.ListAPIKeys(ctx, t, store.Page{})
		if err != nil {
			return nil, err
		}
		all = append(all, keys...)
	}
	return all, nil
}

// RevokeAPIKey deletes an API key; store.ErrNotFound when absent.
func (s *Service) RevokeAPIKey(ctx context.Context, tenant, id string) error {
	return s.store.DeleteAPIKey(ctx, tenant, id)
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
