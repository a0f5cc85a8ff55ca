// Package web is the HTTP face of repoconnect: the /api/v1 JSON API (echo), API-key
// authentication, problem+json errors and the health check. Handlers decode, call package
// services, and encode; they choose no status codes of their own (problemFor does).
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// Options configures the HTTP handler.
type Options struct {
	// Service runs the use cases; required.
	Service *services.Service
	// Logger receives the access log, one line "request" per request (accesslog.go: method,
	// route, path without query, status, bytes, ms, remote, userAgent, requestId; no headers,
	// no bodies), and handler errors; nil discards. New wraps its handler with LogHandler, so
	// lines logged with a request's context carry its requestId.
	Logger *slog.Logger
	// Ready reports whether the service can serve: GET /healthz calls it with a context
	// bounded by 2 s and answers 503 store_unavailable with Retry-After when it fails or
	// does not return in time (a Redis PING); nil means always ready.
	Ready func(ctx context.Context) error
	// Checks are GET /readyz's other checks (health.go), next to Ready's "store": e.g. the
	// clone queue and the sealing keys; nil: the store only.
	Checks []ReadyCheck
	// Demo, when set, shows the demo banner on every page and signs browsers in as its API
	// key's tenant without a sign-in page.
	Demo *Demo
	// Version is the build's description (e.g. "v1.2.0 (abc1234)"), answered by GET /livez
	// beside its status; empty leaves it out.
	Version string
	// PublicURL is the service's URL as Azure DevOps reaches it (the base of the hook URLs
	// build profiles answer); empty means the request's scheme and host.
	PublicURL string
	// MetricsElsewhere: GET /metrics is served on another listener (serve --metrics-addr), so
	// this handler answers it 404; false serves it here, without an API key (metrics.go).
	MetricsElsewhere bool
}

// healthTimeout bounds the readiness check of GET /healthz (a Redis PING), so a hung Redis
// makes the check fail in 2 s rather than hold the prober.
const healthTimeout = 2 * time.Second

// ready runs check and returns its error, or ctx's when ctx ends first: go-redis does not cut
// a command at its context's deadline (ContextTimeoutEnabled is off; only its read timeout
// does), so a Redis that accepts commands and never answers would hold the probe past
// healthTimeout. The check left behind ends with go-redis' read timeout (or the client's
// close), one per probe at most.
func ready(ctx context.Context, check func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- check(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tenantKey is the echo context key of the authenticated tenant.
const tenantKey = "repoconnect.tenant"

// New returns the HTTP handler of the service.
func New(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = slog.New(LogHandler(log.Handler()))
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger = newEchoLogger(log)
	var pages *ui // the pages answer their own errors as pages (set by mountUI below)
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := problemFor(err)
		logFailure(log, c, p, err)
		if pages != nil && isPagePath(c.Request().URL.Path) {
			if pages.failPage(c, err) == nil {
				return
			}
		}
		_ = writeProblem(c, p)
	}
	// The request id first, so every later line (recovery, access log, handlers) carries it;
	// then the access log and the metrics, outside the recovery and the body limit, so a
	// panicking request and one refused for its size are logged and counted like any other.
	e.Use(requestIDs)
	e.Use(accessLog(log))
	mountMetrics(e, opts) // metrics.go: HTTP metrics and spans, GET /metrics
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true, // the panicking goroutine's stack, not every goroutine's
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			log.ErrorContext(c.Request().Context(), "panic while serving", "method", c.Request().Method, "path", c.Path(), "err", err, "stack", string(stack))
			return err
		},
	}))
	// Request bodies are small JSON objects; a service-hook delivery has its own bound
	// (services.MaxHookBody, answered 413 hook_payload_too_large by the hook handler).
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "1M",
		Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/hooks/") }}))

	mountHealth(e, opts, log)

	mountOpenAPI(e) // GET /api/v1/openapi.json and its page /api/v1/docs, no API key (openapi.go)
	h := &handlers{svc: opts.Service, publicURL: opts.PublicURL}
	// Authentication is per route, not the group's: echo gives a group with middleware a
	// catch-all route, which would answer 404 instead of 405 to a known path with the wrong
	// method (and 401 to an unknown path).
	api := authenticated{e.Group("/api/v1"), h.authenticate}
	api.POST("/check-token", h.checkToken)
	api.POST("/parse-url", h.parseURL)
	api.POST("/connections", h.createConnection)
	api.GET("/connections", h.listConnections)
	api.GET("/connections/:id", h.getConnection)
	api.PATCH("/connections/:id", h.updateConnection)
	api.DELETE("/connections/:id", h.deleteConnection)
	api.GET("/connections/:id/projects", h.listProjects)
	api.GET("/connections/:id/projects/:projectId/service-endpoints", h.listServiceEndpoints)
	api.GET("/connections/:id/repositories", h.listRepositories)
	api.GET("/connections/:id/repositories/:repositoryId/branches", h.listBranches)
	api.POST("/build-profiles", h.createBuildProfile)
	api.GET("/build-profiles", h.listBuildProfiles)
	api.GET("/build-profiles/:id", h.getBuildProfile)
	api.DELETE("/build-profiles/:id", h.deleteBuildProfile)
	api.PATCH("/build-profiles/:id", h.patchBuildProfile)
	api.POST("/build-profiles/:id/hook/rotate", h.rotateHook)
	api.GET("/build-profiles/:id/hook/check", h.checkHook)
	api.GET("/build-profiles/:id/runs", h.listRuns)
	api.POST("/build-profiles/:id/runs", h.startRun)
	api.GET("/runs/:id", h.getRun)
	api.POST("/build-profiles/:id/clone", h.cloneBuildProfile)
	api.POST("/build-profiles/:id/clones", h.startClone)
	api.GET("/clones/:id", h.getCloneJob)
	api.DELETE("/clones/:id", h.cancelCloneJob)
	api.GET("/clones/:id/events", h.cloneEvents)
	api.POST("/connections/:id/authorize", h.authorize)
	api.POST("/connections/:id/deauthorize", h.deauthorize)
	api.POST("/connections/:id/check", h.checkConnection)
	api.GET("/connections/:id/status-history", h.statusHistory)
	api.PUT("/connections/:id/ssh-key", h.setSSHKey) // ssh.go
	api.DELETE("/connections/:id/ssh-key", h.removeSSHKey)
	api.POST("/connections/:id/ssh-check", h.checkSSH)
	api.POST("/connections/:id/ssh-host-key", h.acceptHostKey)
	// The OAuth redirect URI: reached by the user's browser, authenticated by its state.
	e.GET("/connector/callback", h.callback)
	// Service-hook deliveries: authenticated by the hook's own credential (web/runs.go).
	e.POST("/hooks/azure-devops/:hookId", h.hookDelivery)
	pages = mountUI(e, h, opts.Demo)
	return e
}

