package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// The build profile page's triggers, hook and runs, and the run page. The pages call the
// services of the API (UpdateBuildProfile as PATCH /api/v1/build-profiles/{id}, RotateHook,
// ListRuns, GetRun) and render the API's shapes (profileView, hookView, store.Run).

// runRow is a run as the pages show it.
type runRow struct {
	*store.Run
	ProfileID   string
	ShortID     string // the first 8 characters of the id, for the runs table
	Kind        string // "push", "pull request", "manual"
	ShortCommit string // the first 8 hex digits, "" before the commit is known
	// PullRequestURL is {repository web URL}/pullrequest/{id} for a pull-request run (Azure
	// DevOps' web URL of a pull request; the repository's web URL is its HTTPS clone URL
	// without user info, which the profile stores as RemoteURL).
	PullRequestURL string
	// Clone says which path the run's clone took and what it moved, e.g. "cache · fetched
	// 12 objects (3.1 KiB) · wrote 1 file (2.0 KiB) · removed 4"; "" until it succeeded.
	Clone string
}

func newRunRow(p *store.BuildProfile, r *store.Run) runRow {
	row := runRow{Run: r, ProfileID: p.ID, Kind: r.Trigger.Kind, ShortID: r.ID}
	if len(row.ShortID) > 8 {
		row.ShortID = row.ShortID[:8]
	}
	switch r.Trigger.Kind {
	case services.RunPullRequest:
		row.Kind = "pull request"
	}
	commit := r.Commit
	if commit == "" {
		commit = r.Trigger.Commit
	}
	if len(commit) > 8 {
		commit = commit[:8]
	}
	row.ShortCommit = commit
	row.Clone = cloneSummary(r)
	if r.Trigger.PullRequestID > 0 && p.RemoteURL != "" {
		row.PullRequestURL = strings.TrimRight(p.RemoteURL, "/") + "/pullrequest/" + strconv.Itoa(r.Trigger.PullRequestID)
	}
	return row
}

// triggersForm is the triggers form's text (one pattern a line) and the errors to show next
// to each field.
type triggersForm struct {
	Push, PullRequest           string
	PushError, PullRequestError string
	Error                       *Problem // an error that names neither field
}

func formOfTriggers(t *store.Triggers) triggersForm {
	var f triggersForm
	if t != nil && t.Push != nil {
		f.Push = strings.Join(t.Push.Branches, "\n")
	}
	if t != nil && t.PullRequest != nil {
		f.PullRequest = strings.Join(t.PullRequest.Branches, "\n")
	}
	return f
}

// loadProfilePage fills the profile page's data: the profile as the API answers it (with the
// hook's password when cred was just made), its connection and its newest runs.
func (u *ui) loadProfilePage(c echo.Context, p *store.BuildProfile, cred *services.HookCredential) (profileData, error) {
	ctx := c.Request().Context()
	// The page checks and repairs the hook's subscriptions as the API's GET does (at most once
	// a minute per profile); right after a rotation it shows the new credential instead.
	var v profileView
	if cred != nil {
		v = u.h.view(c, p, cred)
	} else {
		v = u.h.checkedView(c, p)
	}
	d := profileData{Profile: p, Hook: v.Hook, Triggers: formOfTriggers(p.Triggers), LoadedAt: time.Now().UTC(),
		Workspace: workspaceForm{Value: services.WorkspaceOf(p)}, WorkspacePath: u.svc.WorkspacePath(tenantOf(c), p.ID),
		CacheOn: u.svc.CacheDir() != ""}
	d.Conn, _ = u.svc.GetConnection(ctx, tenantOf(c), p.ConnectionID)
	runs, next, err := u.svc.ListRuns(ctx, tenantOf(c), p.ID, uiPageSize, c.QueryParam("runsAfter"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return d, err
		}
		pr := problemFor(err) // shown in the runs section; the rest of the page still helps
		d.RunsError = &pr
	}
	d.RunsNext = next
	for _, r := range runs {
		d.Runs = append(d.Runs, newRunRow(p, r))
	}
	return d, nil
}

// saveTriggers: POST /ui/build-profiles/{id}/triggers {push, pullRequest} sets the profile's
// triggers (services.UpdateBuildProfile, as PATCH /api/v1/build-profiles/{id}): each field
// holds one branch pattern a line; an empty field turns that trigger off, both empty turn
// every trigger off. A pattern the service refuses is shown under its field (status as the
// API's problem) and nothing is stored. On success the page is shown again, with the hook's
// password when the first trigger just created the hook (the only time it is shown).
func (u *ui) saveTriggers(c echo.Context) error {
	form := triggersForm{Push: c.FormValue("push"), PullRequest: c.FormValue("pullRequest")}
	in := services.BuildProfilePatch{}
	t := services.TriggersInput{}
	if ps := patternLines(form.Push); len(ps) > 0 {
		t.Push = &services.BranchFilterInput{Branches: ps}
	}
	if ps := patternLines(form.PullRequest); len(ps) > 0 {
		t.PullRequest = &services.BranchFilterInput{Branches: ps}
	}
	if t.Push == nil && t.PullRequest == nil {
		in.ClearTriggers = true
	} else {
		in.Triggers = &t
	}
	return u.saveProfileForm(c, in, "triggers", "Triggers saved.", func(d *profileData, pr Problem) {
		switch {
		case strings.HasPrefix(pr.Field, "triggers.push"):
			form.PushError = pr.Detail
		case strings.HasPrefix(pr.Field, "triggers.pullRequest"):
			form.PullRequestError = pr.Detail
		default:
			form.Error = &pr
		}
		d.Triggers = form
	})
}

