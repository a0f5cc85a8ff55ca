// Package azuredevops is the Azure DevOps driver: the remote-URL grammar, the REST client for
// Azure DevOps Services and Server, conversion of wire types to the forge-neutral shapes of
// package connections, and the token check. Protocol facts and their sources are collected in
// docs/azure-devops-protocol.md; each function cites the section it relies on.
package azuredevops

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
)

// DefaultTimeout bounds one REST request (connect, TLS, headers and body) when Options.Timeout
// is zero.
const DefaultTimeout = 30 * time.Second

// maxBody bounds how much of an answer is read (bytes); Azure DevOps pages are far smaller.
const maxBody = 32 << 20

// Credential authenticates REST and git requests. Exactly one of PAT and Bearer is set.
// PAT is sent as Basic with an empty user name; Bearer (OAuth, Entra ID) as "Bearer <token>",
// never with the token type Azure DevOps OAuth returns ("jwt-bearer" answers 203;
// docs/azure-devops-protocol.md §3, §6). OAuthProvider names the issuer of a Bearer token
// (ProviderAzureDevOps or ProviderEntra): a 401 TF400813 answer to an Azure DevOps OAuth
// app's token is reported as ErrPolicyDisabled (see classifyResponse).
type Credential struct {
	PAT           connections.Secret
	Bearer        connections.Secret
	OAuthProvider string
}

// Options configures a Client. The zero value is usable.
type Options struct {
	// Timeout bounds each request; 0 means DefaultTimeout.
	Timeout time.Duration
	// CACertificatePEM adds PEM certificates to the system roots, for servers signed by a
	// private certificate authority.
	CACertificatePEM []byte
	// Door is the outbound door (connections/egress) whose policy every request passes;
	// nil means egress.Default(), the default policy (loopback, link-local and metadata
	// destinations refused).
	Door *egress.Door
	// Transport overrides the HTTP transport (tests); Door and CACertificatePEM are then
	// ignored.
	Transport http.RoundTripper
	// Logger receives one debug line per request (method, URL without credentials, status,
	// correlation ids); nil discards.
	Logger *slog.Logger
	// UserAgent is sent as User-Agent; empty means "repoconnect".
	UserAgent string
	// VSSPSURL is the base of the profile and accounts APIs, asked when an OAuth token is
	// refused with TF400813 (membership.go); empty means DefaultAzureDevOpsOAuthURL
	// (https://app.vssps.visualstudio.com) for a Services endpoint, and no lookup for any
	// other host. The requests go through the same door.
	VSSPSURL string
}

// Client is a REST client bound to one collection and one credential. It sends
// Accept: application/json and X-TFS-FedAuthRedirect: Suppress on every request and never
// follows redirects (docs/azure-devops-protocol.md §3; a 3xx is reported as ErrProtocol). Every request
// goes through the outbound door's policy (Options.Door). Safe for concurrent use.
type Client struct {
	ep      Endpoint
	cred    Credential
	hc      *http.Client
	timeout time.Duration
	log     *slog.Logger
	ua      string
	vssps   string
}

// New returns a Client for the endpoint. It fails with ErrInvalidInput when the CA certificate
// PEM holds no certificate or when no credential is given.
func New(ep Endpoint, cred Credential, opts Options) (*Client, error) {
	if cred.PAT.Empty() && cred.Bearer.Empty() {
		return nil, invalid("pat", "a personal access token is required")
	}
	var hc *http.Client
	if opts.Transport != nil {
		hc = &http.Client{Transport: opts.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	} else {
		door := opts.Door
		if door == nil {
			door = egress.Default()
		}
		var err error
		if hc, err = door.Client(opts.CACertificatePEM, egress.NoRedirects); err != nil {
			return nil, err
		}
	}
	c := &Client{ep: ep, cred: cred, hc: hc, timeout: opts.Timeout, log: opts.Logger, ua: opts.UserAgent,
		vssps: strings.TrimRight(opts.VSSPSURL, "/")}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ua == "" {
		c.ua = "repoconnect"
	}
	return c, nil
}

// CheckCACertificate validates a CA certificate bundle (PEM) as the door reads it: empty is
// fine; otherwise it must hold at least one PEM certificate. Errors: ErrInvalidInput, field
// "caCertificate".
func CheckCACertificate(caPEM []byte) error {
	if len(strings.TrimSpace(string(caPEM))) == 0 {
		return nil
	}
	if !x509.NewCertPool().AppendCertsFromPEM(caPEM) {
		return invalid("caCertificate", "the CA certificate is not a PEM-encoded certificate (-----BEGIN CERTIFICATE-----)")
	}
	return nil
}

// Endpoint returns the endpoint the client is bound to.
func (c *Client) Endpoint() Endpoint { return c.ep }

// response is what do keeps of an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends GET {collectionURL}/{path}?{query} and decodes a 200 JSON body into out (may be
// nil) with json.Unmarshal; a wire type is passed as lenient(&v), to be read tolerantly.
// Non-2xx answers, 203, HTML bodies and transport failures become *connections.Error (see
// classify).
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) (*response, error) {
	return c.getURL(ctx, c.ep.CollectionURL()+"/"+path, query, out)
}

