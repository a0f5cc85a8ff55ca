package gitops

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh"
	"golang.org/x/net/proxy"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
)

// How an SSH clone's TCP connection goes through its door. go-git's SSH transport dials by
// itself (plumbing/transport/ssh, dial()): with context.Background, through
// golang.org/x/net/proxy.FromURL(Endpoint.Proxy.URL) when the endpoint names a proxy. So the
// package registers, once (capabilities.go), a proxy scheme of its own (sshProxyScheme)
// whose dialer is the clone's: each SSH clone (sshRun) gets a random token, registered in
// sshRuns while the clone runs, and every go-git endpoint of the clone carries
// ProxyOptions{URL: "repoconnect-door://{token}"}. The dialer found for the token dials the
// clone's host and port through the clone's egress.Door (name and every resolved address
// checked, refused before any byte), on the clone's context, and closes the connection when
// that context ends (go-git's SSH session ignores it). An SSH session without a registered
// token is refused (sshGuard), so no go-git SSH connection bypasses the policy.

// sshProxyScheme is the proxy URL scheme of the clones' door dialers.
const sshProxyScheme = "repoconnect-door"

// greetingBytes bounds what is kept of the first bytes a connection receives (to tell a
// port that does not speak SSH); SSH allows lines before its version line, up to 255 bytes
// for the version itself.
const greetingBytes = 512

// sshRun is one clone's (or listing's) SSH state: what it connects to and with, its door and
// context, and what the handshakes saw (for ssherrors.go).
type sshRun struct {
	ep     SSHURL
	user   string
	signer ssh.Signer
	pins   []string
	// hostKeyAlgos is SSHAuth.HostKeyAlgorithms (nil: x/crypto's defaults).
	hostKeyAlgos []string
	// sigAlgos is SSHAuth.SignatureAlgorithms, for messages.
	sigAlgos []string
	door     *egress.Door
	token    string
	ctx      context.Context // set by start

	// beforePack is the bound of the bytes read before the pack (MaxSSHBeforePackBytes; tests
	// lower it); packing is set when the pack begins (packSession), cleared on a dial.
	beforePack int64
	packing    atomic.Bool

	mu       sync.Mutex
	tooMuch  *connections.Error // the beforePack refusal, if any
	refused  *HostKeyError      // the host key refusal, if any
	seen     ssh.PublicKey      // the host key of the last handshake
	greeting []byte             // the first bytes the last connection received
}

// newSSHRun reads opts's SSH URL and key. Errors: ErrInvalidInput (fields url, sshKey).
func newSSHRun(opts *CloneOptions) (*sshRun, error) {
	ep, err := ParseSSHURL(opts.URL)
	if err != nil {
		return nil, err
	}
	signer, err := sshSigner(opts.SSH)
	if err != nil {
		return nil, err
	}
	user := opts.SSH.User
	if user == "" {
		user = ep.User
	}
	if user == "" {
		user = "git"
	}
	return &sshRun{ep: ep, user: user, signer: signer, pins: opts.SSH.HostKeyFingerprints, hostKeyAlgos: opts.SSH.HostKeyAlgorithms,
		sigAlgos: opts.SSH.SignatureAlgorithms, beforePack: cmp.Or(opts.beforePack, MaxSSHBeforePackBytes)}, nil
}

// start registers the run's dialer for ctx (the clone's, bounded) and door, and returns the
// function that unregisters it; connections still open are closed when ctx ends.
func (r *sshRun) start(ctx context.Context, door *egress.Door) func() {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	r.token, r.ctx, r.door = hex.EncodeToString(b[:]), ctx, door
	sshRuns.Store(r.token, r)
	return func() { sshRuns.Delete(r.token) }
}

// proxy is the ProxyOptions of every go-git endpoint of the run.
func (r *sshRun) proxy() transport.ProxyOptions {
	return transport.ProxyOptions{URL: sshProxyScheme + "://" + r.token}
}

// hostKey returns the host key the last handshake saw (nil: none yet).
func (r *sshRun) hostKey() ssh.PublicKey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen
}

// hostKeyCallback accepts a host key whose fingerprint is pinned, and refuses any other with
// a *HostKeyError (kept for translate): the SSH protocol checks the host key before user
// authentication, so the key is never offered to an untrusted host.
func (r *sshRun) hostKeyCallback(_ string, _ net.Addr, key ssh.PublicKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = key
	if trusted(r.pins, key) {
		return nil
	}
	r.refused = hostKeyError(r.ep.Addr(), key, len(r.pins) > 0)
	return r.refused
}

// sshKeyAuth is the go-git SSH AuthMethod of a run: its key, its user, and its host key
// check (never known_hosts: a HostKeyCallback set here makes go-git read none).
type sshKeyAuth struct{ run *sshRun }

// Name is go-git's name of the method.
func (a *sshKeyAuth) Name() string { return "ssh-public-keys" }

// String names the user and the method, never the key.
func (a *sshKeyAuth) String() string { return "user: " + a.run.user + ", name: " + a.Name() }

