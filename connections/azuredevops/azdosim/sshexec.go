package azdosim

import (
	"context"
	"io"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// runExec runs one exec request of an authenticated connection and returns the exit status
// to send: 0 when git-upload-pack served the repository; 1 with a "remote: …" sentence on
// stderr for anything else (unsupported command, a path that is no repository path, an
// unknown collection, project or repository, a disabled repository, a push); git's own
// status otherwise. The git process is killed when ctx ends (the connection closed or its
// time is up).
func (s *Server) runExec(ctx context.Context, bg *sync.WaitGroup, sconn *ssh.ServerConn, user, command string, ch ssh.Channel) int {
	fail := func(msg string) int {
		_, _ = io.WriteString(ch.Stderr(), "remote: "+msg+"\n")
		s.logger.Info("azdosim ssh exec refused", "user", sshUserName(user), "reason", msg)
		return 1
	}
	program, arg, err := parseSSHCommand(command)
	if err != nil {
		return fail("Unsupported command. Only git-upload-pack with one repository path is served over SSH.")
	}
	switch program {
	case "git-upload-pack":
	case "git-receive-pack":
		// Azure DevOps accepts pushes over SSH; the simulator serves fetches only.
		return fail("The simulator does not accept pushes over SSH; push over HTTP instead.")
	default:
		return fail("Unsupported command. Only git-upload-pack with one repository path is served over SSH.")
	}
	p, ok := s.parseSSHPath(sconn.User(), arg)
	if !ok {
		return fail(errRepoNotFound(arg).message)
	}
	rp, msg := s.findSSHRepo(p)
	if rp == nil {
		return fail(msg)
	}
	s.logger.Info("azdosim ssh upload-pack", "user", sshUserName(user), "repository", rp.name)
	return s.uploadPack(ctx, bg, rp.barePath, ch)
}

// findSSHRepo resolves p to an enabled repository, or returns the sentence to print: the
// HTTP answers' TF401019 (unknown or disabled repository, and an unknown organization in
// Services mode), TF200016 (unknown project) or the unknown collection's sentence.
func (s *Server) findSSHRepo(p sshRepoPath) (*repo, string) {
	s.mu.Lock()
	c := s.findCollectionLocked(p.coll)
	s.mu.Unlock()
	if c == nil {
		if s.opts.Services {
			return nil, errRepoNotFound(p.repo).message
		}
		return nil, errCollectionNotFound(p.coll).message
	}
	rp, e := s.resolveGitRepo(c, p.project, p.repo)
	if e != nil {
		return nil, e.message
	}
	s.mu.Lock()
	disabled := rp.disabled
	s.mu.Unlock()
	if disabled {
		return nil, errRepoNotFound(rp.name).message
	}
	return rp, ""
}

// uploadPack runs `git upload-pack --strict {barePath}` with the channel as its stdin, stdout
// (the ref advertisement's capabilities rewritten to Azure DevOps' set, as over HTTP) and
// stderr, and returns its exit status (1 when it was killed or could not start). No shell is
// involved and no GIT_PROTOCOL is passed, so protocol v0 is spoken, as Azure DevOps does. A
// request whose first want line asks for neither multi_ack nor multi_ack_detailed gets
// TF401041 as an ERR pkt-line and on stderr, and status 1, before git sees it, as the HTTP
// answer's 400 (the SSH form of that refusal is unconfirmed).
func (s *Server) uploadPack(ctx context.Context, bg *sync.WaitGroup, barePath string, ch ssh.Channel) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "upload-pack", "--strict", barePath)
	cmd.Env = gitEnv()
	cmd.Stdout = &advertRewriter{w: ch, defaultRef: defaultBranch(barePath)}
	cmd.Stderr = ch.Stderr()
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 1
	}
	if err := cmd.Start(); err != nil {
		_, _ = io.WriteString(ch.Stderr(), "remote: the simulator could not start git-upload-pack\n")
		return 1
	}
	// The copy ends when the client closes its side of the channel or the channel closes
	// (after the exit status, or with the connection); bg is waited for with the connection.
	var refused atomic.Bool
	bg.Add(1)
	go func() {
		defer bg.Done()
		defer stdin.Close()
		wants, err := readWantSection(ch)
		if err == nil && !wantsMultiAck(wants) {
			refused.Store(true)
			cancel()
			// An ERR pkt-line fails the client's negotiation (git: "fatal: remote error: …";
			// go-git: "unexpected content"), where a bare end of the output would let go-git
			// report success with nothing fetched.
			_, _ = ch.Write(encodePkts([]pkt{{data: []byte("ERR " + tf401041 + "\n")}}))
			_, _ = io.WriteString(ch.Stderr(), "remote: "+tf401041+"\n")
			return
		}
		if _, err := stdin.Write(wants); err != nil {
			return
		}
		_, _ = io.Copy(stdin, ch)
	}()
	err = cmd.Wait()
	if refused.Load() {
		return 1
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}

