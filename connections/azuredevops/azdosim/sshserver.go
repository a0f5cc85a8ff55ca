package azdosim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSH server limits.
const (
	// DefaultSSHMaxConns bounds concurrent SSH connections; more are closed at once.
	DefaultSSHMaxConns = 32
	// sshHandshakeTimeout bounds the key exchange and authentication of one connection.
	sshHandshakeTimeout = 30 * time.Second
	// DefaultSSHSessionTimeout bounds one connection's life (and so the git process it runs).
	DefaultSSHSessionTimeout = 10 * time.Minute
	// sshMaxChannels bounds the session channels open at once on one connection.
	sshMaxChannels = 4
)

// sshState is the SSH side of a Server (sshserver.go, sshkeys.go, sshhostkey.go).
type sshState struct {
	keyTypes []string // Options.SSHKeyTypes or the default; fixed after New

	// life serializes listening and closing (Start, SetSSHEnabled, Close); stopped is set
	// by Close, after which SSH cannot be turned on again.
	life    sync.Mutex
	stopped bool

	mu       sync.Mutex
	hostKey  ssh.Signer
	extraKey []ssh.Signer // AddSSHHostKey's, served after hostKey
	keys     []sshUserKey
	refusals []SSHRefusal
	ln       net.Listener
	addr     string
	conns    map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// initSSH validates the SSH options and prepares the host key and key types (called by New).
func (s *Server) initSSH() error {
	key := []byte(s.opts.SSHHostKey)
	if len(key) == 0 {
		key = []byte(DefaultSSHHostKey)
	}
	signer, err := parseHostKey(key)
	if err != nil {
		return err
	}
	s.sshd.hostKey = signer
	s.sshd.keyTypes = append([]string(nil), s.opts.SSHKeyTypes...)
	if len(s.sshd.keyTypes) == 0 {
		s.sshd.keyTypes = defaultSSHKeyTypes(s.opts.Services, s.opts.ServerVersion)
	}
	for _, t := range s.sshd.keyTypes {
		switch t {
		case "rsa", "ecdsa", "ed25519":
		default:
			return fmt.Errorf("azdosim: unknown SSH key type %q (want rsa, ecdsa or ed25519)", t)
		}
	}
	return nil
}

// startSSH listens on Options.SSHAddr when it is set and serves SSH until closeSSH.
func (s *Server) startSSH() error {
	if s.opts.SSHAddr == "" {
		return nil
	}
	return s.listenSSH(s.opts.SSHAddr)
}

// listenSSH listens on addr and serves SSH until closeSSH.
func (s *Server) listenSSH(addr string) error {
	s.sshd.life.Lock()
	defer s.sshd.life.Unlock()
	if s.sshd.stopped {
		return fmt.Errorf("azdosim: the server is closed")
	}
	s.sshd.mu.Lock()
	running := s.sshd.ln != nil
	s.sshd.mu.Unlock()
	if running { // turned on meanwhile
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("azdosim: SSH listen: %w", err)
	}
	s.sshd.mu.Lock()
	s.sshd.ln = ln
	s.sshd.addr = ln.Addr().String()
	s.sshd.conns = map[net.Conn]struct{}{}
	s.sshd.closed = false
	s.sshd.wg.Add(1)
	s.sshd.mu.Unlock()
	go s.acceptSSH(ln)
	return nil
}

// SSHAddr returns the address the SSH server listens on ("127.0.0.1:port"), or "" when SSH is
// not served (Options.SSHAddr empty, or before Start or after Close).
func (s *Server) SSHAddr() string {
	s.sshd.mu.Lock()
	defer s.sshd.mu.Unlock()
	if s.sshd.closed {
		return ""
	}
	return s.sshd.addr
}

// SetSSHEnabled turns the SSH server off (as an administrator who disables SSH on an Azure
// DevOps Server: connections are refused, open ones are closed) or on again on the address it
// had (Options.SSHAddr before the first Start). While off, SSHAddr is "" and sshUrl answers
// take their form without SSH (urls.go). Errors: enabling a server started without
// Options.SSHAddr or not started, after Close, or the address being taken meanwhile.
func (s *Server) SetSSHEnabled(on bool) error {
	if !on {
		s.closeSSH(false)
		return nil
	}
	s.sshd.mu.Lock()
	addr, running := s.sshd.addr, s.sshd.ln != nil
	s.sshd.mu.Unlock()
	switch {
	case running:
		return nil
	case addr == "":
		return fmt.Errorf("azdosim: SSH was never started (Options.SSHAddr and Start)")
	}
	return s.listenSSH(addr)
}

// closeSSH stops the listener, closes every connection (which kills their git processes) and
// waits for the connection goroutines. final (Close) keeps SSH off for good.
func (s *Server) closeSSH(final bool) {
	s.sshd.life.Lock()
	defer s.sshd.life.Unlock()
	s.sshd.stopped = s.sshd.stopped || final
	s.sshd.mu.Lock()
	ln := s.sshd.ln
	s.sshd.ln = nil
	s.sshd.closed = true
	for c := range s.sshd.conns {
		_ = c.Close()
	}
	s.sshd.mu.Unlock()
	if ln == nil {
		return
	}
	_ = ln.Close()
	s.sshd.wg.Wait()
}

// acceptSSH accepts connections until the listener closes.
func (s *Server) acceptSSH(ln net.Listener) {
	defer s.sshd.wg.Done()
	backoff := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A temporary failure (too many open files): back off as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.sshd.mu.Lock()
		if s.sshd.closed || len(s.sshd.conns) >= DefaultSSHMaxConns {
			s.sshd.mu.Unlock()
			_ = c.Close()
			continue
		}
		s.sshd.conns[c] = struct{}{}
		s.sshd.wg.Add(1)
		s.sshd.mu.Unlock()
		go s.serveSSHConn(c)
	}
}

