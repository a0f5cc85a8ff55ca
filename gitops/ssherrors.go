package gitops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/repoconnect/repoconnect/connections"
)

// The errors of a clone over SSH, at the edge as translate (clone.go) does for HTTP. gitops
// reports facts; the services layer adds what it knows (a key type the server refuses, SSH
// disabled on a Server):
//
//	host key not trusted                       → *HostKeyError (ErrHostKey)
//	"ssh: unable to authenticate … publickey"  → ErrUnauthorized, ssh_key_not_added
//	no common signature/host key algorithm     → ErrProtocol, protocol_error (names the lists)
//	connection refused, DNS, timeout, reset    → ErrUnreachable, unreachable (names host:port)
//	an answer that is no SSH greeting          → ErrUnreachable, ssh_wrong_port
//	git-upload-pack's stderr (TF401019 …)      → ErrNotFound (TF401027: ErrForbidden)
//
// The remote's words stay in the error's cause (Err), for logs; the message never quotes them.

// sshPublicKeysPlace is where a user adds a public key (docs/ssh.md).
const sshPublicKeysPlace = "User settings > SSH public keys"

// translate maps err, the failure of one of the run's sessions, to its *connections.Error
// or *HostKeyError; nil when the error is none of SSH's own (Clone's translate classifies
// it: a missing branch, an empty repository, a limit...). timeout is the clone's bound.
func (r *sshRun) translate(err error, timeout time.Duration) error {
	r.mu.Lock()
	refused, greeting, tooMuch := r.refused, r.greeting, r.tooMuch
	r.mu.Unlock()
	if tooMuch != nil {
		return tooMuch // err is the connection closed under go-git
	}
	var he *HostKeyError
	if errors.As(err, &he) {
		return he
	}
	if refused != nil {
		return refused
	}
	addr := r.ep.Addr()
	if r.ctx != nil && errors.Is(r.ctx.Err(), context.DeadlineExceeded) {
		// The clone's bound closed the connection: whatever go-git read then is no answer.
		return connections.RecognizeTransport(fmt.Errorf("%w: %w", context.DeadlineExceeded, err), addr, timeout)
	}
	if ce := connections.AsError(err); ce != nil {
		return ce // the door's refusal, a limit
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "no common public key signature algorithm"):
		return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
			"%s accepts none of the SSH signature algorithms allowed for the RSA key (%s): it offers others only, such as SHA-1 ssh-rsa, which Azure DevOps Services refuses; the key was not offered",
			addr, strings.Join(r.sigAlgos, ", ")).Wrap(err)
	case strings.Contains(msg, "no common algorithm for host key"):
		return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
			"%s offers none of the host key algorithms asked for (%s), such as a host key signed with SHA-1 ssh-rsa only; nothing was sent",
			addr, strings.Join(r.hostKeyAlgos, ", ")).Wrap(err)
	case strings.Contains(msg, "ssh: no common algorithm for"):
		return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
			"the SSH handshake with %s failed: it and this service share no SSH algorithm (key exchange, cipher or MAC); nothing was sent", addr).Wrap(err)
	case strings.Contains(msg, "ssh: unable to authenticate"):
		return connections.Errorf(connections.ErrUnauthorized, connections.ReasonSSHKeyNotAdded,
			"%s refused the SSH key for user %q: the server does not know it. Add the public key under %s of an account that can read the repository",
			addr, r.user, sshPublicKeysPlace).Wrap(err)
	case strings.Contains(msg, "ssh: handshake failed") || strings.Contains(msg, "ssh: overflow reading version string"):
		if sshGreeting(greeting) {
			if te := connections.RecognizeTransport(err, addr, timeout); te != nil && connections.AsError(te) != nil {
				return te
			}
			return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
				"the SSH handshake with %s failed; check the SSH URL", addr).Wrap(err)
		}
		if len(greeting) > 0 || strings.Contains(msg, "overflow reading version string") {
			return connections.Errorf(connections.ErrUnreachable, connections.ReasonSSHWrongPort,
				"%s answers, but does not speak SSH; check the port of the SSH URL", addr).Wrap(err)
		}
		if te := connections.RecognizeTransport(err, addr, timeout); te != nil && connections.AsError(te) != nil {
			return te
		}
		return connections.Errorf(connections.ErrUnreachable, connections.ReasonUnreachable,
			"%s closed the connection before saying anything; check the host and port of the SSH URL, and that the server accepts SSH", addr).Wrap(err)
	}
	if remote, ok := remoteStderr(err); ok {
		if strings.Contains(remote, "TF401027") {
			return connections.Errorf(connections.ErrForbidden, connections.ReasonForbidden,
				"%s does not allow the SSH key's user to read the repository; check the user's permissions (Read under Repositories)", addr).Wrap(err)
		}
		return connections.Errorf(connections.ErrNotFound, connections.ReasonNotFound,
			"the repository was not found over SSH on %s: check the SSH URL, and that the key's user can read the repository and it is not disabled (Azure DevOps answers those as not found)", addr).Wrap(err)
	}
	if te := connections.RecognizeTransport(err, addr, timeout); connections.AsError(te) != nil {
		return te // refused, DNS, reset, timeout: named with host:port
	}
	return nil
}

// remoteStderr reports whether err is the remote git-upload-pack's own refusal (an ERR
// packet, or the first line of its stderr when it sent no advertisement), and its text.
func remoteStderr(err error) (string, bool) {
	var el *pktline.ErrorLine
	switch {
	case errors.As(err, &el):
		return el.Text, true
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return err.Error(), true
	case strings.HasPrefix(err.Error(), "unknown error: "): // go-git's wording of the stderr line
		return strings.TrimPrefix(err.Error(), "unknown error: "), true
	}
	return "", false
}

// sshGreeting reports whether b, the first bytes a server sent, hold an SSH version line
// ("SSH-" at the start of a line; RFC 4253 §4.2 allows other lines before it).
func sshGreeting(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "SSH-") {
			return true
		}
	}
	return false
}
