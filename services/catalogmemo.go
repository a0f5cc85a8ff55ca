package services

import (
	"hash/maphash"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// The decode memo keeps the catalog lists cached (the forge's answer as JSON, see catalog.go)
// decoded in memory, per Service, so that a list read again is not decoded again: for 10,000
// repositories the decode alone is about 14 MB and 80,000 allocations, some 250 ms, on every
// keystroke of the import flow's filter.
//
// An entry is keyed by tenant, connection id and catalog key (which carries the connection's
// CatalogGeneration: a re-authorized, updated or re-checked connection reads other keys) and
// holds a fingerprint of the bytes it was decoded from (their length and a 64-bit maphash).
// It is served only while the catalog cache answers the same bytes: a refresh (in this
// process, or on another instance behind the shared Redis backend) answers new bytes, whose
// fingerprint differs, and the new list is decoded and kept in place of the old one (a list
// this instance fetched from the forge is kept as it is encoded, so its first read is no
// decode either). A fingerprint names the bytes with a per-process random seed, so a
// collision (two different lists of the same length and hash) is a 2^-64 chance. The
// memo never decides freshness itself: the catalog cache's rules (Fresh/Keep, generation,
// Drop) stay the only ones.
//
// Decoded lists are shared between calls: cached returns them to its callers only through
// copies (slices.Clone, or the filtered copy of ListRepositories), so no caller can change
// what the next one reads. Their elements hold strings, which are immutable.
//
// Bounds (per Service): at most CatalogMemoEntries lists and CatalogMemoBytes of estimated
// decoded size, least recently used first out; a single list larger than the byte bound is
// not kept (it is decoded on every call, as without the memo). dropCatalog forgets a
// connection's lists.
const (
	// CatalogMemoEntries bounds the decoded lists the memo of one Service holds.
	CatalogMemoEntries = 256
	// CatalogMemoBytes bounds the memo's estimated decoded size, in bytes, per Service: the
	// cached JSON's length times catalogMemoExpansion, summed over the lists held (about
	// 25 organizations of 10,000 repositories).
	CatalogMemoBytes = 256 << 20
	// catalogMemoExpansion estimates a decoded list's heap size from its JSON length: the
	// strings are the JSON's text (mostly), plus the structs' headers.
	catalogMemoExpansion = 2
)

// memoKey names one decoded list.
type memoKey struct {
	tenant, conn, key string
}

// memoEntry is a decoded list and the fingerprint of the bytes it came from.
type memoEntry struct {
	n    int    // length of the bytes
	sum  uint64 // maphash of the bytes
	list any    // []T, read-only
	cost int64  // estimated bytes
}

// catalogMemo is one Service's decode memo; safe for concurrent use.
type catalogMemo struct {
	mu      sync.Mutex
	lru     *simplelru.LRU[memoKey, *memoEntry]
	cost    int64 // sum of the entries' cost
	maxCost int64
	seed    maphash.Seed
	decodes atomic.Int64 // decodes done by cached (tests)
}

func newCatalogMemo(entries int, maxBytes int64) *catalogMemo {
	m := &catalogMemo{maxCost: maxBytes, seed: maphash.MakeSeed()}
	m.lru, _ = simplelru.NewLRU(entries, func(_ memoKey, e *memoEntry) { m.cost -= e.cost })
	return m
}

// memo returns s's decode memo.
func (s *Service) memo() *catalogMemo { return s.decoded }

// fingerprint is raw's length and hash.
func (m *catalogMemo) fingerprint(raw []byte) (int, uint64) {
	return len(raw), maphash.Bytes(m.seed, raw)
}

// memoGet returns the list decoded from bytes of fingerprint n/sum under k, if held.
func memoGet[T any](m *catalogMemo, k memoKey, n int, sum uint64) ([]T, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.lru.Get(k)
	if !ok || e.n != n || e.sum != sum {
		return nil, false
	}
	list, ok := e.list.([]T)
	return list, ok
}

// memoPut keeps list, decoded from bytes of fingerprint n/sum, under k (in place of an older
// list there), then evicts the least recently used lists beyond the byte bound.
func memoPut[T any](m *catalogMemo, k memoKey, n int, sum uint64, list []T) {
	cost := int64(n)*catalogMemoExpansion + int64(len(list))*int64(reflect.TypeFor[T]().Size())
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lru.Remove(k)
	if cost > m.maxCost {
		return
	}
	m.lru.Add(k, &memoEntry{n: n, sum: sum, list: list, cost: cost})
	m.cost += cost
	for m.cost > m.maxCost {
		if _, _, ok := m.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// drop forgets every list of a connection.
func (m *catalogMemo) drop(tenant, conn string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.lru.Keys() {
		if k.tenant == tenant && k.conn == conn {
			m.lru.Remove(k)
		}
	}
}

// stats returns the lists held, their estimated bytes and the decodes done so far (tests).
func (m *catalogMemo) stats() (entries int, cost int64, decodes int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len(), m.cost, int(m.decodes.Load())
}
