package local

import (
	"context"
	"sync"
)

// KV is the device's key-value storage: chrome.storage.local in the
// extension, memory in tests. Values are opaque bytes.
//
// Set must be atomic for all items of one call: after a crash either every
// item of the call is stored or none is. The Store relies on this to keep the
// document, its revision and the sync markers consistent.
type KV interface {
	// Get returns the values of the keys that exist; missing keys are absent
	// from the map (not an error).
	Get(ctx context.Context, keys ...string) (map[string][]byte, error)
	// Set stores all items in one atomic step.
	Set(ctx context.Context, items map[string][]byte) error
	// Delete removes the keys; missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
}

// MemKV is an in-memory KV, safe for concurrent use. Values are copied in and
// out so callers cannot alias stored bytes.
type MemKV struct {
	mu sync.Mutex
	m  map[string][]byte
	// sets counts Set calls; tests use it to prove one write per update.
	sets int
}

// NewMemKV returns an empty in-memory KV.
func NewMemKV() KV { return &MemKV{m: map[string][]byte{}} }

// Get implements KV.
func (m *MemKV) Get(ctx context.Context, keys ...string) (map[string][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if v, ok := m.m[k]; ok {
			out[k] = append([]byte(nil), v...)
		}
	}
	return out, nil
}

// Set implements KV.
func (m *MemKV) Set(ctx context.Context, items map[string][]byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sets++
	for k, v := range items {
		m.m[k] = append([]byte(nil), v...)
	}
	return nil
}

// Delete implements KV.
func (m *MemKV) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.m, k)
	}
	return nil
}

// Sets reports how many Set calls the KV has served.
func (m *MemKV) Sets() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sets
}

// Keys returns the stored keys (unordered); for tests and diagnostics.
func (m *MemKV) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.m))
	for k := range m.m {
		out = append(out, k)
	}
	return out
}
