package redisstore

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
)

// esc escapes a value for use inside a key name (see the package doc): injective, and free
// of ':', '{', '}' and spaces.
func esc(v string) string { return url.QueryEscape(v) }

// tenantKey is the key rest of tenant: "P:v1:t:{T}:rest". The hash tag {T} puts every key of
// a tenant in one Cluster slot.
func (s *Store) tenantKey(tenant, rest string) string {
	return s.prefix + ":v1:t:{" + esc(tenant) + "}:" + rest
}

// globalKey is "P:v1:kind:<escaped name>".
func (s *Store) globalKey(kind, name string) string {
	return s.prefix + ":v1:" + kind + ":" + esc(name)
}

func (s *Store) connKey(tenant, id string) string  { return s.tenantKey(tenant, "conn:"+esc(id)) }
func (s *Store) connNamesKey(tenant string) string { return s.tenantKey(tenant, "conn_names") }
func (s *Store) connIndexKey(tenant string) string { return s.tenantKey(tenant, "conn_index") }
func (s *Store) connProfilesKey(tenant, connID string) string {
	return s.tenantKey(tenant, "conn_profiles:"+esc(connID))
}
func (s *Store) profileKey(tenant, id string) string  { return s.tenantKey(tenant, "profile:"+esc(id)) }
func (s *Store) profileNamesKey(tenant string) string { return s.tenantKey(tenant, "profile_names") }
func (s *Store) profileIndexKey(tenant string) string { return s.tenantKey(tenant, "profile_index") }
func (s *Store) apiKeyKey(tenant, id string) string   { return s.tenantKey(tenant, "apikey:"+esc(id)) }
func (s *Store) apiKeyIndexKey(tenant string) string  { return s.tenantKey(tenant, "apikey_index") }
func (s *Store) apiKeyHashKey(hash string) string     { return s.globalKey("apikey_hash", hash) }
func (s *Store) oauthStateKey(key string) string      { return s.globalKey("oauth_state", key) }
func (s *Store) lockKey(name string) string           { return s.globalKey("lock", name) }

// newClaim returns the value of an apikey_hash key for the key id of tenant: the escaped
// tenant and id and a random nonce, separated by spaces (which esc never produces).
func newClaim(tenant, id string) (string, error) {
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	return esc(tenant) + " " + esc(id) + " " + hex.EncodeToString(nonce[:]), nil
}

// parseClaim returns the tenant and id a claim names; ok is false for a malformed one.
func parseClaim(claim string) (tenant, id string, ok bool) {
	parts := strings.Split(claim, " ")
	if len(parts) != 3 {
		return "", "", false
	}
	tenant, err1 := url.QueryUnescape(parts[0])
	id, err2 := url.QueryUnescape(parts[1])
	return tenant, id, err1 == nil && err2 == nil && tenant != "" && id != ""
}
