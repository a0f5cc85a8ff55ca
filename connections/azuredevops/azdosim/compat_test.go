package azdosim_test

// The compatibility suite: the simulator driven by Microsoft's own Go client,
// github.com/microsoft/azure-devops-go-api/azuredevops/v7 (a test-only dependency). The SDK
// discovers every URL from the server (OPTIONS {base}/_apis, GET _apis/ResourceAreas) and
// decodes answers into its generated models, so a call that succeeds here is one the real
// client can make against the simulator; the assertions then check that the fields the
// project relies on arrived.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/core"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/git"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/location"
	"github.com/microsoft/azure-devops-go-api/azuredevops/v7/webapi"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

const compatPAT = "compat-suite-pat-0123456789"

// compatTarget is one deployment the suite runs against.
type compatTarget struct {
	name           string
	start          func(t *testing.T) (*azdosim.Server, string) // the simulator and the SDK's base URL
	deploymentType string
}

func compatTargets() []compatTarget {
	pat := azdosim.PAT{Token: compatPAT}
	return []compatTarget{
		{"services", func(t *testing.T) (*azdosim.Server, string) {
			sim := azdosimtest.StartServices(t, azdosim.Options{Seed: true}, pat)
			return sim, sim.URL() + "/fabrikam"
		}, "hosted"},
		{"server 2022.1 behind /tfs", func(t *testing.T) (*azdosim.Server, string) {
			sim := azdosimtest.Start(t, azdosim.Options{Seed: true, VirtualDir: "tfs", ServerVersion: "2022.1"}, pat)
			return sim, sim.URL() + "/DefaultCollection" // URL includes the virtual directory
		}, "onPremises"},
		// Ceiling 6.0: the SDK asks for 7.1 and negotiates down from the locations' maxVersion.
		{"server 2020", func(t *testing.T) (*azdosim.Server, string) {
			sim := azdosimtest.Start(t, azdosim.Options{Seed: true, ServerVersion: "2020"}, pat)
			return sim, sim.URL() + "/DefaultCollection"
		}, "onPremises"},
	}
}

func TestCompatMicrosoftGoClient(t *testing.T) {
	for _, target := range compatTargets() {
		t.Run(target.name, func(t *testing.T) {
			sim, base := target.start(t)
			ctx := context.Background()
			conn := azuredevops.NewPatConnection(base, compatPAT)
			coreClient, err := core.NewClient(ctx, conn)
			if err != nil {
				t.Fatalf("core.NewClient: %v", err)
			}
			gitClient, err := git.NewClient(ctx, conn)
			if err != nil {
				t.Fatalf("git.NewClient: %v", err)
			}
			t.Run("connection data", func(t *testing.T) { compatConnectionData(t, conn, target.deploymentType) })
			t.Run("projects", func(t *testing.T) { compatProjects(t, sim, coreClient) })
			t.Run("repositories", func(t *testing.T) { compatRepositories(t, sim, gitClient) })
			t.Run("refs", func(t *testing.T) { compatRefs(t, sim, gitClient) })
			t.Run("items", func(t *testing.T) { compatItems(t, sim, gitClient) })
			t.Run("commits", func(t *testing.T) { compatCommits(t, sim, gitClient) })
			t.Run("pull requests", func(t *testing.T) { compatPullRequests(t, sim, gitClient) })
			t.Run("pull request writes", func(t *testing.T) { compatPullRequestWrites(t, sim, gitClient) })
			t.Run("service endpoints", func(t *testing.T) { compatServiceEndpoints(t, sim, conn) })
			t.Run("disabled repository", func(t *testing.T) { compatDisabled(t, sim, gitClient) })
		})
	}
}

