package backup

import (
	"bytes"
	"errors"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

// FuzzParse checks that Parse never panics, that every failure is a
// classified document error, and that whatever it accepts round-trips:
// Marshal's output parses again to the same bytes.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"format":"davsync","version":1}`))
	f.Add([]byte(`{"format":"davsync","version":1,"collections":{"accounts":{"records":[{"id":"a\u0000\"","updated_at":0,"_field_times":{"x":0}}],"tombstones":[{"id":"a","deleted_at":0}]},"x y":{}}}`))
	f.Add([]byte(`{"format":"davsync","version":2}`))
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			if d != nil {
				t.Fatal("document returned with an error")
			}
			switch errkind.Of(err) {
			case errkind.BadDocument, errkind.NewerVersion, errkind.TooLarge:
			default:
				t.Fatalf("unclassified error %v", err)
			}
			if !errors.Is(err, ErrNotJSON) && errkind.Message(err) == "" {
				t.Fatal("empty message")
			}
			return
		}
		for _, c := range d.Collections {
			for _, r := range c.Records {
				if !bytes.Equal(r.Raw, Compact(nil, r.Raw)) {
					t.Fatalf("record not compact: %s", r.Raw)
				}
			}
		}
		out := d.Marshal()
		d2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(d)) failed: %v\n%s", err, out)
		}
		if out2 := d2.Marshal(); !bytes.Equal(out, out2) {
			t.Fatalf("round trip differs:\n%s\n%s", out, out2)
		}
	})
}
