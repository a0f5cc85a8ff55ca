package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/services/store"
	"github.com/repoconnect/repoconnect/services/store/bolt"
	"github.com/repoconnect/repoconnect/services/store/redisstore/redistest"
)

// servingDir is a `serve --demo --data-dir DIR` running in this process on the real bbolt
// file of DIR: its URL and demo API key (tenant default), and stop, which ends it and
// reports how it ended.
type servingDir struct {
	url, key string
	// serverURL, collection and pat are the demo's simulated Server, as the summary prints them.
	serverURL, collection, pat string
	stop                       func() error
}

func startServing(t *testing.T, dir string) *servingDir {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	root := newRootCommand()
	root.SetArgs([]string{"serve", "--demo", "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-level", "error"})
	root.SetOut(pw)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()
	var stopped atomic.Bool
	s := &servingDir{stop: func() error {
		if stopped.Swap(true) {
			return nil
		}
		cancel()
		return <-done
	}}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	sc := bufio.NewScanner(pr)
	for (s.url == "" || s.key == "" || s.pat == "") && sc.Scan() {
		switch f := strings.Fields(sc.Text()); {
		case len(f) == 2 && f[0] == "service":
			s.url = f[1]
		case len(f) == 3 && f[0] == "API" && f[1] == "key":
			s.key = f[2]
		case len(f) == 3 && f[0] == "server" && f[1] == "URL":
			s.serverURL = f[2]
		case len(f) == 2 && f[0] == "collection":
			s.collection = f[1]
		case len(f) >= 2 && f[0] == "PAT":
			s.pat = f[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if s.url == "" || s.key == "" {
		t.Fatalf("serve printed no URL or API key (%v)", sc.Err())
	}
	return s
}

// status is the HTTP status of GET /api/v1/connections with key.
func (s *servingDir) status(t *testing.T, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/connections", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func noSealingEnv(t *testing.T) {
	t.Setenv("REPOCONNECT_SEALING_KEYS", "")
	t.Setenv("REPOCONNECT_SEALING_KEYS_FILE", "")
	t.Setenv("REPOCONNECT_STORE", "")
}

// While serve holds the embedded store, apikey create, list and revoke run through its admin
// socket: a created key authenticates at once, a revoked one gets 401 at once, revoke
// without --tenant names the tenants it searched (when found and when not), and the key can
// be named by itself on standard input. At shutdown the socket file is removed.
func TestAPIKeysWhileServing(t *testing.T) {
	noSealingEnv(t)
	dir := t.TempDir()
	srv := startServing(t, dir)
	sock := filepath.Join(dir, "admin.sock")
	if fi, err := os.Lstat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v %v", fi, err)
	}
	// The store file is held: opening it directly fails.
	if st, err := bolt.Open(filepath.Join(dir, "repoconnect.db"), bolt.Options{Timeout: 50 * time.Millisecond}); err == nil {
		st.Close()
		t.Fatal("the store file is not held by serve")
	}

	var keys, ids []string
	for range 2 {
		out, errOut, code := run(t, "", "apikey", "create", "--data-dir", dir, "--tenant", "acme")
		key := strings.TrimSpace(out)
		if code != 0 || !strings.HasPrefix(key, "rck_") || !strings.Contains(errOut, "admin socket") {
			t.Fatalf("apikey create while serving: exit %d, %q %q", code, out, errOut)
		}
		if strings.Contains(errOut, key) {
			t.Fatalf("the key is on stderr: %q", errOut)
		}
		if got := srv.status(t, key); got != http.StatusOK {
			t.Fatalf("a key created through the socket: %d", got)
		}
		f := strings.Fields(errOut[strings.Index(errOut, "created API key"):])
		keys, ids = append(keys, key), append(ids, f[3])
	}

	out, _, code := run(t, "", "apikey", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, ids[0]) || !strings.Contains(out, ids[1]) || !strings.Contains(out, "default") {
		t.Fatalf("apikey list (every tenant) while serving: exit %d, %q", code, out)
	}
	out, _, code = run(t, "", "apikey", "list", "--data-dir", dir, "--tenant", "default")
	if code != 0 || strings.Contains(out, "acme") || len(strings.Split(strings.TrimSpace(out), "\n")) != 2 {
		t.Fatalf("apikey list --tenant default: exit %d, %q", code, out)
	}

	_, errOut, code := run(t, "", "apikey", "revoke", ids[0], "--data-dir", dir)
	if want := "revoked API key " + ids[0] + " of tenant acme (searched tenants: acme, default)"; code != 0 || !strings.Contains(errOut, want) {
		t.Fatalf("apikey revoke while serving: exit %d, %q; want %q", code, errOut, want)
	}
	if got := srv.status(t, keys[0]); got != http.StatusUnauthorized {
		t.Fatalf("a revoked key: %d, want 401", got)
	}
	if got := srv.status(t, keys[1]); got != http.StatusOK {
		t.Fatalf("the other key after the revocation: %d", got)
	}
	_, errOut, code = run(t, "", "apikey", "revoke", ids[0], "--data-dir", dir)
	if want := "no API key " + ids[0] + " in tenants acme, default"; code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("revoking a revoked key: exit %d, %q; want %q", code, errOut, want)
	}
	// --tenant of another tenant: not found there, and only that tenant is named.
	_, errOut, code = run(t, "", "apikey", "revoke", ids[1], "--data-dir", dir, "--tenant", "default")
	if want := "no API key " + ids[1] + " in tenant default"; code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("revoke in another tenant: exit %d, %q", code, errOut)
	}
	// The leaked key itself, on standard input: revoked, and never echoed.
	_, errOut, code = run(t, keys[1]+"\n", "apikey", "revoke", "-", "--data-dir", dir)
	if code != 0 || !strings.Contains(errOut, "revoked API key "+ids[1]+" of tenant acme (searched tenants: acme, default)") || strings.Contains(errOut, keys[1][4:]) {
		t.Fatalf("revoke - (key on stdin): exit %d, %q", code, errOut)
	}
	if got := srv.status(t, keys[1]); got != http.StatusUnauthorized {
		t.Fatalf("a key revoked by itself: %d, want 401", got)
	}
	// The same key again: not found, and the message shows none of it.
	_, errOut, code = run(t, "", "apikey", "revoke", keys[1], "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "no API key rck_… (the key given) in tenant default") || strings.Contains(errOut, keys[1][4:]) {
		t.Fatalf("revoke of a revoked key by itself: exit %d, %q", code, errOut)
	}
	// A bad tenant name is a usage error through the socket too.
	if _, errOut, code := run(t, "", "apikey", "create", "--data-dir", dir, "--tenant", "bad tenant"); code != 2 || !strings.Contains(errOut, "--tenant") {
		t.Fatalf("bad tenant through the socket: exit %d, %q", code, errOut)
	}

	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Fatalf("the admin socket outlived serve: %v", err)
	}
	// With serve stopped, the commands open the store again, and see what the service did.
	out, errOut, code = run(t, "", "apikey", "list", "--data-dir", dir, "--tenant", "acme")
	if code != 0 || strings.Contains(errOut, "admin socket") || len(strings.Split(strings.TrimSpace(out), "\n")) != 1 {
		t.Fatalf("apikey list after serve: exit %d, %q %q", code, out, errOut)
	}
}

