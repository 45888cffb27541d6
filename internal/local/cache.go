package local

import (
	"context"
	"strings"
	"sync"
)

// CacheMaxValue is the largest value Cached keeps in memory by default:
// enough for the merge base of 50,000 records, which each cycle that
// changed anything reads (about 25 ms from the browser's storage at
// 10,000). The document's chunks and the undo points are never kept,
// whatever their size: the Store caches the parsed document itself (keyed
// by the revision in keyMeta, which is small and so is cached here), and
// undo points are read only on undo.
const CacheMaxValue = 4 << 20

// uncached reports the keys Cached never keeps (see CacheMaxValue).
func uncached(key string) bool {
	return key == keyDoc || strings.HasPrefix(key, keyChunk) || strings.HasPrefix(key, keyUndoSlot)
}

// Cached returns kv behind a write-through memory cache of the values up to
// maxValue bytes (0: CacheMaxValue), and of which keys are absent.
//
// Why: in the browser every KV call is a round trip to the browser process
// (a few milliseconds each), and one sync cycle reads the settings, the
// device salt, the status, the markers, the revision ... about twenty
// times; with the cache an idle cycle reads none of them from storage.
//
// It is correct only while nothing but this KV writes kv's keys: in the
// extension the service worker's one Go module is the only writer of
// chrome.storage (the pages go through it), and a new worker starts with
// an empty cache. It never makes a write less durable: Set and Delete go to
// kv at once and return its error; the cache learns a value only from a
// write kv confirmed or a read kv answered, and forgets a key whose write
// failed or was canceled, so a reader then asks kv (which orders the read
// after the write). While a write runs, other readers see the value from
// before it (see begin).
func Cached(kv KV, maxValue int) KV {
	if maxValue <= 0 {
		maxValue = CacheMaxValue
	}
	return &cachedKV{kv: kv, max: maxValue, vals: map[string]cached{}, gen: map[string]uint64{}, busy: map[string]int{}}
}

type cachedKV struct {
	kv  KV
	max int

	mu   sync.Mutex
	vals map[string]cached
	// gen counts the writes started per key, and busy the writes in
	// flight: a read or write result is kept only when no other write of
	// the key started or is running meanwhile.
	gen  map[string]uint64
	busy map[string]int
}

// cached is one known key: its value, or absent.
type cached struct {
	val     []byte
	present bool
}

func (c *cachedKV) Get(ctx context.Context, keys ...string) (map[string][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	var miss []string
	var gens []uint64
	c.mu.Lock()
	for _, k := range keys {
		if v, ok := c.vals[k]; ok {
			if v.present {
				out[k] = append([]byte(nil), v.val...) // callers may modify what they get
			}
			continue
		}
		miss = append(miss, k)
		gens = append(gens, c.gen[k])
	}
	c.mu.Unlock()
	if len(miss) == 0 {
		return out, nil
	}
	m, err := c.kv.Get(ctx, miss...)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	for i, k := range miss {
		v, ok := m[k]
		if ok {
			out[k] = v
		}
		if c.gen[k] == gens[i] && c.busy[k] == 0 && len(v) <= c.max && !uncached(k) {
			c.vals[k] = cached{val: append([]byte(nil), v...), present: ok}
		}
	}
	c.mu.Unlock()
	return out, nil
}

// begin marks the keys' writes as running and returns each key's
// generation for end. A value known before the write is still served
// while it runs: a reader that is not the writer may see the state before
// a write that has not returned yet (it could have read just before it),
// and the writer reads only after its write returned.
func (c *cachedKV) begin(keys []string) []uint64 {
	gens := make([]uint64, len(keys))
	c.mu.Lock()
	for i, k := range keys {
		c.gen[k]++
		c.busy[k]++
		gens[i] = c.gen[k]
	}
	c.mu.Unlock()
	return gens
}

// end records the outcome of the write begin started: after a success,
// the value written (absent for a delete) if no other write of the key
// started meanwhile; otherwise (a failure, or another write of the key
// running) the key becomes unknown, so the next read asks kv, which
// orders it after the writes.
func (c *cachedKV) end(keys []string, gens []uint64, vals map[string][]byte, ok bool) {
	c.mu.Lock()
	for i, k := range keys {
		if c.busy[k]--; c.busy[k] == 0 {
			delete(c.busy, k)
		}
		delete(c.vals, k)
		if !ok || c.gen[k] != gens[i] || c.busy[k] != 0 {
			continue
		}
		if vals == nil {
			c.vals[k] = cached{}
		} else if v := vals[k]; len(v) <= c.max && !uncached(k) {
			c.vals[k] = cached{val: append([]byte(nil), v...), present: true}
		}
	}
	c.mu.Unlock()
}

func (c *cachedKV) Set(ctx context.Context, items map[string][]byte) error {
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	gens := c.begin(keys)
	err := c.kv.Set(ctx, items)
	// A canceled Set may still land later: forget the keys (ok false).
	c.end(keys, gens, items, err == nil && ctx.Err() == nil)
	return err
}

func (c *cachedKV) Delete(ctx context.Context, keys ...string) error {
	gens := c.begin(keys)
	err := c.kv.Delete(ctx, keys...)
	c.end(keys, gens, nil, err == nil && ctx.Err() == nil)
	return err
}
