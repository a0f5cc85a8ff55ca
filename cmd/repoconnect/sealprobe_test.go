package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

// keySpec is "id:base64key" of a deterministic key.
func keySpec(id string, seed byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{seed}, 32))
}

// The sealing probe at start, on Redis and on the embedded store: the first start stores it;
// an instance with another key is refused with a sentence naming both key ids and
// REPOCONNECT_SEALING_KEYS; after a rotation (new key first, old one kept) it starts and
// seals the probe anew, after which the old key alone is refused.
func TestSealProbeRefusesOtherKeys(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	for _, tc := range []struct{ name, store string }{
		{"redis", srv.URL(0) + "?prefix=probetest"},
		{"bolt", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("REPOCONNECT_SEALING_KEYS_FILE", "")
			start := func(keys string) (string, int) {
				t.Setenv("REPOCONNECT_SEALING_KEYS", keys)
				args := []string{"apikey", "list", "--data-dir", dir}
				if tc.store != "" {
					args = append(args, "--store", tc.store)
				}
				_, errOut, code := run(t, "", args...)
				return errOut, code
			}
			if errOut, code := start(keySpec("k1", 1)); code != 0 {
				t.Fatalf("first start: exit %d %s", code, errOut)
			}
			if errOut, code := start(keySpec("k1", 1)); code != 0 {
				t.Fatalf("second start, same key: exit %d %s", code, errOut)
			}
			errOut, code := start(keySpec("k2", 2))
			if code == 0 || !strings.Contains(errOut, `"k1"`) || !strings.Contains(errOut, `"k2"`) || !strings.Contains(errOut, "REPOCONNECT_SEALING_KEYS") {
				t.Fatalf("another key: exit %d %q; want a refusal naming k1, k2 and REPOCONNECT_SEALING_KEYS", code, errOut)
			}
			errOut, code = start(keySpec("k1", 9))
			if code == 0 || !strings.Contains(errOut, "other key material") {
				t.Fatalf("same id, other key: exit %d %q", code, errOut)
			}
			if errOut, code := start(keySpec("k2", 2) + "," + keySpec("k1", 1)); code != 0 {
				t.Fatalf("rotated (k2 current, k1 kept): exit %d %s", code, errOut)
			}
			if tc.name == "redis" {
				probe, err := srv.Client().Get(context.Background(), "probetest:v1:sealprobe").Bytes()
				if id, _ := secrets.SealedKeyID(probe); err != nil || id != "k2" {
					t.Fatalf("probe after the rotation sealed under %q (%v), want k2", id, err)
				}
			}
			if errOut, code := start(keySpec("k1", 1)); code == 0 || !strings.Contains(errOut, `"k2"`) {
				t.Fatalf("the old key alone after the rotation: exit %d %q", code, errOut)
			}
		})
	}
}
