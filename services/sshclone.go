package services

// Clones over SSH (docs/ssh.md): the SSH URL of a repository, the key, the host keys trusted
// for the server, and what a host key that is not trusted does to the connection.

import (
	"context"
	"errors"
	"net"
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
	// replaced by the connection's Port when set (then in the ssh:// form).
	URL string
	// Addr is the "host:port" dialled (gitops.SSHURL.Addr: the address go-git connects to),
	// for which the host key is pinned; Host its host.
	Addr, Host string
	// Advertised is true when the REST answer carried an sshUrl; AdvertisedPort is the port
	// of that URL, or of the built one (22); Port the port dialled.
	Advertised           bool
	AdvertisedPort, Port int
	Auth                 *gitops.SSHAuth
}

// sshTargetOf returns the SSH target of repo for o's connection, which holds an SSH key, the
// host keys trusted for the address dialled and the deployment's SSH algorithms
// (azuredevops.SSHKeyPolicyFor: the signature and host key algorithms). The
// URL is read by gitops.ParseSSHURL, the reader the clone dials with, so the port diagnosed
// is the port dialled. Errors: the keyring's when the key does not open; ErrInvalidInput
// when the connection has no key or the SSH URL is malformed (the parser's sentence).
func (s *Service) sshTargetOf(o *opened, repo *connections.Repository) (*sshTarget, error) {
	key, err := s.openSSHKey(o.rec)
	if err != nil {
		return nil, err
	}
	t := &sshTarget{URL: repo.SSHURL, Advertised: repo.SSHURL != ""}
	if !t.Advertised {
		t.URL = azuredevops.SSHCloneURL(o.ep, repo.Project.Name, repo.Name, 0)
	}
	u, err := gitops.ParseSSHURL(t.URL)
	if err != nil {
		return nil, connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
			"the SSH URL of the repository %q cannot be used: %s", repo.Name, messageOf(err)).Wrap(err)
	}
	t.AdvertisedPort, t.Port = u.Port, u.Port
	if p := o.rec.SSH.Port; p != 0 { // the URL as the server wrote it otherwise (scp form included)
		u.Port = p
		t.URL, t.Port = u.String(), p
	}
	t.Addr, t.Host = u.Addr(), u.Host
	// The deployment's algorithms (Services: SHA-2 signatures and host keys only, so x/crypto
	// never falls back to SHA-1 "ssh-rsa", which Services refuses).
	policy := azuredevops.SSHKeyPolicyFor(keyPolicyEndpoint(o.rec, o.ep), "")
	t.Auth = &gitops.SSHAuth{PrivateKeyPEM: key, HostKeyFingerprints: s.trustedHostKeys(o.rec, t.Addr),
		SignatureAlgorithms: policy.SignatureAlgorithms, HostKeyAlgorithms: policy.HostKeyAlgorithms}
	if !isServices(o.rec) && len(t.Auth.HostKeyFingerprints) > 0 {
		// A Server's trusted key's type is asked for first, so that a second key of another
		// type on the server does not read as a changed key (gitops.PreferHostKeyType).
		keyType, _, _ := strings.Cut(o.rec.SSH.HostKey, " ")
		t.Auth.HostKeyAlgorithms = gitops.PreferHostKeyType(keyType)
	}
	return t, nil
}

// serverPin is rec's SSH details when they hold a host key confirmed for a Server and
// trusted at addr (the "host:port" dialled): confirmed for addr, or before hosts were
// recorded (HostKeyHost "", trusted for the host the connection dials). nil otherwise, and
// always for Services, whose keys are pinned by their published fingerprints.
func serverPin(rec *store.Connection, addr string) *store.SSHDetails {
	d := rec.SSH
	if isServices(rec) || d == nil || d.HostKeyFingerprint == "" || (d.HostKeyHost != "" && !sameSSHAddr(d.HostKeyHost, addr)) {
		return nil
	}
	return d
}

// trustedHostKeys are the host key fingerprints trusted for rec's server at addr (the
// "host:port" dialled): Services' pins, whatever the host; or the key confirmed for a Server
// when it was confirmed for addr (a key confirmed before hosts were recorded, HostKeyHost "",
// is trusted for the host the connection dials). None otherwise: the key of another host is
// unconfirmed, and confirming it moves the trust there.
func (s *Service) trustedHostKeys(rec *store.Connection, addr string) []string {
	if isServices(rec) {
		return s.servicesHostKeys()
	}
	if d := serverPin(rec, addr); d != nil {
		return []string{d.HostKeyFingerprint}
	}
	return nil
}

