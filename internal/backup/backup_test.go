package backup

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/jsonlimit"
)

const sample = `{"format":"davsync","version":1,"exported_at":1700000000000,"collections":{"accounts":{"records":[` +
	`{"id":"b","site_name":"B","updated_at":1700000000002,"zz_future":{"x":[1,2,{"y":"\u00e9"}]},"_field_times":{"site_name":1700000000002}},` +
	`{"id":"a","site_name":"A","tags":["x","y"],"disabled":false,"created_at":5,"updated_at":1700000000001,"weird":1.50e3}` +
	`],"tombstones":[{"id":"z","deleted_at":9},{"id":"c","deleted_at":7}]}},` +
	`"preferences":{"updated_at":3,"values":{"theme":"dark"}},"zz_top":[true]}`

func TestParseMarshalRoundTrip(t *testing.T) {
	d, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	acc := d.Collections["accounts"]
	if len(acc.Records) != 2 || acc.Records[0].ID != "a" || acc.Records[1].ID != "b" {
		t.Fatalf("records not sorted by id: %+v", acc.Records)
	}
	if acc.Tombstones[0].ID != "c" || acc.Tombstones[1].DeletedAt != 9 {
		t.Fatalf("tombstones: %+v", acc.Tombstones)
	}
	if acc.Records[1].UpdatedAt != 1700000000002 || d.ExportedAt != 1700000000000 || d.Preferences.UpdatedAt != 3 {
		t.Fatalf("timestamps wrong: %+v", d)
	}
	out := d.Marshal()
	// Unknown fields, number spellings and escapes survive byte for byte.
	for _, want := range []string{
		`{"id":"b","site_name":"B","updated_at":1700000000002,"zz_future":{"x":[1,2,{"y":"\u00e9"}]},"_field_times":{"site_name":1700000000002}}`,
		`"weird":1.50e3`, `"zz_top":[true]`, `"values":{"theme":"dark"}`,
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("Marshal lost %s:\n%s", want, out)
		}
	}
	d2, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if out2 := d2.Marshal(); !bytes.Equal(out, out2) {
		t.Fatalf("Marshal(Parse(Marshal(d))) differs:\n%s\n%s", out, out2)
	}
}

func TestPrettyInputIsCompacted(t *testing.T) {
	pretty := `{
  "format": "davsync", "version": 1,
  "collections": { "accounts": { "records": [ { "id": "a b", "updated_at": 1, "notes": "keep  two spaces" } ] } }
}`
	d, err := Parse([]byte(pretty))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(d.Collections["accounts"].Records[0].Raw); got != `{"id":"a b","updated_at":1,"notes":"keep  two spaces"}` {
		t.Fatalf("Raw = %s", got)
	}
}

// A hostile file nesting millions of levels must be refused, not crash the
// worker (gjson's validator recurses per level).
func TestDeepNestingRefused(t *testing.T) {
	for _, in := range [][]byte{bytes.Repeat([]byte("["), 4<<20), []byte(`{"format":"davsync","version":1,"x":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`)} {
		if _, err := Parse(in); !errors.Is(err, ErrTooDeep) {
			t.Fatalf("err = %v, want ErrTooDeep", err)
		}
	}
	ok := `{"format":"davsync","version":1,"x":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `,"y":"[[[[["}`
	if _, err := Parse([]byte(ok)); err != nil {
		t.Fatal(err)
	}
}

func TestByteOrderMark(t *testing.T) {
	if _, err := Parse(append([]byte("\xef\xbb\xbf"), sample...)); err != nil {
		t.Fatal(err)
	}
}

func TestNewAndEmpty(t *testing.T) {
	d := New()
	if d.Collections["accounts"] == nil {
		t.Fatal("New lacks the accounts collection")
	}
	want := `{"format":"davsync","version":1,"exported_at":0,"collections":{"accounts":{"records":[],"tombstones":[]}},"preferences":{"updated_at":0,"values":{}}}`
	if got := string(d.Marshal()); got != want {
		t.Fatalf("Marshal(New()) = %s", got)
	}
	// A minimal document: everything optional missing.
	d, err := Parse([]byte(`{"format":"davsync","version":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Marshal()) != want {
		t.Fatalf("minimal document = %s", d.Marshal())
	}
}

func TestMigrationTable(t *testing.T) {
	if len(migrations) != Version-1 {
		t.Fatalf("%d migrations for version %d: every older version needs one", len(migrations), Version)
	}
}

