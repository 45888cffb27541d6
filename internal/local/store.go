package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/msg"
)

// The KV keys the Store owns. They are part of the persisted format: never
// rename one, only add.
const (
	// keyDoc held the whole document before it was stored in chunks
	// (chunks.go): a one-line JSON header {"rev":..,"hlc":..} followed by
	// the compact document. It is read when no chunk list exists; the
	// first write in chunks replaces it with movedDoc.
	keyDoc = "davsync.local.doc"
	// keyMeta is the small {"rev":..,"hlc":..} record read on every call, so
	// that checking "did anything change" never parses the document.
	keyMeta = "davsync.local.meta"
	// keyClock holds the clock's Last (decimal), written with every write
	// including state-only ones, so times the clock only observed (a
	// server's Date, a merge that changed nothing) survive a worker restart.
	keyClock = "davsync.local.clock"
	// StatePrefix prefixes the device-state items (sync markers, status)
	// written through State and Commit.State.
	StatePrefix = "davsync.state."
)

type meta struct {
	Rev int64 `json:"rev"`
	HLC int64 `json:"hlc"`
}

// Store is the device's data: one backup document with a revision that grows
// by one on every change, kept in a KV. It is safe for concurrent use; all
// writes are serialised by one mutex and each is a single KV.Set call, so a
// worker killed mid-write leaves either the old or the new state.
//
// The Store assumes it is the only writer of its keys (one service worker per
// profile); a second Store on the same KV would be detected by the revision
// check only within the same process.
type Store struct {
	*core
	// hold, in a view made by Holding, keeps device-state writes for Flush.
	hold *hold
}

// core is the state a Store and its Holding views share.
type core struct {
	kv    KV
	clock *hlc.Clock

	mu sync.Mutex
	// cache of the stored state; valid when cacheRev == the stored revision.
	cacheRev   int64
	cacheBytes []byte // Marshal() of the stored document
	cacheDoc   *backup.Document
	// The stored chunks of cacheBytes, the next chunk number and the
	// chunks waiting to be deleted, the chunks of the undo points kept by
	// naming them (chunks.go); marked: keyDoc holds movedDoc.
	chunks []chunk
	next   int64
	free   []int64
	kept   map[int64][][2]int64
	marked bool
}

// Open returns the Store kept in kv. A KV that holds nothing yields an empty
// document at revision 0. The clock is advanced past the highest timestamp
// the store has ever issued, so edits after a worker restart still sort after
// the edits before it.
func Open(ctx context.Context, kv KV, clock *hlc.Clock) (*Store, error) {
	s := &Store{core: &core{kv: kv, clock: clock}}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, err := s.loadLocked(ctx); err != nil {
		return nil, err
	}
	if m, err := kv.Get(ctx, keyClock); err == nil {
		if n, err := strconv.ParseInt(string(m[keyClock]), 10, 64); err == nil {
			clock.Restore(n)
		}
	}
	return s, nil
}

// Clock returns the hybrid logical clock that stamps this device's edits.
func (s *Store) Clock() *hlc.Clock { return s.clock }

// KV returns the KV the store keeps its data in.
func (s *Store) KV() KV { return s.kv }

// Load returns a private copy of the document and its revision.
func (s *Store) Load(ctx context.Context) (*backup.Document, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, rev, err := s.loadLocked(ctx)
	if err != nil {
		return nil, 0, err
	}
	return Clone(doc), rev, nil
}

// LoadBytes returns the document's compact bytes (backup.Marshal) and its
// revision without handing out a parsed copy. The bytes must not be modified.
func (s *Store) LoadBytes(ctx context.Context) ([]byte, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, err := s.loadLocked(ctx); err != nil {
		return nil, 0, err
	}
	return s.cacheBytes, s.cacheRev, nil
}

// Rev returns the current revision. It reads only the small meta item, so it
// is cheap enough for every sync cycle.
func (s *Store) Rev(ctx context.Context) (int64, error) {
	m, err := s.kv.Get(ctx, keyMeta)
	if err != nil {
		return 0, storageErr("read the local revision", err)
	}
	var mt meta
	if b, ok := m[keyMeta]; ok {
		if err := json.Unmarshal(b, &mt); err != nil {
			return 0, errkind.SayWrap(errkind.Storage, "read local state", msg.New("errLocalRevDamaged"), err)
		}
	}
	return mt.Rev, nil
}

