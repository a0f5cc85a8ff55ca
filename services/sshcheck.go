package services

// The SSH check (docs/ssh.md): authenticate with the connection's key and list the refs of
// one repository through git-upload-pack, then tell apart what failed.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/gitops"
	"github.com/repoconnect/repoconnect/services/store"
)

// sshCheckTimeout bounds the SSH part of a check (dial, handshake, ref advertisement).
const sshCheckTimeout = 30 * time.Second

// CheckSSH authenticates with the connection's key and lists the refs of repository
// (an id or "project/name"; "" means the first repository the catalog lists that is not
// disabled) through git-upload-pack, and records the outcome on the connection (CheckedAt,
// CheckReason, CheckMessage; a host key that is not trusted as the seen one). A failure is an
// SSHCheck with OK false and a reason, not an error: ssh_key_not_added (with where to add the
// key and its fingerprint), ssh_key_type_refused (with the types the server accepts),
// ssh_disabled, ssh_wrong_port, host_key_unconfirmed (HostKeyFingerprint is the key to
// compare and accept: the first check of a Server ends so), host_key_changed,
// destination_not_allowed, unreachable. Errors are the lookup's: store.ErrNotFound,
// ErrInvalidInput (field ssh when the connection has no SSH key, field repository), the
// REST errors of finding the repository (with the connection's PAT or token), and
// *RateLimitedError past the tenant's ActionCheckToken budget.
func (s *Service) CheckSSH(ctx context.Context, tenant, id, repository string) (*SSHCheck, error) {
	if err := s.allow(ctx, tenant, ActionCheckToken); err != nil {
		return nil, err
	}
	ctx = connKey(ctx, id)
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	if rec.SSH == nil {
		return nil, invalid("ssh", "the connection has no SSH key: generate one or supply your own first")
	}
	repo, err := s.sshCheckRepository(ctx, tenant, rec, strings.TrimSpace(repository))
	if err != nil {
		return nil, err
	}
	o, err := s.openRec(ctx, rec)
	if err != nil {
		return nil, err
	}
	t, err := s.sshTargetOf(o, repo)
	if err != nil {
		return nil, err
	}
	res := &SSHCheck{Repository: repo.Project.Name + "/" + repo.Name, URL: t.URL}
	cctx, cancel := context.WithTimeout(ctx, sshCheckTimeout)
	refs, seen, err := s.listRefsSSH(cctx, t)
	cancel()
	if err != nil && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	res.Refs, res.HostKeyFingerprint = refs, seen
	if err == nil {
		res.OK = true
	} else {
		reason, msg := s.diagnoseSSH(ctx, rec, t, err)
		res.Reason, res.Message = string(reason), msg
		var he *gitops.HostKeyError
		if errors.As(err, &he) {
			res.HostKeyFingerprint = he.PresentedFingerprint
			s.recordSeenHostKey(ctx, rec, he)
		}
	}
	s.recordSSHCheck(ctx, rec, res)
	s.log.InfoContext(ctx, "ssh check", "tenant", tenant, "connection", id, "repository", res.Repository,
		"ok", res.OK, "reason", res.Reason, "refs", res.Refs)
	return res, nil
}

// sshCheckRepository finds the repository a check lists: by id, by "project/name", or the
// first the catalog lists that is not disabled.
func (s *Service) sshCheckRepository(ctx context.Context, tenant string, rec *store.Connection, which string) (*connections.Repository, error) {
	if len(which) > 400 {
		return nil, invalid("repository", "repository is an id or project/name")
	}
	project, name, byName := strings.Cut(which, "/")
	if which != "" && !byName {
		o, err := s.openRec(ctx, rec)
		if err != nil {
			return nil, err
		}
		var repo *connections.Repository
		err = s.call(ctx, o, func(c *azuredevops.Client) (err error) {
			repo, err = c.GetRepository(ctx, which)
			return err
		})
		if errors.Is(err, connections.ErrNotFound) {
			return nil, invalid("repository", "the connection cannot see a repository with id %q", which)
		}
		return repo, err
	}
	repos, err := s.ListRepositories(ctx, tenant, rec.ID, project, "")
	if err != nil {
		return nil, err
	}
	for i := range repos {
		r := &repos[i]
		if byName && strings.EqualFold(r.Name, name) || !byName && !r.IsDisabled {
			return r, nil
		}
	}
	if byName {
		return nil, invalid("repository", "the project %q has no repository %q the connection can see", project, name)
	}
	return nil, invalid("repository", "the connection sees no repository to check SSH with: create one, or name one")
}

