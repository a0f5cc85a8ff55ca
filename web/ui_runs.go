package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
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
	// Path is the path taken in words ("From the repository cache"), Moved what it moved
	// ("fetched 12 objects (3.1 KiB), wrote 1 file (2.0 KiB)"); both "" until it succeeded.
	Path, Moved string
	// Elapsed is the time from the run's creation to its end ("1.5s"), "" while it runs.
	Elapsed string
	// Posted is the statuses posted to Azure DevOps in words ("Commit status: succeeded").
	Posted []string
}

// Active tells whether the run is queued or running.
func (r runRow) Active() bool {
	return r.State == services.CloneQueued || r.State == services.CloneRunning
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
	row.Path, row.Moved = sourceWords(r.Source), movedWords(r.Stats)
	if r.FinishedAt != nil {
		row.Elapsed = elapsed(r.CreatedAt, *r.FinishedAt)
	}
	if r.Report != nil {
		for _, s := range r.Report.Statuses {
			row.Posted = append(row.Posted, postedWords(s))
		}
	}
	if r.Trigger.PullRequestID > 0 && p.RemoteURL != "" {
		row.PullRequestURL = strings.TrimRight(p.RemoteURL, "/") + "/pullrequest/" + strconv.Itoa(r.Trigger.PullRequestID)
	}
	return row
}