// loadLocked returns the stored document (shared, not a copy) and revision,
// re-reading the KV only when the stored revision moved.
func (s *Store) loadLocked(ctx context.Context) (*backup.Document, int64, error) {
	m, err := s.kv.Get(ctx, keyMeta)
	if err != nil {
		return nil, 0, storageErr("read the local state", err)
	}
	var mt meta
	if b, ok := m[keyMeta]; ok {
		if err := json.Unmarshal(b, &mt); err != nil {
			return nil, 0, errkind.SayWrap(errkind.Storage, "read local state", msg.New("errLocalRevDamaged"), err)
		}
	}
	if s.cacheBytes != nil && mt.Rev == s.cacheRev {
		if s.cacheDoc == nil {
			doc, err := backup.Parse(s.cacheBytes)
			if err != nil {
				s.cacheBytes = nil
				return nil, 0, errkind.SayWrap(errkind.Storage, "read local state", msg.New("errLocalDocDamaged"), err)
			}
			s.cacheDoc = doc
		}
		return s.cacheDoc, s.cacheRev, nil
	}
	m, err = s.kv.Get(ctx, keyChunks, keyDoc)
	if err != nil {
		return nil, 0, storageErr("read the local document", err)
	}
	raw, legacy := m[keyDoc]
	s.marked = legacy && bytes.Equal(raw, movedDoc)
	legacy = legacy && !s.marked
	if list, ok := m[keyChunks]; ok {
		return s.loadChunks(ctx, list)
	}
	if !legacy {
		doc := backup.New()
		s.setCache(mt.Rev, doc.Marshal(), doc)
		s.chunks, s.next, s.free, s.kept = nil, 0, nil, nil
		s.clock.Restore(mt.HLC)
		return doc, mt.Rev, nil
	}
	// Written by a build before chunks (one value: a header line, then the
	// document); the next write stores it in chunks and puts movedDoc here.
	nl := bytes.IndexByte(raw, '\n')
	if nl < 0 {
		return nil, 0, errkind.Say(errkind.Storage, "read local state", msg.New("errLocalDocDamaged"))
	}
	var hdr meta
	if err := json.Unmarshal(raw[:nl], &hdr); err != nil {
		return nil, 0, errkind.SayWrap(errkind.Storage, "read local state", msg.New("errLocalDocDamaged"), err)
	}
	body := raw[nl+1:]
	doc, err := backup.Parse(body)
	if err != nil {
		return nil, 0, errkind.SayWrap(errkind.Storage, "read local state", msg.New("errLocalDocDamaged"), err)
	}
	// The document's own header is authoritative: it was written in the same
	// value as the document, so it cannot disagree with it.
	s.setCache(hdr.Rev, body, doc)
	s.chunks, s.next, s.free, s.kept = nil, 0, nil, nil
	s.clock.Restore(max(hdr.HLC, mt.HLC))
	return doc, hdr.Rev, nil
}

// loadChunks reads the document the stored chunk list names (list).
func (s *Store) loadChunks(ctx context.Context, list []byte) (*backup.Document, int64, error) {
	var l chunkList
	err := json.Unmarshal(list, &l)
	var body []byte
	var chunks []chunk
	if err == nil {
		body, chunks, err = s.readChunks(ctx, l.Chunks)
	}
	var doc *backup.Document
	if err == nil {
		doc, err = backup.Parse(body)
	}
	if err != nil {
		if errkind.Of(err) == errkind.Storage {
			return nil, 0, err
		}
		return nil, 0, errkind.SayWrap(errkind.Storage, "read local state", msg.New("errLocalDocDamaged"), err)
	}
	kept := make(map[int64][][2]int64, len(l.Kept))
	for k, refs := range l.Kept {
		if id, err := strconv.ParseInt(k, 10, 64); err == nil {
			kept[id] = refs
		}
	}
	s.setCache(l.Rev, body, doc)
	s.chunks, s.next, s.free, s.kept = chunks, l.Next, l.Free, kept
	s.clock.Restore(l.HLC)
	return doc, l.Rev, nil
}

