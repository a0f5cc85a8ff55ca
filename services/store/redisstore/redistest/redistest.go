// Package redistest starts a real redis-server for tests: on a free loopback port, in the
// test's temporary directory, owned by the test and stopped when it ends. Tests never depend
// on a server that happens to be running. The redis-server binary must be on PATH (Debian:
// apt-get install redis-server); without it the test fails and says so.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options choose the persistence of the server. The zero value keeps nothing on disk
// (no AOF, no RDB snapshots), the fastest setting for tests that never restart it.
type Options struct {
	// AppendOnly turns the append-only file on, with AppendFsync ("always", "everysec", "no";
	// "always" when empty).
	AppendOnly  bool
	AppendFsync string
	// Args are extra redis-server arguments ("--maxmemory", "10mb", …).
	Args []string
}

// Server is one redis-server process of a test.
type Server struct {
	t    testing.TB
	opts Options
	// Dir is the server's working directory (AOF and log files), inside t.TempDir().
	Dir string
	// Port is the loopback TCP port it listens on; it stays the same across Restart.
	Port int

	// argv, when set, replaces the arguments built from opts (a Sentinel's config file).
	argv []string

	mu  sync.Mutex
	cmd *exec.Cmd
	out chan error // receives the process's exit once
}

// Start starts a server for t and stops it (SIGKILL) when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	return startWith(t, opts, freePort, nil)
}

// startWith starts a server on a port chosen by pick; argv, when not nil, builds the
// redis-server arguments from the chosen directory and port instead of opts.
func startWith(t testing.TB, opts Options, pick func() (int, error), argv func(dir string, port int) ([]string, error)) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed; the tests need a real one (apt-get install -y redis-server): %v", err)
	}
	s := &Server{t: t, opts: opts, Dir: filepath.Join(t.TempDir(), "redis")}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop() })
	// A free port can be taken between the probe and the server's bind: try a few.
	var err error
	for range 5 {
		if s.Port, err = pick(); err != nil {
			continue
		}
		if argv != nil {
			if s.argv, err = argv(s.Dir, s.Port); err != nil {
				continue
			}
		}
		if err = s.start(); err == nil {
			return s
		}
	}
	t.Fatalf("redistest: could not start redis-server: %v", err)
	return nil
}

// Addr is "127.0.0.1:PORT".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL is "redis://127.0.0.1:PORT/db".
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr(), db) }

// Client returns a go-redis client of database 0, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill sends SIGKILL and waits until the process is gone: nothing is flushed beyond what the
// persistence settings already wrote.
func (s *Server) Kill() {
	s.t.Helper()
	s.stop()
}

// Restart starts the server again on the same port and directory (after Kill), and waits until
// it answers PING, that is until it has loaded its AOF.
func (s *Server) Restart() {
	s.t.Helper()
	s.stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

func (s *Server) args() []string {
	if s.argv != nil {
		return s.argv
	}
	a := []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--daemonize", "no", "--logfile", "redis.log", "--protected-mode", "yes"}
	if s.opts.AppendOnly {
		fsync := s.opts.AppendFsync
		if fsync == "" {
			fsync = "always"
		}
		a = append(a, "--appendonly", "yes", "--appendfsync", fsync)
	} else {
		a = append(a, "--appendonly", "no")
	}
	return append(a, s.opts.Args...)
}

// start runs redis-server and waits (up to 10 s) for PING; it fails when the process exits
// first (for instance because the port was taken).
func (s *Server) start() error {
	cmd := exec.Command("redis-server", s.args()...)
	cmd.Dir = s.Dir
	if err := cmd.Start(); err != nil {
		return err
	}
	out := make(chan error, 1)
	go func() { out <- cmd.Wait() }()
	s.mu.Lock()
	s.cmd, s.out = cmd, out
	s.mu.Unlock()

	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-out:
			out <- werr
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			return fmt.Errorf("redis-server exited (%v): %s", werr, tail(log, 400))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("redis-server on port %d did not answer PING within 10s: %v", s.Port, err)
		}
	}
}

// stop kills the current process, if any, and waits for it.
func (s *Server) stop() {
	s.mu.Lock()
	cmd, out := s.cmd, s.out
	s.cmd, s.out = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
