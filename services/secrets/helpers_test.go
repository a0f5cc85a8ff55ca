package secrets

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// testKey returns a deterministic 32-byte key distinct per seed.
func testKey(seed byte) []byte {
	return bytes.Repeat([]byte{seed}, KeySize)
}

func mustKeyring(t *testing.T, current string, keys map[string][]byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(current, keys)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

// assertNoKeyMaterial fails when msg contains key in raw, hex-ish or any base64 form.
func assertNoKeyMaterial(t *testing.T, msg string, key []byte) {
	t.Helper()
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if s := enc.EncodeToString(key); strings.Contains(msg, s) || strings.Contains(msg, s[:16]) {
			t.Fatalf("message leaks key material: %q", msg)
		}
	}
	if strings.Contains(msg, string(key)) {
		t.Fatalf("message leaks raw key: %q", msg)
	}
}