// readChunks reads and joins the chunks refs names, checking each one's
// length.
func (s *Store) readChunks(ctx context.Context, refs [][2]int64) ([]byte, []chunk, error) {
	keys := make([]string, len(refs))
	size := int64(0)
	for i, c := range refs {
		keys[i] = chunkKey(c[0])
		size += c[1]
	}
	m, err := s.kv.Get(ctx, keys...)
	if err != nil {
		return nil, nil, storageErr("read the local document", err)
	}
	body := make([]byte, 0, size)
	chunks := make([]chunk, len(refs))
	for i, c := range refs {
		b, ok := m[keys[i]]
		if !ok || int64(len(b)) != c[1] {
			return nil, nil, fmt.Errorf("chunk %d: %d bytes stored, %d listed (present %v)", c[0], len(b), c[1], ok)
		}
		chunks[i] = chunk{id: c[0], off: len(body), len: len(b), sum: maphash.Bytes(chunkSeed, b)}
		body = append(body, b...)
	}
	return body, chunks, nil
}

func (s *Store) setCache(rev int64, b []byte, doc *backup.Document) {
	s.cacheRev, s.cacheBytes, s.cacheDoc = rev, b, doc
}

// Update runs fn on a private copy of the document and stores the result as
// the next revision. Updates are serialised. When fn returns an error nothing
// is stored. When fn leaves the document byte-for-byte unchanged, nothing is
// stored and the current revision is returned, so a no-op edit does not make
// the next sync cycle upload.
//
// Why no edit is lost: fn always runs on the newest stored state while the
// mutex is held, and the result is written with one atomic KV.Set together
// with its revision; a concurrent sync cycle applies its merge only through
// CompareAndSwap, which fails if this update landed first.
func (s *Store) Update(ctx context.Context, fn func(doc *backup.Document) error) (int64, error) {
	return s.UpdateWith(ctx, "", fn)
}

// UpdateWith is Update that, when undoLabel is not empty and the document
// changes, keeps the previous state as an undo point named undoLabel (an
// import, a restore).
func (s *Store) UpdateWith(ctx context.Context, undoLabel string, fn func(doc *backup.Document) error) (int64, error) {
	return s.Apply(ctx, func(doc *backup.Document) (Commit, error) {
		return Commit{Doc: doc, UndoLabel: undoLabel}, fn(doc)
	})
}

// Apply runs fn on a copy of the newest state while no other write can
// land, and writes the Commit it returns (nothing if fn fails). It is for
// a change that must not lose a race it cannot win by retrying: an import
// whose optimistic CommitIf rounds kept finding new edits. The edits that
// came first are in doc, so none is lost; writers wait while fn runs.
func (s *Store) Apply(ctx context.Context, fn func(doc *backup.Document) (Commit, error)) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, rev, err := s.loadLocked(ctx)
	if err != nil {
		return 0, err
	}
	c, err := fn(Clone(cur))
	if err != nil {
		return 0, err
	}
	_, newRev, err := s.commitLocked(ctx, rev, c)
	return newRev, err
}

// Commit is what CommitIf writes in one atomic step.
type Commit struct {
	// Doc is the new document; nil keeps the current one (only State moves).
	Doc *backup.Document
	// UndoLabel, when set and the document changes, keeps the previous
	// document as an undo point with this label ("sync", "import", ...);
	// UndoSource names where the change came from (a remote's id).
	UndoLabel, UndoSource string
	// State holds device-state items (keys without StatePrefix) written in
	// the same KV.Set as the document, for markers that must move with it.
	State map[string][]byte
}

// CompareAndSwap stores doc as the next revision if the current revision is
// still rev. It is how a sync cycle applies a merge computed from an older
// read: when it fails (ok=false) the user edited meanwhile, and the cycle
// re-merges against the new state instead of overwriting the edit.
func (s *Store) CompareAndSwap(ctx context.Context, rev int64, doc *backup.Document) (ok bool, newRev int64, err error) {
	return s.CommitIf(ctx, rev, Commit{Doc: doc})
}

// CommitIf is CompareAndSwap with an undo point and device-state items
// written in the same atomic KV.Set.
func (s *Store) CommitIf(ctx context.Context, rev int64, c Commit) (ok bool, newRev int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, cur, err := s.loadLocked(ctx)
	if err != nil {
		return false, 0, err
	}
	if cur != rev {
		return false, cur, nil
	}
	return s.commitLocked(ctx, rev, c)
}

