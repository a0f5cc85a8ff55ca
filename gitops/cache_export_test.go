package gitops

// LinkObjects is the reused workspace's link of the store's packs into a .git (linkObjects).
func (c *Cache) LinkObjects(key CacheKey, gitDir string) error { return c.linkObjects(key, gitDir) }

// Hold marks key's store in use, as a run does, until the function returned is called.
func (c *Cache) Hold(key CacheKey) (release func()) {
	e := c.acquire(key)
	return func() { c.release(e) }
}