// elapsed is the time from a to b for people: "850ms", "1.5s", "2m3s".
func elapsed(a, b time.Time) string {
	d := b.Sub(a)
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// sourceWords is the path a clone took (store.Run.Source, gitops.Source*) in words.
func sourceWords(s string) string {
	switch s {
	case services.SourceCold:
		return "Full clone from the server"
	case services.SourceCache:
		return "From the repository cache"
	case services.SourceWorkspace:
		return "Reused workspace, updated in place"
	case "":
		return ""
	}
	return s
}

// movedWords is what a clone moved: "fetched 12 objects (3.1 KiB), wrote 1 file (2.0 KiB),
// removed 4 files"; "" without stats.
func movedWords(st *store.CloneStats) string {
	if st == nil {
		return ""
	}
	parts := []string{"fetched " + plural(st.FetchedObjects, "object") + " (" + humanBytes(st.FetchedBytes) + ")",
		"wrote " + plural(st.WrittenFiles, "file") + " (" + humanBytes(st.WrittenBytes) + ")"}
	if st.RemovedFiles > 0 {
		parts = append(parts, "removed "+plural(st.RemovedFiles, "file"))
	}
	return strings.Join(parts, ", ")
}

// postedWords is one of RunReport.Statuses ("{post}:{state}") in words: "Commit status:
// succeeded", "Pull request status: failed", "Pull request comment: succeeded".
func postedWords(s string) string {
	post, state, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	switch post {
	case services.PostCommitStatus:
		post = "Commit status"
	case services.PostPullRequestStatus:
		post = "Pull request status"
	case services.PostThread:
		post = "Pull request comment"
	}
	return post + ": " + strings.TrimSpace(state)
}

// phaseLine is a clone's progress as one line that reads right in its phase (services.Phase*):
// bytes while receiving (with the objects' count once the server has given it), deltas while
// resolving, files while checking out; never "0 of N" objects while megabytes arrive.
func phaseLine(p services.Progress) string {
	of := func(label string) string {
		switch {
		case p.ObjectsTotal > 0:
			return label + ": " + groupDigits(p.ObjectsDone) + " of " + groupDigits(p.ObjectsTotal)
		case p.ObjectsDone > 0:
			return label + ": " + groupDigits(p.ObjectsDone)
		}
		return label
	}
	switch p.Phase {
	case "", services.PhaseConnecting:
		return "Connecting to the server"
	case services.PhaseCounting:
		return of("Counting objects on the server")
	case services.PhaseCompressing:
		return of("Compressing objects on the server")
	case services.PhaseReceiving:
		line := "Receiving: " + humanBytes(p.BytesReceived)
		if p.ObjectsTotal > 0 {
			line += " (" + groupDigits(p.ObjectsTotal) + " objects)"
		}
		return line
	case services.PhaseResolving:
		return of("Resolving deltas")
	case services.PhaseCheckout:
		return of("Checking out files")
	case services.PhaseDone:
		return "Finishing"
	}
	return p.Phase
}

// phaseBar is a progress bar's value in percent for a phase whose count is known (counting,
// compressing, resolving, checking out: done of total); known is false while receiving (the
// pack's size is not known ahead), connecting, or when the total is not known: the bar is
// then indeterminate.
type phaseBar struct {
	Known bool
	Value int64
}

func barOf(p services.Progress) phaseBar {
	switch p.Phase {
	case services.PhaseCounting, services.PhaseCompressing, services.PhaseResolving, services.PhaseCheckout:
		if p.ObjectsTotal > 0 {
			return phaseBar{Known: true, Value: min(100, max(0, p.ObjectsDone*100/p.ObjectsTotal))}
		}
	case services.PhaseDone:
		return phaseBar{Known: true, Value: 100}
	}
	return phaseBar{}
}

// groupDigits writes n with thousands separators: 1200 → "1,200".
func groupDigits(n int64) string {
	s := itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// hookWords says a hook's state (services.Hook*) and, for the manual setup, its reason
// (services.Manual*) as a sentence.
func hookWords(state, reason string) string {
	switch state {
	case services.HookSubscribed:
		return "Azure DevOps sends pushes and pull requests here: the service created the subscriptions and they are on."
	case services.HookFailing:
		return "Azure DevOps turned a subscription off after failed deliveries, and the service could not turn it on again: check the subscription in Project settings › Service hooks."
	case services.HookManual:
		switch reason {
		case services.ManualCannotManage:
			return "Set it up by hand below: the connection's credential may not manage service hooks."
		case services.ManualNeedsScope:
			return "Set it up by hand below, or give the connection the Service hooks (read and write) scope so the service creates it."
		case services.ManualNoURL:
			return "Set it up by hand below: the service does not know the URL Azure DevOps reaches it at (start it with --public-url)."
		case services.ManualUpstream:
			return "Set it up by hand below: Azure DevOps refused to create the subscriptions."
		}
		return "Set it up by hand below: nothing is sent here until the subscriptions exist in Azure DevOps."
	}
	return sentence(state)
}

// cancelWords is what follows "The clone was cancelled:" for a cancelled clone's problem
// (code "cancelled"): "nothing of it was kept." for the user's Cancel, else the reason as a
// sentence (the instance shut down: start the clone again).
func cancelWords(p *Problem) string {
	if p == nil || strings.HasPrefix(p.Detail, "the clone was cancelled") {
		return "nothing of it was kept."
	}
	return sentence(p.Detail)
}

// hookFixData is the hook section's ways to fix a hook that is failing or set up by hand, as
// links (the hook-fix template): the connection page's #authorize for an OAuth connection
// that lacks the Service hooks scope (Reauthorize), the connection page for a PAT connection
// (ReplacePAT: replace the PAT with one that has the scope), and the project's service
// hooks settings page ({collection URL}/{project}/_settings/serviceHooks, Azure DevOps'
// address of Project settings › Service hooks).
type hookFixData struct {
	ConnURL      string // /ui/connections/{id}, "" when the connection was deleted
	ConnName     string
	Reauthorize  bool
	ReplacePAT   bool
	SettingsURL  string // "" when the connection is not known
	ProjectName  string
	ShowSettings bool // the settings link in the list (the manual setup's steps link it instead)
}

// Any tells whether the list has a link to show.
func (f *hookFixData) Any() bool {
	return f.Reauthorize || f.ReplacePAT || (f.ShowSettings && f.SettingsURL != "")
}

// hookFix fills hookFixData for the profile page's hook (nil when the hook needs no fix).
func hookFix(p *store.BuildProfile, conn *services.Connection, h *hookView) *hookFixData {
	if h == nil || (h.State != services.HookFailing && h.State != services.HookManual) {
		return nil
	}
	f := &hookFixData{ProjectName: p.ProjectName, ShowSettings: h.State == services.HookFailing}
	if conn != nil {
		f.ConnURL, f.ConnName = "/ui/connections/"+url.PathEscape(conn.ID), conn.Name
		if p.ProjectName != "" {
			f.SettingsURL = strings.TrimRight(conn.CollectionURL(), "/") + "/" + url.PathEscape(p.ProjectName) + "/_settings/serviceHooks"
		}
		if h.State == services.HookManual && h.Reason == services.ManualNeedsScope {
			if conn.OAuth != nil {
				f.Reauthorize = true
			} else {
				f.ReplacePAT = true
			}
		}
	}
	return f
}

// hookCheckBound bounds the profile page's check of the hook's subscriptions (it may call
// Azure DevOps): past it the page shows the last known state and says it could not be
// checked now. A variable so tests can shorten it.
var hookCheckBound = 4 * time.Second

// boundedHookView is the profile page's h.checkedView (services.CheckHookState) bounded by
// hookCheckBound: checked is false when the check did not end in time, and the view then
// holds the last known state (services.HookStateOf). The check goes on in the background
// until its context (the bound) ends.
func (u *ui) boundedHookView(c echo.Context, p *store.BuildProfile) (v profileView, checked bool) {
	if p.Hook == nil {
		return u.h.viewOf(c, p, nil, nil), true
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), hookCheckBound)
	defer cancel()
	hctx := u.h.hookContext(c, ctx)
	ch := make(chan *services.HookState, 1)
	go func() { ch <- u.svc.CheckHookState(hctx, p) }()
	select {
	case hs := <-ch:
		if ctx.Err() == nil {
			return u.h.viewOf(c, p, nil, hs), true
		}
	case <-ctx.Done():
	}
	return u.h.viewOf(c, p, nil, u.svc.HookStateOf(c.Request().Context(), p)), false
}

func init() {
	uiFuncs["runPhase"] = phaseLine
	uiFuncs["runBar"] = barOf
	uiFuncs["runCount"] = groupDigits
	uiFuncs["hookWords"] = hookWords
	uiFuncs["hookFix"] = hookFix
	uiFuncs["cancelWords"] = cancelWords
	// s is a string type of the clone engine (the Result's Source).
	uiFuncs["runSourceWords"] = func(s any) string { return sourceWords(fmt.Sprint(s)) }
	uiFuncs["cloneForm"] = func(profileID string, active *runRow) cloneFormData {
		return cloneFormData{ProfileID: profileID, Active: active}
	}
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
	checked := true
	if cred != nil {
		v = u.h.view(c, p, cred)
	} else {
		v, checked = u.boundedHookView(c, p)
	}
	d := profileData{Profile: p, Hook: v.Hook, HookUnchecked: !checked, Triggers: formOfTriggers(p.Triggers), LoadedAt: time.Now().UTC(),
		Workspace: workspaceForm{Value: services.WorkspaceOf(p)}, WorkspacePath: u.svc.WorkspacePath(tenantOf(c), p.ID),
		CacheOn: u.svc.CacheDir() != ""}
	d.Conn, _ = u.svc.GetConnection(ctx, tenantOf(c), p.ConnectionID)
	if err := u.loadRuns(c, p, &d); err != nil {
		return d, err
	}
	d.Panel = u.panelOf(c, p, d.Runs, d.Active, c.QueryParam("run"))
	return d, nil
}

// loadRuns fills d's runs (one page, newest first: ?runsAfter= pages them), the next page's
// cursor and the active run (the newest queued or running one). A failure to list is shown
// in the runs section (d.RunsError) and the rest of the page still works; an unknown profile
// is the error.
func (u *ui) loadRuns(c echo.Context, p *store.BuildProfile, d *profileData) error {
	runs, next, err := u.svc.ListRuns(c.Request().Context(), tenantOf(c), p.ID, uiPageSize, c.QueryParam("runsAfter"))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		pr := problemFor(err) // shown in the runs section; the rest of the page still helps
		d.RunsError = &pr
	}
	d.RunsNext = next
	d.RunsAfter = c.QueryParam("runsAfter")
	d.Runs = d.Runs[:0]
	for _, r := range runs {
		d.Runs = append(d.Runs, newRunRow(p, r))
	}
	// The active run is the run guard's (services.ActiveRun), so Clone now is off exactly when
	// the server would refuse a manual start.
	d.Active = nil
	a, err := u.svc.ActiveRun(c.Request().Context(), tenantOf(c), p.ID)
	if err != nil || a == nil || a.RunID == "" {
		return nil
	}
	for i := range d.Runs {
		if d.Runs[i].ID == a.RunID {
			d.Active = &d.Runs[i]
			return nil
		}
	}
	if r, err := u.svc.GetRun(c.Request().Context(), tenantOf(c), a.RunID); err == nil { // on another page of the list
		row := newRunRow(p, r)
		d.Active = &row
	}
	return nil
}

