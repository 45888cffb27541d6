package local

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/backup"
)

// countKV counts the calls that reach the KV underneath, and can fail or
// run a function inside them.
type countKV struct {
	KV
	gets, sets, dels int
	fail             error
	during           func()
}

func (c *countKV) Get(ctx context.Context, keys ...string) (map[string][]byte, error) {
	c.gets++
	if c.during != nil {
		c.during()
	}
	return c.KV.Get(ctx, keys...)
}

func (c *countKV) Set(ctx context.Context, items map[string][]byte) error {
	c.sets++
	if c.fail != nil {
		return c.fail
	}
	err := c.KV.Set(ctx, items)
	if c.during != nil {
		c.during() // after the write landed
	}
	return err
}

func (c *countKV) Delete(ctx context.Context, keys ...string) error {
	c.dels++
	if c.fail != nil {
		return c.fail
	}
	return c.KV.Delete(ctx, keys...)
}

func TestCachedServesReadsFromMemory(t *testing.T) {
	ctx := context.Background()
	under := &countKV{KV: NewMemKV()}
	kv := Cached(under, 0)
	if err := kv.Set(ctx, map[string][]byte{"a": []byte("1")}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		m, err := kv.Get(ctx, "a", "missing")
		if err != nil || string(m["a"]) != "1" || m["missing"] != nil {
			t.Fatalf("get: %v %q", err, m)
		}
		m["a"][0] = 'x' // a caller's change must not reach the cache
	}
	// The write taught it "a"; the first read taught it that "missing" is absent.
	if under.gets != 1 {
		t.Fatalf("%d reads reached the store, want 1", under.gets)
	}
	if err := kv.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if m, _ := kv.Get(ctx, "a"); m["a"] != nil || under.gets != 1 {
		t.Fatalf("after delete: %q, %d reads", m, under.gets)
	}
}

func TestCachedForgetsWhatFailedAndSkipsLargeValues(t *testing.T) {
	ctx := context.Background()
	under := &countKV{KV: NewMemKV()}
	kv := Cached(under, 8)
	_ = kv.Set(ctx, map[string][]byte{"a": []byte("old"), "big": []byte(strings.Repeat("x", 9))})
	under.fail = errors.New("quota")
	if err := kv.Set(ctx, map[string][]byte{"a": []byte("new")}); err == nil {
		t.Fatal("the failure did not reach the caller")
	}
	under.fail = nil
	m, _ := kv.Get(ctx, "a", "big")
	if string(m["a"]) != "old" || len(m["big"]) != 9 {
		t.Fatalf("got %q", m)
	}
	if under.gets != 1 {
		t.Fatalf("the failed key and the large value were not read from the store (%d reads)", under.gets)
	}
	_, _ = kv.Get(ctx, "a", "big")
	if under.gets != 2 {
		t.Fatalf("the large value was cached (%d reads)", under.gets)
	}
	// A canceled write may land later: its key is read from the store again.
	cctx, cancel := context.WithCancel(ctx)
	under.during = cancel
	_ = kv.Set(cctx, map[string][]byte{"a": []byte("late")})
	under.during = nil
	if m, _ := kv.Get(ctx, "a"); string(m["a"]) != "late" || under.gets != 3 {
		t.Fatalf("after a canceled write: %q, %d reads", m, under.gets)
	}
}

