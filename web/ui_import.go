package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// The import flow: "New build profile" from nothing to a first run in three screens
// (1 Connect, 2 Choose, 3 Configure and run). This file has the entry, screens 2 and 3 and
// the form of screen 3; ui_repos.go has their lists.

func init() {
	uiFuncs["importSteps"] = importSteps
	uiFuncs["thousands"] = thousands
}

// lastConnCookie remembers the connection whose repositories the browser last listed, so
// "New build profile" opens it again. It holds a connection id only (no secret), read back
// only through the tenant's own connections.
const lastConnCookie = "rc_import_conn"

// maxImportConnections bounds the connections read to pick the newest one and to fill the
// connection switcher.
const maxImportConnections = 500

// importStepsData is the step indicator of the import flow ("1 Connect · 2 Choose · 3
// Configure and run"): Current is 1, 2 or 3; ChooseURL, when set, makes step 2 a link back.
type importStepsData struct {
	Current   int
	ChooseURL string
}

// importSteps is the template helper of the step indicator: {{template "import-steps"
// (importSteps 1 "")}} on screen 1.
func importSteps(current int, chooseURL string) importStepsData {
	return importStepsData{Current: current, ChooseURL: chooseURL}
}

// quoted sets a name in typographic quotes: “main”.
func quoted(s string) string { return "“" + s + "”" }

// thousands writes n with a comma every three digits: 10000 → "10,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// newProfile: GET /ui/new starts the import flow. Without a connection it is screen 1
// (/ui/connections/new); with connections it skips to screen 2 for the one the browser last
// chose from when it is authorized, else the newest authorized one, else the remembered one,
// else the newest one (screen 2 then says how to fix it).
func (u *ui) newProfile(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := tenantOf(c)
	var remembered *services.Connection
	if ck, err := c.Cookie(lastConnCookie); err == nil && ck.Value != "" {
		if conn, err := u.svc.GetConnection(ctx, tenant, ck.Value); err == nil {
			if conn.Status == services.StatusAuthorized {
				return c.Redirect(http.StatusSeeOther, chooseURL(conn.ID))
			}
			remembered = conn
		}
	}
	conns, err := u.importConnections(ctx, tenant)
	if err != nil {
		return u.fail(c, err)
	}
	if len(conns) == 0 {
		return c.Redirect(http.StatusSeeOther, "/ui/connections/new")
	}
	// The newest authorized connection, else the remembered one, else the newest.
	var newest, newestAuthorized *services.Connection
	for _, cn := range conns {
		if newest == nil || !cn.CreatedAt.Before(newest.CreatedAt) {
			newest = cn
		}
		if cn.Status == services.StatusAuthorized && (newestAuthorized == nil || !cn.CreatedAt.Before(newestAuthorized.CreatedAt)) {
			newestAuthorized = cn
		}
	}
	switch {
	case newestAuthorized != nil:
		return c.Redirect(http.StatusSeeOther, chooseURL(newestAuthorized.ID))
	case remembered != nil:
		return c.Redirect(http.StatusSeeOther, chooseURL(remembered.ID))
	}
	return c.Redirect(http.StatusSeeOther, chooseURL(newest.ID))
}

// importConnections lists the tenant's connections (at most maxImportConnections), oldest
// first.
func (u *ui) importConnections(ctx context.Context, tenant string) ([]*services.Connection, error) {
	var all []*services.Connection
	after := ""
	for len(all) < maxImportConnections {
		cs, next, err := u.svc.ListConnections(ctx, tenant, 100, after)
		if err != nil {
			return nil, err
		}
		all = append(all, cs...)
		if next == "" || len(cs) == 0 {
			break
		}
		after = next
	}
	return all, nil
}

// chooseURL is screen 2 for a connection.
func chooseURL(connID string) string { return "/ui/new/choose?connection=" + url.QueryEscape(connID) }

// chooseScreenData is screen 2.
type chooseScreenData struct {
	Steps      importStepsData
	Conn       *services.Connection
	Conns      []*services.Connection // the connection switcher's choices (more than one)
	Authorized bool
	Query      string
	// List is the list rendered with the page (a filter form submitted without script, or
	// ?limit=); nil: the page loads it (ListURL) behind skeleton rows.
	List    *repoListData
	ListURL string
}

