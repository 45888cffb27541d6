package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/hlc"
)

// fill puts n accounts with some bulk (about 500 bytes each, as real
// accounts are) in one write.
func fill(t *testing.T, st *Store, n int) {
	t.Helper()
	if _, err := st.Update(context.Background(), func(d *backup.Document) error {
		for i := 0; i < n; i++ {
			raw := fmt.Sprintf(`{"id":"acc%05d","site_name":"site %d — ünïcode ✓","notes":%q}`, i, i, strings.Repeat("n", 400+i%50))
			if _, err := PutRecord(d, "accounts", []byte(raw), st.Clock().Now()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func setNotes(t *testing.T, st *Store, id, notes string, label string) {
	t.Helper()
	if _, err := st.UpdateWith(context.Background(), label, func(d *backup.Document) error {
		_, err := PutRecord(d, "accounts", []byte(fmt.Sprintf(`{"id":%q,"site_name":"edited","notes":%q}`, id, notes)), st.Clock().Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// sizeKV records the bytes each Set writes.
type sizeKV struct {
	KV
	last int
}

func (s *sizeKV) Set(ctx context.Context, items map[string][]byte) error {
	s.last = 0
	for _, v := range items {
		s.last += len(v)
	}
	return s.KV.Set(ctx, items)
}

// bytesOf is what a reload of kv reads: the stored document's bytes.
func bytesOf(t *testing.T, kv KV) []byte {
	t.Helper()
	st, err := Open(context.Background(), kv, hlc.New(fixedWall()))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := st.LoadBytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), b...)
}

// chunkKeys lists the chunk values stored in kv.
func chunkKeys(kv *MemKV) []string {
	var out []string
	for _, k := range kv.Keys() {
		if strings.HasPrefix(k, keyChunk) {
			out = append(out, k)
		}
	}
	return out
}

// unnamedChunks fails the test for every stored chunk that neither the
// document nor a kept undo point names, and returns how many undo points
// keep chunks.
func unnamedChunks(t *testing.T, mem *MemKV, when string) int {
	t.Helper()
	var l chunkList
	m, _ := mem.Get(context.Background(), keyChunks)
	if err := json.Unmarshal(m[keyChunks], &l); err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, c := range l.Chunks {
		named[chunkKey(c[0])] = true
	}
	for _, refs := range l.Kept {
		for _, c := range refs {
			named[chunkKey(c[0])] = true
		}
	}
	for _, k := range chunkKeys(mem) {
		if !named[k] {
			t.Errorf("%s: chunk %s is stored but nothing names it", when, k)
		}
	}
	return len(l.Kept)
}

// An edit of one account among 10,000 writes about one chunk, not the
// document: the point of storing it in chunks.
func TestOneEditWritesAChunkNotTheDocument(t *testing.T) {
	kv := &sizeKV{KV: NewMemKV()}
	st := openTest(t, kv)
	fill(t, st, 10000)
	whole := kv.last
	setNotes(t, st, "acc04242", "one edit", "")
	edit := kv.last
	setNotes(t, st, "acc00001", "another edit", "sync") // with an undo point
	withUndo := kv.last
	t.Logf("10,000 accounts: first write %d bytes; one edit %d bytes; one edit with an undo point %d bytes", whole, edit, withUndo)
	if whole < 4<<20 {
		t.Fatalf("the document is only %d bytes; the test means a large one", whole)
	}
	if edit > chunkMax+16<<10 || withUndo > chunkMax+32<<10 {
		t.Fatalf("an edit wrote %d bytes (%d with an undo point), more than a chunk", edit, withUndo)
	}
	if got, want := bytesOf(t, kv.KV), mustBytes(t, st); !bytes.Equal(got, want) {
		t.Fatal("a reload reads another document than the store holds")
	}
}

func mustBytes(t *testing.T, st *Store) []byte {
	t.Helper()
	b, _, err := st.LoadBytes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Chunks are cut only between characters, and joined they are the document.
func TestCutsKeepCharactersWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20; n++ {
		var b []byte
		for len(b) < 600<<10 {
			switch r.IntN(4) {
			case 0:
				b = append(b, "ü✓𝄞"...)
			default:
				b = append(b, byte('a'+r.IntN(26)))
			}
		}
		prev := 0
		for _, end := range cuts(b) {
			c := b[prev:end]
			if !utf8.Valid(c) {
				t.Fatalf("chunk %d..%d is not valid UTF-8", prev, end)
			}
			if len(c) > chunkMax+3 || (end < len(b) && len(c) < chunkMin) {
				t.Fatalf("chunk of %d bytes", len(c))
			}
			prev = end
		}
		if prev != len(b) {
			t.Fatalf("cuts end at %d of %d", prev, len(b))
		}
	}
}

// Random edits, deletions and undo restores, each followed by a reload:
// the reload reads exactly what the store holds, the undo points restore
// what they kept, and no chunk is left that nothing names.
func TestChunksRandomHistory(t *testing.T) {
	ctx := context.Background()
	mem := NewMemKV().(*MemKV)
	st := openTest(t, mem)
	fill(t, st, 800)
	r := rand.New(rand.NewPCG(7, 9))
	states := map[int64][]byte{} // undo point id -> the document it kept
	var newest int64
	for step := 0; step < 120; step++ {
		before := append([]byte(nil), mustBytes(t, st)...)
		switch op := r.IntN(10); {
		case op < 6:
			label := ""
			if r.IntN(2) == 0 {
				label = "sync"
			}
			setNotes(t, st, fmt.Sprintf("acc%05d", r.IntN(900)), strings.Repeat("x", r.IntN(3000)), label)
		case op < 8:
			if _, err := st.UpdateWith(ctx, "import", func(d *backup.Document) error {
				return DeleteRecord(d, "accounts", fmt.Sprintf("acc%05d", r.IntN(900)), st.Clock().Now())
			}); err != nil {
				t.Fatal(err)
			}
		default:
			pts, _ := st.UndoList(ctx)
			if len(pts) == 0 {
				continue
			}
			p := pts[r.IntN(len(pts))]
			got, err := st.UndoDoc(ctx, p.ID)
			if err != nil {
				t.Fatalf("step %d: undo point %d: %v", step, p.ID, err)
			}
			wantDoc, _ := backup.Parse(states[p.ID])
			if !bytes.Equal(got.Marshal(), wantDoc.Marshal()) {
				t.Fatalf("step %d: undo point %d holds another document than it kept", step, p.ID)
			}
			if _, err := st.UndoRestore(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
		}
		// A write that made a point kept the state before it.
		if pts, _ := st.UndoList(ctx); len(pts) > 0 && pts[0].ID > newest {
			newest = pts[0].ID
			states[newest] = before
		}
		if step%10 == 0 {
			// A new worker: the reload must read the same document.
			if !bytes.Equal(bytesOf(t, mem), mustBytes(t, st)) {
				t.Fatalf("step %d: a reload reads another document", step)
			}
			st = openTest(t, mem)
		}
	}
	if kept := unnamedChunks(t, mem, "after the history"); kept > UndoKeep {
		t.Errorf("%d undo points keep chunks; at most %d are kept", kept, UndoKeep)
	}
}

// crashKV stops at the n-th write call (Set or Delete), which does not
// happen: the worker was killed just before it.
type crashKV struct {
	KV
	n int
}

var errCrashed = errors.New("worker killed")

func (c *crashKV) tick() error {
	if c.n--; c.n < 0 {
		return errCrashed
	}
	return nil
}

func (c *crashKV) Set(ctx context.Context, items map[string][]byte) error {
	if err := c.tick(); err != nil {
		return err
	}
	return c.KV.Set(ctx, items)
}

func (c *crashKV) Delete(ctx context.Context, keys ...string) error {
	if err := c.tick(); err != nil {
		return err
	}
	return c.KV.Delete(ctx, keys...)
}

// A worker killed before any of a write's calls leaves a store that reads
// either the state before the write or the state after it, never a mix,
// and the next writes clean up the chunks it left unnamed.
func TestChunksSurviveAKillBeforeAnyCall(t *testing.T) {
	ctx := context.Background()
	for n := 0; n < 12; n++ {
		mem := NewMemKV().(*MemKV)
		st := openTest(t, mem)
		fill(t, st, 300)
		ckv := &crashKV{KV: mem, n: n}
		st = openTest(t, ckv)
		var states [][]byte
		states = append(states, append([]byte(nil), mustBytes(t, st)...))
		for i := 0; i < 6; i++ {
			_, err := st.UpdateWith(ctx, "sync", func(d *backup.Document) error {
				_, err := PutRecord(d, "accounts", []byte(fmt.Sprintf(`{"id":"acc%05d","notes":"kill %d %d"}`, 37*i, n, i)), st.Clock().Now())
				return err
			})
			if errors.Is(err, errCrashed) || (err != nil && strings.Contains(err.Error(), "worker killed")) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			states = append(states, append([]byte(nil), mustBytes(t, st)...))
		}
		got := bytesOf(t, mem)
		// After the kill: the last state that was confirmed, or (a Set that
		// landed before its Delete was killed) that one anyway.
		if !bytes.Equal(got, states[len(states)-1]) {
			t.Fatalf("kill at call %d: the reload reads neither state", n)
		}
		// The next worker writes twice; then every stored chunk is named.
		st = openTest(t, mem)
		setNotes(t, st, "acc00001", "after the kill", "")
		setNotes(t, st, "acc00002", "after the kill", "")
		unnamedChunks(t, mem, fmt.Sprintf("kill at call %d", n))
	}
}

// legacyKV holds a store as a build before chunks wrote it: the document
// in one value, a gzip undo point.
func legacyKV(t *testing.T) (*MemKV, []byte, int64) {
	t.Helper()
	ctx := context.Background()
	mem := NewMemKV().(*MemKV)
	st := openTest(t, mem)
	fill(t, st, 50)
	doc, rev, err := st.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body := doc.Marshal()
	hdr, _ := json.Marshal(meta{Rev: rev, HLC: st.Clock().Last()})
	var kept []byte
	// Exactly the old layout: keyDoc = header line + document, keyMeta, an
	// undo point as a gzip slot, and no chunks.
	for _, k := range mem.Keys() {
		if strings.HasPrefix(k, "davsync.local.") {
			_ = mem.Delete(ctx, k)
		}
	}
	old := append(append(append([]byte(nil), hdr...), '\n'), body...)
	items := map[string][]byte{keyDoc: old, keyMeta: hdr}
	legacy := &Store{core: &core{kv: mem, clock: hlc.New(fixedWall())}}
	legacy.setCache(rev, body, doc)
	if _, err := legacy.addUndoLocked(ctx, items, "import", "", rev-1); err != nil {
		t.Fatal(err)
	}
	if err := mem.Set(ctx, items); err != nil {
		t.Fatal(err)
	}
	kept = body
	idx, _ := legacy.readUndoIndex(ctx)
	return mem, kept, idx.Points[0].ID
}

// A store an earlier build wrote is read, moved into chunks by its next
// write, and its gzip undo point still restores; an earlier build reading
// the store afterwards finds a damaged document, not an empty one.
func TestLegacyDocumentMovesIntoChunks(t *testing.T) {
	ctx := context.Background()
	mem, body, undoID := legacyKV(t)
	st := openTest(t, mem)
	if got := mustBytes(t, st); !bytes.Equal(got, body) {
		t.Fatal("the legacy document does not read back")
	}
	setNotes(t, st, "acc00003", "first write in chunks", "sync")
	if len(chunkKeys(mem)) == 0 {
		t.Fatal("the first write stored no chunks")
	}
	m, _ := mem.Get(ctx, keyDoc)
	if !bytes.Equal(m[keyDoc], movedDoc) {
		t.Fatalf("keyDoc after the move: %.80q", m[keyDoc])
	}
	// What the earlier build does with keyDoc now: header line, then Parse.
	if _, err := backup.Parse(movedDoc[bytes.IndexByte(movedDoc, '\n')+1:]); err == nil {
		t.Fatal("an earlier build would read the moved marker as a document")
	}
	st = openTest(t, mem)
	old, err := st.UndoDoc(ctx, undoID)
	if err != nil {
		t.Fatalf("the gzip undo point of the earlier build: %v", err)
	}
	if !bytes.Equal(old.Marshal(), body) {
		t.Fatal("the gzip undo point holds another document")
	}
	pts, _ := st.UndoList(ctx)
	if len(pts) != 2 {
		t.Fatalf("%d undo points, want 2", len(pts))
	}
	if _, err := st.UndoRestore(ctx, pts[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := names(t, st); n["acc00003"] == "edited" {
		t.Fatal("the restore of the chunk-kept point did not undo the edit")
	}
}

// Whatever the bytes before and after a change, the chunks join to the new
// bytes, a reused number names the same bytes it named before, and a new
// number is one no chunk had.
func FuzzSplit(f *testing.F) {
	long := strings.Repeat(`{"id":"acc","notes":"ü✓ some text"},`, 3000)
	f.Add([]byte(long), []byte(long[:50000]+"x"+long[50000:]))
	f.Add([]byte(""), []byte(long))
	f.Add([]byte(long), []byte(""))
	f.Add(bytes.Repeat([]byte{0xe2, 0x9c, 0x93}, 200000), bytes.Repeat([]byte{0xe2, 0x9c, 0x93}, 200001))
	f.Fuzz(func(t *testing.T, before, after []byte) {
		// Short fuzz inputs stay under chunkMin: repeat them past it.
		for len(before) > 0 && len(before) < 2*chunkMin {
			before = append(before, before...)
		}
		for len(after) > 0 && len(after) < 2*chunkMin {
			after = append(after, after...)
		}
		var next int64
		old, _ := split(before, nil, nil, &next)
		oldNext := next
		chunks, fresh := split(after, before, old, &next)
		isFresh := map[int]bool{}
		for _, i := range fresh {
			isFresh[i] = true
		}
		byID := map[int64]chunk{}
		for _, c := range old {
			byID[c.id] = c
		}
		var joined []byte
		seen := map[int64]bool{}
		for i, c := range chunks {
			b := after[c.off : c.off+c.len]
			joined = append(joined, b...)
			if seen[c.id] {
				t.Fatalf("chunk number %d used twice", c.id)
			}
			seen[c.id] = true
			if isFresh[i] {
				if c.id <= oldNext {
					t.Fatalf("new chunk %d reuses a number up to %d", c.id, oldNext)
				}
				continue
			}
			o, ok := byID[c.id]
			if !ok || !bytes.Equal(before[o.off:o.off+o.len], b) {
				t.Fatalf("chunk %d kept its number but not its bytes", c.id)
			}
		}
		if !bytes.Equal(joined, after) {
			t.Fatal("the chunks do not join to the document")
		}
	})
}
