package azuredevops

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/repoconnect/repoconnect/connections"
)

// Kind tells Azure DevOps Services (cloud) from Azure DevOps Server (on-prem).
type Kind string

// The deployment kinds (docs/azure-devops-protocol.md §1).
const (
	KindServices Kind = "services"
	KindServer   Kind = "server"
)

// Reasons for which ParseRemoteURL rejects a remote URL. Each is a *connections.Error of kind
// connections.ErrInvalidInput with field "remoteUrl", this reason and a sentence that names
// the problem and the fix. They are part of the API (the "code" of a problem answer).
const (
	ReasonNotAURL            connections.Reason = "not_a_url"             // empty, unparsable, relative, no host, too long
	ReasonUnknownScheme      connections.Reason = "unknown_scheme"        // not http, https or ssh
	ReasonLookalikeHost      connections.Reason = "lookalike_host"        // only looks like dev.azure.com or visualstudio.com
	ReasonPasswordInURL      connections.Reason = "password_in_url"       // user info with a password
	ReasonBackslashInUser    connections.Reason = "backslash_in_user"     // user info like DOMAIN\user
	ReasonBadPort            connections.Reason = "bad_port"              // port not in 1-65535
	ReasonBadEscape          connections.Reason = "bad_escape"            // malformed %-escape
	ReasonEmptySegment       connections.Reason = "empty_segment"         // "//" in the path
	ReasonDotSegment         connections.Reason = "dot_segment"           // "." or ".." in the path
	ReasonEncodedSlash       connections.Reason = "encoded_slash"         // %2F inside a name
	ReasonMissingOrg         connections.Reason = "missing_organization"  // Services URL without organization
	ReasonDefaultCollOrg     connections.Reason = "defaultcollection_org" // dev.azure.com/DefaultCollection/...
	ReasonInvalidOrg         connections.Reason = "invalid_organization"  // not letters, digits and hyphens
	ReasonMissingCollection  connections.Reason = "missing_collection"    // Server URL without collection
	ReasonMissingGit         connections.Reason = "missing_git"           // no /_git/ (or SSH v3 path)
	ReasonSecondGit          connections.Reason = "second_git"            // two /_git/ segments
	ReasonMissingProject     connections.Reason = "missing_project"       // SSH v3 path without project
	ReasonMissingRepository  connections.Reason = "missing_repository"    // nothing after /_git/
	ReasonPathAfterRepo      connections.Reason = "path_after_repository" // .../_git/repo/more
	ReasonExtraSegments      connections.Reason = "unexpected_segments"   // too many segments before /_git/
	ReasonInvalidName        connections.Reason = "invalid_name"          // a name Azure DevOps cannot have
	ReasonPlusInName         connections.Reason = "plus_in_name"          // no longer returned: a "+" is read as a plus (issue 16)
	ReasonSSHPathOverHTTP    connections.Reason = "ssh_path_over_https"   // /_ssh/ in an http(s) URL
	ReasonSSHv3NotCloud      connections.Reason = "ssh_v3_not_cloud"      // v3/... on a non-cloud SSH host
	ReasonWrongSSHPath       connections.Reason = "wrong_ssh_path"        // cloud SSH host with a path it does not serve
	ReasonWrongSSHHost       connections.Reason = "wrong_ssh_host"        // dev.azure.com over SSH
	ReasonVirtualDirMismatch connections.Reason = "virtual_directory_mismatch"
)

// maxRemoteURL bounds the input (bytes); real remote URLs are far shorter. maxPath bounds the
// decoded path (bytes), so that a derived URL, where every byte of a name may become a
// three-byte escape, stays within maxRemoteURL and can be parsed again.
const (
	maxRemoteURL = 16 << 10
	maxPath      = 1024
)

