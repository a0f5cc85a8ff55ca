package gitops

import (
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// SSHURL is an SSH remote URL as ParseSSHURL reads it: what go-git's SSH transport dials
// (Host, Port) and asks the remote's git-upload-pack for (Path).
type SSHURL struct {
	// User is the user name the URL names; empty when it names none.
	User string
	// Host is a DNS name or a literal IP address, without brackets (e.g. "::1").
	Host string
	// Port is the TCP port, 1-65535: 22 when the URL names none, and always 22 in the scp
	// form (user@host:path has no port).
	Port int
	// Path is the repository path sent to git-upload-pack, as written, percent-decoded in the
	// ssh:// form: "/v3/org/proj/repo" for ssh://host/v3/org/proj/repo, "v3/org/proj/repo"
	// (no leading slash) for the scp form git@host:v3/org/proj/repo.
	Path string
}

// Addr is the "host:port" that is dialled and that the host key is pinned for (IPv6 hosts
// in brackets).
func (u SSHURL) Addr() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)) }

// String is u in the ssh:// form with its port always written,
// ssh://[user@]host:port/path (the path percent-encoded where needed); the scp form's path
// gains a leading "/" (ssh.dev.azure.com and Azure DevOps Server read both alike). Changing
// Port and calling String gives the same URL on another port.
func (u SSHURL) String() string {
	v := u.url()
	if u.User != "" {
		v.User = url.User(u.User)
	}
	return v.String()
}

// url is the URL the door checks before anything is dialled (scheme ssh, explicit port).
func (u SSHURL) url() *url.URL {
	return &url.URL{Scheme: "ssh", Host: u.Addr(), Path: "/" + strings.TrimPrefix(u.Path, "/")}
}

// scpPortPrefix is what go-git (internal/url, scpLikeUrlRegExp) reads as a port at the start
// of the scp form's path: host:2222:path dials port 2222, where git itself reads the path
// "2222:path" on port 22.
var scpPortPrefix = regexp.MustCompile(`^[0-9]{1,5}:`)

// urlScheme matches a URL that starts with a scheme ("ssh://…"): go-git reads every other
// SSH remote as the scp form, even one with "://" later in its path.
var urlScheme = regexp.MustCompile(`^[^:]+://`)

// ParseSSHURL reads an SSH remote URL, the one reader of SSH URLs of the project (gitops
// dials what it returns; services reports its port and builds URLs with String):
//
//   - ssh://[user@]host[:port]/path, e.g. ssh://server:22/tfs/Collection/Project/_git/Repo
//     or ssh://git@ssh.dev.azure.com/v3/org/project/repo (Port 22 when absent);
//   - the scp form [user@]host:path, e.g. git@ssh.dev.azure.com:v3/org/project/repo, which
//     has no port (Port 22).
//
// It agrees with go-git's transport.NewEndpoint, which the clone uses, on the host, port and
// path. It refuses, with ErrInvalidInput (field url), anything else: other schemes
// (ssh+git://, git+ssh://, http(s), file, local paths), a password in the URL, a host that
// is not a DNS name or IP address (e.g. "-oProxyCommand=…", read by ssh as an option), an
// empty path, a port out of range; the scp form host:NNNN:path, which go-git dials on port
// NNNN but git reads as the path "NNNN:path" on port 22 (write ssh://host:NNNN/path); and a
// path holding a quote ('), a backslash, a backtick or a control character (newline, NUL,
// DEL…), which would need quoting beyond the single quotes go-git puts around it in the
// command "git-upload-pack '<path>'" (Azure DevOps paths never hold them).
func ParseSSHURL(raw string) (SSHURL, error) {
	bad := invalidf("url", "the SSH clone URL must be ssh://[user@]host[:port]/path or user@host:path (e.g. git@ssh.dev.azure.com:v3/org/project/repo)")
	if strings.ContainsAny(raw, "\t\r\n\x00") {
		return SSHURL{}, bad
	}
	ep, err := transport.NewEndpoint(raw)
	if err != nil || ep.Protocol != "ssh" {
		return SSHURL{}, bad
	}
	if ep.Password != "" {
		return SSHURL{}, invalidf("url", "the SSH clone URL must not carry a password; the key is sent separately")
	}
	host := strings.TrimSuffix(strings.TrimPrefix(ep.Host, "["), "]")
	if !validHost(host) || strings.HasPrefix(ep.User, "-") || strings.Trim(ep.Path, "/") == "" {
		return SSHURL{}, bad
	}
	if !urlScheme.MatchString(raw) {
		// The scp form: the user is what precedes the first '@' (none holding ':'), the host
		// ends at the first ':' after it.
		if strings.ContainsRune(ep.User, ':') {
			return SSHURL{}, bad
		}
		rest := raw[strings.IndexByte(raw, ':')+1:]
		if p := scpPortPrefix.FindString(rest); p != "" {
			return SSHURL{}, invalidf("url", "the SSH clone URL %s:%s… is ambiguous: git reads %q as the start of the path, other clients as a port; write ssh://%s:%s/path for a port",
				host, p, p, host, strings.TrimSuffix(p, ":"))
		}
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	if port < 1 || port > 65535 {
		return SSHURL{}, bad
	}
	if strings.IndexFunc(ep.Path, unquotable) >= 0 {
		return SSHURL{}, invalidf("url", "the path of the SSH clone URL must not contain quotes, backslashes, backticks or control characters; use the HTTPS URL for this repository")
	}
	return SSHURL{User: ep.User, Host: host, Port: port, Path: ep.Path}, nil
}

// unquotable reports whether c cannot be sent inside go-git's single quotes as is.
func unquotable(c rune) bool {
	return c == '\'' || c == '\\' || c == '`' || c < 0x20 || c == 0x7f
}

// validHost reports whether host is an IP address or a DNS name (letters, digits, '-', '_'
// and dots, not starting with '-', which ssh would read as an option).
func validHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	if host == "" || len(host) > 253 || host[0] == '-' || host[0] == '.' {
		return false
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
