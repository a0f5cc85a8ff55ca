package azdosim

import (
	"fmt"
	"sync"
	"testing"
)

// TestAddDataWhileServing exercises the locking: projects, repositories, tokens and the
// disabled flag change while requests are answered (run with -race).
func TestAddDataWhileServing(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	info := findRepo(t, s, "ios-app")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 5 {
			if _, err := s.AddProject("", fmt.Sprintf("P%d", i)); err != nil {
				t.Error(err)
			}
			if _, err := s.CreateRepository("", fmt.Sprintf("P%d", i), "r"); err != nil {
				t.Error(err)
			}
			s.AddPAT(PAT{Token: fmt.Sprintf("tok%d", i)})
			if err := s.SetDisabled("", info.ID, i%2 == 0); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 5 {
			for _, p := range []string{"/DefaultCollection/_apis/projects", "/DefaultCollection/_apis/git/repositories"} {
				if a := get(t, s.URL()+p, testPAT, false); a.status != 200 {
					t.Errorf("%s: %d", p, a.status)
				}
			}
			_ = s.Repositories("")
		}
	}()
	wg.Wait()
	if got := len(s.Repositories("")); got != 11 {
		t.Errorf("%d repositories, want 11", got)
	}
	if err := s.SetDisabled("", "no-such-id", true); err == nil {
		t.Error("SetDisabled accepted an unknown id")
	}
	if _, err := s.AddProject("NoSuchCollection", "X"); err == nil {
		t.Error("AddProject accepted an unknown collection")
	}
	if _, err := s.ImportRepository("", "X", "y", t.TempDir()); err == nil {
		t.Error("ImportRepository accepted a directory that is not a repository")
	}
	if _, err := s.CreateRepository("", "Platform", "platform"); err == nil {
		t.Error("CreateRepository accepted a duplicate name (case-insensitive)")
	}
}

// TestSeedIsDeterministic checks that the demo data gets the same ids and commits every time.
func TestSeedIsDeterministic(t *testing.T) {
	a := startServer(t, Options{Seed: true})
	b := startServer(t, Options{Seed: true})
	ra, rb := a.Repositories(""), b.Repositories("")
	if len(ra) != 6 || len(ra) != len(rb) {
		t.Fatalf("%d and %d repositories", len(ra), len(rb))
	}
	for i := range ra {
		if ra[i].ID != rb[i].ID || ra[i].ProjectID != rb[i].ProjectID {
			t.Errorf("%s: ids differ", ra[i].Name)
		}
		if ra[i].Empty {
			continue
		}
		ha := mustGit(t, ra[i].BarePath, "rev-parse", "HEAD")
		hb := mustGit(t, rb[i].BarePath, "rev-parse", "HEAD")
		if ha != hb {
			t.Errorf("%s: HEAD %s vs %s", ra[i].Name, ha, hb)
		}
	}
}