// serverConfig is the configuration of one connection: the current host key (and those of
// AddSSHHostKey, which x/crypto's server offers by type, one per type) and the public
// key callback; no password or keyboard-interactive methods, as Azure DevOps offers
// publickey only. The version string is the one ssh.dev.azure.com announces (ssh -v:
// "remote software version SSHBlackbox.10"; reported). With Options.SSHRSASHA1Only, RSA
// signatures are ssh-rsa (SHA-1) only.
func (s *Server) serverConfig() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: s.checkUserKey,
		ServerVersion:     "SSH-2.0-SSHBlackbox.10",
		MaxAuthTries:      10,
	}
	s.sshd.mu.Lock()
	hostKey, extra := s.sshd.hostKey, slices.Clone(s.sshd.extraKey)
	s.sshd.mu.Unlock()
	if s.opts.SSHRSASHA1Only {
		cfg.PublicKeyAuthAlgorithms = []string{ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoED25519}
		if as, ok := hostKey.(ssh.AlgorithmSigner); ok && hostKey.PublicKey().Type() == ssh.KeyAlgoRSA {
			if sha1, err := ssh.NewSignerWithAlgorithms(as, []string{ssh.KeyAlgoRSA}); err == nil {
				hostKey = sha1
			}
		}
	}
	cfg.AddHostKey(hostKey)
	for _, k := range extra {
		if k.PublicKey().Type() != hostKey.PublicKey().Type() { // the current key wins its type
			cfg.AddHostKey(k)
		}
	}
	return cfg
}

// serveSSHConn runs one connection: handshake within sshHandshakeTimeout, then session
// channels (at most sshMaxChannels at once), the whole connection bounded by
// DefaultSSHSessionTimeout.
func (s *Server) serveSSHConn(c net.Conn) {
	defer s.sshd.wg.Done()
	defer func() {
		_ = c.Close()
		s.sshd.mu.Lock()
		delete(s.sshd.conns, c)
		s.sshd.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultSSHSessionTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	_ = c.SetDeadline(time.Now().Add(sshHandshakeTimeout))
	sconn, chans, reqs, err := ssh.NewServerConn(c, s.serverConfig())
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	var inner sync.WaitGroup
	inner.Add(1)
	go func() {
		defer inner.Done()
		ssh.DiscardRequests(reqs)
	}()
	user := sconn.Permissions.Extensions[permUser]
	var open atomic.Int32
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		if open.Load() >= sshMaxChannels {
			_ = nc.Reject(ssh.ResourceShortage, "too many sessions on one connection")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		open.Add(1)
		inner.Add(1)
		go func() {
			defer inner.Done()
			defer open.Add(-1)
			s.serveSession(ctx, &inner, sconn, user, ch, chReqs)
		}()
	}
	cancel()
	_ = sconn.Close()
	inner.Wait()
}

// serveSession answers one session channel's requests: env is refused (so git speaks
// protocol v0, as with Azure DevOps), a shell gets Azure DevOps' sentence and status 1, pty
// and other requests are refused, and one exec of git-upload-pack runs (sshexec.go). The
// channel is closed after the exec or the shell.
func (s *Server) serveSession(ctx context.Context, bg *sync.WaitGroup, sconn *ssh.ServerConn, user string, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		switch req.Type {
		case "exec":
			var p struct{ Command string }
			if err := ssh.Unmarshal(req.Payload, &p); err != nil {
				_ = req.Reply(false, nil)
				continue
			}
			_ = req.Reply(true, nil)
			s.endSession(ch, reqs, s.runExec(ctx, bg, sconn, user, p.Command, ch))
			return
		case "shell":
			// ssh -T git@ssh.dev.azure.com prints "remote: Shell access is not supported."
			// (reported, followed there by OpenSSH's "shell request failed on channel 0"). The
			// simulator accepts the request, prints the sentence and ends with status 1: a
			// refused request would make OpenSSH exit before it prints what came before.
			_ = req.Reply(true, nil)
			_, _ = io.WriteString(ch.Stderr(), "remote: Shell access is not supported.\r\n")
			s.endSession(ch, reqs, 1)
			return
		default:
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
}

// endSession sends the exit status, closes the channel and answers the requests that still
// come until the client closes its side or the connection ends.
func (s *Server) endSession(ch ssh.Channel, reqs <-chan *ssh.Request, status int) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
	_ = ch.Close()
	for r := range reqs {
		if r.WantReply {
			_ = r.Reply(false, nil)
		}
	}
}

// sshUserName is the display name of an authenticated connection's user.
func sshUserName(user string) string {
	if strings.TrimSpace(user) == "" {
		return "Demo User"
	}
	return user
}
