package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

// apikey create|list|revoke work on a Redis store with the same --store flag as serve, while
// nothing else holds it; a key of one tenant cannot be revoked as another.
func TestAPIKeyCommandsOnRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AppendOnly: true})
	dir := t.TempDir()
	t.Setenv("REPOCONNECT_SEALING_KEYS", "")
	t.Setenv("REPOCONNECT_SEALING_KEYS_FILE", "")
	store := srv.URL(0) + "?prefix=clitest"
	out, _, code := run(t, "", "apikey", "create", "--store", store, "--data-dir", dir, "--tenant", "team-a")
	key := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(key, "rck_") {
		t.Fatalf("apikey create: exit %d, %q", code, out)
	}
	out, _, code = run(t, "", "apikey", "list", "--store", store, "--data-dir", dir, "--tenant", "team-a")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || strings.Contains(out, key) {
		t.Fatalf("apikey list: exit %d, %q", code, out)
	}
	id := strings.Fields(lines[1])[0]
	// Every key of the deployment carries its prefix and the layout version.
	keys, err := srv.Client().Keys(context.Background(), "*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "clitest:v1:") {
			t.Errorf("key %q lacks the deployment prefix", k)
		}
	}
	if _, _, code := run(t, "", "apikey", "revoke", id, "--store", store, "--data-dir", dir, "--tenant", "team-b"); code == 0 {
		t.Fatal("team-b revoked team-a's key")
	}
	if _, errOut, code := run(t, "", "apikey", "revoke", id, "--store", store, "--data-dir", dir, "--tenant", "team-a"); code != 0 {
		t.Fatalf("apikey revoke: exit %d %s", code, errOut)
	}
	out, _, _ = run(t, "", "apikey", "list", "--store", store, "--data-dir", dir, "--tenant", "team-a")
	if strings.Contains(out, id) {
		t.Fatalf("the revoked key is still listed: %q", out)
	}
}

// A --store URL that is not one of the forms is a usage error (exit 2) that names the forms
// and never echoes a password.
func TestStoreURLUsage(t *testing.T) {
	for _, u := range []string{"mysql://u:secretpw@h/db", "redis://u:secretpw@h:notaport/0", "redis+sentinel://u:secretpw@h:1"} {
		dir := t.TempDir()
		_, errOut, code := run(t, "", "apikey", "list", "--store", u, "--data-dir", dir)
		if code != 2 || strings.Contains(errOut, "secretpw") {
			t.Errorf("--store %s: exit %d, %q", u, code, errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "sealing.key")); !os.IsNotExist(err) {
			t.Errorf("--store %s: a sealing key was created for a refused command (%v)", u, err)
		}
	}
}

// The start-up durability check: Redis that keeps nothing on disk is a warning saying a restart
// loses every connection, and with --require-aof a refusal; AOF with appendfsync always passes
// quietly.
func TestDurabilityCheck(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       redistest.Options
		requireAOF bool
		wantErr    bool
		wantLog    string
	}{
		{"nothing on disk", redistest.Options{}, false, false, "restart"},
		{"nothing on disk, --require-aof", redistest.Options{}, true, true, ""},
		{"everysec, --require-aof", redistest.Options{AppendOnly: true, AppendFsync: "everysec"}, true, true, ""},
		{"AOF always, --require-aof", redistest.Options{AppendOnly: true, AppendFsync: "always"}, true, false, "fsync on every write"},
		{"evicting", redistest.Options{AppendOnly: true, Args: []string{"--maxmemory-policy", "allkeys-lru"}}, false, false, "maxmemory-policy noeviction"},
		{"evicting, --require-aof", redistest.Options{AppendOnly: true, Args: []string{"--maxmemory-policy", "volatile-lru"}}, true, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t, tc.opts)
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			f := &serveFlags{storeFlags: storeFlags{storeURL: srv.URL(0), dataDir: t.TempDir()}, requireAOF: tc.requireAOF}
			be, err := f.openStore(context.Background(), log)
			if err != nil {
				t.Fatal(err)
			}
			defer be.Close()
			err = f.checkDurability(context.Background(), be, log)
			if (err != nil) != tc.wantErr || !strings.Contains(logs.String(), tc.wantLog) {
				t.Fatalf("err %v, log %q", err, logs.String())
			}
			if wantEvict := strings.Contains(strings.Join(tc.opts.Args, " "), "lru"); wantEvict && tc.wantErr &&
				!strings.Contains(err.Error(), "maxmemory-policy volatile-lru") {
				t.Fatalf("the refusal does not name the eviction policy: %v", err)
			}
		})
	}
}