// authenticated adds routes to g behind mw.
type authenticated struct {
	g  *echo.Group
	mw echo.MiddlewareFunc
}

func (a authenticated) GET(path string, h echo.HandlerFunc)    { a.g.GET(path, h, a.mw) }
func (a authenticated) POST(path string, h echo.HandlerFunc)   { a.g.POST(path, h, a.mw) }
func (a authenticated) PUT(path string, h echo.HandlerFunc)    { a.g.PUT(path, h, a.mw) }
func (a authenticated) PATCH(path string, h echo.HandlerFunc)  { a.g.PATCH(path, h, a.mw) }
func (a authenticated) DELETE(path string, h echo.HandlerFunc) { a.g.DELETE(path, h, a.mw) }

// logFailure logs a failed request's error: 5xx at error; a 4xx caused by an Azure DevOps
// answer (an error carrying its ActivityId or X-VSS-E2EID) at warn, since those are the
// support cases Microsoft asks the ids for. Other 4xx are the client's and are not logged
// beyond the access line.
func logFailure(log *slog.Logger, c echo.Context, p Problem, err error) {
	ctx, r := c.Request().Context(), c.Request()
	attrs := []any{"method", r.Method, "path", c.Path(), "status", p.Status, "code", p.Code}
	upstream := false
	if ce := connections.AsError(err); ce != nil && (ce.ActivityID != "" || ce.E2EID != "") {
		upstream = true
		attrs = append(attrs, "activityId", ce.ActivityID, "e2eId", ce.E2EID)
	}
	attrs = append(attrs, "err", err)
	switch {
	case p.Status >= 500:
		log.ErrorContext(ctx, "request failed", attrs...)
	case upstream:
		log.WarnContext(ctx, "Azure DevOps refused a request", attrs...)
	}
}

type handlers struct {
	svc       *services.Service
	publicURL string // Options.PublicURL
}

// authenticate resolves "Authorization: Bearer <API key>" to a tenant, or answers 401.
func (h *handlers) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scheme, key, _ := strings.Cut(c.Request().Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") { // the scheme name is case-insensitive (RFC 9110 §11.1)
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="repoconnect"`)
			return services.ErrInvalidAPIKey
		}
		tenant, err := h.svc.Authenticate(c.Request().Context(), strings.TrimSpace(key))
		if err != nil {
			if errors.Is(err, services.ErrInvalidAPIKey) {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="repoconnect", error="invalid_token"`)
			}
			return err
		}
		c.Set(tenantKey, tenant)
		return next(c)
	}
}

func tenantOf(c echo.Context) string { s, _ := c.Get(tenantKey).(string); return s }

// list is the {"count","value"} envelope of list answers, as Azure DevOps' own, with "next",
// the cursor of the following page, on paged lists that have one.
type list[T any] struct {
	Count int    `json:"count"`
	Value []T    `json:"value"`
	Next  string `json:"next,omitempty"`
}

// pageOf is listOf for one page of a paged list.
func pageOf[T any](v []T, next string) list[T] {
	l := listOf(v)
	l.Next = next
	return l
}

// limitParam reads the "limit" query parameter (0 when absent); a non-number is a field error.
func limitParam(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput, "limit is the page size, a number from 1 to %d", services.MaxPageSize)
		e.Field = "limit"
		return 0, e
	}
	return n, nil
}

func listOf[T any](v []T) list[T] {
	if v == nil {
		v = []T{}
	}
	return list[T]{Count: len(v), Value: v}
}

// requestTimeout bounds a handler's forge calls, so a stuck server cannot hold a request.
const requestTimeout = 2 * time.Minute