// chooseScreen: GET /ui/new/choose?connection={id}[&q=&open=1&limit=]: screen 2, choosing the
// repository. The list is loaded by the page (skeleton rows until it comes, the reason and a
// Retry button in place when it fails) and filtered as one types. A filter form submitted with
// open=1 whose filter matches exactly one repository that can be built opens screen 3 for it
// (the same as Enter in the filter, picker.js). A connection that is not authorized says so,
// with a link to its page, instead of listing.
func (u *ui) chooseScreen(c echo.Context) error {
	id := c.QueryParam("connection")
	if id == "" {
		return c.Redirect(http.StatusSeeOther, "/ui/new")
	}
	ctx := c.Request().Context()
	tenant := tenantOf(c)
	conn, err := u.svc.GetConnection(ctx, tenant, id)
	if err != nil {
		return u.fail(c, err)
	}
	c.SetCookie(&http.Cookie{Name: lastConnCookie, Value: conn.ID, Path: "/ui/", MaxAge: 90 * 24 * 3600,
		HttpOnly: true, Secure: c.Scheme() == "https", SameSite: http.SameSiteLaxMode})
	d := chooseScreenData{Steps: importSteps(2, ""), Conn: conn, Authorized: conn.Status == services.StatusAuthorized}
	if conns, err := u.importConnections(ctx, tenant); err == nil && len(conns) > 1 {
		d.Conns = conns
	}
	rq := repoQueryOf(c)
	d.Query = rq.q
	d.ListURL = "/ui/connections/" + url.PathEscape(conn.ID) + "/repositories"
	if rq.q != "" {
		d.ListURL += "?q=" + url.QueryEscape(rq.q)
	}
	if d.Authorized && (c.QueryParam("open") != "" || c.QueryParam("limit") != "") {
		rq.offset = 0
		list, err := u.repoPage(c, conn.ID, rq)
		if err == nil && c.QueryParam("open") != "" && list.Single != "" {
			return c.Redirect(http.StatusSeeOther, list.Single)
		}
		if err != nil {
			p := problemFor(err)
			if p.Status == statusClientClosedRequest {
				return err
			}
			list.Error, list.RetryURL = &p, d.ListURL
		}
		d.List = &list
	}
	return u.render(c, http.StatusOK, "import_choose", "", "Choose a repository", "new", d)
}

// choosePage: GET /ui/connections/{id}/repositories/{repositoryId} is the old address of a
// repository's page: it is screen 3 now.
func (u *ui) choosePage(c echo.Context) error {
	if _, err := u.svc.GetConnection(c.Request().Context(), tenantOf(c), c.Param("id")); err != nil {
		return u.fail(c, err) // another tenant's connection is not found, as an unknown one
	}
	return c.Redirect(http.StatusSeeOther, configureURL(c.Param("id"), c.Param("repositoryId")))
}

// formProblem is one problem of the configure form, shown in the error summary: Target is
// the id of the field it concerns ("" when none), ID the summary item's id (the field's
// aria-describedby).
type formProblem struct {
	Field, Target, ID, Message string
}

// configureData is screen 3.
type configureData struct {
	Steps   importStepsData
	Conn    *services.Connection
	Repo    connections.Repository
	Blocked string // why the repository cannot be built ("" when it can)
	// The form's values.
	Name, Branch, Workspace string
	Push, PullRequest       bool
	// BranchList is the first answer of the branch search (the default branch first).
	BranchList branchListData
	BranchURL  string // the branch search endpoint, with the default branch
	Problems   []formProblem
	// Unauthorized: the connection is not authorized (it lost its authorization before the
	// form was sent): the screen shows its message (conn-state-body) and no form. Gone: the
	// repository is no longer visible through the connection (the reason): no form either.
	Unauthorized bool
	Gone         string
}

// problemOf returns the form problem of a field ("" fields never match).
func (d *configureData) problemOf(field string) *formProblem {
	for i := range d.Problems {
		if d.Problems[i].Field == field {
			return &d.Problems[i]
		}
	}
	return nil
}

