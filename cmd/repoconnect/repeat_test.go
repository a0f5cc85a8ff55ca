package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clone --cache-dir and --reuse: the flags are checked (reuse needs a cache, a bad size is
// refused naming the flag), the cache directory is made, and the JSON printed carries the
// source and stats of the clone.

func TestCloneCommandCacheAndReuse(t *testing.T) {
	sim := startSim(t)
	t.Setenv("AZURE_DEVOPS_PAT", cliPAT)
	url := sim.URL() + "/DefaultCollection/Fabrikam%20Mobile/_git/ios-app"
	if _, errs, code := run(t, "", "clone", url, "--dir", filepath.Join(t.TempDir(), "c"), "--reuse"); code != 2 || !strings.Contains(errs, "--cache-dir") {
		t.Fatalf("--reuse without --cache-dir: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "", "clone", url, "--dir", filepath.Join(t.TempDir(), "c"), "--cache-dir", t.TempDir(), "--cache-max-bytes", "lots"); code != 2 || !strings.Contains(errs, "--cache-max-bytes") {
		t.Fatalf("a bad --cache-max-bytes: exit %d %s", code, errs)
	}
	cache := filepath.Join(t.TempDir(), "cache")
	dir := filepath.Join(t.TempDir(), "ws")
	args := []string{"clone", url, "--dir", dir, "-q", "--cache-dir", cache, "--cache-max-bytes", "1GiB", "--reuse"}
	out, errs, code := run(t, "", args...)
	if code != 0 {
		t.Fatalf("clone with a cache: exit %d %s", code, errs)
	}
	var res struct {
		Commit string           `json:"commit"`
		Path   string           `json:"path"`
		Source string           `json:"source"`
		Stats  map[string]int64 `json:"stats"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Commit) != 40 || res.Source == "" {
		t.Fatalf("output %q: %v", out, err)
	}
	if res.Source != "cold" || res.Stats["fetchedObjects"] == 0 {
		t.Errorf("first clone into an empty cache: source %q stats %v, want cold with objects fetched", res.Source, res.Stats)
	}
	for _, k := range []string{"fetchedObjects", "fetchedBytes", "writtenFiles", "writtenBytes", "removedFiles"} {
		if _, ok := res.Stats[k]; !ok {
			t.Errorf("stats lacks %s: %s", k, out)
		}
	}
	if fi, err := os.Stat(cache); err != nil || !fi.IsDir() {
		t.Fatalf("the cache directory: %v", err)
	}
	t.Run("again into the kept directory", func(t *testing.T) {
		out, errs, code := run(t, "", args...)
		if code != 0 || !strings.Contains(out, `"source":"workspace"`) || !strings.Contains(out, `"path":"`+res.Path+`"`) {
			t.Fatalf("repeat clone: exit %d %s %s", code, out, errs)
		}
	})
}

// serve's cache flags: the directory defaults to {data-dir}/cache, "none" turns the cache
// off, a bad size is refused naming the flag.
func TestServeCacheFlags(t *testing.T) {
	f := &serveFlags{storeFlags: storeFlags{dataDir: "/data"}, cacheMax: "10GiB"}
	if dir, max, err := f.cache(); err != nil || dir != filepath.Join("/data", "cache") || max != 10<<30 {
		t.Fatalf("defaults: %q %d %v", dir, max, err)
	}
	f.cacheDir, f.cacheMax = "none", "0"
	if dir, max, err := f.cache(); err != nil || dir != "" || max != 0 {
		t.Fatalf("none and 0: %q %d %v", dir, max, err)
	}
	root := newRootCommand()
	root.SetArgs([]string{"serve", "--cache-max-bytes", "lots", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()})
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--cache-max-bytes") {
		t.Fatalf("serve --cache-max-bytes lots: %v", err)
	}
}
