package web_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/web"
)

// minValidatedExchanges is the least number of exchanges a full run of the package's tests
// validates against the OpenAPI document (a full run validates several thousand); fewer means
// the validator is no longer wired into the test servers.
const minValidatedExchanges = 500

// TestMain runs the tests, then, when no -run or -skip filter narrowed them, fails the run if
// the OpenAPI validator saw fewer exchanges than minValidatedExchanges.
func TestMain(m *testing.M) {
	code := m.Run()
	filtered := flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.skip").Value.String() != ""
	n, refused := oapiExchanges.Load(), oapiRefused.Load()
	if testing.Verbose() || !filtered {
		fmt.Printf("openapi: %d exchanges validated against web/openapi.json (%d requests refused by both the document and the service)\n", n, refused)
	}
	if code == 0 && !filtered && !testing.Short() && n < minValidatedExchanges {
		fmt.Printf("FAIL: the OpenAPI validator saw %d exchanges, fewer than %d: is validated() still wired into the test servers?\n", n, minValidatedExchanges)
		code = 1
	}
	os.Exit(code)
}

// The document is an OpenAPI 3.1 document that kin-openapi loads and validates (schemas with
// JSON Schema 2020-12 keywords included), and the service serves it, without an API key, as
// the JSON it embeds.
func TestOpenAPIDocumentServed(t *testing.T) {
	doc, err := web.LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	e := newEnv(t)
	resp, err := http.Get(e.api.URL + "/api/v1/openapi.json") // no API key
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(body) != string(web.OpenAPIDocument) {
		t.Fatal("the served document is not the embedded one")
	}
	var served openapi3.T
	if err := json.Unmarshal(body, &served); err != nil || served.OpenAPI != "3.1.0" {
		t.Fatalf("the served document does not decode as OpenAPI 3.1: %v %q", err, served.OpenAPI)
	}
	// Every operation has an id, a summary and a tag, and every answer a description.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" || op.Summary == "" || len(op.Tags) == 0 {
				t.Errorf("%s %s: operationId, summary and tags are required", method, path)
			}
			for code, r := range op.Responses.Map() {
				if r.Value.Description == nil || *r.Value.Description == "" {
					t.Errorf("%s %s %s: no description", method, path, code)
				}
			}
		}
	}
}

// A JSON Schema 2020-12 form of the document is enforced by the validator: a type array
// allows null where the document says so (hook/check's lastDeliveryAt), and an answer that
// breaks a schema is reported with its method, path and status.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	doc, _ := oapi(t)
	hc := doc.Components.Schemas["HookCheck"].Value
	if err := hc.VisitJSON(map[string]any{"delivered": false, "lastDeliveryAt": nil}, openapi3.EnableJSONSchema2020()); err != nil {
		t.Fatalf("null lastDeliveryAt refused: %v", err)
	}
	if err := hc.VisitJSON(map[string]any{"delivered": "no", "lastDeliveryAt": nil}, openapi3.EnableJSONSchema2020()); err == nil {
		t.Fatal("a string delivered was accepted")
	}

	// A handler that drifts: an undeclared field type, an undeclared status, a non-problem
	// error, a 2xx for a request the document refuses.
	drifting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/connections":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"count": "one", "value": []}`))
		case "/api/v1/build-profiles":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"count": 1, "value": [{"id": "p"}]}`))
		case "/api/v1/clones/x":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(`{}`))
		case "/api/v1/runs/x":
			w.WriteHeader(http.StatusTeapot)
		case "/api/v1/nowhere":
			http.Error(w, "no", http.StatusNotFound)
		case "/api/v1/check-token":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"type": "about:blank", "title": "Not found", "status": 404}`))
		case "/api/v1/parse-url":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
		}
	})
	cases := []struct{ method, path, body, want string }{
		{"GET", "/api/v1/connections", "", `GET /api/v1/connections → 200: the answer does not match`},
		{"GET", "/api/v1/build-profiles", "", `GET /api/v1/build-profiles → 200: the answer does not match`},
		{"GET", "/api/v1/clones/x", "", `GET /api/v1/clones/x → 200: the answer does not match`},
		{"GET", "/api/v1/runs/x", "", `GET /api/v1/runs/x → 418`},
		{"GET", "/api/v1/nowhere", "", `GET /api/v1/nowhere → 404: the document has no such operation`},
		{"POST", "/api/v1/check-token", `{"connectionId": 7}`, `POST /api/v1/check-token → 404: the document rejects the request, the service answered it as well formed`},
		{"POST", "/api/v1/parse-url", `{"remoteUrl": 7}`, `POST /api/v1/parse-url → 200: the document rejects the request, the service accepted it`},
	}
	for _, c := range cases {
		rec := &recordingTB{TB: t}
		srv := httptest.NewServer(validated(rec, drifting))
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer k")
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], c.want) {
			t.Errorf("%s %s: reported %q, want one report containing %q", c.method, c.path, rec.errs, c.want)
		}
	}
}

