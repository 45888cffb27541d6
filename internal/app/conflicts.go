package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
	"github.com/tidwall/gjson"
)

// maxConflicts bounds the conflict log; the oldest entries go first.
const maxConflicts = 200

// ConflictInfo is one logged conflict: a record both sides changed since the
// last sync (or an import). The merged data already holds the winner; the
// user may keep local, keep remote, or keep both.
type ConflictInfo struct {
	ID         string `json:"id"`
	Collection string `json:"collection"`
	RecordID   string `json:"recordId"`
	Name       string `json:"name,omitempty"`
	// RemoteID is the server whose file the other side came from ("" for
	// an import).
	RemoteID string `json:"remoteId,omitempty"`
	// Fields edited on both sides, with the side that won each.
	Fields []FieldWinner `json:"fields,omitempty"`
	// Deleted: one side (DeletedBy) deleted the record, the other edited it.
	Deleted   bool   `json:"deleted,omitempty"`
	DeletedBy string `json:"deletedBy,omitempty"`
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

func infoOf(c merge.Conflict, remote string) ConflictInfo {
	h := sha256.New()
	for _, b := range [][]byte{[]byte(c.Collection), []byte(c.ID), c.Local, c.Remote} {
		h.Write(b)
		h.Write([]byte{0})
	}
	ci := ConflictInfo{
		ID: hex.EncodeToString(h.Sum(nil)[:10]), Collection: c.Collection, RecordID: c.ID, RemoteID: remote,
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
		if n := cycle.RecordName(v); n != "" {
			ci.Name = n
			break
		}
	}
	return ci
}

func (a *App) loadConflicts(ctx context.Context) ([]ConflictInfo, error) {
	var cs []ConflictInfo
	if _, err := a.readState(ctx, keyConflicts, &cs); err != nil {
		return nil, err
	}
	return cs, nil
}

// conflictState returns the conflict log with cs added (as a device-state
// item to write with the merged document, so the log and the data move
// together) and how many are new. remote names where they came from.
func (a *App) conflictState(ctx context.Context, cs []merge.Conflict, remote string) (map[string][]byte, int, error) {
	if len(cs) == 0 {
		return nil, 0, nil
	}
	log, err := a.loadConflicts(ctx)
	if err != nil {
		return nil, 0, err
	}
	seen := make(map[string]bool, len(log))
	for _, c := range log {
		seen[c.ID] = true
	}
	added := 0
	for _, c := range cs {
		ci := infoOf(c, remote)
		if seen[ci.ID] {
			continue
		}
		seen[ci.ID] = true
		log = append(log, ci)
		added++
	}
	if len(log) > maxConflicts {
		log = log[len(log)-maxConflicts:]
	}
	return map[string][]byte{keyConflicts: mustJSON(log)}, added, nil
}

// conflictLog is the log as one remote's cycles add to it (cycle.ConflictLog).
type conflictLog struct {
	a      *App
	remote string
}

// Add returns the log with cs added, to commit with the merge.
func (l conflictLog) Add(ctx context.Context, cs []merge.Conflict) (map[string][]byte, int, error) {
	return l.a.conflictState(ctx, cs, l.remote)
}

func (a *App) conflictCount(ctx context.Context) (int, error) {
	cs, err := a.loadConflicts(ctx)
	return len(cs), err
}

// Conflicts returns the logged conflicts, oldest first.
func (a *App) Conflicts(ctx context.Context) ([]ConflictInfo, error) {
	cs, err := a.loadConflicts(ctx)
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
func (a *App) ResolveConflict(ctx context.Context, id, choice string) error {
	if choice != "local" && choice != "remote" && choice != "both" {
		return errkind.Internal(errkind.Invalid, "resolve conflict", "choose \"local\", \"remote\" or \"both\"", nil)
	}
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	err = a.locked(ctx, true, func() error {
		// The log is read under the store's lock, with the document: an
		// import (which does not take run) may add entries at any time.
		clock := st.Clock()
		_, err := st.Apply(ctx, func(doc *backup.Document) (local.Commit, error) {
			return a.resolve(ctx, doc, clock, id, choice)
		})
		return err
	})
	if err == nil {
		a.emitStatus(ctx)
	}
	return err
}

// resolve applies choice for conflict id to doc and returns the commit
// that also removes the entry from the log.
func (a *App) resolve(ctx context.Context, doc *backup.Document, clock *hlc.Clock, id, choice string) (local.Commit, error) {
	{
		cs, err := a.loadConflicts(ctx)
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
			return local.Commit{}, errkind.Say(errkind.NotFound, "resolve conflict", msg.New("errConflictGone"))
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
	}
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
