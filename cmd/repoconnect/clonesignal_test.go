package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim"
)

// lineLog collects a process's output lines as they arrive.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		l.mu.Unlock()
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// waitFor polls cond every 20 ms until it holds or 60 s passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// SIGINT or SIGTERM during a clone stops it, removes what it created (the directory it made,
// or the contents of the empty directory it was given), exits 1 saying so, and the same
// command then succeeds. The simulator holds the pack (a slow fault on git-upload-pack), so
// the signal arrives while the clone is under way.
func TestCloneSignalLeavesNothing(t *testing.T) {
	bin := buildBinary(t)
	sim := startSim(t)
	url := sim.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
	hold, err := azdosim.ParseFault("git-upload-pack=slow,delay=5m")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		sig    syscall.Signal
		say    string
		exists bool // the directory exists, empty, before the clone
	}{{"SIGINT, new directory", syscall.SIGINT, "SIGINT", false}, {"SIGTERM, empty directory", syscall.SIGTERM, "SIGTERM", true}} {
		t.Run(c.name, func(t *testing.T) {
			sim.AddFault(hold)
			dir := filepath.Join(t.TempDir(), "clone")
			if c.exists {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(bin, "clone", url, "--dir", dir)
			cmd.Env = append(os.Environ(), "AZURE_DEVOPS_PAT="+cliPAT)
			stderr, _ := cmd.StderrPipe()
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var log lineLog
			read := make(chan struct{})
			go func() { log.read(stderr); close(read) }()
			waitFor(t, "the clone to start (its first progress line)", func() bool { return strings.Contains(log.String(), "cloning ") })
			waitFor(t, "the clone to write into "+dir, func() bool {
				entries, err := os.ReadDir(dir)
				return err == nil && len(entries) > 0
			})
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			<-read
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit %v (want status 1); stderr:\n%s", err, log.String())
			}
			if !strings.Contains(log.String(), "clone stopped by "+c.say) || stdout.Len() != 0 {
				t.Errorf("stderr does not say the clone stopped by %s (stdout %q):\n%s", c.say, stdout.String(), log.String())
			}
			entries, err := os.ReadDir(dir)
			switch {
			case c.exists && (err != nil || len(entries) != 0):
				t.Errorf("the given empty directory was not left empty: %v %v", entries, err)
			case !c.exists && !errors.Is(err, os.ErrNotExist):
				t.Errorf("the directory the clone made is still there: %v %v", entries, err)
			}

			sim.ClearFaults()
			again := exec.Command(bin, "clone", url, "--dir", dir, "-q")
			again.Env = cmd.Env
			out, err := again.Output()
			var res struct{ Commit string }
			if err != nil || json.Unmarshal(out, &res) != nil || len(res.Commit) != 40 {
				t.Fatalf("the clone again: %v %q", err, out)
			}
		})
	}
}
