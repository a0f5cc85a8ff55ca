package azdosim

import (
	"net/http"
	"strings"
	"testing"
)

type repoWire struct {
	ID, Name, URL, DefaultBranch, RemoteURL, SSHURL, WebURL string
	Size                                                    int64
	IsDisabled                                              bool
	IsInMaintenance                                         bool
	Project                                                 struct{ ID, Name, URL, State string }
}

func TestNotFoundAnswers(t *testing.T) {
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs"})
	b := s.URL()
	cases := []struct {
		name, path   string
		typeKey, msg string
	}{
		{"unknown collection", "/NoSuchCollection/_apis/projects?api-version=7.0", "CollectionDoesNotExistException", "NoSuchCollection"},
		{"unknown project", "/DefaultCollection/No%20Such/_apis/git/repositories?api-version=7.0", "ProjectDoesNotExistWithNameException",
			"TF200016: The following project does not exist: No Such. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server."},
		{"unknown repository", "/DefaultCollection/Platform/_apis/git/repositories/nope?api-version=7.0", "GitRepositoryNotFoundException",
			"TF401019: The Git repository with name or identifier nope does not exist or you do not have permissions for the operation you are attempting."},
		{"unknown repository, collection level", "/DefaultCollection/_apis/git/repositories/nope", "GitRepositoryNotFoundException", "TF401019"},
		{"repository in another project", "/DefaultCollection/Platform/_apis/git/repositories/ios-app", "GitRepositoryNotFoundException", "TF401019"},
		{"refs of a disabled repository", "/DefaultCollection/Fabrikam%20Mobile/_apis/git/repositories/legacy-tools/refs", "GitRepositoryNotFoundException", "TF401019"},
		{"unknown resource", "/DefaultCollection/_apis/nothing", "ResourceNotFoundException", ""},
		{"vsts/info of unknown repository", "/DefaultCollection/Platform/_git/nope/vsts/info", "GitRepositoryNotFoundException", "TF401019"},
		{"vsts/info of unknown project", "/DefaultCollection/Nope/_git/nope/vsts/info", "ProjectDoesNotExistWithNameException", "TF200016"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantEnvelope(t, get(t, b+c.path, testPAT, false), http.StatusNotFound, c.typeKey, c.msg)
		})
	}
	for _, p := range []string{"/", "/DefaultCollection", "/DefaultCollection/Platform", "/DefaultCollection/Platform/_git/Platform/objects/info/packs"} {
		if a := get(t, b+p, testPAT, false); a.status != http.StatusNotFound {
			t.Errorf("%s: status %d", p, a.status)
		}
	}
}

func TestNamesMatchCaseInsensitivelyAndByID(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	info := findRepo(t, s, "ios-app")
	for _, p := range []string{
		"/defaultcollection/FABRIKAM%20mobile/_apis/git/repositories/IOS-APP",
		"/DefaultCollection/" + info.ProjectID + "/_apis/git/repositories/" + info.ID,
		"/DefaultCollection/_apis/git/repositories/" + info.ID,
		"/DefaultCollection/_apis/git/repositories/ios-app",
	} {
		a := get(t, s.URL()+p+"?api-version=7.0", testPAT, false)
		mustStatus(t, a, 200)
		var r repoWire
		a.json(t, &r)
		if r.ID != info.ID || r.Name != "ios-app" || r.Project.Name != "Fabrikam Mobile" {
			t.Errorf("%s: %+v", p, r)
		}
	}
}