// staleSocket leaves a unix socket file at path that nothing listens on, as a crash does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("the stale socket answers")
	}
}

// A socket file left by a crash: the apikey commands open the store (nothing answers), and
// serve replaces it with its own, which the commands then use.
func TestStaleAdminSocket(t *testing.T) {
	noSealingEnv(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	staleSocket(t, sock)
	out, errOut, code := run(t, "", "apikey", "create", "--data-dir", dir, "--tenant", "acme")
	if code != 0 || !strings.HasPrefix(out, "rck_") || strings.Contains(errOut, "admin socket") {
		t.Fatalf("apikey create beside a stale socket: exit %d, %q %q", code, out, errOut)
	}
	srv := startServing(t, dir)
	out, errOut, code = run(t, "", "apikey", "list", "--data-dir", dir, "--tenant", "acme")
	if code != 0 || !strings.Contains(errOut, "admin socket") || len(strings.Split(strings.TrimSpace(out), "\n")) != 2 {
		t.Fatalf("apikey list through the replaced socket: exit %d, %q %q", code, out, errOut)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
}

// The store file held by another process and no service on the socket: the commands say so
// (after the file lock's wait), instead of waiting or failing obscurely.
func TestAPIKeyStoreHeldWithoutSocket(t *testing.T) {
	noSealingEnv(t)
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "repoconnect.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	staleSocket(t, filepath.Join(dir, "admin.sock"))
	_, errOut, code := run(t, "", "apikey", "list", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "is held by another process and no service answers on "+filepath.Join(dir, "admin.sock")) {
		t.Fatalf("apikey list on a held store: exit %d, %q", code, errOut)
	}
}

// listenAdmin refuses what would make the socket unsafe or ambiguous: a data directory
// writable by others, a file that is not a socket in the way, a live socket of another
// process; it replaces a stale one, binds mode 0600 and removes only its own file.
func TestListenAdmin(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.sock")

	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := listenAdmin(dir, log); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("a world-writable directory: %v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listenAdmin(dir, log); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("a regular file in the way: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "x" {
		t.Fatalf("the regular file was touched: %q %v", b, err)
	}
	os.Remove(path)

	staleSocket(t, path)
	ln, err := listenAdmin(dir, log)
	if err != nil {
		t.Fatalf("a stale socket was not replaced: %v", err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o600 || !os.SameFile(fi, ln.info) {
		t.Fatalf("the socket: %v %v", fi, err)
	}
	if _, err := listenAdmin(dir, log); err == nil || !strings.Contains(err.Error(), "another process answers") {
		t.Fatalf("a live socket: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the data directory holds more than the socket: %v", entries)
	}
	ln.Close()
	ln.remove()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("the socket was not removed: %v", err)
	}

	// A socket file that is no longer the listener's own is left alone.
	ln, err = listenAdmin(dir, log)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	// Moved aside, not removed: a removed socket's inode may be given to the next one at
	// once, and the new file would look like the listener's own (as another serve's socket,
	// made before it replaces this one, never does).
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	staleSocket(t, path)
	ln.remove()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("another socket file was removed: %v", err)
	}
}

// With a Redis store nothing goes through a socket, even one that answers in the data
// directory; revoke without --tenant names the tenants it searched there too.
func TestAPIKeyRevokeOnRedisSearchesTenants(t *testing.T) {
	noSealingEnv(t)
	rs := redistest.Start(t, redistest.Options{})
	dir := t.TempDir()
	var hits atomic.Int32
	ln, err := net.Listen("unix", filepath.Join(dir, "admin.sock"))
	if err != nil {
		t.Fatal(err)
	}
	decoy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1); w.WriteHeader(500) })}
	go func() { _ = decoy.Serve(ln) }()
	defer decoy.Close()

	st := rs.URL(0) + "?prefix=admintest"
	var ids []string
	for _, tenant := range []string{"team-b", "team-a"} {
		_, errOut, code := run(t, "", "apikey", "create", "--store", st, "--data-dir", dir, "--tenant", tenant)
		if code != 0 {
			t.Fatalf("apikey create on Redis: exit %d %q", code, errOut)
		}
		ids = append(ids, strings.Fields(errOut)[3])
	}
	out, _, code := run(t, "", "apikey", "list", "--store", st, "--data-dir", dir)
	if code != 0 || !strings.Contains(out, ids[0]) || !strings.Contains(out, ids[1]) {
		t.Fatalf("apikey list (every tenant) on Redis: exit %d %q", code, out)
	}
	_, errOut, code := run(t, "", "apikey", "revoke", ids[0], "--store", st, "--data-dir", dir)
	if want := "revoked API key " + ids[0] + " of tenant team-b (searched tenants: team-a, team-b)"; code != 0 || !strings.Contains(errOut, want) {
		t.Fatalf("revoke on Redis: exit %d %q, want %q", code, errOut, want)
	}
	_, errOut, code = run(t, "", "apikey", "revoke", ids[0][:6], "--store", st, "--data-dir", dir)
	if want := "no API key " + ids[0][:6] + " in tenant team-a"; code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("revoke of a revoked key's prefix on Redis: exit %d %q, want %q", code, errOut, want)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the Redis path asked the socket %d times", n)
	}
}