// ClientConfig is the SSH client configuration of one connection.
func (a *sshKeyAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{User: a.run.user, Auth: []ssh.AuthMethod{ssh.PublicKeys(a.run.signer)},
		HostKeyCallback: a.run.hostKeyCallback, HostKeyAlgorithms: a.run.hostKeyAlgos, ClientVersion: "SSH-2.0-repoconnect"}, nil
}

// sshDoorDialer is the proxy.Dialer found for a run's token: it dials the run's host and port
// through its door.
type sshDoorDialer struct{ run *sshRun }

// newSSHDoorDialer is the proxy.RegisterDialerType function of sshProxyScheme.
func newSSHDoorDialer(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
	v, ok := sshRuns.Load(u.Host)
	if !ok {
		return nil, egress.Refusal(errors.New("ssh: a dial outside a running clone"))
	}
	return sshDoorDialer{v.(*sshRun)}, nil
}

// Dial is DialContext without a context of its own.
func (d sshDoorDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

// DialContext connects to the run's host and port through its door, on the run's context
// and ctx (go-git's, bounded by nothing but ClientConfig.Timeout). addr must be the run's
// (go-git's host:port, ~/.ssh/config being ignored).
func (d sshDoorDialer) DialContext(ctx context.Context, _, addr string) (net.Conn, error) {
	r := d.run
	if !sameAddr(addr, r.ep) {
		return nil, egress.Refusal(errors.New("ssh: dial of " + addr + ", not the clone's " + r.ep.Addr()))
	}
	dctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	c, err := r.door.DialContext(dctx, "tcp", r.ep.Addr())
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.greeting = nil
	r.mu.Unlock()
	r.packing.Store(false)
	sc := &sniffConn{Conn: c, run: r}
	sc.stop = context.AfterFunc(r.ctx, func() { c.Close() })
	return sc, nil
}

// sameAddr reports whether go-git's "host:port" is ep's (go-git bracket IPv6 hosts twice).
func sameAddr(addr string, ep SSHURL) bool {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return false
	}
	host := strings.Trim(addr[:i], "[]")
	return strings.EqualFold(host, ep.Host) && addr[i+1:] == strconv.Itoa(ep.Port)
}

// sniffConn keeps the first greetingBytes a connection receives in its run, fails it past
// the run's bound of bytes before the pack (MaxSSHBeforePackBytes), and closes it when the
// run's context ends.
type sniffConn struct {
	net.Conn
	run  *sshRun
	stop func() bool
	once sync.Once
	read atomic.Int64 // the bytes read so far
}

// Read reads from the connection, keeping the first bytes (the run's lock is taken only for
// those) and counting them until the pack is asked for. Past the bound it closes the
// connection and returns the run's refusal (kept for translate).
func (c *sniffConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n <= 0 {
		return n, err
	}
	total := c.read.Add(int64(n))
	if before := total - int64(n); before < greetingBytes {
		c.run.mu.Lock()
		if k := greetingBytes - len(c.run.greeting); k > 0 {
			c.run.greeting = append(c.run.greeting, b[:min(n, k)]...)
		}
		c.run.mu.Unlock()
	}
	if total > c.run.beforePack && !c.run.packing.Load() {
		c.run.mu.Lock()
		if c.run.tooMuch == nil {
			c.run.tooMuch = beforePackError(c.run.ep.Addr(), c.run.beforePack)
		}
		e := c.run.tooMuch
		c.run.mu.Unlock()
		c.Conn.Close()
		return 0, e
	}
	return n, err
}

// Close closes the connection and forgets the context.
func (c *sniffConn) Close() error {
	c.once.Do(func() { c.stop() })
	return c.Conn.Close()
}

// sshGuard is go-git's SSH transport as installed for "ssh" (capabilities.go): it opens an
// upload-pack session only for an endpoint that carries a running clone's door
// (sshRun.proxy) and its AuthMethod, so no SSH connection leaves without the policy, the
// host key check or with another credential (ssh-agent, ~/.ssh keys). Push is refused.
type sshGuard struct{ transport.Transport }

// NewUploadPackSession opens the session of a run's endpoint, refusing any other.
func (g sshGuard) NewUploadPackSession(ep *transport.Endpoint, auth transport.AuthMethod) (transport.UploadPackSession, error) {
	a, ok := auth.(*sshKeyAuth)
	if !ok {
		return nil, egress.Refusal(errors.New("ssh: a session without a clone's key"))
	}
	u, err := url.Parse(ep.Proxy.URL)
	if err != nil || u.Scheme != sshProxyScheme {
		return nil, egress.Refusal(errors.New("ssh: a session without a clone's door"))
	}
	if v, ok := sshRuns.Load(u.Host); !ok || v.(*sshRun) != a.run {
		return nil, egress.Refusal(errors.New("ssh: a session outside its running clone"))
	}
	s, err := g.Transport.NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, err
	}
	return packSession{UploadPackSession: s, run: a.run}, nil
}

// NewReceivePackSession refuses: the service never pushes.
func (g sshGuard) NewReceivePackSession(*transport.Endpoint, transport.AuthMethod) (transport.ReceivePackSession, error) {
	return nil, errors.New("gitops: pushing over SSH is not supported")
}