func findRepo(t *testing.T, s *Server, name string) RepoInfo {
	t.Helper()
	for _, r := range s.Repositories("") {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no repository %s", name)
	return RepoInfo{}
}

func TestRepositoryJSONAndPercentEncodedNames(t *testing.T) {
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs"})
	a := get(t, s.URL()+"/DefaultCollection/Fabrikam%20Mobile/_apis/git/repositories?api-version=7.0", testPAT, false)
	mustStatus(t, a, 200)
	var list struct {
		Count int        `json:"count"`
		Value []repoWire `json:"value"`
	}
	a.json(t, &list)
	if list.Count != 4 || len(list.Value) != 4 {
		t.Fatalf("count %d: %s", list.Count, a.body)
	}
	byName := map[string]repoWire{}
	for _, r := range list.Value {
		byName[r.Name] = r
	}
	host := strings.TrimPrefix(s.URL(), "http://")
	android := byName["android app"]
	wantRemote := s.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/android%20app"
	if android.RemoteURL != wantRemote || android.WebURL != wantRemote {
		t.Errorf("remoteUrl %q webUrl %q, want %q", android.RemoteURL, android.WebURL, wantRemote)
	}
	hostname := strings.Split(host, ":")[0]
	if want := "ssh://" + hostname + ":22/tfs/DefaultCollection/Fabrikam%20Mobile/_git/android%20app"; android.SSHURL != want {
		t.Errorf("sshUrl %q, want %q", android.SSHURL, want)
	}
	if want := s.URL() + "/DefaultCollection/" + android.Project.ID + "/_apis/git/repositories/" + android.ID; android.URL != want {
		t.Errorf("url %q, want %q", android.URL, want)
	}
	if strings.Contains(string(a.body), "+") {
		t.Errorf("a '+' in the answer: %s", a.body)
	}
	if android.DefaultBranch != "refs/heads/main" || android.Size <= 0 || android.IsDisabled || android.IsInMaintenance {
		t.Errorf("android: %+v", android)
	}
	if byName["legacy-tools"].IsDisabled != true {
		t.Errorf("legacy-tools not disabled")
	}
	empty := byName["empty-repo"]
	if empty.Size != 0 || empty.DefaultBranch != "" || strings.Contains(string(a.body), `"name":"empty-repo","url":"`+empty.URL+`","project"`) == false {
		t.Errorf("empty repo: %+v", empty)
	}
	// defaultBranch is absent (not merely empty) for the empty repository.
	one := get(t, s.URL()+"/DefaultCollection/Fabrikam%20Mobile/_apis/git/repositories/empty-repo", testPAT, false)
	if strings.Contains(string(one.body), "defaultBranch") {
		t.Errorf("empty repository has defaultBranch: %s", one.body)
	}
	// Collection-wide list covers both projects.
	all := get(t, s.URL()+"/DefaultCollection/_apis/git/repositories?api-version=7.0", testPAT, false)
	a.json(t, &list)
	all.json(t, &list)
	if list.Count != 6 {
		t.Errorf("collection-wide count %d", list.Count)
	}
}

func TestRefsFromDiskPagedAndFiltered(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	info := findRepo(t, s, "ios-app")
	base := s.URL() + "/DefaultCollection/Fabrikam%20Mobile/_apis/git/repositories/" + info.ID + "/refs?filter=heads/&api-version=7.0"
	// A branch created on disk shows up.
	if _, err := git(info.BarePath, nil, nil, "branch", "feature/zz", "refs/heads/main"); err != nil {
		t.Fatal(err)
	}
	type refWire struct {
		Name, ObjectID, URL string
		Creator             struct{ DisplayName, ID string }
	}
	var names []string
	token, pages := "", 0
	for pages < 10 {
		u := base + "&$top=1"
		if token != "" {
			u += "&continuationToken=" + token
		}
		a := get(t, u, testPAT, false)
		mustStatus(t, a, 200)
		var list struct {
			Count int       `json:"count"`
			Value []refWire `json:"value"`
		}
		a.json(t, &list)
		for _, r := range list.Value {
			sha, err := git(info.BarePath, nil, nil, "rev-parse", r.Name)
			if err != nil || strings.TrimSpace(sha) != r.ObjectID {
				t.Errorf("%s: objectId %s, git says %s", r.Name, r.ObjectID, sha)
			}
			if r.Creator.DisplayName == "" || !strings.Contains(r.URL, "/refs?filter=heads%2F") {
				t.Errorf("ref fields: %+v", r)
			}
			names = append(names, r.Name)
		}
		pages++
		if token = a.header.Get("X-MS-ContinuationToken"); token == "" {
			break
		}
	}
	want := "refs/heads/develop,refs/heads/feature/zz,refs/heads/main,refs/heads/release/1.0"
	if strings.Join(names, ",") != want || pages != 4 {
		t.Fatalf("refs %v in %d pages, want %s", names, pages, want)
	}
	// Unpaged and filtered further.
	a := get(t, strings.Replace(base, "filter=heads/", "filter=heads/release", 1), testPAT, false)
	if !strings.Contains(string(a.body), `"count":1`) || a.header.Get("X-MS-ContinuationToken") != "" {
		t.Errorf("filtered: %s", a.body)
	}
	// The empty repository has no refs.
	a = get(t, s.URL()+"/DefaultCollection/Fabrikam%20Mobile/_apis/git/repositories/empty-repo/refs", testPAT, false)
	if string(a.body) != `{"count":0,"value":[]}` {
		t.Errorf("empty refs: %s", a.body)
	}
}

func TestVstsInfo(t *testing.T) {
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs"})
	type info struct {
		ServerURL  string `json:"serverUrl"`
		Collection struct{ ID, Name, URL string }
		// The spec example's shape: the project's state is a number (vstsinfo_test.go).
		Repository struct {
			Name, RemoteURL string
			Project         struct{ Name string }
		}
	}
	cases := []struct{ path, repo, project string }{
		{"/DefaultCollection/Fabrikam%20Mobile/_git/android%20app/vsts/info", "android app", "Fabrikam Mobile"},
		{"/DefaultCollection/Platform/_git/Platform/vsts/info", "Platform", "Platform"},
		{"/DefaultCollection/_git/Platform/vsts/info", "Platform", "Platform"},
		{"/DefaultCollection/_git/platform/vsts/info", "Platform", "Platform"},
		{"/DefaultCollection/Platform/_git/_optimized/build%20scripts/vsts/info", "build scripts", "Platform"},
	}
	for _, c := range cases {
		a := get(t, s.URL()+c.path, testPAT, false)
		mustStatus(t, a, 200)
		var got info
		a.json(t, &got)
		want := s.URL() + "/DefaultCollection/" + strings.ReplaceAll(c.project, " ", "%20") + "/_git/" + strings.ReplaceAll(c.repo, " ", "%20")
		if got.ServerURL != s.URL() || got.Collection.Name != "DefaultCollection" || got.Collection.ID == "" ||
			got.Repository.Name != c.repo || got.Repository.Project.Name != c.project || got.Repository.RemoteURL != want {
			t.Errorf("%s: %+v", c.path, got)
		}
	}
	// Short form needs a project named like the repository.
	wantEnvelope(t, get(t, s.URL()+"/DefaultCollection/_git/ios-app/vsts/info", testPAT, false), 404, "GitRepositoryNotFoundException", "ios-app")
	// It needs a credential like the other REST calls.
	mustStatus(t, get(t, s.URL()+"/DefaultCollection/_git/Platform/vsts/info", "", false), 401)
}

func TestVirtualDirectories(t *testing.T) {
	for _, vdir := range []string{"", "tfs", "a/b"} {
		t.Run("vdir="+vdir, func(t *testing.T) {
			s := startServer(t, Options{Seed: true, VirtualDir: vdir, Collections: []string{"DefaultCollection", "Other"}})
			suffix := ""
			if vdir != "" {
				suffix = "/" + vdir
			}
			if !strings.HasSuffix(s.URL(), suffix) || strings.HasSuffix(s.URL(), "/") {
				t.Fatalf("URL %q for vdir %q", s.URL(), vdir)
			}
			a := get(t, s.URL()+"/DefaultCollection/Platform/_apis/git/repositories/Platform?api-version=7.0", testPAT, false)
			mustStatus(t, a, 200)
			var r repoWire
			a.json(t, &r)
			if r.RemoteURL != s.URL()+"/DefaultCollection/Platform/_git/Platform" {
				t.Errorf("remoteUrl %q", r.RemoteURL)
			}
			if !strings.Contains(r.SSHURL, ":22"+suffix+"/DefaultCollection/Platform/_git/Platform") {
				t.Errorf("sshUrl %q", r.SSHURL)
			}
			vi := get(t, r.RemoteURL+"/vsts/info", testPAT, false)
			if !strings.Contains(string(vi.body), `"serverUrl":"`+s.URL()+`"`) {
				t.Errorf("vsts/info: %s", vi.body)
			}
			// The second collection exists but is empty.
			a = get(t, s.URL()+"/Other/_apis/projects", testPAT, false)
			if string(a.body) != `{"count":0,"value":[]}` {
				t.Errorf("Other: %d %s", a.status, a.body)
			}
			if vdir != "" {
				root := strings.TrimSuffix(s.URL(), suffix)
				if a := get(t, root+"/DefaultCollection/_apis/projects", testPAT, false); a.status != 404 {
					t.Errorf("without the virtual dir: %d", a.status)
				}
			}
		})
	}
}
