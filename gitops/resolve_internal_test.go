package gitops

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(bytes.TrimSpace(out))
}

// The indexer reproduces git's own index of a pack byte for byte (ids, offsets, CRCs, order),
// also when every worker must drop and rebuild the bases of long delta chains (a one-byte
// budget forces the rebuild path on every step).
func TestIndexMatchesGitIndexPack(t *testing.T) {
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "main")
	var text bytes.Buffer
	for i := range 3000 {
		fmt.Fprintf(&text, "line %d of a file that changes a little in every commit\n", i)
	}
	content := text.Bytes()
	for c := range 30 {
		content = bytes.Replace(content, []byte(fmt.Sprintf("line %d ", c*53)), []byte(fmt.Sprintf("edit %d ", c)), 1)
		if err := os.WriteFile(filepath.Join(dir, "f.txt"), content, 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, dir, "add", "-A")
		run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", fmt.Sprint(c))
	}
	run(t, dir, "repack", "-adq", "--depth=50")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("packs: %v", packs)
	}
	data, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	gitIdx, err := os.ReadFile(packs[0][:len(packs[0])-len(".pack")] + ".idx")
	if err != nil {
		t.Fatal(err)
	}
	for _, budget := range []int64{32 << 20, 1} {
		t.Run(fmt.Sprintf("budget %d", budget), func(t *testing.T) {
			defer func(b int64) { workerBudget = b }(workerBudget)
			workerBudget = budget
			idx, err := scanPack(bytes.NewReader(data), nil)
			if err != nil {
				t.Fatal(err)
			}
			if idx.deltas < 20 {
				t.Fatalf("only %d deltas: the test needs delta chains", idx.deltas)
			}
			f, err := os.Open(packs[0])
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := packCRCs(f, idx); err != nil {
				t.Fatal(err)
			}
			if _, err := resolveDeltas(f, idx, nil); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "ours.idx")
			if _, err := writeIdx(out, idx); err != nil {
				t.Fatal(err)
			}
			ours, _ := os.ReadFile(out)
			if !bytes.Equal(ours, gitIdx) {
				t.Fatalf("our index (%d bytes) differs from git's (%d bytes)", len(ours), len(gitIdx))
			}
		})
	}
}

// A damaged pack is refused: a flipped byte in the middle breaks an object or the checksum.
func TestScanRefusesDamagedPacks(t *testing.T) {
	dir := t.TempDir()
	run(t, dir, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), bytes.Repeat([]byte("data\n"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "add", "-A")
	run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "one")
	run(t, dir, "repack", "-adq")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.pack"))
	data, _ := os.ReadFile(packs[0])
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"truncated", data[:len(data)-30]},
		{"not a pack", append([]byte("KCAP"), data[4:]...)},
		{"trailing garbage", append(append([]byte(nil), data...), 'x')},
	} {
		if _, err := scanPack(bytes.NewReader(c.data), nil); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
