// Package egress is the one door of outbound requests (docs/outbound-policy.md): every request to a
// destination a tenant chose (the token check, the REST client, vsts/info, clones,
// submodules and every redirect) goes through a transport made by a Door, which applies the
// operator's outbound network Policy at dial time, on the resolved addresses.
//
// The check is done in the transport's DialContext: the host name is checked, resolved, every
// address it resolves to is checked, and then the checked address itself is dialed, so a DNS
// answer that changes between the check and the dial (rebinding) cannot pass, and neither can
// IPv4-mapped IPv6, decimal or octal forms, 0.0.0.0 or [::]. Each request's URL host is
// checked before the request is sent as well, so a proxy cannot hide the destination's name.
//
// Why not code.dny.dev/ssrf: it checks in net.Dialer.Control, which sees only the address, not
// the host name (allow and deny entries may be names, and a name allowed by the operator
// trusts its resolution); it checks its allowed prefixes before its denied ones (here deny
// entries always win); and it refuses private ranges by default (here they are allowed, since
// Azure DevOps Server lives there). The check itself is a few lines of net/netip (policy.go).
package egress

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/repoconnect/repoconnect/connections"
)

// Message is the user-facing sentence of every refusal by the policy. It is the same for
// every destination and every cause, so that it tells a tenant nothing about the target
// (whether it resolves, whether a port is open, which rule matched); the cause goes to logs
// through the error's Err.
const Message = "this service's outbound network policy does not allow connecting to that destination; " +
	"the operator decides which destinations are allowed with --allow-destinations (REPOCONNECT_ALLOW_DESTINATIONS), " +
	"--deny-destinations (REPOCONNECT_DENY_DESTINATIONS) and --deny-private-networks (REPOCONNECT_DENY_PRIVATE_NETWORKS)"

// Refusal returns the error of a destination the policy refuses: kind
// connections.ErrDestinationNotAllowed, reason destination_not_allowed, Message as above, and
// cause (for logs only) as Err.
func Refusal(cause error) *connections.Error {
	return &connections.Error{Kind: connections.ErrDestinationNotAllowed,
		Reason: connections.ReasonDestinationNotAllowed, Message: Message, Err: cause}
}

// Resolver looks up a host name's addresses; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Options configures a Door. The zero value is the default policy on the system resolver.
type Options struct {
	// Policy is the operator's outbound policy; the zero value is the default policy.
	Policy Policy
	// Wrap, when set, wraps every transport the Door makes, above the policy-checked base
	// transport: the middleware hook where retries and throttling are stacked. A request the
	// wrapper sends (a retry included) still goes through the policy.
	Wrap func(http.RoundTripper) http.RoundTripper
	// Resolver resolves host names before their addresses are checked; nil means
	// net.DefaultResolver. Tests use one that answers differently on each call (rebinding).
	Resolver Resolver
	// DialTimeout bounds one TCP connect; 0 means 30 s.
	DialTimeout time.Duration
	// Logger receives one warning per refusal, with the cause (address and rule); nil
	// discards.
	Logger *slog.Logger
}

// Door makes the HTTP transports and clients of outbound requests. Safe for concurrent use.
type Door struct {
	opts Options
	// proxies are the environment's proxies as the transport dials them ("host:port", host
	// as written there, see proxyKey): such a dial is not checked, since the operator chose
	// the proxy. A request's own URL and every other dial (a name resolving to the proxy's
	// address included) is checked, so a proxy is no destination of its own.
	proxies map[string]bool
	log     *slog.Logger
	dialer  *net.Dialer
	// transports holds the transport of each CA bundle (by its SHA-256), the most recently
	// used maxTransports of them: tenants choose the bundles, so their number is bounded.
	transports *lru.Cache[[32]byte, http.RoundTripper]
}

// maxTransports bounds the transports (one per CA bundle, each with its keep-alive pool) a
// Door keeps; the least recently used one is dropped past it, its idle connections closed.
const maxTransports = 256

// New returns a Door applying opts.Policy.
func New(opts Options) *Door {
	d := &Door{opts: opts, log: opts.Logger, proxies: proxies()}
	if d.opts.Resolver == nil {
		d.opts.Resolver = net.DefaultResolver
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	timeout := opts.DialTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	d.dialer = &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	d.transports, _ = lru.NewWithEvict(maxTransports, func(_ [32]byte, rt http.RoundTripper) {
		if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections() // in-flight requests keep theirs until they end
		}
	})
	return d
}

// proxies returns the HTTP(S) proxies of the environment (HTTP_PROXY, HTTPS_PROXY), which
// the transport dials in place of the destination: the operator chose them. They are allowed
// as the dial of the proxy itself only, never as a request's own destination (CheckURL) nor
// as what another name resolves to. Through a proxy, the destination's host is checked by
// name and literal address (CheckURL) and the proxy resolves it; the proxy's own rules must
// refuse internal destinations.
func proxies() map[string]bool {
	keys := map[string]bool{}
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		v := os.Getenv(k)
		if v == "" {
			continue
		}
		if !strings.Contains(v, "://") {
			v = "http://" + v
		}
		u, err := url.Parse(v)
		if err != nil || u.Hostname() == "" {
			continue
		}
		keys[proxyKey(u.Hostname(), effectivePort(strings.ToLower(u.Scheme), u.Port()))] = true
	}
	return keys
}

