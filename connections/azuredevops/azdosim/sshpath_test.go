package azdosim

import (
	"strings"
	"testing"
)

func TestParseSSHCommand(t *testing.T) {
	for _, tc := range []struct{ cmd, program, arg string }{
		{"git-upload-pack '/v3/org/proj/repo'", "git-upload-pack", "/v3/org/proj/repo"},
		{"git-upload-pack 'v3/org/My Project/my repo'", "git-upload-pack", "v3/org/My Project/my repo"},
		{`git-upload-pack '/v3/org/it'\''s/repo'`, "git-upload-pack", "/v3/org/it's/repo"},
		{`git-upload-pack '/v3/org/wow'\!'/repo'`, "git-upload-pack", "/v3/org/wow!/repo"},
		{"git-upload-pack /v3/org/proj/repo", "git-upload-pack", "/v3/org/proj/repo"},
		{"git-receive-pack '/v3/org/proj/repo'  ", "git-receive-pack", "/v3/org/proj/repo"},
	} {
		program, arg, err := parseSSHCommand(tc.cmd)
		if err != nil || program != tc.program || arg != tc.arg {
			t.Errorf("parseSSHCommand(%q) = %q, %q, %v; want %q, %q", tc.cmd, program, arg, err, tc.program, tc.arg)
		}
	}
	for _, cmd := range []string{
		"", "git-upload-pack", "git-upload-pack ''", "git-upload-pack 'a' 'b'", "git-upload-pack a b",
		"git-upload-pack 'unterminated", `git-upload-pack a\`, `git-upload-pack "a"`, "git-upload-pack a;rm",
		"git-upload-pack $(id)", "git-upload-pack `id`", "git-upload-pack a|b", "git-upload-pack 'a'\n",
		"git-upload-pack 'a\x00b'", "git-upload-pack " + strings.Repeat("a", maxSSHCommand),
	} {
		if program, arg, err := parseSSHCommand(cmd); err == nil {
			t.Errorf("parseSSHCommand(%q) = %q, %q; want an error", cmd, program, arg)
		}
	}
}

func FuzzParseSSHCommand(f *testing.F) {
	for _, seed := range []string{"git-upload-pack '/v3/o/p/r'", `git-upload-pack 'a'\''b'`, "git-upload-pack a\\ b", "x 'y"} {
		f.Add(seed)
	}
	s := &Server{opts: Options{Services: true}}
	srv := &Server{vdir: []string{"tfs"}}
	f.Fuzz(func(t *testing.T, cmd string) {
		program, arg, err := parseSSHCommand(cmd)
		if err != nil {
			return
		}
		if program == "" || arg == "" || strings.ContainsAny(program, " ") || len(arg) > len(cmd) {
			t.Fatalf("parseSSHCommand(%q) = %q, %q", cmd, program, arg)
		}
		for _, s := range []*Server{s, srv} {
			if p, ok := s.parseSSHPath("git", arg); ok && (p.coll == "" || p.repo == "" || strings.HasPrefix(p.repo, "_")) {
				t.Fatalf("parseSSHPath(%q) = %+v", arg, p)
			}
		}
	})
}

func TestParseSSHPath(t *testing.T) {
	services := &Server{opts: Options{Services: true}}
	server := &Server{vdir: []string{"tfs"}}
	noVdir := &Server{}
	for _, tc := range []struct {
		s          *Server
		user, path string
		want       sshRepoPath
	}{
		{services, "git", "/v3/org/proj/repo", sshRepoPath{"org", "proj", "repo"}},
		{services, "git", "v3/org/My%20Project/my%20repo", sshRepoPath{"org", "My Project", "my repo"}},
		{services, "git", "V3/org/proj/team/_optimized/repo", sshRepoPath{"org", "proj", "repo"}},
		{services, "git", "/v3/org/proj/team/repo", sshRepoPath{"org", "proj", "repo"}},
		{services, "org", "/proj/_ssh/repo", sshRepoPath{"org", "proj", "repo"}},
		{services, "org", "/DefaultCollection/proj/team/_ssh/_full/repo", sshRepoPath{"org", "proj", "repo"}},
		{services, "org", "/DefaultCollection/_ssh/repo", sshRepoPath{"org", "", "repo"}},
		{services, "org", "/_ssh/repo", sshRepoPath{"org", "", "repo"}},
		{server, "", "/tfs/Coll/proj/_git/repo", sshRepoPath{"Coll", "proj", "repo"}},
		{server, "git", "tfs/Coll/proj/_ssh/my%20repo", sshRepoPath{"Coll", "proj", "my repo"}},
		{server, "", "/TFS/Coll/_git/repo", sshRepoPath{"Coll", "", "repo"}},
		{noVdir, "", "/Coll/proj/team/_git/_full/repo", sshRepoPath{"Coll", "proj", "repo"}},
	} {
		got, ok := tc.s.parseSSHPath(tc.user, tc.path)
		if !ok || got != tc.want {
			t.Errorf("parseSSHPath(%q, %q) = %+v, %v; want %+v", tc.user, tc.path, got, ok, tc.want)
		}
	}
	for _, tc := range []struct {
		s    *Server
		path string
	}{
		{services, "/v3/org/proj"},
		{services, "/v3/org/proj/a/b/repo"},
		{services, "/v3/org/_apis/repo"},
		{services, "/v3/org/proj/_full"},
		{services, "/v3/org/proj/%zz"},
		{services, "/v3/org/proj/a%2Fb"},
		{services, "/proj/repo"},
		{server, "/Coll/proj/_git/repo"},
		{server, "/tfs/Coll/proj/_git/repo/extra"},
		{server, "/tfs/Coll/proj/_git/_full"},
		{server, "/tfs/Coll/a/b/c/_git/repo"},
		{server, "/tfs/_git/repo"},
		{noVdir, "/v3/org/proj/repo"},
		{noVdir, ""},
	} {
		if got, ok := tc.s.parseSSHPath("git", tc.path); ok {
			t.Errorf("parseSSHPath(%q) = %+v, want no repository path", tc.path, got)
		}
	}
}

func TestAdvertEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"0000", 4},
		{"0008abcd0000PACK", 12},
		{"0008abcd", -1},
		{"0008ab", -1},
		{"zzzz0000", -1},
		{"0003", -1},
	} {
		if got, _ := advertEnd([]byte(tc.in), 0); got != tc.want {
			t.Errorf("advertEnd(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
