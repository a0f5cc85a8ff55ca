package services

import (
	"context"
	"errors"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// client builds an Azure DevOps client for an endpoint and a PAT.
func (s *Service) client(ep azuredevops.Endpoint, pat connections.Secret, caPEM string) (*azuredevops.Client, error) {
	return azuredevops.New(ep, azuredevops.Credential{PAT: pat}, azuredevops.Options{
		Timeout: s.opts.ForgeTimeout, CACertificatePEM: []byte(caPEM), Logger: s.log})
}

// opened is a stored connection with its credential unsealed, ready to use.
type opened struct {
	rec    *store.Connection
	ep     azuredevops.Endpoint
	pat    connections.Secret
	client *azuredevops.Client
}

// open loads a connection of the tenant and unseals its credential.
func (s *Service) open(ctx context.Context, tenant, id string) (*opened, error) {
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	plain, err := s.keyring.Open(rec.SealedCredential, credentialAAD(tenant, rec.ID))
	if err != nil {
		return nil, err
	}
	ep, err := azuredevops.NewEndpoint(rec.ServerURL, rec.Collection)
	if err != nil {
		return nil, err
	}
	pat := connections.Secret(plain)
	c, err := s.client(ep, pat, rec.CACertificate)
	if err != nil {
		return nil, err
	}
	return &opened{rec: rec, ep: ep, pat: pat, client: c}, nil
}

// observe records in the connection's status that the forge rejected its credential, so the
// UI can show "invalid_token" without another round trip. A concurrent update wins.
func (s *Service) observe(ctx context.Context, o *opened, err error) error {
	if errors.Is(err, connections.ErrUnauthorized) && o.rec.Status != StatusInvalidToken {
		o.rec.Status = StatusInvalidToken
		o.rec.UpdatedAt = s.now().UTC()
		if uerr := s.store.UpdateConnection(detach(ctx), o.rec); uerr != nil && !errors.Is(uerr, store.ErrStale) {
			s.log.WarnContext(ctx, "could not record the connection status", "connection", o.rec.ID, "err", uerr)
		}
	}
	return err
}

// ListProjects lists the projects the connection's credential can see, sorted by name.
// Errors: store.ErrNotFound (connection), forge errors (connections.Err*).
func (s *Service) ListProjects(ctx context.Context, tenant, connectionID string) ([]connections.Project, error) {
	o, err := s.open(ctx, tenant, connectionID)
	if err != nil {
		return nil, err
	}
	ps, err := o.client.ListProjects(ctx)
	return ps, s.observe(ctx, o, err)
}

// ListRepositories lists the connection's repositories, of one project (name or id) when
// project is set, keeping those whose name contains q (case-insensitive) when q is set.
func (s *Service) ListRepositories(ctx context.Context, tenant, connectionID, project, q string) ([]connections.Repository, error) {
	o, err := s.open(ctx, tenant, connectionID)
	if err != nil {
		return nil, err
	}
	repos, err := o.client.ListRepositories(ctx, project)
	if err != nil {
		if errors.Is(err, connections.ErrNotFound) && project != "" {
			return nil, invalid("project", "the connection has no project %q", project).Wrap(err)
		}
		return nil, s.observe(ctx, o, err)
	}
	if q = strings.ToLower(strings.TrimSpace(q)); q != "" {
		kept := repos[:0]
		for _, r := range repos {
			if strings.Contains(strings.ToLower(r.Name), q) {
				kept = append(kept, r)
			}
		}
		repos = kept
	}
	return repos, nil
}

// ListBranches lists a repository's branches, sorted by name. An unknown repository is
// connections.ErrNotFound.
func (s *Service) ListBranches(ctx context.Context, tenant, connectionID, repositoryID string) ([]connections.Branch, error) {
	o, err := s.open(ctx, tenant, connectionID)
	if err != nil {
		return nil, err
	}
	bs, err := o.client.ListBranches(ctx, repositoryID)
	return bs, s.observe(ctx, o, err)
}