// ProblemID is the summary item's id of the field's problem, "" when it has none (the
// field's aria-describedby).
func (d *configureData) ProblemID(field string) string {
	if p := d.problemOf(field); p != nil {
		return p.ID
	}
	return ""
}

// configureTargets maps the service's field names to the form's field ids.
func configureTarget(field string) (key, target string) {
	switch {
	case field == "name":
		return "name", "profile-name"
	case field == "branch":
		return "branch", "branch"
	case field == "workspace":
		return "workspace", "workspace-fresh"
	case strings.HasPrefix(field, "triggers.push"):
		return "push", "trigger-push"
	case strings.HasPrefix(field, "triggers.pullRequest"), field == "triggers":
		return "pullRequest", "trigger-pr"
	}
	return "form", ""
}

// addProblem adds a problem once: one per field, and never the same sentence twice.
func (d *configureData) addProblem(field, message string) {
	key, target := configureTarget(field)
	message = sentence(message)
	for _, p := range d.Problems {
		if p.Message == message || (key != "form" && p.Field == key) {
			return
		}
	}
	d.Problems = append(d.Problems, formProblem{Field: key, Target: target, ID: key + "-problem-" + strconv.Itoa(len(d.Problems)), Message: message})
}

// configureScreen: GET /ui/new/configure?connection={id}&repository={repositoryId}: screen
// 3: the build profile's name (the repository's by default), branch (searchable; the
// default branch first and chosen), triggers and workspace, and "Create and run".
func (u *ui) configureScreen(c echo.Context) error {
	connID, repoID := c.QueryParam("connection"), c.QueryParam("repository")
	if connID == "" {
		return c.Redirect(http.StatusSeeOther, "/ui/new")
	}
	if repoID == "" {
		return c.Redirect(http.StatusSeeOther, chooseURL(connID))
	}
	d, err := u.configureData(c, connID, repoID)
	if err != nil {
		return u.fail(c, err)
	}
	if d.Conn.Status != services.StatusAuthorized {
		return c.Redirect(http.StatusSeeOther, chooseURL(connID)) // screen 2 says why
	}
	d.Name, d.Branch, d.Workspace, d.Push = d.Repo.Name, d.BranchList.Default, services.WorkspaceFresh, true
	d.BranchList.Selected = d.Branch
	return u.render(c, http.StatusOK, "import_configure", "", "Configure "+d.Repo.Name, "new", d)
}

// configureData reads the connection, the repository (the cached catalog) and the first
// answer of the branch search; a failure to list the branches is shown in place.
func (u *ui) configureData(c echo.Context, connID, repoID string) (*configureData, error) {
	ctx, cancel := reqContext(c)
	defer cancel()
	tenant := tenantOf(c)
	conn, err := u.svc.GetConnection(ctx, tenant, connID)
	if err != nil {
		return nil, err
	}
	d := &configureData{Steps: importSteps(3, chooseURL(conn.ID)), Conn: conn}
	if conn.Status != services.StatusAuthorized {
		return d, nil
	}
	_, rs, _, err := u.catalogRepos(ctx, tenant, connID)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(rs, func(r connections.Repository) bool { return strings.EqualFold(r.ID, repoID) })
	if i < 0 {
		return nil, connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound,
			"the connection %q cannot see that repository (any more); choose another from its list", conn.Name)
	}
	d.Repo = rs[i]
	d.Blocked = pickerItem(d.Repo).Blocked
	def := strings.TrimPrefix(d.Repo.DefaultBranch, "refs/heads/")
	d.BranchList = branchListData{ConnectionID: conn.ID, RepositoryID: d.Repo.ID, Default: def}
	d.BranchURL = "/ui/connections/" + url.PathEscape(conn.ID) + "/repositories/" + url.PathEscape(d.Repo.ID) + "/branches?default=" + url.QueryEscape(def)
	if d.Blocked != "" {
		return d, nil
	}
	bs, err := u.catalogBranches(ctx, tenant, conn.ID, d.Repo.ID)
	if err != nil {
		p := problemFor(err)
		if p.Status >= 500 && p.Status != http.StatusGatewayTimeout && p.Status != http.StatusBadGateway && p.Status != http.StatusServiceUnavailable {
			return nil, err
		}
		d.BranchList.Error, d.BranchList.RetryURL = &p, d.BranchURL
		return d, nil
	}
	d.BranchList.Branches, d.BranchList.Total = matchBranches(bs, "", def, branchPageSize)
	return d, nil
}

