package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/tidwall/gjson"
)

// maxConflicts bounds the conflict log; the oldest entries go first.
const maxConflicts = 200

// ConflictInfo is one logged conflict: a record both sides changed since the
// last sync. The merged data already holds the winner; the user may keep
// local, keep remote, or keep both.
type ConflictInfo struct {
	ID         string `json:"id"`
	Collection string `json:"collection"`
	RecordID   string `json:"record_id"`
	Name       string `json:"name,omitempty"`
	// Fields edited on both sides, with the side that won each.
	Fields []FieldWinner `json:"fields,omitempty"`
	// Deleted: one side (DeletedBy) deleted the record, the other edited it.
	Deleted   bool   `json:"deleted,omitempty"`
	DeletedBy string `json:"deleted_by,omitempty"`
	// Loser is the side whose version lost ("" when each side won some fields).
	Loser string `json:"loser,omitempty"`
	// Local, Remote and Merged are the record's versions (null = deleted).
	Local  json.RawMessage `json:"local"`
	Remote json.RawMessage `json:"remote"`
	Merged json.RawMessage `json:"merged"`
	At     int64           `json:"at"`
}

// FieldWinner is one field edited on both sides.
type FieldWinner struct {
	Field  string `json:"field"`
	Winner string `json:"winner"`
}

func rawOrNull(b []byte) json.RawMessage {
	if b == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}

func infoOf(c merge.Conflict) ConflictInfo {
	h := sha256.New()
	for _, b := range [][]byte{[]byte(c.Collection), []byte(c.ID), c.Local, c.Remote} {
		h.Write(b)
		h.Write([]byte{0})
	}
	ci := ConflictInfo{
		ID: hex.EncodeToString(h.Sum(nil)[:10]), Collection: c.Collection, RecordID: c.ID,
		Deleted: c.Deleted, Local: rawOrNull(c.Local), Remote: rawOrNull(c.Remote), Merged: rawOrNull(c.Merged), At: c.At,
	}
	if c.Deleted {
		ci.DeletedBy = c.DeletedBy.String()
	}
	if s, ok := c.Loser(); ok {
		ci.Loser = s.String()
	}
	for _, f := range c.Fields {
		ci.Fields = append(ci.Fields, FieldWinner{Field: f.Field, Winner: f.Winner.String()})
	}
	for _, v := range [][]byte{c.Merged, c.Local, c.Remote} {
		if n := recordName(v); n != "" {
			ci.Name = n
			break
		}
	}
	return ci
}

func (e *Engine) loadConflicts(ctx context.Context) ([]ConflictInfo, error) {
	var cs []ConflictInfo
	if _, err := e.readJSON(ctx, keyConflicts, &cs); err != nil {
		return nil, err
	}
	return cs, nil
}

// conflictState returns the conflict log with mres's conflicts added (as a
// device-state item to write with the merged document, so the log and the
// data move together) and how many are new.
func (e *Engine) conflictState(ctx context.Context, mres *merge.Result) (map[string][]byte, int, error) {
	if len(mres.Conflicts) == 0 {
		return nil, 0, nil
	}
	cs, err := e.loadConflicts(ctx)
	if err != nil {
		return nil, 0, err
	}
	seen := make(map[string]bool, len(cs))
	for _, c := range cs {
		seen[c.ID] = true
	}
	added := 0
	for _, c := range mres.Conflicts {
		ci := infoOf(c)
		if seen[ci.ID] {
			continue
		}
		seen[ci.ID] = true
		cs = append(cs, ci)
		added++
	}
	if len(cs) > maxConflicts {
		cs = cs[len(cs)-maxConflicts:]
	}
	return map[string][]byte{keyConflicts: mustJSON(cs)}, added, nil
}

// ConflictState returns the conflict log with cs added, as the device-state
// item to write in the same Commit as the document that holds their winners
// (an import's merge, like a sync's), or nil when cs is empty.
func (e *Engine) ConflictState(ctx context.Context, cs []merge.Conflict) (map[string][]byte, error) {
	st, _, err := e.conflictState(ctx, &merge.Result{Conflicts: cs})
	return st, err
}

func (e *Engine) conflictCount(ctx context.Context) (int, error) {
	cs, err := e.loadConflicts(ctx)
	return len(cs), err
}

