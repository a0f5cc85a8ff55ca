package gitops_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/repoconnect/repoconnect/gitops"
)

// BenchmarkRepeatCached measures a repeat run through the repository cache of the simulator's
// seeded ios-app when nothing changed (the negotiation and a checkout from the cached packs),
// at depth 1 and full. The figures on a large repository, after a push, belong to
// bench/repeat.sh.
func BenchmarkRepeatCached(b *testing.B) {
	sim := startSimTB(b)
	url := cloneURL(sim, repoByName(b, sim, "ios-app"))
	for _, depth := range []int{0, 1} {
		b.Run("depth="+strconv.Itoa(depth), func(b *testing.B) {
			c, err := gitops.NewCache(filepath.Join(b.TempDir(), "cache"), 0)
			if err != nil {
				b.Fatal(err)
			}
			root := b.TempDir()
			opts := func(i int) gitops.CloneOptions {
				return gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url, Dir: filepath.Join(root, strconv.Itoa(i)), Depth: depth,
					PAT: pat, Cache: c, CacheKey: keyA}
			}
			if _, err := gitops.Clone(context.Background(), opts(0)); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				res, err := gitops.Clone(context.Background(), opts(i))
				if err != nil || res.Source != gitops.SourceCache {
					b.Fatal(res, err)
				}
			}
		})
	}
}
