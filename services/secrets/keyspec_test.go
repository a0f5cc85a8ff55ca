package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcde\xff") // has '+'/'/' vs '-'/'_' differences
	for name, enc := range map[string]*base64.Encoding{
		"std": base64.StdEncoding, "raw std": base64.RawStdEncoding,
		"url": base64.URLEncoding, "raw url": base64.RawURLEncoding,
	} {
		id, got, err := ParseKey("  key-1.a_b : " + enc.EncodeToString(key) + "\n")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if id != "key-1.a_b" || !bytes.Equal(got, key) {
			t.Fatalf("%s: got %q %x", name, id, got)
		}
	}
}

func TestParseKeyErrorsDoNotLeak(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(testKey(0x51)[:31])
	full := base64.StdEncoding.EncodeToString(testKey(0x52))
	for _, spec := range []string{
		"k1:" + short,           // wrong length
		"k1:" + full + "!!!",    // not base64
		full,                    // no id
		"bad id:" + full,        // bad id characters
		":" + full,              // empty id
		"k1:" + full + full[:4], // too long
		full + ":k1",            // written the wrong way round
	} {
		_, _, err := ParseKey(spec)
		if !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("ParseKey(...): got %v, want ErrInvalidKey", err)
		}
		if strings.Contains(err.Error(), short) || strings.Contains(err.Error(), full[:16]) {
			t.Fatalf("error leaks key material: %q", err)
		}
	}
}

func envOf(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func TestFromEnvUnset(t *testing.T) {
	k, ok, err := FromEnv(envOf(nil))
	if k != nil || ok || err != nil {
		t.Fatalf("FromEnv with nothing set = %v, %v, %v; want nil, false, nil", k, ok, err)
	}
}

func TestFromEnvList(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	k, ok, err := FromEnv(envOf(map[string]string{
		EnvKeys: "new:" + b64(testKey(2)) + ", old:" + base64.RawURLEncoding.EncodeToString(testKey(1)),
	}))
	if err != nil || !ok {
		t.Fatalf("FromEnv: %v, ok=%v", err, ok)
	}
	if k.CurrentID() != "new" {
		t.Fatalf("CurrentID = %q, want new (first)", k.CurrentID())
	}
	oldBlob, _ := mustKeyring(t, "old", map[string][]byte{"old": testKey(1)}).Seal([]byte("v"), nil)
	if got, err := k.Open(oldBlob, nil); err != nil || string(got) != "v" {
		t.Fatalf("old key not loaded: %q %v", got, err)
	}

	for name, env := range map[string]map[string]string{
		"duplicate id": {EnvKeys: "a:" + b64(testKey(1)) + ",a:" + b64(testKey(2))},
		"bad spec":     {EnvKeys: "a:" + b64(testKey(1)[:20])},
		"only commas":  {EnvKeys: " , ,"},
		"both set":     {EnvKeys: "a:" + b64(testKey(1)), EnvKeysFile: "/nonexistent"},
		"missing file": {EnvKeysFile: filepath.Join(t.TempDir(), "absent")},
	} {
		if _, ok, err := FromEnv(envOf(env)); err == nil || ok {
			t.Fatalf("%s: got ok=%v err=%v, want an error", name, ok, err)
		} else {
			assertNoKeyMaterial(t, err.Error(), testKey(1))
		}
	}
}

func TestFromEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	content := "# sealing keys\n\n  cur:" + base64.StdEncoding.EncodeToString(testKey(3)) + "  # current\n" +
		"prev:" + base64.StdEncoding.EncodeToString(testKey(4)) + "\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	k, ok, err := FromEnv(envOf(map[string]string{EnvKeysFile: path}))
	if err != nil || !ok {
		t.Fatalf("FromEnv: %v, ok=%v", err, ok)
	}
	if k.CurrentID() != "cur" || strings.Join(k.IDs(), ",") != "cur,prev" {
		t.Fatalf("loaded %v", k)
	}
}