// runPanel is what the profile page's clone region shows when it loads: the live progress
// of a queued or running run's clone job (Live, the clone-live fragment), or a run's result as
// the runs store keeps it (Run, with its finished job while the service keeps it: Job), so a
// reload shows what the last click started, not an empty region.
type runPanel struct {
	Live *cloneViewData
	Run  *runRow
	Job  *cloneViewData
}

// ShownJob is the clone job the panel shows ("" for none): the runs poll sends it back, so a
// new run (a push's) replaces the panel only when it is another job.
func (rp runPanel) ShownJob() string {
	switch {
	case rp.Live != nil:
		return rp.Live.Job.ID
	case rp.Run != nil:
		return rp.Run.CloneJobID
	}
	return ""
}

// panelOf picks the run the clone region shows: the run named by ?run= (a run of this
// profile, e.g. the one "Create and run" started), else the active run, else the newest run.
// A queued or running run whose job the service still knows is followed live.
func (u *ui) panelOf(c echo.Context, p *store.BuildProfile, runs []runRow, active *runRow, want string) runPanel {
	ctx := c.Request().Context()
	var pick *runRow
	if want != "" {
		for i := range runs {
			if runs[i].ID == want {
				pick = &runs[i]
			}
		}
		if pick == nil {
			if r, err := u.svc.GetRun(ctx, tenantOf(c), want); err == nil && r.BuildProfileID == p.ID {
				row := newRunRow(p, r)
				pick = &row
			}
		}
	}
	if pick == nil {
		pick = active
	}
	if pick == nil && len(runs) > 0 {
		pick = &runs[0]
	}
	if pick == nil {
		return runPanel{}
	}
	rp := runPanel{Run: pick}
	if pick.CloneJobID != "" {
		if job, err := u.svc.CloneJob(ctx, tenantOf(c), pick.CloneJobID); err == nil {
			v := cloneView(job)
			if pick.Active() || job.FinishedAt == nil {
				rp.Live = &v
			} else {
				rp.Job = &v
			}
		}
	}
	return rp
}

