package gitops

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
)

// Clones over SSH (CloneOptions.SSH): go-git's SSH transport negotiates, this package's
// indexer, resolver and checkout do the rest, as over HTTPS. What is SSH's own:
//
//   - the remote URL (sshEndpoint, below): ssh://[user@]host[:port]/path or the scp form
//     user@host:path, as go-git's transport.NewEndpoint reads them;
//   - the TCP connection, which goes through the clone's egress door (sshdial.go);
//   - the host key, checked against SSHAuth.HostKeyFingerprints before any credential is
//     sent (hostKeyCallback);
//   - the errors of the handshake and of the remote's git-upload-pack (ssherrors.go).
//
// go-git's process-wide SSH settings (no ~/.ssh/config, no ssh-agent, no known_hosts, the
// door's dialer) are made in capabilities.go.

// SSHAuth is the SSH credential of a clone (CloneOptions.SSH) and the host keys it trusts.
type SSHAuth struct {
	// User is the SSH user name; empty means the URL's, else "git" (Azure DevOps Services
	// ignores it but requires one; a Server accepts any).
	User string
	// PrivateKeyPEM is the private key, PEM (OpenSSH or PKCS#1/PKCS#8), unencrypted.
	PrivateKeyPEM connections.Secret
	// HostKeyFingerprints are the SHA-256 fingerprints ("SHA256:…", as ssh-keygen -l prints)
	// of the host keys trusted for the server; a host key not among them stops the clone
	// before any credential is sent: *HostKeyError with reason host_key_changed when the list
	// is not empty, host_key_unconfirmed when it is.
	HostKeyFingerprints []string
}

// HostKeyError is the error of a host key that is not trusted (kind connections.ErrHostKey).
// It carries the key the server presented, for the user to compare and confirm. Clone and
// ListRefs return it as is: errors.As(err, &he) finds it, errors.Is(err,
// connections.ErrHostKey) holds, and connections.AsError(err) is Err.
//
// (The groundwork's shape embedded *connections.Error, whose field named Error hid the Error
// method: *HostKeyError was no error, and errors.As on it panicked. The categorized error is
// the field Err now.)
type HostKeyError struct {
	// Err is the categorized error: kind ErrHostKey, reason host_key_changed (the list of
	// trusted keys was not empty) or host_key_unconfirmed (it was empty), a user-facing
	// message naming Host and PresentedFingerprint.
	Err *connections.Error
	// Presented is the host key the server showed (authorized_keys form, no comment);
	// PresentedFingerprint its SHA-256 fingerprint ("SHA256:…"); Host the "host:port" it was
	// shown for.
	Presented, PresentedFingerprint, Host string
}

// Error returns the categorized error's text.
func (e *HostKeyError) Error() string { return e.Err.Error() }

// Unwrap returns the categorized error.
func (e *HostKeyError) Unwrap() error { return e.Err }

// sshEndpoint is a parsed SSH remote URL: the user it names (may be empty), the host (a name
// or a literal address, without brackets) and port (22 when the URL has none), and the
// repository path sent to git-upload-pack as written.
type sshEndpoint struct {
	User, Host, Path string
	Port             int
}

// addr is the "host:port" the clone dials and the host key is pinned for.
func (e sshEndpoint) addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// url is the URL the door checks before anything is dialled (scheme ssh, explicit port).
func (e sshEndpoint) url() *url.URL {
	return &url.URL{Scheme: "ssh", Host: e.addr(), Path: "/" + e.Path}
}

