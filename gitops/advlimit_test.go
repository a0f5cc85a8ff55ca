package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
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
			!strings.HasPrefix(ce.Message, "the server at ") || !strings.Contains(ce.Message, "reference advertisement of more than 1 MiB") || !strings.Contains(ce.Message, "fixed limit") {
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

// A server that answers the pack request with an endless negotiation (ACK lines, each of
// which go-git keeps) is cut off past the bound the same way.
func TestHTTPEndlessNegotiation(t *testing.T) {
	EnableAzureDevOpsCapabilities()
	const limit = 1 << 20
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tip := fmt.Sprintf("%040x", 1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/info/refs"):
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			pkt := func(s string) { fmt.Fprintf(w, "%04x%s", len(s)+4, s) }
			fmt.Fprint(w, "001e# service=git-upload-pack\n0000")
			pkt(tip + " HEAD\x00multi_ack_detailed multi_ack side-band-64k ofs-delta symref=HEAD:refs/heads/main\n")
			pkt(tip + " refs/heads/main\n")
			fmt.Fprint(w, "0000")
		case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
			for i := 0; ; i++ {
				line := fmt.Sprintf("ACK %040x continue\n", i+1)
				n, err := fmt.Fprintf(w, "%04x%s", len(line)+4, line)
				written.Add(int64(n))
				if err != nil || r.Context().Err() != nil {
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	dir := filepath.Join(t.TempDir(), "c")
	_, err := Clone(context.Background(), CloneOptions{Door: LoopbackDoor, URL: srv.URL + "/o/p/_git/r", PAT: "p", Dir: dir, Timeout: 30 * time.Second, beforePack: limit})
	ce := connections.AsError(err)
	if ce == nil || ce.Reason != connections.ReasonProtocol || !strings.HasPrefix(ce.Message, "the server at ") ||
		!strings.Contains(ce.Message, "negotiation of more than 1 MiB before the pack") {
		t.Fatalf("Clone: %v, want protocol_error naming the negotiation's limit", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed clone left %s: %v", dir, err)
	}
	t.Logf("the server sent %d bytes", written.Load())
	if w := written.Load(); w > limit+16<<20 {
		t.Errorf("the server sent %d bytes", w)
	}
}

// negotiationSplits reads data through a negotiationBody in chunks of the given size and
// returns what came out and the error that ended it (nil at the end of data).
func negotiationSplits(data []byte, chunk int, limit int64) ([]byte, error) {
	b := &negotiationBody{ReadCloser: io.NopCloser(&chunkReader{data: data, chunk: chunk}), ct: &clonetransport{}, host: "h", limit: limit}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := b.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

type chunkReader struct {
	data  []byte
	chunk int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.chunk, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// The negotiation's bound counts what comes before the pack and nothing after, whatever the
// reads' sizes, and passes every byte on unchanged.
func TestNegotiationBody(t *testing.T) {
	pkt := func(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }
	nak := pkt("shallow "+strings.Repeat("a", 40)+"\n") + "0000" + pkt("NAK\n")
	big := strings.Repeat(pkt("ACK "+strings.Repeat("b", 40)+" common\n"), 100) // 5,100 bytes
	cases := []struct {
		name, data string
		limit      int64
		refused    bool
	}{
		{"side-band pack after NAK", nak + pkt("\x01PACK"+strings.Repeat("x", 9000)) + pkt("\x02progress\n") + "0000", 100, false},
		{"raw pack after NAK", nak + "PACK" + strings.Repeat("\x00", 9000), 100, false},
		{"ACKs over the bound", big + pkt("NAK\n") + pkt("\x01PACK"), 5000, true},
		{"ACKs within the bound", big + pkt("NAK\n") + pkt("\x01PACK"), 6000, false},
		{"not pkt-lines", "hello, world" + strings.Repeat("z", 9000), 100, false},
	}
	for _, c := range cases {
		for _, chunk := range []int{1, 3, 7, 4096} {
			out, err := negotiationSplits([]byte(c.data), chunk, c.limit)
			if c.refused {
				if ce := connections.AsError(err); ce == nil || ce.Reason != connections.ReasonProtocol {
					t.Errorf("%s, reads of %d: %v, want protocol_error", c.name, chunk, err)
				}
				continue
			}
			if err != nil || string(out) != c.data {
				t.Errorf("%s, reads of %d: %v, %d of %d bytes passed", c.name, chunk, err, len(out), len(c.data))
			}
		}
	}
}

// FuzzNegotiationBody: any bytes, read whole or a byte at a time, give the same answer (the
// same bytes, refused or not), and what passes is a prefix of the input.
func FuzzNegotiationBody(f *testing.F) {
	f.Add([]byte("0008NAK\n0009\x01PACK"), int64(4))
	f.Add([]byte("0000PACK\x00\x00"), int64(2))
	f.Add([]byte("0031ACK 0000000000000000000000000000000000000001 continue\n"), int64(10))
	f.Fuzz(func(t *testing.T, data []byte, limit int64) {
		if limit < 0 || limit > 1<<20 {
			return
		}
		whole, errWhole := negotiationSplits(data, len(data)+1, limit)
		bytewise, errByte := negotiationSplits(data, 1, limit)
		if (errWhole == nil) != (errByte == nil) {
			t.Fatalf("whole: %v; a byte at a time: %v", errWhole, errByte)
		}
		if errWhole == nil && (string(whole) != string(data) || string(bytewise) != string(data)) {
			t.Fatalf("bytes changed: %q, %q from %q", whole, bytewise, data)
		}
		if !strings.HasPrefix(string(data), string(whole)) || !strings.HasPrefix(string(data), string(bytewise)) {
			t.Fatalf("passed bytes are not the input's")
		}
	})
}