func compatConnectionData(t *testing.T, conn *azuredevops.Connection, deploymentType string) {
	opts := webapi.ConnectOptionsValues.IncludeServices
	cd, err := location.NewClient(context.Background(), conn).GetConnectionData(context.Background(), location.GetConnectionDataArgs{ConnectOptions: &opts})
	if err != nil {
		t.Fatalf("GetConnectionData: %v", err)
	}
	u := cd.AuthenticatedUser
	if u == nil || nilUUID(u.Id) || str(u.ProviderDisplayName) == "" || str(u.Descriptor) == "" {
		t.Fatalf("authenticatedUser %+v", u)
	}
	if nilUUID(cd.InstanceId) || nilUUID(cd.DeploymentId) || cd.DeploymentType == nil || string(*cd.DeploymentType) != deploymentType {
		t.Fatalf("instance %v deployment %v type %v", cd.InstanceId, cd.DeploymentId, cd.DeploymentType)
	}
	lsd := cd.LocationServiceData
	if lsd == nil || str(lsd.DefaultAccessMappingMoniker) == "" || lsd.AccessMappings == nil || len(*lsd.AccessMappings) == 0 {
		t.Fatalf("locationServiceData %+v", lsd)
	}
	am := (*lsd.AccessMappings)[0]
	if !strings.HasPrefix(str(am.AccessPoint), "http://127.0.0.1:") || str(am.Moniker) != str(lsd.DefaultAccessMappingMoniker) {
		t.Fatalf("access mapping %+v", am)
	}
}

