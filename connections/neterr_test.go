package connections_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
)

// plainHTTP is a loopback server that speaks plain HTTP only.
func plainHTTP(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// An https:// request to a port that speaks plain HTTP is diagnosed as tls, "does not speak
// TLS", whether it fails in an http.Client (which turns the TLS record error into
// http.ErrSchemeMismatch), in a bare Transport (the tls.RecordHeaderError itself), or wrapped
// in a *url.Error as the Client returns it.
func TestHTTPSToPlainHTTPIsTLS(t *testing.T) {
	host := plainHTTP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/_apis/connectionData", nil)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}
	_, clientErr := client.Do(req)
	_, transportErr := (&http.Transport{TLSClientConfig: &tls.Config{}}).RoundTrip(req)
	if clientErr == nil || transportErr == nil {
		t.Fatalf("https to plain HTTP did not fail: %v, %v", clientErr, transportErr)
	}
	if !errors.Is(clientErr, http.ErrSchemeMismatch) {
		t.Logf("the client's error is no longer ErrSchemeMismatch: %v", clientErr)
	}
	for name, err := range map[string]error{"client": clientErr, "transport": transportErr,
		"wrapped": fmt.Errorf("check: %w", &url.Error{Op: "Get", URL: "https://" + host, Err: transportErr})} {
		got := connections.ClassifyTransport(err, host, 10*time.Second)
		ce := connections.AsError(got)
		if ce == nil || !errors.Is(got, connections.ErrTLS) || ce.Reason != connections.ReasonTLS ||
			!strings.Contains(ce.Message, "does not speak TLS") || !strings.Contains(ce.Message, "http:// instead of https://") {
			t.Errorf("%s (%v): classified as %#v", name, err, ce)
		}
	}
}

// The other transport failures keep their own diagnosis: a refused connection is
// unreachable, not tls.
func TestRefusedIsNotTLS(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	_, err := http.Get("https://" + host + "/")
	got := connections.AsError(connections.ClassifyTransport(err, host, time.Second))
	if got == nil || got.Reason != connections.ReasonUnreachable || !strings.Contains(got.Message, "refused") {
		t.Errorf("refused: %#v", got)
	}
}

// A TLS client that reads another protocol's greeting (SSH here) is told the port does not
// speak TLS, without the http:// hint that only an HTTP answer earns.
func TestOtherProtocolIsTLSWithoutHTTPHint(t *testing.T) {
	err := &url.Error{Op: "Get", URL: "https://h:22/", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'S', 'S', 'H', '-', '2'}}}
	got := connections.AsError(connections.ClassifyTransport(err, "h:22", time.Second))
	if got == nil || got.Reason != connections.ReasonTLS || strings.Contains(got.Message, "http://") || !strings.Contains(got.Message, "does not speak TLS") {
		t.Fatalf("SSH greeting: %+v", got)
	}
}
