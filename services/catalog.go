package services

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/services/store"
)

// client builds an Azure DevOps client for an endpoint and a PAT, on the shared transport of
// its CA bundle.
func (s *Service) client(ep azuredevops.Endpoint, pat connections.Secret, caPEM string) (*azuredevops.Client, error) {
	return s.clientCred(ep, azuredevops.Credential{PAT: pat}, caPEM)
}

// clientCred is client for any credential (a PAT or an OAuth access token).
func (s *Service) clientCred(ep azuredevops.Endpoint, cred azuredevops.Credential, caPEM string) (*azuredevops.Client, error) {
	opts, err := s.clientOptions(caPEM)
	if err != nil {
		return nil, err
	}
	return azuredevops.New(ep, cred, opts)
}

// clientOptions are the driver options of the service: its forge timeout and logger, and the
// shared transport of the CA bundle.
func (s *Service) clientOptions(caPEM string) (azuredevops.Options, error) {
	tr, err := s.transport(caPEM)
	if err != nil {
		return azuredevops.Options{}, err
	}
	return azuredevops.Options{Timeout: s.opts.ForgeTimeout, Transport: tr, Logger: s.log}, nil
}

// transport returns the shared transport that trusts caPEM (plus the system roots).
func (s *Service) transport(caPEM string) (*http.Transport, error) {
	key := sha256.Sum256([]byte(caPEM))
	if t, ok := s.transports.Load(key); ok {
		return t.(*http.Transport), nil
	}
	t, err := azuredevops.NewTransport([]byte(caPEM))
	if err != nil {
		return nil, err
	}
	actual, _ := s.transports.LoadOrStore(key, t)
	return actual.(*http.Transport), nil
}

// endpointOf rebuilds a stored connection's endpoint from its stored parts (not by re-reading
// the server URL, which could split a virtual directory differently).
func endpointOf(rec *store.Connection) (azuredevops.Endpoint, error) {
	u, err := url.Parse(rec.ServerURL)
	if err != nil || u.Host == "" {
		return azuredevops.Endpoint{}, fmt.Errorf("stored connection %s has a malformed server URL", rec.ID)
	}
	return azuredevops.Endpoint{Scheme: u.Scheme, Host: u.Host, VirtualDirectory: rec.VirtualDirectory, Collection: rec.Collection}, nil
}

// ListProjects lists the projects the connection's credential can see, sorted by name.
// Errors: store.ErrNotFound (connection), forge errors (connections.Err*).
func (s *Service) ListProjects(ctx context.Context, tenant, connectionID string) ([]connections.Project, error) {
	o, err := s.open(ctx, tenant, connectionID)
	if err != nil {
		return nil, err
	}
	var ps []connections.Project
	err = s.call(ctx, o, func(c *azuredevops.Client) (err error) {
		ps, err = c.ListProjects(ctx)
		return err
	})
	return ps, err
}

// ListRepositories lists the connection's repositories, of one project (name or id) when
// project is set, keeping those whose name contains q (case-insensitive) when q is set.
func (s *Service) ListRepositories(ctx context.Context, tenant, connectionID, project, q string) ([]connections.Repository, error) {
	o, err := s.open(ctx, tenant, connectionID)
	if err != nil {
		return nil, err
	}
	var repos []connections.Repository
	err = s.call(ctx, o, func(c *azuredevops.Client) (err error) {
		repos, err = c.ListRepositories(ctx, project)
		return err
	})
	if err != nil {
		if errors.Is(err, connections.ErrNotFound) && project != "" {
			return nil, invalid("project", "the connection has no project %q", project).Wrap(err)
		}
		return nil, err
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
	var bs []connections.Branch
	err = s.call(ctx, o, func(c *azuredevops.Client) (err error) {
		bs, err = c.ListBranches(ctx, repositoryID)
		return err
	})
	return bs, err
}