// createProfile: POST /ui/build-profiles {name, connectionId, repositoryId, branch,
// workspace?, push?, pullRequest?, run?} creates the build profile
// (services.CreateBuildProfileWithHook, as POST /api/v1/build-profiles) with the triggers
// checked (push: pushes to the branch; pullRequest: pull requests into it) and, with run=1
// ("Create and run"), starts its first run (services.StartClone, a manual run) and opens the
// profile's page on it (?run={runId}). Every problem of the form is shown at once in one
// summary (status 4xx), and nothing is stored.
func (u *ui) createProfile(c echo.Context) error {
	connID, repoID := c.FormValue("connectionId"), c.FormValue("repositoryId")
	in := services.BuildProfileInput{Name: strings.TrimSpace(c.FormValue("name")), ConnectionID: connID, RepositoryID: repoID,
		Branch: strings.TrimPrefix(strings.TrimSpace(c.FormValue("branch")), "refs/heads/"), Workspace: c.FormValue("workspace")}
	push, pr := c.FormValue("push") != "", c.FormValue("pullRequest") != ""
	if push || pr {
		t := &services.TriggersInput{}
		if push {
			t.Push = &services.BranchFilterInput{Branches: []string{}}
		}
		if pr {
			t.PullRequest = &services.BranchFilterInput{Branches: []string{in.Branch}}
		}
		in.Triggers = t
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	tenant := tenantOf(c)
	if connID == "" || repoID == "" {
		return u.fail(c, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
			"the form names no repository; choose one at /ui/new"))
	}
	d, err := u.configureData(c, connID, repoID)
	if err != nil {
		if errors.Is(err, connections.ErrNotFound) {
			if conn, gerr := u.svc.GetConnection(ctx, tenant, connID); gerr == nil {
				// The repository vanished from the connection: no form, the reason and the way on.
				pr := problemFor(err)
				d = &configureData{Steps: importSteps(3, chooseURL(conn.ID)), Conn: conn, Repo: connections.Repository{ID: repoID},
					Gone: sentence(pr.Detail)}
				return u.render(c, http.StatusConflict, "import_configure", "", "Configure and run", "new", d)
			}
		}
		return u.fail(c, err)
	}
	if d.Conn.Status != services.StatusAuthorized {
		// Not authorized (any more): no form, the connection's message with a link to its page.
		d.Repo.ID, d.Unauthorized = repoID, true
		return u.render(c, http.StatusConflict, "import_configure", "", "Configure and run", "new", d)
	}
	d.Name, d.Branch, d.Workspace, d.Push, d.PullRequest = in.Name, in.Branch, in.Workspace, push, pr
	d.BranchList.Selected = in.Branch
	status := u.checkProfileForm(ctx, tenant, d)
	if len(d.Problems) == 0 {
		p, cred, err := u.svc.CreateBuildProfileWithHook(ctx, tenant, in)
		if err == nil {
			return u.created(c, p, cred, c.FormValue("run") != "")
		}
		prob := problemFor(err)
		if prob.Status >= 500 || prob.Status == statusClientClosedRequest {
			return u.fail(c, err)
		}
		d.addProblem(prob.Field, prob.Detail)
		status = prob.Status
	}
	return u.render(c, status, "import_configure", "", "Configure "+d.Repo.Name, "new", d)
}

