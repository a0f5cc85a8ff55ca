package azuredevops

import (
	"encoding/json"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/repoconnect/repoconnect/connections"
)

// Kind tells Azure DevOps Services (cloud) from Azure DevOps Server (on-prem).
type Kind string

// The deployment kinds (azure-devops.md §1).
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

// RemoteURL is a parsed git remote URL of Azure DevOps (azure-devops.md §2).
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

// ParseRemoteURL parses any Azure DevOps git remote URL of azure-devops.md §2:
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

// validScheme reports whether s has the syntax of a URL scheme (RFC 3986 §3.1).
func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// cutSCP splits git's scp-like syntax "[user@]host:path" into "[user@]host" and path. It
// applies when a colon comes before any slash ("[::1]" hosts allowed); a one-letter host is a
// Windows drive (C:\path), not a host, and a host named like a scheme is a URL missing its
// slashes (https:/host/...), not a host.
func cutSCP(s string) (authority, path string, ok bool) {
	head := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		head = s[:i]
	}
	start := 0
	if at := strings.IndexByte(head, '@'); at >= 0 {
		c := strings.IndexByte(head, ':')
		switch {
		case c < 0 || at < c || strings.IndexByte(head[at+1:], ':') >= 0:
			start = at + 1
		default:
			// "user:password@host/path" (a URL without its scheme) keeps its user info, for
			// checkUserInfo to refuse; read as scp-style, the password would become a path.
			return head, s[len(head):], true
		}
	}
	host := head[start:]
	colon := -1
	if strings.HasPrefix(host, "[") {
		if rb := strings.IndexByte(host, ']'); rb > 0 && rb+1 < len(host) && host[rb+1] == ':' {
			colon = start + rb + 1
		}
	} else if c := strings.IndexByte(host, ':'); c >= 0 {
		colon = start + c
	}
	if colon < 0 || colon-start <= 1 {
		return "", "", false
	}
	switch strings.ToLower(s[start:colon]) {
	case "http", "https", "ssh":
		return "", "", false
	}
	return s[:colon], s[colon+1:], true
}

// checkUserInfo rejects user info with a password or a backslash (DOMAIN\user). authority is
// "[userinfo@]host[:port]".
func checkUserInfo(authority string) error {
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return nil
	}
	user := authority[:at]
	if strings.Contains(user, `\`) || strings.Contains(strings.ToLower(user), "%5c") {
		return reject(ReasonBackslashInUser, `the URL's user name has a backslash (DOMAIN\user); remove the user name from the URL and send the credential separately`)
	}
	if strings.Contains(user, ":") {
		return reject(ReasonPasswordInURL, "the URL carries a password; remove it (and change it, it was shared) and send the credential separately")
	}
	return nil
}

// splitAuthority cuts "//authority/path?query#fragment" (without the leading slashes) into
// authority and path, dropping query and fragment.
func splitAuthority(s string) (authority, path string) {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// parseHostPort reads "[userinfo@]host[:port]" into a lower-case host (IPv6 without brackets)
// and a port, and returns the user name (for legacy SSH URLs, where it is the organization).
func parseHostPort(authority string) (host, port, user string, err error) {
	if err := checkUserInfo(authority); err != nil {
		return "", "", "", err
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user, authority = authority[:at], authority[at+1:]
		if u, e := url.PathUnescape(user); e == nil {
			user = u
		}
	}
	host = authority
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			return "", "", "", reject(ReasonNotAURL, "the URL's host is a malformed IPv6 address")
		}
		host = authority[1:end]
		rest := authority[end+1:]
		if rest != "" {
			if rest[0] != ':' {
				return "", "", "", reject(ReasonNotAURL, "the URL's host is a malformed IPv6 address")
			}
			port = rest[1:]
			if port == "" {
				return "", "", "", reject(ReasonBadPort, "the URL has a colon but no port after the host")
			}
		}
		if net.ParseIP(host) == nil {
			return "", "", "", reject(ReasonNotAURL, "the URL's host is a malformed IPv6 address")
		}
	} else if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		host, port = authority[:i], authority[i+1:]
		if port == "" {
			return "", "", "", reject(ReasonBadPort, "the URL has a colon but no port after the host")
		}
	}
	if port != "" {
		if n, e := strconv.Atoi(port); e != nil || n < 1 || n > 65535 || port[0] == '+' {
			return "", "", "", reject(ReasonBadPort, "the URL's port is not a number from 1 to 65535 (a password in the URL? remove it)")
		}
	}
	host = strings.ToLower(host)
	if host == "" {
		return "", "", "", reject(ReasonNotAURL, "the URL names no host; it should look like https://dev.azure.com/{organization}/...")
	}
	if !strings.HasPrefix(authority, "[") && !validHostName(host) {
		return "", "", "", reject(ReasonNotAURL, "the URL's host is not a valid host name")
	}
	return host, port, user, nil
}