// proxyKey is the key of a dial of host (name or literal, in any form) at port in
// Door.proxies.
func proxyKey(host, port string) string {
	return net.JoinHostPort(hostKey(host), strings.TrimLeft(port, "0"))
}

// Policy returns the door's policy (without the environment's proxies, which only its
// dials may reach).
func (d *Door) Policy() Policy { return d.opts.Policy }

// Allowing returns a new Door with the same options whose policy allows rules as well (for
// destinations the operator configured, such as the OAuth providers' addresses).
func (d *Door) Allowing(rules ...Rule) *Door {
	o := d.opts
	o.Policy.Allow = append(append([]Rule(nil), o.Policy.Allow...), rules...)
	return New(o)
}

// Wrapping returns a new Door with the same options whose transports are also wrapped by w,
// outside Options.Wrap (w sees the wrapped transport): how the service stacks its retries and
// pacing on a door the command line made.
func (d *Door) Wrapping(w func(http.RoundTripper) http.RoundTripper) *Door {
	o := d.opts
	if inner := o.Wrap; inner != nil {
		o.Wrap = func(rt http.RoundTripper) http.RoundTripper { return w(inner(rt)) }
	} else {
		o.Wrap = w
	}
	return New(o)
}

// Transport returns the door's transport trusting the system roots plus the certificates in
// caPEM (may be empty): the policy-checked base transport, wrapped by Options.Wrap. It is
// made once per CA bundle and shared, so connections share keep-alive pools (the
// maxTransports most recently used bundles are kept). It never
// follows redirects itself (an http.Client does). Errors: ErrInvalidInput (field
// caCertificate) when caPEM is not empty and holds no PEM certificate.
func (d *Door) Transport(caPEM []byte) (http.RoundTripper, error) {
	key := sha256.Sum256(caPEM)
	if t, ok := d.transports.Get(key); ok {
		return t, nil
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.DialContext = d.dialContext
	if len(strings.TrimSpace(string(caPEM))) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			e := connections.Errorf(connections.ErrInvalidInput, connections.ReasonInvalidInput,
				"the CA certificate is not a PEM-encoded certificate (-----BEGIN CERTIFICATE-----)")
			e.Field = "caCertificate"
			return nil, e
		}
		base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var rt http.RoundTripper = &checked{door: d, base: base}
	if d.opts.Wrap != nil {
		rt = d.opts.Wrap(rt)
	}
	if prev, found, _ := d.transports.PeekOrAdd(key, rt); found {
		return prev, nil // made concurrently by another caller: one pool per bundle
	}
	return rt, nil
}

// Redirects is what a Client does with a 3xx answer.
type Redirects int

const (
	// NoRedirects returns every 3xx answer to the caller as it is (REST calls:
	// docs/azure-devops-protocol.md §3, a redirect means a wrong URL or a sign-in page).
	NoRedirects Redirects = iota
	// SameHostRedirects follows up to 10 redirects to the same host and port (and scheme, or
	// http on port 80 to https on 443); a redirect to another host fails with ErrRedirect.
	SameHostRedirects
)

// Client returns an http.Client on Transport(caPEM) with the redirect rule. Errors are
// Transport's.
func (d *Door) Client(caPEM []byte, redirects Redirects) (*http.Client, error) {
	rt, err := d.Transport(caPEM)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: rt}
	switch redirects {
	case SameHostRedirects:
		c.CheckRedirect = SameHost
	default:
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c, nil
}

// SameHost is an http.Client CheckRedirect that follows up to 10 redirects to the first
// request's host and port (and scheme, or the upgrade of http:80 to https:443) and refuses
// any other with RedirectRefusal.
func SameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return RedirectRefusal(errors.New("more than 10 redirects"))
	}
	if !SameOrigin(via[0].URL, req.URL) {
		return RedirectRefusal(fmt.Errorf("redirect from %s to %s", via[0].URL.Host, req.URL.Host))
	}
	return nil
}

// RedirectRefusal is the error of a redirect to another host: kind ErrDestinationNotAllowed,
// reason destination_not_allowed, a message that does not name the target.
func RedirectRefusal(cause error) *connections.Error {
	return &connections.Error{Kind: connections.ErrDestinationNotAllowed, Reason: connections.ReasonDestinationNotAllowed,
		Message: "the server redirected the request to another host, which this service does not follow; use the URL the repository or collection lives at",
		Err:     cause}
}