// checkProfileForm finds every problem of the form it can before the service is asked (the
// service stops at the first): the name (required, at most 100 characters, not taken), the
// branch (required, one of the repository's), the workspace, the repository (buildable). It
// returns the status to answer with when there are problems.
func (u *ui) checkProfileForm(ctx context.Context, tenant string, d *configureData) int {
	status := http.StatusBadRequest
	if d.Conn.Status != services.StatusAuthorized {
		d.addProblem("form", "the connection "+quoted(d.Conn.Name)+" is not authorized; open its page to fix it, then try again")
		return http.StatusConflict
	}
	if d.Blocked != "" {
		d.addProblem("form", d.Blocked)
		return http.StatusBadRequest
	}
	switch {
	case d.Name == "":
		d.addProblem("name", "give the build profile a name, for example the repository's name "+quoted(d.Repo.Name))
	case utf8.RuneCountInString(d.Name) > 100:
		d.addProblem("name", "the build profile name is longer than 100 characters; shorten it")
	case strings.IndexFunc(d.Name, unicode.IsControl) >= 0:
		d.addProblem("name", "the build profile name must not contain control characters")
	default:
		if taken, err := u.profileNameTaken(ctx, tenant, d.Name); err == nil && taken {
			d.addProblem("name", "a build profile named "+quoted(d.Name)+" exists already; choose another name")
			status = http.StatusConflict
		}
	}
	switch {
	case d.Branch == "":
		d.addProblem("branch", "choose the branch to build; the repository's default branch is "+quoted(d.BranchList.Default))
	case d.BranchList.Error == nil:
		bs, err := u.catalogBranches(ctx, tenant, d.Conn.ID, d.Repo.ID)
		if err == nil && !slices.ContainsFunc(bs, func(b connections.Branch) bool { return b.Name == d.Branch }) {
			d.addProblem("branch", "the repository "+quoted(d.Repo.Name)+" has no branch "+quoted(d.Branch)+"; choose one from the list")
		}
	}
	if d.Workspace != "" && d.Workspace != services.WorkspaceFresh && d.Workspace != services.WorkspaceReuse {
		d.addProblem("workspace", "choose Fresh or Reuse for the workspace")
	}
	if len(d.Problems) > 1 {
		status = http.StatusBadRequest
	}
	return status
}

// profileNameTaken tells whether the tenant has a build profile of that name (the first
// 1,000 profiles are read; the service refuses a duplicate anyway).
func (u *ui) profileNameTaken(ctx context.Context, tenant, name string) (bool, error) {
	after := ""
	for range 20 {
		ps, next, err := u.svc.ListBuildProfiles(ctx, tenant, 50, after)
		if err != nil {
			return false, err
		}
		for _, p := range ps {
			if p.Name == name {
				return true, nil
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	return false, nil
}

// created answers a build profile just made: with run, its first run is started (a manual
// run, as "Clone now") and the browser goes to the profile's page on that run
// (?run={runId}). The page is shown at once instead, with a notice, when the triggers made a
// hook that must be set up by hand (its password is shown only then) or when the first run
// could not start (the reason, and Clone now to try again).
func (u *ui) created(c echo.Context, p *store.BuildProfile, cred *services.HookCredential, run bool) error {
	ctx := c.Request().Context()
	tenant := tenantOf(c)
	runID := ""
	notice, class, show := "Build profile created.", "ok", false
	if run {
		job, err := u.svc.StartClone(ctx, tenant, p.ID, services.CloneInput{})
		if err != nil {
			pr := problemFor(err)
			notice, class, show = "Build profile created, but its first run did not start: "+sentence(pr.Detail)+" Use Clone now to try again.", "warn", true
		} else {
			notice = "Build profile created; its first run started."
			if runs, _, err := u.svc.ListRuns(ctx, tenant, p.ID, 5, ""); err == nil {
				for _, r := range runs {
					if r.CloneJobID == job.ID {
						runID = r.ID
						break
					}
				}
			}
		}
	}
	to := profileURL(p.ID, runID)
	if cred == nil && !show {
		return c.Redirect(http.StatusSeeOther, to)
	}
	d, err := u.loadProfilePage(c, p, cred)
	if err != nil {
		return c.Redirect(http.StatusSeeOther, to)
	}
	if d.Hook != nil && d.Hook.State == services.HookManual && d.Hook.Password != "" {
		notice += " Set up the service hook below: its password is shown only now."
		show = true
	}
	if !show {
		return c.Redirect(http.StatusSeeOther, to)
	}
	d.Notice, d.NoticeClass, d.Canonical = notice, class, to
	return u.render(c, http.StatusCreated, "profile", "", p.Name, "profiles", d)
}

func init() {
	// chooseConnData is the data of conn-state-body for a connection (Choose and Configure).
	uiFuncs["chooseConnData"] = func(c *services.Connection) connectionData { return connectionData{Conn: c} }
}
