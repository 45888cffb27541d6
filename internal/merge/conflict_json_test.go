package merge

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/backup"
)

// The extension page renders conflicts: each version must be the record's
// JSON inline, not base64.
func TestConflictJSONInline(t *testing.T) {
	c := Conflict{
		Collection: "accounts", ID: "a",
		Fields: []FieldConflict{{Field: "notes", Winner: Remote}},
		Local:  []byte(`{"id":"a","notes":"mine","updated_at":5}`),
		Remote: []byte(`{"id":"a","notes":"theirs","updated_at":6}`),
		Merged: []byte(`{"id":"a","notes":"theirs","updated_at":6}`),
		At:     6,
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"collection":"accounts","id":"a","fields":[{"field":"notes","winner":"remote"}],"deleted":false,` +
		`"local":{"id":"a","notes":"mine","updated_at":5},"remote":{"id":"a","notes":"theirs","updated_at":6},` +
		`"merged":{"id":"a","notes":"theirs","updated_at":6},"at":6}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	var back Conflict
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: %+v", back)
	}

	d := Conflict{Collection: "accounts", ID: "b", Deleted: true, DeletedBy: Local, Remote: []byte(`{"id":"b","updated_at":9}`), At: 9}
	b, err = json.Marshal([]Conflict{d})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"deleted_by":"local"`, `"local":null`, `"merged":null`, `"remote":{"id":"b","updated_at":9}`, `"fields":[]`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("%s lacks %s", b, s)
		}
	}
	var backs []Conflict
	if err := json.Unmarshal(b, &backs); err != nil || !reflect.DeepEqual(backs[0], d) {
		t.Fatalf("round trip: %+v %v", backs, err)
	}
	if err := json.Unmarshal([]byte(`{"deleted_by":"both"}`), &back); err == nil {
		t.Fatal("an unknown side was accepted")
	}
}

// A nil collection (set directly instead of through Collection) is an
// empty one: every strategy used to panic on it in count.
func TestNilCollectionIsEmpty(t *testing.T) {
	for _, s := range []Strategy{StrategyMerge, UploadOnly, DownloadOnly} {
		l, r := backup.New(), backup.New()
		r.Collection("accounts").Put(backup.Record{ID: "a", UpdatedAt: 1, Raw: []byte(`{"id":"a","updated_at":1}`)})
		l.Collections["accounts"] = nil
		r.Collections["extra"] = nil
		res, err := Merge(l, r, Terms{Strategy: s})
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Doc.Marshal()
	}
}
