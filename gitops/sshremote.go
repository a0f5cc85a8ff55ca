package gitops

import (
	"net/url"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

// remoteOf checks opts.URL and returns what the door checks before anything is written: the
// URL itself for http(s), and for an SSH clone (opts.SSH set) ssh://host:port with the run
// that carries the key (not started yet: sshRun.start). Errors: ErrInvalidInput (fields url,
// sshKey).
func remoteOf(opts *CloneOptions) (*url.URL, *sshRun, error) {
	if opts.SSH != nil {
		r, err := newSSHRun(opts)
		if err != nil {
			return nil, nil, err
		}
		return r.ep.url(), r, nil
	}
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, nil, invalidf("url", "the clone URL must be an http(s) URL (an SSH URL needs an SSH key)")
	}
	if u.User != nil {
		return nil, nil, invalidf("url", "the clone URL must not carry a user name or password; the credential is sent separately")
	}
	return u, nil, nil
}

// proxyOptions is the ProxyOptions of opts's go-git endpoints: the SSH run's door dialer
// (sshdial.go), none over HTTP (the door is in the HTTP client, transport.go).
func proxyOptions(opts CloneOptions) transport.ProxyOptions {
	if opts.ssh != nil {
		return opts.ssh.proxy()
	}
	return transport.ProxyOptions{}
}
