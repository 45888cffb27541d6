package local

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
)

// UndoKeep is how many previous local states are kept.
const UndoKeep = 5

const (
	// keyUndo is the index of undo points; the documents live in a ring of
	// UndoKeep slots (keyUndoSlot + id%UndoKeep), so adding a point never
	// needs a separate delete that a crash could leave half done.
	keyUndo     = "davsync.local.undo"
	keyUndoSlot = "davsync.local.undo."
	// undoMaxBytes bounds how much a stored undo document may inflate to.
	undoMaxBytes = 256 << 20
)

// UndoPoint describes one kept previous local state.
type UndoPoint struct {
	ID      int64  `json:"id"`
	Label   string `json:"label"`            // what replaced it: "sync", "import", "restore", ...
	Source  string `json:"source,omitempty"` // the remote a sync or download came from
	At      int64  `json:"at"`               // ms, wall clock, when it was replaced
	Rev     int64  `json:"rev"`              // the revision it had
	Records int    `json:"records"`          // records over all collections
	Size    int    `json:"size"`             // bytes of the document (uncompressed)
}

type undoIndex struct {
	Next   int64       `json:"next"`
	Points []UndoPoint `json:"points"` // newest first
}

func (s *Store) readUndoIndex(ctx context.Context) (undoIndex, error) {
	var idx undoIndex
	m, err := s.kv.Get(ctx, keyUndo)
	if err != nil {
		return idx, storageErr("read the undo list", err)
	}
	if b, ok := m[keyUndo]; ok {
		if err := json.Unmarshal(b, &idx); err != nil {
			// A damaged index loses only undo points, never data: start over.
			return undoIndex{}, nil
		}
	}
	return idx, nil
}

// addUndoLocked adds the currently cached document (revision rev) as an undo
// point to items, which the caller writes in the same KV.Set as the change,
// and returns the chunks each kept point names after it (see chunkList.Kept).
//
// A document stored in chunks is kept by naming its chunks, which the write
// then does not delete: nothing is copied, where a copy of 10,000 accounts
// was a 600 kB gzip value written with every sync that changed anything.
// Only the document of an earlier build, stored in one value, is still
// kept as a gzip copy in the point's slot.
func (s *Store) addUndoLocked(ctx context.Context, items map[string][]byte, label, source string, rev int64) (map[int64][][2]int64, error) {
	idx, err := s.readUndoIndex(ctx)
	if err != nil {
		return nil, err
	}
	id := idx.Next + 1
	idx.Next = id
	n := 0
	for _, c := range s.cacheDoc.Collections {
		if c != nil {
			n += len(c.Records)
		}
	}
	p := UndoPoint{ID: id, Label: label, Source: source, At: time.Now().UnixMilli(), Rev: rev, Records: n, Size: len(s.cacheBytes)}
	idx.Points = append([]UndoPoint{p}, idx.Points...)
	if len(idx.Points) > UndoKeep {
		idx.Points = idx.Points[:UndoKeep]
	}
	kept := make(map[int64][][2]int64, UndoKeep)
	for _, p := range idx.Points {
		if refs, ok := s.kept[p.ID]; ok {
			kept[p.ID] = refs
		}
	}
	slot := keyUndoSlot + itoa(id%UndoKeep)
	if s.chunks != nil {
		kept[id] = refsOf(s.chunks)
		// The slot's gzip copy belonged to the point this one replaces.
		items[slot] = []byte{}
	} else {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(s.cacheBytes)
		_ = zw.Close()
		items[slot] = buf.Bytes()
	}
	b, _ := json.Marshal(idx)
	items[keyUndo] = b
	return kept, nil
}

// UndoList returns the kept previous states, newest first.
func (s *Store) UndoList(ctx context.Context) ([]UndoPoint, error) {
	idx, err := s.readUndoIndex(ctx)
	if err != nil {
		return nil, err
	}
	if idx.Points == nil {
		return []UndoPoint{}, nil
	}
	return idx.Points, nil
}