// recordingTB is a testing.TB whose Errorf is recorded instead of failing the test.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// The test servers are wired through the validator: one call of newEnv's is counted.
func TestOpenAPIValidatorWired(t *testing.T) {
	e := newEnv(t)
	before := oapiExchanges.Load()
	if code, _, _ := e.call("GET", "/api/v1/connections", nil); code != 200 {
		t.Fatalf("list: %d", code)
	}
	if code, _, _ := e.call("POST", "/api/v1/connections", map[string]any{"nmae": "typo"}); code != 400 {
		t.Fatalf("bad input: %d", code)
	}
	if got := oapiExchanges.Load() - before; got < 2 {
		t.Fatalf("the validator counted %d exchanges, want 2", got)
	}
}

// Every /api/v1 route of the service has its operation in the document, and every operation
// of the document is a route of the service.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc, _ := oapi(t)
	param := regexp.MustCompile(`:([A-Za-z]+)`)
	routes := map[string]bool{}
	for _, r := range web.New(web.Options{}).(*echo.Echo).Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") && r.Path != "/connector/callback" && !strings.HasPrefix(r.Path, "/hooks/") {
			continue
		}
		if strings.HasSuffix(r.Path, "/*") || r.Method == echo.RouteNotFound || !slices.Contains(httpMethods, r.Method) {
			continue // the group's catch-alls (unknown routes answer a problem)
		}
		routes[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in web/openapi.json", r)
		}
	}
	for d := range documented {
		if !routes[d] {
			t.Errorf("web/openapi.json documents %s, which the service does not route", d)
		}
	}
	if len(routes) < 30 {
		t.Fatalf("only %d routes found: %v", len(routes), routes)
	}
}

var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// The page at /api/v1/docs lists every operation (method, path, summary, parameters, body,
// answers) and every schema, from the document, under the pages' content security policy, with
// no script.
func TestOpenAPIDocsPage(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.api.URL + "/api/v1/docs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	page := string(raw)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /api/v1/docs: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "style=") || strings.Contains(page, "http://") || strings.Contains(page, "https://cdn") {
		t.Error("the page carries a script, an inline style or an external resource")
	}
	doc, _ := oapi(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !strings.Contains(page, fmt.Sprintf(`<h3 id="%s"><code>%s %s</code></h3>`, op.OperationID, method, path)) {
				t.Errorf("the page has no heading for %s %s", method, path)
			}
			// (up to a `code` span, which the page shows as <code>)
			if first, _, _ := strings.Cut(op.Summary, "`"); !strings.Contains(page, templateEscape(first)) {
				t.Errorf("the page lacks the summary of %s %s", method, path)
			}
		}
	}
	for name := range doc.Components.Schemas {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Errorf("the page has no schema %s", name)
		}
	}
	for _, want := range []string{
		`<code>limit</code></td><td>query</td><td>integer</td>`,                               // a parameter
		`<code>application/json</code> <a href="#schema-ConnectionInput">ConnectionInput</a>`, // a request body
		`<td>422</td>`, // an answer
		`one of &#34;queued&#34;, &#34;running&#34;, &#34;succeeded&#34;, &#34;failed&#34;`, // an enum
		`string | null`, // a 3.1 type array
		`<code>next</code> is the <code>after</code> of the following page`, // code spans of descriptions
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func templateEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;")
	return r.Replace(s)
}

// An unknown field points to the document.
func TestUnknownFieldPointsToOpenAPI(t *testing.T) {
	e := newEnv(t)
	code, body, _ := e.call("POST", "/api/v1/parse-url", map[string]any{"remote": "x"})
	if code != 400 || body["field"] != "remote" || !strings.Contains(fmt.Sprint(body["detail"]), "/api/v1/openapi.json") {
		t.Fatalf("%d %v", code, body)
	}
}
