package azdosim

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runGit runs the git CLI in dir, isolated from the host's configuration.
func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitCmd(dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func gitCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv("GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
	return cmd
}

func basicHeader(user, pass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestGitCloneWithCLI(t *testing.T) {
	s := startServer(t, Options{Seed: true, VirtualDir: "tfs"})
	info := findRepo(t, s, "ios-app")
	want := strings.TrimSpace(mustGit(t, info.BarePath, "rev-parse", "refs/heads/main"))
	remote := s.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"

	t.Run("extraHeader", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "clone")
		runGit(t, "", "-c", "http.extraHeader="+basicHeader("build", testPAT), "clone", "--quiet", remote, dst)
		if got := runGit(t, dst, "rev-parse", "HEAD"); got != want {
			t.Fatalf("HEAD %s, want %s", got, want)
		}
		if got := runGit(t, dst, "branch", "-r"); !strings.Contains(got, "origin/release/1.0") || !strings.Contains(got, "origin/develop") {
			t.Errorf("remote branches: %s", got)
		}
		if _, err := os.Stat(filepath.Join(dst, "Sources/FabrikamApp/AppDelegate.swift")); err != nil {
			t.Errorf("checkout: %v", err)
		}
	})
	t.Run("user and PAT in the URL, protocol v0 forced", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "clone")
		u := strings.Replace(remote, "http://", "http://build:"+testPAT+"@", 1)
		out, err := gitCmd("", "-c", "protocol.version=2", "clone", "--depth", "1", u, dst).CombinedOutput()
		if err != nil {
			t.Fatalf("clone: %v\n%s", err, out)
		}
		if got := runGit(t, dst, "rev-parse", "HEAD"); got != want {
			t.Fatalf("HEAD %s, want %s", got, want)
		}
	})
	t.Run("empty user name is accepted (Microsoft's documented extraHeader form)", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "clone")
		runGit(t, "", "-c", "http.extraHeader="+basicHeader("", testPAT), "clone", "--quiet", remote, dst)
		if got := runGit(t, dst, "rev-parse", "HEAD"); got != want {
			t.Fatalf("HEAD %s, want %s", got, want)
		}
	})
	t.Run("disabled repository", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/DefaultCollection/Fabrikam%20Mobile/_git/legacy-tools/info/refs?service=git-upload-pack", nil)
		req.SetBasicAuth("build", testPAT)
		a := send(t, req)
		mustStatus(t, a, http.StatusNotFound)
		if !strings.Contains(string(a.body), "TF401019: The Git repository with name or identifier legacy-tools does not exist") {
			t.Errorf("disabled repository body %q", a.body)
		}
	})
	t.Run("short form URL", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "clone")
		runGit(t, "", "-c", "http.extraHeader="+basicHeader("build", testPAT), "clone", "--quiet", s.URL()+"/DefaultCollection/_git/Platform", dst)
		if _, err := os.Stat(filepath.Join(dst, "README.md")); err != nil {
			t.Error(err)
		}
	})
}

func mustGit(t *testing.T, gitDir string, args ...string) string {
	t.Helper()
	out, err := git(gitDir, nil, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGitAuthFailures(t *testing.T) {
	s := startServer(t, Options{Seed: true}, PAT{Token: "project-only", Scopes: []string{"vso.project"}})
	u := s.URL() + "/DefaultCollection/Platform/_git/Platform/info/refs?service=git-upload-pack"
	for _, c := range []struct{ user, pass string }{{"", ""}, {"build", "wrong"}, {"", "wrong"}, {"build", "project-only"}} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if c.pass != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		a := send(t, req)
		if a.status != 401 || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic realm=") {
			t.Errorf("%q/%q: %d %v", c.user, c.pass, a.status, a.header)
		}
	}
}

