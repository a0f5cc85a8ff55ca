package services

// Clones over SSH (docs/ssh.md): the SSH URL of a repository, the key, the host keys trusted
// for the server, and what a host key that is not trusted does to the connection.

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
)

// sshTarget is where and how a repository of an SSH connection is reached.
type sshTarget struct {
	// URL is the SSH URL dialled: the repository's (REST sshUrl, else built), its port
	// replaced by the connection's Port when set.
	URL string
	// Advertised is true when the REST answer carried an sshUrl; AdvertisedPort is the port
	// of that URL, or of the built one (22); Port the port dialled.
	Advertised           bool
	AdvertisedPort, Port int
	Auth                 *gitops.SSHAuth
}

// sshTargetOf returns the SSH target of repo for o's connection, which holds an SSH key.
// Errors: the keyring's when the key does not open; ErrInvalidInput when the connection has
// no key or the SSH URL is malformed.
func (s *Service) sshTargetOf(o *opened, repo *connections.Repository) (*sshTarget, error) {
	key, err := s.openSSHKey(o.rec)
	if err != nil {
		return nil, err
	}
	t := &sshTarget{URL: repo.SSHURL, Advertised: repo.SSHURL != ""}
	if !t.Advertised {
		t.URL = azuredevops.SSHCloneURL(o.ep, repo.Project.Name, repo.Name, 0)
	}
	norm, port, err := sshURLForm(t.URL)
	if err != nil {
		return nil, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
			"the SSH URL of the repository %q cannot be read", repo.Name).Wrap(err)
	}
	t.AdvertisedPort, t.Port = port, port
	if p := o.rec.SSH.Port; p != 0 { // the URL as the server wrote it otherwise (scp form included)
		t.URL, t.Port = withPort(norm, p), p
	}
	t.Auth = &gitops.SSHAuth{PrivateKeyPEM: key, HostKeyFingerprints: s.trustedHostKeys(o.rec)}
	return t, nil
}

// trustedHostKeys are the host key fingerprints trusted for rec's server: Services' pins, or
// the key confirmed for a Server (none before a confirmation).
func (s *Service) trustedHostKeys(rec *store.Connection) []string {
	switch {
	case isServices(rec):
		return s.servicesHostKeys()
	case rec.SSH != nil && rec.SSH.HostKeyFingerprint != "":
		return []string{rec.SSH.HostKeyFingerprint}
	}
	return nil
}

// sshURLForm returns raw (ssh://[user@]host[:port]/path or the scp form user@host:path) as an
// ssh:// URL (the scp form's path after a "/"), and its port (22 when it names none).
func sshURLForm(raw string) (string, int, error) {
	if !strings.Contains(raw, "://") {
		at := strings.LastIndex(raw, "@")
		colon := strings.Index(raw[at+1:], ":")
		if colon <= 0 {
			return "", 0, errors.New("not an SSH URL")
		}
		colon += at + 1
		raw = "ssh://" + raw[:colon] + "/" + strings.TrimPrefix(raw[colon+1:], "/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, err
	}
	if u.Scheme != "ssh" || u.Hostname() == "" {
		return "", 0, errors.New("not an SSH URL")
	}
	port := 22
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return "", 0, errors.New("bad port")
		}
	}
	return u.String(), port, nil
}

// withPort returns the ssh:// URL raw with its port replaced.
func withPort(raw string, port int) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
	return u.String()
}

// sshCloneOptions makes opts an SSH clone of repo when o's connection holds an SSH key: the
// SSH URL, the key and the trusted host keys; the PAT or token is not sent. It reports
// whether it did.
func (s *Service) sshCloneOptions(o *opened, repo *connections.Repository, opts *gitops.CloneOptions) (bool, error) {
	if o.rec.SSH == nil {
		return false, nil
	}
	t, err := s.sshTargetOf(o, repo)
	if err != nil {
		return false, err
	}
	opts.URL, opts.SSH, opts.PAT, opts.Token = t.URL, t.Auth, "", ""
	return true, nil
}

// sshError is what an SSH clone's error does to the connection: a host key that is not
// trusted is recorded as seen (for the user to compare and accept) and comes back with a
// sentence that says what to do. Other errors are returned unchanged: a refused key is the
// key's matter, not the PAT's, so the connection's status stays.
func (s *Service) sshError(ctx context.Context, rec *store.Connection, err error) error {
	var he *gitops.HostKeyError
	if !errors.As(err, &he) {
		return err
	}
	s.recordSeenHostKey(ctx, rec, he)
	return s.hostKeyError(rec, he).Wrap(err)
}

// recordSeenHostKey stores the host key he presented as the connection's seen key, unless it
// is stored already.
func (s *Service) recordSeenHostKey(ctx context.Context, rec *store.Connection, he *gitops.HostKeyError) {
	if rec.SSH != nil && rec.SSH.SeenHostKeyFingerprint == he.PresentedFingerprint {
		return
	}
	_, err := s.mutate(detach(ctx), rec.TenantID, rec.ID, func(r *store.Connection) error {
		if r.SSH == nil {
			return nil
		}
		r.SSH.SeenHostKey, r.SSH.SeenHostKeyFingerprint, r.SSH.SeenAt = he.Presented, he.PresentedFingerprint, s.now().UTC()
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.WarnContext(ctx, "could not record a seen SSH host key", "connection", rec.ID, "err", err)
	}
}

// hostKeyError is the error of a host key that is not trusted, kind ErrHostKey, with what to
// do (azuredevops.DescribeSSHRefusal; the caller wraps the cause). A Services connection's
// key is always host_key_changed: its pins are never empty, and nobody confirms them.
func (s *Service) hostKeyError(rec *store.Connection, he *gitops.HostKeyError) *connections.Error {
	reason := connections.ReasonHostKeyUnconfirmed
	if he.Err != nil && he.Err.Reason != "" {
		reason = he.Err.Reason
	}
	ep, _ := endpointOf(rec)
	f := azuredevops.SSHFailure{Reason: reason, HostKeyFingerprint: he.PresentedFingerprint, PinnedFingerprints: s.trustedHostKeys(rec)}
	_, port, _ := net.SplitHostPort(he.Host)
	f.Port, _ = strconv.Atoi(port)
	if isServices(rec) {
		f.Reason = connections.ReasonHostKeyChanged
		if ep.Kind() != azuredevops.KindServices { // Options point Services elsewhere (the demo): name what was dialled
			ep, f.Host = keyPolicyEndpoint(rec, ep), he.Host
		}
	}
	e := azuredevops.DescribeSSHRefusal(ep, "", f)
	if f.Reason == connections.ReasonHostKeyChanged && !isServices(rec) {
		e.Message += ": on the connection's page, or with `repoconnect connection accept-host-key`"
	}
	return e
}
