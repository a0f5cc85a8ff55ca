package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repoconnect/repoconnect/connections/azuredevops/azdosim/azdosimtest"
)

const secretPAT = "cmd-test-pat-do-not-print"

// startCommand runs the command with args until the test ends; it returns the first stdout
// line, the rest of stdout (read after the command stopped) and a stop function.
func startCommand(t *testing.T, args ...string) (first string, stop func() (rest string, stderr string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errBuf strings.Builder
	errW := &lockedWriter{b: &errBuf}
	cmd := newRootCommand(ctx, pw, errW)
	cmd.SetArgs(args)
	done := make(chan error, 1)
	go func() {
		err := cmd.Execute()
		_ = pw.CloseWithError(io.EOF)
		done <- err
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case first = <-lines:
	case err := <-done:
		cancel()
		t.Fatalf("command ended early: %v; stderr %s", err, errW.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("no first line within 60s")
	}
	return first, func() (string, string) {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("command: %v", err)
		}
		var rest []string
		for l := range lines {
			rest = append(rest, l)
		}
		return strings.Join(rest, "\n"), errW.String()
	}
}

func TestCommandImportAndServe(t *testing.T) {
	w := t.TempDir()
	src := filepath.Join(w, "src")
	git(t, "", "init", "--quiet", "--initial-branch=main", src)
	if err := os.WriteFile(filepath.Join(src, "README.md"), []byte("wallet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, src, "add", ".")
	git(t, src, "commit", "--quiet", "-m", "first")
	git(t, src, "branch", "release")
	git(t, "", "clone", "--quiet", "--bare", src, filepath.Join(w, "import", "MOBILE_IOS", "wallet.git"))

	first, stop := startCommand(t, "--addr", "127.0.0.1:0", "--virtual-dir", "tfs", "--collection", "DefaultCollection",
		"--pat", secretPAT, "--pat-expired", "old-token", "--import", filepath.Join(w, "import"))
	if !strings.HasPrefix(first, "http://127.0.0.1:") || !strings.HasSuffix(first, "/tfs") || strings.Contains(first, " ") {
		t.Fatalf("first line %q", first)
	}
	req, _ := http.NewRequest(http.MethodGet, first+"/DefaultCollection/_apis/git/repositories?api-version=7.0", nil)
	req.SetBasicAuth("", secretPAT)
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"count":1`) || !strings.Contains(string(body), `"name":"wallet"`) {
		t.Fatalf("repositories: %d %s", resp.StatusCode, body)
	}
	dst := filepath.Join(w, "clone")
	git(t, "", "clone", "--quiet", strings.Replace(first, "http://", "http://ci:"+secretPAT+"@", 1)+"/DefaultCollection/MOBILE_IOS/_git/wallet", dst)
	rest, stderr := stop()
	if !strings.Contains(rest, "DefaultCollection: 1 projects with repositories, 1 repositories") {
		t.Errorf("summary %q", rest)
	}
	for _, out := range []string{first, rest, stderr} {
		if strings.Contains(out, secretPAT) || strings.Contains(out, "old-token") {
			t.Errorf("a PAT was printed: %q", out)
		}
	}
	if !strings.Contains(stderr, "azdosim request") {
		t.Errorf("no request log on stderr: %q", stderr)
	}
}

func TestCommandSeedsByDefault(t *testing.T) {
	first, stop := startCommand(t, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--pat", secretPAT)
	if strings.HasSuffix(first, "/") || !strings.HasPrefix(first, "http://127.0.0.1:") {
		t.Fatalf("first line %q", first)
	}
	rest, _ := stop()
	if !strings.Contains(rest, "6 repositories") {
		t.Errorf("summary %q", rest)
	}
}

var git = azdosimtest.Git
