package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/repoconnect/repoconnect/web"
)

// /livez names the build it answers for when Options.Version is set, and only the status
// otherwise.
func TestLivezVersion(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		version string
		want    map[string]string
	}{
		{"v1.4.0 (0123456789ab)", map[string]string{"status": "ok", "version": "v1.4.0 (0123456789ab)"}},
		{"", map[string]string{"status": "ok"}},
	} {
		h := web.New(web.Options{Service: e.svc, Version: c.version})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
		var got map[string]string
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil || len(got) != len(c.want) ||
			got["status"] != c.want["status"] || got["version"] != c.want["version"] {
			t.Errorf("version %q: /livez = %d %s, want %v", c.version, rec.Code, rec.Body, c.want)
		}
	}
}

// Problem bodies are written as a reader would: "<" and ">" in a detail stay as they are.
func TestProblemBodyNotHTMLEscaped(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.api.URL + "/api/v1/connections")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "Bearer <key>") || strings.Contains(string(body), `\u003c`) {
		t.Fatalf("401 body: %d %s", resp.StatusCode, body)
	}
}
