package secrets

import (
	"errors"
	"strings"
	"testing"
)

// CheckProbe: the current key opens it; an older key still in the keyring opens it and asks
// for a reseal; an unknown key id, other key material under the same id, and a malformed
// probe are ErrProbeMismatch with a sentence naming the ids and the setting, never a key.
func TestCheckProbe(t *testing.T) {
	a := mustKeyring(t, "a", map[string][]byte{"a": testKey(1)})
	probe, err := a.SealProbe()
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := SealedKeyID(probe); !ok || id != "a" {
		t.Fatalf("SealedKeyID = %q, %v", id, ok)
	}
	if reseal, err := a.CheckProbe(probe); err != nil || reseal {
		t.Fatalf("same keyring: reseal %v, %v", reseal, err)
	}
	rotated := mustKeyring(t, "b", map[string][]byte{"a": testKey(1), "b": testKey(2)})
	if reseal, err := rotated.CheckProbe(probe); err != nil || !reseal {
		t.Fatalf("rotated keyring: reseal %v, %v; want a reseal", reseal, err)
	}
	for _, tc := range []struct {
		name  string
		k     *Keyring
		probe []byte
		says  []string
	}{
		{"unknown id", mustKeyring(t, "b", map[string][]byte{"b": testKey(2)}), probe,
			[]string{`sealed under key "a"`, `current "b"`, EnvKeys}},
		{"other key, same id", mustKeyring(t, "a", map[string][]byte{"a": testKey(3)}), probe,
			[]string{`key "a"`, "other key material", EnvKeys}},
		{"malformed", a, []byte("garbage"), []string{"malformed", EnvKeys}},
	} {
		_, err := tc.k.CheckProbe(tc.probe)
		if !errors.Is(err, ErrProbeMismatch) {
			t.Fatalf("%s: %v, want ErrProbeMismatch", tc.name, err)
		}
		for _, w := range tc.says {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
		for _, seed := range []byte{1, 2, 3} {
			assertNoKeyMaterial(t, err.Error(), testKey(seed))
		}
	}
}
