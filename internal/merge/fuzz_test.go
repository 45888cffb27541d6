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
		ab, err := Merge(da, db, Options{Base: NewBase(da), Now: 1_700_000_000_000})
		if err != nil {
			t.Fatal(err)
		}
		out := ab.Doc.Marshal()
		if _, err := backup.Parse(out); err != nil {
			t.Fatalf("merged document does not parse: %v\n%s", err, out)
		}
		ba, err := Merge(db, da, Options{Now: 1_700_000_000_000})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, ba.Doc.Marshal()) {
			t.Fatalf("not commutative:\n%s\n%s", out, ba.Doc.Marshal())
		}
	})
}
