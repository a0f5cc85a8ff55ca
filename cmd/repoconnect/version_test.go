package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// buildBinary builds this command into a temporary directory and returns its path (`go build`,
// as make build does, nothing injected).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "repoconnect")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestDescribeBuild(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"}}}
	got := describeBuild(bi)
	want := buildInfo{Version: "v1.4.0", Commit: "0123456789abcdef0123456789abcdef01234567-dirty", Date: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8"}
	if got != want {
		t.Fatalf("%+v, want %+v", got, want)
	}
	if s := versionLine(got); s != "repoconnect v1.4.0 commit 0123456789abcdef0123456789abcdef01234567-dirty (2026-12-01T10:00:00Z) go1.26.8" {
		t.Errorf("String() = %q", s)
	}
	bi.Settings[2].Value = "false"
	if c := describeBuild(bi).Commit; strings.HasSuffix(c, "-dirty") {
		t.Errorf("a clean tree is dirty: %s", c)
	}
	if b := describeBuild(&debug.BuildInfo{}); b.Version != "(devel)" || b.Commit != "" || b.GoVersion != runtime.Version() {
		t.Errorf("no build information: %+v", b)
	}
}

// `repoconnect version` of a built binary says what `go version -m` reads from it.
func TestVersionCommand(t *testing.T) {
	out, _, code := run(t, "", "version", "--json")
	var b buildInfo
	if code != 0 || json.Unmarshal([]byte(out), &b) != nil || b.Version == "" || b.GoVersion != runtime.Version() {
		t.Fatalf("version --json: exit %d %q", code, out)
	}
	if _, errs, code := run(t, "", "version", "extra"); code != 2 || !strings.Contains(errs, "takes no arguments") {
		t.Errorf("version extra: exit %d %q", code, errs)
	}

	bin := buildBinary(t)
	text, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	js, err := exec.Command(bin, "version", "--json").Output()
	if err != nil || json.Unmarshal(js, &b) != nil {
		t.Fatalf("version --json: %v %q", err, js)
	}
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	setting := func(key string) string {
		for _, l := range strings.Split(string(meta), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], key+"=") {
				return strings.TrimPrefix(f[1], key+"=")
			}
		}
		return ""
	}
	wantCommit := setting("vcs.revision")
	if wantCommit != "" && setting("vcs.modified") == "true" {
		wantCommit += "-dirty"
	}
	if b.Commit != wantCommit || b.Date != setting("vcs.time") || b.GoVersion != strings.Fields(string(meta))[1] {
		t.Errorf("version --json %+v; go version -m says commit %q, date %q:\n%s", b, wantCommit, setting("vcs.time"), meta)
	}
	if strings.TrimSpace(string(text)) != versionLine(b) {
		t.Errorf("version %q, --json %+v", text, b)
	}
}

// short is what GET /livez answers: the version and the commit's first 12 characters.
func TestBuildInfoShort(t *testing.T) {
	for _, c := range []struct {
		in   buildInfo
		want string
	}{
		{buildInfo{Version: "(devel)"}, "(devel)"},
		{buildInfo{Version: "v1.4.0", Commit: "0123456789abcdef0123456789abcdef01234567"}, "v1.4.0 (0123456789ab)"},
		{buildInfo{Version: "(devel)", Commit: "0123456789abcdef0123456789abcdef01234567-dirty"}, "(devel) (0123456789ab-dirty)"},
	} {
		if got := shortVersion(c.in); got != c.want {
			t.Errorf("shortVersion(%+v) = %q, want %q", c.in, got, c.want)
		}
	}
}