// RemoteURL is a parsed git remote URL of Azure DevOps (docs/azure-devops-protocol.md §2).
//
// Names (Organization, Collection, Project, Repository, VirtualDirectory) are percent-decoded
// and keep the case the URL gave them. Host is lower-case, without port or IPv6 brackets; Port
// is the port the URL named ("" when none). For Services, Collection equals Organization and
// VirtualDirectory is empty; for Server, Organization is empty. When the URL omits the project
// (…/_git/{repo}), Project equals Repository.
//
// Guessed is true when the path of a Server URL allows more than one split into virtual
// directory, collection, project and team ("/X/Y/_git/R" is collection X and project Y, or
// virtual directory X, collection Y and project R; "/X/Y/Z/_git/R" may also be collection X,
// project Y, team Z) and no "tfs" segment settles it. ParseRemoteURLWithVirtualDirectory and
// ResolveRemoteURL settle it. A team segment of a team-scoped URL is not kept.
type RemoteURL struct {
	Kind             Kind
	Scheme           string // "https", "http" or "ssh"
	Host             string
	Port             string
	VirtualDirectory string
	Organization     string
	Collection       string
	Project          string
	Repository       string
	Guessed          bool
	// RefsMarker is "_optimized" or "_full" when the URL carried that limited-refs marker
	// (…/_git/_optimized/{repo}); it is not part of the name and not kept in CloneURL.
	RefsMarker string

	legacyHost bool     // Services on {org}.visualstudio.com (or vs-ssh.visualstudio.com)
	path       []string // Server: the decoded segments before /_git/, for ResolveRemoteURL
}

// Endpoint returns where the collection's REST API lives: for Services https://dev.azure.com
// with the organization (https://{org}.visualstudio.com for legacy hosts); for a Server the
// URL's scheme, host and port. An explicit port of an http(s) URL is kept in every derived URL
// (the port is part of the remote: https://dev.azure.com:456/... derives
// https://dev.azure.com:456/{org}); a port that only repeats the default (443 for https, 80
// for http, of the URL's scheme or of the derived one) is dropped. An SSH URL's port is the SSH
// server's, which says nothing of the HTTP(S) API: it is never carried over, so an on-prem SSH
// URL yields https://{host} without one.
func (r *RemoteURL) Endpoint() Endpoint {
	port := ""
	if r.Scheme != "ssh" {
		port = r.Port
	}
	switch {
	case r.Kind == KindServices && r.legacyHost:
		host := strings.ToLower(r.Organization) + ".visualstudio.com"
		return Endpoint{Scheme: "https", Host: joinHostPort(host, derivedPort(r.Scheme, "https", port)), Collection: r.Organization}
	case r.Kind == KindServices:
		return Endpoint{Scheme: "https", Host: joinHostPort("dev.azure.com", derivedPort(r.Scheme, "https", port)), Collection: r.Organization}
	}
	scheme := r.Scheme
	if scheme == "ssh" {
		scheme = "https"
	}
	return Endpoint{Scheme: scheme, Host: joinHostPort(r.Host, derivedPort(r.Scheme, scheme, port)),
		VirtualDirectory: r.VirtualDirectory, Collection: r.Collection}
}

// derivedPort returns the port a derived URL of scheme out carries for a URL of scheme in with
// port: "" when there is none or when it is the default port of either scheme (https://h:443
// and http://h:80 name the default; http://dev.azure.com:443, upgraded to https, too).
func derivedPort(in, out, port string) string {
	if port == "" || port == defaultPort(in) || port == defaultPort(out) {
		return ""
	}
	return port
}