// cloneFormData is the "Clone now" form: off (disabled, with the reason) while a run of the
// profile is active; OOB marks it for an htmx out-of-band swap.
type cloneFormData struct {
	ProfileID string
	Active    *runRow
	OOB       bool
}

// runsFragment: GET /ui/build-profiles/{id}/runs[?runsAfter=][&shown={job id}][&blocked=1]
// answers htmx with the runs list (the runs-list fragment), which the profile page polls
// (run.js) so new runs, a push's included, appear without a reload. Out of band it also sends
// the "Clone now" form when whether a run is active changed (blocked is what the page shows)
// and, when a run is active whose job is not the one the page shows (shown), that run's live
// panel. A page load is sent to the profile page.
func (u *ui) runsFragment(c echo.Context) error {
	ctx := c.Request().Context()
	p, err := u.svc.GetBuildProfile(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	if !isHX(c) {
		return c.Redirect(http.StatusSeeOther, "/ui/build-profiles/"+url.PathEscape(p.ID)+"#runs")
	}
	d := profileData{Profile: p}
	if err := u.loadRuns(c, p, &d); err != nil {
		return u.fail(c, err)
	}
	var oob bytes.Buffer // the out-of-band parts
	t := u.pages[""]
	if (d.Active != nil) != (c.QueryParam("blocked") == "1") {
		if err := t.ExecuteTemplate(&oob, "clone-form", cloneFormData{ProfileID: p.ID, Active: d.Active, OOB: true}); err != nil {
			return err
		}
	}
	if a := d.Active; a != nil && a.CloneJobID != "" && a.CloneJobID != c.QueryParam("shown") {
		if job, err := u.svc.CloneJob(ctx, tenantOf(c), a.CloneJobID); err == nil && job.FinishedAt == nil {
			v := cloneView(job)
			oob.WriteString(`<section id="clone" hx-swap-oob="innerHTML">`)
			if err := t.ExecuteTemplate(&oob, "run-panel", runPanel{Live: &v, Run: a}); err != nil {
				return err
			}
			oob.WriteString(`</section>`)
		}
	}
	if d.RunsError == nil && oob.Len() == 0 && d.Sig() == c.QueryParam("sig") {
		return c.NoContent(http.StatusNoContent) // nothing changed: the page keeps its list (and its focus)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "runs-list", d); err != nil {
		return err
	}
	buf.Write(oob.Bytes())
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// Sig is a signature of what the runs list shows (each run's id, state, commit, path and
// statuses posted): the page sends it back with each refresh, and an unchanged list is
// answered 204, so the table is not rebuilt (nor a focused link lost) every few seconds.
func (d profileData) Sig() string {
	h := fnv.New64a()
	for _, r := range d.Runs {
		fmt.Fprintf(h, "%s|%s|%s|%s|%s|", r.ID, r.State, r.Commit, r.Source, r.Error)
		if r.Report != nil {
			fmt.Fprintf(h, "%d|%s|", len(r.Report.Statuses), r.Report.Error)
		}
	}
	fmt.Fprintf(h, "%s|%d", d.RunsNext, len(d.Runs))
	return strconv.FormatUint(h.Sum64(), 36)
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
		d.Canonical = profileURL(p.ID, "")
		return u.render(c, pr.Status, "profile", "", p.Name, "profiles", d)
	}
	d, err := u.loadProfilePage(c, p, cred)
	if err != nil {
		return u.fail(c, err)
	}
	d.Notice, d.Canonical = notice, profileURL(p.ID, "")
	return u.render(c, http.StatusOK, "profile", "", p.Name, "profiles", d)
}

// profileURL is the profile page's address, on a run when runID is set: the canonical URL
// a page answered to a POST puts in data-canonical (app.js replaces the POST's URL with it,
// so a reload does not post again).
func profileURL(id, runID string) string {
	to := "/ui/build-profiles/" + url.PathEscape(id)
	if runID != "" {
		to += "?run=" + url.QueryEscape(runID)
	}
	return to
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

// rotateHook: POST /ui/build-profiles/{id}/hook/rotate {hook} gives the hook a new URL and
// password (services.RotateHook) and shows the page with them: the password is shown this
// once. hook is the id of the hook the page showed (the form sends it): a form posted again
// (a reload of the answer, a second click) names a hook that was rotated already and is sent
// to the profile page without rotating again.
func (u *ui) rotateHook(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	cur, err := u.svc.GetBuildProfile(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	if cur.Hook == nil || c.FormValue("hook") != cur.Hook.ID {
		return c.Redirect(http.StatusSeeOther, profileURL(cur.ID, "")+"#hook")
	}
	p, cred, err := u.svc.RotateHook(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	d, err := u.loadProfilePage(c, p, cred)
	if err != nil {
		return u.fail(c, err)
	}
	d.Notice = "The hook has a new URL and password: update the Azure DevOps service hook with them."
	d.Canonical = profileURL(p.ID, "")
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
	// Live is the run's clone job while it is queued or running (followed live), nil after.
	Live *cloneViewData
	// Refresh: a facts fragment whose run has not finished yet although its clone ended (the
	// run record follows its job a moment later): it is fetched again after a second, Tries
	// counting the fetches (at most maxFactsTries).
	Refresh bool
	Tries   int
}

// maxFactsTries bounds the run facts' refetches after the clone ended (one a second).
const maxFactsTries = 15

// profileRun returns the build profile {id} and its run {runId} of the request's path. A run
// of another profile, or another tenant's, is store.ErrNotFound.
func (u *ui) profileRun(c echo.Context) (*store.BuildProfile, *store.Run, error) {
	ctx := c.Request().Context()
	p, err := u.svc.GetBuildProfile(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return nil, nil, err
	}
	r, err := u.svc.GetRun(ctx, tenantOf(c), c.Param("runId"))
	if err == nil && r.BuildProfileID != p.ID {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	return p, r, nil
}

// runFacts: GET /ui/build-profiles/{id}/runs/{runId}/facts[?tries=n] answers htmx with the
// run page's facts (the run-facts fragment: commit, finished, path taken, statuses posted),
// which the page fetches when its live clone ends; a page load is sent to the run page.
func (u *ui) runFacts(c echo.Context) error {
	p, r, err := u.profileRun(c)
	if err != nil {
		return u.fail(c, err)
	}
	if !isHX(c) {
		return c.Redirect(http.StatusSeeOther, "/ui/build-profiles/"+url.PathEscape(p.ID)+"/runs/"+url.PathEscape(r.ID))
	}
	tries, _ := strconv.Atoi(c.QueryParam("tries"))
	d := runData{Profile: p, Run: newRunRow(p, r), Tries: tries + 1}
	d.Refresh = r.FinishedAt == nil && d.Tries < maxFactsTries
	return u.fragment(c, http.StatusOK, "run-facts", d)
}

// runPage: GET /ui/build-profiles/{id}/runs/{runId} shows one run (the commit statuses posted
// to Azure DevOps link here). A run of another profile, or another tenant's, is not found.
func (u *ui) runPage(c echo.Context) error {
	ctx := c.Request().Context()
	p, r, err := u.profileRun(c)
	if err != nil {
		return u.fail(c, err)
	}
	d := runData{Profile: p, Run: newRunRow(p, r)}
	if d.Run.Active() && r.CloneJobID != "" {
		if job, err := u.svc.CloneJob(ctx, tenantOf(c), r.CloneJobID); err == nil && job.FinishedAt == nil {
			v := cloneView(job)
			d.Live = &v
		}
	}
	return u.render(c, http.StatusOK, "run", "", "Run of "+p.Name, "profiles", d)
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