// parseSSHURL reads an SSH remote URL as go-git's transport does (so that what the door
// checks and the host key is pinned for is what go-git connects to): ssh://[user@]host[:port]/path
// (ssh+git:// and git+ssh:// are not accepted: go-git has no transport for them) or the scp form
// [user@]host:path, e.g. git@ssh.dev.azure.com:v3/org/project/repo or
// ssh://server:22/tfs/Collection/Project/_git/Repo. Errors: ErrInvalidInput (field url) for
// anything else, a password in the URL, or a host that could be read as an ssh option.
func parseSSHURL(raw string) (sshEndpoint, error) {
	bad := invalidf("url", "the SSH clone URL must be ssh://[user@]host[:port]/path or user@host:path (e.g. git@ssh.dev.azure.com:v3/org/project/repo)")
	if strings.ContainsAny(raw, "\t\r\n\x00") {
		return sshEndpoint{}, bad
	}
	ep, err := transport.NewEndpoint(raw)
	if err != nil || ep.Protocol != "ssh" {
		return sshEndpoint{}, bad
	}
	if ep.Password != "" {
		return sshEndpoint{}, invalidf("url", "the SSH clone URL must not carry a password; the key is sent separately")
	}
	host := strings.TrimSuffix(strings.TrimPrefix(ep.Host, "["), "]")
	if !validHost(host) || strings.HasPrefix(ep.User, "-") || strings.Trim(ep.Path, "/") == "" {
		return sshEndpoint{}, bad
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	if port < 1 || port > 65535 {
		return sshEndpoint{}, bad
	}
	return sshEndpoint{User: ep.User, Host: host, Port: port, Path: ep.Path}, nil
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

// sshSigner parses the private key of a. Errors: ErrInvalidInput (field sshKey), never
// quoting the key.
func sshSigner(a *SSHAuth) (ssh.Signer, error) {
	if a.PrivateKeyPEM.Empty() {
		return nil, invalidf("sshKey", "the SSH private key is missing")
	}
	s, err := ssh.ParsePrivateKey([]byte(a.PrivateKeyPEM.Reveal()))
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return s, nil
	case errors.As(err, &missing):
		return nil, invalidf("sshKey", "the SSH private key is encrypted; the clone needs it unencrypted (the service seals it at rest)")
	}
	return nil, invalidf("sshKey", "the SSH private key cannot be read: it must be an unencrypted PEM private key (OpenSSH, PKCS#1, PKCS#8 or SEC 1)")
}

// normalizeFingerprint is a SHA-256 fingerprint as ssh.FingerprintSHA256 writes it:
// "SHA256:" and unpadded base64; a pin may omit the prefix or keep the padding.
func normalizeFingerprint(fp string) string {
	fp = strings.TrimSpace(fp)
	if len(fp) >= 7 && strings.EqualFold(fp[:7], "SHA256:") {
		fp = fp[7:]
	}
	return "SHA256:" + strings.TrimRight(fp, "=")
}

// hostKeyError is the refusal of key, presented by addr, under pins (non-empty: the key
// changed; empty: nobody confirmed one yet).
func hostKeyError(addr string, key ssh.PublicKey, pinned bool) *HostKeyError {
	fp := ssh.FingerprintSHA256(key)
	e := &HostKeyError{Presented: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))), PresentedFingerprint: fp, Host: addr}
	if pinned {
		e.Err = connections.Errorf(connections.ErrHostKey, connections.ReasonHostKeyChanged,
			"the SSH host key of %s changed: it presented %s (%s), which is not the key trusted for it; "+
				"nothing was sent. If the server's key was replaced on purpose, accept the new fingerprint; otherwise something may be intercepting the connection",
			addr, fp, key.Type())
	} else {
		e.Err = connections.Errorf(connections.ErrHostKey, connections.ReasonHostKeyUnconfirmed,
			"the SSH host key of %s is not confirmed yet: it presented %s (%s); compare it with the server's own fingerprint and confirm it; nothing was sent",
			addr, fp, key.Type())
	}
	e.Err.Err = fmt.Errorf("ssh host key %s of %s not trusted", fp, addr)
	return e
}

// trusted reports whether key's fingerprint is among pins.
func trusted(pins []string, key ssh.PublicKey) bool {
	fp := ssh.FingerprintSHA256(key)
	for _, p := range pins {
		if normalizeFingerprint(p) == fp {
			return true
		}
	}
	return false
}
