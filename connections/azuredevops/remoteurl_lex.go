// The lexical layer of the remote URL parser (remoteurl.go): schemes, user info, host and
// port, path segments and the classes of hosts.

package azuredevops

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/repoconnect/repoconnect/connections"
)

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

// hostClass is what a host is, judged by exact match (docs/azure-devops-protocol.md §2).
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
// those names (dev.azure.com.evil.example), is a Server (docs/azure-devops-protocol.md §2).
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
