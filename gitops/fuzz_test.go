package gitops

import (
	"bytes"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/config"
)

// Fuzz targets for what the clone parses besides the pack itself (fuzz_pack_test.go): deltas,
// trees and their names, .gitmodules, the server's progress text. `make fuzz` runs each.

// FuzzApplyDelta applies any delta to any base. A delta that applies yields exactly the size its
// header announces, and the bytes git's patch_delta makes (gitPatchDelta); a delta git applies
// applies here too (headers of at most 9 bytes each, as git writes them). Result sizes past
// 1 MiB are skipped: patch refuses a delta past MaxObjectBytes before applyDelta allocates.
func FuzzApplyDelta(f *testing.F) {
	f.Add([]byte("hello"), append(append(deltaVarintBytes(5), deltaVarintBytes(11)...), 0x91, 0, 5, 6, ' ', 'w', 'o', 'r', 'l', 'd'), uint16(0))
	f.Add([]byte("hello"), append(append(deltaVarintBytes(5), deltaVarintBytes(5)...), 0x91, 0, 5), uint16(64))
	f.Add([]byte{}, append(append(deltaVarintBytes(0), deltaVarintBytes(3)...), 3, 'a', 'b', 'c'), uint16(3))
	f.Add(bytes.Repeat([]byte("x"), 70000), append(append(deltaVarintBytes(70000), deltaVarintBytes(0x10000)...), 0x80), uint16(0))
	f.Add([]byte("hello"), []byte{5, 0x80, 0x80}, uint16(0))
	f.Add([]byte("abc"), append(append(deltaVarintBytes(3), deltaVarintBytes(2)...), 0xb3, 1, 0, 0, 0, 2, 0), uint16(1))
	f.Add([]byte("abc"), append(append(deltaVarintBytes(3), deltaVarintBytes(1)...), 0), uint16(0))
	f.Fuzz(func(t *testing.T, base, delta []byte, dstCap uint16) {
		size, _, ok := deltaResultSize(delta)
		if ok && size > 1<<20 {
			return
		}
		out, err := applyDelta(make([]byte, 0, int(dstCap)), base, delta)
		want, gerr := gitPatchDelta(base, delta, 1<<20)
		if err == nil {
			if !ok || uint64(len(out)) != size {
				t.Fatalf("applied, %d bytes made, the header says %d", len(out), size)
			}
			if gerr != nil || !bytes.Equal(out, want) {
				t.Fatalf("applied where git's patch_delta gives %v (or other bytes)", gerr)
			}
		}
		if gerr == nil && err != nil && shortHeaders(delta) {
			t.Fatalf("git applies the delta, applyDelta refuses it: %v", err)
		}
		if err != nil && !errors.Is(err, errBadDelta) {
			t.Fatalf("an error that is not errBadDelta: %v", err)
		}
	})
}

// shortHeaders reports whether both sizes of a delta's header end within 9 bytes.
func shortHeaders(delta []byte) bool {
	for range 2 {
		k := 0
		for k < len(delta) && k < 9 && delta[k]&0x80 != 0 {
			k++
		}
		if k >= len(delta) || k == 9 {
			return false
		}
		delta = delta[k+1:]
	}
	return true
}

// gitRefusesName is git's rule for one path component of a tree (verify_path with the defaults
// of git on Linux: core.protectNTFS on, core.protectHFS off): empty, ".", "..", a slash or NUL,
// ".git" in any case (verify_dotfile), and what NTFS reads as ".git" (is_ntfs_dotgit: ".git" or
// "git~1" followed only by dots and spaces up to the end, a backslash or a colon).
func gitRefusesName(name string) bool {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return true
	}
	var rest string
	switch {
	case len(name) >= 4 && strings.EqualFold(name[:4], ".git"):
		rest = name[4:]
	case len(name) >= 5 && strings.EqualFold(name[:3], "git") && name[3:5] == "~1":
		rest = name[5:]
	default:
		return false
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '\\', ':':
			return true
		case '.', ' ':
		default:
			return false
		}
	}
	return true
}

