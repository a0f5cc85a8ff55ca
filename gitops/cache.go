package gitops

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// Cache is the repository cache (issue 18): one bare object store per CacheKey under one
// directory, fetched into incrementally with each run's own credential and checked out from
// with the engine's parallel checkout (cachecheckout.go, cachefetch.go). Safe for concurrent
// use within one process: runs of one key share one fetch (one in flight per key) and read the
// packs concurrently. Another process must not use the same directory (on Redis deployments
// each instance has its own cache).
//
// Layout of one key's store, {dir}/{sha256(tenant, connection, repository)[:32]}/:
// objects/pack/pack-{sum}.pack, .idx and .rcx (the sidecar, cachepack.go); state (JSON: the
// packs in fetch order, the tips fetched, the shallow commits: the one commit point of a
// fetch); shallow, HEAD and config so that git can read it as a bare repository.
type Cache struct {
	dir      string
	maxBytes int64

	mu       sync.Mutex
	entries  map[string]*cacheEntry // by directory name
	verified map[string]bool        // files verified, by path, inode, size and mtime (fileStamp)
}

// CacheKey names one cached repository: the tenant, the connection (whose credential fetches
// it) and the repository (its Azure DevOps id, or its clone URL). Caches are never shared
// between tenants or connections: every field is part of the key.
type CacheKey struct {
	Tenant     string
	Connection string
	Repository string
}

// cacheEntry is one key's store.
type cacheEntry struct {
	name, dir string
	fetch     sync.Mutex // held while the store is negotiated, fetched into or dropped

	// Under Cache.mu:
	users int       // runs using the store: never evicted while > 0
	used  time.Time // the last run's end (or start)
	size  int64     // bytes on disk, as of the last fetch
}

// cacheState is the store's state file: the commit point of every fetch.
type cacheState struct {
	Packs   []string          `json:"packs"`             // pack-{sum}, oldest first
	Tips    map[string]string `json:"tips"`              // ref name → commit (hex) fetched
	Shallow []string          `json:"shallow,omitempty"` // the shallow boundary (hex), as .git/shallow
}

// NewCache opens (creating it) the cache in dir, bounded to maxBytes on disk (0: no bound;
// least recently used repositories go first, never one a run is using). The stores already in
// dir are kept, ordered by their last use. Errors: dir empty or not creatable, maxBytes
// negative.
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
	c := &Cache{dir: abs, maxBytes: maxBytes, entries: map[string]*cacheEntry{}, verified: map[string]bool{}}
	list, err := os.ReadDir(abs)
	if err != nil {
		return nil, err
	}
	for _, d := range list {
		if strings.HasSuffix(d.Name(), ".evicted") { // an eviction the process did not finish
			_ = os.RemoveAll(filepath.Join(abs, d.Name()))
			continue
		}
		if !d.IsDir() || len(d.Name()) != 32 {
			continue
		}
		e := &cacheEntry{name: d.Name(), dir: filepath.Join(abs, d.Name())}
		e.size = dirSize(e.dir)
		if fi, err := os.Stat(filepath.Join(e.dir, "state")); err == nil {
			e.used = fi.ModTime()
		}
		c.entries[e.name] = e
	}
	return c, nil
}

// Dir is the cache's directory (absolute).
func (c *Cache) Dir() string { return c.dir }

// Size is the bytes the cache's stores take on disk, as of their last fetch.
func (c *Cache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, e := range c.entries {
		n += e.size
	}
	return n
}

// Has reports whether the cache holds a store for key (for tests and the service's pages).
func (c *Cache) Has(key CacheKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[key.dirName()]
	return ok
}

// validate reports a key with an empty field (ErrInvalidInput, field cacheKey).
func (k CacheKey) validate() error {
	if k.Tenant == "" || k.Connection == "" || k.Repository == "" {
		return invalidf("cacheKey", "the cache key needs the tenant, the connection and the repository")
	}
	return nil
}

