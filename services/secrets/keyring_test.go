package secrets

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNewKeyringErrors(t *testing.T) {
	cases := map[string]struct {
		current string
		keys    map[string][]byte
	}{
		"current missing":  {"k2", map[string][]byte{"k1": testKey(1)}},
		"no keys":          {"k1", nil},
		"short key":        {"k1", map[string][]byte{"k1": testKey(1)[:16]}},
		"long key":         {"k1", map[string][]byte{"k1": append(testKey(1), 0)}},
		"bad id chars":     {"k:1", map[string][]byte{"k:1": testKey(1)}},
		"comma in id":      {"a,b", map[string][]byte{"a,b": testKey(1)}},
		"empty id":         {"", map[string][]byte{"": testKey(1)}},
		"id too long":      {strings.Repeat("a", MaxIDLen+1), map[string][]byte{strings.Repeat("a", MaxIDLen+1): testKey(1)}},
		"bad non-current":  {"k1", map[string][]byte{"k1": testKey(1), "bad id": testKey(2)}},
		"short non-curent": {"k1", map[string][]byte{"k1": testKey(1), "k2": testKey(2)[:31]}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := NewKeyring(tc.current, tc.keys)
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("got %v, want ErrInvalidKey", err)
			}
			for _, key := range tc.keys {
				if len(key) >= 16 {
					assertNoKeyMaterial(t, err.Error(), key)
				}
			}
		})
	}
}

func TestKeyringCopiesKeys(t *testing.T) {
	key := testKey(1)
	keys := map[string][]byte{"k1": key}
	k := mustKeyring(t, "k1", keys)
	sealed, err := k.Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xFF
	delete(keys, "k1")
	if _, err := k.Open(sealed, nil); err != nil {
		t.Fatalf("Keyring shares the caller's key memory: %v", err)
	}
}

func TestKeyringPrintsNoKeys(t *testing.T) {
	key := testKey(0x42)
	k := mustKeyring(t, "cur", map[string][]byte{"cur": key, "old": testKey(0x43)})
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), k.String()} {
		assertNoKeyMaterial(t, s, key)
		if !strings.Contains(s, "cur") || !strings.Contains(s, "old") {
			t.Fatalf("printed keyring %q should name its ids", s)
		}
	}
	if got := fmt.Sprint(k.IDs()); got != "[cur old]" {
		t.Fatalf("IDs = %s", got)
	}
}