// compatProjects seeds 105 projects beside the two of the demo data and pages them the SDK's
// way: the default page (100) and $top 40 following the integer continuation token, and
// $skip.
func compatProjects(t *testing.T, sim *azdosim.Server, c core.Client) {
	want := []string{"Fabrikam Mobile", "Platform"}
	for i := range 105 {
		name := fmt.Sprintf("Compat %03d", i)
		if _, err := sim.AddProject("", name); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	sort.Slice(want, func(i, j int) bool { return strings.ToLower(want[i]) < strings.ToLower(want[j]) })
	ctx := context.Background()
	for _, top := range []*int{nil, ptr(40)} {
		var seen []string
		var token *int
		pages := 0
		for {
			resp, err := c.GetProjects(ctx, core.GetProjectsArgs{Top: top, ContinuationToken: token})
			if err != nil {
				t.Fatalf("GetProjects page %d: %v", pages, err)
			}
			pages++
			for _, p := range resp.Value {
				checkProject(t, p)
				seen = append(seen, *p.Name)
			}
			if resp.ContinuationToken == "" {
				break
			}
			n, err := strconv.Atoi(resp.ContinuationToken)
			if err != nil || n != len(seen) || pages > 10 {
				t.Fatalf("continuation token %q after %d projects (page %d)", resp.ContinuationToken, len(seen), pages)
			}
			token = &n
		}
		wantPages := 2
		if top != nil {
			wantPages = 3
		}
		if pages != wantPages || strings.Join(seen, "|") != strings.Join(want, "|") {
			t.Fatalf("top %v: %d pages, projects %v, want %d pages %v", top, pages, seen, wantPages, want)
		}
	}
	resp, err := c.GetProjects(ctx, core.GetProjectsArgs{Top: ptr(5), Skip: ptr(100)})
	if err != nil {
		t.Fatalf("GetProjects $skip: %v", err)
	}
	var got []string
	for _, p := range resp.Value {
		got = append(got, *p.Name)
	}
	if strings.Join(got, "|") != strings.Join(want[100:105], "|") || resp.ContinuationToken != "105" {
		t.Fatalf("$skip 100 $top 5: %v token %q, want %v token 105", got, resp.ContinuationToken, want[100:105])
	}
	one, err := c.GetProject(ctx, core.GetProjectArgs{ProjectId: ptr("Platform")})
	if err != nil || str(one.Name) != "Platform" || nilUUID(one.Id) || one.Links == nil {
		t.Fatalf("GetProject: %+v %v", one, err)
	}
}

func checkProject(t *testing.T, p core.TeamProjectReference) {
	t.Helper()
	if nilUUID(p.Id) || str(p.Name) == "" || !strings.HasSuffix(str(p.Url), "/_apis/projects/"+p.Id.String()) ||
		p.State == nil || *p.State != core.ProjectStateValues.WellFormed || p.Visibility == nil ||
		p.Revision == nil || p.LastUpdateTime == nil || p.LastUpdateTime.Time.IsZero() {
		t.Fatalf("project %+v", p)
	}
}

func compatRepositories(t *testing.T, sim *azdosim.Server, c git.Client) {
	ctx := context.Background()
	all, err := c.GetRepositories(ctx, git.GetRepositoriesArgs{})
	if err != nil {
		t.Fatalf("GetRepositories: %v", err)
	}
	infos := sim.Repositories("")
	if len(*all) != len(infos) {
		t.Fatalf("%d repositories, want %d", len(*all), len(infos))
	}
	byID := map[string]azdosim.RepoInfo{}
	for _, ri := range infos {
		byID[ri.ID] = ri
	}
	for _, r := range *all {
		if nilUUID(r.Id) {
			t.Fatalf("repository without id: %+v", r)
		}
		ri, ok := byID[r.Id.String()]
		if !ok {
			t.Fatalf("unknown repository %s", r.Id)
		}
		checkRepository(t, r, ri)
	}
	proj, err := c.GetRepositories(ctx, git.GetRepositoriesArgs{Project: ptr("Fabrikam Mobile")})
	if err != nil {
		t.Fatalf("GetRepositories(project): %v", err)
	}
	names := []string{}
	for _, r := range *proj {
		checkRepository(t, r, byID[r.Id.String()])
		names = append(names, *r.Name)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "android app,empty-repo,ios-app,legacy-tools" {
		t.Fatalf("project repositories %v", names)
	}
	one, err := c.GetRepository(ctx, git.GetRepositoryArgs{Project: ptr("Fabrikam Mobile"), RepositoryId: ptr("android app")})
	if err != nil {
		t.Fatalf("GetRepository: %v", err)
	}
	checkRepository(t, *one, byID[one.Id.String()])
	if one.Links == nil {
		t.Errorf("GetRepository: no _links")
	}
}

func checkRepository(t *testing.T, r git.GitRepository, ri azdosim.RepoInfo) {
	t.Helper()
	if str(r.Name) != ri.Name || !strings.Contains(str(r.Url), "/_apis/git/repositories/"+ri.ID) ||
		!strings.HasSuffix(str(r.RemoteUrl), "/_git/"+strings.ReplaceAll(ri.Name, " ", "%20")) ||
		str(r.WebUrl) == "" || str(r.SshUrl) == "" || r.Size == nil ||
		r.Project == nil || nilUUID(r.Project.Id) || r.Project.Id.String() != ri.ProjectID || str(r.Project.Name) != ri.ProjectName ||
		r.IsDisabled == nil || *r.IsDisabled != ri.Disabled {
		t.Fatalf("repository %s: %+v", ri.Name, r)
	}
	if ri.Empty != (r.DefaultBranch == nil) || (!ri.Empty && *r.DefaultBranch != ri.DefaultBranch) {
		t.Fatalf("repository %s: defaultBranch %v, want %q (empty %v)", ri.Name, r.DefaultBranch, ri.DefaultBranch, ri.Empty)
	}
}

// compatRefs adds 25 branches to ios-app and pages the heads with $top 10 through the
// continuation token, and filters on a prefix.
func compatRefs(t *testing.T, sim *azdosim.Server, c git.Client) {
	ri := azdosimtest.Repository(t, sim, "ios-app")
	bare := ri.BarePath
	mainSHA := azdosimtest.Git(t, "", "--git-dir", bare, "rev-parse", "refs/heads/main")
	for i := range 25 {
		azdosimtest.Git(t, "", "--git-dir", bare, "update-ref", fmt.Sprintf("refs/heads/compat/b%02d", i), mainSHA)
	}
	want := map[string]string{}
	for _, line := range strings.Split(azdosimtest.Git(t, "", "--git-dir", bare, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/"), "\n") {
		name, sha, _ := strings.Cut(line, " ")
		want[name] = sha
	}
	ctx := context.Background()
	seen := map[string]bool{}
	var token *string
	pages := 0
	for {
		resp, err := c.GetRefs(ctx, git.GetRefsArgs{RepositoryId: ptr(ri.ID), Project: ptr(ri.ProjectName), Filter: ptr("heads/"), Top: ptr(10), ContinuationToken: token})
		if err != nil {
			t.Fatalf("GetRefs page %d: %v", pages, err)
		}
		pages++
		for _, r := range resp.Value {
			name := str(r.Name)
			if seen[name] || want[name] == "" || str(r.ObjectId) != want[name] || str(r.Url) == "" {
				t.Fatalf("ref %+v (seen before %v, want %q)", r, seen[name], want[name])
			}
			seen[name] = true
		}
		if resp.ContinuationToken == "" || pages > 10 {
			break
		}
		token = ptr(resp.ContinuationToken)
	}
	if len(seen) != len(want) || pages != (len(want)+9)/10 {
		t.Fatalf("%d refs in %d pages, want %d refs", len(seen), pages, len(want))
	}
	resp, err := c.GetRefs(ctx, git.GetRefsArgs{RepositoryId: ptr(ri.ID), Filter: ptr("heads/release/")})
	if err != nil || len(resp.Value) != 1 || str(resp.Value[0].Name) != "refs/heads/release/1.0" || resp.ContinuationToken != "" {
		t.Fatalf("GetRefs heads/release/: %+v %v", resp, err)
	}
}

func compatItems(t *testing.T, sim *azdosim.Server, c git.Client) {
	ri := azdosimtest.Repository(t, sim, "ios-app")
	ctx := context.Background()
	branch := git.GitVersionTypeValues.Branch
	item, err := c.GetItem(ctx, git.GetItemArgs{RepositoryId: ptr(ri.ID), Project: ptr(ri.ProjectName), Path: ptr("/README.md"),
		IncludeContent: ptr(true), IncludeContentMetadata: ptr(true),
		VersionDescriptor: &git.GitVersionDescriptor{Version: ptr("main"), VersionType: &branch}})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	wantContent := azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "cat-file", "blob", "main:README.md")
	if strings.TrimSpace(str(item.Content)) != wantContent || str(item.ObjectId) != azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", "main:README.md") ||
		str(item.CommitId) != azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", "main") || str(item.Path) != "/README.md" ||
		item.GitObjectType == nil || *item.GitObjectType != git.GitObjectTypeValues.Blob || str(item.Url) == "" ||
		item.ContentMetadata == nil || str(item.ContentMetadata.FileName) != "README.md" {
		t.Fatalf("GetItem README.md: %+v", item)
	}
	// The bytes, from the default branch (develop has the settings screen, main does not).
	path := "/Sources/FabrikamApp/SettingsView.swift"
	body, err := c.GetItemContent(ctx, git.GetItemContentArgs{RepositoryId: ptr(ri.ID), Path: ptr(path),
		VersionDescriptor: &git.GitVersionDescriptor{Version: ptr("develop"), VersionType: &branch}})
	if err != nil {
		t.Fatalf("GetItemContent: %v", err)
	}
	defer body.Close()
	got, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if want := gitBytes(t, ri.BarePath, "develop:"+strings.TrimPrefix(path, "/")); string(got) != want {
		t.Fatalf("GetItemContent %q, want %q", got, want)
	}
	_, err = c.GetItemContent(ctx, git.GetItemContentArgs{RepositoryId: ptr(ri.ID), Path: ptr(path)})
	wantAPIError(t, err, http.StatusNotFound, "GitItemNotFoundException", "TF401174")
	folder, err := c.GetItem(ctx, git.GetItemArgs{RepositoryId: ptr(ri.ID), Path: ptr("/Sources")})
	if err != nil || folder.IsFolder == nil || !*folder.IsFolder || *folder.GitObjectType != git.GitObjectTypeValues.Tree {
		t.Fatalf("GetItem folder: %+v %v", folder, err)
	}
}

// gitBytes returns a blob's exact bytes (azdosimtest.Git trims them).
func gitBytes(t *testing.T, bare, spec string) string {
	t.Helper()
	size, err := strconv.Atoi(azdosimtest.Git(t, "", "--git-dir", bare, "cat-file", "-s", spec))
	if err != nil {
		t.Fatal(err)
	}
	out := azdosimtest.Git(t, "", "--git-dir", bare, "cat-file", "blob", spec)
	for len(out) < size {
		out += "\n"
	}
	return out
}

func compatCommits(t *testing.T, sim *azdosim.Server, c git.Client) {
	ri := azdosimtest.Repository(t, sim, "ios-app")
	ctx := context.Background()
	branch := git.GitVersionTypeValues.Branch
	want := strings.Fields(azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-list", "refs/heads/develop"))
	commits, err := c.GetCommits(ctx, git.GetCommitsArgs{RepositoryId: ptr(ri.ID), Project: ptr(ri.ProjectName),
		SearchCriteria: &git.GitQueryCommitsCriteria{ItemVersion: &git.GitVersionDescriptor{Version: ptr("develop"), VersionType: &branch}, Top: ptr(100)}})
	if err != nil {
		t.Fatalf("GetCommits: %v", err)
	}
	var got []string
	for _, cm := range *commits {
		got = append(got, str(cm.CommitId))
		if cm.Author == nil || str(cm.Author.Name) == "" || cm.Author.Date == nil || cm.Author.Date.Time.IsZero() ||
			cm.Committer == nil || str(cm.Comment) == "" || !strings.HasSuffix(str(cm.Url), "/commits/"+str(cm.CommitId)) ||
			!strings.Contains(str(cm.RemoteUrl), "/_git/ios-app/commit/") || cm.ChangeCounts == nil {
			t.Fatalf("commit %+v", cm)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("GetCommits develop %v, want git rev-list %v", got, want)
	}
	// One commit: its parents and tree as git has them.
	one, err := c.GetCommit(ctx, git.GetCommitArgs{RepositoryId: ptr(ri.ID), CommitId: ptr(want[0])})
	if err != nil {
		t.Fatalf("GetCommit: %v", err)
	}
	parents := strings.Fields(azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", want[0]+"^@"))
	if str(one.CommitId) != want[0] || one.Parents == nil || strings.Join(*one.Parents, " ") != strings.Join(parents, " ") ||
		str(one.TreeId) != azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", want[0]+"^{tree}") || one.Author == nil {
		t.Fatalf("GetCommit %+v, want parents %v", one, parents)
	}
	_, err = c.GetCommit(ctx, git.GetCommitArgs{RepositoryId: ptr(ri.ID), CommitId: ptr(strings.Repeat("0", 40))})
	wantAPIError(t, err, http.StatusNotFound, "GitUnresolvableToCommitException", "TF401175")
	// The default branch, paged by searchCriteria.$skip / $top.
	wantMain := strings.Fields(azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-list", "refs/heads/main"))
	page, err := c.GetCommits(ctx, git.GetCommitsArgs{RepositoryId: ptr(ri.ID), SearchCriteria: &git.GitQueryCommitsCriteria{Skip: ptr(1), Top: ptr(1)}})
	if err != nil || len(*page) != 1 || str((*page)[0].CommitId) != wantMain[1] {
		t.Fatalf("GetCommits skip 1 top 1: %+v %v (want %s)", page, err, wantMain[1])
	}
}

func compatPullRequests(t *testing.T, sim *azdosim.Server, c git.Client) {
	ri := azdosimtest.Repository(t, sim, "ios-app")
	other := azdosimtest.Repository(t, sim, "android app")
	first, err := sim.CreatePullRequest("", ri.ID, "develop", "main", "Add the settings screen")
	if err != nil {
		t.Fatal(err)
	}
	second, err := sim.CreatePullRequest("", ri.ID, "refs/heads/release/1.0", "refs/heads/main", "Release 1.0")
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := sim.CreatePullRequest("", other.ID, "feature/login", "main", "Login screen")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.CreatePullRequest("", ri.ID, "no-such-branch", "main", "x"); err == nil {
		t.Fatal("CreatePullRequest accepted a missing branch")
	}
	ctx := context.Background()
	list, err := c.GetPullRequests(ctx, git.GetPullRequestsArgs{RepositoryId: ptr(ri.ID), Project: ptr(ri.ProjectName), SearchCriteria: &git.GitPullRequestSearchCriteria{}})
	if err != nil {
		t.Fatalf("GetPullRequests: %v", err)
	}
	if len(*list) != 2 || intv((*list)[0].PullRequestId) != second || intv((*list)[1].PullRequestId) != first {
		t.Fatalf("GetPullRequests: %+v (want %d, %d)", list, second, first)
	}
	developSHA := azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", "refs/heads/develop")
	mainSHA := azdosimtest.Git(t, "", "--git-dir", ri.BarePath, "rev-parse", "refs/heads/main")
	checkPR := func(pr *git.GitPullRequest, id int, source, title, sourceSHA string) {
		t.Helper()
		if intv(pr.PullRequestId) != id || pr.Status == nil || *pr.Status != git.PullRequestStatusValues.Active ||
			str(pr.SourceRefName) != source || str(pr.TargetRefName) != "refs/heads/main" || str(pr.Title) != title ||
			pr.Repository == nil || nilUUID(pr.Repository.Id) || pr.Repository.Id.String() != ri.ID || str(pr.Repository.Name) != "ios-app" ||
			pr.Repository.Project == nil || str(pr.Repository.Project.Name) != ri.ProjectName ||
			pr.CreatedBy == nil || str(pr.CreatedBy.Id) == "" || str(pr.CreatedBy.DisplayName) == "" ||
			pr.CreationDate == nil || pr.CreationDate.Time.IsZero() || !strings.HasSuffix(str(pr.Url), "/pullRequests/"+strconv.Itoa(id)) ||
			pr.LastMergeSourceCommit == nil || str(pr.LastMergeSourceCommit.CommitId) != sourceSHA ||
			pr.LastMergeTargetCommit == nil || str(pr.LastMergeTargetCommit.CommitId) != mainSHA {
			t.Fatalf("pull request %d: %+v", id, pr)
		}
	}
	checkPR(&(*list)[1], first, "refs/heads/develop", "Add the settings screen", developSHA)
	one, err := c.GetPullRequest(ctx, git.GetPullRequestArgs{RepositoryId: ptr(ri.ID), PullRequestId: ptr(first)})
	if err != nil {
		t.Fatalf("GetPullRequest: %v", err)
	}
	checkPR(one, first, "refs/heads/develop", "Add the settings screen", developSHA)
	byID, err := c.GetPullRequestById(ctx, git.GetPullRequestByIdArgs{Project: ptr(ri.ProjectName), PullRequestId: ptr(first)})
	if err != nil {
		t.Fatalf("GetPullRequestById: %v", err)
	}
	checkPR(byID, first, "refs/heads/develop", "Add the settings screen", developSHA)
	filtered, err := c.GetPullRequests(ctx, git.GetPullRequestsArgs{RepositoryId: ptr(ri.ID),
		SearchCriteria: &git.GitPullRequestSearchCriteria{SourceRefName: ptr("refs/heads/release/1.0")}})
	if err != nil || len(*filtered) != 1 || intv((*filtered)[0].PullRequestId) != second {
		t.Fatalf("GetPullRequests by source: %+v %v", filtered, err)
	}
	byProject, err := c.GetPullRequestsByProject(ctx, git.GetPullRequestsByProjectArgs{Project: ptr(ri.ProjectName), SearchCriteria: &git.GitPullRequestSearchCriteria{}})
	if err != nil || len(*byProject) != 3 || intv((*byProject)[0].PullRequestId) != elsewhere {
		t.Fatalf("GetPullRequestsByProject: %+v %v", byProject, err)
	}
	_, err = c.GetPullRequest(ctx, git.GetPullRequestArgs{RepositoryId: ptr(other.ID), PullRequestId: ptr(first)})
	wantAPIError(t, err, http.StatusNotFound, "GitPullRequestNotFoundException", "TF401180")
}

// compatDisabled: the resources of a disabled repository answer 404 TF401019, as the real
// service does, while the repository stays listed with isDisabled.
func compatDisabled(t *testing.T, sim *azdosim.Server, c git.Client) {
	ri := azdosimtest.Repository(t, sim, "legacy-tools")
	_, err := c.GetRefs(context.Background(), git.GetRefsArgs{RepositoryId: ptr(ri.ID)})
	wantAPIError(t, err, http.StatusNotFound, "GitRepositoryNotFoundException",
		"TF401019: The Git repository with name or identifier "+ri.ID+" does not exist or you do not have permissions for the operation you are attempting.")
	_, err = c.GetItemContent(context.Background(), git.GetItemContentArgs{RepositoryId: ptr(ri.ID), Path: ptr("/README.md")})
	wantAPIError(t, err, http.StatusNotFound, "GitRepositoryNotFoundException", "TF401019")
}

// wantAPIError checks that err is the SDK's decoded error envelope with status, typeKey and a
// message containing msg.
func wantAPIError(t *testing.T, err error, status int, typeKey, msg string) {
	t.Helper()
	var we azuredevops.WrappedError
	if pwe := (*azuredevops.WrappedError)(nil); errors.As(err, &pwe) {
		we = *pwe
	} else if !errors.As(err, &we) {
		t.Fatalf("error %v (%T), want the Azure DevOps envelope", err, err)
	}
	if we.StatusCode == nil || *we.StatusCode != status || str(we.TypeKey) != typeKey || !strings.Contains(str(we.Message), msg) {
		t.Fatalf("error status %v typeKey %q message %q, want %d %s %q", we.StatusCode, str(we.TypeKey), str(we.Message), status, typeKey, msg)
	}
}

func ptr[T any](v T) *T { return &v }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func intv(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func nilUUID(p *uuid.UUID) bool { return p == nil || *p == uuid.Nil }