// validHostName accepts DNS names (letters, digits, hyphens, underscores, dots) and IPv4 literals.
func validHostName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return !strings.HasPrefix(h, ".") && !strings.Contains(h, "..")
}

// hostClass is what a host is, judged by exact match (azure-devops.md §2).
type hostClass int

const (
	hostServer      hostClass = iota
	hostDevAzure              // dev.azure.com
	hostLegacy                // {org}.visualstudio.com
	hostSSHDevAzure           // ssh.dev.azure.com
	hostVSSSH                 // vs-ssh.visualstudio.com
	hostLookalike             // contains dev.azure.com or visualstudio.com, or under azure.com, but none of the above
	hostBareVS                // visualstudio.com alone
)

func classifyHost(h string) hostClass {
	switch h {
	case "dev.azure.com":
		return hostDevAzure
	case "ssh.dev.azure.com":
		return hostSSHDevAzure
	case "vs-ssh.visualstudio.com":
		return hostVSSSH
	case "visualstudio.com":
		return hostBareVS
	}
	if org, ok := strings.CutSuffix(h, ".visualstudio.com"); ok && org != "" && !strings.Contains(org, ".") {
		return hostLegacy
	}
	if strings.Contains(h, "dev.azure.com") || strings.Contains(h, "visualstudio.com") ||
		strings.HasSuffix(h, ".azure.com") || h == "azure.com" {
		return hostLookalike
	}
	return hostServer
}

func lookalike(h string) error {
	return reject(ReasonLookalikeHost, "the host %s is not Azure DevOps Services: only dev.azure.com, ssh.dev.azure.com, {organization}.visualstudio.com and vs-ssh.visualstudio.com are; check the URL for a typo or a phishing link", h)
}

// splitPath returns the decoded segments of an escaped path. A single trailing slash is
// allowed; empty or blank (spaces only: no name is blank), "." and ".." segments, malformed
// escapes and encoded slashes are rejected.
func splitPath(escaped string) ([]string, error) {
	p := strings.TrimPrefix(escaped, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil, nil
	}
	segs := strings.Split(p, "/")
	decoded := 0
	for i, raw := range segs {
		if raw == "" {
			return nil, reject(ReasonEmptySegment, "the URL path has an empty segment (two slashes in a row); remove the extra slash")
		}
		d := raw
		if strings.IndexByte(raw, '%') >= 0 {
			var err error
			if d, err = url.PathUnescape(raw); err != nil {
				return nil, reject(ReasonBadEscape, "the URL path has a malformed %%-escape; a space is written %%20")
			}
			if strings.IndexByte(d, '/') >= 0 {
				return nil, reject(ReasonEncodedSlash, "the URL path has an encoded slash (%%2F) inside a name; Azure DevOps names cannot contain a slash")
			}
			if !utf8.ValidString(d) {
				return nil, reject(ReasonBadEscape, "the URL path has %%-escapes that are not UTF-8")
			}
			for _, c := range []byte(d) {
				if c < 0x20 || c == 0x7f {
					return nil, reject(ReasonInvalidName, "the URL path has an encoded control character")
				}
			}
		}
		if strings.TrimSpace(d) == "" {
			return nil, reject(ReasonEmptySegment, "the URL path has a segment of only spaces; paste the clone URL as Azure DevOps shows it")
		}
		if t := strings.TrimSpace(d); t == "." || t == ".." { // ". " too: no name is a dot with spaces
			return nil, reject(ReasonDotSegment, "the URL path has a %q segment; paste the clone URL as Azure DevOps shows it", t)
		}
		if decoded += len(d); decoded > maxPath {
			return nil, reject(ReasonNotAURL, "the URL's path is longer than %d characters; paste the clone URL from the repository's Clone dialog", maxPath)
		}
		segs[i] = d
	}
	return segs, nil
}

