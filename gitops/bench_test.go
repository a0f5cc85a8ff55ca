package gitops_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/repoconnect/repoconnect/gitops"
)

// BenchmarkCloneSeeded measures a full and a depth-1 clone of the simulator's seeded ios-app
// over loopback smart HTTP (git http-backend behind the Azure DevOps capability set). The clone
// engine's measurements on large repositories belong to bench/clone.sh.
func BenchmarkCloneSeeded(b *testing.B) {
	sim := startSimTB(b)
	url := cloneURL(sim, repoByName(b, sim, "ios-app"))
	for _, depth := range []int{0, 1} {
		b.Run("depth="+strconv.Itoa(depth), func(b *testing.B) {
			b.ReportAllocs()
			root := b.TempDir()
			i := 0
			for b.Loop() {
				i++
				_, err := gitops.Clone(context.Background(), gitops.CloneOptions{Door: gitops.LoopbackDoor, URL: url,
					Dir: filepath.Join(root, strconv.Itoa(i)), Depth: depth, PAT: pat})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
