package egress_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
)

// server is a loopback server counting its requests.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

func get(t *testing.T, d *egress.Door, redirects egress.Redirects, rawURL string) (*http.Response, error) {
	t.Helper()
	c, err := d.Client(nil, redirects)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(rawURL)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	return resp, err
}

func wantRefused(t *testing.T, err error) {
	t.Helper()
	ce := connections.AsError(err)
	if ce == nil || !errors.Is(err, connections.ErrDestinationNotAllowed) || ce.Reason != connections.ReasonDestinationNotAllowed {
		t.Fatalf("err = %v, want destination_not_allowed", err)
	}
	if ce.Message != egress.Message {
		t.Fatalf("message = %q, want the one refusal sentence", ce.Message)
	}
}

func TestDoorRefusesEachClass(t *testing.T) {
	ts, hits := server(t, nil)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	closed := closedPort(t)
	d := egress.New(egress.Options{})
	for _, u := range []string{
		ts.URL,                                    // loopback, open port
		"http://127.0.0.1:" + closed,              // loopback, closed port: the same answer
		"http://localhost:" + port,                // a name resolving to loopback
		"http://[::ffff:127.0.0.1]:" + port,       // IPv4-mapped IPv6
		"http://2130706433:" + port,               // decimal
		"http://0177.0.0.1:" + port,               // octal
		"http://0.0.0.0:" + port,                  // unspecified
		"http://[::]:" + port,                     // unspecified v6
		"http://169.254.169.254/latest/meta-data", // link-local: refused before any dial
		"http://metadata.google.internal/computeMetadata/v1/",
		"http://[fe80::a9fe:a9fe%25lo]/",          // link-local v6 with a zone
		"http://[fd00:ec2::254]/latest/meta-data", // the AWS metadata service over IPv6
		"http://0x7f000001:" + port,               // hex
	} {
		t.Run(u, func(t *testing.T) {
			_, err := get(t, d, egress.NoRedirects, u)
			wantRefused(t, err)
		})
	}
	if hits.Load() != 0 {
		t.Fatalf("the server got %d requests through a refusing policy", hits.Load())
	}
	allowed := egress.New(egress.Options{Policy: egress.Policy{Allow: egress.Loopback()}})
	for _, u := range []string{ts.URL, "http://[::ffff:127.0.0.1]:" + port, "http://2130706433:" + port} {
		if resp, err := get(t, allowed, egress.NoRedirects, u); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s with loopback allowed: %v", u, err)
		}
	}
	if hits.Load() != 3 {
		t.Fatalf("hits = %d, want 3", hits.Load())
	}
}

func TestDoorAllowsOneAddressAndPort(t *testing.T) {
	ts, _ := server(t, nil)
	other, otherHits := server(t, nil)
	rules, err := egress.ParseRules("--allow-destinations", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	d := egress.New(egress.Options{Policy: egress.Policy{Allow: rules}})
	if resp, err := get(t, d, egress.NoRedirects, ts.URL); err != nil || resp.StatusCode != 200 {
		t.Fatalf("allowed address: %v", err)
	}
	_, err = get(t, d, egress.NoRedirects, other.URL)
	wantRefused(t, err)
	if otherHits.Load() != 0 {
		t.Fatal("a port not allowed was reached")
	}
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_ = ln.Close()
	return port
}

// rebinder answers its first lookup with first and every later one with then.
type rebinder struct {
	mu          sync.Mutex
	calls       int
	first, then netip.Addr
}

func (r *rebinder) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls == 1 {
		return []netip.Addr{r.first}, nil
	}
	return []netip.Addr{r.then}, nil
}

func TestDoorChecksEveryResolution(t *testing.T) {
	ts, hits := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close") // the next request dials (and resolves) again
		_, _ = io.WriteString(w, "ok")
	})
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	rules, _ := egress.ParseRules("--allow-destinations", "127.0.0.1")
	res := &rebinder{first: netip.MustParseAddr("127.0.0.1"), then: netip.MustParseAddr("::1")}
	d := egress.New(egress.Options{Policy: egress.Policy{Allow: rules}, Resolver: res})
	u := "http://rebinding.example:" + port + "/"
	if resp, err := get(t, d, egress.NoRedirects, u); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first answer (allowed): %v", err)
	}
	_, err := get(t, d, egress.NoRedirects, u)
	wantRefused(t, err)
	if hits.Load() != 1 || res.calls != 2 {
		t.Fatalf("hits = %d, lookups = %d; want 1 and 2", hits.Load(), res.calls)
	}
}

