package gitops

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
)

// MaxHTTPAdvertisementBytes bounds, over HTTP(S), the body of a clone's GET …/info/refs (the
// reference advertisement, which go-git decodes into memory whole) and, in the answer to its
// POST …/git-upload-pack, what comes before the pack (the negotiation: shallow, ACK and NAK
// lines, which go-git keeps too; negotiationBody): past it the response is cut off and Clone
// and ListRefs fail with ErrProtocol, reason protocol_error, naming the limit. It
// is fixed (no setting raises it), as MaxSSHBeforePackBytes is over SSH: 64 MiB is about a
// million references, far beyond any Azure DevOps repository's advertisement. The pack that
// follows is bounded by CloneOptions.MaxBytes and Timeout.
const MaxHTTPAdvertisementBytes = 64 << 20

// transportKey is the context key of a clone's HTTP transport (a *clonetransport).
type transportKey struct{}

// clonetransport is what one clone's context carries for its HTTP requests.
type clonetransport struct {
	rt     http.RoundTripper
	advMax int64 // the bound of an advertisement's body in bytes (MaxHTTPAdvertisementBytes)
	// refused is the first refusal of a body past advMax: go-git quotes the negotiation's
	// read error only as text, so Clone takes the refusal from here (transportRefusal).
	refused atomic.Pointer[connections.Error]
}

// refuse records e as the clone's refusal (the first one stays) and returns it.
func (ct *clonetransport) refuse(e *connections.Error) *connections.Error {
	ct.refused.CompareAndSwap(nil, e)
	return e
}

// transportRefusal is the refusal of a body past its bound in the clone of ctx (a context
// of withTransport), or nil.
func transportRefusal(ctx context.Context) *connections.Error {
	if ct, _ := ctx.Value(transportKey{}).(*clonetransport); ct != nil {
		return ct.refused.Load()
	}
	return nil
}

// withTransport returns ctx carrying rt, the transport of one clone's requests (the egress
// door's transport for the clone's CA bundle), and advMax, the bound of the reference
// advertisement in bytes (0: MaxHTTPAdvertisementBytes). go-git passes the clone's context
// to every request it makes, so the dispatching transport installed below finds them there.
func withTransport(ctx context.Context, rt http.RoundTripper, advMax int64) context.Context {
	return context.WithValue(ctx, transportKey{}, &clonetransport{rt: rt, advMax: cmp.Or(advMax, MaxHTTPAdvertisementBytes)})
}

// dispatch is the RoundTripper of the go-git HTTP client installed for http and https: it
// sends each request on the transport its context carries (withTransport), or, for a
// request without one, on the default policy's door (loopback, link-local and metadata
// refused), so that no go-git request bypasses the outbound policy; and it bounds the body
// of a reference advertisement (GET …/info/refs) and the negotiation before an upload-pack
// answer's pack (POST …/git-upload-pack) to the context's limit, else to
// MaxHTTPAdvertisementBytes.
type dispatch struct{}

// RoundTrip sends req on the transport of its context.
func (dispatch) RoundTrip(req *http.Request) (*http.Response, error) {
	ct, _ := req.Context().Value(transportKey{}).(*clonetransport)
	if ct == nil {
		rt, err := egress.Default().Transport(nil)
		if err != nil {
			return nil, err
		}
		ct = &clonetransport{rt: rt, advMax: MaxHTTPAdvertisementBytes}
	}
	res, err := ct.rt.RoundTrip(req)
	if err != nil {
		return res, err
	}
	limit := ct.advMax
	switch {
	case req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/info/refs"):
		res.Body = &advertisementBody{ReadCloser: res.Body, ct: ct, host: req.URL.Host, limit: limit}
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/git-upload-pack"):
		res.Body = &negotiationBody{ReadCloser: res.Body, ct: ct, host: req.URL.Host, limit: limit}
	}
	return res, nil
}

// advertisementBody is a reference advertisement's response body, cut off past limit bytes.
type advertisementBody struct {
	io.ReadCloser
	ct    *clonetransport // where the refusal is recorded
	host  string
	limit int64
	read  int64
}

// Read reads at most one byte more than the limit allows; that byte is the proof the body
// is longer, and it answers with the refusal (a *connections.Error, which go-git's pkt-line
// scanner returns unwrapped to Clone).
func (b *advertisementBody) Read(p []byte) (int, error) {
	if b.read > b.limit {
		return 0, b.ct.refuse(advertisementError(b.host, b.limit, "reference advertisement"))
	}
	if room := b.limit + 1 - b.read; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if b.read > b.limit {
		return 0, b.ct.refuse(advertisementError(b.host, b.limit, "reference advertisement"))
	}
	return n, err
}

// advertisementError is the refusal of a part of the exchange before the pack (what: its
// name, "reference advertisement" or "negotiation") longer than limit bytes.
func advertisementError(host string, limit int64, what string) *connections.Error {
	return connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
		"the server at %s sent a %s of more than %s before the pack, the fixed limit of this service; the clone stopped reading it",
		host, what, formatBytes(limit))
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
	return withTransport(ctx, rt, opts.beforePack), nil
}
