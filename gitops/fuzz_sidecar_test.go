package gitops

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSidecar: a sidecar that decodes is one whose every field is consistent, so opening a
// pack with it never panics, never loops and never reads outside the pack, whatever bytes
// were changed (the checksum fixed after the change, so the field checks are what is tested).
// An unchanged sidecar opens, and every object reads back with the id it had.
func FuzzSidecar(f *testing.F) {
	for _, s := range idxSeeds {
		f.Add(s, []byte{})
		f.Add(s, []byte{0, 0, 40, 7, 41, 1})
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, prog, edits []byte) {
		pack, _ := buildPack(prog)
		sub, err := os.MkdirTemp(dir, "p")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(sub)
		w, err := newPackWriter(packConfig{ctx: context.Background(), dir: sub, maxObject: 1 << 20, meter: newMeter(CloneOptions{}, sub)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(pack); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("a valid pack refused: %v", err)
		}
		defer w.release()
		var buf bytes.Buffer
		if err := encodeSidecar(&buf, w.idx, w.res.byID); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		for k := 0; k+1 < len(edits); k += 2 {
			at := int(binary.BigEndian.Uint16([]byte{edits[k], edits[k+1]})) % (len(data) - 20)
			data[at] ^= edits[k] | 1
		}
		sum := sha1.Sum(data[:len(data)-20])
		copy(data[len(data)-20:], sum[:])
		name := w.name()
		if err := os.WriteFile(filepath.Join(sub, name+".rcx"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := openCachedPack(context.Background(), sub, name, 1<<20, nil)
		if err != nil {
			if len(edits) < 2 {
				t.Fatalf("an unchanged sidecar refused: %v", err)
			}
			return
		}
		defer r.f.Close()
		wk := r.newWorker()
		for i := range r.idx.entries {
			content, err := wk.materialize(int32(i))
			if err != nil {
				if len(edits) < 2 {
					t.Fatalf("object %d: %v", i, err)
				}
				continue
			}
			if len(edits) < 2 {
				h := sha1.New()
				writeObjectHeader(h, r.idx.entries[i].typ, int64(len(content)))
				h.Write(content)
				if !bytes.Equal(h.Sum(nil), r.idx.entries[i].sum[:]) {
					t.Fatalf("object %d reads back with another id", i)
				}
			}
		}
	})
}