// SameOrigin reports whether to is on from's host name (case-insensitive, addresses
// compared after normalization) and port, with the same scheme or http:80 upgraded to
// https:443.
func SameOrigin(from, to *url.URL) bool {
	if hostKey(from.Hostname()) != hostKey(to.Hostname()) {
		return false
	}
	fs, ts := strings.ToLower(from.Scheme), strings.ToLower(to.Scheme)
	fp, tp := effectivePort(fs, from.Port()), effectivePort(ts, to.Port())
	if fs == ts {
		return fp == tp
	}
	return fs == "http" && ts == "https" && fp == "80" && tp == "443"
}

func hostKey(h string) string {
	if ip, ok := literal(h); ok {
		return ip.String()
	}
	return normalizeName(h)
}

func effectivePort(scheme, port string) string {
	if port == "" {
		if scheme == "https" {
			return "443"
		}
		return "80"
	}
	return strings.TrimLeft(port, "0")
}

// CheckURL checks a URL's host before any request is made: a literal address in any form,
// and a host name against the deny entries and the metadata names. It does not resolve;
// the dial-time check does. Errors: a Refusal.
func (d *Door) CheckURL(u *url.URL) error {
	port := effectivePort(strings.ToLower(u.Scheme), u.Port())
	n, _ := strconv.ParseUint(port, 10, 16)
	return d.check(&d.opts.Policy, u.Hostname(), uint16(n))
}

// check decides a host (name or literal) at port before resolution, under policy p.
func (d *Door) check(p *Policy, host string, port uint16) error {
	if ip, ok := literal(host); ok {
		if ok, why := p.decide("", ip, port); !ok {
			return d.refuse(why)
		}
		return nil
	}
	if ok, why := p.decide(host, netip.Addr{}, port); !ok {
		return d.refuse(why)
	}
	return nil
}

func (d *Door) refuse(why string) error {
	d.log.Warn("outbound destination refused by the policy", "cause", why)
	return Refusal(errors.New(why))
}

// DialContext connects to addr ("host:port") for a protocol other than HTTP (SSH, in
// gitops): the host is checked by name, resolved, every address checked against the policy,
// and the checked addresses dialled one after the other, as the HTTP transports do. Unlike
// theirs, the environment's HTTP proxies get no exemption here: SSH does not go through them.
// Errors: a Refusal (kind ErrDestinationNotAllowed) before anything is sent; the resolver's
// and the dialer's errors.
func (d *Door) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.dial(ctx, network, addr, false)
}

// dialContext is the HTTP transports' dial: the environment's proxies are exempt.
func (d *Door) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.dial(ctx, network, addr, true)
}

// dial resolves addr's host, checks every address against the policy, and dials the
// checked addresses one after the other; it never resolves the name again. With
// exemptProxies, a dial of one of the environment's proxies is not checked.
func (d *Door) dial(ctx context.Context, network, addr string, exemptProxies bool) (net.Conn, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid port %q", p)
	}
	port := uint16(n)
	proxy := exemptProxies && d.proxies[proxyKey(host, p)]
	var name string
	var ips []netip.Addr
	if ip, ok := literal(host); ok {
		ips = []netip.Addr{ip}
	} else {
		name = normalizeName(host)
		if err := d.check(&d.opts.Policy, name, port); err != nil && !proxy {
			return nil, err
		}
		if ips, err = d.opts.Resolver.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
		if len(ips) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
	}
	var local map[netip.Addr]bool
	for i, ip := range ips {
		ips[i] = normalize(ip)
		if proxy {
			continue
		}
		if ok, why := d.opts.Policy.decide(name, ips[i], port); !ok {
			return nil, d.refuse(why)
		}
		if local == nil {
			local = localAddrs()
		}
		if local[ips[i]] && !d.opts.Policy.allows(name, ips[i], port) {
			// The kernel delivers a connection to one of the host's own addresses over
			// loopback: services listening on every interface answer it.
			return nil, d.refuse(ips[i].String() + " is an address of this host")
		}
	}
	var first error
	for _, ip := range ips {
		c, err := d.dialer.DialContext(ctx, network, netip.AddrPortFrom(ip, port).String())
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// localAddrs returns the addresses of this host's network interfaces (read at each dial, so
// that an address acquired later counts); an empty set when they cannot be read.
func localAddrs() map[netip.Addr]bool {
	set := map[netip.Addr]bool{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return set
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			set[normalize(p.Addr())] = true
		}
	}
	return set
}

// checked is the base transport behind the policy: every request's URL host is checked
// before it is sent (so a proxy cannot hide it); the dial checks the resolved addresses.
type checked struct {
	door *Door
	base *http.Transport
}

// RoundTrip checks req.URL's host, then sends the request on the base transport.
func (c *checked) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := c.door.CheckURL(req.URL); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return c.base.RoundTrip(req)
}

// CloseIdleConnections closes the base transport's idle connections (http.Client's
// CloseIdleConnections and an evicted transport reach it through the wrappers).
func (c *checked) CloseIdleConnections() { c.base.CloseIdleConnections() }

// Default returns the process's door with the default policy (zero Policy, system resolver),
// for callers given no Door: loopback, link-local and metadata destinations are refused.
var Default = sync.OnceValue(func() *Door { return New(Options{}) })
