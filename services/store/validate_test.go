package store

import (
	"errors"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := []error{
		ValidateConnection(&Connection{ID: "c", TenantID: "t", Name: "n"}),
		ValidateBuildProfile(&BuildProfile{ID: "p", TenantID: "t", Name: "n", ConnectionID: "c"}),
		ValidateAPIKey(&APIKey{ID: "k", TenantID: "t", Hash: "h"}),
		ValidateOAuthState(&OAuthState{Key: "k", TenantID: "t", ConnectionID: "c", ExpiresAt: time.Unix(1, 0)}),
	}
	for i, err := range good {
		if err != nil {
			t.Errorf("valid record %d refused: %v", i, err)
		}
	}
	exp := time.Unix(1, 0)
	bad := map[string]error{
		"nil connection":   ValidateConnection(nil),
		"NUL in tenant":    ValidateConnection(&Connection{ID: "c", TenantID: "t\x00x", Name: "n"}),
		"NUL in name":      ValidateConnection(&Connection{ID: "c", TenantID: "t", Name: "n\x00"}),
		"profile no conn":  ValidateBuildProfile(&BuildProfile{ID: "p", TenantID: "t", Name: "n"}),
		"nil profile":      ValidateBuildProfile(nil),
		"key empty hash":   ValidateAPIKey(&APIKey{ID: "k", TenantID: "t"}),
		"key NUL in id":    ValidateAPIKey(&APIKey{ID: "\x00", TenantID: "t", Hash: "h"}),
		"nil key":          ValidateAPIKey(nil),
		"connection no id": ValidateConnection(&Connection{TenantID: "t", Name: "n"}),
		"nil state":        ValidateOAuthState(nil),
		"state no key":     ValidateOAuthState(&OAuthState{TenantID: "t", ConnectionID: "c", ExpiresAt: exp}),
		"state no tenant":  ValidateOAuthState(&OAuthState{Key: "k", ConnectionID: "c", ExpiresAt: exp}),
		"state no conn":    ValidateOAuthState(&OAuthState{Key: "k", TenantID: "t", ExpiresAt: exp}),
		"state NUL in key": ValidateOAuthState(&OAuthState{Key: "k\x00", TenantID: "t", ConnectionID: "c", ExpiresAt: exp}),
		"state NUL conn":   ValidateOAuthState(&OAuthState{Key: "k", TenantID: "t", ConnectionID: "\x00", ExpiresAt: exp}),
		"state no expiry":  ValidateOAuthState(&OAuthState{Key: "k", TenantID: "t", ConnectionID: "c"}),
	}
	for name, err := range bad {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}
