package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// Two instances on one Redis: a connection created through A is listed, used (repositories,
// a build profile, a clone) and deleted through B; the catalog cache is shared (a list B
// fetched is served to A without asking Azure DevOps, byte for byte), follows the connection's
// status on both, and no instance answers from it once the connection is deleted.
func TestRedisTwoInstancesShareConnections(t *testing.T) {
	f := newFleet(t, onRedis, 2, nil)
	const A, B = 0, 1
	id := f.create(A, "acme", "shared")

	code, list := f.json(B, "acme", "GET", "/api/v1/connections", nil)
	if code != 200 || list["count"].(float64) != 1 || list["value"].([]any)[0].(map[string]any)["id"] != id {
		t.Fatalf("B lists %d %v, want the connection made on A", code, list)
	}
	_, onA, _ := f.do(A, "acme", "GET", "/api/v1/connections/"+id, nil)
	_, onB, _ := f.do(B, "acme", "GET", "/api/v1/connections/"+id, nil)
	if !bytes.Equal(onA, onB) {
		t.Fatalf("the connection differs between instances:\nA %s\nB %s", onA, onB)
	}

	// Cold on B (asks the forge), warm on A (from the shared cache), identical bytes.
	reposPath := "/api/v1/connections/" + id + "/repositories"
	before := f.sim.APIRequests()
	code, cold, _ := f.do(B, "acme", "GET", reposPath, nil)
	if code != 200 || f.sim.APIRequests() == before {
		t.Fatalf("cold list on B: %d, %d forge requests", code, f.sim.APIRequests()-before)
	}
	before = f.sim.APIRequests()
	code, warm, _ := f.do(A, "acme", "GET", reposPath, nil)
	if code != 200 || !bytes.Equal(cold, warm) {
		t.Fatalf("warm list on A differs from the cold one on B (%d):\n%s\n%s", code, warm, cold)
	}
	if n := f.sim.APIRequests() - before; n != 0 {
		t.Fatalf("the warm list on A asked Azure DevOps %d times; the cache is not shared", n)
	}

	// Used through B: a build profile and a clone.
	rid := f.repoID(B, "acme", id, "android app")
	code, prof := f.json(B, "acme", "POST", "/api/v1/build-profiles", map[string]any{"name": "android", "connectionId": id, "repositoryId": rid, "branch": "main"})
	if code != 201 {
		t.Fatalf("build profile on B: %d %v", code, prof)
	}
	code, cl := f.json(B, "acme", "POST", "/api/v1/build-profiles/"+prof["id"].(string)+"/clone", map[string]any{"depth": 1})
	if code != 200 || len(cl["commit"].(string)) != 40 {
		t.Fatalf("clone on B: %d %v", code, cl)
	}

	// The PAT expires; a check on A records it; B's cached list is not served any more.
	f.sim.AddPAT(azdosim.PAT{Token: simPAT, UserName: "API Tester", Expires: time.Now().Add(-time.Minute)})
	if code, res := f.json(A, "acme", "POST", "/api/v1/connections/"+id+"/check", nil); code != 200 || res["valid"] != false {
		t.Fatalf("check on A after the expiry: %d %v", code, res)
	}
	if code, p := f.json(B, "acme", "GET", reposPath, nil); code != 422 || p["code"] != "invalid_token" {
		t.Fatalf("B after the status changed on A: %d %v (served from an old catalog?)", code, p)
	}
	f.sim.AddPAT(azdosim.PAT{Token: simPAT, UserName: "API Tester"})
	if code, res := f.json(B, "acme", "POST", "/api/v1/connections/"+id+"/check", nil); code != 200 || res["valid"] != true {
		t.Fatalf("check on B after the renewal: %d %v", code, res)
	}
	before = f.sim.APIRequests()
	if code, _, _ := f.do(A, "acme", "GET", reposPath, nil); code != 200 || f.sim.APIRequests() == before {
		t.Fatalf("A after the renewal: %d, %d forge requests (a new generation must be fetched)", code, f.sim.APIRequests()-before)
	}

	// The PAT is rotated through B (PATCH): a wrong one is refused and changes nothing; the
	// new one starts a new catalog generation, so A asks the forge again.
	const newPAT = "rotatedpat0123456789abcdefghijklmnop"
	f.sim.AddPAT(azdosim.PAT{Token: newPAT, UserName: "API Tester"})
	_, beforePatch, _ := f.do(A, "acme", "GET", "/api/v1/connections/"+id, nil)
	if code, p := f.json(B, "acme", "PATCH", "/api/v1/connections/"+id, map[string]any{"pat": "wrong0123456789", "name": "renamed"}); code != 422 || p["field"] != "pat" {
		t.Fatalf("PATCH with a wrong PAT: %d %v", code, p)
	}
	if _, after, _ := f.do(A, "acme", "GET", "/api/v1/connections/"+id, nil); !bytes.Equal(beforePatch, after) {
		t.Fatalf("a refused PATCH changed the connection:\n%s\n%s", beforePatch, after)
	}
	if code, p := f.json(B, "acme", "PATCH", "/api/v1/connections/"+id, map[string]any{"pat": newPAT, "name": "renamed"}); code != 200 || p["name"] != "renamed" || bytes.Contains([]byte(fmt.Sprint(p)), []byte(newPAT)) {
		t.Fatalf("PATCH with a new PAT: %d %v", code, p)
	}
	before = f.sim.APIRequests()
	if code, _, _ := f.do(A, "acme", "GET", reposPath, nil); code != 200 || f.sim.APIRequests() == before {
		t.Fatalf("A after the PAT rotation on B: %d, %d forge requests (the old catalog must be dropped)", code, f.sim.APIRequests()-before)
	}

	// Deleted through B while A keeps reading: once the delete has answered, no read on A
	// (started after it) succeeds, from the cache or otherwise.
	var deleted atomic.Bool
	var wg sync.WaitGroup
	var afterDelete atomic.Int32
	wg.Go(func() {
		for i := 0; i < 500 && afterDelete.Load() < 20; i++ {
			started := deleted.Load()
			code, _, _ := f.do(A, "acme", "GET", reposPath, nil)
			if started {
				afterDelete.Add(1)
				if code != 404 {
					t.Errorf("A answered %d for the connection's repositories after B deleted it", code)
					return
				}
			}
		}
	})
	if code, _, _ := f.do(B, "acme", "DELETE", "/api/v1/connections/"+id, nil); code != 204 {
		t.Fatalf("delete on B: %d", code)
	}
	deleted.Store(true)
	wg.Wait()
	if afterDelete.Load() == 0 {
		t.Fatal("no read on A started after the delete; the test proved nothing")
	}
	for i, path := range []string{"/api/v1/connections/" + id, reposPath, "/api/v1/connections/" + id + "/projects",
		"/api/v1/build-profiles/" + prof["id"].(string)} {
		for _, inst := range []int{A, B} {
			if code, _, _ := f.do(inst, "acme", "GET", path, nil); code != 404 {
				t.Errorf("%d: GET %s on instance %d after the delete: %d", i, path, inst, code)
			}
		}
	}

	// Nothing secret in the append-only file: the PAT is sealed.
	aof := readAll(t, f.be.redis.Dir)
	if bytes.Contains(aof, []byte(simPAT)) {
		t.Fatal("the PAT is readable in the Redis append-only file")
	}
	if !bytes.Contains(aof, []byte(id)) {
		t.Fatal("the append-only file does not hold the connection: is AOF on?")
	}
}

