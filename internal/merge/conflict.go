package merge

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/tidwall/gjson"
)

// Side names one side of a merge.
type Side int

// The sides.
const (
	Local Side = iota
	Remote
)

// String returns "local" or "remote".
func (s Side) String() string {
	if s == Remote {
		return "remote"
	}
	return "local"
}

// MarshalText makes a Side serialise as "local" / "remote".
func (s Side) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Conflict is one record both sides changed since the last sync in a way
// that could not both be kept: the same field edited on both, or an edit on
// one side and a deletion on the other. The merged document holds the
// winner; the versions here let the user keep local, keep remote, or keep
// both (KeepBoth).
type Conflict struct {
	Collection string
	ID         string
	// Fields are the fields edited on both sides, sorted, with who won each.
	// Empty for an edit-versus-deletion conflict.
	Fields []FieldConflict
	// Deleted is set (and DeletedBy valid) when one side deleted the record
	// and the other edited it: the deletion removed the fields written
	// before it, or the whole record.
	Deleted   bool
	DeletedBy Side
	// Local and Remote are each side's whole record before the merge; nil
	// for a side that had deleted it.
	Local, Remote []byte
	// Merged is the record in the merged document; nil if it is deleted.
	Merged []byte
	// At is the time of the newest of the conflicting writes (ms).
	At int64
}

// FieldConflict is one field both sides edited.
type FieldConflict struct {
	Field  string
	Winner Side
}

// Version returns the given side's version of the record (nil if that side
// had deleted it).
func (c Conflict) Version(s Side) []byte {
	if s == Remote {
		return c.Remote
	}
	return c.Local
}

// Loser returns the side whose version lost: for an edit/deletion
// conflict the edited side, else the side that won none of the conflicting
// fields. ok is false when each side won some fields (the merged record
// then mixes both; the user compares the two versions).
func (c Conflict) Loser() (s Side, ok bool) {
	if c.Deleted {
		return 1 - c.DeletedBy, true
	}
	var won [2]int
	for _, f := range c.Fields {
		won[f.Winner]++
	}
	switch {
	case won[Local] == 0:
		return Local, true
	case won[Remote] == 0:
		return Remote, true
	}
	return Local, false
}

// fieldConflict returns the conflict if both sides wrote the same field
// since base (the updated_at last synced) with different values.
func fieldConflict(coll, id string, ls, rs state, l, r *backup.Record, base int64) *Conflict {
	var fields []FieldConflict
	at := int64(0)
	i, j := 0, 0
	for i < len(ls.entries) && j < len(rs.entries) {
		a, b := ls.entries[i], rs.entries[j]
		switch {
		case a.key < b.key:
			i++
		case b.key < a.key:
			j++
		default:
			i++
			j++
			if a.t > base && b.t > base && !sameValue(a, b) {
				w := Local
				if newer(b, a) {
					w = Remote
				}
				fields = append(fields, FieldConflict{Field: a.key, Winner: w})
				at = max(at, a.t, b.t)
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &Conflict{Collection: coll, ID: id, Fields: fields, Local: l.Raw, Remote: r.Raw, At: at}
}

func sameValue(a, b entry) bool { return a.has == b.has && a.val == b.val }

// NewID returns a new random record id: 16 random bytes, hex.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// KeepBoth returns the given side's version of a conflicting record as a new
// record with a new id (NewID() when newID is ""), every field stamped at
// now, so it survives next to the winner instead of replacing it.
func KeepBoth(c Conflict, side Side, newID string, now int64) (backup.Record, error) {
	raw := c.Version(side)
	if raw == nil {
		return backup.Record{}, errkind.Internal(errkind.Invalid, "keep both",
			"the "+side.String()+" side deleted this record, so there is no version of it to keep", nil)
	}
	if newID == "" {
		newID = NewID()
	}
	// Rebuild with the new id and without the old times: the copy is a new
	// record, all of whose fields are written now.
	b := make([]byte, 0, len(raw)+len(newID))
	b = append(b, '{')
	b = append(b, `"id":`...)
	b = backup.AppendString(b, newID)
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case backup.FieldID, backup.FieldUpdatedAt, backup.FieldFieldTimes:
			return true
		}
		b = append(b, ',')
		b = append(b, k.Raw...)
		b = append(b, ':')
		b = append(b, v.Raw...)
		return true
	})
	b = append(b, '}')
	return Edit(nil, b, now)
}
