package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/repoconnect/repoconnect/web"
)

// The OpenAPI conformance check of every test server (validated): each request to a path of
// the document, or under /api/v1, is validated against web/openapi.json before the handler
// sees it, and each answer after (status declared for the operation, media type, headers,
// body schema), with kin-openapi's openapi3filter (JSON Schema 2020-12 for a 3.1 document).
//
// A request the document rejects must be refused by the service for its form too (400, 413,
// 415, or 401 when the credential is checked first): the tests send malformed requests on
// purpose (bad JSON, unknown fields, wrong types, bad query parameters), and need no marking;
// one the service accepts (2xx), or answers as well formed (404, 422, ...), is drift. Their
// answers are validated all the same. An /api/v1 path the document does not have must be answered with a problem body.

var (
	// oapiExchanges counts the exchanges validated (request and answer); oapiRefused those
	// whose request the document rejected and the service refused (answer validated only).
	oapiExchanges, oapiRefused atomic.Int64

	oapiOnce   sync.Once
	oapiDoc    *openapi3.T
	oapiRouter routers.Router
	oapiErr    error
)

// oapi loads the document and its router once per test binary.
func oapi(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	oapiOnce.Do(func() {
		oapiDoc, oapiErr = web.LoadOpenAPI()
		if oapiErr != nil {
			return
		}
		// The event stream and the pages are text; the validator reads them as strings.
		openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		oapiRouter, oapiErr = gorillamux.NewRouter(oapiDoc)
	})
	if oapiErr != nil {
		t.Fatalf("the OpenAPI document: %v", oapiErr)
	}
	return oapiDoc, oapiRouter
}

// validated wraps a test server's handler so that its traffic is checked against the OpenAPI
// document: drift fails t (t.Errorf with method, path, status and the validation error).
// Reports after t's cleanup began are dropped (a request still running then has no test to
// fail).
func validated(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	doc, router := oapi(t)
	v := &validator{t: t, doc: doc, router: router, next: h}
	t.Cleanup(func() { v.mu.Lock(); v.done = true; v.mu.Unlock() })
	return v
}

type validator struct {
	t      testing.TB
	doc    *openapi3.T
	router routers.Router
	next   http.Handler

	mu   sync.Mutex
	done bool
}

func (v *validator) errorf(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.done {
		v.t.Errorf(format, args...)
	}
}

func (v *validator) logf(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.done {
		v.t.Logf(format, args...)
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// documented reports whether path is the validator's business: /api/v1 and the two routes
// outside it that the document has.
func documented(path string) bool {
	return strings.HasPrefix(path, "/api/v1/") || path == "/api/v1" ||
		strings.HasPrefix(path, "/hooks/azure-devops/") || path == "/connector/callback"
}

func (v *validator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !documented(r.URL.Path) {
		v.next.ServeHTTP(w, r)
		return
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	// The router matches the document's relative server "/" against the request's URL.
	probe := r.Clone(context.Background())
	probe.Body = io.NopCloser(bytes.NewReader(body))
	probe.URL = &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	route, params, rerr := v.router.FindRoute(probe)

	rec := &teeWriter{ResponseWriter: w, status: 0}
	v.next.ServeHTTP(rec, r)
	status := rec.statusCode()
	where := fmt.Sprintf("%s %s → %d", r.Method, r.URL.Path, status)

	if rerr != nil {
		// A route the document does not have: the service must answer it with a problem.
		if err := v.checkProblem(rec.Header(), rec.buf.Bytes()); err != nil {
			v.errorf("OpenAPI drift: %s: the document has no such operation (%v), and the answer is not a problem: %v", where, rerr, err)
			return
		}
		if status < 400 {
			v.errorf("OpenAPI drift: %s: the document has no such operation (%v), yet the service answered it", where, rerr)
			return
		}
		oapiExchanges.Add(1)
		return
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && status < 300 {
		v.errorf("OpenAPI drift: %s: the document rejects the request, the service accepted it: %v", where, reqErr)
		return
	}
	if reqErr != nil && !refusalStatus[status] {
		// The service refused it for another reason than its form: the document may refuse a
		// request the service takes.
		v.errorf("OpenAPI drift: %s: the document rejects the request, the service answered it as well formed: %v", where, reqErr)
		return
	}
	// ValidateRequest read the probe's body; the answer's validation needs none of it.
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.buf.Bytes())), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		v.errorf("OpenAPI drift: %s: the answer does not match the document: %v\nanswer: %.2000s", where, err, rec.buf.String())
		return
	}
	if status >= 400 {
		// Every error answer is a problem body (the hook's 401 is an empty one).
		if err := v.checkProblem(rec.Header(), rec.buf.Bytes()); err != nil && !(status == 401 && strings.HasPrefix(r.URL.Path, "/hooks/")) &&
			!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			v.errorf("OpenAPI drift: %s: %v", where, err)
			return
		}
	}
	if reqErr != nil {
		oapiRefused.Add(1)
		v.logf("openapi: %s: refused by the document and the service: %v", where, firstLine(reqErr))
	}
	oapiExchanges.Add(1)
}

// refusalStatus are the answers to a request refused for its form: bad input, a body too
// large, an unsupported media type, and the API key or hook credential checked first.
var refusalStatus = map[int]bool{400: true, 401: true, 413: true, 415: true}

// checkProblem validates an answer as a problem (application/problem+json, the Problem
// schema of the document).
func (v *validator) checkProblem(h http.Header, body []byte) error {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt != "application/problem+json" {
		return fmt.Errorf("content type %q, not application/problem+json", h.Get("Content-Type"))
	}
	var val any
	if err := json.Unmarshal(body, &val); err != nil {
		return fmt.Errorf("the problem body is not JSON: %v", err)
	}
	if err := v.doc.Components.Schemas["Problem"].Value.VisitJSON(val, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("the problem body does not match the Problem schema: %v", err)
	}
	return nil
}

// teeWriter passes an answer through and keeps a copy of it; it flushes (event streams) and
// hijacks like the writer it wraps.
type teeWriter struct {
	http.ResponseWriter
	mu     sync.Mutex
	status int
	buf    bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	w.mu.Lock()
	if w.status == 0 {
		w.status = code
	}
	w.mu.Unlock()
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.buf.Write(p)
	w.mu.Unlock()
	return w.ResponseWriter.Write(p)
}

func (w *teeWriter) statusCode() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *teeWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *teeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
