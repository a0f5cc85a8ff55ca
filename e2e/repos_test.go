//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// moduleDir downloads module@version through the Go module proxy (the go command's own
// configuration: GOPROXY, GOFLAGS, the module cache) and returns the directory of its
// extracted source in the module cache (read-only files). It runs outside any module, so the
// repository's go.mod is never touched.
func moduleDir(t testing.TB, module, version string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	_ = json.Unmarshal(out, &info)
	if err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s@%s: %v %s", module, version, err, info.Error)
	}
	return info.Dir
}

// commitVersions makes src (a new git repository on branch main) hold one commit per version
// of module, each the module's released source as the proxy serves it, in order, so the
// history has real deltas. Each version is added straight from its directory in the module
// cache (git's work tree for that one command), so nothing is copied. after, if not nil, runs
// after each commit.
func commitVersions(t testing.TB, src, module string, versions []string, after func(version string)) {
	t.Helper()
	git(t, "init", "-q", "-b", "main", src)
	for _, v := range versions {
		dir := moduleDir(t, module, v)
		git(t, "-C", dir, "--git-dir", filepath.Join(src, ".git"), "--work-tree", ".", "add", "-A")
		git(t, "-C", src, "-c", "gc.auto=0", "commit", "-q", "-m", fmt.Sprintf("%s %s", module, v))
		if after != nil {
			after(v)
		}
	}
}

// realRepo writes to out a bare repository of real code: three released versions of
// golang.org/x/oauth2 (v0.30.0, v0.34.0, v0.37.0) committed one after another on main, with a
// branch "release" at the second.
func realRepo(t *testing.T, out string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	commitVersions(t, src, "golang.org/x/oauth2", []string{"v0.30.0", "v0.34.0", "v0.37.0"}, func(v string) {
		if v == "v0.34.0" {
			git(t, "-C", src, "branch", "release")
		}
	})
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, "clone", "-q", "--bare", src, out)
}

// awsVersions are the releases of github.com/aws/aws-sdk-go the clone-engine repository is
// made of: about 5,500 files and 330 MB of source each.
var awsVersions = []string{"v1.50.0", "v1.50.1", "v1.50.2", "v1.50.3", "v1.50.4", "v1.50.5", "v1.50.6", "v1.50.7",
	"v1.50.8", "v1.50.32", "v1.51.30", "v1.53.10"}

// bigRepo writes to out a copy of a bare repository of real history for clone measurements:
// the twelve awsVersions committed one after another and repacked. The repository is built
// once (several minutes) and kept under $TMPDIR/repoconnect-e2e-cache/awssdk.git.
func bigRepo(t *testing.T, out string) {
	t.Helper()
	cacheDir := filepath.Join(os.TempDir(), "repoconnect-e2e-cache")
	cached := filepath.Join(cacheDir, "awssdk.git")
	if _, err := os.Stat(filepath.Join(cached, "HEAD")); err != nil {
		t.Logf("building the clone-engine repository from %d releases of github.com/aws/aws-sdk-go into %s (once; several minutes)", len(awsVersions), cached)
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			t.Fatal(err)
		}
		work, err := os.MkdirTemp(cacheDir, "build-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(work)
		src, bare := filepath.Join(work, "src"), filepath.Join(work, "awssdk.git")
		commitVersions(t, src, "github.com/aws/aws-sdk-go", awsVersions, nil)
		git(t, "clone", "-q", "--bare", src, bare)
		git(t, "-C", bare, "repack", "-adq")
		// Another run may have finished first: its copy is as good as this one.
		if err := os.Rename(bare, cached); err != nil {
			if _, statErr := os.Stat(filepath.Join(cached, "HEAD")); statErr != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.CopyFS(out, os.DirFS(cached)); err != nil {
		t.Fatalf("copy the cached repository: %v", err)
	}
}