// Conflicts returns the logged conflicts, oldest first.
func (e *Engine) Conflicts(ctx context.Context) ([]ConflictInfo, error) {
	cs, err := e.loadConflicts(ctx)
	if cs == nil && err == nil {
		cs = []ConflictInfo{}
	}
	return cs, err
}

// ResolveConflict settles conflict id: "local" or "remote" makes the record
// that side's version (as a new edit, so it wins the next merge everywhere;
// a side that had deleted the record deletes it), "both" keeps the merged
// winner and adds the losing version as a new record with a new id. The
// change is local; the next cycle uploads it. Resolving is one store
// update that also removes the log entry, so it cannot half happen.
func (e *Engine) ResolveConflict(ctx context.Context, id, choice string) error {
	if choice != "local" && choice != "remote" && choice != "both" {
		return errkind.New(errkind.Invalid, "resolve conflict", "choose \"local\", \"remote\" or \"both\"")
	}
	if err := e.begin(); err != nil {
		return err
	}
	defer e.end()
	// The log is read under the store's lock, with the document: an
	// import (which does not take run) may add entries at any time.
	clock := e.store.Clock()
	_, err := e.store.Apply(ctx, func(doc *backup.Document) (local.Commit, error) {
		cs, err := e.loadConflicts(ctx)
		if err != nil {
			return local.Commit{}, err
		}
		idx := -1
		for i, c := range cs {
			if c.ID == id {
				idx = i
			}
		}
		if idx < 0 {
			return local.Commit{}, errkind.New(errkind.NotFound, "resolve conflict", "that conflict is no longer in the list; refresh it")
		}
		ci := cs[idx]
		rest := append(append([]ConflictInfo{}, cs[:idx]...), cs[idx+1:]...)
		col := doc.Collection(ci.Collection)
		switch choice {
		case "local", "remote":
			v := []byte(ci.Local)
			if choice == "remote" {
				v = ci.Remote
			}
			if string(v) == "null" {
				col.Delete(ci.RecordID, clock.Now())
				break
			}
			var old *backup.Record
			if r, ok := col.Get(ci.RecordID); ok {
				old = &r
				// A field conflict is about its fields: the record's other
				// fields keep what they hold now (edits made after the
				// conflict was logged, on any device, are not reverted).
				if !ci.Deleted && len(ci.Fields) > 0 {
					v = merge.Overlay(r.Raw, v, fieldNames(ci.Fields))
				} else if ci.Deleted {
					// A deletion conflict brings back what the deletion
					// removed; fields written after the conflict was
					// logged keep their newer value.
					v = merge.Overlay(r.Raw, v, notWrittenSince(r.Raw, v, ci.At))
				}
			}
			r, err := merge.Edit(old, v, clock.Now())
			if err != nil {
				return local.Commit{}, err
			}
			col.Put(r)
		case "both":
			side := merge.Local
			if ci.Loser == "remote" {
				side = merge.Remote
			}
			c := merge.Conflict{Collection: ci.Collection, ID: ci.RecordID, Local: nullable(ci.Local), Remote: nullable(ci.Remote)}
			r, err := merge.KeepBoth(c, side, "", clock.Now())
			if err != nil {
				return local.Commit{}, err
			}
			col.Put(r)
		}
		return local.Commit{Doc: doc, UndoLabel: "resolve", State: map[string][]byte{keyConflicts: mustJSON(rest)}}, nil
	})
	return err
}

func nullable(b json.RawMessage) []byte {
	if string(b) == "null" {
		return nil
	}
	return b
}

func fieldNames(fs []FieldWinner) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Field
	}
	return out
}

// notWrittenSince lists the fields of cur or from (the user's) whose time
// in cur is not after at.
func notWrittenSince(cur, from []byte, at int64) []string {
	times := gjson.GetBytes(cur, backup.FieldFieldTimes)
	seen := map[string]bool{}
	var out []string
	for _, raw := range [][]byte{cur, from} {
		gjson.ParseBytes(raw).ForEach(func(k, _ gjson.Result) bool {
			switch k.Str {
			case backup.FieldID, backup.FieldUpdatedAt, backup.FieldFieldTimes:
				return true
			}
			if !seen[k.Str] && times.Get(gjson.Escape(k.Str)).Int() <= at {
				out = append(out, k.Str)
			}
			seen[k.Str] = true
			return true
		})
	}
	return out
}
