package gitops

import (
	"errors"
	"os"
	"path/filepath"
)

// Cache is the repository cache: one bare object store per CacheKey under one directory,
// fetched into incrementally and checked out from (issue 18). Safe for concurrent use.
//
// STUB: the contract the service codes against; the cache itself lands in this file.
type Cache struct {
	dir      string
	maxBytes int64
}

// CacheKey names one cached repository: the tenant, the connection (whose credential fetches
// it) and the repository (its Azure DevOps id, or its clone URL). Caches are never shared
// between tenants or connections: every field is part of the key.
type CacheKey struct {
	Tenant     string
	Connection string
	Repository string
}

// NewCache opens (creating it) the cache in dir, bounded to maxBytes on disk (0: no bound;
// least recently used repositories go first). Errors: dir empty or not creatable.
func NewCache(dir string, maxBytes int64) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("gitops: the cache directory is required")
	}
	if maxBytes < 0 {
		return nil, errors.New("gitops: the cache size bound must not be negative")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, err
	}
	return &Cache{dir: abs, maxBytes: maxBytes}, nil
}

// Dir is the cache's directory (absolute).
func (c *Cache) Dir() string { return c.dir }
