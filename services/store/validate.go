package store

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is returned (wrapped, with the offending field named) by Create*, Update* and
// PutOAuthState when a record lacks a required field or a key field holds a NUL byte, and by
// Lock for an empty name or a ttl <= 0. Nothing is stored.
var ErrInvalid = errors.New("store: invalid record")

// ValidateConnection reports whether c can be stored: ID, TenantID and Name must be non-empty
// and free of NUL bytes. The error wraps ErrInvalid; c == nil is invalid too.
func ValidateConnection(c *Connection) error {
	if c == nil {
		return fmt.Errorf("%w: nil connection", ErrInvalid)
	}
	return checkFields("connection", field{"id", c.ID}, field{"tenantId", c.TenantID}, field{"name", c.Name})
}

// ValidateBuildProfile reports whether p can be stored: ID, TenantID, Name and ConnectionID
// must be non-empty and free of NUL bytes. The error wraps ErrInvalid; p == nil is invalid too.
func ValidateBuildProfile(p *BuildProfile) error {
	if p == nil {
		return fmt.Errorf("%w: nil build profile", ErrInvalid)
	}
	return checkFields("build profile", field{"id", p.ID}, field{"tenantId", p.TenantID},
		field{"name", p.Name}, field{"connectionId", p.ConnectionID})
}

// ValidateAPIKey reports whether k can be stored: ID, TenantID and Hash must be non-empty and
// free of NUL bytes. The error wraps ErrInvalid; k == nil is invalid too.
func ValidateAPIKey(k *APIKey) error {
	if k == nil {
		return fmt.Errorf("%w: nil api key", ErrInvalid)
	}
	return checkFields("api key", field{"id", k.ID}, field{"tenantId", k.TenantID}, field{"hash", k.Hash})
}

// ValidateOAuthState reports whether st can be stored: Key, TenantID and ConnectionID must be
// non-empty and free of NUL bytes, and ExpiresAt must be set (non-zero; a time already past is
// allowed). The error wraps ErrInvalid; st == nil is invalid too.
func ValidateOAuthState(st *OAuthState) error {
	if st == nil {
		return fmt.Errorf("%w: nil oauth state", ErrInvalid)
	}
	if err := checkFields("oauth state", field{"key", st.Key}, field{"tenantId", st.TenantID},
		field{"connectionId", st.ConnectionID}); err != nil {
		return err
	}
	if st.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: oauth state: zero expiresAt", ErrInvalid)
	}
	return nil
}

type field struct{ name, value string }

func checkFields(kind string, fields ...field) error {
	for _, f := range fields {
		if f.value == "" {
			return fmt.Errorf("%w: %s: empty %s", ErrInvalid, kind, f.name)
		}
		if strings.IndexByte(f.value, 0) >= 0 {
			return fmt.Errorf("%w: %s: %s contains a NUL byte", ErrInvalid, kind, f.name)
		}
	}
	return nil
}

// ValidateRun reports whether r can be stored: ID, TenantID and BuildProfileID must be
// non-empty and free of NUL bytes. The error wraps ErrInvalid; r == nil is invalid too.
func ValidateRun(r *Run) error {
	if r == nil {
		return fmt.Errorf("%w: nil run", ErrInvalid)
	}
	return checkFields("run", field{"id", r.ID}, field{"tenantId", r.TenantID}, field{"buildProfileId", r.BuildProfileID})
}
