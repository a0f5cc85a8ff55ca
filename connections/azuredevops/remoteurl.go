package azuredevops

import (
	"net/url"
	"strings"
)

// Kind tells Azure DevOps Services (cloud) from Azure DevOps Server (on-prem).
type Kind string

// The deployment kinds (azure-devops.md §1).
const (
	KindServices Kind = "services"
	KindServer   Kind = "server"
)

// RemoteURL is a parsed git remote URL of Azure DevOps.
//
// Names (Collection, Project, Repository) are percent-decoded. For Services, Collection is the
// organization. Guessed is true when the path allowed more than one split into virtual
// directory, collection and project (azure-devops.md §2, "Ambiguity"); the server's
// {remoteUrl}/vsts/info answer settles it.
type RemoteURL struct {
	Endpoint
	Project    string
	Repository string
	Guessed    bool
}

// CloneURL returns the canonical HTTPS (or HTTP, for a Server on http) clone URL with names
// percent-encoded (%20 for a space, never +) and no user info.
func (r *RemoteURL) CloneURL() string {
	return r.CollectionURL() + "/" + url.PathEscape(r.Project) + "/_git/" + url.PathEscape(r.Repository)
}

// ParseRemoteURL parses an HTTP(S) Azure DevOps remote URL of the forms in azure-devops.md §2:
//
//	https://[user@]dev.azure.com/{org}/{project}/_git/{repo}
//	https://dev.azure.com/{org}/_git/{repo}                      (project named like the repo)
//	https://{org}.visualstudio.com[/DefaultCollection]/{project}/_git/{repo}
//	http(s)://host[:port]/[virtual/dir/]{collection}/{project}/_git/{repo}
//	.../_git/_optimized/{repo}, .../_git/_full/{repo}            (markers, not part of the name)
//
// On a server, one segment before _git is the collection (project = repository); a "tfs"
// segment ends the virtual directory; otherwise the last two segments before _git are
// collection and project, and anything before them is the virtual directory (Guessed when a
// virtual directory was assumed). User info is ignored; query and fragment are ignored.
//
// Errors are *connections.Error of kind ErrInvalidInput with field "remoteUrl" and a sentence
// naming the problem.
func ParseRemoteURL(raw string) (*RemoteURL, error) {
	s := strings.TrimSpace(raw)
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return nil, invalid("remoteUrl", "the remote URL is not an absolute http(s) URL (https://host/...)")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, invalid("remoteUrl", "the scheme %q is not supported; use the HTTPS clone URL", u.Scheme)
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return nil, invalid("remoteUrl", "the URL carries a password; remove it and send the PAT separately")
	}
	segs, err := pathSegments(u)
	if err != nil {
		return nil, invalid("remoteUrl", "the URL path is malformed: %v", err)
	}
	gitAt := -1
	for i, s := range segs {
		if strings.EqualFold(s, "_git") {
			if gitAt >= 0 {
				return nil, invalid("remoteUrl", "the URL has a second _git segment")
			}
			gitAt = i
		}
	}
	if gitAt < 0 {
		return nil, invalid("remoteUrl", "the URL has no /_git/ segment; copy the clone URL from the repository's Clone dialog")
	}
	rest := segs[gitAt+1:]
	if len(rest) > 0 && (strings.EqualFold(rest[0], "_optimized") || strings.EqualFold(rest[0], "_full")) {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return nil, invalid("remoteUrl", "the URL names no repository after /_git/")
	}
	if len(rest) > 1 {
		return nil, invalid("remoteUrl", "the URL has a path after the repository name (%q); use the clone URL", strings.Join(rest[1:], "/"))
	}
	r := &RemoteURL{Endpoint: Endpoint{Scheme: scheme, Host: strings.ToLower(u.Host)}, Repository: rest[0]}
	before := segs[:gitAt]

	switch {
	case isLegacyServicesHost(r.Host):
		r.Collection = strings.SplitN(r.Hostname(), ".", 2)[0]
		if len(before) > 0 && strings.EqualFold(before[0], "DefaultCollection") {
			before = before[1:]
		}
		if err := r.setProject(before, 1); err != nil {
			return nil, err
		}
	case hostKind(r.Host) == KindServices:
		if len(before) == 0 {
			return nil, invalid("remoteUrl", "the URL names no organization: https://dev.azure.com/{organization}/{project}/_git/{repository}")
		}
		r.Collection = before[0]
		if err := r.setProject(before[1:], 1); err != nil {
			return nil, err
		}
	default:
		if err := r.splitServerPath(before); err != nil {
			return nil, err
		}
	}
	if err := ValidateCollectionName(r.Collection); err != nil {
		return nil, invalid("remoteUrl", "%v", err)
	}
	return r, nil
}

// setProject takes the project from segs (at most max segments); none means project = repo.
func (r *RemoteURL) setProject(segs []string, max int) error {
	switch len(segs) {
	case 0:
		r.Project = r.Repository
	case max:
		r.Project = segs[0]
	default:
		return invalid("remoteUrl", "unexpected path segments before /_git/: %q", strings.Join(segs, "/"))
	}
	return nil
}

// splitServerPath applies the on-prem rule of ParseRemoteURL to the segments before _git.
func (r *RemoteURL) splitServerPath(before []string) error {
	tfs := -1
	for i, s := range before[:max(len(before)-1, 0)] { // a last "tfs" is a project or collection name
		if strings.EqualFold(s, "tfs") {
			tfs = i
			break
		}
	}
	switch {
	case len(before) == 0:
		return invalid("remoteUrl", "the URL names no collection: http(s)://host/[tfs/]{collection}/{project}/_git/{repository}")
	case tfs >= 0:
		r.VirtualDirectory = strings.Join(before[:tfs+1], "/")
		tail := before[tfs+1:]
		r.Collection = tail[0]
		return r.setProject(tail[1:], 1)
	case len(before) == 1:
		r.Collection = before[0]
		r.Project = r.Repository
	default:
		n := len(before)
		r.VirtualDirectory = strings.Join(before[:n-2], "/")
		r.Collection, r.Project = before[n-2], before[n-1]
		// "/X/Y/_git/R" may also be virtual directory X + collection Y + project R.
		r.Guessed = true
	}
	return nil
}

// hostKind classifies an HTTP(S) host (with or without port) by exact match: dev.azure.com and
// {org}.visualstudio.com are Services; anything else, including hosts that merely contain
// those names (dev.azure.com.evil.example), is a Server (azure-devops.md §2).
func hostKind(host string) Kind {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	if h == "dev.azure.com" || isLegacyServicesHost(h) {
		return KindServices
	}
	return KindServer
}

// isLegacyServicesHost reports whether host is {org}.visualstudio.com (port ignored).
func isLegacyServicesHost(host string) bool {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	org, ok := strings.CutSuffix(h, ".visualstudio.com")
	return ok && org != "" && !strings.Contains(org, ".")
}

// redactURL removes user info from a URL string for use in messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	if at := strings.IndexByte(s, '@'); at >= 0 {
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			return s[:i+3] + s[at+1:]
		}
	}
	return s
}