func TestDoorRefusesANameWithOneBadAddress(t *testing.T) {
	ts, hits := server(t, nil)
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	d := egress.New(egress.Options{Resolver: multi{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("127.0.0.1")}})
	_, err := get(t, d, egress.NoRedirects, "http://mixed.example:"+port)
	wantRefused(t, err)
	if hits.Load() != 0 {
		t.Fatal("reached")
	}
}

type multi []netip.Addr

func (m multi) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) { return m, nil }

func TestDoorRedirects(t *testing.T) {
	loop := egress.New(egress.Options{Policy: egress.Policy{Allow: egress.Loopback()}})
	target, targetHits := server(t, nil)
	_, tport, _ := net.SplitHostPort(target.Listener.Addr().String())
	var self string
	src, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, self+"/done", http.StatusFound)
		case "/other":
			http.Redirect(w, r, "http://localhost:"+tport+"/", http.StatusFound)
		default:
			_, _ = io.WriteString(w, "done")
		}
	})
	self = src.URL

	resp, err := get(t, loop, egress.SameHostRedirects, src.URL+"/same")
	if err != nil || resp.Request.URL.Path != "/done" {
		t.Fatalf("same-host redirect not followed: %v", err)
	}
	_, err = get(t, loop, egress.SameHostRedirects, src.URL+"/other")
	wantRefusedRedirect(t, err)
	resp, err = get(t, loop, egress.NoRedirects, src.URL+"/same")
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("NoRedirects: %v %v, want the 302 itself", resp, err)
	}
	if targetHits.Load() != 0 {
		t.Fatal("the other host was reached")
	}
}

func wantRefusedRedirect(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, connections.ErrDestinationNotAllowed) {
		t.Fatalf("err = %v, want destination_not_allowed", err)
	}
}

func TestSameOrigin(t *testing.T) {
	p := func(s string) *url.URL { u, _ := url.Parse(s); return u }
	for _, c := range []struct {
		from, to string
		want     bool
	}{
		{"https://tfs.example/a", "https://TFS.example:443/b", true},
		{"http://tfs.example/a", "https://tfs.example/b", true},
		{"http://tfs.example:8080/a", "https://tfs.example:8443/b", false},
		{"https://tfs.example/a", "http://tfs.example/b", false},
		{"https://tfs.example/a", "https://evil.example/b", false},
		{"http://127.0.0.1:80/", "http://[::ffff:127.0.0.1]/", true},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8081/", false},
	} {
		if got := egress.SameOrigin(p(c.from), p(c.to)); got != c.want {
			t.Errorf("SameOrigin(%s, %s) = %v", c.from, c.to, got)
		}
	}
}

func TestTransportCachedAndCAChecked(t *testing.T) {
	d := egress.New(egress.Options{})
	a, _ := d.Transport(nil)
	b, _ := d.Transport([]byte{})
	if a != b {
		t.Fatal("one transport per CA bundle")
	}
	_, err := d.Transport([]byte("not a certificate"))
	if ce := connections.AsError(err); ce == nil || ce.Field != "caCertificate" || !errors.Is(err, connections.ErrInvalidInput) {
		t.Fatalf("err = %v", err)
	}
	wrapped := 0
	w := egress.New(egress.Options{Wrap: func(rt http.RoundTripper) http.RoundTripper { wrapped++; return rt }})
	_, _ = w.Transport(nil)
	_, _ = w.Transport(nil)
	if wrapped != 1 {
		t.Fatalf("Wrap called %d times, want once per CA bundle", wrapped)
	}
}

// A proxy of the environment is allowed as the transport's dial target only: a request whose
// own URL names the proxy's loopback address (which the transport dials directly, since
// loopback bypasses proxies) is refused like any loopback destination.
func TestDoorProxyAllowedOnlyAsProxy(t *testing.T) {
	ts, hits := server(t, nil)
	t.Setenv("HTTP_PROXY", ts.URL)
	t.Setenv("http_proxy", ts.URL)
	d := egress.New(egress.Options{})
	_, err := get(t, d, egress.NoRedirects, ts.URL+"/_apis/projects")
	wantRefused(t, err)
	if n := hits.Load(); n != 0 {
		t.Fatalf("the proxy got %d requests as a destination", n)
	}
}
