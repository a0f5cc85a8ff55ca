package services

import (
	"net/url"
	"strings"

	"github.com/repoconnect/repoconnect/connections/azuredevops"
	"github.com/repoconnect/repoconnect/gitops"
)

// Names of the layers below that callers of the service (the pages, the API) need to read
// the values it returns, so they depend on the service alone (see arch_test.go's layering).

// RemoteURL is a remote URL as ParseRemoteURL reads it (azuredevops.RemoteURL); its Kind is
// KindServer or KindServices.
type RemoteURL = azuredevops.RemoteURL

// The kinds of deployment a remote URL names (docs/azure-devops-protocol.md §1).
const (
	KindServer   = azuredevops.KindServer
	KindServices = azuredevops.KindServices
)

// Progress is a clone's progress as CloneJob.Progress carries it (gitops.Progress documents
// what ObjectsDone, ObjectsTotal and BytesReceived mean in each phase).
type Progress = gitops.Progress

// The phases of Progress, in order (gitops.Phase*).
const (
	PhaseConnecting  = gitops.PhaseConnecting
	PhaseCounting    = gitops.PhaseCounting
	PhaseCompressing = gitops.PhaseCompressing
	PhaseReceiving   = gitops.PhaseReceiving
	PhaseResolving   = gitops.PhaseResolving
	PhaseCheckout    = gitops.PhaseCheckout
	PhaseDone        = gitops.PhaseDone
)

// CountUnit is what Progress counts in a phase: "objects", "deltas" (resolving) or "files"
// (checkout, done); "" for a phase that counts nothing.
func CountUnit(phase string) string { return gitops.CountUnit(phase) }

// The paths a run's clone takes (store.Run.Source, gitops.Source).
const (
	SourceCold      = string(gitops.SourceCold)      // a clone without the cache
	SourceCache     = string(gitops.SourceCache)     // a fresh work tree from the repository cache
	SourceWorkspace = string(gitops.SourceWorkspace) // the kept workspace, updated in place
)

// CollectionURL is the web address of the connection's collection (Server:
// https://tfs.example.com/tfs/DefaultCollection) or organization (Services:
// https://dev.azure.com/fabrikam), under which Azure DevOps serves its settings pages, e.g.
// {CollectionURL}/_settings/organizationPolicy (docs/azure-devops-protocol.md §1, §6).
func (c *Connection) CollectionURL() string {
	if ep, err := azuredevops.NewEndpoint(c.ServerURL, c.Collection); err == nil {
		return ep.CollectionURL()
	}
	return strings.TrimRight(c.ServerURL, "/") + "/" + url.PathEscape(c.Collection)
}
