package azdosim

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// goSSHClient connects to s's SSH server with a new RSA key added for "Demo User", checking
// the host key against the server's.
func goSSHClient(t *testing.T, s *Server, user string) *ssh.Client {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddSSHPublicKey("", string(ssh.MarshalAuthorizedKey(signer.PublicKey()))); err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.SSHHostPublicKey()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", s.SSHAddr(), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// runSSH runs command in a new session with a flush-pkt as stdin (an upload-pack client that
// wants nothing) and returns stdout, stderr and the exit status (-1 when none came).
func runSSH(t *testing.T, c *ssh.Client, command string) (stdout, stderr string, status int) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	sess.Stdin = strings.NewReader("0000")
	err = sess.Run(command)
	var ee *ssh.ExitError
	switch {
	case err == nil:
		status = 0
	case errors.As(err, &ee):
		status = ee.ExitStatus()
	default:
		status = -1
	}
	return out.String(), errb.String(), status
}

func TestSSHExecRequests(t *testing.T) {
	s := startSSHServer(t, Options{Seed: true})
	c := goSSHClient(t, s, "anyone")
	for _, tc := range []struct{ name, cmd, stderr string }{
		{"push", "git-receive-pack '/DefaultCollection/Platform/_git/Platform'", "remote: The simulator does not accept pushes over SSH"},
		{"other program", "ls /", "remote: Unsupported command."},
		{"two arguments", "git-upload-pack 'a' 'b'", "remote: Unsupported command."},
		{"shell syntax", "git-upload-pack a;id", "remote: Unsupported command."},
		{"unknown collection", "git-upload-pack '/Nope/Platform/_git/Platform'", "remote: The collection 'Nope' does not exist on this server."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, status := runSSH(t, c, tc.cmd)
			if status != 1 || out != "" || !strings.HasPrefix(errOut, tc.stderr) {
				t.Fatalf("status %d, stdout %q, stderr %q; want 1 and %q", status, out, errOut, tc.stderr)
			}
		})
	}
	t.Run("advertisement", func(t *testing.T) {
		// git-upload-pack with an empty request: the advertisement with Azure DevOps' capabilities.
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		sess.Stdin = strings.NewReader("0000")
		out, err := sess.Output("git-upload-pack '/DefaultCollection/Platform/_git/Platform'")
		if err != nil {
			t.Fatalf("upload-pack: %v", err)
		}
		first, _, _ := strings.Cut(string(out), "\n")
		if !strings.Contains(first, "HEAD\x00"+azureUploadPackCaps+" symref=HEAD:refs/heads/main") || strings.Contains(string(out), "ofs-delta") {
			t.Fatalf("advertisement %q", out)
		}
	})
}

// wantRequest is an upload-pack request for want with the capabilities caps, then done.
func wantRequest(want, caps string) string {
	return string(encodePkts([]pkt{{data: []byte("want " + want + " " + caps + "\n")}, {flush: true}, {data: []byte("done\n")}}))
}

func TestSSHUploadPackRequiresMultiAck(t *testing.T) {
	s := startSSHServer(t, Options{Services: true, Seed: true})
	c := goSSHClient(t, s, "git")
	tip := head(t, s, "Platform")
	run := func(caps string) (string, string, int) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		var out, errb bytes.Buffer
		sess.Stdout, sess.Stderr = &out, &errb
		sess.Stdin = strings.NewReader(wantRequest(tip, caps))
		err = sess.Run("git-upload-pack 'v3/fabrikam/Platform/Platform'")
		status := 0
		var ee *ssh.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitStatus()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), status
	}
	out, errOut, status := run("side-band-64k ofs-delta")
	if status != 1 || errOut != "remote: "+tf401041+"\n" || strings.Contains(out, "PACK") {
		t.Fatalf("without multi_ack: status %d, stderr %q, stdout has a pack: %v", status, errOut, strings.Contains(out, "PACK"))
	}
	out, errOut, status = run("multi_ack_detailed side-band-64k")
	if status != 0 || !strings.Contains(out, "NAK") || !strings.Contains(out, "PACK") {
		t.Fatalf("with multi_ack_detailed: status %d, stderr %q, stdout %q", status, errOut, out)
	}
}

