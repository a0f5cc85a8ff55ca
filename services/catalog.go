package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/connections/resilience"
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

// clientOptions are the driver options of the service: its forge timeout and logger, the
// base of the profile and accounts APIs (the Azure DevOps OAuth address, which serves them:
// app.vssps.visualstudio.com, or the simulator's), and its
// outbound door with the CA bundle (the door shares one transport per bundle, under the
// retrying, pacing transport of package resilience: requests are paced by the key
// resilience.WithKey put in their context, see connKey). Errors: an invalid CA bundle
// (ErrInvalidInput, field caCertificate).
func (s *Service) clientOptions(caPEM string) (azuredevops.Options, error) {
	if err := azuredevops.CheckCACertificate([]byte(caPEM)); err != nil {
		return azuredevops.Options{}, err
	}
	return azuredevops.Options{Timeout: s.opts.ForgeTimeout, Door: s.door, CACertificatePEM: []byte(caPEM), Logger: s.log,
		VSSPSURL: s.opts.OAuth.AzureDevOpsOAuthURL}, nil
}

// connKey puts a stored connection's pacing key (its id) in ctx, so every request made for
// it waits when Azure DevOps asked that connection to slow down.
func connKey(ctx context.Context, connectionID string) context.Context {
	return resilience.WithKey(ctx, "conn:"+connectionID)
}

// credKey puts the pacing key of a credential not stored yet (a token check before the
// connection exists) in ctx: a hash of host and secret (resilience.CredentialKey).
func credKey(ctx context.Context, host string, secret connections.Secret) context.Context {
	return resilience.WithKey(ctx, resilience.CredentialKey(host, secret.Reveal()))
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

// The repository catalog (projects, repositories, branches) is served through the catalog
// cache: entries are keyed by the connection's CatalogGeneration, which is read from the store
// on every request, so a connection deleted, re-authorized or changed on any instance is never
// answered from an older catalog; the entry's bytes are the forge's answer as JSON, so a cold
// and a warm answer are identical.

// catalogKey names one list of a connection's catalog for the cache.
func catalogKey(rec *store.Connection, kind, arg string) string {
	return fmt.Sprintf("g%d/%s/%s", rec.CatalogGeneration, kind, arg)
}

// cached returns the list kind/arg of connection id: from the cache, or from the forge with
// fetch (whose answer is cached). The list is the caller's own copy (never nil): decoded
// lists are kept in the decode memo (catalogmemo.go) and reused while the cache answers the
// same bytes; a list this instance fetched is put there as it is encoded, so only another
// instance's refresh (a shared Redis backend) costs a decode. T must be a flat value
// (strings, numbers, bools, structs of them: no slices, maps or pointers), so that a shallow
// copy is a whole copy and the JSON round trip gives the same list. Errors: store.ErrNotFound
// (connection), forge errors (never cached).
func cached[T any](ctx context.Context, s *Service, tenant, id, kind, arg string, retried bool, fetch func(ctx context.Context, c *azuredevops.Client) ([]T, error)) ([]T, error) {
	ctx = connKey(ctx, id)
	rec, err := s.store.GetConnection(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	m := s.memo()
	mk := memoKey{tenant: tenant, conn: id, key: catalogKey(rec, kind, arg)}
	raw, _, err := s.catalog.Fetch(ctx, tenant, id, mk.key, func(ctx context.Context) ([]byte, error) {
		o, err := s.openRec(ctx, rec)
		if err != nil {
			return nil, err
		}
		var list []T
		if err := s.call(ctx, o, func(c *azuredevops.Client) (err error) {
			list, err = fetch(ctx, c)
			return err
		}); err != nil {
			return nil, err
		}
		if list == nil {
			list = []T{}
		}
		raw, err := json.Marshal(list)
		if err == nil {
			// These bytes decode to this list (read by no one else): no decode needed.
			n, sum := m.fingerprint(raw)
			memoPut(m, mk, n, sum, list)
		}
		return raw, err
	})
	if err != nil {
		return nil, err
	}
	// The same bytes decode to the same list: reuse it, as a copy.
	n, sum := m.fingerprint(raw)
	if list, ok := memoGet[T](m, mk, n, sum); ok {
		return slices.Clone(list), nil
	}
	var list []T
	if err := json.Unmarshal(raw, &list); err != nil {
		// An entry that does not decode (written by another version) is dropped and fetched
		// again, once.
		s.dropCatalog(ctx, tenant, id)
		if !retried {
			return cached(ctx, s, tenant, id, kind, arg, true, fetch)
		}
		return nil, fmt.Errorf("catalog cache entry of connection %s does not decode: %w", id, err)
	}
	m.decodes.Add(1)
	if list == nil {
		list = []T{}
	}
	memoPut(m, mk, n, sum, list)
	return slices.Clone(list), nil
}

// dropCatalog drops a connection's cached catalog and its decoded lists; a failure is logged
// (the generation in the keys already keeps old entries from being served).
func (s *Service) dropCatalog(ctx context.Context, tenant, id string) {
	s.memo().drop(tenant, id)
	if err := s.catalog.Drop(detach(ctx), tenant, id); err != nil {
		s.log.WarnContext(ctx, "could not drop the cached catalog", "connection", id, "err", err)
	}
}

// ListProjects lists the projects the connection's credential can see, sorted by name.
// Errors: store.ErrNotFound (connection), forge errors (connections.Err*).
func (s *Service) ListProjects(ctx context.Context, tenant, connectionID string) ([]connections.Project, error) {
	return cached(ctx, s, tenant, connectionID, "projects", "", false, func(ctx context.Context, c *azuredevops.Client) ([]connections.Project, error) {
		return c.ListProjects(ctx)
	})
}

// ListRepositories lists the connection's repositories, of one project (name or id) when
// project is set, keeping those whose name contains q (case-insensitive) when q is set. The
// filter runs on the cached list.
func (s *Service) ListRepositories(ctx context.Context, tenant, connectionID, project, q string) ([]connections.Repository, error) {
	repos, err := cached(ctx, s, tenant, connectionID, "repositories", project, false, func(ctx context.Context, c *azuredevops.Client) ([]connections.Repository, error) {
		return c.ListRepositories(ctx, project)
	})
	if err != nil {
		if errors.Is(err, connections.ErrNotFound) && project != "" {
			return nil, invalid("project", "the connection has no project %q", project).Wrap(err)
		}
		return nil, err
	}
	if q = strings.ToLower(strings.TrimSpace(q)); q != "" {
		kept := repos[:0] // repos is cached's copy: filtering it in place changes no one else's list
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
	return cached(ctx, s, tenant, connectionID, "branches", repositoryID, false, func(ctx context.Context, c *azuredevops.Client) ([]connections.Branch, error) {
		return c.ListBranches(ctx, repositoryID)
	})
}
