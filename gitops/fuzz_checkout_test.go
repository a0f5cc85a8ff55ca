package gitops

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// FuzzCheckout builds a pack of one commit whose tree a spec describes (names, modes, contents
// and symbolic link targets of the fuzzer's choosing, in any order, duplicates included), runs
// the clone's pack path and checkout on it in a sandbox, and checks: no panic; nothing is
// created in the sandbox outside the work tree and its .git; and when the checkout succeeds,
// every regular file the tree names holds its blob's bytes with its mode, and every symbolic
// link its target.
//
// Spec: lines; "f name=content" a regular file, "x name=content" an executable, "l name=target"
// a symbolic link, "r mode name=content" an entry of any mode string naming a blob, "d name" a
// directory whose entries follow until a line ")".
func FuzzCheckout(f *testing.F) {
	for _, s := range []string{
		"f a.txt=hello\nx run.sh=#!/bin/sh\nd sub\nf b=world\nl up=../a.txt\n)\n",
		"l link=/etc\nd link\nf passwd=x\n)\n",
		"l l=../../outside\nf l=x\n",
		"d a\nd b\nf c=deep\n)\n)\nf a=again\n",
		"f .git=x\n",
		"d .GIT\nf config=x\n)\n",
		"r 100664 old=mode\nr 040000 weird=x\nr 160000 mod=x\n",
		"f a=1\nf a=2\n",
		"d d\n)\nf e=",
		"l git~1=x\nf .git\\config=x\n",
	} {
		f.Add([]byte(s))
	}
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, spec []byte) {
		files := map[string]specFile{}
		pack, commit := buildTreePack(spec, files)
		sandbox, err := os.MkdirTemp(root, "s")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(sandbox)
		work := filepath.Join(sandbox, "work")
		gitDir := filepath.Join(work, ".git")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		defer watchdog("a checkout")()
		w, err := newPackWriter(packConfig{ctx: ctx, dir: filepath.Join(gitDir, "objects", "pack"), maxObject: fuzzMaxObject})
		if err != nil {
			t.Fatal(err)
		}
		defer w.release()
		if _, err := w.Write(pack); err != nil {
			t.Fatalf("write: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("a valid pack refused: %v", err)
		}
		_, _, cerr := checkout(packSet{w.res}, work, gitDir, commit, nil, newMeter(CloneOptions{}, work))
		filepath.WalkDir(sandbox, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if rel, _ := filepath.Rel(sandbox, p); rel != "." && rel != "work" && !strings.HasPrefix(rel, "work"+string(filepath.Separator)) {
				t.Fatalf("the checkout created %s outside the work tree", rel)
			}
			return nil
		})
		if cerr != nil {
			return
		}
		for path, want := range files {
			p := filepath.Join(work, filepath.FromSlash(path))
			fi, err := os.Lstat(p)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			switch want.kind {
			case 'l':
				got, err := os.Readlink(p)
				if err != nil || got != want.content {
					t.Fatalf("symbolic link %s: %q, %v; want %q", path, got, err, want.content)
				}
			default:
				got, err := os.ReadFile(p)
				if err != nil || string(got) != want.content || !fi.Mode().IsRegular() || (fi.Mode()&0o100 != 0) != (want.kind == 'x') {
					t.Fatalf("file %s: %q %v, %v; want %q (%c)", path, got, fi.Mode(), err, want.content, want.kind)
				}
			}
		}
	})
}

// specFile is what buildTreePack expects at one path of a successful checkout.
type specFile struct {
	kind    byte // 'f', 'x' or 'l'
	content string
}

// buildTreePack turns a FuzzCheckout spec into a pack of whole objects (the blobs, the trees
// and one commit) and returns it with the commit's id; files gets the regular files and
// symbolic links a successful checkout must write (the first of any name given twice).
func buildTreePack(spec []byte, files map[string]specFile) ([]byte, plumbing.Hash) {
	var objs [][]byte
	add := func(typ uint8, data []byte) [20]byte {
		objs = append(objs, encodeObject(typ, int64(len(data)), 0, data))
		return sha1.Sum(fmt.Appendf(nil, "%s %d\x00%s", typeName(typ), len(data), data))
	}
	lines := strings.Split(string(spec), "\n")
	var tree func(prefix string, depth int) [20]byte
	tree = func(prefix string, depth int) [20]byte {
		var t bytes.Buffer
		entry := func(mode, name string, id [20]byte) {
			t.WriteString(mode + " " + name + "\x00")
			t.Write(id[:])
		}
		for len(lines) > 0 && len(objs) < 256 {
			l := lines[0]
			lines = lines[1:]
			if l == ")" && depth > 0 {
				break
			}
			if len(l) < 2 {
				continue
			}
			kind, rest := l[0], l[2:]
			name, content, _ := strings.Cut(rest, "=")
			path := strings.TrimPrefix(prefix+"/"+name, "/")
			_, dup := files[path]
			switch kind {
			case 'f', 'x', 'l':
				mode := map[byte]string{'f': "100644", 'x': "100755", 'l': "120000"}[kind]
				entry(mode, name, add(objBlob, []byte(content)))
				if !dup {
					files[path] = specFile{kind, content}
				}
			case 'r':
				mode, name, _ := strings.Cut(name, " ")
				entry(mode, name, add(objBlob, []byte(content)))
			case 'd':
				if depth < 8 {
					entry("40000", name, tree(path, depth+1))
				}
			}
		}
		return add(objTree, t.Bytes())
	}
	rootTree := tree("", 0)
	commit := add(objCommit, []byte("tree "+hex.EncodeToString(rootTree[:])+"\nauthor a <a> 0 +0000\ncommitter a <a> 0 +0000\n\nfuzz\n"))
	return packOf(objs...), plumbing.Hash(commit)
}