// maxWantSection bounds the first section of an upload-pack request held for the multi_ack
// check (a want line is 50 to a few hundred bytes).
const maxWantSection = 8 << 20

// readWantSection reads pkt-lines from r up to and including the first flush-pkt (the want
// lines of an upload-pack request) and returns the bytes read. It stops early, without an
// error, at a malformed length or maxWantSection bytes (what was read is passed on and git
// judges the rest); io errors are returned with the bytes read so far.
func readWantSection(r io.Reader) ([]byte, error) {
	var buf []byte
	for len(buf) < maxWantSection {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return buf, err
		}
		buf = append(buf, hdr[:]...)
		n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
		if err != nil || (n > 0 && n < 4) {
			return buf, nil
		}
		if n == 0 {
			return buf, nil
		}
		start := len(buf)
		buf = append(buf, make([]byte, n-4)...)
		if got, err := io.ReadFull(r, buf[start:]); err != nil {
			return buf[:start+got], err
		}
	}
	return buf, nil
}

// advertRewriter passes git-upload-pack's output through, rewriting the capabilities of the
// first ref line of the advertisement (everything up to the first flush-pkt) with
// rewriteAdvertisement, as serveGit does over HTTP. An advertisement longer than
// maxAdvertisement is passed through unchanged.
type advertRewriter struct {
	w          io.Writer
	defaultRef string
	buf        []byte
	scanned    int // the offset in buf of the next pkt-line header advertEnd reads
	done       bool
}

// maxAdvertisement bounds the advertisement held for rewriting.
const maxAdvertisement = 32 << 20

// Write holds output until the advertisement's first flush-pkt, writes the advertisement
// rewritten, and passes everything after it through unchanged.
func (a *advertRewriter) Write(p []byte) (int, error) {
	if a.done {
		return a.w.Write(p)
	}
	a.buf = append(a.buf, p...)
	end, next := advertEnd(a.buf, a.scanned)
	a.scanned = next
	switch {
	case end < 0 && len(a.buf) <= maxAdvertisement:
		return len(p), nil
	case end < 0:
		a.done = true
		if _, err := a.w.Write(a.buf); err != nil {
			return 0, err
		}
	default:
		a.done = true
		// rewriteAdvertisement expects the smart HTTP form, whose advertisement starts with
		// "# service=…" and a flush-pkt; that prefix is added and taken off again unchanged.
		prefix := encodePkts([]pkt{{data: []byte("# service=git-upload-pack\n")}, {flush: true}})
		out := rewriteAdvertisement(append(append([]byte(nil), prefix...), a.buf[:end]...), a.defaultRef)
		out = append(out[len(prefix):], a.buf[end:]...)
		if _, err := a.w.Write(out); err != nil {
			return 0, err
		}
	}
	a.buf = nil
	return len(p), nil
}

// advertEnd returns the offset just after the first flush-pkt of b, or -1 when b does not
// hold one yet (or is not pkt-lines), reading pkt-line headers from off (a header boundary
// an earlier call reached, so that each byte is read once as output arrives); next is the
// boundary reached.
func advertEnd(b []byte, off int) (end, next int) {
	for len(b)-off >= 4 {
		n64, err := strconv.ParseUint(string(b[off:off+4]), 16, 16)
		if err != nil {
			return -1, off
		}
		n := int(n64)
		if n == 0 {
			return off + 4, off
		}
		if n < 4 {
			return -1, off
		}
		off += n
	}
	return -1, off
}