// safeNameSeeds are names near git's rules.
var safeNameSeeds = []string{"a", ".", "..", ".git", ".GIT", ".git.", ".git ", ".git. . ", "git~1", "GIT~1.", ".gitx", ".git\\x",
	".git:$DATA", "git~1:x", "git~2", "a/b", "a\x00", ".gitmodules", "..git", ".g\u200cit", "\u212a", " .git"}

// FuzzSafeName checks the checkout's name rule against git's: safeName accepts exactly the
// names git accepts, so no accepted name can be ".git" on any file system git protects by
// default, or leave its directory.
func FuzzSafeName(f *testing.F) {
	for _, s := range safeNameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ok := safeName(name)
		if ok == gitRefusesName(name) {
			t.Fatalf("safeName(%q) = %v; git refuses it: %v", name, ok, gitRefusesName(name))
		}
		if ok && (!filepath.IsLocal(name) || filepath.Base(name) != name) {
			t.Fatalf("safeName accepts %q, which is not one local name", name)
		}
	})
}

// FuzzTreeEntries parses any tree (and any subtree: every other tree id reads as sub) into a
// checkout plan, with object lookups decided by the ids' first byte. Whatever is accepted names
// only paths inside the work tree whose every component git accepts, each path once, and as
// many files as the plan counts.
func FuzzTreeEntries(f *testing.F) {
	id := func(b byte) string { return string(append([]byte{b}, make([]byte, 19)...)) }
	f.Add([]byte("100644 a\x00"+id(2)+"40000 d\x00"+id(1)+"120000 l\x00"+id(6)), []byte("100755 x\x00"+id(2)+"160000 m\x00"+id(9)))
	f.Add([]byte("100644 .git\x00"+id(2)), []byte{})
	f.Add([]byte("40000 GIT~1\x00"+id(1)), []byte("100644 hooks\x00"+id(2)))
	f.Add([]byte("100644 a\x00"+id(2)+"100644 a\x00"+id(2)), []byte{})
	f.Add([]byte("100664 a\x00"+id(2)+"644 b\x00"+id(2)+"0100644 c\x00"+id(2)), []byte{})
	f.Add([]byte("40000 d\x00"+id(1)), []byte("40000 ..\x00"+id(1)))
	f.Add([]byte("100644 a\x00"+id(3)), []byte{})
	f.Fuzz(func(t *testing.T, tree, sub []byte) {
		root := [20]byte{0xee}
		reads := 0
		read := func(id [20]byte, want uint8) ([]byte, error) {
			if reads++; reads > 64 {
				return nil, errors.New("too many trees")
			}
			if want != objTree {
				t.Fatalf("read a %s", typeName(want))
			}
			if id == root {
				return tree, nil
			}
			return sub, nil
		}
		find := func(id [20]byte) (int32, uint8, bool) {
			switch id[0] % 4 {
			case 0:
				return 0, 0, false
			case 1:
				return int32(id[1]), objTree, true
			default:
				return int32(id[1]), objBlob, true
			}
		}
		p := &checkoutPlan{files: map[int32][]fileRef{}}
		if _, err := p.addTree(read, find, root, ""); err != nil {
			return
		}
		paths := map[string]bool{}
		add := func(path string) {
			if paths[path] {
				t.Fatalf("%q planned twice", path)
			}
			paths[path] = true
			if !filepath.IsLocal(filepath.FromSlash(path)) {
				t.Fatalf("%q leaves the work tree", path)
			}
			for _, c := range strings.Split(path, "/") {
				if gitRefusesName(c) {
					t.Fatalf("%q has a component git refuses: %q", path, c)
				}
			}
		}
		for _, d := range p.dirs {
			add(d)
		}
		n := 0
		for _, fs := range p.files {
			for _, fr := range fs {
				add(fr.path)
				n++
			}
		}
		if n != p.count {
			t.Fatalf("%d files planned, count %d", n, p.count)
		}
		for _, g := range p.gitlinks {
			if !paths[g.Name] {
				t.Fatalf("gitlink %q without its directory", g.Name)
			}
		}
	})
}

