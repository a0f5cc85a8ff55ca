//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// startRedis starts a real redis-server on a free loopback port with its files in dir, every
// write appended and fsynced (appendonly yes, appendfsync always) and no snapshots, and
// returns its store URL redis://127.0.0.1:PORT/0 once it answers PING.
func startRedis(t *testing.T, logDir, dir string) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed: apt-get install redis-server (the Redis store's end-to-end test needs a real one)")
	}
	port := freePort(t)
	p := start(t, logDir, "redis-server", nil, path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no")
	p.waitOutput(t, regexp.MustCompile(`Ready to accept connections`), 30*time.Second)
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatalf("redis-server said it was ready, yet: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || line != "+PONG\r\n" {
		t.Fatalf("redis-server answered PING with %q, %v", line, err)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
}

// TestRedisSharedStore: two `repoconnect serve` instances on one real redis-server (AOF
// always) share their records. A connection created through A lists its repositories through
// B; another tenant's key gets 404 for it on B; deleted through A, it is 404 on B at once.
// The PAT is readable neither in Redis' append-only file nor in the logs. The instances share
// a --data-dir only for the sealing-key file created there; every record lives in Redis.
func TestRedisSharedStore(t *testing.T) {
	w := t.TempDir()
	redisDir := filepath.Join(w, "redis")
	if err := os.MkdirAll(redisDir, 0o755); err != nil {
		t.Fatal(err)
	}
	store := startRedis(t, w, redisDir)

	importDir := filepath.Join(w, "import")
	realRepo(t, filepath.Join(importDir, "P", "r.git"))
	pat := newPAT(t)
	_, simBase := startSimulator(t, w, importDir, pat)

	data := filepath.Join(w, "data")
	key := createAPIKey(t, "--store", store, "--data-dir", data, "--tenant", "acme")
	other := createAPIKey(t, "--store", store, "--data-dir", data, "--tenant", "other")
	a, baseA := startServe(t, w, "serve-a", "--store", store, "--data-dir", data)
	b, baseB := startServe(t, w, "serve-b", "--store", store, "--data-dir", data)
	onA := client{t: t, base: baseA + "/api/v1", key: key}
	onB := client{t: t, base: baseB + "/api/v1", key: key}
	otherOnB := client{t: t, base: baseB + "/api/v1", key: other}

	code, body, conn := onA.call("POST", "/connections", serverConnection("r", simBase, pat))
	cid, _ := conn["id"].(string)
	if code != http.StatusCreated || cid == "" {
		t.Fatalf("create a connection on A: %d, want 201 with an id: %.300s", code, body)
	}
	code, body, repos := onB.call("GET", "/connections/"+cid+"/repositories", nil)
	if n, _ := repos["count"].(float64); code != http.StatusOK || n < 1 {
		t.Fatalf("the repositories of A's connection on B: %d, want 200 with at least one: %.300s", code, body)
	}
	if code, body, _ := otherOnB.call("GET", "/connections/"+cid, nil); code != http.StatusNotFound {
		t.Errorf("another tenant's key on B got %d for the connection, want 404: %.300s", code, body)
	}
	if code, body, _ := onA.call("DELETE", "/connections/"+cid, nil); code/100 != 2 {
		t.Fatalf("delete the connection on A: %d: %.300s", code, body)
	}
	if code, body, _ := onB.call("GET", "/connections/"+cid+"/repositories", nil); code != http.StatusNotFound {
		t.Errorf("B answered %d for the repositories of a deleted connection, want 404: %.300s", code, body)
	}

	if !foundUnder(t, redisDir, cid) {
		t.Errorf("the connection id %s is in no file under %s: the append-only file searched for the PAT is not where the records went", cid, redisDir)
	}
	outA, _ := a.out.snapshot()
	outB, _ := b.out.snapshot()
	assertNoSecret(t, pat, map[string]string{"A's log": outA, "B's log": outB}, redisDir)
	t.Log("redis: two instances share one store, tenants apart, deletes seen at once, no PAT readable in the AOF")
}