// sameSSHAddr reports whether "host:port" a and b are the same SSH server: host names
// compared without case or a final dot, ports as numbers.
func sameSSHAddr(a, b string) bool {
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return false
	}
	an, err1 := strconv.Atoi(ap)
	bn, err2 := strconv.Atoi(bp)
	return err1 == nil && err2 == nil && an == bn &&
		strings.EqualFold(strings.TrimSuffix(ah, "."), strings.TrimSuffix(bh, "."))
}

// hasFingerprint reports whether fp is among pins (written as a user or operator may:
// "SHA256:" and padding optional).
func hasFingerprint(pins []string, fp string) bool {
	for _, p := range pins {
		if n, ok := azuredevops.NormalizeSSHFingerprint(p); ok && n == fp {
			return true
		}
	}
	return false
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

// errUnchanged stops a mutate that has nothing to write.
var errUnchanged = errors.New("unchanged")

// recordSeenHostKey stores the host key he presented, with the "host:port" that presented
// it, as the connection's seen key, for the user to compare and accept. It writes nothing
// when, in the record as it is now (not as the clone read it), the key is already trusted
// for that host (accepted meanwhile), is already the seen one, or the connection's SSH key
// was removed or replaced since rec was read (the clone's view is stale).
func (s *Service) recordSeenHostKey(ctx context.Context, rec *store.Connection, he *gitops.HostKeyError) {
	if rec.SSH == nil {
		return
	}
	_, err := s.mutate(detach(ctx), rec.TenantID, rec.ID, func(r *store.Connection) error {
		switch d := r.SSH; {
		case d == nil || d.Fingerprint != rec.SSH.Fingerprint,
			hasFingerprint(s.trustedHostKeys(r, he.Host), he.PresentedFingerprint),
			d.SeenHostKeyFingerprint == he.PresentedFingerprint && d.SeenHostKeyHost == he.Host:
			return errUnchanged
		}
		r.SSH.SeenHostKey, r.SSH.SeenHostKeyFingerprint, r.SSH.SeenHostKeyHost = he.Presented, he.PresentedFingerprint, he.Host
		r.SSH.SeenAt = s.now().UTC()
		return nil
	})
	if err != nil && !errors.Is(err, errUnchanged) && !errors.Is(err, store.ErrNotFound) {
		s.log.WarnContext(ctx, "could not record a seen SSH host key", "connection", rec.ID, "err", err)
	}
}

// hostKeyError is the error of a host key that is not trusted, kind ErrHostKey, with what to
// do (azuredevops.DescribeSSHRefusal; the caller wraps the cause), naming the "host:port"
// dialled and the connection's own page of SSH public keys. A Services connection's key is
// always host_key_changed: its pins are never empty, and nobody accepts another one on the
// connection (the sentence says what a change means and what the operator does).
func (s *Service) hostKeyError(rec *store.Connection, he *gitops.HostKeyError) *connections.Error {
	reason := connections.ReasonHostKeyUnconfirmed
	if he.Err != nil && he.Err.Reason != "" {
		reason = he.Err.Reason
	}
	ep, _ := endpointOf(rec)
	f := azuredevops.SSHFailure{Reason: reason, HostKeyFingerprint: he.PresentedFingerprint,
		PinnedFingerprints: s.trustedHostKeys(rec, he.Host), Host: he.Host, AddKeyURL: azuredevops.SSHPublicKeysURL(ep)}
	_, port, _ := net.SplitHostPort(he.Host)
	f.Port, _ = strconv.Atoi(port)
	if isServices(rec) {
		f.Reason = connections.ReasonHostKeyChanged
		ep = keyPolicyEndpoint(rec, ep) // Services' sentences, wherever Options point it (the demo)
	}
	e := azuredevops.DescribeSSHRefusal(ep, "", f)
	if isServices(rec) {
		return e
	}
	if d := rec.SSH; f.Reason == connections.ReasonHostKeyUnconfirmed && d != nil && d.HostKeyFingerprint != "" && d.HostKeyHost != "" {
		e.Message += "; the key confirmed for this connection is " + d.HostKeyHost + "'s, and accepting this one moves the trust to " + he.Host
	}
	if f.Reason == connections.ReasonHostKeyChanged {
		e.Message += ": on the connection's page, or with `repoconnect connection accept-host-key`"
	}
	return e
}
