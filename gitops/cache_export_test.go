package gitops

import (
	"context"
	"net/url"
	"path/filepath"
)

// LinkObjects is the reused workspace's link of the store's packs into a .git (linkObjects).
func (c *Cache) LinkObjects(key CacheKey, gitDir string) error { return c.linkObjects(key, gitDir) }

// Hold marks key's store in use, as a run does, until the function returned is called.
func (c *Cache) Hold(key CacheKey) (release func()) {
	e := c.acquire(key)
	return func() { c.release(e) }
}

// AdvanceGitDir takes a reused workspace's steps around its update on dir's .git: a run
// through the cache (negotiation, fetch into the store), the store's packs linked in, the refs
// and HEAD moved to the run's commit. It returns the commit.
func AdvanceGitDir(ctx context.Context, opts CloneOptions, dir string) (string, error) {
	EnableAzureDevOpsCapabilities()
	u, err := url.Parse(opts.URL)
	if err != nil {
		return "", err
	}
	if opts.MaxObjectBytes <= 0 {
		opts.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if ctx, err = doorContext(ctx, u, &opts); err != nil {
		return "", err
	}
	opts.meter = newMeter(opts, dir)
	run, err := startCacheRun(ctx, nil, opts)
	if err != nil {
		return "", err
	}
	defer run.close()
	gitDir := filepath.Join(dir, ".git")
	if err := run.linkObjects(gitDir); err != nil {
		return "", err
	}
	return run.target.String(), run.setRefs(gitDir)
}