func TestValidation(t *testing.T) {
	doc := func(records string) string {
		return `{"format":"davsync","version":1,"collections":{"accounts":{"records":[` + records + `]}}}`
	}
	rec := func(extra string) string { return doc(`{"id":"a","updated_at":1` + extra + `}`) }
	for _, tc := range []struct {
		name, in string
		want     error
		kind     errkind.Kind
		where    string
	}{
		{"empty", ``, ErrNotJSON, errkind.BadDocument, "not valid JSON"},
		{"truncated", sample[:100], ErrNotJSON, errkind.BadDocument, "not valid JSON"},
		{"html", `<html>login</html>`, ErrNotJSON, errkind.BadDocument, ""},
		{"array", `[]`, ErrNotDavsync, errkind.BadDocument, "not a davsync backup"},
		{"no format", `{"version":1}`, ErrNotDavsync, errkind.BadDocument, ""},
		{"other format", `{"format":"x","version":1}`, ErrNotDavsync, errkind.BadDocument, ""},
		{"all api hub", `{"version":"4.0","timestamp":1,"accounts":{"accounts":[]}}`, ErrNotDavsync, errkind.BadDocument, "All API Hub"},
		{"no version", `{"format":"davsync"}`, ErrBadVersion, errkind.BadDocument, `"version"`},
		{"string version", `{"format":"davsync","version":"1"}`, ErrBadVersion, errkind.BadDocument, ""},
		{"version 0", `{"format":"davsync","version":0}`, ErrBadVersion, errkind.BadDocument, ""},
		{"version 1.5", `{"format":"davsync","version":1.5}`, ErrBadVersion, errkind.BadDocument, ""},
		{"newer", `{"format":"davsync","version":2}`, ErrNewerVersion, errkind.NewerVersion, "version 2"},
		{"dup top key", `{"format":"davsync","version":1,"version":1}`, ErrDuplicateKey, errkind.BadDocument, "top level"},
		{"collections array", `{"format":"davsync","version":1,"collections":[]}`, ErrWrongType, errkind.BadDocument, `"collections"`},
		{"collection string", `{"format":"davsync","version":1,"collections":{"accounts":"x"}}`, ErrWrongType, errkind.BadDocument, "collection accounts"},
		{"records object", `{"format":"davsync","version":1,"collections":{"accounts":{"records":{}}}}`, ErrWrongType, errkind.BadDocument, `"records"`},
		{"record not object", doc(`{"id":"a","updated_at":1},7`), ErrWrongType, errkind.BadDocument, "accounts record #2"},
		{"missing id", doc(`{"id":"a","updated_at":1},{"id":"b","updated_at":1},{"updated_at":1}`), ErrMissingID, errkind.BadDocument, "accounts record #3"},
		{"empty id", doc(`{"id":"","updated_at":1}`), ErrMissingID, errkind.BadDocument, "accounts record #1"},
		{"null id", doc(`{"id":null,"updated_at":1}`), ErrMissingID, errkind.BadDocument, "#1"},
		{"numeric id", doc(`{"id":7,"updated_at":1}`), ErrWrongType, errkind.BadDocument, `"id" must be a string`},
		{"duplicate id", doc(`{"id":"a","updated_at":1},{"id":"b","updated_at":1},{"id":"a","updated_at":2}`), ErrDuplicateID, errkind.BadDocument, "accounts records #1 and #3"},
		{"duplicate id sorted", doc(`{"id":"a","updated_at":1},{"id":"a","updated_at":2}`), ErrDuplicateID, errkind.BadDocument, "#1 and #2"},
		{"duplicate field", rec(`,"notes":"x","notes":"y"`), ErrDuplicateKey, errkind.BadDocument, `"notes" appears twice`},
		{"no updated_at", doc(`{"id":"a"}`), ErrBadTimestamp, errkind.BadDocument, `has no "updated_at"`},
		{"string updated_at", doc(`{"id":"a","updated_at":"1"}`), ErrBadTimestamp, errkind.BadDocument, "not a string"},
		{"negative", doc(`{"id":"a","updated_at":-1}`), ErrBadTimestamp, errkind.BadDocument, "negative"},
		{"fraction", doc(`{"id":"a","updated_at":1.5}`), ErrBadTimestamp, errkind.BadDocument, "whole number"},
		{"exponent", doc(`{"id":"a","updated_at":1e3}`), ErrBadTimestamp, errkind.BadDocument, "whole number"},
		{"year 3000", doc(`{"id":"a","updated_at":32503680000001}`), ErrBadTimestamp, errkind.BadDocument, "year 3000"},
		{"huge", doc(`{"id":"a","updated_at":123456789012345678901234}`), ErrBadTimestamp, errkind.BadDocument, "year 3000"},
		{"field time not object", rec(`,"_field_times":[]`), ErrWrongType, errkind.BadDocument, `"_field_times"`},
		{"field time bad", rec(`,"_field_times":{"notes":-4}`), ErrBadTimestamp, errkind.BadDocument, `"_field_times" of "notes"`},
		{"field time after updated_at", rec(`,"_field_times":{"notes":2}`), ErrBadTimestamp, errkind.BadDocument, `newer than "updated_at"`},
		{"exported_at", `{"format":"davsync","version":1,"exported_at":-5}`, ErrBadTimestamp, errkind.BadDocument, `"exported_at"`},
		{"tombstone no id", `{"format":"davsync","version":1,"collections":{"accounts":{"tombstones":[{"deleted_at":1}]}}}`, ErrMissingID, errkind.BadDocument, "accounts tombstone #1"},
		{"tombstone no time", `{"format":"davsync","version":1,"collections":{"accounts":{"tombstones":[{"id":"a"}]}}}`, ErrBadTimestamp, errkind.BadDocument, `"deleted_at" is missing`},
		{"tombstone dup", `{"format":"davsync","version":1,"collections":{"accounts":{"tombstones":[{"id":"a","deleted_at":1},{"id":"a","deleted_at":2}]}}}`, ErrDuplicateID, errkind.BadDocument, "tombstones #1 and #2"},
		{"tombstones object", `{"format":"davsync","version":1,"collections":{"accounts":{"tombstones":{}}}}`, ErrWrongType, errkind.BadDocument, `"tombstones"`},
		{"prefs array", `{"format":"davsync","version":1,"preferences":[]}`, ErrWrongType, errkind.BadDocument, "preferences"},
		{"prefs values", `{"format":"davsync","version":1,"preferences":{"values":1}}`, ErrWrongType, errkind.BadDocument, `"values"`},
		{"prefs time", `{"format":"davsync","version":1,"preferences":{"updated_at":1.1}}`, ErrBadTimestamp, errkind.BadDocument, "preferences"},
		{"prefs dup", `{"format":"davsync","version":1,"preferences":{"values":{"a":1,"a":2}}}`, ErrDuplicateKey, errkind.BadDocument, "preferences"},
		{"account site_name", rec(`,"site_name":1`), ErrWrongType, errkind.BadDocument, `"site_name" must be a string, not a number`},
		{"account tags", rec(`,"tags":"x"`), ErrWrongType, errkind.BadDocument, `"tags"`},
		{"account tag", rec(`,"tags":["x",2]`), ErrWrongType, errkind.BadDocument, `"tags"`},
		{"account disabled", rec(`,"disabled":"no"`), ErrWrongType, errkind.BadDocument, `"disabled"`},
		{"account created_at", rec(`,"created_at":-1`), ErrBadTimestamp, errkind.BadDocument, `"created_at"`},
		{"too deep", strings.Repeat("[", jsonlimit.MaxDepth+1), ErrTooDeep, errkind.BadDocument, "levels deep"},
		// Invalid UTF-8 is not JSON (RFC 8259); the page would see U+FFFD
		// instead and could never name such an id again to edit or delete it.
		{"invalid utf-8 id", doc("{\"id\":\"a\xff\",\"updated_at\":1}"), ErrNotJSON, errkind.BadDocument, "UTF-8"},
		{"invalid utf-8 value", rec(",\"notes\":\"\xc3\""), ErrNotJSON, errkind.BadDocument, "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.in))
			if d != nil {
				t.Error("a document was returned with an error")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !errors.Is(err, tc.kind) || errkind.Of(err) != tc.kind {
				t.Fatalf("kind = %q, want %q", errkind.Of(err), tc.kind)
			}
			if !strings.Contains(err.Error(), tc.where) {
				t.Fatalf("message %q does not name %q", err.Error(), tc.where)
			}
			if !strings.Contains(errkind.Message(err), "davsync") && !strings.Contains(errkind.Message(err), "file") {
				t.Fatalf("message %q tells the user nothing to do", errkind.Message(err))
			}
		})
	}
}

