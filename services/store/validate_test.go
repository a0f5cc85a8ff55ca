package store

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	good := []error{
		ValidateConnection(&Connection{ID: "c", TenantID: "t", Name: "n"}),
		ValidateBuildProfile(&BuildProfile{ID: "p", TenantID: "t", Name: "n", ConnectionID: "c"}),
		ValidateAPIKey(&APIKey{ID: "k", TenantID: "t", Hash: "h"}),
	}
	for i, err := range good {
		if err != nil {
			t.Errorf("valid record %d refused: %v", i, err)
		}
	}
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
	}
	for name, err := range bad {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}
