package gitops

import (
	"bytes"
	"crypto/sha1"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// FuzzWorkspaceIndex: a reused workspace's .git/index is bytes a build could have written
// (the build runs in the work tree), read by decodeIndexV2 at every run. Whatever the bytes,
// it ends in an error or entries, without a panic; when the checksum flag is set the trailer is
// rewritten so mutations get past it. Whatever it accepts, go-git's own decoder (the reference)
// accepts too, with the same entries: names, ids, modes, sizes, stages and stat data.
func FuzzWorkspaceIndex(f *testing.F) {
	for _, seed := range wsIndexSeeds(f) {
		f.Add(seed, false)
		f.Add(seed[:len(seed)/2], true)
	}
	f.Add([]byte("DIRC\x00\x00\x00\x02\x00\x00\x00\x00"), true)
	f.Fuzz(func(t *testing.T, data []byte, fixSum bool) {
		if len(data) > 1<<20 {
			return
		}
		if fixSum && len(data) >= 32 {
			data = append([]byte(nil), data...)
			sum := sha1.Sum(data[:len(data)-20])
			copy(data[len(data)-20:], sum[:])
		}
		got, ok, err := decodeIndexV2(data)
		if !ok || err != nil {
			return
		}
		var ref index.Index
		if rerr := index.NewDecoder(bytes.NewReader(data)).Decode(&ref); rerr != nil {
			t.Fatalf("decodeIndexV2 accepted an index go-git refuses (%v): %d entries", rerr, len(got))
		}
		if len(ref.Entries) != len(got) {
			t.Fatalf("%d entries, go-git reads %d", len(got), len(ref.Entries))
		}
		for i, e := range got {
			r := ref.Entries[i]
			if e.Name != r.Name || e.Hash != r.Hash || e.Mode != r.Mode || e.Size != r.Size || e.Stage != r.Stage ||
				e.Inode != r.Inode || e.Dev != r.Dev || !e.ModifiedAt.Equal(r.ModifiedAt) || e.SkipWorktree != r.SkipWorktree {
				t.Fatalf("entry %d: %+v, go-git reads %+v", i, *e, *r)
			}
		}
	})
}

// wsIndexSeeds are indexes git wrote: versions 2, 3 (an intent-to-add entry's extended flags)
// and one with a long name and a TREE extension.
func wsIndexSeeds(f *testing.F) [][]byte {
	f.Helper()
	dir := f.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=f", "GIT_AUTHOR_EMAIL=f@example.invalid",
			"GIT_COMMITTER_NAME=f", "GIT_COMMITTER_EMAIL=f@example.invalid")
		if out, err := cmd.CombinedOutput(); err != nil {
			f.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q")
	for name, body := range map[string]string{"a.txt": "a\n", "sub/b.go": "package b\n", "sub/deeper/" + string(bytes.Repeat([]byte("n"), 200)) + ".md": "long\n"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	run("add", "-A")
	run("commit", "-q", "-m", "seed")
	read := func() []byte {
		b, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	v2 := read()
	if err := os.WriteFile(filepath.Join(dir, "new.txt"), []byte("x"), 0o644); err != nil {
		f.Fatal(err)
	}
	run("add", "-N", "new.txt") // intent to add: extended flags, version 3
	return [][]byte{v2, read()}
}
