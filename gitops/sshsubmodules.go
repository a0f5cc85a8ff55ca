package gitops

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
)

// sshSubmoduleRemote is the remote of a submodule of a superproject cloned over SSH
// (opts.SSH): a relative URL resolves against the superproject's SSH URL and is cloned with
// its key and trusted host keys; an SSH URL on the same host and port too; an http(s) URL is
// cloned without any credential; an SSH URL on another host is refused (the key is sent to
// the superproject's host only, and no other host's key is trusted). Errors: plain, wrapped by
// the caller as ErrInvalidInput (field submodules).
func sshSubmoduleRemote(opts CloneOptions, raw string) (subRemote, error) {
	super, err := ParseSSHURL(opts.URL)
	if err != nil {
		return subRemote{}, err
	}
	if strings.HasPrefix(raw, "./") || strings.HasPrefix(raw, "../") {
		u, err := resolveSSHRelative(opts.URL, raw)
		if err != nil {
			return subRemote{}, err
		}
		return sameSSHHost(super, opts.SSH, u, raw)
	}
	if l := strings.ToLower(raw); strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		u, err := submoduleURL(nil, raw)
		if err != nil {
			return subRemote{}, err
		}
		return subRemote{url: u.String()}, nil
	}
	if _, err := ParseSSHURL(raw); err != nil {
		return subRemote{}, fmt.Errorf("only SSH, http(s) and relative submodule URLs can be cloned, not %q", raw)
	}
	return sameSSHHost(super, opts.SSH, raw, raw)
}

// sameSSHHost returns the remote u (an SSH URL, absolute, or resolved from the relative URL
// rel) with the superproject's key and trusted host keys when ParseSSHURL reads the same
// host (case-insensitive) and port in it as in super, the superproject's; else an error:
// the key is sent to the superproject's host and port only, whatever a .gitmodules holds
// (e.g. ../../../../2222:x against git@host:v3/org/proj/repo, git@host:2222:x, is refused:
// ParseSSHURL refuses the ambiguous host:port:path form).
func sameSSHHost(super SSHURL, auth *SSHAuth, u, rel string) (subRemote, error) {
	ep, err := ParseSSHURL(u)
	if err != nil {
		msg := err.Error()
		if ce := connections.AsError(err); ce != nil {
			msg = ce.Message
		}
		return subRemote{}, fmt.Errorf("%q resolves to %q: %s", rel, u, msg)
	}
	if !strings.EqualFold(ep.Host, super.Host) || ep.Port != super.Port {
		return subRemote{}, fmt.Errorf("it is on another SSH host (%s); the connection's SSH key is sent to %s only, so it cannot be cloned: use an https URL or a relative one in .gitmodules",
			ep.Addr(), super.Addr())
	}
	return subRemote{url: u, ssh: auth}, nil
}

// resolveSSHRelative resolves a relative submodule URL ("../other", "./sub") against the
// superproject's SSH URL taken as a directory, as git does: ssh://host/a/b + ../c is
// ssh://host/a/c; git@host:v3/org/proj/repo + ../other is git@host:v3/org/proj/other.
func resolveSSHRelative(super, rel string) (string, error) {
	if strings.Contains(super, "://") {
		base, err := url.Parse(super)
		if err != nil {
			return "", err
		}
		base.Path = strings.TrimSuffix(base.Path, "/") + "/"
		base.RawPath = ""
		u, err := base.Parse(rel)
		if err != nil {
			return "", err
		}
		return u.String(), nil
	}
	// The scp form: [user@]host:path.
	at := strings.IndexByte(super, '@') + 1
	colon := strings.IndexByte(super[at:], ':')
	if colon < 0 {
		return "", fmt.Errorf("the superproject's SSH URL %q has no path", super)
	}
	prefix, p := super[:at+colon+1], super[at+colon+1:]
	base := &url.URL{Path: "/" + strings.Trim(p, "/") + "/"}
	r, err := url.Parse(rel)
	if err != nil {
		return "", fmt.Errorf("the relative URL %q is not valid", rel)
	}
	res := base.ResolveReference(r).Path
	if !strings.HasPrefix(p, "/") {
		res = strings.TrimPrefix(res, "/")
	}
	return prefix + res, nil
}
