package azuredevops

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
)

// zeroTenant is what X-VSS-ResourceTenant says for an organization backed by personal
// Microsoft accounts rather than an Entra tenant (docs/azure-devops-protocol.md §4).
const zeroTenant = "00000000-0000-0000-0000-000000000000"

var authorizationURI = regexp.MustCompile(`authorization_uri="?https?://[^/"\s,]+/([0-9A-Za-z.-]+)`)

// DiscoverTenant finds the Microsoft Entra tenant of an Azure DevOps Services organization
// without credentials: an unauthenticated GET {organization}/_apis/connectionData answers 401
// with X-VSS-ResourceTenant and WWW-Authenticate: Bearer authorization_uri=…/{tenant}
// (docs/azure-devops-protocol.md §4, §6). It returns the tenant id, or EntraDefaultTenant ("organizations")
// when the organization names none or names the all-zero tenant of personal-account
// organizations. Errors: ErrInvalidInput (reason collection_not_found, field organization)
// when the organization does not exist (404), ErrUnreachable when the host cannot be reached
// or fails (5xx), ErrTLS; hc is used as is.
func DiscoverTenant(ctx context.Context, hc *http.Client, ep Endpoint) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.CollectionURL()+"/_apis/connectionData?api-version=7.1-preview", nil)
	if err != nil {
		return "", invalid("organization", "cannot build a request for this organization")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	resp, err := hc.Do(req)
	if err != nil {
		return "", connections.ClassifyTransport(err, ep.Host, 0)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode == http.StatusNotFound {
		e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonCollectionNotFound,
			"the organization %q does not exist on %s; check its name in https://dev.azure.com/{organization}", ep.Collection, ep.Host)
		e.Field = "organization"
		return "", e
	}
	if resp.StatusCode >= 500 {
		e := connections.Errorf(connections.ErrUnreachable, connections.ReasonUnreachable,
			"%s answered HTTP %d when asked for the organization %q; try again later", ep.Host, resp.StatusCode, ep.Collection)
		return "", e
	}
	tenant := strings.TrimSpace(resp.Header.Get("X-VSS-ResourceTenant"))
	if tenant == "" {
		for _, v := range resp.Header.Values("WWW-Authenticate") {
			if m := authorizationURI.FindStringSubmatch(v); m != nil {
				tenant = m[1]
				break
			}
		}
	}
	if tenant == "" || tenant == zeroTenant || strings.ContainsAny(tenant, "/?#") {
		return EntraDefaultTenant, nil
	}
	return tenant, nil
}
