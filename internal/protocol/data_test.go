package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Merge import: the preview counts conflicts and the package doc promises
// the user can bring a record back "from the conflict list"; after the
// import is applied the conflict list must hold them.
func TestImportConflictsReachConflictList(t *testing.T) {
	e, _ := newTest(t)
	call(t, e, "accounts.put", `{"account":{"id":"a1","site_name":"A","site_url":"https://a.example/","username":"u"}}`)
	exp := call(t, e, "data.export", `{"scope":"all"}`).Get("json").String()
	call(t, e, "accounts.delete", `{"id":"a1"}`)

	params, _ := json.Marshal(map[string]any{"json": exp, "mode": "merge", "dryRun": true})
	out, err := e.Handle(context.Background(), "data.import", params)
	if err != nil {
		t.Fatal(err)
	}
	n := gjson.GetBytes(out, "preview.conflicts").Int()
	if n == 0 {
		t.Fatalf("preview reports no conflict: %s", out)
	}
	params, _ = json.Marshal(map[string]any{"json": exp, "mode": "merge", "dryRun": false})
	out, err = e.Handle(context.Background(), "data.import", params)
	if err != nil {
		t.Fatal(err)
	}
	got := call(t, e, "conflicts.list", nil).Get("conflicts").Array()
	if len(got) != int(n) {
		t.Fatalf("import result says %d conflicts (%s), conflicts.list has %d", n, gjson.GetBytes(out, "result.conflicts").Raw, len(got))
	}
}

// A file written by a device whose clock runs a little ahead (here one hour,
// well inside the one-day skew davsync accepts silently): after importing
// it, deleting one of its accounts must produce a deletion that beats the
// imported version, or the account comes back from any replica that holds
// the file's version (another device that imported the same file, or the
// same file imported again).
func TestDeleteAfterImportOfRecordAheadSticks(t *testing.T) {
	e, _ := newTest(t)
	ahead := int64(1_700_000_000_000 + 3_600_000)
	file := `{"format":"davsync","version":1,"exported_at":1700000000000,"collections":{"accounts":{"records":[` +
		`{"id":"x1","site_name":"X","site_url":"https://x.example/","username":"u","updated_at":` + strconv.FormatInt(ahead, 10) + `}` +
		`],"tombstones":[]}},"preferences":{"updated_at":0,"values":{}}}`
	call(t, e, "data.import", map[string]any{"json": file, "mode": "merge"})
	if n := len(call(t, e, "accounts.list", nil).Get("accounts").Array()); n != 1 {
		t.Fatalf("import: %d accounts", n)
	}
	call(t, e, "accounts.delete", `{"id":"x1"}`)
	st, _ := e.Store(context.Background())
	doc, _, _ := st.Load(context.Background())
	ts, ok := doc.Collection("accounts").Tombstone("x1")
	if !ok {
		t.Fatal("no tombstone")
	}
	if ts.DeletedAt <= ahead {
		t.Errorf("tombstone deleted_at %d is not after the imported record's updated_at %d: the deletion loses to the file's version", ts.DeletedAt, ahead)
	}
	// The consequence: the same file merged again (as a device that imported
	// it would sync it back) resurrects the deleted account.
	call(t, e, "data.import", map[string]any{"json": file, "mode": "merge"})
	if n := len(call(t, e, "accounts.list", nil).Get("accounts").Array()); n != 0 {
		t.Errorf("the deleted account came back: %d accounts", n)
	}
}

// accounts.put accepts a record whose own nesting is within jsonlimit.MaxDepth
// but which, placed in the document (document > collections > accounts >
// records > record), nests deeper than the document may. The store then
// cannot read its own document back: every later call fails.
func TestAccountsPutTooDeepIsRefused(t *testing.T) {
	e, _ := newTest(t)
	call(t, e, "accounts.put", `{"account":{"id":"keep","site_name":"Keep"}}`)
	deep := strings.Repeat(`{"x":`, 510) + `1` + strings.Repeat(`}`, 510)
	params := `{"account":{"id":"deep","site_name":"D","extra":` + deep + `}}`
	_, putErr := e.Handle(context.Background(), "accounts.put", []byte(params))
	if !errors.Is(putErr, errkind.Invalid) || !strings.Contains(errkind.Message(putErr), "too deeply") {
		t.Errorf("accounts.put of a too deep record: %v, want a clear invalid error", putErr)
	}
	if _, err := e.Handle(context.Background(), "accounts.list", nil); err != nil {
		t.Fatalf("accounts.put returned %v; afterwards accounts.list fails: %v", putErr, err)
	}
}

