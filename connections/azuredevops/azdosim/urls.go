package azdosim

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// checkPublicURL validates Options.PublicURL: absolute http(s) URL without query.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("azdosim: invalid public URL %q", raw)
	}
	return nil
}

// publicBase is the base every URL in an answer starts with (docs/azure-devops-protocol.md §3, "Misconfigured
// server public URL"): Options.PublicURL when set, else the request's scheme and Host plus the
// virtual directory. No trailing slash.
func (s *Server) publicBase(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimSuffix(s.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	for _, seg := range s.vdir {
		base += "/" + url.PathEscape(seg)
	}
	return base
}

// esc percent-encodes one path segment: a space becomes %20, never "+" (docs/azure-devops-protocol.md §2).
func esc(seg string) string { return url.PathEscape(seg) }

// urlSet builds the URLs of one answer from the public base.
type urlSet struct{ base string }

func (u urlSet) collection(c string) string { return u.base + "/" + esc(c) }

func (u urlSet) project(c, projectID string) string {
	return u.collection(c) + "/_apis/projects/" + projectID
}

func (u urlSet) repoAPI(c, projectID, repoID string) string {
	return u.collection(c) + "/" + projectID + "/_apis/git/repositories/" + repoID
}

// remote is the clone and web URL {public}/{collection}/{project}/_git/{repo}.
func (u urlSet) remote(c, project, repo string) string {
	return u.collection(c) + "/" + esc(project) + "/_git/" + esc(repo)
}

// ssh is ssh://{host}:22/{virtual dir/}{collection}/{project}/_git/{repo}, with the host
// and virtual directory taken from the public base (docs/azure-devops-protocol.md §2, "Server SSH").
func (u urlSet) ssh(c, project, repo string) string {
	pu, err := url.Parse(u.base)
	if err != nil {
		return ""
	}
	path := strings.TrimSuffix(pu.EscapedPath(), "/")
	return "ssh://" + pu.Hostname() + ":22" + path + "/" + esc(c) + "/" + esc(project) + "/_git/" + esc(repo)
}

// sshURL is a repository's sshUrl. With SSH off (Options.SSHAddr empty) it is u.ssh, port 22
// on the public host, as before the simulator served SSH (the simulator's choice: whether a
// real server without SSH still answers sshUrl is unconfirmed). With SSH on it names the
// simulator's SSH listener, so the URL can be cloned:
//   - Services: ssh://git@{ssh host}:{ssh port}/v3/{org}/{project}/{repo}. The real value is
//     git@ssh.dev.azure.com:v3/{org}/{project}/{repo} (docs/azure-devops-protocol.md §2), but
//     the scp-like form cannot carry a port, so the simulator answers the equivalent ssh:// URL.
//   - Server: ssh://{ssh host}:{ssh port}/{virtual dir/}{collection}/{project}/_git/{repo}.
//
// The host is the SSH listener's address when it is a specific one (127.0.0.1), else the
// public base's host.
func (s *Server) sshURL(u urlSet, c, project, repo string) string {
	addr := s.SSHAddr()
	if addr == "" {
		return u.ssh(c, project, repo)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return u.ssh(c, project, repo)
	}
	pu, err := url.Parse(u.base)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = pu.Hostname()
	}
	hostPort := net.JoinHostPort(host, port)
	if s.opts.Services {
		return "ssh://git@" + hostPort + "/v3/" + esc(c) + "/" + esc(project) + "/" + esc(repo)
	}
	path := strings.TrimSuffix(pu.EscapedPath(), "/")
	return "ssh://" + hostPort + path + "/" + esc(c) + "/" + esc(project) + "/_git/" + esc(repo)
}

// SSHURL returns the ssh:// clone URL of a repository on the simulator's SSH server, the same
// as the sshUrl of REST answers with SSH on: Services ssh://git@{ssh addr}/v3/{org}/{project}/{repo},
// Server ssh://{ssh addr}/{virtual dir/}{collection}/{project}/_git/{repo}, names
// percent-encoded; collection "" is the default collection. Names are not checked against
// the repositories. "" when SSH is not served.
func (s *Server) SSHURL(collection, project, repo string) string {
	if s.SSHAddr() == "" {
		return ""
	}
	if collection == "" {
		s.mu.Lock()
		collection = s.collections[0].name
		s.mu.Unlock()
	}
	base := "http://" + s.SSHAddr()
	for _, seg := range s.vdir {
		base += "/" + esc(seg)
	}
	return s.sshURL(urlSet{base: base}, collection, project, repo)
}
