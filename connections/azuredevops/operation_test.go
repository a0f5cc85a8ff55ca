package azuredevops

import (
	"net/http"
	"testing"
)

// Operation names the routes this client and the clone engine send, never with an id, a
// name or a host, and folds anything else into "other".
func TestOperation(t *testing.T) {
	for _, c := range []struct{ method, url, want string }{
		{"GET", "https://dev.azure.com/fabrikam/_apis/connectionData?api-version=7.1-preview", "connectionData"},
		{"GET", "https://tfs.example/tfs/DefaultCollection/_apis/projects?$top=100", "projects"},
		{"GET", "https://tfs.example/tfs/DefaultCollection/_apis/projects/eb6e4656", "project"},
		{"GET", "https://tfs.example/tfs/_apis/projectCollections/e1", "projectCollections"},
		{"GET", "https://dev.azure.com/f/_apis/git/repositories", "repositories"},
		{"GET", "https://dev.azure.com/f/Mobile%20App/_apis/git/repositories/5f0b", "repository"},
		{"GET", "https://dev.azure.com/f/_apis/git/repositories/5f0b/refs?filter=heads/", "refs"},
		{"POST", "https://dev.azure.com/f/p/_apis/git/repositories/5f0b/commits/abc/statuses", "commitStatuses"},
		{"GET", "https://dev.azure.com/f/p/_apis/git/repositories/5f0b/commits/abc", "commits"},
		{"GET", "https://dev.azure.com/f/p/_apis/git/repositories/5f0b/pullRequests/12", "pullRequest"},
		{"GET", "https://dev.azure.com/f/p/_apis/git/repositories/5f0b/pullRequests", "pullRequests"},
		{"GET", "https://dev.azure.com/f/p/_apis/git/repositories/5f0b/pullRequests/12/iterations", "pullRequestIterations"},
		{"POST", "https://dev.azure.com/f/p/_apis/git/repositories/5f0b/pullRequests/12/statuses", "pullRequestStatuses"},
		{"PATCH", "https://dev.azure.com/f/p/_apis/git/repositories/5f0b/pullRequests/12/threads/3", "threads"},
		{"POST", "https://dev.azure.com/f/p/_apis/git/repositories/5f0b/pullRequests/12/threads/3/comments", "threads"},
		{"GET", "https://dev.azure.com/f/p/_apis/serviceendpoint/endpoints", "serviceEndpoints"},
		{"PUT", "https://dev.azure.com/f/_apis/hooks/subscriptions/9", "hookSubscriptions"},
		{"GET", "https://app.vssps.visualstudio.com/_apis/profile/profiles/me", "profile"},
		{"GET", "https://app.vssps.visualstudio.com/_apis/accounts?memberId=1", "accounts"},
		{"GET", "https://tfs.example/tfs/DefaultCollection/p/_git/r/vsts/info", "vstsInfo"},
		{"GET", "https://tfs.example/tfs/DefaultCollection/p/_git/r/info/refs?service=git-upload-pack", "git-info-refs"},
		{"POST", "https://tfs.example/tfs/DefaultCollection/p/_git/r/git-upload-pack", "git-upload-pack"},
		{"POST", "https://app.vssps.visualstudio.com/oauth2/token", "oauthToken"},
		{"POST", "https://login.microsoftonline.com/tenant/oauth2/v2.0/token", "oauthToken"},
		{"GET", "https://tfs.example/tfs/DefaultCollection/_apis/wit/workitems/1", "other"},
		{"GET", "https://tfs.example/", "other"},
	} {
		req, err := http.NewRequest(c.method, c.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := Operation(req); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.method, c.url, got, c.want)
		}
	}
	if Operation(nil) != "other" {
		t.Error("nil request")
	}
}