// setHeaders sets what every request to Azure DevOps carries: Accept JSON,
// X-TFS-FedAuthRedirect: Suppress (a refused credential answers 401, not a 203 sign-in page),
// the User-Agent, and the credential (Bearer for an OAuth token, else Basic with an empty user
// name and the PAT).
func (c *Client) setHeaders(req *http.Request) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	req.Header.Set("User-Agent", c.ua)
	if !c.cred.Bearer.Empty() {
		req.Header.Set("Authorization", "Bearer "+c.cred.Bearer.Reveal())
	} else {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(":"+c.cred.PAT.Reveal())))
	}
}

// getURL is get for an absolute URL (vsts/info, the vssps host).
func (c *Client) getURL(ctx context.Context, rawURL string, query url.Values, out any) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if len(query) > 0 {
		rawURL += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, invalid("serverUrl", "cannot build a request for this server URL")
	}
	c.setHeaders(req)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "azure devops request failed", "method", req.Method, "url", req.URL.Redacted(), "err", err)
		return nil, classifyTransport(err, c.ep, c.timeout)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, classifyTransport(err, c.ep, c.timeout)
	}
	r := &response{status: resp.StatusCode, header: resp.Header, body: body}
	c.log.DebugContext(ctx, "azure devops request", "method", req.Method, "url", req.URL.Redacted(),
		"status", resp.StatusCode, "ms", time.Since(start).Milliseconds(),
		"activityId", resp.Header.Get("ActivityId"), "e2eid", resp.Header.Get("X-VSS-E2EID"))
	if err := classifyResponse(r, c.ep, c.cred); err != nil {
		return r, withRequestIDs(c.explainRefusal(ctx, err), r.header)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return r, connections.Errorf(connections.ErrProtocol, connections.ReasonProtocol,
				"the server answered %s with JSON this client does not understand", req.URL.Path).Wrap(err)
		}
	}
	return r, nil
}

// isHTML reports whether an answer is an HTML page (a sign-in page where JSON was asked for).
func isHTML(r *response) bool {
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if mt == "text/html" {
		return true
	}
	trimmed := strings.TrimSpace(string(r.body[:min(len(r.body), 64)]))
	return strings.HasPrefix(strings.ToLower(trimmed), "<!doctype html") || strings.HasPrefix(strings.ToLower(trimmed), "<html")
}

// wireError is Azure DevOps' error envelope (docs/azure-devops-protocol.md §4).
type wireError struct {
	Message  string `json:"message"`
	TypeName string `json:"typeName"`
	TypeKey  string `json:"typeKey"`
}

// tfCode finds an Azure DevOps error code (TF400813, VS30063) in a message.
var tfCode = regexp.MustCompile(`\b(TF|VS)[0-9]{5,6}\b`)

// maxQuoted bounds the length (bytes) of a server message quoted to the tenant.
const maxQuoted = 500

// serviceError returns the server's error message and type key, but only from a recognised
// Azure DevOps error shape: the JSON envelope with a typeKey or typeName, or whose message
// carries a TF/VS error code, or else the X-TFS-ServiceError header (URL-encoded;
// docs/azure-devops-protocol.md §4). Any other body is not quoted ("" is returned), so that an answer of
// something else than Azure DevOps (an internal service the URL named) never reaches the
// tenant word for word; callers then describe the answer by its status alone.
func serviceError(r *response) (msg, typeKey string) {
	var we wireError
	if json.Unmarshal(r.body, &we) == nil && we.Message != "" &&
		(we.TypeKey != "" || we.TypeName != "" || tfCode.MatchString(we.Message)) {
		return quoteServer(we.Message), we.TypeKey
	}
	if h := r.header.Get("X-TFS-ServiceError"); h != "" {
		if d, err := url.QueryUnescape(h); err == nil {
			return quoteServer(d), ""
		}
		return quoteServer(h), ""
	}
	return "", ""
}

// quoteServer bounds a server message and drops control characters.
func quoteServer(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxQuoted {
		s = strings.ToValidUTF8(s[:maxQuoted], "") + "…"
	}
	return s
}

// describeStatus is a short "HTTP 404" plus the server's message, for error sentences; an
// answer without a recognised Azure DevOps error is "HTTP 404 without an Azure DevOps error".
func describeStatus(r *response) string {
	msg, _ := serviceError(r)
	if msg == "" {
		return fmt.Sprintf("HTTP %d without an Azure DevOps error", r.status)
	}
	return fmt.Sprintf("HTTP %d: %s", r.status, msg)
}