// FuzzGitmodules parses any .gitmodules as cloneSubmodules does and resolves every URL it names
// against a superproject's URL. No panic; an accepted URL is http(s) with a host and no user
// information, reads back as the same scheme, host and path from its string (what the
// submodule's clone is given), and a relative one stays on the superproject's scheme and host.
func FuzzGitmodules(f *testing.F) {
	f.Add([]byte("[submodule \"a\"]\n\tpath = a\n\turl = ../other\n"), uint8(0))
	f.Add([]byte("[submodule \"a\"]\n\tpath = a\n\turl = https://host.example/x/_git/y\n[submodule \"b\"]\n\tpath=b/\n\turl=./z\n"), uint8(1))
	f.Add([]byte("[submodule \"a\"]\n\turl = https://user:pw@evil.example/x\n"), uint8(2))
	f.Add([]byte("[submodule \"a\"]\n\turl = ..//evil.example/x\n"), uint8(0))
	f.Add([]byte("[submodule \"a\"]\n\turl = ../../../../%2e%2e/x\n"), uint8(3))
	f.Add([]byte("[submodule \"a\"]\n\turl = file:///etc\n\tpath = \"q\\\"\"\n"), uint8(0))
	f.Add([]byte("[submodule \"a\"]\n\turl = ./\\\\evil.example\\x\n"), uint8(1))
	supers := []string{"https://ado.example/DefaultCollection/P/_git/r", "http://ado.example:8080/tfs/C/P/_git/r%20x/",
		"https://dev.azure.com/org/P/_git/r", "https://[::1]:8443/C/_git/r"}
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		super, err := url.Parse(supers[int(which)%len(supers)])
		if err != nil {
			t.Fatal(err)
		}
		mods := config.NewModules()
		if err := mods.Unmarshal(raw); err != nil {
			return
		}
		for _, m := range mods.Submodules {
			u, err := submoduleURL(super, m.URL)
			if err != nil {
				continue
			}
			if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
				t.Fatalf("%q resolved to %q", m.URL, u)
			}
			back, err := url.Parse(u.String())
			if err != nil || back.Scheme != u.Scheme || back.Host != u.Host || back.User != nil || back.Path != u.Path {
				t.Fatalf("%q resolved to %q, which reads back as %q (%v)", m.URL, u, back, err)
			}
			if (strings.HasPrefix(m.URL, "./") || strings.HasPrefix(m.URL, "../")) && (u.Scheme != super.Scheme || u.Host != super.Host) {
				t.Fatalf("the relative %q left %s for %q", m.URL, super.Host, u)
			}
		}
	})
}

// FuzzProgressLine splits any chunks of a server's sideband text into lines and parses them:
// no panic, every line handed on is non-empty, at most maxLine bytes and without \r or \n, and
// a parsed line has a known phase and counts that are not negative.
func FuzzProgressLine(f *testing.F) {
	f.Add("remote: Counting objects:  50% (5/10)\rremote: Compressing objects: 100% (3/3), done.\n", uint16(9))
	f.Add("Enumerating objects: 12, done.\nTotal 12 (delta 2), reused 0 (delta 0), pack-reused 0\n", uint16(0))
	f.Add("Counting objects: 99999999999999999999999, done.\r\n", uint16(3))
	f.Add(strings.Repeat("x", 2000)+"\nTotal 1\n", uint16(1500))
	f.Fuzz(func(t *testing.T, text string, split uint16) {
		var lines []string
		w := &lineWriter{fn: func(s string) { lines = append(lines, s) }}
		k := min(int(split), len(text))
		w.Write([]byte(text[:k]))
		w.Write([]byte(text[k:]))
		for _, l := range lines {
			if l == "" || len(l) > maxLine || strings.ContainsAny(l, "\r\n") {
				t.Fatalf("line %q handed on", l)
			}
			p, ok := parseProgressLine(l)
			if !ok {
				continue
			}
			if phaseRank[p.phase] == 0 || p.done < 0 || p.total < 0 {
				t.Fatalf("%q parsed as %+v", l, p)
			}
		}
	})
}