// commitLocked writes c on top of revision rev (already verified current).
func (s *Store) commitLocked(ctx context.Context, rev int64, c Commit) (bool, int64, error) {
	items := make(map[string][]byte, len(c.State)+5)
	// A view's held state items were written before this commit, so they
	// go in its Set (atomic with it) and are no longer held after it.
	held := s.hold.take()
	for k, v := range held {
		items[k] = v
	}
	for k, v := range c.State {
		items[StatePrefix+k] = v
	}
	items[keyClock] = []byte(itoa(s.clock.Last()))
	newRev := rev
	var body []byte
	if c.Doc != nil {
		body = c.Doc.Marshal()
		if !bytes.Equal(body, s.cacheBytes) {
			newRev = rev + 1
		}
	}
	if newRev == rev {
		if len(items) == 1 { // only the clock
			return true, rev, nil
		}
		if err := s.kv.Set(ctx, items); err != nil {
			s.hold.restore(held)
			return false, rev, storageErr("save the sync state", err)
		}
		return true, rev, nil
	}
	kept := s.kept
	if c.UndoLabel != "" {
		k, err := s.addUndoLocked(ctx, items, c.UndoLabel, c.UndoSource, rev)
		if err != nil {
			s.hold.restore(held)
			return false, rev, err
		}
		kept = k
	}
	hdr, _ := json.Marshal(meta{Rev: newRev, HLC: s.clock.Last()})
	next := s.next
	chunks, fresh := split(body, s.cacheBytes, s.chunks, &next)
	for _, i := range fresh {
		c := chunks[i]
		items[chunkKey(c.id)] = body[c.off : c.off+c.len]
	}
	free := append(append([]int64(nil), s.free...), unused(s.chunks, s.kept, chunks, kept)...)
	items[keyChunks] = listOf(newRev, s.clock.Last(), next, chunks, kept, free)
	items[keyMeta] = hdr
	if !s.marked {
		items[keyDoc] = movedDoc
	}
	// One Set: the new chunks, their list, the revision, the clock, the
	// undo point and the sync markers land together or not at all.
	if err := s.kv.Set(ctx, items); err != nil {
		s.hold.restore(held)
		return false, rev, storageErr("save the local document", err)
	}
	s.setCache(newRev, body, parsedAs(c.Doc))
	s.chunks, s.next, s.free, s.kept, s.marked = chunks, next, free, kept, true
	s.deleteFree(ctx)
	return true, newRev, nil
}

// deleteFree deletes the chunks no list names any more, after the write
// that stopped using them. A failure only leaves them stored: they stay
// listed in Free, and the next write deletes them again.
func (s *Store) deleteFree(ctx context.Context) {
	if len(s.free) == 0 {
		return
	}
	keys := make([]string, len(s.free))
	for i, id := range s.free {
		keys[i] = chunkKey(id)
	}
	if s.kv.Delete(ctx, keys...) == nil {
		s.free = nil
	}
}

// parsedAs returns a private copy of doc when it is what Parse(doc.Marshal())
// would return, else nil (the next Load parses the stored bytes).
//
// Why: parsing the stored bytes again after every write was the largest
// cost of the sync cycle after an edit (at 10,000 accounts, natively, 48
// ms of its 80; wasm is several times slower); a copy costs a tenth of
// that. Marshal writes each
// record's bytes as they are, so the copy reads back the same as long as
// the invariants that Marshal would otherwise repair hold
// (backup.Document.Tidy) and every declared collection is present.
// Records' bytes and times come from Parse, merge or merge.Edit, which
// keep them consistent; a document that breaks the invariants is left to
// be parsed, so it is exactly what a reload would read.
func parsedAs(doc *backup.Document) *backup.Document {
	for _, s := range backup.Collections {
		if c := doc.Collections[s.Name]; c == nil {
			return nil // Parse would add it
		}
	}
	if !doc.Tidy() {
		return nil
	}
	return doc.Clone()
}

// State reads device-state items (keys without StatePrefix). Missing keys are
// absent from the result. A Holding view sees the items it holds.
func (s *Store) State(ctx context.Context, keys ...string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	full := make([]string, 0, len(keys))
	for _, k := range keys {
		if v, ok := s.hold.get(StatePrefix + k); ok {
			out[k] = append([]byte(nil), v...)
			continue
		}
		full = append(full, StatePrefix+k)
	}
	if len(full) == 0 {
		return out, nil
	}
	m, err := s.kv.Get(ctx, full...)
	if err != nil {
		return nil, storageErr("read the sync state", err)
	}
	for k, v := range m {
		out[k[len(StatePrefix):]] = v
	}
	return out, nil
}

