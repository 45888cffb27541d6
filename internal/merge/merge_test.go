package merge

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/tidwall/gjson"
)

// doc builds a document from account records and tombstones (id:deleted_at).
func doc(t *testing.T, recs []string, tombs ...backup.Tombstone) *backup.Document {
	t.Helper()
	d := backup.New()
	acc := d.Collections["accounts"]
	for _, raw := range recs {
		r, err := backup.ParseRecord("accounts", []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		acc.Put(r)
	}
	for _, ts := range tombs {
		acc.Delete(ts.ID, ts.DeletedAt)
	}
	return d
}

func merge(t *testing.T, l, r *backup.Document, opt Terms) *Outcome {
	t.Helper()
	res, err := Merge(l, r, opt)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func get(t *testing.T, d *backup.Document, id string) (gjson.Result, bool) {
	t.Helper()
	r, ok := d.Collections["accounts"].Get(id)
	return gjson.ParseBytes(r.Raw), ok
}

func edit(t *testing.T, old *backup.Record, raw string, now int64) backup.Record {
	t.Helper()
	r, err := Edit(old, []byte(raw), now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConcurrentEditsOfDifferentFieldsBothKept(t *testing.T) {
	base := edit(t, nil, `{"id":"a","site_name":"S","notes":"n0","username":"u0"}`, 100)
	onA := edit(t, &base, `{"id":"a","site_name":"S","notes":"from A","username":"u0"}`, 200)
	onB := edit(t, &base, `{"id":"a","site_name":"S","notes":"n0","username":"from B"}`, 150)
	dA, dB := backup.New(), backup.New()
	dA.Collections["accounts"].Put(onA)
	dB.Collections["accounts"].Put(onB)
	res := merge(t, dA, dB, Terms{Base: Base{"accounts": {"a": 100}}})
	r, _ := get(t, res.Doc, "a")
	if r.Get("notes").Str != "from A" || r.Get("username").Str != "from B" {
		t.Fatalf("an edit was lost: %s", r.Raw)
	}
	if r.Get("updated_at").Int() != 200 {
		t.Fatalf("updated_at = %d, want the newest field time 200", r.Get("updated_at").Int())
	}
	if len(res.Conflicts) != 0 {
		t.Fatalf("different fields are not a conflict: %+v", res.Conflicts)
	}
	if c := res.Local["accounts"]; c.Updated != 1 {
		t.Fatalf("local counts %+v", c)
	}
}

func TestSameFieldConflictKeepsLoser(t *testing.T) {
	base := edit(t, nil, `{"id":"a","notes":"n0"}`, 100)
	onA := edit(t, &base, `{"id":"a","notes":"A"}`, 300)
	onB := edit(t, &base, `{"id":"a","notes":"B"}`, 200)
	dA, dB := backup.New(), backup.New()
	dA.Collections["accounts"].Put(onA)
	dB.Collections["accounts"].Put(onB)
	res := merge(t, dA, dB, Terms{Base: Base{"accounts": {"a": 100}}})
	r, _ := get(t, res.Doc, "a")
	if r.Get("notes").Str != "A" {
		t.Fatalf("the later write did not win: %s", r.Raw)
	}
	if len(res.Conflicts) != 1 {
		t.Fatalf("conflicts = %+v", res.Conflicts)
	}
	c := res.Conflicts[0]
	if c.ID != "a" || c.Collection != "accounts" || len(c.Fields) != 1 || c.Fields[0] != (FieldConflict{"notes", Local}) ||
		!bytes.Equal(c.Remote, onB.Raw) || !bytes.Equal(c.Local, onA.Raw) || c.At != 300 || c.Deleted {
		t.Fatalf("conflict = %+v", c)
	}
	if s, ok := c.Loser(); !ok || s != Remote {
		t.Fatalf("Loser = %v %v", s, ok)
	}
	// Keep both: the loser becomes a new record with all fields stamped now.
	kb, err := KeepBoth(c, Remote, "", 400)
	if err != nil {
		t.Fatal(err)
	}
	g := gjson.ParseBytes(kb.Raw)
	if kb.ID == "a" || len(kb.ID) != 32 || g.Get("id").Str != kb.ID || g.Get("notes").Str != "B" || kb.UpdatedAt != 400 || g.Get("_field_times.notes").Int() != 400 {
		t.Fatalf("KeepBoth = %s", kb.Raw)
	}
	if _, err := backup.ParseRecord("accounts", kb.Raw); err != nil {
		t.Fatal(err)
	}
	// Without a base (never synced) it is a conflict too; after syncing, an
	// edit on one side only is not.
	if res := merge(t, dA, dB, Terms{}); len(res.Conflicts) != 1 {
		t.Fatalf("no base: conflicts = %+v", res.Conflicts)
	}
	if res := merge(t, dA, dB, Terms{Base: Base{"accounts": {"a": 200}}}); len(res.Conflicts) != 0 {
		t.Fatalf("B's write was synced already: conflicts = %+v", res.Conflicts)
	}
}

func TestTieBreakByBytes(t *testing.T) {
	dA := doc(t, []string{`{"id":"a","notes":"aaa","updated_at":5}`})
	dB := doc(t, []string{`{"id":"a","notes":"bbb","updated_at":5}`})
	ab := merge(t, dA, dB, Terms{}).Doc
	ba := merge(t, dB, dA, Terms{}).Doc
	if !bytes.Equal(ab.Marshal(), ba.Marshal()) {
		t.Fatal("tie not broken deterministically")
	}
	if r, _ := get(t, ab, "a"); r.Get("notes").Str != "bbb" {
		t.Fatalf("equal times: the larger value bytes should win: %s", r.Raw)
	}
}

func TestRecordWithoutFieldTimes(t *testing.T) {
	// An import: all fields count as written at its updated_at.
	imported := doc(t, []string{`{"id":"a","notes":"old","site_name":"imp","updated_at":50}`})
	base := edit(t, nil, `{"id":"a","notes":"new"}`, 40)
	edited := doc(t, nil)
	edited.Collections["accounts"].Put(base)
	r, _ := get(t, merge(t, imported, edited, Terms{}).Doc, "a")
	if r.Get("notes").Str != "old" || r.Get("site_name").Str != "imp" {
		t.Fatalf("import at 50 should beat the edit at 40: %s", r.Raw)
	}
	later := edit(t, &base, `{"id":"a","notes":"newer"}`, 60)
	edited.Collections["accounts"].Put(later)
	r, _ = get(t, merge(t, imported, edited, Terms{}).Doc, "a")
	if r.Get("notes").Str != "newer" || r.Get("site_name").Str != "imp" {
		t.Fatalf("field-wise: notes from the edit at 60, site_name from the import: %s", r.Raw)
	}
}

func TestDeletion(t *testing.T) {
	rec := edit(t, nil, `{"id":"a","site_name":"S","notes":"n"}`, 100)
	withRec := backup.New()
	withRec.Collections["accounts"].Put(rec)
	deleted := backup.New()
	deleted.Collections["accounts"].Delete("a", 150)

	// The tombstone beats a record not updated after it.
	res := merge(t, withRec, deleted, Terms{Base: Base{"accounts": {"a": 100}}})
	if _, ok := get(t, res.Doc, "a"); ok {
		t.Fatal("a deleted record came back")
	}
	if ts, ok := res.Doc.Collections["accounts"].Tombstone("a"); !ok || ts.DeletedAt != 150 {
		t.Fatal("tombstone lost")
	}
	if res.Local["accounts"].Deleted != 1 || res.Remote["accounts"] != (Counts{}) || len(res.Conflicts) != 0 {
		t.Fatalf("counts %+v %+v conflicts %+v", res.Local, res.Remote, res.Conflicts)
	}
	// Equal times: the deletion wins (a record must be newer to survive).
	at := backup.New()
	at.Collections["accounts"].Delete("a", 100)
	if _, ok := get(t, merge(t, withRec, at, Terms{}).Doc, "a"); ok {
		t.Fatal("a record as old as its deletion survived")
	}

	// An edit made after the deletion (on a device that had not seen it)
	// brings the record back with the edited field; the deletion still
	// removes what was written before it, and the full version is kept.
	edited := backup.New()
	edited.Collections["accounts"].Put(edit(t, &rec, `{"id":"a","site_name":"S","notes":"edited"}`, 200))
	res = merge(t, edited, deleted, Terms{Base: Base{"accounts": {"a": 100}}})
	r, ok := get(t, res.Doc, "a")
	if !ok || r.Get("notes").Str != "edited" || r.Get("site_name").Exists() {
		t.Fatalf("record after edit-after-delete: %s", r.Raw)
	}
	if len(res.Conflicts) != 1 || !res.Conflicts[0].Deleted || res.Conflicts[0].DeletedBy != Remote ||
		!bytes.Contains(res.Conflicts[0].Local, []byte(`"site_name":"S"`)) || res.Conflicts[0].Remote != nil {
		t.Fatalf("conflicts = %+v", res.Conflicts)
	}
	if s, _ := res.Conflicts[0].Loser(); s != Local {
		t.Fatalf("loser = %v", s)
	}
	if _, err := KeepBoth(res.Conflicts[0], Remote, "x", 300); !errors.Is(err, errkind.Invalid) {
		t.Fatalf("KeepBoth of the deleted side: %v", err)
	}
	// The tombstone stays beside it, so an old copy cannot bring site_name back.
	if _, ok := res.Doc.Collections["accounts"].Tombstone("a"); !ok {
		t.Fatal("tombstone dropped on resurrection")
	}
	again := merge(t, res.Doc, withRec, Terms{}).Doc
	if r, _ := get(t, again, "a"); r.Get("site_name").Exists() {
		t.Fatalf("an old replica brought back a deleted field: %s", r.Raw)
	}
}

func TestUnknownFieldsByteForByte(t *testing.T) {
	odd := `{"zz":{"b":[1.0e2,"\u00e9",null]},"id":"a","notes":"x","updated_at":10,"x_future":"\u2028"}`
	in := []byte(`{"format":"davsync","version":1,"collections":{"accounts":{"records":[` + odd + `]}}}`)
	local, err := backup.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	// Untouched by the other side: identical bytes.
	out := merge(t, local, backup.New(), Terms{}).Doc.Marshal()
	if !bytes.Contains(out, []byte(odd)) {
		t.Fatalf("record bytes changed:\n%s", out)
	}
	// Rebuilt from both sides: every value keeps its bytes.
	other := doc(t, []string{`{"id":"a","site_name":"S","updated_at":20,"_field_times":{"site_name":20}}`})
	merged := merge(t, local, other, Terms{}).Doc
	r, _ := merged.Collections["accounts"].Get("a")
	for _, want := range []string{`"zz":{"b":[1.0e2,"\u00e9",null]}`, `"x_future":"\u2028"`, `"site_name":"S"`, `"notes":"x"`} {
		if !bytes.Contains(r.Raw, []byte(want)) {
			t.Errorf("merged record lost %s: %s", want, r.Raw)
		}
	}
	want := `{"id":"a","site_name":"S","notes":"x","x_future":"\u2028","zz":{"b":[1.0e2,"\u00e9",null]},"updated_at":20,"_field_times":{"notes":10,"site_name":20,"x_future":10,"zz":10}}`
	if string(r.Raw) != want {
		t.Fatalf("canonical record\n got %s\nwant %s", r.Raw, want)
	}
}

func TestStrategies(t *testing.T) {
	local := doc(t, []string{`{"id":"a","updated_at":1}`, `{"id":"b","notes":"L","updated_at":5}`})
	remote := doc(t, []string{`{"id":"b","notes":"R","updated_at":9}`, `{"id":"c","updated_at":1}`})
	up := merge(t, local, remote, Terms{Strategy: UploadOnly})
	if !bytes.Equal(up.Doc.Marshal(), local.Marshal()) {
		t.Fatal("upload_only: the result must be local")
	}
	if up.Local["accounts"] != (Counts{Unchanged: 2}) || up.Remote["accounts"] != (Counts{Added: 1, Updated: 1, Deleted: 1}) {
		t.Fatalf("upload_only counts local %+v remote %+v", up.Local, up.Remote)
	}
	down := merge(t, local, remote, Terms{Strategy: DownloadOnly})
	if !bytes.Equal(down.Doc.Marshal(), remote.Marshal()) || down.Remote["accounts"] != (Counts{Unchanged: 2}) ||
		down.Local["accounts"] != (Counts{Added: 1, Updated: 1, Deleted: 1}) {
		t.Fatalf("download_only: %+v %+v", down.Local, down.Remote)
	}
	m := merge(t, local, remote, Terms{Strategy: StrategyMerge})
	if m.Local["accounts"] != (Counts{Added: 1, Updated: 1, Unchanged: 1}) || m.Remote["accounts"] != (Counts{Added: 1, Unchanged: 2}) {
		t.Fatalf("merge counts local %+v remote %+v", m.Local, m.Remote)
	}
	if m.Local[PreferencesName] != (Counts{Unchanged: 1}) || m.Local.Total() != 2 {
		t.Fatalf("preferences/total: %+v", m.Local)
	}
	if _, err := Merge(local, remote, Terms{Strategy: "sideways"}); !errors.Is(err, errkind.Invalid) {
		t.Fatalf("unknown strategy: %v", err)
	}
	if _, err := Merge(nil, remote, Terms{}); !errors.Is(err, errkind.Invalid) {
		t.Fatalf("nil doc: %v", err)
	}
}

func TestPreferences(t *testing.T) {
	a, b := backup.New(), backup.New()
	a.Preferences = backup.Preferences{UpdatedAt: 5, Values: []byte(`{"x":1}`)}
	b.Preferences = backup.Preferences{UpdatedAt: 7, Values: []byte(`{"y":2}`)}
	if got := merge(t, a, b, Terms{}).Doc.Preferences; string(got.Values) != `{"y":2}` || got.UpdatedAt != 7 {
		t.Fatalf("newer preferences lost: %+v", got)
	}
	b.Preferences.UpdatedAt = 5
	ab := merge(t, a, b, Terms{}).Doc.Preferences
	ba := merge(t, b, a, Terms{}).Doc.Preferences
	if string(ab.Values) != `{"y":2}` || string(ba.Values) != `{"y":2}` {
		t.Fatalf("tie: larger bytes should win both ways: %s %s", ab.Values, ba.Values)
	}
}

func TestTombstoneHorizonAndStale(t *testing.T) {
	day := int64(24 * time.Hour / time.Millisecond)
	now := 1000 * day
	d := backup.New()
	d.Collections["accounts"].Delete("old", now-181*day)
	d.Collections["accounts"].Delete("new", now-179*day)
	res := merge(t, d, backup.New(), Terms{Now: now})
	ts := res.Doc.Collections["accounts"].Tombstones
	if len(ts) != 1 || ts[0].ID != "new" {
		t.Fatalf("tombstones after the horizon: %+v", ts)
	}
	res = merge(t, d, backup.New(), Terms{Now: now, TombstoneHorizon: 365 * 24 * time.Hour})
	if len(res.Doc.Collections["accounts"].Tombstones) != 2 {
		t.Fatal("a longer horizon dropped a tombstone")
	}
	if !Stale(now-181*day, now, 0) || Stale(now-179*day, now, 0) || Stale(0, now, 0) {
		t.Fatal("Stale with the default horizon")
	}
	if Stale(now-181*day, now, 365*24*time.Hour) {
		t.Fatal("Stale ignores its horizon")
	}
}

func TestFutureWarnings(t *testing.T) {
	now := int64(1_700_000_000_000)
	day := hlc.Skew.Milliseconds()
	d := doc(t, []string{
		`{"id":"ok","updated_at":` + itoa(now+day) + `}`,
		`{"id":"bad clock","updated_at":` + itoa(now+day+1) + `}`,
	}, backup.Tombstone{ID: "t", DeletedAt: now + 2*day})
	res := merge(t, backup.New(), d, Terms{Now: now})
	if len(res.Warnings) != 2 || !strings.Contains(res.Warnings[0].String(), `accounts record "bad clock"`) ||
		!strings.Contains(res.Warnings[1].String(), `deletion "t"`) || !strings.Contains(res.Warnings[0].String(), "ahead of this device's clock") ||
		res.Warnings[0].Key != "warnFutureRecord" || res.Warnings[1].Key != "warnFutureDeletion" {
		t.Fatalf("warnings = %q", res.Warnings)
	}
	// Accepted, not refused: the record is in the result.
	if _, ok := get(t, res.Doc, "bad clock"); !ok {
		t.Fatal("a far-future record was dropped")
	}
	var many []string
	for i := range 30 {
		many = append(many, `{"id":"r`+itoa(int64(i))+`","updated_at":`+itoa(now+2*day)+`}`)
	}
	res = merge(t, backup.New(), doc(t, many), Terms{Now: now})
	if len(res.Warnings) != maxWarnings+1 || !strings.Contains(res.Warnings[maxWarnings].String(), "10 more") {
		t.Fatalf("warnings not capped: %d %q", len(res.Warnings), res.Warnings[len(res.Warnings)-1])
	}
}

// A device whose clock is behind still wins with an edit made after it saw
// the other device's write: the clock observes what it merged.
func TestClockBehindStillWins(t *testing.T) {
	ahead := hlc.New(func() int64 { return 10_000 })
	behind := hlc.New(func() int64 { return 1_000 })
	r1 := edit(t, nil, `{"id":"a","notes":"from the fast clock"}`, ahead.Now())
	behind.Observe(r1.UpdatedAt)
	r2 := edit(t, &r1, `{"id":"a","notes":"later, slow clock"}`, behind.Now())
	d1, d2 := backup.New(), backup.New()
	d1.Collections["accounts"].Put(r1)
	d2.Collections["accounts"].Put(r2)
	if r, _ := get(t, merge(t, d1, d2, Terms{}).Doc, "a"); r.Get("notes").Str != "later, slow clock" {
		t.Fatalf("the later edit lost: %s", r.Raw)
	}
}

func TestUnsortedInput(t *testing.T) {
	d := backup.New()
	acc := d.Collections["accounts"]
	acc.Records = append(acc.Records,
		backup.Record{ID: "b", UpdatedAt: 1, Raw: []byte(`{"id":"b","updated_at":1}`)},
		backup.Record{ID: "a", UpdatedAt: 1, Raw: []byte(`{"id":"a","updated_at":1}`)},
		backup.Record{ID: "b", UpdatedAt: 2, Raw: []byte(`{"id":"b","updated_at":2}`)})
	acc.Tombstones = append(acc.Tombstones, backup.Tombstone{ID: "z", DeletedAt: 1}, backup.Tombstone{ID: "c", DeletedAt: 1})
	out := merge(t, d, backup.New(), Terms{}).Doc.Collections["accounts"]
	if len(out.Records) != 2 || out.Records[0].ID != "a" || out.Records[1].UpdatedAt != 2 || out.Tombstones[0].ID != "c" {
		t.Fatalf("unsorted input merged wrongly: %+v", out)
	}
}

func TestNewBase(t *testing.T) {
	d := doc(t, []string{`{"id":"a","updated_at":3}`})
	if b := NewBase(d); b["accounts"]["a"] != 3 {
		t.Fatalf("NewBase = %v", b)
	}
}

func itoa(n int64) string { return string(backup.AppendInt(nil, n)) }