func TestAccountNullsAndUnknownOK(t *testing.T) {
	in := `{"format":"davsync","version":1,"collections":{"accounts":{"records":[` +
		`{"id":"a","updated_at":1,"site_name":null,"tags":[],"disabled":true,"created_at":0,"x":{"y":[]}}]}}}`
	if _, err := Parse([]byte(in)); err != nil {
		t.Fatal(err)
	}
}

func TestUndeclaredCollectionKept(t *testing.T) {
	in := `{"format":"davsync","version":1,"collections":{"bookmarks":{"records":[{"id":"x","updated_at":1,"site_name":5}]}}}`
	d, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err) // site_name is only checked for accounts
	}
	if d.Collections["accounts"] == nil || len(d.Collections["bookmarks"].Records) != 1 {
		t.Fatalf("collections: %v", d.Names())
	}
	if !bytes.Contains(d.Marshal(), []byte(`"bookmarks":{"records":[{"id":"x","updated_at":1,"site_name":5}]`)) {
		t.Fatalf("bookmarks lost: %s", d.Marshal())
	}
}

func TestCollectionMethods(t *testing.T) {
	c := &Collection{}
	for _, id := range []string{"m", "a", "z"} {
		c.Put(Record{ID: id, UpdatedAt: 1, Raw: []byte(`{"id":"` + id + `","updated_at":1}`)})
	}
	if c.Records[0].ID != "a" || c.Records[2].ID != "z" {
		t.Fatalf("Put does not keep order: %+v", c.Records)
	}
	c.Put(Record{ID: "m", UpdatedAt: 2, Raw: []byte(`{"id":"m","updated_at":2}`)})
	if r, ok := c.Get("m"); !ok || r.UpdatedAt != 2 || len(c.Records) != 3 {
		t.Fatalf("Put did not replace: %+v", c.Records)
	}
	c.Delete("m", 10)
	c.Delete("m", 5) // an older deletion keeps the newer time
	if _, ok := c.Get("m"); ok {
		t.Fatal("Delete left the record")
	}
	if ts, ok := c.Tombstone("m"); !ok || ts.DeletedAt != 10 {
		t.Fatalf("tombstone = %+v", ts)
	}
}

