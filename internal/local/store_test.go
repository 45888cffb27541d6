package local

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/tidwall/gjson"
)

func fixedWall() func() int64 {
	var mu sync.Mutex
	t := int64(1_700_000_000_000)
	return func() int64 { mu.Lock(); defer mu.Unlock(); t++; return t }
}

func openTest(t *testing.T, kv KV) *Store {
	t.Helper()
	st, err := Open(context.Background(), kv, hlc.New(fixedWall()))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func put(t *testing.T, st *Store, id, name string) int64 {
	t.Helper()
	rev, err := st.Update(context.Background(), func(d *backup.Document) error {
		_, err := PutRecord(d, "accounts", []byte(fmt.Sprintf(`{"id":%q,"site_name":%q}`, id, name)), st.Clock().Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func names(t *testing.T, st *Store) map[string]string {
	t.Helper()
	d, _, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range d.Collections["accounts"].Records {
		out[r.ID] = gjson.GetBytes(r.Raw, "site_name").String()
	}
	return out
}

func TestUpdateBumpsRevisionInOneSet(t *testing.T) {
	ctx := context.Background()
	kv := NewMemKV().(*MemKV)
	st := openTest(t, kv)
	if _, rev, _ := st.Load(ctx); rev != 0 {
		t.Fatalf("empty store rev = %d", rev)
	}
	for i := 1; i <= 3; i++ {
		before := kv.Sets()
		if rev := put(t, st, fmt.Sprint("a", i), "x"); rev != int64(i) {
			t.Fatalf("rev = %d, want %d", rev, i)
		}
		if kv.Sets()-before != 1 {
			t.Fatalf("update used %d Set calls, want 1", kv.Sets()-before)
		}
	}
	// A no-op update keeps the revision and writes nothing.
	before := kv.Sets()
	rev, err := st.Update(ctx, func(*backup.Document) error { return nil })
	if err != nil || rev != 3 || kv.Sets() != before {
		t.Fatalf("no-op update: rev %d err %v sets %d", rev, err, kv.Sets()-before)
	}
	// An update whose fn fails stores nothing.
	boom := errors.New("boom")
	if _, err := st.Update(ctx, func(d *backup.Document) error { d.Collections["accounts"].Records = nil; return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if len(names(t, st)) != 3 {
		t.Fatal("failed update changed the document")
	}
}

func TestCompareAndSwapKeepsConcurrentEdit(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, NewMemKV())
	put(t, st, "a", "one")
	doc, rev, _ := st.Load(ctx)
	// The user edits while a cycle holds the older copy.
	put(t, st, "b", "user edit")
	if _, err := PutRecord(doc, "accounts", []byte(`{"id":"c","site_name":"from sync"}`), st.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	ok, cur, err := st.CompareAndSwap(ctx, rev, doc)
	if err != nil || ok || cur != rev+1 {
		t.Fatalf("stale CAS: ok %v cur %d err %v", ok, cur, err)
	}
	if n := names(t, st); n["b"] != "user edit" || n["c"] != "" {
		t.Fatalf("after failed CAS: %v", n)
	}
	doc, rev, _ = st.Load(ctx)
	PutRecord(doc, "accounts", []byte(`{"id":"c","site_name":"from sync"}`), st.Clock().Now())
	ok, cur, err = st.CompareAndSwap(ctx, rev, doc)
	if err != nil || !ok || cur != rev+1 {
		t.Fatalf("fresh CAS: ok %v cur %d err %v", ok, cur, err)
	}
	if n := names(t, st); n["b"] != "user edit" || n["c"] != "from sync" {
		t.Fatalf("after CAS: %v", n)
	}
}

func TestReopenRestoresStateAndClock(t *testing.T) {
	ctx := context.Background()
	kv := NewMemKV()
	st := openTest(t, kv)
	put(t, st, "a", "one")
	last := st.Clock().Last()
	if _, _, err := st.CommitIf(ctx, 1, Commit{State: map[string][]byte{"sync": []byte(`{"x":1}`)}}); err != nil {
		t.Fatal(err)
	}
	// A new worker: its wall clock is far behind, the restored clock is not.
	st2, err := Open(ctx, kv, hlc.New(func() int64 { return 5 }))
	if err != nil {
		t.Fatal(err)
	}
	if _, rev, _ := st2.Load(ctx); rev != 1 {
		t.Fatalf("rev after reopen = %d", rev)
	}
	if now := st2.Clock().Now(); now <= last {
		t.Fatalf("clock after reopen %d not past %d", now, last)
	}
	m, _ := st2.State(ctx, "sync", "missing")
	if string(m["sync"]) != `{"x":1}` || len(m) != 1 {
		t.Fatalf("state = %q", m)
	}
}

// failKV fails every Set after the first n, like a worker killed mid-write or
// a full disk: the KV itself is atomic per call.
type failKV struct {
	KV
	left int
}

func (f *failKV) Set(ctx context.Context, items map[string][]byte) error {
	if f.left <= 0 {
		return errors.New("quota exceeded")
	}
	f.left--
	return f.KV.Set(ctx, items)
}

func TestFailedWriteLeavesOldState(t *testing.T) {
	ctx := context.Background()
	kv := &failKV{KV: NewMemKV(), left: 1}
	st := openTest(t, kv)
	put(t, st, "a", "one")
	_, err := st.Update(ctx, func(d *backup.Document) error {
		_, err := PutRecord(d, "accounts", []byte(`{"id":"a","site_name":"two"}`), st.Clock().Now())
		return err
	})
	if !errors.Is(err, errkind.Storage) {
		t.Fatalf("err = %v, want storage", err)
	}
	if n := names(t, st); n["a"] != "one" {
		t.Fatalf("after failed write: %v", n)
	}
	st2 := openTest(t, kv.KV)
	if n := names(t, st2); n["a"] != "one" {
		t.Fatalf("after reopen: %v", n)
	}
	if _, rev, _ := st2.Load(ctx); rev != 1 {
		t.Fatalf("rev = %d", rev)
	}
}

func TestConcurrentUpdatesAllLand(t *testing.T) {
	st := openTest(t, NewMemKV())
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			put(t, st, fmt.Sprint("id", i), "x")
		}()
	}
	wg.Wait()
	if n := names(t, st); len(n) != 20 {
		t.Fatalf("%d records, want 20", len(n))
	}
	if _, rev, _ := st.Load(context.Background()); rev != 20 {
		t.Fatalf("rev %d", rev)
	}
}

func TestDeleteRecordLeavesTombstone(t *testing.T) {
	st := openTest(t, NewMemKV())
	put(t, st, "a", "one")
	put(t, st, "b", "two")
	if _, err := st.Update(context.Background(), func(d *backup.Document) error {
		return DeleteRecord(d, "accounts", "a", st.Clock().Now())
	}); err != nil {
		t.Fatal(err)
	}
	d, _, _ := st.Load(context.Background())
	c := d.Collections["accounts"]
	if len(c.Records) != 1 || len(c.Tombstones) != 1 || c.Tombstones[0].ID != "a" {
		t.Fatalf("records %v tombstones %v", c.Records, c.Tombstones)
	}
	put(t, st, "a", "back")
	// The record is alive again (merge may keep the older tombstone beside
	// it, so an older replica cannot bring back fields the deletion removed).
	if n := names(t, st); len(n) != 2 || n["a"] != "back" {
		t.Fatalf("re-created: %v", n)
	}
}

func TestUndoKeepsNewestFiveAndRestoreIsUndoable(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, NewMemKV())
	for i := 0; i < 7; i++ {
		if _, err := st.UpdateWith(ctx, "import", func(d *backup.Document) error {
			_, err := PutRecord(d, "accounts", []byte(fmt.Sprintf(`{"id":"r%d","site_name":"v%d"}`, i, i)), st.Clock().Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	pts, err := st.UndoList(ctx)
	if err != nil || len(pts) != UndoKeep {
		t.Fatalf("undo list: %v %v", pts, err)
	}
	if pts[0].Records != 6 || pts[4].Records != 2 {
		t.Fatalf("undo points newest first: %+v", pts)
	}
	// Restore the state that had r0..r2 (3 records).
	var target UndoPoint
	for _, p := range pts {
		if p.Records == 3 {
			target = p
		}
	}
	if _, err := st.UndoRestore(ctx, target.ID); err != nil {
		t.Fatal(err)
	}
	n := names(t, st)
	if len(n) != 3 || n["r2"] != "v2" {
		t.Fatalf("after restore: %v", n)
	}
	d, _, _ := st.Load(ctx)
	if got := len(d.Collections["accounts"].Tombstones); got < 4 {
		t.Fatalf("restore left %d tombstones, want >= 4 (r3..r6 deleted as new edits)", got)
	}
	pts, _ = st.UndoList(ctx)
	if pts[0].Label != "restore" || pts[0].Records != 7 {
		t.Fatalf("restore not undoable: %+v", pts[0])
	}
	if _, err := st.UndoRestore(ctx, pts[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := names(t, st); len(n) != 7 {
		t.Fatalf("after undoing the restore: %v", n)
	}
	if _, err := st.UndoRestore(ctx, 999); !errors.Is(err, errkind.NotFound) {
		t.Fatalf("missing point: %v", err)
	}
}

func TestCloneIsDeep(t *testing.T) {
	st := openTest(t, NewMemKV())
	put(t, st, "a", "one")
	d, _, _ := st.Load(context.Background())
	c := Clone(d)
	c.Collections["accounts"].Records[0].Raw[2] = 'X'
	c.Preferences.Values = append(c.Preferences.Values[:0], 'z')
	if d.Collections["accounts"].Records[0].Raw[2] == 'X' || string(d.Preferences.Values) == "z" {
		t.Fatal("clone shares bytes")
	}
}
