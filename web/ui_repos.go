package web

import (
	"bytes"
	"cmp"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

// The repository list of screen 2 (Choose) and the branch search of screen 3 (Configure and
// run). Both answer one page of a list that may be long (an organization with 10,000
// repositories, a repository with 5,000 branches): the service's cached catalog is filtered
// and sorted in memory and only the page asked for is rendered.

// Page sizes of the lists.
const (
	// repoPageSize is the rows of one page of the repository list ("Show more" adds as many).
	repoPageSize = 50
	// repoMaxLimit bounds the rows a page load without script asks for (?limit=, the
	// "Show more" link when htmx does not run).
	repoMaxLimit = 1000
	// branchPageSize is the options the branch search answers: the rest is narrowed by typing.
	branchPageSize = 20
)

// repoListData is one page of the repository list.
type repoListData struct {
	ConnectionID string
	Query        string
	Total        int // repositories matching Query (all of them without one)
	Offset       int // index of the page's first row
	Shown        int // rows shown once this page is in: Offset + rows of the page
	Rows         template.HTML
	// MoreURL is the list endpoint's URL of the next page (htmx), MoreHref the page that
	// shows it without script; both "" on the last page. NextCount is that page's size.
	MoreURL, MoreHref string
	NextCount         int
	// Single is screen 3's URL of the only match when exactly one repository matches and
	// it can be built (Enter in the filter opens it).
	Single string
	// Error is why the list could not be read (the list says so in place, with Retry).
	Error *Problem
	// RetryURL reloads the list (or the page) that failed.
	RetryURL string
}

// repoQuery is what a list request asks: the filter and the page.
type repoQuery struct {
	q             string
	offset, limit int
}

func repoQueryOf(c echo.Context) repoQuery {
	rq := repoQuery{q: strings.TrimSpace(c.QueryParam("q")), limit: repoPageSize}
	if n, err := strconv.Atoi(c.QueryParam("offset")); err == nil && n > 0 {
		rq.offset = n
	}
	if n, err := strconv.Atoi(c.QueryParam("limit")); err == nil && n > 0 {
		rq.limit = min(n, repoMaxLimit)
	}
	return rq
}

// repositoryList: GET /ui/connections/{id}/repositories[?q=&offset=&limit=] answers one
// page of the repository list (the fragment "repo-list" for the first page, "repo-page" for
// the next ones: rows to put in place of the "Show more" row): the repositories of every
// project whose name contains q (case-insensitive; the filter of GET
// /api/v1/connections/{id}/repositories?q=), sorted by project then name. A failure is
// answered in place of what was asked (status as the API's problem), with a Retry button.
func (u *ui) repositoryList(c echo.Context) error {
	rq := repoQueryOf(c)
	d, err := u.repoPage(c, c.Param("id"), rq)
	name := "repo-list"
	if rq.offset > 0 {
		name = "repo-page"
	}
	if err != nil {
		p := problemFor(err)
		if p.Status == statusClientClosedRequest {
			return err
		}
		if p.Status == http.StatusNotFound {
			return u.fail(c, err) // nothing to retry; another tenant's connection reads as unknown
		}
		if p.Status >= 500 {
			c.Logger().Error(err)
		}
		setRetryAfter(c, p)
		d.Error, d.RetryURL = &p, c.Request().URL.RequestURI()
		return u.fragment(c, p.Status, name, d)
	}
	return u.fragment(c, http.StatusOK, name, d)
}

// repoPage reads the connection's repositories (the service's cached catalog), filters,
// sorts and renders the page rq asks for. The data carries the connection and the query
// even when err is set.
func (u *ui) repoPage(c echo.Context, connID string, rq repoQuery) (repoListData, error) {
	d := repoListData{ConnectionID: connID, Query: rq.q, Offset: rq.offset}
	ctx, cancel := reqContext(c)
	defer cancel()
	_, all, lower, err := u.catalogRepos(ctx, tenantOf(c), connID)
	if err != nil {
		return d, err
	}
	rs := filterRepos(all, lower, rq.q)
	d.Total = len(rs)
	lo := min(rq.offset, len(rs))
	hi := min(lo+rq.limit, len(rs))
	page := rs[lo:hi]
	d.Shown = hi
	var buf bytes.Buffer
	buf.Grow(len(page) * 400)
	writeRepoRows(&buf, connID, page)
	d.Rows = template.HTML(buf.String())
	if hi < len(rs) {
		d.NextCount = min(repoPageSize, len(rs)-hi)
		v := url.Values{}
		if rq.q != "" {
			v.Set("q", rq.q)
		}
		v.Set("offset", strconv.Itoa(hi))
		d.MoreURL = "/ui/connections/" + url.PathEscape(connID) + "/repositories?" + v.Encode()
		v.Del("offset")
		v.Set("connection", connID)
		v.Set("limit", strconv.Itoa(min(hi+repoPageSize, repoMaxLimit)))
		d.MoreHref = "/ui/new/choose?" + v.Encode()
	}
	if len(rs) == 1 && pickerItem(rs[0]).Blocked == "" {
		d.Single = configureURL(connID, rs[0].ID)
	}
	return d, nil
}

// sortRepos sorts by project then name, case-insensitive (ASCII letters; the forge's own
// order, byte-wise, breaks ties). The catalog comes sorted by the forge's order, so this is
// mostly a check.
func sortRepos(rs []connections.Repository) {
	cmpRepo := func(a, b connections.Repository) int {
		return cmp.Or(foldCompare(a.Project.Name, b.Project.Name), foldCompare(a.Name, b.Name),
			strings.Compare(a.Project.Name, b.Project.Name), strings.Compare(a.Name, b.Name))
	}
	if !slices.IsSortedFunc(rs, cmpRepo) {
		slices.SortStableFunc(rs, cmpRepo)
	}
}

// foldCompare compares a and b with ASCII letters folded to lower case, without allocating.
func foldCompare(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lowerASCII(a[i]), lowerASCII(b[i])
		if ca != cb {
			return cmp.Compare(ca, cb)
		}
	}
	return cmp.Compare(len(a), len(b))
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// configureURL is screen 3 for a repository of a connection.
func configureURL(connID, repoID string) string {
	return "/ui/new/configure?connection=" + url.QueryEscape(connID) + "&repository=" + url.QueryEscape(repoID)
}

// repoItem is one repository of the picker, with why it cannot be chosen (Blocked).
type repoItem struct {
	Repo    connections.Repository
	Badge   string // "disabled", "empty" or ""
	Blocked string // the sentence that says why it cannot be built
}

// pickerItem says whether a repository can be built: Azure DevOps refuses every git and REST
// request to a disabled repository, and an empty one has no branch to build.
func pickerItem(r connections.Repository) repoItem {
	switch {
	case r.IsDisabled:
		return repoItem{Repo: r, Badge: "disabled", Blocked: "A project administrator disabled this repository, so it cannot be cloned; ask them to enable it."}
	case r.IsEmpty:
		return repoItem{Repo: r, Badge: "empty", Blocked: "This repository has no commits yet; push a first commit to build it."}
	}
	return repoItem{Repo: r}
}

// writeRepoRows writes the rows of the repository list, one <li class="repo"> each:
//
//	<li class="repo" data-repo="{name}"><a class="repo-name"
//	  href="{screen 3}">{name}</a> <span class="repo-meta">{project} · default branch
//	  <code>{branch}</code> · {size}</span></li>
//
// and for a repository that cannot be built (class "repo blocked") the name without a link, a
// badge (badge-disabled or badge-empty) and the sentence that says why (.repo-why).
//
// The rows are written here rather than by html/template because a long list is rendered
// on every keystroke of the filter: the template allocated about 51 times per row, this
// writes into one buffer (BenchmarkUIRepositoryList). Every value is escaped for text and
// for double-quoted attributes (htmlText: & < > " ' as character references); the link's
// ids are query-escaped first.
func writeRepoRows(buf *bytes.Buffer, connID string, rs []connections.Repository) {
	connQ := url.QueryEscape(connID)
	for i := range rs {
		r := &rs[i]
		it := pickerItem(*r)
		if it.Blocked != "" {
			buf.WriteString(`<li class="repo blocked" data-repo="`)
		} else {
			buf.WriteString(`<li class="repo" data-repo="`)
		}
		htmlText(buf, r.Name)
		buf.WriteString(`">`)
		if it.Blocked != "" {
			buf.WriteString(`<span class="repo-name">`)
			htmlText(buf, r.Name)
			buf.WriteString(`</span> <span class="badge badge-`)
			buf.WriteString(it.Badge)
			buf.WriteString(`">`)
			buf.WriteString(it.Badge)
			buf.WriteString(`</span> <span class="repo-meta small muted">`)
			htmlText(buf, r.Project.Name)
			buf.WriteString(`</span><div class="repo-why small muted">`)
			buf.WriteString(it.Blocked) // a constant sentence of pickerItem
			buf.WriteString(`</div></li>`)
			continue
		}
		buf.WriteString(`<a class="repo-name" href="/ui/new/configure?connection=`)
		buf.WriteString(connQ)
		buf.WriteString(`&amp;repository=`)
		htmlText(buf, url.QueryEscape(r.ID))
		buf.WriteString(`">`)
		htmlText(buf, r.Name)
		buf.WriteString(`</a> <span class="repo-meta small muted">`)
		htmlText(buf, r.Project.Name)
		if b := strings.TrimPrefix(r.DefaultBranch, "refs/heads/"); b != "" {
			buf.WriteString(` · default branch <code>`)
			htmlText(buf, b)
			buf.WriteString(`</code>`)
		}
		if r.Size > 0 {
			buf.WriteString(` · `)
			appendHumanBytes(buf, r.Size)
		}
		buf.WriteString(`</span></li>`)
	}
}

// htmlText writes s escaped for HTML text and double- or single-quoted attribute values.
func htmlText(buf *bytes.Buffer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case 0:
			esc = "\uFFFD"
		default:
			continue
		}
		buf.WriteString(s[last:i])
		buf.WriteString(esc)
		last = i + 1
	}
	buf.WriteString(s[last:])
}

