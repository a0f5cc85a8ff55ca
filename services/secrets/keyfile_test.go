package secrets

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestLoadOrCreateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "repoconnect")
	path := filepath.Join(dir, "sealing.keys")
	first, created, err := LoadOrCreateFile(path)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v", created, err)
	}
	if !regexp.MustCompile(`^k\d{8}-[0-9a-f]{8}$`).MatchString(first.CurrentID()) {
		t.Fatalf("generated id %q does not look like kYYYYMMDD-xxxxxxxx", first.CurrentID())
	}
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got&^want != 0 {
				t.Fatalf("%s mode %04o, want at most %04o", p, got, want)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the key file (temp file left behind?)", len(entries))
	}

	sealed, err := first.Seal([]byte("credential"), []byte("t/c"))
	if err != nil {
		t.Fatal(err)
	}
	second, created, err := LoadOrCreateFile(path)
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v", created, err)
	}
	if second.CurrentID() != first.CurrentID() {
		t.Fatalf("re-read id %q, want %q", second.CurrentID(), first.CurrentID())
	}
	if got, err := second.Open(sealed, []byte("t/c")); err != nil || string(got) != "credential" {
		t.Fatalf("re-read key cannot open: %q %v", got, err)
	}
	// The file is also readable through the environment variable.
	viaEnv, ok, err := FromEnv(envOf(map[string]string{EnvKeysFile: path}))
	if err != nil || !ok || viaEnv.CurrentID() != first.CurrentID() {
		t.Fatalf("FromEnv(file): %v ok=%v err=%v", viaEnv, ok, err)
	}
}

func TestLoadOrCreateFileRefusesWideMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix permissions")
	}
	key := testKey(0x61)
	path := filepath.Join(t.TempDir(), "sealing.keys")
	if err := os.WriteFile(path, []byte("k1:"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	k, created, err := LoadOrCreateFile(path)
	if err == nil || k != nil || created {
		t.Fatalf("wide-mode file accepted: %v created=%v err=%v", k, created, err)
	}
	if !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("error %q should tell the user to chmod 600", err)
	}
	assertNoKeyMaterial(t, err.Error(), key)
	if _, ok, err := FromEnv(envOf(map[string]string{EnvKeysFile: path})); err == nil || ok {
		t.Fatalf("FromEnv accepted a wide-mode file: ok=%v", ok)
	}
	// The file was left alone.
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode changed to %04o", fi.Mode().Perm())
	}
}

func TestLoadOrCreateFileBadContent(t *testing.T) {
	key := testKey(0x62)
	path := filepath.Join(t.TempDir(), "sealing.keys")
	spec := "k1:" + base64.StdEncoding.EncodeToString(key[:30])
	if err := os.WriteFile(path, []byte(spec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, created, err := LoadOrCreateFile(path)
	if err == nil || created {
		t.Fatalf("bad key file accepted: created=%v", created)
	}
	if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(key[:30])) {
		t.Fatalf("error leaks key material: %q", err)
	}
	if content, _ := os.ReadFile(path); string(content) != spec+"\n" {
		t.Fatal("bad key file was overwritten")
	}
}
