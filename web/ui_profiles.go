package web

import (
	"bytes"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

type profilesData struct {
	Profiles []*store.BuildProfile
	Next     string
}

// profilesPage: GET /ui/build-profiles[?after=] lists the tenant's build profiles.
func (u *ui) profilesPage(c echo.Context) error {
	ps, next, err := u.svc.ListBuildProfiles(c.Request().Context(), tenantOf(c), uiPageSize, c.QueryParam("after"))
	if err != nil {
		return u.fail(c, err)
	}
	return u.render(c, http.StatusOK, "profiles", "", "Build profiles", "profiles", profilesData{Profiles: ps, Next: next})
}

type profileData struct {
	Profile *store.BuildProfile
	Conn    *services.Connection // nil when the connection was deleted
	// Hook is the hook as the API answers it (nil without a trigger); its Password is set
	// only right after the hook was created or rotated.
	Hook      *hookView
	Triggers  triggersForm
	Runs      []runRow // newest first
	RunsNext  string   // the next page's runsAfter, "" on the last page
	RunsAfter string   // this page's runsAfter ("" for the newest runs)
	RunsError *Problem
	// Active is the newest queued or running run (Clone now is off while there is one);
	// Panel what the clone region shows on load (the live run or the last result).
	Active *runRow
	Panel  runPanel
	Notice string
	// NoticeClass is the notice's alert class: "ok" (the default when empty), "warn" for an
	// action that only half succeeded (a profile created whose first run did not start).
	NoticeClass string
	// Canonical is the page's own address when it answers a POST (data-canonical: app.js puts
	// it in the address bar so a reload does not post again).
	Canonical string
	// HookUnchecked: the hook's subscriptions could not be checked within hookCheckBound;
	// the page shows the last known state and says so.
	HookUnchecked bool
	LoadedAt      time.Time // for the test-delivery check
	// Workspace is the workspace form; WorkspacePath where a reused workspace lives; CacheOn
	// whether the service has a repository cache (reuse needs it).
	Workspace     workspaceForm
	WorkspacePath string
	CacheOn       bool
}

// profilePage: GET /ui/build-profiles/{id} shows the chosen repository and branch and the
// "Clone now" action, its triggers (a form), its hook (state, last delivery and the manual
// setup) and its runs, newest first (?runsAfter= pages them).
func (u *ui) profilePage(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := u.svc.GetBuildProfile(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	d, err := u.loadProfilePage(c, p, nil)
	if err != nil {
		return u.fail(c, err)
	}
	return u.render(c, http.StatusOK, "profile", "", p.Name, "profiles", d)
}

// startClone: POST /ui/build-profiles/{id}/clones [shallow=1] starts a clone job (the service
// of POST /api/v1/build-profiles/{id}/clones) and answers the live progress panel, which
// follows the job's events and has a Cancel button (cancelClone) while the job is queued or
// running.
//
// Without force=1 a profile with a run queued or running is refused in place (409, the
// clone-refused fragment, code run_active, as the service refuses it when CloneInput.Force is
// false) with a "Start another run anyway" button that posts force=1 (CloneInput.Force).
func (u *ui) startClone(c echo.Context) error {
	ctx := c.Request().Context()
	in := services.CloneInput{Force: c.FormValue("force") == "1"}
	if c.FormValue("shallow") != "" {
		in.Depth = 1
	}
	refused := func(pr Problem, active *runRow) error {
		return u.fragment(c, http.StatusConflict, "clone-refused", cloneRefusal{ProfileID: c.Param("id"), Problem: pr,
			Active: active, Shallow: in.Depth == 1})
	}
	if !in.Force {
		// The page's own look first: the service's refusal (below) is the one that holds
		// against a race, this one names the run.
		if p, err := u.svc.GetBuildProfile(ctx, tenantOf(c), c.Param("id")); err == nil {
			var d profileData
			if u.loadRuns(c, p, &d) == nil && d.Active != nil {
				return refused(runActiveProblem(d.Active), d.Active)
			}
		}
	}
	job, err := u.svc.StartClone(ctx, tenantOf(c), c.Param("id"), in)
	if err != nil {
		if pr := problemFor(err); pr.Code == codeRunActive {
			return refused(pr, nil)
		}
		return u.fail(c, err)
	}
	return u.fragment(c, http.StatusOK, "clone-live", cloneView(job))
}

// codeRunActive is the problem code of a manual run refused while another run of the
// profile is queued or running (services, CloneInput.Force).
const codeRunActive = "run_active"

// runActiveProblem is the refusal of a second manual run while r is active.
func runActiveProblem(r *runRow) Problem {
	return Problem{Status: http.StatusConflict, Title: "A run is already active", Code: codeRunActive,
		Detail: "run " + r.ShortID + " of this build profile is " + r.State + ": wait for it to end, or start another run anyway"}
}

// cloneRefusal is the clone-refused fragment: why a second run was refused, the run that is
// active when known, and the form that starts one anyway (force=1, keeping shallow).
type cloneRefusal struct {
	ProfileID string
	Problem   Problem
	Active    *runRow
	Shallow   bool
}

// cancelClone: POST /ui/clones/{id}/cancel cancels the tenant's clone job (the service of
// DELETE /api/v1/clones/{id}) and waits until it has ended. htmx gets the job's progress panel
// in place of the live one, which ends its event stream: failed with the "cancelled" problem,
// or as it ended when it finished first; a plain form post is sent back to the job's build
// profile (303). An unknown job, another tenant's or one forgotten is the 404 alert or page.
func (u *ui) cancelClone(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	job, err := u.svc.CancelClone(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	if !isHX(c) {
		return c.Redirect(http.StatusSeeOther, "/ui/build-profiles/"+url.PathEscape(job.BuildProfileID))
	}
	return u.fragment(c, http.StatusOK, "clone-progress", cloneView(job))
}

// cloneViewData is a clone job as the progress panel shows it.
type cloneViewData struct {
	Job     services.CloneJob
	Problem *Problem
	Elapsed string
}

func cloneView(j *services.CloneJob) cloneViewData {
	d := cloneViewData{Job: *j}
	if j.Err != nil {
		p := problemFor(j.Err)
		d.Problem = &p
	}
	if j.FinishedAt != nil {
		d.Elapsed = elapsed(j.CreatedAt, *j.FinishedAt)
	}
	return d
}

// cloneEvents: GET /ui/clones/{id}/events streams the job's progress panel as server-sent
// events for htmx's SSE extension: "progress" events while it runs and one "done" event with
// the commit or the error, after which the stream ends (streamClone). An unknown job is an
// alert before any event.
func (u *ui) cloneEvents(c echo.Context) error {
	updates, err := u.svc.WatchClone(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	return streamClone(c, updates, func(j *services.CloneJob) (string, error) {
		var buf bytes.Buffer
		err := u.pages[""].ExecuteTemplate(&buf, "clone-progress", cloneView(j))
		return buf.String(), err
	})
}
