package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// ReadyCheck is one condition GET /readyz checks: Name is what the answer calls it (e.g.
// "store", "clone-queue", "sealing-keys"), Check returns nil when the condition holds. Check
// gets a context bounded by 2 s (healthTimeout); one that does not return in time counts as
// failed ("timeout").
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// CheckOutcome is one check's line in a /readyz answer: its name and "ok", "failed" or
// "timeout". The failure's text goes to the log (warn), not to the answer, which anyone who
// reaches the port may read.
type CheckOutcome struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// readiness is the answer of GET /readyz when every check passed.
type readiness struct {
	Status string         `json:"status"`
	Checks []CheckOutcome `json:"checks"`
}

// runChecks runs every check at once, each bounded by healthTimeout, and returns the outcomes
// in checks' order and whether all passed. Failures are logged at warn with their error,
// unless the prober went away.
func runChecks(ctx context.Context, log *slog.Logger, checks []ReadyCheck) ([]CheckOutcome, bool) {
	out := make([]CheckOutcome, len(checks))
	ok := true
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, healthTimeout)
			defer cancel()
			err := ready(cctx, c.Check)
			status := "ok"
			switch {
			case err == nil:
			case errors.Is(err, context.DeadlineExceeded) && cctx.Err() != nil:
				status = "timeout"
			default:
				status = "failed"
			}
			if err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "readiness check failed", "check", c.Name, "err", err)
			}
			mu.Lock()
			out[i] = CheckOutcome{Name: c.Name, Status: status}
			ok = ok && err == nil
			mu.Unlock()
		})
	}
	wg.Wait()
	return out, ok
}

// mountHealth adds the probes:
//
//   - GET /livez: 200 {"status":"ok","version":Options.Version} whenever the process answers
//     HTTP (no dependency is checked, so a store outage never makes an orchestrator restart
//     the process);
//   - GET /readyz: the store (Options.Ready, as "store") and Options.Checks, at once, each
//     within 2 s; 200 {"status":"ok","checks":[{"name","status"}...]} when all pass, else 503
//     problem+json, code not_ready, with the same checks list and Retry-After: 5;
//   - GET /healthz: unchanged, the store only (200 {"status":"ok"} or 503 store_unavailable).
func mountHealth(e *echo.Echo, opts Options, log *slog.Logger) {
	live := map[string]string{"status": "ok"}
	if opts.Version != "" {
		live["version"] = opts.Version
	}
	e.GET("/livez", func(c echo.Context) error {
		return c.JSON(http.StatusOK, live)
	})
	var checks []ReadyCheck
	if opts.Ready != nil {
		checks = append(checks, ReadyCheck{Name: "store", Check: opts.Ready})
	}
	checks = append(checks, opts.Checks...)
	e.GET("/readyz", func(c echo.Context) error {
		outcomes, ok := runChecks(c.Request().Context(), log, checks)
		if outcomes == nil {
			outcomes = []CheckOutcome{}
		}
		if ok {
			return c.JSON(http.StatusOK, readiness{Status: "ok", Checks: outcomes})
		}
		var failed []string
		for _, o := range outcomes {
			if o.Status != "ok" {
				failed = append(failed, o.Name+" ("+o.Status+")")
			}
		}
		return writeProblem(c, Problem{Status: http.StatusServiceUnavailable, Title: "Not ready", Code: "not_ready",
			RetryAfter: storeRetryAfter, Checks: outcomes,
			Detail: "this instance cannot serve yet or any more: " + strings.Join(failed, ", ") +
				" failed; the service log says why; send traffic to another instance or try again in a few seconds"})
	})
	e.GET("/healthz", func(c echo.Context) error {
		if opts.Ready != nil {
			ctx, cancel := context.WithTimeout(c.Request().Context(), healthTimeout)
			err := ready(ctx, opts.Ready)
			cancel()
			if err != nil {
				if c.Request().Context().Err() == nil {
					log.WarnContext(c.Request().Context(), "health check failed", "err", err)
				}
				return writeProblem(c, storeUnavailable())
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
}
