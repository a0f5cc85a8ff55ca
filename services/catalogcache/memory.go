package catalogcache

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// DefaultMaxEntries is the bound of NewMemory when it is given maxEntries <= 0.
const DefaultMaxEntries = 4096

type group struct{ tenant, conn string }

type memKey struct {
	group
	key string
}

type memEntry struct {
	e       Entry
	expires time.Time // by the backend's own clock (time.Now), not the Cache's
}

// memory is the in-process Backend: one LRU of entries plus an index of the keys of each
// group (for Drop), both guarded by one mutex.
type memory struct {
	mu     sync.Mutex
	lru    *simplelru.LRU[memKey, memEntry]
	groups map[group]map[string]struct{}
	now    func() time.Time // time.Now; tests replace it
}

var _ Backend = (*memory)(nil)

// NewMemory returns an in-process Backend for the embedded deployment, bounded to maxEntries
// entries in all (DefaultMaxEntries when maxEntries <= 0): beyond it the least recently used
// entry is evicted. Values are copied in and out, so callers cannot alter what is cached.
// It is safe for concurrent use and never returns errors.
func NewMemory(maxEntries int) Backend {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	m := &memory{groups: make(map[group]map[string]struct{}), now: time.Now}
	// The callback runs inside Add/Remove, under m.mu, for evictions and removals alike.
	l, err := simplelru.NewLRU(maxEntries, func(k memKey, _ memEntry) { m.unindex(k) })
	if err != nil {
		panic(err) // only for size <= 0, excluded above
	}
	m.lru = l
	return m
}

func (m *memory) Get(_ context.Context, tenant, conn, key string) (Entry, bool, error) {
	k := memKey{group{tenant, conn}, key}
	m.mu.Lock()
	defer m.mu.Unlock()
	me, ok := m.lru.Get(k)
	if !ok {
		return Entry{}, false, nil
	}
	if !m.now().Before(me.expires) {
		m.lru.Remove(k)
		return Entry{}, false, nil
	}
	return Entry{Value: clone(me.e.Value), FetchedAt: me.e.FetchedAt}, true, nil
}

func (m *memory) Set(_ context.Context, tenant, conn, key string, e Entry, keep time.Duration) error {
	if keep <= 0 {
		return fmt.Errorf("catalogcache: keep %v must be positive", keep)
	}
	k := memKey{group{tenant, conn}, key}
	me := memEntry{e: Entry{Value: clone(e.Value), FetchedAt: e.FetchedAt}, expires: m.now().Add(keep)}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lru.Add(k, me)
	keys := m.groups[k.group]
	if keys == nil {
		keys = make(map[string]struct{})
		m.groups[k.group] = keys
	}
	keys[key] = struct{}{}
	return nil
}

func (m *memory) Drop(_ context.Context, tenant, conn string) error {
	g := group{tenant, conn}
	m.mu.Lock()
	defer m.mu.Unlock()
	for key := range m.groups[g] {
		m.lru.Remove(memKey{g, key}) // unindex deletes key from the map being ranged: allowed
	}
	delete(m.groups, g)
	return nil
}

// unindex forgets k in its group's index; called with m.mu held.
func (m *memory) unindex(k memKey) {
	keys := m.groups[k.group]
	delete(keys, k.key)
	if len(keys) == 0 {
		delete(m.groups, k.group)
	}
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