// diagnoseSSH tells what an SSH check's error means for the user.
func (s *Service) diagnoseSSH(ctx context.Context, rec *store.Connection, t *sshTarget, err error) (connections.Reason, string) {
	e := connections.AsError(err)
	reason := connections.ReasonUnreachable
	if e != nil && e.Reason != "" {
		reason = e.Reason
	}
	d := rec.SSH
	host := sshHostOf(t.URL)
	var he *gitops.HostKeyError
	switch {
	case errors.As(err, &he):
		he2 := hostKeyError(rec, he)
		return he2.Reason, he2.Message
	case errors.Is(err, connections.ErrDestinationNotAllowed):
		return connections.ReasonDestinationNotAllowed, messageOf(err)
	case reason == connections.ReasonSSHKeyTypeRefused || reason == connections.ReasonSSHKeyNotAdded ||
		errors.Is(err, connections.ErrUnauthorized):
		accepted, aerr := s.acceptedSSHKeyTypes(ctx, rec, true)
		if aerr == nil && (reason == connections.ReasonSSHKeyTypeRefused || !slices.Contains(accepted, azuredevops.SSHKeyType(d.KeyType))) {
			return connections.ReasonSSHKeyTypeRefused, fmt.Sprintf("the server does not accept %s keys; it accepts %s: generate a new key (or supply one of those types) and add its public key",
				strings.ToUpper(d.KeyType), typeList(accepted))
		}
		where := "User settings > SSH public keys"
		if ep, err := endpointOf(rec); err == nil {
			where += " (" + azuredevops.SSHPublicKeysURL(ep) + ")"
		}
		return connections.ReasonSSHKeyNotAdded, fmt.Sprintf("the server refused the key %s: add the public key under %s, signed in as the account that clones (the list shows the fingerprint %s), then check again",
			d.Fingerprint, where, d.Fingerprint)
	case reason == connections.ReasonSSHDisabled || isConnRefused(err):
		if d.Port != 0 && t.Port != t.AdvertisedPort {
			return connections.ReasonSSHWrongPort, fmt.Sprintf("nothing accepts connections at %s port %d, and the server's SSH URL names port %d: clear the port setting, or set the port SSH listens on",
				host, t.Port, t.AdvertisedPort)
		}
		why := "nothing accepts SSH connections at " + host + " port " + strconv.Itoa(t.Port)
		if !t.Advertised {
			why = "the server's answer names no SSH URL for the repository, and " + why
		}
		return connections.ReasonSSHDisabled, why + ": SSH is turned off on the server, or listens elsewhere: the server's administration console, Application Tier > SSH, says which port (set it on the connection if it differs)"
	case reason == connections.ReasonSSHWrongPort:
		return connections.ReasonSSHWrongPort, fmt.Sprintf("%s port %d answers, but not with SSH: set the port SSH listens on (the server's administration console, Application Tier > SSH)", host, t.Port)
	}
	return reason, messageOf(err)
}

// recordSSHCheck writes a check's outcome on the connection, unless its key was replaced
// meanwhile.
func (s *Service) recordSSHCheck(ctx context.Context, rec *store.Connection, res *SSHCheck) {
	_, err := s.mutate(detach(ctx), rec.TenantID, rec.ID, func(r *store.Connection) error {
		if r.SSH == nil || r.SSH.Fingerprint != rec.SSH.Fingerprint {
			return nil
		}
		r.SSH.CheckedAt, r.SSH.CheckReason, r.SSH.CheckMessage = s.now().UTC(), res.Reason, res.Message
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.WarnContext(ctx, "could not record an SSH check", "connection", rec.ID, "err", err)
	}
}

// isConnRefused reports whether err is a refused TCP connection.
func isConnRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// sshHostOf is the host name of an ssh:// URL, for messages.
func sshHostOf(raw string) string {
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		hostport, _, _ := strings.Cut(rest, "/")
		if i := strings.LastIndex(hostport, "@"); i >= 0 {
			hostport = hostport[i+1:]
		}
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			return h
		}
		return hostport
	}
	return raw
}

// messageOf is the user-facing sentence of err.
func messageOf(err error) string {
	if e := connections.AsError(err); e != nil {
		return e.Message
	}
	return "the SSH check failed: " + err.Error()
}

// typeList names key types for a sentence: "RSA" or "RSA, ECDSA".
func typeList(ts []azuredevops.SSHKeyType) string {
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, strings.ToUpper(string(t)))
	}
	if len(names) == 0 {
		return "no key type this service knows"
	}
	return strings.Join(names, ", ")
}