func TestReadWantSection(t *testing.T) {
	req := wantRequest(strings.Repeat("a", 40), "multi_ack") + "more"
	got, err := readWantSection(strings.NewReader(req))
	if err != nil || string(got) != strings.TrimSuffix(req, "0009done\nmore") {
		t.Fatalf("readWantSection = %q, %v", got, err)
	}
	for _, in := range []string{"zzzz0000", "00010000", "0000"} {
		if got, err := readWantSection(strings.NewReader(in)); err != nil || len(got) != 4 {
			t.Errorf("readWantSection(%q) = %q, %v; want the first 4 bytes", in, got, err)
		}
	}
	if got, err := readWantSection(strings.NewReader("0010abc")); err == nil || string(got) != "0010abc" {
		t.Errorf("truncated: %q, %v", got, err)
	}
}

func TestSSHDisconnectEndsGit(t *testing.T) {
	s := startSSHServer(t, Options{Seed: true})
	c := goSSHClient(t, s, "git")
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.StdinPipe(); err != nil { // kept open: upload-pack waits for wants
		t.Fatal(err)
	}
	if err := sess.Start("git-upload-pack '/DefaultCollection/Platform/_git/Platform'"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, "HEAD") {
		t.Fatalf("first line %q, %v", line, err)
	}
	if n := sshConnCount(s); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	_ = c.Close() // the client goes away while git waits for its request
	deadline := time.Now().Add(10 * time.Second)
	for sshConnCount(s) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connection (and its git process) is still there 10 s after the client left")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, _ = io.Copy(io.Discard, stdout)
}

// sshConnCount is the number of open SSH connections.
func sshConnCount(s *Server) int {
	s.sshd.mu.Lock()
	defer s.sshd.mu.Unlock()
	return len(s.sshd.conns)
}

func TestSSHCloseWhileServing(t *testing.T) {
	s := startSSHServer(t, Options{Seed: true})
	c := goSSHClient(t, s, "git")
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdout, _ := sess.StdoutPipe()
	if _, err := sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("git-upload-pack '/DefaultCollection/Platform/_git/Platform'"); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Close did not return while a session was open")
	}
	if s.SSHAddr() != "" {
		t.Fatalf("SSHAddr %q after Close", s.SSHAddr())
	}
	if err := sess.Wait(); err == nil {
		t.Fatal("the session ended cleanly although the server closed")
	}
}

func TestSSHShellRefused(t *testing.T) {
	s := startSSHServer(t, Options{Services: true})
	key := newSSHKey(t, "rsa")
	if err := s.AddSSHPublicKey("", key.pub); err != nil {
		t.Fatal(err)
	}
	hosts := knownHosts(t, s)
	out, err := exec.Command("ssh", "-F", "/dev/null", "-T", "-p", sshPort(s), "-i", key.path, "-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes", "-o", "UserKnownHostsFile="+hosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "git@127.0.0.1").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.TrimSpace(string(out)) != "remote: Shell access is not supported." {
		t.Fatalf("ssh -T: %v\n%s", err, out)
	}
}

func TestSSHEnabledAndGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := New(Options{Seed: true, SSHAddr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSSHEnabled(true); err == nil {
		t.Fatal("SetSSHEnabled(true) before Start succeeded")
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := s.SSHAddr()
	c := goSSHClient(t, s, "git")
	if _, errOut, status := runSSH(t, c, "git-upload-pack '/DefaultCollection/Platform/_git/Platform'"); status != 0 {
		t.Fatalf("upload-pack: status %d, %s", status, errOut)
	}

	if err := s.SetSSHEnabled(false); err != nil || s.SSHAddr() != "" {
		t.Fatalf("SetSSHEnabled(false) = %v, SSHAddr %q", err, s.SSHAddr())
	}
	if _, err := c.NewSession(); err == nil {
		t.Fatal("a session opened on a connection of the disabled SSH server")
	}
	if conn, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		conn.Close()
		t.Fatal("SSH port still accepts connections while disabled")
	}
	if err := s.SetSSHEnabled(true); err != nil || s.SSHAddr() != addr {
		t.Fatalf("SetSSHEnabled(true) = %v, SSHAddr %q, want %q", err, s.SSHAddr(), addr)
	}
	c2 := goSSHClient(t, s, "git")
	if _, errOut, status := runSSH(t, c2, "git-upload-pack '/DefaultCollection/Platform/_git/Platform'"); status != 0 {
		t.Fatalf("upload-pack after re-enabling: status %d, %s", status, errOut)
	}
	_ = c2.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