// defaultPort is the port a scheme implies ("" for ssh, whose port is never carried over).
func defaultPort(scheme string) string {
	switch scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// CollectionURL returns the REST base of the collection (Server) or organization (Services):
// Endpoint().CollectionURL(), e.g. https://dev.azure.com/fabrikam or
// https://tfs.example.com/tfs/DefaultCollection, with an "@" in a name written %40 (a derived
// URL never has an "@", so it can never be read as carrying user info).
func (r *RemoteURL) CollectionURL() string { return r.Endpoint().CollectionURL() }

// CloneURL returns the canonical HTTP(S) clone URL: CollectionURL()/{project}/_git/{repo}, the
// project always written out, names percent-encoded (%20 for a space, never +; %40 for @; %2B
// for +), no user info, no team, no limited-refs marker, no query. On a {org}.visualstudio.com host a project
// named DefaultCollection is written after /DefaultCollection, since that host reads a first
// DefaultCollection segment as the collection.
func (r *RemoteURL) CloneURL() string {
	base := r.CollectionURL()
	if r.legacyHost && strings.EqualFold(r.Project, "DefaultCollection") {
		base += "/DefaultCollection"
	}
	return base + "/" + escapeName(r.Project) + "/_git/" + escapeName(r.Repository)
}

// escapeName percent-encodes a name for a path segment, "@" (%40) and "+" (%2B) included: a
// derived URL never reads as carrying user info, and a "+" in it is never taken for a
// form-encoded space.
func escapeName(s string) string { return nameEscaper.Replace(url.PathEscape(s)) }

var nameEscaper = strings.NewReplacer("@", "%40", "+", "%2B")

// WebURL returns the repository's page in a browser. Azure DevOps serves it at the clone
// address (the REST repository's webUrl equals its remoteUrl without user info), so this is
// CloneURL.
func (r *RemoteURL) WebURL() string { return r.CloneURL() }

// String returns CloneURL: a RemoteURL never prints user info.
func (r *RemoteURL) String() string { return r.CloneURL() }

// MarshalJSON writes the object `repoconnect parse-url` and POST /api/v1/parse-url answer, with
// exactly the fields kind, scheme, host, port, virtualDirectory, organization, collection,
// project, repository, guessed, collectionUrl, cloneUrl and webUrl ("" when a part is absent).
func (r *RemoteURL) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind             Kind   `json:"kind"`
		Scheme           string `json:"scheme"`
		Host             string `json:"host"`
		Port             string `json:"port"`
		VirtualDirectory string `json:"virtualDirectory"`
		Organization     string `json:"organization"`
		Collection       string `json:"collection"`
		Project          string `json:"project"`
		Repository       string `json:"repository"`
		Guessed          bool   `json:"guessed"`
		CollectionURL    string `json:"collectionUrl"`
		CloneURL         string `json:"cloneUrl"`
		WebURL           string `json:"webUrl"`
	}{r.Kind, r.Scheme, r.Host, r.Port, r.VirtualDirectory, r.Organization, r.Collection, r.Project,
		r.Repository, r.Guessed, r.CollectionURL(), r.CloneURL(), r.WebURL()})
}

// ParseRemoteURL parses any Azure DevOps git remote URL of docs/azure-devops-protocol.md §2:
//
//	https://[user@]dev.azure.com[:port]/{org}/{project}[/{team}]/_git/{repo}
//	https://dev.azure.com/{org}/_git/{repo}                           (project named like the repo)
//	https://{org}.visualstudio.com[:port][/DefaultCollection]/{project}[/{team}]/_git/{repo}
//	.../_git/_optimized/{repo}, .../_git/_full/{repo}                 (limited-refs markers)
//	git@ssh.dev.azure.com:v3/{org}/{project}[/{team}]/{repo}, ssh://git@ssh.dev.azure.com[:22]/v3/...
//	{org}@vs-ssh.visualstudio.com:v3/{org}/{project}/{repo}
//	ssh://{org}@vs-ssh.visualstudio.com[:22]/[DefaultCollection/]{project}[/{team}]/_ssh/{repo}
//	http(s)://host[:port]/[virtual/dir/]{collection}/{project}[/{team}]/_git/{repo}
//	ssh://[user@]host[:port]/[virtual/dir/]{collection}/{project}[/{team}]/_git|_ssh/{repo}, and scp-style
//
// A {team} segment (team-scoped web URLs, which browsers show when one comes from a team's
// page; read by Microsoft's SourceLink and by git-url-parse) is read and dropped: the
// repository belongs to the project. Query strings and fragments are ignored; user info
// without a password is ignored (never kept: people paste PATs there); a single trailing slash
// is ignored. The schemes git+ssh and ssh+git are read as ssh. Names are taken as written,
// "+" included: the parser refuses only what cannot name a repository on any version (see
// checkName); today's naming rules are the server's to apply.
//
// The on-prem split (Server): one segment before /_git/ is the collection and the project is
// the repository; a "tfs" segment followed by {collection}[/{project}[/{team}]] ends the
// virtual directory, which settles the split (Guessed false); otherwise the last two segments
// before /_git/ are collection and project (or, when the third from the end is
// DefaultCollection, DefaultCollection/{project}/{team}) and anything before them is the
// virtual directory, a guess (Guessed true). See serverSplit.
//
// Errors are *connections.Error of kind connections.ErrInvalidInput, field "remoteUrl", one of
// the Reason* codes of this package and a sentence that names the problem. Messages never
// repeat the URL's user info.
func ParseRemoteURL(raw string) (*RemoteURL, error) {
	return parseRemoteURL(raw, nil)
}

