package azdosim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testPAT = "test-pat-value-0123456789"

// startServer builds a server from opts (DataDir in t.TempDir), registers testPAT plus extra
// tokens, starts it on loopback and closes it with the test.
func startServer(t *testing.T, opts Options, pats ...PAT) *Server {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	s.AddPAT(PAT{Token: testPAT})
	for _, p := range pats {
		s.AddPAT(p)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s
}

// answer is a decoded HTTP response.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %q: %v", a.body, err)
	}
}

// envelope decodes the error envelope.
func (a answer) envelope(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	a.json(t, &m)
	return m
}

// get sends GET url with Basic ":token" (no credential when token is "") and, unless
// noSuppress, X-TFS-FedAuthRedirect: Suppress as Microsoft's clients do.
func get(t *testing.T, url, token string, noSuppress bool) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.SetBasicAuth("", token)
	}
	req.Header.Set("Accept", "application/json")
	if !noSuppress {
		req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// mustStatus fails unless a has the wanted status.
func mustStatus(t *testing.T, a answer, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("status %d, want %d; body %s", a.status, want, a.body)
	}
}

// wantEnvelope checks status, typeKey, a message fragment and the envelope headers.
func wantEnvelope(t *testing.T, a answer, status int, typeKey, msgPart string) {
	t.Helper()
	mustStatus(t, a, status)
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	m := a.envelope(t)
	if m["typeKey"] != typeKey {
		t.Errorf("typeKey %v, want %s", m["typeKey"], typeKey)
	}
	msg, _ := m["message"].(string)
	if !strings.Contains(msg, msgPart) {
		t.Errorf("message %q lacks %q", msg, msgPart)
	}
	if m["$id"] != "1" || m["eventId"] != float64(3000) || m["errorCode"] != float64(0) {
		t.Errorf("envelope fields: %v", m)
	}
	if _, ok := m["innerException"]; !ok {
		t.Errorf("envelope lacks innerException")
	}
	if a.header.Get("X-TFS-ServiceError") == "" {
		t.Errorf("no X-TFS-ServiceError header")
	}
}
