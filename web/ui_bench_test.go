package web

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
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
// template work of GET /ui/connections/{id}/repositories, without the catalog).
func BenchmarkUIRepositoryList(b *testing.B) {
	pages := loadPages()
	d := repoListData{ConnectionID: "c", Total: 500}
	for p := 0; p < 10; p++ {
		g := repoGroup{Project: fmt.Sprintf("Project %d", p)}
		for r := 0; r < 50; r++ {
			g.Repos = append(g.Repos, pickerItem(connections.Repository{ID: fmt.Sprintf("%d-%d", p, r), Name: fmt.Sprintf("repo %d", r),
				DefaultBranch: "main", Size: 1 << 20, IsEmpty: r%25 == 0}))
		}
		d.Groups = append(d.Groups, g)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := pages[""].ExecuteTemplate(io.Discard, "repo-list", d); err != nil {
			b.Fatal(err)
		}
	}
}