// SetState writes device-state items (keys without StatePrefix) in one
// atomic KV.Set, without touching the document. A Holding view keeps them
// for its Flush (or its next commit) instead.
func (s *Store) SetState(ctx context.Context, items map[string][]byte) error {
	full := make(map[string][]byte, len(items))
	for k, v := range items {
		full[StatePrefix+k] = v
	}
	if s.hold != nil {
		s.hold.put(full)
		return nil
	}
	full[keyClock] = []byte(itoa(s.clock.Last()))
	if err := s.kv.Set(ctx, full); err != nil {
		return storageErr("save the sync state", err)
	}
	return nil
}

// DeleteState removes device-state items (a remote the user removed). A
// Holding view drops them from what it holds too.
func (s *Store) DeleteState(ctx context.Context, keys ...string) error {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = StatePrefix + k
	}
	s.hold.drop(full)
	if err := s.kv.Delete(ctx, full...); err != nil {
		return storageErr("remove the sync state", err)
	}
	return nil
}

// Holding returns a view of s whose device-state writes (SetState) are
// kept in memory until Flush writes them all in one KV.Set, or until a
// commit through the view (CommitIf, Update, Apply, UndoRestore) carries
// them in its own Set. Everything else is s itself: the same document,
// revision, clock and lock. The app runs one operation over a view, so a
// sync cycle's markers and the status that records its outcome reach the
// browser's storage in one write instead of two or three.
//
// Why holding cannot lose data: the device state is bookkeeping (sync
// markers, the merge base, the status), never the data. Every write of
// the data (the document) still goes to the KV at once, in one Set with
// whatever the view held before it, so the held items are never older on
// disk than a document written after them. A worker stopped before Flush
// leaves the state items as they were before the operation: the markers
// then say less was synced than was, which is exactly the state of a
// worker stopped just before the cycle wrote them (one cycle of the
// existing design): the next cycle sees the local revision or the remote
// ETag differ from the markers, reads and merges, finds both sides equal
// and writes the markers again. Nothing held is ever needed to rebuild
// data, only to skip work.
func (s *Store) Holding() *Store {
	return &Store{core: s.core, hold: &hold{items: map[string][]byte{}}}
}

// Unheld returns the plain Store a view was made from (s itself when s
// is plain): its writes go to the KV at once.
func (s *Store) Unheld() *Store {
	if s.hold == nil {
		return s
	}
	return &Store{core: s.core}
}

// Flush writes what a Holding view holds (with the clock) in one KV.Set.
// On a plain Store, or with nothing held, it does nothing. After a failure
// the items are no longer held: the caller reports the error, and the
// state stays as it was before them (see Holding).
func (s *Store) Flush(ctx context.Context) error {
	items := s.hold.take()
	if len(items) == 0 {
		return nil
	}
	items[keyClock] = []byte(itoa(s.clock.Last()))
	if err := s.kv.Set(ctx, items); err != nil {
		return storageErr("save the sync state", err)
	}
	return nil
}

// hold is what a Holding view keeps: full KV keys to values. Its methods
// accept a nil *hold (a plain Store) and then hold nothing.
type hold struct {
	mu    sync.Mutex
	items map[string][]byte
}

func (h *hold) get(key string) ([]byte, bool) {
	if h == nil {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.items[key]
	return v, ok
}

func (h *hold) put(items map[string][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, v := range items {
		h.items[k] = append([]byte(nil), v...)
	}
}

func (h *hold) drop(keys []string) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range keys {
		delete(h.items, k)
	}
}

// take returns the held items and holds nothing any more.
func (h *hold) take() map[string][]byte {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.items
	h.items = map[string][]byte{}
	return out
}

// restore holds items again after the commit that took them failed, under
// whatever was put since.
func (h *hold) restore(items map[string][]byte) {
	if h == nil || len(items) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, v := range items {
		if _, newer := h.items[k]; !newer {
			h.items[k] = v
		}
	}
}

func storageErr(what string, err error) error {
	if errkind.Of(err) != errkind.Unknown {
		return err
	}
	e := errkind.SayWrap(errkind.Storage, what, msg.New("errLocalStorageFailed"), err)
	e.Msg = "the browser's local storage failed (" + err.Error() + "); free some disk space or reload the extension, then try again"
	return e
}

// Clone returns a deep copy of doc: mutating the copy, including the bytes of
// its records, never changes doc.
func Clone(doc *backup.Document) *backup.Document { return doc.Clone() }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
