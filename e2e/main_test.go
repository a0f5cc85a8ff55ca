//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin holds the paths of the binaries TestMain builds once for every test of the run.
var bin struct {
	repoconnect, azdosim string
}

// moduleRoot is the repository's root: the tests run in e2e/, one level below it.
var moduleRoot string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	moduleRoot = root
	dir, err := os.MkdirTemp("", "repoconnect-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin.repoconnect = filepath.Join(dir, "repoconnect")
	bin.azdosim = filepath.Join(dir, "azdosim")
	for _, b := range []struct{ out, pkg string }{{bin.repoconnect, "./cmd/repoconnect"}, {bin.azdosim, "./cmd/azdosim"}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build -o %s %s: %v\n%s", b.out, b.pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

// newPAT returns a fresh personal access token for a simulator: random, so a test can search
// every output and file for it.
func newPAT(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "e2ePAT" + hex.EncodeToString(b)
}

// loopbackEnv is the environment of the service's processes: loopback destinations (the
// simulator) are refused by the outbound policy unless the operator allows them.
func loopbackEnv(extra ...string) []string {
	return append(append(os.Environ(), "REPOCONNECT_ALLOW_DESTINATIONS=127.0.0.0/8"), extra...)
}

// freePort returns a loopback port nothing listens on at the moment of the call.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// output collects what a process writes (stdout and stderr together) in memory and in a log
// file, and wakes the waiters of waitOutput at every write.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	file    *os.File
	changed chan struct{}
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if o.file != nil {
		o.file.Write(p)
	}
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// snapshot returns what was written so far, and a channel closed at the next write.
func (o *output) snapshot() (string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String(), o.changed
}

// proc is a process started by start; it is stopped when its test ends.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *output
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done is closed
}

// start runs name with args and env (nil: the test's own) as a background process whose
// output goes to {logDir}/{name}.log. At the end of the test it gets SIGTERM, then SIGKILL if
// it has not exited within 10 seconds; if the test failed, the tail of its output is logged.
func start(t *testing.T, logDir, name string, env []string, path string, args ...string) *proc {
	t.Helper()
	f, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, out: &output{file: f, changed: make(chan struct{})}, done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		f.Close()
		if t.Failed() {
			s, _ := p.out.snapshot()
			t.Logf("%s output (last lines):\n%s", name, tail(s, 25))
		}
	})
	return p
}

// waitOutput waits until the process's output matches re and returns the first match's
// submatches. It fails the test if the process exits first or nothing matches within timeout.
func (p *proc) waitOutput(t *testing.T, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s, changed := p.out.snapshot()
		if m := re.FindStringSubmatch(s); m != nil {
			return m
		}
		select {
		case <-changed:
		case <-p.done:
			s, _ := p.out.snapshot()
			if m := re.FindStringSubmatch(s); m != nil {
				return m
			}
			t.Fatalf("%s exited (%v) before printing %q:\n%s", p.name, p.err, re, tail(s, 15))
		case <-deadline.C:
			t.Fatalf("%s printed nothing matching %q within %s:\n%s", p.name, re, timeout, tail(s, 15))
		}
	}
}

// waitHTTP polls url every 50 ms until it answers 200, failing the test if the process exits
// first or the deadline passes.
func (p *proc) waitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-tick.C:
		case <-p.done:
			s, _ := p.out.snapshot()
			t.Fatalf("%s exited (%v) before %s answered 200:\n%s", p.name, p.err, url, tail(s, 15))
		case <-ctx.Done():
			t.Fatalf("%s did not answer 200 within %s (last: %s)", url, timeout, last)
		}
	}
}

// startSimulator starts azdosim as an Azure DevOps Server with the virtual directory "tfs",
// one collection DefaultCollection accepting pat, serving the bare repositories under
// importDir ({Project}/{repo}.git). It returns the base URL (http://127.0.0.1:PORT/tfs),
// which the simulator prints alone on its first line once it listens.
func startSimulator(t *testing.T, logDir, importDir, pat string) (*proc, string) {
	t.Helper()
	sim := start(t, logDir, "azdosim", loopbackEnv(), bin.azdosim, "--addr", "127.0.0.1:0", "--virtual-dir", "tfs",
		"--collection", "DefaultCollection", "--pat", pat, "--import", importDir)
	m := sim.waitOutput(t, regexp.MustCompile(`(?m)^(http://127\.0\.0\.1:\d+)(/tfs)?/?\s*$`), 30*time.Second)
	return sim, m[1] + "/tfs"
}

// startServe starts `repoconnect serve` on a free loopback port with args added, and waits for
// /healthz to answer 200. It returns the base URL http://127.0.0.1:PORT.
func startServe(t *testing.T, logDir, name string, args ...string) (*proc, string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := start(t, logDir, name, loopbackEnv(), bin.repoconnect, append([]string{"serve", "--addr", addr}, args...)...)
	base := "http://" + addr
	p.waitHTTP(t, base+"/healthz", 60*time.Second)
	return p, base
}

// runCmd runs a command to its end with env (nil: the test's own) and returns its combined
// output and exit code (-1 when it could not start or was killed by a signal).
func runCmd(t *testing.T, env []string, path string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("%s: %v", filepath.Base(path), err)
		return "", -1
	}
}

// gitEnv is the environment of git commands: the user's and the system's configuration
// ignored, a fixed identity, no prompts.
func gitEnv() []string {
	return append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.invalid", "GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.invalid")
}

// git runs git with args and returns its trimmed stdout, failing the test on an error.
func git(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = gitEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// assertNoSecret fails the test if secret appears in any of the strings or in any file under
// the paths (files or directories, read whole, binary files included).
func assertNoSecret(t *testing.T, secret string, texts map[string]string, paths ...string) {
	t.Helper()
	for name, s := range texts {
		if strings.Contains(s, secret) {
			t.Errorf("the PAT appears in %s", name)
		}
	}
	files := 0
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("the PAT is readable in %s", path)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("search %s for the PAT: %v", root, err)
		}
	}
	if len(paths) > 0 && files == 0 {
		t.Errorf("no file found under %v to search for the PAT", paths)
	}
}

// foundUnder reports whether s appears in a file under root: it shows that a search for the PAT
// looked where the records are.
func foundUnder(t *testing.T, root, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || found || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		found = err == nil && bytes.Contains(b, []byte(s))
		return err
	})
	if err != nil {
		t.Fatalf("search %s: %v", root, err)
	}
	return found
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