// An id prefix names a key when only one key has it; one that several keys share revokes
// nothing and lists them; one shorter than 4 characters is a usage error.
func TestAPIKeyRevokeByPrefix(t *testing.T) {
	noSealingEnv(t)
	dir := t.TempDir()
	st, err := bolt.Open(filepath.Join(dir, "repoconnect.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []store.APIKey{{ID: "abcd0001", TenantID: "acme"}, {ID: "abcd0002", TenantID: "default"}, {ID: "abce0003", TenantID: "acme"}} {
		k.Hash = strings.Repeat(string(rune('a'+i)), 64)
		if err := st.CreateAPIKey(context.Background(), &k); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	_, errOut, code := run(t, "", "apikey", "revoke", "abcd", "--data-dir", dir)
	if code != 1 || !strings.Contains(errOut, "abcd0001 (tenant acme)") || !strings.Contains(errOut, "abcd0002 (tenant default)") {
		t.Fatalf("an ambiguous prefix: exit %d %q", code, errOut)
	}
	_, errOut, code = run(t, "", "apikey", "revoke", "abc", "--data-dir", dir)
	if code != 2 || !strings.Contains(errOut, "at least 4") {
		t.Fatalf("a 3-character prefix: exit %d %q", code, errOut)
	}
	_, errOut, code = run(t, "", "apikey", "revoke", "abce", "--data-dir", dir)
	if code != 0 || !strings.Contains(errOut, "revoked API key abce0003 of tenant acme (searched tenants: acme, default)") {
		t.Fatalf("a unique prefix: exit %d %q", code, errOut)
	}
	out, _, _ := run(t, "", "apikey", "list", "--data-dir", dir)
	if !strings.Contains(out, "abcd0001") || !strings.Contains(out, "abcd0002") || strings.Contains(out, "abce0003") {
		t.Fatalf("after the revocations: %q", out)
	}
}

// On a Redis Cluster the tenants' keys live on several masters: apikey list without
// --tenant finds every tenant's, and revoke without --tenant names them all.
func TestAPIKeyTenantsOnRedisCluster(t *testing.T) {
	noSealingEnv(t)
	c := redistest.StartCluster(t, 3)
	dir := t.TempDir()
	st := c.URL()
	tenants := []string{"t1", "t2", "t3", "t4", "t5", "t6"}
	ids := map[string]string{}
	for _, tenant := range tenants {
		_, errOut, code := run(t, "", "apikey", "create", "--store", st, "--data-dir", dir, "--tenant", tenant)
		if code != 0 {
			t.Fatalf("apikey create on a cluster: exit %d %q", code, errOut)
		}
		ids[tenant] = strings.Fields(errOut)[3]
	}
	// The tenants' hash slots are spread over more than one master.
	masters := map[string]bool{}
	for _, tenant := range tenants {
		node, err := c.Client().MasterForKey(context.Background(), "{"+tenant+"}")
		if err != nil {
			t.Fatal(err)
		}
		masters[node.Options().Addr] = true
	}
	if len(masters) < 2 {
		t.Fatalf("every tenant is on one master: %v", masters)
	}
	out, _, code := run(t, "", "apikey", "list", "--store", st, "--data-dir", dir)
	for _, tenant := range tenants {
		if code != 0 || !strings.Contains(out, ids[tenant]) {
			t.Fatalf("apikey list on a cluster lacks %s's key: exit %d %q", tenant, code, out)
		}
	}
	_, errOut, code := run(t, "", "apikey", "revoke", ids["t4"], "--store", st, "--data-dir", dir)
	if want := "of tenant t4 (searched tenants: t1, t2, t3, t4, t5, t6)"; code != 0 || !strings.Contains(errOut, want) {
		t.Fatalf("revoke on a cluster: exit %d %q, want %q", code, errOut, want)
	}
}
