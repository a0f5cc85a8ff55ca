package services

// The SSH check (docs/ssh.md): authenticate with the connection's key and list the refs of
// one repository through git-upload-pack, then tell apart what failed.

import (
	"context"
	"errors"
	"fmt"
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
	o, err := s.openRec(ctx, rec)
	if err != nil {
		return nil, err
	}
	repo, err := s.sshCheckRepository(ctx, tenant, o, strings.TrimSpace(repository))
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
func (s *Service) sshCheckRepository(ctx context.Context, tenant string, o *opened, which string) (*connections.Repository, error) {
	if len(which) > 400 {
		return nil, invalid("repository", "repository is an id or project/name")
	}
	project, name, byName := strings.Cut(which, "/")
	if which != "" && !byName {
		var repo *connections.Repository
		err := s.call(ctx, o, func(c *azuredevops.Client) (err error) {
			repo, err = c.GetRepository(ctx, which)
			return err
		})
		if errors.Is(err, connections.ErrNotFound) {
			return nil, invalid("repository", "the connection cannot see a repository with id %q", which)
		}
		return repo, err
	}
	repos, err := s.ListRepositories(ctx, tenant, o.rec.ID, project, "")
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

// diagnoseSSH tells what an SSH check's error means for the user: gitops reports facts
// (host key, refused key, refused connection, no SSH greeting); what the server accepts and
// where the port comes from are the connection's. The sentences are
// azuredevops.DescribeSSHRefusal's.
func (s *Service) diagnoseSSH(ctx context.Context, rec *store.Connection, t *sshTarget, err error) (connections.Reason, string) {
	var he *gitops.HostKeyError
	if errors.As(err, &he) {
		e := s.hostKeyError(rec, he)
		return e.Reason, e.Message
	}
	reason := connections.ReasonUnreachable
	if e := connections.AsError(err); e != nil && e.Reason != "" {
		reason = e.Reason
	}
	d := rec.SSH
	ep, eperr := endpointOf(rec)
	if eperr != nil {
		return reason, messageOf(err)
	}
	// The sentences name the host dialled and the connection's own page of keys; a Services
	// connection's are Services' wherever Options point it (the demo's simulator).
	f := azuredevops.SSHFailure{KeyType: azuredevops.SSHKeyType(d.KeyType), KeyFingerprint: d.Fingerprint, Port: t.Port,
		Host: t.Addr, AddKeyURL: azuredevops.SSHPublicKeysURL(ep)}
	ep = keyPolicyEndpoint(rec, ep)
	version := ""
	switch {
	case errors.Is(err, connections.ErrDestinationNotAllowed):
		return connections.ReasonDestinationNotAllowed, messageOf(err)
	case reason == connections.ReasonSSHKeyTypeRefused || reason == connections.ReasonSSHKeyNotAdded ||
		errors.Is(err, connections.ErrUnauthorized):
		// SSH does not say why a key was refused: a type the server does not take is told
		// from the table for its release.
		if !isServices(rec) {
			version = s.serverVersion(ctx, rec)
		}
		f.Reason = azuredevops.ClassifySSHAuthFailure(ep, version, f.KeyType)
		if reason == connections.ReasonSSHKeyTypeRefused {
			f.Reason = reason
		}
	case reason == connections.ReasonSSHDisabled || isConnRefused(err):
		if d.Port != 0 && t.Port != t.AdvertisedPort {
			return connections.ReasonSSHWrongPort, fmt.Sprintf("nothing accepts connections at %s port %d, and the server's SSH URL names port %d: clear the connection's SSH port, or set the one SSH listens on (the Administration Console's SSH settings)",
				t.Host, t.Port, t.AdvertisedPort)
		}
		f.Reason = connections.ReasonSSHDisabled
		e := azuredevops.DescribeSSHRefusal(ep, version, f)
		if !t.Advertised {
			e.Message = "the server names no SSH URL for the repository, and " + e.Message
		}
		return f.Reason, e.Message
	case reason == connections.ReasonSSHWrongPort:
		f.Reason = reason
	case reason == connections.ReasonProtocol && isServices(rec) && errors.Is(err, connections.ErrProtocol):
		// gitops' sentence says which algorithms the server lacks (SHA-2 signatures or host
		// keys): the key was not offered, so this is not ssh_key_not_added.
		return reason, messageOf(err) + "; Azure DevOps Services itself offers the SHA-2 algorithms, so something between repoconnect and it (a proxy that inspects SSH) may be answering instead"
	default:
		return reason, messageOf(err)
	}
	e := azuredevops.DescribeSSHRefusal(ep, version, f)
	return e.Reason, e.Message
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

// messageOf is the user-facing sentence of err.
func messageOf(err error) string {
	if e := connections.AsError(err); e != nil {
		return e.Message
	}
	return "the SSH check failed: " + err.Error()
}