// ParseRemoteURLWithVirtualDirectory parses like ParseRemoteURL, with the virtual directory of
// a Server URL given by the caller, which settles the split (Guessed is false): after it come
// {collection}[/{project}[/{team}]]. virtualDir is a slash-separated path such as "tfs" or
// "a/b"; "" or "/" means the server has none.
//
// The prefix Appcircle calls the owner, virtual directory plus collection
// ("tfs/DefaultCollection"), is accepted too: when the URL's path ends right after the value
// (…/tfs/DefaultCollection/_git/{repo}), and when one segment follows it and the value ends in
// "DefaultCollection" or contains a "tfs" segment before its last one, the value's last segment
// is read as the collection. The value must be a prefix of the URL's path (case-insensitive,
// spaces around a segment ignored), or the error has reason ReasonVirtualDirMismatch. For
// Services only "" is accepted.
func ParseRemoteURLWithVirtualDirectory(raw, virtualDir string) (*RemoteURL, error) {
	vd := strings.Trim(strings.TrimSpace(virtualDir), "/")
	var segs []string
	if vd != "" {
		segs = strings.Split(vd, "/")
		for _, s := range segs {
			if s == "" || s == "." || s == ".." || strings.EqualFold(s, "_git") {
				return nil, inField(reject(ReasonVirtualDirMismatch, "the virtual directory %q is not a path like tfs or a/b", virtualDir), "virtualDirectory")
			}
		}
	}
	return parseRemoteURL(raw, &segs)
}

// parseRemoteURL dispatches on the URL's syntax; vd is nil unless the caller gave one.
func parseRemoteURL(raw string, vd *[]string) (*RemoteURL, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return nil, reject(ReasonNotAURL, "the remote URL is empty; paste the clone URL from the repository's Clone dialog")
	case len(s) > maxRemoteURL:
		return nil, reject(ReasonNotAURL, "the remote URL is longer than %d characters; paste the clone URL from the repository's Clone dialog", maxRemoteURL)
	}
	if !utf8.ValidString(s) {
		return nil, reject(ReasonNotAURL, "the remote URL is not valid UTF-8 text")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return nil, reject(ReasonNotAURL, "the remote URL contains a control character (a line break or tab?); paste it on one line")
		}
	}
	var (
		r   *RemoteURL
		err error
	)
	if i := strings.Index(s, "://"); i >= 0 {
		scheme := strings.ToLower(s[:i])
		switch scheme {
		case "https", "http":
			r, err = parseHTTP(s, scheme, vd)
		case "ssh", "git+ssh", "ssh+git":
			r, err = parseSSH(s[i+3:], "", vd)
		default:
			if scheme == "" || !validScheme(scheme) {
				return nil, reject(ReasonNotAURL, "the remote URL does not start with a scheme such as https://")
			}
			return nil, reject(ReasonUnknownScheme, "Azure DevOps serves git over https://, http:// and ssh:// only; use the HTTPS or SSH clone URL")
		}
	} else if authority, path, ok := cutSCP(s); ok {
		r, err = parseSSH(authority, path, vd)
	} else {
		return nil, reject(ReasonNotAURL, "the remote URL is not an absolute URL; it should start with https:// (or be an SSH URL such as git@ssh.dev.azure.com:v3/...)")
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}
