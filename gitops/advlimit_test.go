package gitops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
)

// A server whose reference advertisement over HTTP never ends is cut off past the bound,
// with protocol_error naming the limit, on every path that reads one: ListRefs, a cold
// Clone and a Clone through the repository cache; the client reads the bound and what the
// connection's buffers hold, not more, and nothing is left on disk.
func TestHTTPEndlessAdvertisement(t *testing.T) {
	EnableAzureDevOpsCapabilities()
	const limit = 1 << 20
	var written atomic.Int64
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if !strings.HasSuffix(r.URL.Path, "/info/refs") {
			http.Error(w, "only the advertisement", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		fmt.Fprint(w, "001e# service=git-upload-pack\n0000")
		// 100 bytes a reference, never a flush: only the client's bound ends it (a write
		// fails once the client has closed the connection).
		for i := 0; ; i++ {
			line := fmt.Sprintf("%040x refs/heads/branch-%040d\n", i+1, i)
			if i == 0 {
				line = fmt.Sprintf("%040x HEAD\x00multi_ack side-band-64k ofs-delta symref=HEAD:refs/heads/main\n", 1)
			}
			n, err := fmt.Fprintf(w, "%04x%s", len(line)+4, line)
			written.Add(int64(n))
			if err != nil || r.Context().Err() != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/DefaultCollection/Engine/_git/endless"
	check := func(what string, err error) {
		t.Helper()
		ce := connections.AsError(err)
		if ce == nil || !errors.Is(err, connections.ErrProtocol) || ce.Reason != connections.ReasonProtocol ||
			!strings.Contains(ce.Message, "reference advertisement of more than 1 MiB") || !strings.Contains(ce.Message, "fixed limit") {
			t.Fatalf("%s: %v, want protocol_error naming the limit", what, err)
		}
	}
	base := CloneOptions{Door: LoopbackDoor, URL: url, PAT: "p", Timeout: 30 * time.Second, beforePack: limit}
	_, err := ListRefs(context.Background(), base)
	check("ListRefs", err)

	cold := base
	cold.Dir = filepath.Join(t.TempDir(), "cold")
	_, err = Clone(context.Background(), cold)
	check("Clone", err)

	cache, err := NewCache(filepath.Join(t.TempDir(), "cache"), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	cached := base
	cached.Dir = filepath.Join(t.TempDir(), "cached")
	cached.Cache, cached.CacheKey = cache, CacheKey{Tenant: "t", Connection: "c", Repository: "endless"}
	_, err = Clone(context.Background(), cached)
	check("Clone through the cache", err)

	for _, dir := range []string{cold.Dir, cached.Dir} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the failed clone left %s: %v", dir, err)
		}
	}
	if requests.Load() == 0 {
		t.Fatal("the server saw no request")
	}
	// Per request, the server got the bound and the socket buffers out before its writes
	// failed; without the bound it would still be writing.
	t.Logf("%d requests; the server sent %d bytes", requests.Load(), written.Load())
	if w, most := written.Load(), int64(requests.Load())*(limit+16<<20); w > most {
		t.Errorf("the server sent %d bytes over %d requests, more than %d", w, requests.Load(), most)
	}
}
