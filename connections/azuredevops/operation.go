package azuredevops

import (
	"net/http"
	"strings"
)

// Operation names the Azure DevOps operation a request calls, from its method and path, as a
// bounded set for metric labels and span names (never an id, a name or a host):
//
//	connectionData, projects, project, projectCollections, repositories, repository, refs,
//	commits, commitStatuses, pullRequests, pullRequest, pullRequestIterations,
//	pullRequestStatuses, threads, serviceEndpoints, hookSubscriptions, profile, accounts,
//	vstsInfo, oauthToken, git-info-refs, git-upload-pack, other
//
// The paths are the REST and smart-HTTP routes this client and the clone engine send
// (docs/azure-devops-protocol.md §3, §5: {collection}/[{project}/]_apis/{area}/{resource}[/{id}/...],
// {repository URL}/info/refs and /git-upload-pack, {remote URL}/vsts/info) and the OAuth
// token endpoints ({base}/oauth2/token, {base}/{tenant}/oauth2/v2.0/token).
func Operation(req *http.Request) string {
	if req == nil || req.URL == nil {
		return "other"
	}
	p := strings.TrimRight(req.URL.Path, "/")
	switch {
	case strings.HasSuffix(p, "/info/refs"):
		return "git-info-refs"
	case strings.HasSuffix(p, "/git-upload-pack"):
		return "git-upload-pack"
	case strings.HasSuffix(p, "/vsts/info"):
		return "vstsInfo"
	case strings.HasSuffix(p, "/oauth2/token"), strings.HasSuffix(p, "/oauth2/v2.0/token"):
		return "oauthToken"
	}
	_, rest, ok := strings.Cut(p, "/_apis/")
	if !ok {
		return "other"
	}
	seg := strings.Split(rest, "/")
	for i := range seg {
		seg[i] = strings.ToLower(seg[i])
	}
	at := func(i int) string {
		if i < len(seg) {
			return seg[i]
		}
		return ""
	}
	switch at(0) {
	case "connectiondata":
		return "connectionData"
	case "projects":
		if len(seg) == 1 {
			return "projects"
		}
		return "project"
	case "projectcollections":
		return "projectCollections"
	case "serviceendpoint":
		return "serviceEndpoints"
	case "hooks":
		return "hookSubscriptions"
	case "profile":
		return "profile"
	case "accounts":
		return "accounts"
	case "git":
		return gitOperation(seg)
	}
	return "other"
}

// gitOperation names a request below _apis/git (seg lower-cased, seg[0] "git").
func gitOperation(seg []string) string {
	if len(seg) < 2 || seg[1] != "repositories" {
		return "other"
	}
	if len(seg) == 2 {
		return "repositories"
	}
	if len(seg) == 3 {
		return "repository"
	}
	switch seg[3] {
	case "refs":
		return "refs"
	case "commits":
		if len(seg) >= 6 && seg[5] == "statuses" {
			return "commitStatuses"
		}
		return "commits"
	case "pullrequests":
		switch {
		case len(seg) <= 4:
			return "pullRequests"
		case len(seg) == 5:
			return "pullRequest"
		}
		for _, s := range seg[5:] {
			switch s {
			case "threads":
				return "threads"
			case "statuses":
				return "pullRequestStatuses"
			}
		}
		if seg[5] == "iterations" {
			return "pullRequestIterations"
		}
		return "other"
	}
	return "other"
}