func TestUploadPackAdvertisement(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	adv := func(repo string) []byte {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/DefaultCollection/Fabrikam%20Mobile/_git/"+repo+"/info/refs?service=git-upload-pack", nil)
		req.SetBasicAuth("build", testPAT)
		req.Header.Set("Git-Protocol", "version=2")
		a := send(t, req)
		mustStatus(t, a, 200)
		if ct := a.header.Get("Content-Type"); ct != "application/x-git-upload-pack-advertisement" {
			t.Errorf("Content-Type %q", ct)
		}
		return a.body
	}
	body := adv("ios-app")
	pkts, rest := parsePkts(body)
	if len(rest) != 0 || len(pkts) < 4 || string(pkts[0].data) != "# service=git-upload-pack\n" || !pkts[1].flush || !pkts[len(pkts)-1].flush {
		t.Fatalf("advertisement framing: %q", body)
	}
	_, caps, ok := strings.Cut(strings.TrimSuffix(string(pkts[2].data), "\n"), "\x00")
	if !ok {
		t.Fatalf("no capabilities: %q", pkts[2].data)
	}
	want := "multi_ack thin-pack side-band side-band-64k no-progress multi_ack_detailed no-done shallow allow-tip-sha1-in-want filter symref=HEAD:refs/heads/main"
	if caps != want {
		t.Fatalf("capabilities\n got %q\nwant %q", caps, want)
	}
	if bytes.Contains(body, []byte("ofs-delta")) || bytes.Contains(body, []byte("agent=")) || bytes.Contains(body, []byte("version 2")) {
		t.Errorf("unexpected capability: %q", body)
	}
	for _, p := range pkts[3:] {
		if bytes.IndexByte(p.data, 0) >= 0 {
			t.Errorf("capabilities on a later line: %q", p.data)
		}
	}
	if got := string(adv("empty-repo")); got != "001e# service=git-upload-pack\n00000000" {
		t.Errorf("empty repository advertisement %q", got)
	}
}

func TestRewriteAdvertisementDropsCapabilitiesPlaceholder(t *testing.T) {
	in := encodePkts([]pkt{{data: []byte("# service=git-upload-pack\n")}, {flush: true},
		{data: []byte("0000000000000000000000000000000000000000 capabilities^{}\x00multi_ack ofs-delta agent=git/2\n")}, {flush: true}})
	if got := string(rewriteAdvertisement(in, "")); got != "001e# service=git-upload-pack\n00000000" {
		t.Fatalf("got %q", got)
	}
}

func TestUploadPackRequiresMultiAck(t *testing.T) {
	s := startServer(t, Options{Seed: true})
	info := findRepo(t, s, "build scripts")
	sha := strings.TrimSpace(mustGit(t, info.BarePath, "rev-parse", "refs/heads/main"))
	u := s.URL() + "/DefaultCollection/Platform/_git/build%20scripts/git-upload-pack"
	request := func(caps string) []byte {
		return encodePkts([]pkt{{data: []byte("want " + sha + " " + caps + "\n")}, {flush: true}, {data: []byte("done\n")}})
	}
	post := func(body []byte, gz bool) answer {
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			_, _ = zw.Write(body)
			_ = zw.Close()
			body = buf.Bytes()
		}
		req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		req.SetBasicAuth("build", testPAT)
		req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		return send(t, req)
	}
	for _, c := range []struct {
		caps string
		gz   bool
		ok   bool
	}{
		{"side-band-64k ofs-delta agent=go-git/5.x", false, false},
		{"side-band-64k thin-pack", true, false},
		{"multi_ack side-band-64k", false, true},
		{"multi_ack_detailed side-band-64k thin-pack no-progress", true, true},
	} {
		t.Run(fmt.Sprintf("%s gzip=%v", c.caps, c.gz), func(t *testing.T) {
			a := post(request(c.caps), c.gz)
			if !c.ok {
				mustStatus(t, a, http.StatusBadRequest)
				if string(a.body) != tf401041 {
					t.Errorf("body %q", a.body)
				}
				return
			}
			mustStatus(t, a, http.StatusOK)
			if !bytes.HasPrefix(a.body, []byte("0008NAK\n")) || !bytes.Contains(a.body, []byte("PACK")) {
				t.Errorf("upload-pack answer %q", a.body[:min(len(a.body), 40)])
			}
		})
	}
}

