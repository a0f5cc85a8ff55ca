package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/services"
)

// cloneJobView is the JSON of a clone job (job JSON):
//
//	{"id": "<32 hex>", "buildProfileId": "...", "state": "queued|running|succeeded|failed",
//	 "progress": {"phase": "", "objects": 0, "objectsTotal": 0, "bytes": 0},
//	 "result": {"commit": "<40 hex>", "branch": "main", "path": "/abs/dir",    // succeeded only
//	            "source": "cold|cache|workspace", "stats": {"fetchedObjects", "fetchedBytes",
//	            "writtenFiles", "writtenBytes", "removedFiles"}},
//	 "error": {problem object},                                                // failed only
//	 "createdAt": "RFC 3339", "finishedAt": "RFC 3339"}                         // finishedAt when finished
//
// progress.phase is "" while queued, then connecting, counting, compressing, receiving,
// resolving, checkout, done (a phase may be skipped). objects of objectsTotal count what the
// phase counts (gitops.Progress): the server's a/b while counting and compressing, objects
// received of the pack's while receiving, deltas resolved of the pack's while resolving,
// files written of the tree's while checking out and at done (gitops.CountUnit names the
// unit); objectsTotal 0 while unknown. bytes is the pack bytes received (0 when nothing was
// fetched). "error" is the problem the synchronous clone would answer (status, title,
// detail, code, field, ...).
type cloneJobView struct {
	services.CloneJob
	Error *Problem `json:"error,omitempty"`
}

// cloneJobJSON is the job JSON of j.
func cloneJobJSON(j *services.CloneJob) cloneJobView {
	v := cloneJobView{CloneJob: *j}
	if j.State == services.CloneFailed && j.Err != nil {
		p := problemFor(j.Err)
		p.Type = problemType(p)
		v.Error = &p
	}
	return v
}

// startClone: POST /api/v1/build-profiles/{id}/clones {"depth"?, "commit"?, "submodules"?,
// "ref"?, "force"?} → 202 Accepted with the job JSON (state queued) and Location:
// /api/v1/clones/{jobId}. The clone runs in the background; follow it with GET
// /api/v1/clones/{jobId} or its /events, stop it with DELETE. With Redis any instance's worker
// runs it and any instance answers for it. Refused at once: 400 for a bad depth or commit, or
// without a work directory, 404 for an unknown build profile, 409 run_active (field force,
// the detail naming the active run, Link: </api/v1/runs/{id}>; rel="related") while a run of
// the profile is queued or running unless "force": true, 429 when 1000 jobs are unfinished (in-process: in the process; Redis: of the
// tenant). Forge and clone errors come later in the job's "error".
func (h *handlers) startClone(c echo.Context) error {
	var in services.CloneInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	j, err := h.svc.StartClone(c.Request().Context(), tenantOf(c), c.Param("id"), in)
	if err != nil {
		return linkActiveRun(c, err) // runs.go
	}
	c.Response().Header().Set("Location", "/api/v1/clones/"+j.ID)
	return c.JSON(http.StatusAccepted, cloneJobJSON(j))
}

// getCloneJob: GET /api/v1/clones/{id} → 200 job JSON; 404 problem for an unknown job, another
// tenant's, or one finished more than 15 minutes ago.
func (h *handlers) getCloneJob(c echo.Context) error {
	j, err := h.svc.CloneJob(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cloneJobJSON(j))
}

// cancelCloneJob: DELETE /api/v1/clones/{id} → 200 with the job JSON once the job has ended:
// a queued job fails at once and never runs; a running one is cancelled (its partial
// directory removed) and answered when it has failed; either way its "error" is the problem
// with code "cancelled". A finished job is answered as it is. 404 problem as GET. With Redis
// it reaches a job on any instance.
func (h *handlers) cancelCloneJob(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), requestTimeout)
	defer cancel()
	j, err := h.svc.CancelClone(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cloneJobJSON(j))
}

// beginEventStream writes the headers of a server-sent event stream (not cached, not
// buffered by a proxy that honours X-Accel-Buffering) and sends them at once.
func beginEventStream(w *echo.Response) {
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Flush()
}

// keepAliveInterval is the time between two keep-alive comments of an event stream, so
// proxies do not close a quiet one.
const keepAliveInterval = 15 * time.Second

// cloneEvents: GET /api/v1/clones/{id}/events → 200 text/event-stream (Cache-Control:
// no-store, X-Accel-Buffering: no) of Server-Sent Events:
//
//	event: progress
//	data: <job JSON>
//
// one per snapshot of the job (the current one first; a slow reader gets the latest), the
// terminal one (succeeded or failed) as "event: done", after which the stream ends; a
// ": keep-alive" comment every 15 s; every event is flushed. The stream also ends when the
// client goes away. An unknown job answers the usual 404 problem before any stream bytes.
// It uses only tenantOf(c) and the "id" parameter, so any authenticated group can mount it.
func (h *handlers) cloneEvents(c echo.Context) error {
	ch, err := h.svc.WatchClone(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return streamClone(c, ch, func(j *services.CloneJob) (string, error) {
		data, err := json.Marshal(cloneJobJSON(j))
		return string(data), err
	})
}

// streamClone answers a clone job's snapshots as server-sent events (text/event-stream):
// "progress" per snapshot, "done" for the terminal one, whose data render makes, each flushed
// at once, and a ": keep-alive" comment every keepAliveInterval. It returns after done, when
// the channel closes or the client goes away; once the stream has begun, nothing else can be
// answered, so failures end it silently.
func streamClone(c echo.Context, ch <-chan services.CloneJob, render func(*services.CloneJob) (string, error)) error {
	ctx := c.Request().Context()
	w := c.Response()
	beginEventStream(w)
	keepAlive := time.NewTicker(keepAliveInterval)
	defer keepAlive.Stop()
	for {
		select {
		case j, ok := <-ch:
			if !ok { // ctx is done (a terminal snapshot returns below)
				return nil
			}
			event := "progress"
			if j.State == services.CloneSucceeded || j.State == services.CloneFailed {
				event = "done"
			}
			data, err := render(&j)
			if err != nil {
				return nil
			}
			if _, err := io.WriteString(w, sseEvent(event, data)); err != nil {
				return nil // the client went away
			}
			w.Flush()
			if event == "done" {
				return nil
			}
		case <-keepAlive.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			w.Flush()
		case <-ctx.Done():
			return nil
		}
	}
}

// sseEvent formats one server-sent event; every line of data gets its own "data:" field
// (the WHATWG event-stream format joins them back with newlines).
func sseEvent(event, data string) string {
	var b strings.Builder
	b.WriteString("event: " + event + "\n")
	for _, line := range strings.Split(strings.ReplaceAll(data, "\r", ""), "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return b.String()
}
