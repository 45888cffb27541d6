package transfer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/merge"
)

// Replace must hold after the next sync too. A file record with fields older
// than this device's tombstone of its id (but a newer updated_at) used to be
// put in beside the tombstone as it was; the next merge then dropped every
// field written before the deletion, so the replaced account lost them.
func TestReplaceRevivesOverOlderTombstone(t *testing.T) {
	local := doc(t, 1, `{}`, []string{"r"}) // tombstone of r at t0
	rec := fmt.Sprintf(`{"id":"r","site_name":"old name","notes":"new note","updated_at":%d,"_field_times":{"notes":%d,"site_name":%d}}`,
		t0+500, t0+500, t0-500)
	file := doc(t, 1, `{}`, nil, rec).Marshal()
	p := plan(t, local, file, ImportOptions{Accounts: ModeReplace, Preferences: ModeSkip})
	res, err := merge.Merge(p.Doc, backup.New(), merge.Terms{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*backup.Document{p.Doc, res.Doc} {
		if got := field(t, d, "r", "site_name").String(); got != "old name" {
			t.Fatalf("site_name = %q after the import and a merge; replace lost it", got)
		}
		if got := field(t, d, "r", "notes").String(); got != "new note" {
			t.Fatalf("notes = %q", got)
		}
	}
}

func bigDoc(t testing.TB, n, offset int) *backup.Document {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"id":"id-%07d","site_url":"https://s%d.example/","updated_at":%d}`, offset+i, offset+i, t0)
	}
	d, err := backup.Parse([]byte(`{"format":"davsync","version":1,"collections":{"accounts":{"records":[` + strings.Join(recs, ",") + `]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Replace and add over large collections: every record the file lacks is
// deleted and every new one added in one pass, not one slice shift each
// (100k of each used to cost minutes). The outcome is checked exactly.
func TestReplaceAndAddLarge(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	local := bigDoc(t, n, 0)
	file := bigDoc(t, n, n/2).Marshal() // half overlapping
	p, err := Plan(local, file, ImportOptions{Accounts: ModeReplace, Preferences: ModeSkip, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Doc.Collection("accounts")
	if len(c.Records) != n || c.Records[0].ID != fmt.Sprintf("id-%07d", n/2) || len(c.Tombstones) != n/2 {
		t.Fatalf("replace: %d records from %s, %d tombstones", len(c.Records), c.Records[0].ID, len(c.Tombstones))
	}
	if s := section(p, SectionAccounts); s.Added != n/2 || s.Deleted != n/2 || s.Unchanged != n/2 {
		t.Fatalf("replace counts %+v", s)
	}
	p, err = Plan(local, file, ImportOptions{Accounts: ModeAdd, Preferences: ModeSkip, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Doc.Collection("accounts"); len(c.Records) != n+n/2 || len(c.Tombstones) != 0 {
		t.Fatalf("add: %d records, %d tombstones", len(c.Records), len(c.Tombstones))
	}
	if _, err := backup.Parse(p.Doc.Marshal()); err != nil {
		t.Fatal(err)
	}
}

// Whatever the sync file may hold, an export of it must import again: a
// record nesting an unknown field 100 levels deep is a valid document
// (jsonlimit.MaxDepth), so its export used to be refused by the import's
// tighter nesting limit.
func TestExportOfDeepRecordImports(t *testing.T) {
	deep := strings.Repeat(`{"x":`, 100) + `1` + strings.Repeat(`}`, 100)
	local := doc(t, 1, `{}`, nil, fmt.Sprintf(`{"id":"d","deep":%s,"updated_at":%d}`, deep, t0))
	data, _, err := Export(local, ScopeAll, ExportOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	p := plan(t, backup.New(), data, ImportOptions{})
	if got := field(t, p.Doc, "d", "deep").Raw; got != deep {
		t.Fatalf("deep field changed: %.60s", got)
	}
}

// TestReplaceKeepsPreferencesTheFileNeverHad: an export from a device whose
// preferences were never set (time 0, empty) carries no preferences;
// replace-importing it leaves this device's alone instead of wiping them
// with a fresh time that would spread to every device.
func TestReplaceKeepsPreferencesTheFileNeverHad(t *testing.T) {
	local := doc(t, t0, `{"theme":"dark"}`, nil, acct("a1", "https://a.example/", "u", t0))
	file := doc(t, 0, `{}`, nil, acct("b1", "https://b.example/", "v", t0)).Marshal()
	p := plan(t, local, file, ImportOptions{Accounts: ModeReplace, Preferences: ModeReplace})
	if got := string(p.Doc.Preferences.Values); got != `{"theme":"dark"}` || p.Doc.Preferences.UpdatedAt != t0 {
		t.Fatalf("preferences after replace: %s at %d, want this device's", got, p.Doc.Preferences.UpdatedAt)
	}
	if _, ok := p.Doc.Collection("accounts").Get("b1"); !ok {
		t.Fatal("the accounts were not replaced")
	}
	for _, s := range p.Preview.Sections {
		if s.Name == SectionPreferences && s.InFile {
			t.Fatal("the preview counts never-set preferences as in the file")
		}
	}
	// Preferences that were set, even to nothing, are the file's to give.
	cleared := doc(t, t0+5, `{}`, nil, acct("b1", "https://b.example/", "v", t0)).Marshal()
	p = plan(t, local, cleared, ImportOptions{Accounts: ModeReplace, Preferences: ModeReplace})
	if got := string(p.Doc.Preferences.Values); got != `{}` {
		t.Fatalf("cleared preferences were not imported: %s", got)
	}
}