func TestPushToCreatedRepository(t *testing.T) {
	s := startServer(t, Options{VirtualDir: "tfs"})
	info, err := s.CreateRepository("", "New Project", "fresh repo")
	if err != nil {
		t.Fatal(err)
	}
	if !info.Empty || info.DefaultBranch != "" {
		t.Fatalf("new repository: %+v", info)
	}
	work := t.TempDir()
	runGit(t, work, "init", "--quiet", "--initial-branch=trunk")
	if err := os.WriteFile(filepath.Join(work, "a.txt"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, work, "add", "a.txt")
	runGit(t, work, "commit", "--quiet", "-m", "first")
	remote := s.URL() + "/DefaultCollection/New%20Project/_git/fresh%20repo"
	runGit(t, work, "-c", "http.extraHeader="+basicHeader("build", testPAT), "push", "--quiet", remote, "trunk")
	got := findRepo(t, s, "fresh repo")
	if got.Empty || got.DefaultBranch != "refs/heads/trunk" {
		t.Fatalf("after push: %+v", got)
	}
	a := get(t, s.URL()+"/DefaultCollection/New%20Project/_apis/git/repositories/fresh%20repo", testPAT, false)
	if !strings.Contains(string(a.body), `"defaultBranch":"refs/heads/trunk"`) {
		t.Errorf("REST after push: %s", a.body)
	}
}

func TestImportDirectory(t *testing.T) {
	w := t.TempDir()
	src := filepath.Join(w, "src")
	runGit(t, "", "init", "--quiet", "--initial-branch=main", src)
	if err := os.WriteFile(filepath.Join(src, "Wallet.swift"), []byte("struct Wallet {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runGit(t, src, "add", ".")
	runGit(t, src, "commit", "--quiet", "-m", "wallet")
	runGit(t, src, "branch", "release")
	bare := filepath.Join(w, "import", "MOBILE_IOS", "wallet.git")
	runGit(t, "", "clone", "--quiet", "--bare", src, bare)
	if err := os.WriteFile(filepath.Join(w, "import", "README.txt"), []byte("not a project\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	s := startServer(t, Options{VirtualDir: "tfs", ImportDir: filepath.Join(w, "import")})
	a := get(t, s.URL()+"/DefaultCollection/MOBILE_IOS/_apis/git/repositories?api-version=6.0", testPAT, false)
	mustStatus(t, a, 200)
	var list struct {
		Count int        `json:"count"`
		Value []repoWire `json:"value"`
	}
	a.json(t, &list)
	if list.Count != 1 || list.Value[0].Name != "wallet" || list.Value[0].DefaultBranch != "refs/heads/main" ||
		list.Value[0].RemoteURL != s.URL()+"/DefaultCollection/MOBILE_IOS/_git/wallet" {
		t.Fatalf("imported: %s", a.body)
	}
	if rs := s.Repositories("DefaultCollection"); len(rs) != 1 || rs[0].BarePath != bare {
		t.Fatalf("Repositories: %+v", rs)
	}
	dst := filepath.Join(w, "clone")
	runGit(t, "", "-c", "http.extraHeader="+basicHeader("ci", testPAT), "clone", "--quiet", list.Value[0].RemoteURL, dst)
	if got, want := runGit(t, dst, "ls-tree", "-r", "HEAD"), runGit(t, src, "ls-tree", "-r", "HEAD"); got != want {
		t.Fatalf("tree %q, want %q", got, want)
	}
	if got := runGit(t, dst, "branch", "-r"); !strings.Contains(got, "origin/release") {
		t.Errorf("branches: %s", got)
	}
	// Same data, same ids across restarts.
	s2 := startServer(t, Options{VirtualDir: "tfs", ImportDir: filepath.Join(w, "import")})
	if s2.Repositories("")[0].ID != s.Repositories("")[0].ID {
		t.Errorf("ids differ across restarts")
	}
}
