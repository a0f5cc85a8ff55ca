package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
