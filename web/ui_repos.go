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
	"sync"
	"time"

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

// The catalog memo keeps the decoded, sorted lists the pages read (a connection's
// repositories, a repository's branches) in memory between requests. The service's catalog
// cache keeps each list as the forge's JSON (the same bytes in memory or in Redis) and decodes
// it on every call: for 10,000 repositories that is about 14 MB and 80,000 allocations, more
// than the 100 ms a page of the list may take, on every keystroke of the filter.
//
// The memo follows the catalog cache's own rules: an entry is served as it is for memoFresh,
// then served while one background read through the service refreshes it, and forgotten
// after memoKeep. An entry is only served while the connection looks the same (memoStamp: its
// kind, address, status, user and the time of its last check, read from the store on every
// request): a replaced PAT, a new sign-in, a check or a deletion make the next request read the
// service again. It holds at most memoMax lists and memoMaxItems entries, across tenants.
const (
	memoFresh = 60 * time.Second
	memoKeep  = 15 * time.Minute
	memoMax   = 64
	// memoMaxItems bounds the repositories and branches held, across lists: about 60 MB at
	// some 300 bytes each.
	memoMaxItems = 200_000
)

type memoKey struct {
	svc                     *services.Service
	tenant, conn, kind, arg string
}

type memoEntry struct {
	stamp      string
	at         time.Time
	refreshing bool
	repos      []connections.Repository // sorted by sortRepos; read-only once stored
	lower      []string                 // repos' names in lower case, for the filter
	branches   []connections.Branch     // by name (the service's order); read-only once stored
}

var catalogMemo = struct {
	sync.Mutex
	m map[memoKey]*memoEntry
}{m: map[memoKey]*memoEntry{}}

// memoStamp is what must not change for a connection's memoized lists to be served.
func memoStamp(conn *services.Connection) string {
	var b strings.Builder
	b.WriteString(conn.Type + "\x00" + conn.ServerURL + "\x00" + conn.Collection + "\x00" + conn.VirtualDirectory + "\x00" + conn.Status + "\x00")
	b.WriteString(strconv.FormatInt(conn.CheckedAt.UnixNano(), 10))
	if conn.User != nil {
		b.WriteString("\x00" + conn.User.ID)
	}
	return b.String()
}

// memoized returns the entry of key when it is still good for stamp (starting a background
// refresh with fill when it is no longer fresh), or reads it with fill and keeps it.
func memoized(ctx context.Context, key memoKey, stamp string, fill func(context.Context) (*memoEntry, error)) (*memoEntry, error) {
	now := time.Now()
	catalogMemo.Lock()
	e := catalogMemo.m[key]
	if e != nil && e.stamp == stamp && now.Sub(e.at) < memoKeep {
		if now.Sub(e.at) >= memoFresh && !e.refreshing {
			e.refreshing = true
			go func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				ne, err := fill(ctx)
				catalogMemo.Lock()
				defer catalogMemo.Unlock()
				e.refreshing = false
				if err == nil && catalogMemo.m[key] == e {
					ne.stamp, ne.at = stamp, time.Now()
					catalogMemo.m[key] = ne
				}
			}()
		}
		catalogMemo.Unlock()
		return e, nil
	}
	catalogMemo.Unlock()
	ne, err := fill(ctx)
	if err != nil {
		return nil, err
	}
	ne.stamp, ne.at = stamp, time.Now()
	catalogMemo.Lock()
	defer catalogMemo.Unlock()
	catalogMemo.m[key] = ne
	// Within bounds: the oldest lists go first (never the one just read).
	for {
		items := 0
		for _, v := range catalogMemo.m {
			items += v.size()
		}
		if len(catalogMemo.m) <= memoMax && items <= memoMaxItems || len(catalogMemo.m) == 1 {
			break
		}
		var oldest memoKey
		var at time.Time
		for k, v := range catalogMemo.m {
			if k != key && (at.IsZero() || v.at.Before(at)) {
				oldest, at = k, v.at
			}
		}
		delete(catalogMemo.m, oldest)
	}
	return ne, nil
}

// size is the entry's count of repositories and branches (memoMaxItems bounds their sum).
func (e *memoEntry) size() int { return len(e.repos) + len(e.branches) }

// catalogRepos returns the connection (the tenant's: store.ErrNotFound otherwise) and its
// repositories sorted by project then name, with their names in lower case; the slices are
// shared: read them only.
func (u *ui) catalogRepos(ctx context.Context, tenant, connID string) (*services.Connection, []connections.Repository, []string, error) {
	conn, err := u.svc.GetConnection(ctx, tenant, connID)
	if err != nil {
		return nil, nil, nil, err
	}
	e, err := memoized(ctx, memoKey{svc: u.svc, tenant: tenant, conn: conn.ID, kind: "repositories"}, memoStamp(conn),
		func(ctx context.Context) (*memoEntry, error) {
			rs, err := u.svc.ListRepositories(ctx, tenant, connID, "", "")
			if err != nil {
				return nil, err
			}
			sortRepos(rs)
			lower := make([]string, len(rs))
			for i := range rs {
				lower[i] = strings.ToLower(rs[i].Name)
			}
			return &memoEntry{repos: rs, lower: lower}, nil
		})
	if err != nil {
		return conn, nil, nil, err
	}
	return conn, e.repos, e.lower, nil
}

// catalogBranches returns a repository's branches by name; the slice is shared: read it only.
func (u *ui) catalogBranches(ctx context.Context, tenant, connID, repoID string) ([]connections.Branch, error) {
	conn, err := u.svc.GetConnection(ctx, tenant, connID)
	if err != nil {
		return nil, err
	}
	e, err := memoized(ctx, memoKey{svc: u.svc, tenant: tenant, conn: conn.ID, kind: "branches", arg: strings.ToLower(repoID)}, memoStamp(conn),
		func(ctx context.Context) (*memoEntry, error) {
			bs, err := u.svc.ListBranches(ctx, tenant, connID, repoID)
			if err != nil {
				return nil, err
			}
			return &memoEntry{branches: bs}, nil
		})
	if err != nil {
		return nil, err
	}
	return e.branches, nil
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