// UndoDoc returns the document kept by undo point id.
func (s *Store) UndoDoc(ctx context.Context, id int64) (*backup.Document, error) {
	// The index and the slot are two reads: a labelled write between them
	// could reuse the slot (id%UndoKeep) for a newer point.
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.undoDocLocked(ctx, id)
}

func (s *Store) undoDocLocked(ctx context.Context, id int64) (*backup.Document, error) {
	idx, err := s.readUndoIndex(ctx)
	if err != nil {
		return nil, err
	}
	found := false
	for _, p := range idx.Points {
		found = found || p.ID == id
	}
	if !found {
		return nil, errkind.Say(errkind.NotFound, "undo", msg.New("errUndoGone"))
	}
	if refs, ok := s.kept[id]; ok {
		body, _, err := s.readChunks(ctx, refs)
		if err == nil {
			var doc *backup.Document
			if doc, err = backup.Parse(body); err == nil {
				return doc, nil
			}
		}
		return nil, errkind.SayWrap(errkind.Storage, "undo", msg.New("errUndoDamaged"), err)
	}
	key := keyUndoSlot + itoa(id%UndoKeep)
	m, err := s.kv.Get(ctx, key)
	if err != nil {
		return nil, storageErr("read the undo point", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(m[key]))
	if err != nil {
		return nil, errkind.SayWrap(errkind.Storage, "undo", msg.New("errUndoDamaged"), err)
	}
	body, err := io.ReadAll(io.LimitReader(zr, undoMaxBytes))
	if err != nil {
		return nil, errkind.SayWrap(errkind.Storage, "undo", msg.New("errUndoDamaged"), err)
	}
	doc, err := backup.Parse(body)
	if err != nil {
		return nil, errkind.SayWrap(errkind.Storage, "undo", msg.New("errUndoDamaged"), err)
	}
	return doc, nil
}

// UndoRestore makes the local state equal to undo point id again. The
// restore is itself an Update with an undo point ("restore"), so it can be
// undone too.
//
// Every difference is stamped as a new edit (changed records and preferences
// get the current clock, records that came after the point are deleted with a
// fresh tombstone, records deleted since are re-created): merge is
// last-writer-wins, so a restore written with old timestamps would simply be
// overwritten by the remote on the next sync. As new edits it wins, and it
// syncs to the other devices like any edit.
func (s *Store) UndoRestore(ctx context.Context, id int64) (int64, error) {
	return s.Apply(ctx, func(doc *backup.Document) (Commit, error) {
		old, err := s.undoDocLocked(ctx, id)
		if err != nil {
			return Commit{}, err
		}
		return Commit{Doc: doc, UndoLabel: "restore"}, RestoreAsEdits(doc, old, s.clock.Now)
	})
}

// RestoreAsEdits turns cur into target (same records, same preferences) by
// stamping each difference as a new edit with now(): see UndoRestore for why.
func RestoreAsEdits(cur, target *backup.Document, now func() int64) error {
	names := map[string]bool{}
	for n := range cur.Collections {
		names[n] = true
	}
	for n := range target.Collections {
		names[n] = true
	}
	for name := range names {
		c := cur.Collection(name)
		t := target.Collection(name)
		want := make(map[string]bool, len(t.Records))
		for _, w := range t.Records {
			want[w.ID] = true
			h, ok := c.Get(w.ID)
			if ok && bytes.Equal(h.Raw, w.Raw) {
				continue
			}
			var old *backup.Record
			if ok {
				old = &h
			}
			r, err := merge.Edit(old, w.Raw, now())
			if err != nil {
				return errkind.SayWrap(errkind.BadDocument, "restore", msg.New("errUndoRecord"), err)
			}
			c.Put(r)
		}
		var gone []string
		for _, r := range c.Records {
			if !want[r.ID] {
				gone = append(gone, r.ID)
			}
		}
		for _, id := range gone {
			c.Delete(id, now())
		}
	}
	if !bytes.Equal(cur.Preferences.Values, target.Preferences.Values) {
		cur.Preferences.Values = append([]byte(nil), target.Preferences.Values...)
		cur.Preferences.UpdatedAt = now()
	}
	return nil
}