// A read that raced a write must not cache what it read before the write.
func TestCachedReadRacingWrite(t *testing.T) {
	ctx := context.Background()
	mem := NewMemKV()
	_ = mem.Set(ctx, map[string][]byte{"a": []byte("old")})
	under := &countKV{KV: mem}
	kv := Cached(under, 0)
	// The store answers the read with "old", and a write of "new" starts
	// and ends while the read is on its way back.
	var inner map[string][]byte
	under.during = func() {
		under.during = nil
		inner, _ = mem.Get(ctx, "a")
		_ = kv.Set(ctx, map[string][]byte{"a": []byte("new")})
	}
	if _, err := kv.Get(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if string(inner["a"]) != "old" {
		t.Fatal("the race did not happen as planned")
	}
	if m, _ := kv.Get(ctx, "a"); string(m["a"]) != "new" {
		t.Fatalf("got %q after the write, want new", m["a"])
	}
}

// The Store over a cached KV reads the document once, and its writes stay
// one Set each.
func TestStoreOverCachedKV(t *testing.T) {
	ctx := context.Background()
	under := &countKV{KV: NewMemKV()}
	st := openTest(t, Cached(under, 0))
	put(t, st, "a", "one")
	put(t, st, "b", "two")
	sets, gets := under.sets, under.gets
	for i := 0; i < 5; i++ {
		if _, err := st.Rev(ctx); err != nil {
			t.Fatal(err)
		}
		if n := names(t, st); n["a"] != "one" || n["b"] != "two" {
			t.Fatalf("names %v", n)
		}
	}
	if under.gets != gets || under.sets != sets {
		t.Fatalf("reads of unchanged data reached the store: %d gets, %d sets", under.gets-gets, under.sets-sets)
	}
	// A new Store (a restarted worker) over the same storage sees it all.
	st2 := openTest(t, Cached(under.KV, 0))
	if n := names(t, st2); n["a"] != "one" || n["b"] != "two" {
		t.Fatalf("reopened: %v", n)
	}
}

// After a write the Store keeps a copy of the written document instead of
// parsing the stored bytes again: it must be what the parse would give.
func TestCommitKeepsWhatAReloadReads(t *testing.T) {
	ctx := context.Background()
	kv := NewMemKV()
	st := openTest(t, kv)
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("r%02d", (i*7)%23)
		if i%5 == 4 {
			if _, err := st.Update(ctx, func(d *backup.Document) error {
				return DeleteRecord(d, "accounts", id, st.Clock().Now())
			}); err != nil {
				t.Fatal(err)
			}
		} else {
			put(t, st, id, fmt.Sprint("name ", i))
		}
		kept, rev, err := st.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reloaded, rev2, err := openTest(t, kv).Load(ctx)
		if err != nil || rev2 != rev {
			t.Fatalf("reload: %v, rev %d vs %d", err, rev2, rev)
		}
		if !reflect.DeepEqual(norm(kept), norm(reloaded)) {
			t.Fatalf("after write %d the kept document differs from a reload:\n%+v\n%+v", i, norm(kept), norm(reloaded))
		}
	}
	// A document that breaks Marshal's invariants is parsed instead.
	d := backup.New()
	d.Collection("accounts").Records = []backup.Record{{ID: "b", Raw: []byte(`{"id":"b","updated_at":1}`), UpdatedAt: 1}, {ID: "a", Raw: []byte(`{"id":"a","updated_at":1}`), UpdatedAt: 1}}
	if parsedAs(d) != nil {
		t.Fatal("an unsorted collection was kept as it is")
	}
}

// norm makes empty and nil slices alike for comparison.
func norm(d *backup.Document) *backup.Document {
	d = d.Clone()
	for _, c := range d.Collections {
		if len(c.Records) == 0 {
			c.Records = nil
		}
		if len(c.Tombstones) == 0 {
			c.Tombstones = nil
		}
	}
	if len(d.Extra) == 0 {
		d.Extra = nil
	}
	return d
}

// While a write runs, other readers see the value from before it, without
// asking the store; the writer sees its value once the write returned.
func TestCachedServesOldValueDuringWrite(t *testing.T) {
	ctx := context.Background()
	under := &countKV{KV: NewMemKV()}
	kv := Cached(under, 0)
	_ = kv.Set(ctx, map[string][]byte{"a": []byte("old")})
	var during map[string][]byte
	under.during = func() { during, _ = kv.Get(ctx, "a") }
	_ = kv.Set(ctx, map[string][]byte{"a": []byte("new")})
	under.during = nil
	if string(during["a"]) != "old" || under.gets != 0 {
		t.Fatalf("during the write: %q, %d reads", during, under.gets)
	}
	if m, _ := kv.Get(ctx, "a"); string(m["a"]) != "new" || under.gets != 0 {
		t.Fatalf("after the write: %q, %d reads", m, under.gets)
	}
}