// The same for preferences.save: the values object is not depth-checked at
// all, and sits three levels down in the document.
func TestPreferencesSaveTooDeepIsRefused(t *testing.T) {
	e, _ := newTest(t)
	call(t, e, "accounts.put", `{"account":{"id":"keep","site_name":"Keep"}}`)
	deep := strings.Repeat(`[`, 511) + strings.Repeat(`]`, 511)
	_, saveErr := e.Handle(context.Background(), "preferences.save", []byte(`{"values":{"theme":"dark","x":`+deep+`}}`))
	if !errors.Is(saveErr, errkind.Invalid) {
		t.Errorf("preferences.save of too deep values: %v, want an invalid error", saveErr)
	}
	if _, err := e.Handle(context.Background(), "accounts.list", nil); err != nil {
		t.Fatalf("preferences.save returned %v; afterwards accounts.list fails: %v", saveErr, err)
	}
}

// preferences.save with a member twice (JSON.parse would keep the last; a
// page built from a hand-edited object, or any client, can send it): the
// document reader refuses repeated members in preferences.values, so the
// stored document becomes unreadable.
func TestPreferencesSaveRepeatedMemberIsRefused(t *testing.T) {
	e, _ := newTest(t)
	call(t, e, "accounts.put", `{"account":{"id":"keep","site_name":"Keep"}}`)
	_, saveErr := e.Handle(context.Background(), "preferences.save", []byte(`{"values":{"theme":"dark","theme":"light"}}`))
	if !errors.Is(saveErr, errkind.Invalid) || !strings.Contains(errkind.Message(saveErr), "twice") {
		t.Errorf("preferences.save with a member twice: %v, want a clear invalid error", saveErr)
	}
	if _, err := e.Handle(context.Background(), "accounts.list", nil); err != nil {
		t.Fatalf("preferences.save returned %v; afterwards accounts.list fails: %v", saveErr, err)
	}
}

// TestAccountsPutWithBaseKeepsEditsMadeMeanwhile: an editor opened on an
// account, another page (or a sync) changes its notes, then the editor
// saves a new name. With base, only the name changes; the newer notes stay.
func TestAccountsPutWithBaseKeepsEditsMadeMeanwhile(t *testing.T) {
	e, _ := newTest(t)
	shown := call(t, e, "accounts.put", `{"account":{"site_name":"Juliet","username":"jul","notes":"old notes"}}`).Get("account")
	other, _ := sjson.Set(shown.Raw, "notes", "new notes from the other page")
	call(t, e, "accounts.put", `{"account":`+other+`}`)
	edited, _ := sjson.Set(shown.Raw, "site_name", "Juliet renamed")
	got := call(t, e, "accounts.put", `{"account":`+edited+`,"base":`+shown.Raw+`}`).Get("account")
	if got.Get("site_name").String() != "Juliet renamed" || got.Get("notes").String() != "new notes from the other page" || got.Get("username").String() != "jul" {
		t.Fatalf("after saving the rename with base: %s", got.Raw)
	}
	// Removing a field in the editor removes it from the stored record.
	shown = got
	edited, _ = sjson.Delete(shown.Raw, "username")
	got = call(t, e, "accounts.put", `{"account":`+edited+`,"base":`+shown.Raw+`}`).Get("account")
	if got.Get("username").Exists() || got.Get("notes").String() != "new notes from the other page" {
		t.Fatalf("after removing the user name with base: %s", got.Raw)
	}
	if _, err := e.Handle(context.Background(), "accounts.put", []byte(`{"account":{"site_name":"x"},"base":"nope"}`)); !errors.Is(err, errkind.Invalid) {
		t.Fatalf("a base that is not an object: %v", err)
	}
}
