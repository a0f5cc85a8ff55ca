package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// wsGit runs git in dir and returns its trimmed output.
func wsGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "protocol.file.allow=always"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(bytes.TrimSpace(out))
}

// wsWrite writes a file, creating its directories.
func wsWrite(tb testing.TB, path, data string, mode os.FileMode) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		tb.Fatal(err)
	}
}

// wsTree describes every path of a work tree outside its top .git: type, executable bit and
// bytes.
func wsTree(tb testing.TB, root string) map[string]string { return describeTree(tb, root, true) }

// describeTree maps every path of a work tree (relative to root) to its type, executable bit
// and bytes, leaving out root's .git and, unless nestedGit, every other .git (a directory, or
// git's gitfile of a submodule).
func describeTree(tb testing.TB, root string, nestedGit bool) map[string]string {
	tb.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if d.Name() == ".git" && (rel == ".git" || !nestedGit) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			m[rel] = "link:" + target
		case fi.IsDir():
			m[rel] = "dir"
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = fmt.Sprintf("x=%v:%q", fi.Mode().Perm()&0o100 != 0, data)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// wsSameTree fails when the work trees a (updated) and b (fresh clone) differ.
func wsSameTree(t *testing.T, a, b string) {
	t.Helper()
	fa, fb := wsTree(t, a), wsTree(t, b)
	for p, v := range fb {
		if fa[p] != v {
			t.Errorf("%s: updated %.80s, fresh clone %.80s", p, fa[p], v)
		}
	}
	for p, v := range fa {
		if _, ok := fb[p]; !ok {
			t.Errorf("%s (%.40s) is in the updated workspace, not in a fresh clone", p, v)
		}
	}
}

// wsFileID is a file's inode and mtime: the same after an update when it was not rewritten.
type wsFileID struct {
	ino   uint64
	mtime int64
}

func wsIDOf(tb testing.TB, path string) wsFileID {
	tb.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return wsFileID{fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime().UnixNano()}
}

// wsRepo makes a source repository with commit A and, on top, commit B, and returns its
// path and both commits. B changes one file, adds one, removes one (its directory becomes
// empty), turns a file into a directory and flips an executable bit; the subdirectory
// vendor/sub is a submodule (gitlink) in both.
func wsRepo(t *testing.T) (src string, a, b plumbing.Hash) {
	src = filepath.Join(t.TempDir(), "src")
	wsGit(t, filepath.Dir(src), "init", "-q", "-b", "main", src)
	wsWrite(t, filepath.Join(src, "README.md"), "hello\n", 0o644)
	wsWrite(t, filepath.Join(src, ".gitignore"), "build/\n*.log\n", 0o644)
	wsWrite(t, filepath.Join(src, "src/main.go"), "package main\n", 0o644)
	wsWrite(t, filepath.Join(src, "src/util.go"), "package main // v1\n", 0o644)
	wsWrite(t, filepath.Join(src, "docs/old.txt"), "old\n", 0o644)
	wsWrite(t, filepath.Join(src, "script.sh"), "#!/bin/sh\n", 0o755)
	wsWrite(t, filepath.Join(src, "tool.sh"), "#!/bin/sh\necho tool\n", 0o644)
	wsWrite(t, filepath.Join(src, "lib/a.txt"), "library\n", 0o644)
	wsWrite(t, filepath.Join(src, "conf"), "a file first\n", 0o644)
	for i := range 80 { // past parallelFrom: a rebuild or a full rehash goes to wsParallel workers
		wsWrite(t, filepath.Join(src, fmt.Sprintf("data/f%03d.txt", i)), fmt.Sprintf("data %d\n", i), 0o644)
	}
	if err := os.Symlink("README.md", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	wsGit(t, src, "add", "-A")
	wsGit(t, src, "update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("ab", 20)+",vendor/sub")
	wsGit(t, src, "commit", "-q", "-m", "A")
	a = plumbing.NewHash(wsGit(t, src, "rev-parse", "HEAD"))

	wsWrite(t, filepath.Join(src, "src/util.go"), "package main // v2, longer\n", 0o644)
	wsWrite(t, filepath.Join(src, "src/new.go"), "package main // new\n", 0o644)
	if err := os.Remove(filepath.Join(src, "docs/old.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(src, "conf")); err != nil {
		t.Fatal(err)
	}
	wsWrite(t, filepath.Join(src, "conf/app.yaml"), "now a directory\n", 0o644)
	if err := os.Chmod(filepath.Join(src, "tool.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	wsGit(t, src, "add", "-A")
	wsGit(t, src, "commit", "-q", "-m", "B")
	b = plumbing.NewHash(wsGit(t, src, "rev-parse", "HEAD"))
	return src, a, b
}

// A workspace at A that a build dirtied (modified, chmodded, deleted tracked files; untracked,
// ignored files and directories; a nested repository; an unwritable directory; a tracked
// directory and a tracked file replaced by symbolic links out of the work tree; junk in a
// submodule's directory) is updated to B: it equals a fresh clone of B, git finds it clean,
// the outside targets are untouched, unchanged files were not rewritten, and the stats count
// what changed.
func TestUpdateWorkspaceRestoresDirtiedBuild(t *testing.T) {
	src, a, b := wsRepo(t)
	root := t.TempDir()
	ws, fresh, outside := filepath.Join(root, "ws"), filepath.Join(root, "fresh"), filepath.Join(root, "outside")
	wsGit(t, root, "clone", "-q", "--no-local", src, ws)
	wsGit(t, ws, "checkout", "-q", "-B", "main", a.String())
	wsGit(t, root, "clone", "-q", "--no-local", src, fresh) // at B

	// The build.
	wsWrite(t, filepath.Join(outside, "a.txt"), "precious\n", 0o644)
	wsWrite(t, filepath.Join(outside, "secret"), "secret\n", 0o644)
	wsWrite(t, filepath.Join(ws, "README.md"), "hello, modified by the build\n", 0o644)
	if err := os.Chmod(filepath.Join(ws, "src/main.go"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(ws, "data/f010.txt")); err != nil {
		t.Fatal(err)
	}
	wsWrite(t, filepath.Join(ws, "tmp.txt"), "untracked\n", 0o644)
	wsWrite(t, filepath.Join(ws, "newdir/x/y.txt"), "untracked\n", 0o644)
	wsWrite(t, filepath.Join(ws, "build/out.bin"), "ignored\n", 0o644)
	wsWrite(t, filepath.Join(ws, "app.log"), "ignored\n", 0o644)
	wsWrite(t, filepath.Join(ws, "src/debug.log"), "ignored\n", 0o644)
	wsWrite(t, filepath.Join(ws, "ro/f"), "in an unwritable directory\n", 0o644)
	if err := os.Chmod(filepath.Join(ws, "ro"), 0o555); err != nil {
		t.Fatal(err)
	}
	wsWrite(t, filepath.Join(ws, "vendor/sub/junk"), "in the submodule's directory\n", 0o644)
	wsGit(t, root, "init", "-q", filepath.Join(ws, "nested"))
	if err := os.RemoveAll(filepath.Join(ws, "lib")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(ws, "lib")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(ws, "data/f020.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(ws, "data/f020.txt")); err != nil {
		t.Fatal(err)
	}
	if err := checkWorkspace(ws); err != nil {
		t.Fatalf("a dirtied but sound workspace is reported damaged: %v", err)
	}

	wsGit(t, ws, "fetch", "-q", "origin") // B's objects, in a second pack
	unchanged := []string{".gitignore", "script.sh", "link", "data/f000.txt", "data/f049.txt"}
	before := map[string]wsFileID{}
	for _, p := range unchanged {
		before[p] = wsIDOf(t, filepath.Join(ws, p))
	}
	st, err := updateWorkspace(context.Background(), ws, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	wsGit(t, ws, "update-ref", "refs/heads/main", b.String()) // HEAD is the caller's

	wsSameTree(t, ws, fresh)
	if x, y := wsGit(t, ws, "ls-files", "-s"), wsGit(t, fresh, "ls-files", "-s"); x != y {
		t.Fatalf("index differs:\nupdated %s\nfresh   %s", x, y)
	}
	if out := wsGit(t, ws, "status", "--porcelain", "--ignored", "--ignore-submodules=none"); out != "" {
		t.Fatalf("git status after the update:\n%s", out)
	}
	if out := wsGit(t, ws, "diff", "--stat"); out != "" {
		t.Fatalf("git diff --stat after the update:\n%s", out)
	}
	for p, want := range map[string]string{"a.txt": "precious\n", "secret": "secret\n"} {
		if got, err := os.ReadFile(filepath.Join(outside, p)); err != nil || string(got) != want {
			t.Fatalf("outside/%s is %q (%v): written through a symbolic link", p, got, err)
		}
	}
	for _, p := range unchanged {
		if after := wsIDOf(t, filepath.Join(ws, p)); after != before[p] {
			t.Errorf("%s was rewritten (inode, mtime %v -> %v)", p, before[p], after)
		}
	}
	// B: src/util.go, src/new.go, conf/app.yaml, tool.sh (mode); the build: README.md,
	// src/main.go (mode), data/f010.txt, lib/a.txt, data/f020.txt.
	if st.WrittenFiles != 9 {
		t.Errorf("WrittenFiles %d, want 9", st.WrittenFiles)
	}
	// docs/old.txt, conf, tmp.txt, newdir/x/y.txt, build/out.bin, app.log, src/debug.log,
	// ro/f, vendor/sub/junk, the lib link and the nested repository's files.
	if st.RemovedFiles < 11 {
		t.Errorf("RemovedFiles %d, want at least 11", st.RemovedFiles)
	}
	if st.WrittenBytes <= 0 || st.FetchedObjects != 0 || st.FetchedBytes != 0 {
		t.Errorf("stats %+v", st)
	}
	if err := checkWorkspace(ws); err != nil {
		t.Fatalf("the updated workspace is reported damaged: %v", err)
	}

	// Updated again to the same commit, the clean workspace writes and removes nothing.
	before = map[string]wsFileID{}
	for p := range wsTree(t, ws) {
		before[p] = wsIDOf(t, filepath.Join(ws, p))
	}
	st, err = updateWorkspace(context.Background(), ws, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{}) {
		t.Fatalf("a clean workspace updated to its own commit: %+v, want nothing written or removed", st)
	}
	for p, id := range before {
		if after := wsIDOf(t, filepath.Join(ws, p)); after != id {
			t.Errorf("%s was rewritten", p)
		}
	}
	if out := wsGit(t, ws, "status", "--porcelain", "--ignored"); out != "" {
		t.Fatalf("git status:\n%s", out)
	}

	// And back to A: the reverse changes, still equal to a fresh checkout.
	if _, err := updateWorkspace(context.Background(), ws, a, nil); err != nil {
		t.Fatal(err)
	}
	wsGit(t, ws, "update-ref", "refs/heads/main", a.String())
	wsGit(t, fresh, "checkout", "-q", a.String())
	wsSameTree(t, ws, fresh)
	if out := wsGit(t, ws, "status", "--porcelain", "--ignored"); out != "" {
		t.Fatalf("git status after going back to A:\n%s", out)
	}
}

// A file the build modified keeping its size and mtime (but not its ctime and inode, which a
// build cannot set) is found by the stat comparison and restored. A racily clean file (its
// index entry's stat data is the disk's, but its mtime is not older than the index file's:
// it may have changed in the tick the index was written) is checked by content and restored
// too, while racily clean files that did not change are hashed and kept.
func TestUpdateWorkspaceStatAndRacy(t *testing.T) {
	src, _, b := wsRepo(t)
	clone := func(t *testing.T) string {
		ws := filepath.Join(t.TempDir(), "ws")
		wsGit(t, filepath.Dir(ws), "clone", "-q", "--no-local", src, ws)
		return ws
	}
	restored := func(t *testing.T, ws, p string) {
		st, err := updateWorkspace(context.Background(), ws, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(p); string(got) != "data 1\n" {
			t.Fatalf("data/f001.txt is %q after the update", got)
		}
		if st.WrittenFiles != 1 {
			t.Fatalf("WrittenFiles %d, want 1 (the modified file)", st.WrittenFiles)
		}
		if out := wsGit(t, ws, "status", "--porcelain", "--ignored"); out != "" {
			t.Fatalf("git status:\n%s", out)
		}
	}
	t.Run("stat", func(t *testing.T) {
		ws := clone(t)
		p := filepath.Join(ws, "data/f001.txt")
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		// The index is older than every file: nothing is racy.
		old := fi.ModTime().Add(-2e9)
		for _, f := range []string{"data/f001.txt", "data/f002.txt"} {
			if err := os.Chtimes(filepath.Join(ws, f), old, old); err != nil {
				t.Fatal(err)
			}
		}
		wsGit(t, ws, "update-index", "--refresh")
		wsWrite(t, p, "DATA 1\n", 0o644) // same size, same mtime
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		restored(t, ws, p)
	})
	t.Run("racy", func(t *testing.T) {
		ws := clone(t)
		p := filepath.Join(ws, "data/f001.txt")
		wsWrite(t, p, "DATA 1\n", 0o644)
		// The index records the modified file's stat data with the old content's id, and is
		// no newer than the file: the stat data match, only the content tells.
		ip := filepath.Join(ws, ".git/index")
		entries, _, err := readWorkspaceIndex(ip, false)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		var out []index.Entry
		for _, e := range entries {
			if e.Name == "data/f001.txt" {
				e.ModifiedAt, e.Size = fi.ModTime(), uint32(fi.Size())
				statData(fi, e)
			}
			out = append(out, *e)
		}
		if err := wsReplaceIndex(filepath.Join(ws, ".git"), out); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(ip, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
		restored(t, ws, p)
	})
}

// checkWorkspace reports a damaged workspace: .git missing, the index missing, truncated or
// with a flipped byte, HEAD missing, HEAD's objects missing, an unsafe path in the index.
func TestCheckWorkspaceDamaged(t *testing.T) {
	src, _, _ := wsRepo(t)
	fresh := func(t *testing.T) string {
		ws := filepath.Join(t.TempDir(), "ws")
		wsGit(t, filepath.Dir(ws), "clone", "-q", "--no-local", src, ws)
		if err := checkWorkspace(ws); err != nil {
			t.Fatalf("a fresh clone is reported damaged: %v", err)
		}
		return ws
	}
	cases := map[string]func(t *testing.T, ws string){
		"no .git": func(t *testing.T, ws string) { os.RemoveAll(filepath.Join(ws, ".git")) },
		".git a file": func(t *testing.T, ws string) {
			os.RemoveAll(filepath.Join(ws, ".git"))
			wsWrite(t, filepath.Join(ws, ".git"), "gitdir: /etc\n", 0o644)
		},
		"no index": func(t *testing.T, ws string) { os.Remove(filepath.Join(ws, ".git/index")) },
		"truncated index": func(t *testing.T, ws string) {
			p := filepath.Join(ws, ".git/index")
			data, _ := os.ReadFile(p)
			wsWrite(t, p, string(data[:len(data)/2]), 0o644)
		},
		"corrupt index": func(t *testing.T, ws string) {
			p := filepath.Join(ws, ".git/index")
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0xff
			wsWrite(t, p, string(data), 0o644)
		},
		"index a symlink": func(t *testing.T, ws string) {
			p := filepath.Join(ws, ".git/index")
			os.Remove(p)
			os.Symlink("/dev/zero", p)
		},
		"no HEAD": func(t *testing.T, ws string) { os.Remove(filepath.Join(ws, ".git/HEAD")) },
		"objects missing": func(t *testing.T, ws string) {
			packs, _ := filepath.Glob(filepath.Join(ws, ".git/objects/pack/*"))
			for _, p := range packs {
				os.Remove(p)
			}
		},
		"a blob of HEAD missing": func(t *testing.T, ws string) {
			cmd := exec.Command("git", "-C", ws, "mktree", "--missing")
			cmd.Stdin = strings.NewReader("100644 blob " + strings.Repeat("cd", 20) + "\tgone.txt\n")
			tree, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			c := wsGit(t, ws, "commit-tree", "-m", "missing blob", strings.TrimSpace(string(tree)))
			wsGit(t, ws, "update-ref", "HEAD", c)
		},
		"unsafe index path": func(t *testing.T, ws string) {
			wsAddIndexEntries(t, ws, "../x")
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			ws := fresh(t)
			damage(t, ws)
			err := checkWorkspace(ws)
			if err == nil {
				t.Fatal("the damaged workspace is not reported")
			}
			t.Log(err)
		})
	}
	t.Run("update refuses a corrupt index", func(t *testing.T) {
		ws := fresh(t)
		cases["corrupt index"](t, ws)
		head := plumbing.NewHash(wsGit(t, ws, "rev-parse", "HEAD"))
		if _, err := updateWorkspace(context.Background(), ws, head, nil); err == nil {
			t.Fatal("updateWorkspace trusted a corrupt index")
		}
	})
}

// wsAddIndexEntries adds entries naming paths (they need not be safe) to ws's index, each with
// the id of README.md and stat data equal to README.md's.
func wsAddIndexEntries(t *testing.T, ws string, paths ...string) {
	t.Helper()
	p := filepath.Join(ws, ".git/index")
	entries, _, err := readWorkspaceIndex(p, false)
	if err != nil {
		t.Fatal(err)
	}
	var readme *index.Entry
	for _, e := range entries {
		if e.Name == "README.md" {
			readme = e
		}
	}
	var out []index.Entry
	for _, e := range entries {
		out = append(out, *e)
	}
	for _, name := range paths {
		e := *readme
		e.Name = name
		out = append(out, e)
	}
	if err := wsReplaceIndex(filepath.Join(ws, ".git"), wsSortedEntries(out)); err != nil {
		t.Fatal(err)
	}
}

func wsSortedEntries(es []index.Entry) []index.Entry {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Name < es[j-1].Name; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	return es
}

// An index naming "../x", ".git/config", "/abs" or a path through a symbolic link is never
// acted on: nothing outside the work tree or in .git is touched, and the update still gives
// a fresh clone's tree.
func TestUpdateWorkspaceHostileIndex(t *testing.T) {
	src, _, b := wsRepo(t)
	root := t.TempDir()
	ws, fresh := filepath.Join(root, "ws"), filepath.Join(root, "fresh")
	wsGit(t, root, "clone", "-q", "--no-local", src, ws)
	wsGit(t, root, "clone", "-q", "--no-local", src, fresh)
	wsWrite(t, filepath.Join(root, "x"), "outside\n", 0o644)
	config, _ := os.ReadFile(filepath.Join(ws, ".git/config"))
	wsAddIndexEntries(t, ws, "../x", ".git/config", "/abs", "data/../../x", "lib/../../x", ".GIT/config", "a//b")
	st, err := updateWorkspace(context.Background(), ws, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "x")); string(got) != "outside\n" {
		t.Fatalf("../x is %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(ws, ".git/config")); !bytes.Equal(got, config) {
		t.Fatal(".git/config changed")
	}
	wsSameTree(t, ws, fresh)
	if st.WrittenFiles != 0 || st.RemovedFiles != 0 {
		t.Fatalf("stats %+v: the hostile entries made work", st)
	}
	if out := wsGit(t, ws, "status", "--porcelain", "--ignored"); out != "" {
		t.Fatalf("git status:\n%s", out)
	}
}

// The update honours its context and the meter's limits, checked before anything is written.
func TestUpdateWorkspaceLimitsAndCancel(t *testing.T) {
	src, a, b := wsRepo(t)
	ws := filepath.Join(t.TempDir(), "ws")
	wsGit(t, filepath.Dir(ws), "clone", "-q", "--no-local", src, ws)
	wsGit(t, ws, "checkout", "-q", a.String())
	util := wsIDOf(t, filepath.Join(ws, "src/util.go"))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := updateWorkspace(ctx, ws, b, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	for _, m := range []*meter{{maxFiles: 10}, {maxBytes: 100}} {
		_, err := updateWorkspace(context.Background(), ws, b, m)
		var le *limitError
		if !errors.As(err, &le) {
			t.Fatalf("meter %+v: %v, want a limit error", m, err)
		}
	}
	if wsIDOf(t, filepath.Join(ws, "src/util.go")) != util {
		t.Fatal("a refused update wrote files")
	}
	m := &meter{maxFiles: 1000, maxBytes: 1 << 20}
	st, err := updateWorkspace(context.Background(), ws, b, m)
	if err != nil {
		t.Fatal(err)
	}
	if m.written.Load() < st.WrittenBytes || m.files.Load() < 90 {
		t.Fatalf("meter counted %d bytes, %d files; stats %+v", m.written.Load(), m.files.Load(), st)
	}
	if _, err := updateWorkspace(context.Background(), ws, plumbing.NewHash(strings.Repeat("12", 20)), nil); err == nil {
		t.Fatal("an unknown commit is no error")
	}
}

// A workspace whose index is missing (a build deleted it) is still updated correctly: every
// file is written (on wsParallel workers). Then, with every entry racily clean, every file is
// hashed (in wsParallel) and none written.
func TestUpdateWorkspaceWithoutIndex(t *testing.T) {
	src, _, b := wsRepo(t)
	root := t.TempDir()
	ws, fresh := filepath.Join(root, "ws"), filepath.Join(root, "fresh")
	wsGit(t, root, "clone", "-q", "--no-local", src, ws)
	wsGit(t, root, "clone", "-q", "--no-local", src, fresh)
	os.Remove(filepath.Join(ws, ".git/index"))
	st, err := updateWorkspace(context.Background(), ws, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Split(wsGit(t, fresh, "ls-files", "-s"), "\n")
	var n int64
	for _, f := range files {
		if !strings.HasPrefix(f, "160000 ") {
			n++
		}
	}
	if st.WrittenFiles != n {
		t.Fatalf("WrittenFiles %d, want every file (%d of\n%s)", st.WrittenFiles, n, strings.Join(files, "\n"))
	}
	wsSameTree(t, ws, fresh)
	if out := wsGit(t, ws, "status", "--porcelain", "--ignored"); out != "" {
		t.Fatalf("git status:\n%s", out)
	}
	// Every entry racily clean (the index no newer than the files): all hashed, none written.
	old := time.Unix(1, 0)
	if err := os.Chtimes(filepath.Join(ws, ".git/index"), old, old); err != nil {
		t.Fatal(err)
	}
	if st, err := updateWorkspace(context.Background(), ws, b, nil); err != nil || st != (Stats{}) {
		t.Fatalf("racily clean workspace: %+v, %v; want nothing written", st, err)
	}
}

// BenchmarkUpdateWorkspace updates a workspace of 3,000 files in 100 directories between two
// commits that differ in one file, each iteration the other way, against `git checkout` of
// the same commits in a kept clone (the reference of bench/repeat.sh); "same" updates the
// workspace to the commit it has (the cost of the stat walk and the index alone); "check" is
// checkWorkspace (index, HEAD and every object of HEAD looked up).
func BenchmarkUpdateWorkspace(b *testing.B) {
	root := b.TempDir()
	src := filepath.Join(root, "src")
	wsGit(b, root, "init", "-q", "-b", "main", src)
	for d := range 100 {
		for f := range 30 {
			wsWrite(b, filepath.Join(src, fmt.Sprintf("pkg%03d/file%02d.go", d, f)),
				strings.Repeat(fmt.Sprintf("// line of file %d/%d\n", d, f), 40), 0o644)
		}
	}
	wsGit(b, src, "add", "-A")
	wsGit(b, src, "commit", "-q", "-m", "A")
	ca := wsGit(b, src, "rev-parse", "HEAD")
	wsWrite(b, filepath.Join(src, "pkg050/file15.go"), "// changed\n", 0o644)
	wsGit(b, src, "commit", "-q", "-am", "B")
	cb := wsGit(b, src, "rev-parse", "HEAD")
	commits := []string{ca, cb}

	b.Run("update", func(b *testing.B) {
		ws := filepath.Join(b.TempDir(), "ws")
		wsGit(b, root, "clone", "-q", "--no-local", src, ws)
		i := 0
		for b.Loop() {
			st, err := updateWorkspace(context.Background(), ws, plumbing.NewHash(commits[i%2]), nil)
			i++
			if err != nil {
				b.Fatal(err)
			}
			if st.WrittenFiles != 1 {
				b.Fatalf("wrote %d files", st.WrittenFiles)
			}
		}
	})
	b.Run("same", func(b *testing.B) {
		ws := filepath.Join(b.TempDir(), "ws")
		wsGit(b, root, "clone", "-q", "--no-local", src, ws)
		for b.Loop() {
			if _, err := updateWorkspace(context.Background(), ws, plumbing.NewHash(cb), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		ws := filepath.Join(b.TempDir(), "ws")
		wsGit(b, root, "clone", "-q", "--no-local", src, ws)
		for b.Loop() {
			if err := checkWorkspace(ws); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("git-checkout", func(b *testing.B) {
		ws := filepath.Join(b.TempDir(), "ws")
		wsGit(b, root, "clone", "-q", "--no-local", src, ws)
		i := 0
		for b.Loop() {
			wsGit(b, ws, "checkout", "-q", "--detach", commits[i%2])
			i++
		}
	})
	b.Run("git-reset-clean", func(b *testing.B) {
		ws := filepath.Join(b.TempDir(), "ws")
		wsGit(b, root, "clone", "-q", "--no-local", src, ws)
		i := 0
		for b.Loop() {
			wsGit(b, ws, "reset", "-q", "--hard", commits[i%2])
			i++
			wsGit(b, ws, "clean", "-q", "-ffdx")
		}
	})
}

// An index git wrote in version 4 (feature.manyFiles) is read; a split index (whose entries
// live in another file) is reported as damaged, so the caller rebuilds rather than trusting
// half an index.
func TestUpdateWorkspaceIndexVersions(t *testing.T) {
	src, a, b := wsRepo(t)
	root := t.TempDir()
	ws, fresh := filepath.Join(root, "ws"), filepath.Join(root, "fresh")
	wsGit(t, root, "clone", "-q", "--no-local", src, ws)
	wsGit(t, root, "clone", "-q", "--no-local", src, fresh)
	wsGit(t, ws, "checkout", "-q", "-B", "main", a.String())
	wsGit(t, ws, "update-index", "--index-version", "4")
	if err := checkWorkspace(ws); err != nil {
		t.Fatalf("index version 4: %v", err)
	}
	st, err := updateWorkspace(context.Background(), ws, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.WrittenFiles != 4 { // src/util.go, src/new.go, conf/app.yaml, tool.sh
		t.Fatalf("WrittenFiles %d, want 4", st.WrittenFiles)
	}
	wsGit(t, ws, "update-ref", "refs/heads/main", b.String())
	wsSameTree(t, ws, fresh)
	if out := wsGit(t, ws, "status", "--porcelain", "--ignored"); out != "" {
		t.Fatalf("git status:\n%s", out)
	}

	wsGit(t, ws, "update-index", "--split-index")
	if err := checkWorkspace(ws); err == nil {
		t.Fatal("a split index is not reported")
	}
}

// The stat data git itself writes in the index match the disk's by statMatches, so a
// workspace git checked out is not rehashed; a touched file does not match.
func TestStatMatchesGitIndex(t *testing.T) {
	src, _, _ := wsRepo(t)
	ws := filepath.Join(t.TempDir(), "ws")
	wsGit(t, filepath.Dir(ws), "clone", "-q", "--no-local", src, ws)
	wsGit(t, ws, "update-index", "--really-refresh")
	entries, _, err := readWorkspaceIndex(filepath.Join(ws, ".git/index"), false)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Mode == 0o160000 {
			continue
		}
		fi, err := os.Lstat(filepath.Join(ws, e.Name))
		if err != nil {
			t.Fatal(err)
		}
		if e.Size == 0 && fi.Size() != 0 {
			continue // smudged by git as racily clean
		}
		if !statMatches(e, fi) {
			t.Errorf("%s: git's stat data %v do not match the disk's", e.Name, e)
		}
		n++
	}
	if n < len(entries)/2 {
		t.Fatalf("only %d of %d entries compared", n, len(entries))
	}
	p := filepath.Join(ws, "README.md")
	fi, _ := os.Lstat(p)
	later := fi.ModTime().Add(3e9)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Lstat(p)
	for _, e := range entries {
		if e.Name == "README.md" && statMatches(e, fi) {
			t.Fatal("a touched file still matches")
		}
	}
}

// decodeIndexV2 gives what go-git's decoder gives on indexes git wrote: version 2 with a TREE
// extension, version 3 (an intent-to-add entry) with a name longer than 0xfff bytes; version
// 4 is left to go-git. Damaged copies are errors for both.
func TestDecodeIndexV2MatchesGoGit(t *testing.T) {
	src, _, _ := wsRepo(t)
	ws := filepath.Join(t.TempDir(), "ws")
	wsGit(t, filepath.Dir(ws), "clone", "-q", "--no-local", src, ws)
	p := filepath.Join(ws, ".git/index")
	same := func(t *testing.T, wantVersion uint32) {
		t.Helper()
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if v := uint32(data[7]); v != wantVersion {
			t.Fatalf("index version %d, want %d", v, wantVersion)
		}
		var want index.Index
		if err := index.NewDecoder(bytes.NewReader(data)).Decode(&want); err != nil {
			t.Fatal(err)
		}
		got, ok, err := decodeIndexV2(data)
		if wantVersion == 4 {
			if ok {
				t.Fatal("a version 4 index was not left to go-git")
			}
			return
		}
		if !ok || err != nil {
			t.Fatalf("ok %v, %v", ok, err)
		}
		if len(got) != len(want.Entries) {
			t.Fatalf("%d entries, go-git %d", len(got), len(want.Entries))
		}
		for i := range got {
			if fmt.Sprintf("%#v", *got[i]) != fmt.Sprintf("%#v", *want.Entries[i]) {
				t.Fatalf("entry %d:\n%#v\ngo-git:\n%#v", i, *got[i], *want.Entries[i])
			}
		}
		for _, bad := range [][]byte{data[:len(data)-1], data[:40], append(append([]byte{}, data[:100]...), data[101:]...)} {
			if _, ok, err := decodeIndexV2(bad); ok && err == nil {
				t.Fatalf("a damaged index of %d bytes decoded", len(bad))
			}
		}
		flipped := append([]byte{}, data...)
		flipped[len(flipped)/2] ^= 1
		if _, _, err := decodeIndexV2(flipped); err == nil {
			t.Fatal("a flipped byte decoded")
		}
	}
	wsGit(t, ws, "write-tree") // the TREE extension
	same(t, 2)
	long := strings.Repeat("d", 200) + "/" + strings.Repeat("e", 200) + "/" + strings.Repeat("n", 200)
	for len(long) < 0x1100 {
		long += "/" + strings.Repeat("x", 200)
	}
	blob := wsGit(t, ws, "rev-parse", "HEAD:README.md")
	wsGit(t, ws, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+long) // past PATH_MAX on disk
	wsWrite(t, filepath.Join(ws, "later.txt"), "later\n", 0o644)
	wsGit(t, ws, "add", "-N", "later.txt")
	same(t, 3)
	wsGit(t, ws, "update-index", "--index-version", "4")
	same(t, 4)
}