// readAll concatenates every regular file under dir.
func readAll(t *testing.T, dir string) []byte {
	t.Helper()
	var all []byte
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// Crash test: connections are created by four clients while redis-server (AOF, appendfsync
// always) is killed with SIGKILL and restarted; every connection whose creation was
// acknowledged (201) is there afterwards, through a new instance.
func TestRedisCrashKeepsAcknowledgedConnections(t *testing.T) {
	f := newFleet(t, onRedis, 1, nil)
	var (
		mu     sync.Mutex
		acked  []string
		failed atomic.Int32
		stop   atomic.Bool
		killed atomic.Bool
	)
	ackedN := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; i < 400 && !stop.Load(); i++ {
				name := fmt.Sprintf("crash-%d-%03d", w, i)
				code, m := f.json(0, "acme", "POST", "/api/v1/connections", f.connectionBody(name))
				switch {
				case code == http.StatusCreated:
					mu.Lock()
					acked = append(acked, m["id"].(string))
					mu.Unlock()
				case killed.Load() && code >= 500:
					failed.Add(1)
				default:
					t.Errorf("create %s: %d %v", name, code, m)
					return
				}
			}
		})
	}
	waitFor(t, "20 acknowledged creations", func() bool { return ackedN() >= 20 })
	killed.Store(true)
	f.be.redis.Kill()
	waitFor(t, "creations failing while Redis is down", func() bool { return failed.Load() >= 4 })
	atKill := ackedN()
	f.be.redis.Restart()
	waitFor(t, "20 more acknowledged creations after the restart", func() bool { return ackedN() >= atKill+20 })
	stop.Store(true)
	wg.Wait()

	fresh := f.addInstance(nil) // nothing cached, everything read from Redis
	mu.Lock()
	defer mu.Unlock()
	for _, id := range acked {
		if code, _, _ := f.do(fresh, "acme", "GET", "/api/v1/connections/"+id, nil); code != 200 {
			t.Errorf("acknowledged connection %s is gone after the crash: %d", id, code)
		}
	}
	t.Logf("%d creations acknowledged, %d failed while Redis was down; all acknowledged ones kept", len(acked), failed.Load())
}

// waitFor polls cond every 10ms until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after a minute", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