// appendHumanBytes writes humanBytes(n) without allocating.
func appendHumanBytes(buf *bytes.Buffer, n int64) {
	const unit = 1024
	b := buf.AvailableBuffer()
	if n < unit {
		b = strconv.AppendInt(b, n, 10)
		buf.Write(append(b, " B"...))
		return
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	b = strconv.AppendInt(b, n/div, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, (n%div)*10/div, 10)
	b = append(b, ' ', "KMG"[exp], 'i', 'B')
	buf.Write(b)
}

// branchListData is one answer of the branch search.
type branchListData struct {
	ConnectionID, RepositoryID string
	Query                      string
	Default                    string // the repository's default branch (short name)
	Selected                   string // the branch in the field
	Branches                   []connections.Branch
	Total                      int // branches matching Query
	Error                      *Problem
	RetryURL                   string
}

// branchList: GET /ui/connections/{id}/repositories/{repositoryId}/branches[?q=|branch=&selected=&default=]
// answers the options of screen 3's branch field (fragment "branch-results"): the branches
// whose name contains q (case-insensitive), the default branch first, then by name, at most
// branchPageSize of them with the count of all matches (a repository may have thousands:
// typing narrows them). A failure is answered in place, with Retry.
func (u *ui) branchList(c echo.Context) error {
	// The combobox sends its value as "branch": what is typed is the search.
	q := cmp.Or(c.QueryParam("q"), c.QueryParam("branch"))
	d := branchListData{ConnectionID: c.Param("id"), RepositoryID: c.Param("repositoryId"),
		Query: strings.TrimSpace(q), Selected: cmp.Or(c.QueryParam("selected"), c.QueryParam("branch")),
		Default: strings.TrimPrefix(c.QueryParam("default"), "refs/heads/")}
	ctx, cancel := reqContext(c)
	defer cancel()
	bs, err := u.catalogBranches(ctx, tenantOf(c), d.ConnectionID, d.RepositoryID)
	if err != nil {
		p := problemFor(err)
		if p.Status == statusClientClosedRequest {
			return err
		}
		if p.Status == http.StatusNotFound {
			return u.fail(c, err)
		}
		if p.Status >= 500 {
			c.Logger().Error(err)
		}
		setRetryAfter(c, p)
		d.Error, d.RetryURL = &p, c.Request().URL.RequestURI()
		return u.fragment(c, p.Status, "branch-results", d)
	}
	d.Branches, d.Total = matchBranches(bs, d.Query, d.Default, branchPageSize)
	return u.fragment(c, http.StatusOK, "branch-results", d)
}

// matchBranches returns the first limit branches whose name contains q (case-insensitive),
// def first when it matches, the rest in the service's order (by name), and how many match.
func matchBranches(bs []connections.Branch, q, def string, limit int) ([]connections.Branch, int) {
	q = strings.ToLower(q)
	out := make([]connections.Branch, 0, min(limit, len(bs)))
	total := 0
	defAt := -1
	for _, b := range bs {
		if q != "" && !strings.Contains(strings.ToLower(b.Name), q) {
			continue
		}
		total++
		if b.Name == def {
			defAt = len(out)
			if len(out) >= limit {
				out[limit-1] = b // the default branch always shows
				defAt = limit - 1
				continue
			}
		}
		if len(out) < limit {
			out = append(out, b)
		}
	}
	if defAt > 0 {
		d := out[defAt]
		copy(out[1:defAt+1], out[:defAt])
		out[0] = d
	}
	return out, total
}

// catalogRepos returns the connection (the tenant's: store.ErrNotFound otherwise) and its
// repositories sorted by project then name (sortRepos), with their names in lower case (for
// filterRepos). The slices are this request's own: the service keeps its decoded catalog
// in memory (services' decode memo) and answers a copy, so the list is neither decoded nor
// fetched again while its catalog cache entry is unchanged.
func (u *ui) catalogRepos(ctx context.Context, tenant, connID string) (*services.Connection, []connections.Repository, []string, error) {
	conn, err := u.svc.GetConnection(ctx, tenant, connID)
	if err != nil {
		return nil, nil, nil, err
	}
	rs, err := u.svc.ListRepositories(ctx, tenant, conn.ID, "", "")
	if err != nil {
		return conn, nil, nil, err
	}
	sortRepos(rs)
	lower := make([]string, len(rs))
	for i := range rs {
		lower[i] = strings.ToLower(rs[i].Name)
	}
	return conn, rs, lower, nil
}

// catalogBranches returns a repository's branches by name (the service's order).
func (u *ui) catalogBranches(ctx context.Context, tenant, connID, repoID string) ([]connections.Branch, error) {
	return u.svc.ListBranches(ctx, tenant, connID, repoID)
}

// filterRepos keeps the repositories whose name contains q, case-insensitive (the filter of
// services.ListRepositories), in a new slice; rs itself when q is empty.
func filterRepos(rs []connections.Repository, lower []string, q string) []connections.Repository {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return rs
	}
	var out []connections.Repository
	for i, n := range lower {
		if strings.Contains(n, q) {
			out = append(out, rs[i])
		}
	}
	return out
}
