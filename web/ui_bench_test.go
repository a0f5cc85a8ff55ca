package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/catalogcache"
	"github.com/repoconnect/repoconnect/services/secrets"
	"github.com/repoconnect/repoconnect/services/store/bolt"
)

// BenchmarkUIConnectionsPage renders a full connections page of uiPageSize connections (the
// template work of GET /ui/connections, without the store).
func BenchmarkUIConnectionsPage(b *testing.B) {
	pages := loadPages()
	cs := make([]*services.Connection, uiPageSize)
	for i := range cs {
		cs[i] = &services.Connection{ID: fmt.Sprintf("%032x", i), Name: fmt.Sprintf("connection %d", i), Type: services.TypeServerPAT,
			ServerURL: "https://tfs.example.com/tfs", Collection: "DefaultCollection", Status: services.StatusAuthorized, CheckedAt: time.Now()}
	}
	data := pageData{Title: "Connections", Nav: "connections", Data: connectionsData{Connections: cs}}
	b.ReportAllocs()
	for b.Loop() {
		if err := pages["connections"].ExecuteTemplate(io.Discard, "layout", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUIRepositoryList renders the picker's list of 500 repositories in 10 projects (the
// rendering work of GET /ui/connections/{id}/repositories?limit=500, without the catalog):
// the rows (writeRepoRows) and the list's template. It reports allocs/row.
func BenchmarkUIRepositoryList(b *testing.B) {
	pages := loadPages()
	var rs []connections.Repository
	for p := range 10 {
		for r := range 50 {
			rs = append(rs, connections.Repository{ID: fmt.Sprintf("%d-%d", p, r), Name: fmt.Sprintf("repo %d", r),
				Project: connections.ProjectRef{Name: fmt.Sprintf("Project %d", p)}, DefaultBranch: "refs/heads/main", Size: 1 << 20, IsEmpty: r%25 == 0})
		}
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		writeRepoRows(&buf, "c", rs)
		d := repoListData{ConnectionID: "c", Total: len(rs), Shown: len(rs), Rows: template.HTML(buf.String())}
		if err := pages[""].ExecuteTemplate(io.Discard, "repo-list", d); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	allocs := testing.AllocsPerRun(20, func() {
		buf.Reset()
		writeRepoRows(&buf, "c", rs)
		d := repoListData{ConnectionID: "c", Total: len(rs), Shown: len(rs), Rows: template.HTML(buf.String())}
		_ = pages[""].ExecuteTemplate(io.Discard, "repo-list", d)
	})
	b.ReportMetric(allocs/float64(len(rs)), "allocs/row")
}

// bigOrg is a service with one Server connection to a simulated collection of 10,000
// repositories in 20 projects, one of which ("android app", the seeded one) has 5,000
// branches, and a signed-in browser session. The simulator serves everything but the two big
// lists, which a proxy in front of it answers (building 10,000 git repositories would take
// minutes): what the service reads, caches and decodes is what Azure DevOps would send.
type bigOrg struct {
	h       http.Handler
	newSvc  func() *services.Service // another instance on the same store and catalog cache
	cookie  *http.Cookie
	connID  string
	repoID  string // "android app", 5,000 branches
	repos   int
	branchN int
}

const benchPAT = "benchpat0123456789abcdefghijklmnop"

func newBigOrg(b *testing.B, repos, branches int) *bigOrg {
	b.Helper()
	sim := azdosimtest.Start(b, azdosim.Options{VirtualDir: "tfs", Seed: true}, azdosim.PAT{Token: benchPAT, UserName: "Bench"})
	android := azdosimtest.Repository(b, sim, "android app")
	target, _ := url.Parse(sim.URL()) // http://127.0.0.1:port/tfs
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+benchPAT))
	get := func(path string) map[string]any {
		req, _ := http.NewRequest("GET", strings.TrimSuffix(sim.URL(), "/")+path, nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d %v %.300s", path, resp.StatusCode, err, raw)
		}
		return m
	}
	// The repositories: the seeded ones and repos-6 made from a seeded one's answer.
	real := get("/DefaultCollection/_apis/git/repositories?api-version=7.0")["value"].([]any)
	var tmpl map[string]any
	for _, r := range real {
		if r.(map[string]any)["name"] == "build scripts" {
			tmpl = r.(map[string]any)
		}
	}
	value := append([]any{}, real...)
	for i := len(real); i < repos; i++ {
		r := map[string]any{}
		for k, v := range tmpl {
			r[k] = v
		}
		p := i % 20
		r["id"] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		r["name"] = fmt.Sprintf("service-%05d", i)
		r["project"] = map[string]any{"id": fmt.Sprintf("%08x-1111-4000-8000-000000000000", p), "name": fmt.Sprintf("Team %02d", p), "state": "wellFormed"}
		value = append(value, r)
	}
	reposJSON, _ := json.Marshal(map[string]any{"count": len(value), "value": value})
	// The branches of android app: its own and branches-2 more on its default branch's commit.
	realRefs := get("/DefaultCollection/_apis/git/repositories/" + android.ID + "/refs?filter=heads/&api-version=7.0")["value"].([]any)
	refs := append([]any{}, realRefs...)
	commit := realRefs[0].(map[string]any)["objectId"]
	for i := len(realRefs); i < branches; i++ {
		refs = append(refs, map[string]any{"name": fmt.Sprintf("refs/heads/topic/change-%04d", i), "objectId": commit})
	}
	refsJSON, _ := json.Marshal(map[string]any{"count": len(refs), "value": refs})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/tfs/DefaultCollection/_apis/git/repositories":
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(reposJSON)
		case r.Method == "GET" && strings.EqualFold(r.URL.Path, "/tfs/DefaultCollection/_apis/git/repositories/"+android.ID+"/refs"):
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = w.Write(refsJSON)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	b.Cleanup(front.Close)

	dir := b.TempDir()
	kr, _, err := secrets.LoadOrCreateFile(filepath.Join(dir, "sealing.key"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := bolt.Open(filepath.Join(dir, "db"), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	// The catalog cache is shared, as instances share it through Redis: a new instance has a
	// warm catalog and an empty decode memo.
	catalog := catalogcache.New(catalogcache.NewMemory(services.DefaultCatalogEntries), catalogcache.Options{})
	b.Cleanup(catalog.Close)
	newSvc := func() *services.Service {
		svc, err := services.New(services.Options{Door: egress.New(egress.Options{Policy: egress.Policy{Allow: egress.Loopback()}}),
			Store: st, Keyring: kr, WorkDir: filepath.Join(dir, "work"), Logger: slog.New(slog.DiscardHandler), Catalog: catalog})
		if err != nil {
			b.Fatal(err)
		}
		return svc
	}
	svc := newSvc()
	b.Cleanup(svc.Close)
	ctx := context.Background()
	conn, err := svc.CreateConnection(ctx, "acme", services.ConnectionInput{Name: "big", Type: services.TypeServerPAT,
		ServerURL: front.URL + "/tfs", Collection: "DefaultCollection", PAT: connections.Secret(benchPAT)})
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := svc.CreateAPIKey(ctx, "acme")
	if err != nil {
		b.Fatal(err)
	}
	token, _, _, err := svc.NewBrowserSession(ctx, key)
	if err != nil {
		b.Fatal(err)
	}
	o := &bigOrg{h: New(Options{Service: svc}), newSvc: newSvc, cookie: &http.Cookie{Name: sessionCookie, Value: token},
		connID: conn.ID, repoID: android.ID, repos: len(value), branchN: len(refs)}
	// Warm the catalog cache, as the first visit of screen 2 does; check the sizes.
	if body := o.get(b, "/ui/connections/"+o.connID+"/repositories", true); !strings.Contains(body, thousands(o.repos)+" repositories") {
		b.Fatalf("the list does not count %d repositories: %.300s", o.repos, body)
	}
	if body := o.get(b, "/ui/connections/"+o.connID+"/repositories/"+o.repoID+"/branches?default=main", true); !strings.Contains(body, "of "+thousands(o.branchN)+" branches") {
		b.Fatalf("the branch search does not count %d branches: %.300s", o.branchN, body)
	}
	return o
}

// get answers a GET as the signed-in browser (htmx when hx); a status other than 200 stops
// the benchmark.
func (o *bigOrg) get(b *testing.B, path string, hx bool) string {
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(o.cookie)
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	rec := httptest.NewRecorder()
	o.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d %.500s", path, rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// BenchmarkUIImportBigOrg is the server time of the import flow's lists for an organization
// of 10,000 repositories and a repository of 5,000 branches, with the catalog cached (as after
// the first visit): the whole request through the handler (session, store, catalog cache,
// the service's decode memo and copy, filter, sort, page, render). The last sub-benchmark is
// the same first page for an instance whose decode memo does not hold the list yet (the
// decode, once per instance and change of the cached bytes).
//
//	go test -run '^$' -bench BenchmarkUIImportBigOrg -benchmem ./web/
func BenchmarkUIImportBigOrg(b *testing.B) {
	o := newBigOrg(b, 10000, 5000)
	for _, bc := range []struct {
		name, path string
		hx         bool
	}{
		{"repositories/first-page", "/ui/connections/" + o.connID + "/repositories", true},
		{"repositories/filtered", "/ui/connections/" + o.connID + "/repositories?q=service-01", true},
		{"repositories/page-100", "/ui/connections/" + o.connID + "/repositories?offset=5000", true},
		{"choose-screen", "/ui/new/choose?connection=" + o.connID, false},
		{"branches/first-page", "/ui/connections/" + o.connID + "/repositories/" + o.repoID + "/branches?default=main", true},
		{"branches/search", "/ui/connections/" + o.connID + "/repositories/" + o.repoID + "/branches?default=main&branch=change-12", true},
		{"configure-screen", "/ui/new/configure?connection=" + o.connID + "&repository=" + o.repoID, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				o.get(b, bc.path, bc.hx)
			}
		})
	}
	// The first page read by an instance whose decode memo does not hold the list: another
	// instance fetched it (or refreshed it: new bytes) into the shared catalog cache. The
	// service decodes the cached catalog once, then serves it from the memo (the instance that
	// fetches a list from the forge keeps it as it encodes it: no decode there). A new
	// instance on the same store and catalog cache each time (made outside the timer).
	b.Run("repositories/first-page-cold-memo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			svc := o.newSvc()
			cold := &bigOrg{h: New(Options{Service: svc}), cookie: o.cookie}
			b.StartTimer()
			cold.get(b, "/ui/connections/"+o.connID+"/repositories", true)
			b.StopTimer()
			svc.Close()
			b.StartTimer()
		}
	})
}

// The rows written by hand escape every value as html/template would for text and quoted
// attributes, and link screen 3 with the ids query-escaped.
func TestWriteRepoRowsEscapes(t *testing.T) {
	var buf bytes.Buffer
	writeRepoRows(&buf, "c&1", []connections.Repository{
		{ID: "id/1?x", Name: `<script>"x"&'y'`, Project: connections.ProjectRef{Name: "P<1>"}, DefaultBranch: "refs/heads/a<b", Size: 1536},
		{ID: "2", Name: "off", Project: connections.ProjectRef{Name: "P"}, IsDisabled: true},
	})
	got := buf.String()
	for _, want := range []string{
		`<li class="repo" data-repo="&lt;script&gt;&#34;x&#34;&amp;&#39;y&#39;">`,
		`href="/ui/new/configure?connection=c%261&amp;repository=id%2F1%3Fx"`,
		`P&lt;1&gt; · default branch <code>a&lt;b</code> · 1.5 KiB`,
		`<li class="repo blocked" data-repo="off"><span class="repo-name">off</span> <span class="badge badge-disabled">disabled</span>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "<script>") {
		t.Errorf("unescaped: %s", got)
	}
	for _, n := range []int64{0, 1023, 1024, 1536, 5 << 20, 3 << 30, 5 << 40} {
		var b bytes.Buffer
		appendHumanBytes(&b, n)
		if b.String() != humanBytes(n) {
			t.Errorf("appendHumanBytes(%d) = %q, humanBytes %q", n, b.String(), humanBytes(n))
		}
	}
}

// The branch search puts the default branch first even when it is past the page, counts
// every match and keeps at most the limit.
func TestMatchBranches(t *testing.T) {
	var bs []connections.Branch
	for i := range 30 {
		bs = append(bs, connections.Branch{Name: fmt.Sprintf("b%02d", i)})
	}
	got, total := matchBranches(bs, "", "b25", 5)
	names := []string{}
	for _, b := range got {
		names = append(names, b.Name)
	}
	if total != 30 || strings.Join(names, ",") != "b25,b00,b01,b02,b03" {
		t.Errorf("default past the page: %v of %d", names, total)
	}
	got, total = matchBranches(bs, "B1", "b12", 20)
	if total != 10 || len(got) != 10 || got[0].Name != "b12" || got[1].Name != "b10" {
		t.Errorf("search: %v of %d", got, total)
	}
	if got, total := matchBranches(bs, "zz", "b00", 20); total != 0 || len(got) != 0 {
		t.Errorf("no match: %v of %d", got, total)
	}
}
