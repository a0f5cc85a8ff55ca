package gitops

import (
	"context"
	"net/http"
	"net/url"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/repoconnect/repoconnect/connections/egress"
)

// transportKey is the context key of a clone's HTTP transport.
type transportKey struct{}

// withTransport returns ctx carrying rt, the transport of one clone's requests (the egress
// door's transport for the clone's CA bundle). go-git passes the clone's context to every
// request it makes, so the dispatching transport installed below finds it there.
func withTransport(ctx context.Context, rt http.RoundTripper) context.Context {
	return context.WithValue(ctx, transportKey{}, rt)
}

// dispatch is the RoundTripper of the go-git HTTP client installed for http and https: it
// sends each request on the transport its context carries (withTransport), or, for a
// request without one, on the default policy's door (loopback, link-local and metadata
// refused), so that no go-git request bypasses the outbound policy.
type dispatch struct{}

// RoundTrip sends req on the transport of its context.
func (dispatch) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, _ := req.Context().Value(transportKey{}).(http.RoundTripper)
	if rt == nil {
		var err error
		if rt, err = egress.Default().Transport(nil); err != nil {
			return nil, err
		}
	}
	return rt.RoundTrip(req)
}

// installTransport replaces go-git's HTTP and HTTPS clients (a process-wide registry,
// client.InstallProtocol) with one whose requests go through the egress door carried by the
// clone's context, which follows only a redirect of the first info/refs request (git's
// http.followRedirects=initial) and only to the same host and port (egress.SameHost): a
// redirect to another host fails with ErrDestinationNotAllowed. Called once, from
// EnableAzureDevOpsCapabilities (capabilities.go), the one place of go-git settings.
func installTransport() {
	c := githttp.NewClientWithOptions(&http.Client{Transport: dispatch{}, CheckRedirect: egress.SameHost},
		&githttp.ClientOptions{RedirectPolicy: githttp.FollowInitialRedirects})
	client.InstallProtocol("http", c)
	client.InstallProtocol("https", c)
}

// doorContext checks the clone URL's host against the door's policy (before anything is
// written) and returns ctx carrying the door's transport for the clone's CA bundle; it sets
// opts.Door to the default door when it is nil, for the submodules. Errors: a refusal
// (ErrDestinationNotAllowed), an invalid CA bundle (ErrInvalidInput, field caCertificate).
func doorContext(ctx context.Context, u *url.URL, opts *CloneOptions) (context.Context, error) {
	if opts.Door == nil {
		opts.Door = egress.Default()
	}
	if err := opts.Door.CheckURL(u); err != nil {
		return nil, err
	}
	rt, err := opts.Door.Transport(opts.CACertificatePEM)
	if err != nil {
		return nil, err
	}
	return withTransport(ctx, rt), nil
}