func TestMarshalRepairsBrokenInvariants(t *testing.T) {
	d := New()
	c := d.Collections["accounts"]
	c.Records = append(c.Records,
		Record{ID: "b", UpdatedAt: 1, Raw: []byte(`{"id":"b","updated_at":1}`)},
		Record{ID: "a", UpdatedAt: 1, Raw: []byte(`{"id":"a","updated_at":1}`)},
		Record{ID: "b", UpdatedAt: 2, Raw: []byte(`{"id":"b","updated_at":2}`)},
	)
	c.Tombstones = append(c.Tombstones, Tombstone{"y", 2}, Tombstone{"x", 1}, Tombstone{"y", 3})
	out := d.Marshal()
	d2, err := Parse(out)
	if err != nil {
		t.Fatalf("Marshal wrote a document Parse refuses: %v\n%s", err, out)
	}
	if r, _ := d2.Collections["accounts"].Get("b"); r.UpdatedAt != 2 {
		t.Fatalf("kept the older duplicate: %s", out)
	}
	if ts, _ := d2.Collections["accounts"].Tombstone("y"); ts.DeletedAt != 3 {
		t.Fatalf("kept the older tombstone: %s", out)
	}
}

func TestAppendString(t *testing.T) {
	in := "a\"b\\c\n\x01é<>&\u2028"
	got := string(AppendString(nil, in))
	want := `"a\"b\\c\n\u0001é<>&` + "\u2028" + `"`
	if got != want {
		t.Fatalf("AppendString = %s, want %s", got, want)
	}
}

func TestParseRecord(t *testing.T) {
	r, err := ParseRecord("accounts", []byte(`{ "id": "a", "updated_at": 3 }`))
	if err != nil || r.ID != "a" || r.UpdatedAt != 3 || string(r.Raw) != `{"id":"a","updated_at":3}` {
		t.Fatalf("ParseRecord = %+v, %v", r, err)
	}
	if _, err := ParseRecord("accounts", []byte(`{"id":"a","updated_at":3,"tags":1}`)); !errors.Is(err, ErrWrongType) {
		t.Fatalf("err = %v", err)
	}
	if _, err := ParseRecord("accounts", []byte("{\"id\":\"a\xff\",\"updated_at\":3}")); !errors.Is(err, ErrNotJSON) {
		t.Fatalf("invalid UTF-8: err = %v", err)
	}
}

func TestDoesNotAliasInput(t *testing.T) {
	buf := []byte(sample)
	d, err := Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	before := d.Marshal()
	for i := range buf {
		buf[i] = ' '
	}
	if !bytes.Equal(before, d.Marshal()) {
		t.Fatal("the document changed when the caller reused its buffer")
	}
}