// parseHTTP parses an http(s) URL; s starts with the scheme.
func parseHTTP(s, scheme string, vd *[]string) (*RemoteURL, error) {
	authority, path := splitAuthority(s[len(scheme)+3:])
	host, port, _, err := parseHostPort(authority)
	if err != nil {
		return nil, err
	}
	segs, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	r := &RemoteURL{Scheme: scheme, Host: host, Port: port}
	class := classifyHost(host)
	switch class {
	case hostLookalike:
		return nil, lookalike(host)
	case hostBareVS:
		return nil, reject(ReasonMissingOrg, "the URL names no organization: https://{organization}.visualstudio.com/{project}/_git/{repository}")
	case hostSSHDevAzure, hostVSSSH:
		return nil, reject(ReasonWrongSSHHost, "%s serves git over SSH only; use its SSH URL, or the HTTPS clone URL on dev.azure.com", host)
	}
	gitAt := -1
	for i, seg := range segs {
		switch {
		case strings.EqualFold(seg, "_ssh"):
			return nil, reject(ReasonSSHPathOverHTTP, "/_ssh/ belongs to old SSH URLs; an %s clone URL has /_git/ in its place", scheme)
		case strings.EqualFold(seg, "_git"):
			if gitAt >= 0 {
				return nil, reject(ReasonSecondGit, "the URL has a second /_git/ segment; paste the clone URL as Azure DevOps shows it")
			}
			gitAt = i
		}
	}
	if gitAt < 0 {
		if len(segs) == 0 && class == hostDevAzure {
			return nil, reject(ReasonMissingOrg, "the URL names no organization: https://dev.azure.com/{organization}/{project}/_git/{repository}")
		}
		return nil, reject(ReasonMissingGit, "the URL has no /_git/ segment, so it names no repository; copy the clone URL from the repository's Clone dialog")
	}
	if err := r.setRepository(segs[gitAt+1:]); err != nil {
		return nil, err
	}
	before := segs[:gitAt]
	switch class {
	case hostDevAzure:
		err = r.splitServices(before, "", vd)
	case hostLegacy:
		r.legacyHost = true
		err = r.splitServices(before, strings.TrimSuffix(host, ".visualstudio.com"), vd)
	default:
		err = r.splitServer(before, vd)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// setRepository reads the segments after /_git/ (or /_ssh/): an optional limited-refs marker,
// then exactly the repository name.
func (r *RemoteURL) setRepository(after []string) error {
	if len(after) > 0 && (strings.EqualFold(after[0], "_optimized") || strings.EqualFold(after[0], "_full")) {
		r.RefsMarker = strings.ToLower(after[0])
		after = after[1:]
	}
	switch {
	case len(after) == 0:
		return reject(ReasonMissingRepository, "the URL names no repository after /_git/")
	case len(after) > 1:
		return reject(ReasonPathAfterRepo, "the URL goes on after the repository name (a file, branch or commit page?); use the clone URL, which ends with the repository name")
	}
	if err := checkName("repository", after[0]); err != nil {
		return err
	}
	r.Repository = after[0]
	return nil
}

// splitServices reads the segments before /_git/ of a Services URL. org is the organization
// from a {org}.visualstudio.com host, or "" when the first segment names it (dev.azure.com).
func (r *RemoteURL) splitServices(before []string, org string, vd *[]string) error {
	r.Kind = KindServices
	if vd != nil && len(*vd) > 0 {
		return inField(reject(ReasonVirtualDirMismatch, "Azure DevOps Services has no virtual directory; leave it empty"), "virtualDirectory")
	}
	if org == "" {
		if len(before) == 0 {
			return reject(ReasonMissingOrg, "the URL names no organization: https://dev.azure.com/{organization}/{project}/_git/{repository}")
		}
		org, before = before[0], before[1:]
		if strings.EqualFold(org, "DefaultCollection") {
			return reject(ReasonDefaultCollOrg, "DefaultCollection is not an organization: on dev.azure.com the first segment is the organization, https://dev.azure.com/{organization}/{project}/_git/{repository}")
		}
	} else if len(before) > 0 && strings.EqualFold(before[0], "DefaultCollection") {
		before = before[1:]
	}
	if err := checkOrganization(org); err != nil {
		return err
	}
	r.Organization, r.Collection = org, org
	return r.setProject(before)
}

// setProject takes the project from before: none (the project is named like the
// repository), {project}, or {project}/{team} (a team-scoped web URL, as a browser shows it
// when one comes from a team's page; accepted by Microsoft's SourceLink, AzureDevOpsUrlParser.cs,
// and by git-url-parse): the team is read and dropped, since a repository belongs to the
// project, not to a team.
func (r *RemoteURL) setProject(before []string) error {
	switch len(before) {
	case 0:
		r.Project = r.Repository
		return nil
	case 1, 2:
		for i, what := range []string{"project", "team"}[:len(before)] {
			if err := checkName(what, before[i]); err != nil {
				return err
			}
		}
		r.Project = before[0]
		return nil
	}
	return reject(ReasonExtraSegments, "the URL has %d segments before /_git/ where only the project (and perhaps a team) belong", len(before))
}

// splitServer applies the on-prem rule (see ParseRemoteURL) or the caller's virtual directory.
func (r *RemoteURL) splitServer(before []string, vd *[]string) error {
	r.Kind = KindServer
	n := len(before)
	if n == 0 {
		return reject(ReasonMissingCollection, "the URL names no collection: http(s)://host/[tfs/]{collection}/{project}/_git/{repository}")
	}
	r.path = before
	var vdLen int // the virtual directory is before[:vdLen], the collection before[vdLen]
	if vd != nil {
		given := *vd
		if !hasPrefixFold(before, given) {
			return inField(reject(ReasonVirtualDirMismatch, "the URL's path does not start with the virtual directory %q", strings.Join(given, "/")), "virtualDirectory")
		}
		rest := n - len(given)
		owner := len(given) > 0 && (strings.EqualFold(given[len(given)-1], "DefaultCollection") || indexFold(given[:len(given)-1], "tfs") >= 0)
		switch {
		case rest == 0 && len(given) == 0:
			return reject(ReasonMissingCollection, "the URL names no collection")
		case rest == 0, rest == 1 && owner:
			vdLen = len(given) - 1 // the owner form: the value ends with the collection
		case rest <= 3:
			vdLen = len(given)
		default:
			return inField(reject(ReasonExtraSegments, "after the virtual directory %q the URL has %d segments before /_git/; expected {collection}/{project}[/{team}]", strings.Join(given, "/"), rest), "virtualDirectory")
		}
	} else {
		vdLen, r.Guessed = serverSplit(before)
	}
	r.VirtualDirectory = strings.Join(before[:vdLen], "/")
	r.Collection = before[vdLen]
	if err := checkName("collection", r.Collection); err != nil {
		return err
	}
	return r.setProject(before[vdLen+1:])
}

// serverSplit decides where the virtual directory of an on-prem path ends (before holds the n
// segments before /_git/; the collection is before[vdLen], then the project and perhaps a
// team) and whether that is a guess:
//
//   - one segment is the collection (project = repository), not a guess;
//   - a "tfs" segment followed by one to three segments ({collection}[/{project}[/{team}]])
//     ends the virtual directory (tfs is the virtual directory of every TFS up to 2018 and of
//     servers upgraded from one; azure-devops.md §2), not a guess; when two tfs segments could
//     each end it (/tfs/x/tfs/P), the one before {collection}/{project} wins, then the one
//     before {collection}, then the one before {collection}/{project}/{team}, as a guess;
//   - otherwise, a guess: the last two segments are collection and project, except when the
//     third from the end is DefaultCollection (the installer's collection name): then the URL
//     is team-scoped, DefaultCollection/{project}/{team}.
func serverSplit(before []string) (vdLen int, guessed bool) {
	n := len(before)
	if n == 1 {
		return 0, false
	}
	found := 0
	for _, i := range []int{n - 3, n - 2, n - 4} { // the tfs segment's place, in order of preference
		if i >= 0 && strings.EqualFold(before[i], "tfs") {
			if found == 0 {
				vdLen = i + 1
			}
			found++
		}
	}
	if found > 0 {
		return vdLen, found > 1
	}
	if n >= 3 && strings.EqualFold(before[n-3], "DefaultCollection") {
		return n - 3, true
	}
	return n - 2, true
}

func indexFold(segs []string, s string) int {
	for i, x := range segs {
		if strings.EqualFold(x, s) {
			return i
		}
	}
	return -1
}

// parseSSH parses an SSH remote. For ssh:// URLs, rest is everything after "ssh://" and path
// is ""; for scp-style, rest is "[user@]host" and path the part after the colon.
func parseSSH(rest, path string, vd *[]string) (*RemoteURL, error) {
	authority := rest
	if path == "" {
		authority, path = splitAuthority(rest)
	} else if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	host, port, user, err := parseHostPort(authority)
	if err != nil {
		return nil, err
	}
	segs, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	r := &RemoteURL{Scheme: "ssh", Host: host, Port: port}
	class := classifyHost(host)
	v3 := len(segs) > 0 && strings.EqualFold(segs[0], "v3")
	marker := -1
	for i, seg := range segs {
		if strings.EqualFold(seg, "_git") || strings.EqualFold(seg, "_ssh") {
			if marker >= 0 {
				return nil, reject(ReasonSecondGit, "the URL has a second /_git/ or /_ssh/ segment")
			}
			marker = i
		}
	}
	switch class {
	case hostLookalike:
		return nil, lookalike(host)
	case hostBareVS:
		return nil, reject(ReasonMissingOrg, "the URL names no organization: {organization}@vs-ssh.visualstudio.com:v3/{organization}/{project}/{repository}")
	case hostDevAzure:
		return nil, reject(ReasonWrongSSHHost, "dev.azure.com does not serve git over SSH; the SSH URL is git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}")
	case hostSSHDevAzure, hostVSSSH, hostLegacy:
		r.legacyHost = class != hostSSHDevAzure
		switch {
		case v3 && class != hostLegacy:
			if err := r.parseV3(segs[1:], vd); err != nil {
				return nil, err
			}
			return r, nil
		case marker >= 0 && strings.EqualFold(segs[marker], "_ssh") && class != hostSSHDevAzure:
			if err := r.setRepository(segs[marker+1:]); err != nil {
				return nil, err
			}
			org := strings.TrimSuffix(host, ".visualstudio.com")
			if class == hostVSSSH {
				if org = user; org == "" {
					return nil, reject(ReasonMissingOrg, "this old SSH URL takes the organization from the user name: ssh://{organization}@vs-ssh.visualstudio.com:22/{project}/_ssh/{repository}")
				}
				if checkOrganization(org) != nil { // user info: never repeated in a message
					return nil, reject(ReasonInvalidOrg, "the user name of this old SSH URL is not an organization name (1 to 50 letters, digits and hyphens): ssh://{organization}@vs-ssh.visualstudio.com:22/{project}/_ssh/{repository}")
				}
			}
			if err := r.splitServices(segs[:marker], org, vd); err != nil {
				return nil, err
			}
			return r, nil
		case class == hostSSHDevAzure:
			return nil, reject(ReasonWrongSSHPath, "ssh.dev.azure.com serves paths of the form v3/{organization}/{project}/{repository}")
		}
		return nil, reject(ReasonWrongSSHPath, "%s serves v3/{organization}/{project}/{repository} or the old {project}/_ssh/{repository} paths", host)
	}
	// Azure DevOps Server over SSH.
	if marker < 0 {
		if v3 {
			return nil, reject(ReasonSSHv3NotCloud, "v3/{organization}/... SSH paths exist only on ssh.dev.azure.com and vs-ssh.visualstudio.com; %s is not Azure DevOps Services, so its SSH URL has /_git/", host)
		}
		return nil, reject(ReasonMissingGit, "the URL has no /_git/ segment, so it names no repository; copy the SSH clone URL from the repository's Clone dialog")
	}
	if err := r.setRepository(segs[marker+1:]); err != nil {
		return nil, err
	}
	if err := r.splitServer(segs[:marker], vd); err != nil {
		return nil, err
	}
	return r, nil
}

// parseV3 reads {org}/{project}[/{team}][/_optimized|_full]/{repo} of an SSH v3 path (the team
// and the marker as SourceLink's AzureDevOpsUrlParser.TryParseHostedSsh reads them; the team is
// dropped); vd as for splitServices.
func (r *RemoteURL) parseV3(segs []string, vd *[]string) error {
	r.Kind = KindServices
	if vd != nil && len(*vd) > 0 {
		return inField(reject(ReasonVirtualDirMismatch, "Azure DevOps Services has no virtual directory; leave it empty"), "virtualDirectory")
	}
	n := len(segs)
	if n >= 4 && (strings.EqualFold(segs[n-2], "_optimized") || strings.EqualFold(segs[n-2], "_full")) {
		r.RefsMarker = strings.ToLower(segs[n-2])
		segs = append(segs[:n-2:n-2], segs[n-1])
	}
	switch len(segs) {
	case 0:
		return reject(ReasonMissingOrg, "the SSH URL names no organization: git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}")
	case 1:
		return reject(ReasonMissingProject, "the SSH URL names no project: git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}")
	case 2:
		return reject(ReasonMissingRepository, "the SSH URL names no repository: git@ssh.dev.azure.com:v3/{organization}/{project}/{repository}")
	case 3, 4:
	default:
		return reject(ReasonPathAfterRepo, "the SSH URL goes on after v3/{organization}/{project}/{repository}")
	}
	if strings.EqualFold(segs[0], "DefaultCollection") {
		return reject(ReasonDefaultCollOrg, "DefaultCollection is not an organization: v3/{organization}/{project}/{repository}")
	}
	if err := checkOrganization(segs[0]); err != nil {
		return err
	}
	repo := segs[len(segs)-1]
	if err := checkName("repository", repo); err != nil {
		return err
	}
	r.Organization, r.Collection, r.Repository = segs[0], segs[0], repo
	return r.setProject(segs[1 : len(segs)-1])
}

// checkOrganization applies Azure DevOps' organization-name rule: 1 to 50 letters, digits and
// hyphens, starting and ending with a letter or digit.
func checkOrganization(org string) error {
	ok := len(org) >= 1 && len(org) <= 50 && org[0] != '-' && org[len(org)-1] != '-'
	for i := 0; ok && i < len(org); i++ {
		c := org[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return reject(ReasonInvalidOrg, "%q is not an organization name: 1 to 50 letters, digits and hyphens, starting and ending with a letter or digit", org)
	}
	return nil
}

// checkName rejects what cannot be the name of a collection, project, team or repository on
// any Azure DevOps version, and nothing more: today's naming rules (no "+", "&", "%", "@", at
// most 64 characters, ...; learn.microsoft.com/azure/devops/organizations/settings/naming-restrictions)
// are the server's to apply, since the same page says the REST API accepts names the UI
// refuses, and older servers and accounts may hold such names. Refused: a backslash (every
// version's rules forbid it; browsers read it as a slash, so the URL names another path), a
// leading underscore (every version keeps those for its routes: _git, _apis, _ssh, _full), and
// more than 256 characters (four times any version's limit; a bound on the input).
func checkName(what, name string) error {
	switch {
	case strings.IndexByte(name, '\\') >= 0:
		return reject(ReasonInvalidName, "the %s name %q has a backslash, which Azure DevOps names cannot contain", what, name)
	case strings.HasPrefix(name, "_"):
		return reject(ReasonInvalidName, "%q cannot be a %s name: names starting with an underscore are Azure DevOps' own routes; paste the clone URL as Azure DevOps shows it", name, what)
	case utf8.RuneCountInString(name) > 256:
		return reject(ReasonInvalidName, "the %s name is longer than 256 characters", what)
	}
	return nil
}

// hasPrefixFold reports whether segs starts with prefix, comparing case-insensitively and
// without the spaces around each segment (a typed virtual directory loses them: " a/b" is
// "a/b").
func hasPrefixFold(segs, prefix []string) bool {
	if len(prefix) > len(segs) {
		return false
	}
	for i := range prefix {
		if !strings.EqualFold(strings.TrimSpace(segs[i]), strings.TrimSpace(prefix[i])) {
			return false
		}
	}
	return true
}

// joinHostPort writes host (IPv6 in brackets) and an optional port.
func joinHostPort(host, port string) string {
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	if port == "" {
		return host
	}
	return host + ":" + port
}

// reject returns the error of a rejected remote URL: ErrInvalidInput, field "remoteUrl".
func reject(reason connections.Reason, format string, args ...any) *connections.Error {
	e := connections.Errorf(connections.ErrInvalidInput, reason, format, args...)
	e.Field = "remoteUrl"
	return e
}

// inField moves e to another request field.
func inField(e *connections.Error, field string) *connections.Error {
	e.Field = field
	return e
}

// hostKind classifies an HTTP(S) host (with or without port) by exact match: dev.azure.com and
// {org}.visualstudio.com are Services; anything else, including hosts that merely contain
// those names (dev.azure.com.evil.example), is a Server (azure-devops.md §2).
func hostKind(host string) Kind {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	if c := classifyHost(h); c == hostDevAzure || c == hostLegacy {
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
	return classifyHost(h) == hostLegacy
}

// redactURL removes user info from a URL string for use in messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		if u.User == nil {
			return s // an "@" further on is part of the path, not user info
		}
		u.User = nil
		return u.String()
	}
	if i := strings.Index(s, "://"); i >= 0 {
		authority, _ := splitAuthority(s[i+3:])
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			return s[:i+3] + s[i+3+at+1:]
		}
	}
	return s
}