// saveProfileForm applies in to the profile of the page's id (services.UpdateBuildProfile)
// and renders the profile page again: with notice when it is saved; when the service refuses
// a field starting with field (a 400), with refused applied to the page (the error shown under
// the form, status 400, nothing stored); any other error is u.fail's.
func (u *ui) saveProfileForm(c echo.Context, in services.BuildProfilePatch, field, notice string, refused func(*profileData, Problem)) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	p, cred, err := u.svc.UpdateBuildProfile(ctx, tenantOf(c), c.Param("id"), in)
	if err != nil {
		pr := problemFor(err)
		if pr.Status != http.StatusBadRequest || !strings.HasPrefix(pr.Field, field) {
			return u.fail(c, err)
		}
		p, gerr := u.svc.GetBuildProfile(ctx, tenantOf(c), c.Param("id"))
		if gerr != nil {
			return u.fail(c, gerr)
		}
		d, lerr := u.loadProfilePage(c, p, nil)
		if lerr != nil {
			return u.fail(c, lerr)
		}
		refused(&d, pr)
		return u.render(c, pr.Status, "profile", "", p.Name, "profiles", d)
	}
	d, err := u.loadProfilePage(c, p, cred)
	if err != nil {
		return u.fail(c, err)
	}
	d.Notice = notice
	return u.render(c, http.StatusOK, "profile", "", p.Name, "profiles", d)
}

// patternLines splits a textarea into its non-empty lines (commas also separate), trimmed.
func patternLines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// rotateHook: POST /ui/build-profiles/{id}/hook/rotate gives the hook a new URL and password
// (services.RotateHook) and shows the page with them: the password is shown this once.
func (u *ui) rotateHook(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	p, cred, err := u.svc.RotateHook(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	d, err := u.loadProfilePage(c, p, cred)
	if err != nil {
		return u.fail(c, err)
	}
	d.Notice = "The hook has a new URL and password: update the Azure DevOps service hook with them."
	return u.render(c, http.StatusOK, "profile", "", p.Name, "profiles", d)
}

// deliveryCheck is the answer of the "check for a test delivery" button.
type deliveryCheck struct {
	Arrived        bool
	LastDeliveryAt *time.Time
}

// checkDelivery: GET /ui/build-profiles/{id}/hook/delivery?since={RFC 3339} re-reads the
// hook's last delivery time and tells whether a delivery passed its credential check after
// since (the time the page was loaded). htmx gets the answer fragment; a page load is sent
// back to the profile page.
func (u *ui) checkDelivery(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := u.svc.GetBuildProfile(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	if !isHX(c) {
		return c.Redirect(http.StatusSeeOther, "/ui/build-profiles/"+p.ID)
	}
	since, err := time.Parse(time.RFC3339Nano, c.QueryParam("since"))
	if err != nil {
		return u.fail(c, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
			"since must be an RFC 3339 time"))
	}
	hs := u.svc.HookStateOf(ctx, p)
	if hs == nil {
		return u.fail(c, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
			"the build profile has no hook: give it a trigger first"))
	}
	d := deliveryCheck{LastDeliveryAt: hs.LastDeliveryAt}
	d.Arrived = hs.LastDeliveryAt != nil && hs.LastDeliveryAt.After(since)
	return u.fragment(c, http.StatusOK, "delivery-check", d)
}

type runData struct {
	Profile *store.BuildProfile
	Run     runRow
}

// runPage: GET /ui/build-profiles/{id}/runs/{runId} shows one run (the commit statuses posted
// to Azure DevOps link here). A run of another profile, or another tenant's, is not found.
func (u *ui) runPage(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := u.svc.GetBuildProfile(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	r, err := u.svc.GetRun(ctx, tenantOf(c), c.Param("runId"))
	if err == nil && r.BuildProfileID != p.ID {
		err = store.ErrNotFound
	}
	if err != nil {
		return u.fail(c, err)
	}
	return u.render(c, http.StatusOK, "run", "", "Run of "+p.Name, "profiles", runData{Profile: p, Run: newRunRow(p, r)})
}

// cloneSummary is a run's clone path and figures: "{source} · fetched N objects (size) ·
// wrote N files (size)[ · removed N]"; "" when the run has no source yet.
func cloneSummary(r *store.Run) string {
	if r.Source == "" {
		return ""
	}
	parts := []string{r.Source}
	if st := r.Stats; st != nil {
		parts = append(parts, "fetched "+plural(st.FetchedObjects, "object")+" ("+humanBytes(st.FetchedBytes)+")",
			"wrote "+plural(st.WrittenFiles, "file")+" ("+humanBytes(st.WrittenBytes)+")")
		if st.RemovedFiles > 0 {
			parts = append(parts, "removed "+itoa(st.RemovedFiles))
		}
	}
	return strings.Join(parts, " · ")
}

// plural is "1 file", "2 files".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return itoa(n) + " " + noun + "s"
}

// workspaceForm is the workspace form's choice and its error.
type workspaceForm struct {
	Value string // "fresh" or "reuse"
	Error string
}

// saveWorkspace: POST /ui/build-profiles/{id}/workspace {workspace: fresh|reuse} sets the
// profile's workspace setting (services.UpdateBuildProfile, as PATCH
// /api/v1/build-profiles/{id} {"workspace"}). A value the service refuses is shown under the
// field (status 400) and nothing is stored.
func (u *ui) saveWorkspace(c echo.Context) error {
	v := c.FormValue("workspace")
	return u.saveProfileForm(c, services.BuildProfilePatch{Workspace: &v}, "workspace", "Workspace setting saved.",
		func(d *profileData, pr Problem) { d.Workspace.Error = pr.Detail })
}
