package merge

import (
	"bytes"
	"testing"

	"github.com/davsync/davsync/internal/backup"
)

// FuzzMerge feeds Merge any two documents Parse accepts: it must not panic,
// its result must be a document Parse accepts, and it must not depend on
// the order of its arguments.
func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"format":"davsync","version":1,"collections":{"accounts":{"records":[{"id":"a","notes":"x","updated_at":5,"_field_times":{"notes":5,"gone":3}}],"tombstones":[{"id":"b","deleted_at":4}]}}}`),
		[]byte(`{"format":"davsync","version":1,"collections":{"accounts":{"records":[{"id":"a","notes":"y","site_name":"s","updated_at":5},{"id":"b","updated_at":6,"z":1}],"tombstones":[{"id":"a","deleted_at":2}]}},"preferences":{"updated_at":1,"values":{"k":1}}}`))
	f.Add([]byte(`{"format":"davsync","version":1,"x":1,"collections":{"o":{"records":[{"id":"q","updated_at":1}]}}}`),
		[]byte(`{"format":"davsync","version":1,"x":2}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		da, err := backup.Parse(a)
		if err != nil {
			return
		}
		db, err := backup.Parse(b)
		if err != nil {
			return
		}
		ab, err := Merge(da, db, Terms{Base: NewBase(da), Now: 1_700_000_000_000})
		if err != nil {
			t.Fatal(err)
		}
		out := ab.Doc.Marshal()
		if _, err := backup.Parse(out); err != nil {
			t.Fatalf("merged document does not parse: %v\n%s", err, out)
		}
		ba, err := Merge(db, da, Terms{Now: 1_700_000_000_000})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, ba.Doc.Marshal()) {
			t.Fatalf("not commutative:\n%s\n%s", out, ba.Doc.Marshal())
		}
	})
}

// FuzzEdit: whatever Edit accepts, it returns a record Parse accepts (a
// record Parse refused would make the whole document unreadable on every
// device), and the edit's fields win a merge against the old version.
func FuzzEdit(f *testing.F) {
	f.Add([]byte(`{"id":"a","notes":"x","updated_at":5,"_field_times":{"notes":5,"gone":3}}`), []byte(`{"id":"a","notes":"y","n":[1]}`), int64(4))
	f.Add([]byte(`{"id":"a","updated_at":5}`), []byte(`{"id":1,"id":"a"}`), int64(9))
	f.Fuzz(func(t *testing.T, oldRaw, newRaw []byte, now int64) {
		old, err := backup.ParseRecord("fuzz", oldRaw)
		if err != nil {
			return
		}
		r, err := Edit(&old, newRaw, now)
		if err != nil {
			return
		}
		if _, err := backup.ParseRecord("fuzz", r.Raw); err != nil {
			t.Fatalf("Edit wrote a record Parse refuses: %v\n%s", err, r.Raw)
		}
		if r.UpdatedAt < old.UpdatedAt {
			t.Fatalf("updated_at went back: %d < %d", r.UpdatedAt, old.UpdatedAt)
		}
	})
}
