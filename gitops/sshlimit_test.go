package gitops

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/repoconnect/repoconnect/connections"
)

// endlessSSH is an SSH server on loopback that accepts any key and answers every exec with
// an endless reference advertisement; written counts the bytes it managed to send.
type endlessSSH struct {
	// negotiate: the advertisement is one branch, and the answer to the pack request is the
	// endless part (ACK lines).
	negotiate bool
	ln        net.Listener
	hostKey   ssh.Signer
	written   atomic.Int64
	wg        sync.WaitGroup
}

func startEndlessSSH(t *testing.T, negotiate bool) *endlessSSH {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	hk, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &endlessSSH{ln: ln, hostKey: hk, negotiate: negotiate}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil }}
	cfg.AddHostKey(hk)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c, cfg)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// auth is a new key's SSHAuth that pins the server's host key.
func (s *endlessSSH) auth(t *testing.T) *SSHAuth {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return &SSHAuth{PrivateKeyPEM: connections.Secret(pem.EncodeToMemory(block)), HostKeyFingerprints: []string{ssh.FingerprintSHA256(s.hostKey.PublicKey())}}
}

// serve answers one connection's session channels.
func (s *endlessSSH) serve(c net.Conn, cfg *ssh.ServerConfig) {
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		for req := range creqs {
			_ = req.Reply(req.Type == "exec", nil)
			if req.Type != "exec" {
				continue
			}
			if s.negotiate {
				s.endlessNegotiation(ch)
				return
			}
			// 100 bytes a reference, never a flush: only the client's bound ends it.
			for i := 0; ; i++ {
				line := fmt.Sprintf("%040x refs/heads/branch-%040d\n", i+1, i)
				if i == 0 {
					line = fmt.Sprintf("%040x HEAD\x00multi_ack side-band-64k ofs-delta symref=HEAD:refs/heads/main\n", 1)
				}
				n, err := fmt.Fprintf(ch, "%04x%s", len(line)+4, line)
				s.written.Add(int64(n))
				if err != nil {
					ch.Close()
					return
				}
			}
		}
	}
}

// endlessNegotiation advertises one branch, reads the client's request up to its "done",
// and answers with ACK lines that never end.
func (s *endlessSSH) endlessNegotiation(ch ssh.Channel) {
	defer ch.Close()
	pkt := func(l string) { fmt.Fprintf(ch, "%04x%s", len(l)+4, l) }
	tip := fmt.Sprintf("%040x", 1)
	pkt(tip + " HEAD\x00multi_ack_detailed multi_ack side-band-64k ofs-delta symref=HEAD:refs/heads/main\n")
	pkt(tip + " refs/heads/main\n")
	fmt.Fprint(ch, "0000")
	var req []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(req), "0009done\n") {
		n, err := ch.Read(buf)
		if err != nil {
			return
		}
		req = append(req, buf[:n]...)
	}
	for i := 0; ; i++ {
		line := fmt.Sprintf("ACK %040x continue\n", i+1)
		n, err := fmt.Fprintf(ch, "%04x%s", len(line)+4, line)
		s.written.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// An SSH server that answers the pack request with an endless negotiation (ACK lines, each
// of which go-git keeps) is cut off past the same bound: the bytes before the pack include
// the negotiation.
func TestSSHEndlessNegotiation(t *testing.T) {
	EnableAzureDevOpsCapabilities()
	const limit = 1 << 20
	srv := startEndlessSSH(t, true)
	auth := srv.auth(t)
	dir := filepath.Join(t.TempDir(), "c")
	_, err := Clone(context.Background(), CloneOptions{Door: LoopbackDoor, URL: "ssh://git@" + srv.ln.Addr().String() + "/v3/o/p/r",
		Dir: dir, SSH: auth, Timeout: 30 * time.Second, beforePack: limit})
	ce := connections.AsError(err)
	if ce == nil || ce.Reason != connections.ReasonProtocol || !strings.Contains(ce.Message, "sent more than 1 MiB before the pack") {
		t.Fatalf("Clone: %v, want protocol_error naming the limit", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed clone left %s: %v", dir, err)
	}
	t.Logf("the server sent %d bytes", srv.written.Load())
	if w := srv.written.Load(); w > limit+4<<20 {
		t.Errorf("the server sent %d bytes", w)
	}
}

// Review finding 4: a server that streams an endless advertisement is cut off past the
// bound of bytes before the pack, with protocol_error naming the limit; what it got to send
// stays within the bound and the SSH window, and no goroutine is left.
func TestSSHEndlessAdvertisement(t *testing.T) {
	EnableAzureDevOpsCapabilities()
	goroutines := runtime.NumGoroutine()
	const limit = 1 << 20
	srv := startEndlessSSH(t, false)
	auth := srv.auth(t)
	url := "ssh://git@" + srv.ln.Addr().String() + "/v3/o/p/r"
	check := func(what string, err error) {
		t.Helper()
		ce := connections.AsError(err)
		if ce == nil || !errors.Is(err, connections.ErrProtocol) || ce.Reason != connections.ReasonProtocol ||
			!strings.Contains(ce.Message, "sent more than 1 MiB before the pack") || !strings.Contains(ce.Message, "fixed limit") {
			t.Fatalf("%s: %v, want protocol_error naming the limit", what, err)
		}
	}
	_, err := ListRefs(context.Background(), CloneOptions{Door: LoopbackDoor, URL: url, SSH: auth, Timeout: 30 * time.Second, beforePack: limit})
	check("ListRefs", err)
	dir := filepath.Join(t.TempDir(), "c")
	_, err = Clone(context.Background(), CloneOptions{Door: LoopbackDoor, URL: url, Dir: dir, SSH: auth, Timeout: 30 * time.Second, beforePack: limit})
	check("Clone", err)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed clone left %s: %v", dir, err)
	}
	// The server's writes wait for the client's window (2 MiB in x/crypto), so what it sent
	// over two connections is the bound and the windows, not more.
	t.Logf("the server sent %d bytes", srv.written.Load())
	if w := srv.written.Load(); w > 2*(limit+4<<20) {
		t.Errorf("the server sent %d bytes", w)
	}
	srv.ln.Close()
	srv.wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), goroutines, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