// dirName is the store's directory name: 32 hex digits of the SHA-256 of the key's fields,
// each length-prefixed so that no two keys share a name.
func (k CacheKey) dirName() string {
	h := sha256.New()
	for _, f := range []string{k.Tenant, k.Connection, k.Repository} {
		fmt.Fprintf(h, "%d:%s\x00", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// acquire returns key's store, created if needed, marked in use until release.
func (c *Cache) acquire(key CacheKey) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := key.dirName()
	e := c.entries[name]
	if e == nil {
		e = &cacheEntry{name: name, dir: filepath.Join(c.dir, name)}
		c.entries[name] = e
	}
	e.users++
	e.used = time.Now()
	return e
}

// release ends a run's use of e, and evicts what the size bound asks.
func (c *Cache) release(e *cacheEntry) {
	c.mu.Lock()
	e.users--
	e.used = time.Now()
	c.mu.Unlock()
	now := time.Now()
	_ = os.Chtimes(filepath.Join(e.dir, "state"), now, now) // the order of use survives a restart
	c.evict()
}

// resize records e's size on disk after a fetch or a drop.
func (c *Cache) resize(e *cacheEntry) {
	n := dirSize(e.dir)
	c.mu.Lock()
	e.size = n
	c.mu.Unlock()
}

// evict removes the least recently used stores no run is using until the cache fits
// maxBytes. A store in use is never removed, so the cache may stay above the bound while runs
// hold more than it.
func (c *Cache) evict() {
	if c.maxBytes <= 0 {
		return
	}
	c.mu.Lock()
	var total int64
	var idle []*cacheEntry
	for _, e := range c.entries {
		total += e.size
		if e.users == 0 {
			idle = append(idle, e)
		}
	}
	sort.Slice(idle, func(a, b int) bool { return idle[a].used.Before(idle[b].used) })
	var trash []string
	for _, e := range idle {
		if total <= c.maxBytes {
			break
		}
		// Renamed away while c.mu is held, so a run acquiring the key after this starts a
		// new store in an empty directory; removed after.
		gone := e.dir + ".evicted"
		if err := os.Rename(e.dir, gone); err != nil && !errors.Is(err, os.ErrNotExist) {
			continue
		}
		total -= e.size
		delete(c.entries, e.name)
		trash = append(trash, e.dir)
	}
	c.mu.Unlock()
	for _, d := range trash {
		_ = os.RemoveAll(d + ".evicted")
		c.forget(d)
	}
}

// forget drops what was verified under dir.
func (c *Cache) forget(dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.verified {
		if strings.HasPrefix(k, dir+string(os.PathSeparator)) {
			delete(c.verified, k)
		}
	}
}

// packDir is the store's objects/pack.
func (e *cacheEntry) packDir() string { return filepath.Join(e.dir, "objects", "pack") }

// errCacheDamaged is a store that failed verification: it is dropped and fetched again.
var errCacheDamaged = errors.New("the cached repository failed verification")

// load reads e's state and verifies its packs (verifyPack); the caller holds e.fetch. A store
// that does not exist is an empty state; one that fails verification is dropped (its files
// removed) and returned empty, so it is fetched again, never served. Packs of the directory
// that the state does not name (a fetch that ended before its commit point) are removed.
func (c *Cache) load(e *cacheEntry) (*cacheState, error) {
	st := &cacheState{Tips: map[string]string{}}
	data, err := os.ReadFile(filepath.Join(e.dir, "state"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return st, c.initStore(e)
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(data, st); err != nil || st.Tips == nil {
		return c.drop(e)
	}
	named := map[string]bool{}
	for _, p := range st.Packs {
		if !strings.HasPrefix(p, "pack-") || len(p) != 45 {
			return c.drop(e)
		}
		if err := c.verifyPack(e.packDir(), p); err != nil {
			return c.drop(e)
		}
		named[p] = true
	}
	for _, s := range st.Shallow {
		if !plumbing.IsHash(s) {
			return c.drop(e)
		}
	}
	list, _ := os.ReadDir(e.packDir())
	for _, d := range list {
		base := strings.TrimSuffix(d.Name(), filepath.Ext(d.Name()))
		if !named[base] {
			_ = os.Remove(filepath.Join(e.packDir(), d.Name()))
		}
	}
	return st, nil
}

// drop removes e's files and makes it an empty store, to be fetched again.
func (c *Cache) drop(e *cacheEntry) (*cacheState, error) {
	if err := os.RemoveAll(e.dir); err != nil {
		return nil, err
	}
	c.forget(e.dir)
	return &cacheState{Tips: map[string]string{}}, c.initStore(e)
}

// initStore creates e's directories and the files that make it a bare repository git reads.
func (c *Cache) initStore(e *cacheEntry) error {
	if err := os.MkdirAll(e.packDir(), 0o700); err != nil {
		return err
	}
	for _, d := range []string{"refs", filepath.Join("objects", "info")} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(e.dir, "HEAD"), []byte("ref: refs/heads/main\n"), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.dir, "config"), []byte("[core]\n\trepositoryformatversion = 0\n\tbare = true\n"), 0o600)
}

// save writes st as e's state (by a temporary file renamed into place: the commit point) and
// the shallow file git reads.
func (c *Cache) save(e *cacheEntry, st *cacheState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var sh bytes.Buffer
	for _, s := range st.Shallow {
		sh.WriteString(s + "\n")
	}
	if err := writeAtomic(filepath.Join(e.dir, "shallow"), sh.Bytes()); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(e.dir, "state"), data)
}

// writeAtomic writes data to path through a temporary file renamed into place.
func writeAtomic(path string, data []byte) error {
	return replaceFile(path, ".tmp_", 0, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// replaceFile writes path through a temporary file (name prefix, in path's directory) that
// write fills, given mode (0: CreateTemp's 0600) and renamed over path: a reader sees the old
// file or the whole new one, never a part. On any error the temporary file is removed.
func replaceFile(path, prefix string, mode os.FileMode, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), prefix)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && mode != 0 {
		err = os.Chmod(f.Name(), mode)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// fileStamp identifies a file's content as far as the file system tells: path, inode, size,
// modification and change times. A file rewritten in place gets a new stamp.
func fileStamp(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	var ie index.Entry
	statData(fi, &ie) // inode and change time where the system has them (stat_*.go)
	return fmt.Sprintf("%s|%d|%d|%d|%d", path, ie.Inode, fi.Size(), fi.ModTime().UnixNano(), ie.CreatedAt.UnixNano()), nil
}

// verifyPack checks pack-{name}'s three files once per stamp: the pack's trailing SHA-1 over
// its bytes (and that it is the name's), the index's own checksum and the pack's checksum it
// records, and the sidecar's checksum. Errors: errCacheDamaged, I/O.
func (c *Cache) verifyPack(dir, name string) error {
	base := filepath.Join(dir, name)
	want, err := hex.DecodeString(strings.TrimPrefix(name, "pack-"))
	if err != nil {
		return errCacheDamaged
	}
	for _, ext := range []string{".pack", ".idx", ".rcx"} {
		path := base + ext
		stamp, err := fileStamp(path)
		if err != nil {
			return fmt.Errorf("%w: %v", errCacheDamaged, err)
		}
		c.mu.Lock()
		ok := c.verified[stamp]
		c.mu.Unlock()
		if ok {
			continue
		}
		tail, err := hashFile(path)
		if err != nil {
			return fmt.Errorf("%w: %v", errCacheDamaged, err)
		}
		switch ext {
		case ".pack":
			if !bytes.Equal(tail[20:], want) {
				return fmt.Errorf("%w: %s", errCacheDamaged, filepath.Base(path))
			}
		case ".idx":
			if !bytes.Equal(tail[:20], want) { // the pack checksum the index records
				return fmt.Errorf("%w: %s", errCacheDamaged, filepath.Base(path))
			}
		}
		c.mu.Lock()
		c.verified[stamp] = true
		c.mu.Unlock()
	}
	return nil
}

// hashFile checks that the file's last 20 bytes are the SHA-1 of the bytes before them and
// returns its last 40 bytes. Errors: a file shorter than 40 bytes or a mismatch
// (errCacheDamaged), I/O.
func hashFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < 40 {
		return nil, errCacheDamaged
	}
	h := sha1.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size()-20)); err != nil {
		return nil, err
	}
	tail := make([]byte, 40)
	if _, err := f.ReadAt(tail, fi.Size()-40); err != nil {
		return nil, err
	}
	if !bytes.Equal(h.Sum(nil), tail[20:]) {
		return nil, errCacheDamaged
	}
	return tail, nil
}
