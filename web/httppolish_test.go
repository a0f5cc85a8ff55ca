package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// problemOf decodes a problem+json answer, failing the test when it is not one or has no code.
func problemOf(t *testing.T, what string, resp *http.Response, raw []byte) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil || resp.Header.Get("Content-Type") != "application/problem+json" ||
		p["code"] == nil || p["code"] == "" || p["status"] != float64(resp.StatusCode) || p["requestId"] != resp.Header.Get("X-Request-Id") {
		t.Errorf("%s: not a problem with a code and the request id: %d %v %s", what, resp.StatusCode, resp.Header, raw)
	}
	return p
}

// A known path with a method it does not take answers 405 with Allow listing the methods it
// takes, with or without an API key; an unknown path answers 404 not_found, pointing to the
// OpenAPI document, with or without a key.
func TestMethodNotAllowedAndUnknownRoutes(t *testing.T) {
	e := newEnv(t)
	id := e.createConnection()
	cases := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"PUT", "/api/v1/connections/" + id, 405, "method_not_allowed", "DELETE, GET, PATCH"},
		{"POST", "/api/v1/connections/" + id, 405, "method_not_allowed", "DELETE, GET, PATCH"},
		{"DELETE", "/api/v1/connections", 405, "method_not_allowed", "GET, POST"},
		{"PUT", "/api/v1/check-token", 405, "method_not_allowed", "POST"},
		{"GET", "/api/v1/nope", 404, "not_found", ""},
		{"GET", "/api/v1/connections/" + id + "/nope", 404, "not_found", ""},
		{"GET", "/nope", 404, "not_found", ""},
	}
	for _, tc := range cases {
		for _, key := range []string{e.key, ""} {
			req, _ := http.NewRequest(tc.method, e.api.URL+tc.path, nil)
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var raw json.RawMessage
			_ = json.NewDecoder(resp.Body).Decode(&raw)
			resp.Body.Close()
			what := tc.method + " " + tc.path
			p := problemOf(t, what, resp, raw)
			if resp.StatusCode != tc.status || p["code"] != tc.code {
				t.Errorf("%s (key %v): %d %s, want %d %s", what, key != "", resp.StatusCode, raw, tc.status, tc.code)
			}
			allow := resp.Header.Get("Allow")
			if tc.allow != "" && !strings.HasSuffix(allow, tc.allow) {
				t.Errorf("%s: Allow %q, want the methods %s", what, allow, tc.allow)
			}
			if tc.status == 404 && !strings.Contains(p["detail"].(string), "/api/v1/openapi.json") {
				t.Errorf("%s: detail %q does not point to the OpenAPI document", what, p["detail"])
			}
		}
	}
	// The 405 changed nothing.
	if code, _, _ := e.call("GET", "/api/v1/connections/"+id, nil); code != 200 {
		t.Errorf("the connection after a PUT: %d", code)
	}
}

// echo's own refusals carry codes too: a body over the 1 MiB bound is 413 body_too_large.
func TestBodyTooLargeHasCode(t *testing.T) {
	e := newEnv(t)
	resp, raw := e.send("POST", "/api/v1/parse-url", `{"remoteUrl":"`+strings.Repeat("a", 2<<20)+`"}`)
	p := problemOf(t, "large body", resp, raw)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || p["code"] != "body_too_large" {
		t.Errorf("large body: %d %s", resp.StatusCode, raw)
	}
	// Refused before any handler ran, it is still in the access log (the body limit runs
	// inside the access log's middleware).
	logged := false
	for _, line := range strings.Split(e.logs.String(), "\n") {
		logged = logged || (strings.Contains(line, "msg=request") && strings.Contains(line, "status=413") &&
			strings.Contains(line, "path=/api/v1/parse-url"))
	}
	if !logged {
		t.Errorf("no access line for the 413:\n%s", e.logs.String())
	}
}

// The pages' cross-origin refusal is a problem+json body with a code, like every other error.
func TestCrossOriginRefusalIsAProblem(t *testing.T) {
	e := newEnv(t)
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "http://evil.example"}} {
		req, _ := http.NewRequest("POST", e.api.URL+"/ui/sign-in", strings.NewReader(url.Values{"apiKey": {e.key}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(h[0], h[1])
		req.Header.Set("X-Request-Id", "cors-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&raw)
		resp.Body.Close()
		p := problemOf(t, "cross-origin "+h[0], resp, raw)
		if resp.StatusCode != http.StatusForbidden || p["code"] != "cross_origin_refused" || p["requestId"] != "cors-1" ||
			len(resp.Cookies()) != 0 {
			t.Errorf("cross-origin %v: %d %s", h, resp.StatusCode, raw)
		}
	}
}

// checkedAt is absent from a connection that was never checked (an OAuth connection waiting
// for its sign-in), and present once a check ran (a PAT connection is checked at creation).
func TestCheckedAtOmittedUntilChecked(t *testing.T) {
	o := newOAuthEnv(t, "", 1)
	c := o.create(map[string]any{"name": "entra", "oauth": map[string]any{"provider": "entra",
		"clientId": entraClientID, "clientSecret": entraSecret}})
	if _, ok := c["checkedAt"]; ok {
		t.Errorf("unchecked connection at creation has checkedAt: %v", c)
	}
	code, got := o.call("GET", "/api/v1/connections/"+c["id"].(string), nil)
	if _, ok := got["checkedAt"]; code != 200 || ok {
		t.Errorf("unchecked connection: %d %v", code, got)
	}
	e := newEnv(t)
	id := e.createConnection()
	code, pat, _ := e.call("GET", "/api/v1/connections/"+id, nil)
	if s, _ := pat["checkedAt"].(string); code != 200 || s == "" || strings.HasPrefix(s, "0001-") {
		t.Errorf("checked connection: %d %v", code, pat)
	}
}

// POST /api/v1/check-token with an https:// URL to a port that speaks plain HTTP, through
// the service's real client, door and retries: 422 reason tls, "does not speak TLS".
func TestCheckTokenHTTPSToPlainHTTP(t *testing.T) {
	e := newEnv(t)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	u := "https://" + strings.TrimPrefix(plain.URL, "http://") + "/tfs"
	resp, raw := e.send("POST", "/api/v1/check-token", `{"serverUrl":"`+u+`","collection":"DefaultCollection","pat":"`+simPAT+`"}`)
	var res map[string]any
	_ = json.Unmarshal(raw, &res)
	msg, _ := res["message"].(string)
	if msg == "" {
		msg, _ = res["detail"].(string)
	}
	reason := res["reason"]
	if reason == nil {
		reason = res["code"]
	}
	if reason != "tls" || !strings.Contains(msg, "does not speak TLS") || !strings.Contains(msg, "http:// instead of https://") {
		t.Errorf("https to plain HTTP: %d %s", resp.StatusCode, raw)
	}
}
