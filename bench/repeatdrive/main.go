// Command repeatdrive drives the clone engine for bench/repeat.sh: N clones of one repository
// at once in one process, through the repository cache or not, into fresh directories or
// reused workspaces, so the script can measure one run against eight sharing a fetch.
//
//	repeatdrive -url URL -dir DIR [-cache DIR] [-reuse] [-depth 1] [-n 8] [-cpuprofile FILE] [-memprofile FILE]
//
// Like the service (serve's defaults), at most -max-clones (4) run at once and they share a
// -memory budget (1 GiB) with the Go heap's soft limit set above it.
// The PAT comes from AZURE_DEVOPS_PAT. With -n above 1 the directories are DIR-0 … DIR-{n-1}.
// It prints one JSON line per clone: {"dir", "ms", "source", "stats", "commit"}, and exits 1
// when any clone failed. Loopback is allowed (the simulator); nothing else is.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/connections/egress"
	"github.com/repoconnect/repoconnect/gitops"
)

func main() {
	url := flag.String("url", "", "clone URL (http://127.0.0.1:…/_git/name)")
	dir := flag.String("dir", "", "target directory (a prefix with -n > 1)")
	cacheDir := flag.String("cache", "", "repository cache directory (empty: cold clones)")
	reuse := flag.Bool("reuse", false, "the directory is a workspace kept between runs (needs -cache)")
	depth := flag.Int("depth", 1, "history depth (0: full)")
	n := flag.Int("n", 1, "clones started at once, in this process")
	slots := flag.Int("max-clones", 4, "clones that run at once (serve --max-clones); the rest wait")
	memory := flag.Int64("memory", 1<<30, "bytes of the memory budget the clones share (serve --clone-memory; 0: none)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the clones to this file")
	memProfile := flag.String("memprofile", "", "write a heap profile (allocations) to this file after the clones")
	flag.Parse()
	if *url == "" || *dir == "" || *n < 1 || (*reuse && *cacheDir == "") {
		fmt.Fprintln(os.Stderr, "usage: repeatdrive -url URL -dir DIR [-cache DIR [-reuse]] [-depth N] [-n N]")
		os.Exit(2)
	}
	var cache *gitops.Cache
	if *cacheDir != "" {
		var err error
		if cache, err = gitops.NewCache(*cacheDir, 0); err != nil {
			fmt.Fprintln(os.Stderr, "repeatdrive:", err)
			os.Exit(1)
		}
	}
	var budget *gitops.MemoryBudget
	if *memory > 0 {
		budget = gitops.NewMemoryBudget(*memory)
		debug.SetMemoryLimit(*memory + 256<<20) // as serve does (heapLimit)
	}
	sem := make(chan struct{}, max(*slots, 1))
	door := egress.New(egress.Options{Policy: egress.Policy{Allow: egress.Loopback()}})
	type line struct {
		Dir    string        `json:"dir"`
		MS     int64         `json:"ms"`
		Source gitops.Source `json:"source,omitempty"`
		Stats  gitops.Stats  `json:"stats"`
		Commit string        `json:"commit,omitempty"`
		Err    string        `json:"error,omitempty"`
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "repeatdrive:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	out := make([]line, *n)
	var wg sync.WaitGroup
	for i := range *n {
		d := *dir
		if *n > 1 {
			d = fmt.Sprintf("%s-%d", *dir, i)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := gitops.Clone(context.Background(), gitops.CloneOptions{URL: *url, Dir: d, Depth: *depth,
				PAT: connections.Secret(os.Getenv("AZURE_DEVOPS_PAT")), Door: door, Cache: cache, Reuse: *reuse, Memory: budget,
				CacheKey: gitops.CacheKey{Tenant: "bench", Connection: "bench", Repository: *url}})
			out[i] = line{Dir: d, MS: time.Since(start).Milliseconds()}
			if err != nil {
				out[i].Err = err.Error()
				return
			}
			out[i].Source, out[i].Stats, out[i].Commit = res.Source, res.Stats, res.Commit
		}()
	}
	wg.Wait()
	if *memProfile != "" {
		if f, err := os.Create(*memProfile); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	failed := false
	for _, l := range out {
		b, _ := json.Marshal(l)
		fmt.Println(string(b))
		failed = failed || l.Err != ""
	}
	if failed {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}
