package azdosim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
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
	// sshMaxChannels bounds the session channels one connection may open one after another.
	sshMaxChannels = 4
)

// sshState is the SSH side of a Server (sshserver.go, sshkeys.go, sshhostkey.go).
type sshState struct {
	keyTypes []string // Options.SSHKeyTypes or the default; fixed after New

	mu       sync.Mutex
	hostKey  ssh.Signer
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
	ln, err := net.Listen("tcp", s.opts.SSHAddr)
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

// closeSSH stops the listener, closes every connection (which kills their git processes) and
// waits for the connection goroutines.
func (s *Server) closeSSH() {
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
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
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

// serverConfig is the configuration of one connection: the current host key and the public
// key callback; no password or keyboard-interactive methods, as Azure DevOps offers
// publickey only.
func (s *Server) serverConfig() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: s.checkUserKey,
		ServerVersion:     "SSH-2.0-SSHBlackbox.10",
		MaxAuthTries:      10,
	}
	s.sshd.mu.Lock()
	cfg.AddHostKey(s.sshd.hostKey)
	s.sshd.mu.Unlock()
	return cfg
}

// serveSSHConn runs one connection: handshake within sshHandshakeTimeout, then session
// channels one at a time, the whole connection bounded by DefaultSSHSessionTimeout.
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
	n := 0
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		n++
		if n > sshMaxChannels {
			_ = nc.Reject(ssh.ResourceShortage, "too many sessions on one connection")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		inner.Add(1)
		go func() {
			defer inner.Done()
			s.serveSession(ctx, &inner, sconn, user, ch, chReqs)
		}()
	}
	cancel()
	_ = sconn.Close()
	inner.Wait()
}

// serveSession answers one session channel's requests: env is refused (so git speaks
// protocol v0, as with Azure DevOps), shell and pty are refused with Azure DevOps' sentence,
// and one exec of git-upload-pack runs (sshexec.go). The channel is closed after the exec.
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
			code := s.runExec(ctx, bg, sconn, user, p.Command, ch)
			_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
			_ = ch.Close()
			for r := range reqs { // closed when the client answers the close or the connection ends
				if r.WantReply {
					_ = r.Reply(false, nil)
				}
			}
			return
		case "shell":
			// ssh -T git@ssh.dev.azure.com prints "remote: Shell access is not supported."
			// then OpenSSH's "shell request failed on channel 0" (reported).
			_, _ = fmt.Fprint(ch.Stderr(), "remote: Shell access is not supported.\r\n")
			_ = req.Reply(false, nil)
		default:
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
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
