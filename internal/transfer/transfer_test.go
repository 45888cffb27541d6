package transfer

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/tidwall/gjson"
)

const (
	t0  = int64(1763000000000)
	now = int64(1764000000000)
)

// fastKDF is PBKDF2 with one iteration whatever the file asks for: the
// envelope code runs unchanged, only cheaper, so the wasm run (-short) does
// not spend half a minute deriving keys. Native runs use the real GoKDF.
type fastKDF struct{}

func (fastKDF) PBKDF2SHA256(passphrase, salt []byte, _, keyLen int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, string(passphrase), salt, 1, keyLen)
}

func testKDF() envelope.KDF {
	if testing.Short() {
		return fastKDF{}
	}
	return envelope.GoKDF
}

func acct(id, url, user string, at int64) string {
	return fmt.Sprintf(`{"id":%q,"site_name":"S %s","site_url":%q,"username":%q,"access_token":"tok-%s","notes":"","tags":[],"disabled":false,"created_at":%d,"updated_at":%d}`, id, id, url, user, id, t0-1000, at)
}

func doc(t *testing.T, prefsAt int64, prefs string, tombs []string, recs ...string) *backup.Document {
	t.Helper()
	ts := make([]string, len(tombs))
	for i, id := range tombs {
		ts[i] = fmt.Sprintf(`{"id":%q,"deleted_at":%d}`, id, t0)
	}
	s := fmt.Sprintf(`{"format":"davsync","version":1,"exported_at":%d,"collections":{"accounts":{"records":[%s],"tombstones":[%s]}},"preferences":{"updated_at":%d,"values":%s}}`,
		t0, strings.Join(recs, ","), strings.Join(ts, ","), prefsAt, prefs)
	d, err := backup.Parse([]byte(s))
	if err != nil {
		t.Fatalf("test document: %v\n%s", err, s)
	}
	return d
}

func ids(c *backup.Collection) []string {
	out := []string{}
	for _, r := range c.Records {
		out = append(out, r.ID)
	}
	return out
}

func tombIDs(c *backup.Collection) []string {
	out := []string{}
	for _, r := range c.Tombstones {
		out = append(out, r.ID)
	}
	return out
}

func field(t *testing.T, d *backup.Document, id, path string) gjson.Result {
	t.Helper()
	r, ok := d.Collection("accounts").Get(id)
	if !ok {
		t.Fatalf("record %s missing", id)
	}
	return gjson.GetBytes(r.Raw, path)
}

func plan(t *testing.T, local *backup.Document, data []byte, opts ImportOptions) *ImportPlan {
	t.Helper()
	if opts.Now == 0 {
		opts.Now = now
	}
	var before []byte
	if local != nil {
		before = local.Marshal()
	}
	p, err := Plan(local, data, opts)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if local != nil && !bytes.Equal(before, local.Marshal()) {
		t.Fatal("Plan modified the local document")
	}
	// The planned document must be one Parse accepts: it is what gets stored
	// and uploaded.
	if _, err := backup.Parse(p.Doc.Marshal()); err != nil {
		t.Fatalf("planned document does not parse: %v", err)
	}
	return p
}

func section(p *ImportPlan, name string) Section {
	for _, s := range p.Preview.Sections {
		if s.Name == name {
			return s
		}
	}
	return Section{}
}

type counts struct{ added, updated, deleted, unchanged, skipped, dups int }

func checkCounts(t *testing.T, s Section, want counts) {
	t.Helper()
	got := counts{s.Added, s.Updated, s.Deleted, s.Unchanged, s.Skipped, s.Duplicates}
	if got != want {
		t.Errorf("%s counts %+v, want %+v", s.Name, got, want)
	}
}

// The local device: a, b, c; b is older than the file's b; deleted d.
func localDoc(t *testing.T) *backup.Document {
	return doc(t, t0, `{"theme":"dark","language":"en","notify":true}`, []string{"d"},
		acct("a", "https://a.example.com", "alice", t0),
		acct("b", "https://b.example.com", "bob", t0),
		acct("c", "https://c.example.com", "carol", t0+50),
	)
}

func TestModesAccounts(t *testing.T) {
	local := localDoc(t)
	file := fileDocClean(t)

	t.Run("merge", func(t *testing.T) {
		p := plan(t, local, file, ImportOptions{Accounts: ModeMerge, Preferences: ModeSkip})
		acc := p.Doc.Collection("accounts")
		if got := ids(acc); !slices.Equal(got, []string{"a", "b", "c", "e", "f"}) {
			t.Errorf("records %v", got)
		}
		if got := field(t, p.Doc, "b", "notes").String(); got != "newer" {
			t.Errorf("b notes %q: the newer file version should win", got)
		}
		if got := field(t, p.Doc, "c", "notes").String(); got != "" {
			t.Errorf("c notes %q: the newer local version should win", got)
		}
		// b updated; c kept; a kept; e, f added; d stays deleted (file's d is older than the tombstone)
		checkCounts(t, section(p, "accounts"), counts{added: 2, updated: 1, unchanged: 2, dups: 1})
		if p.Preview.Duplicates[0] != (Duplicate{ID: "f", ExistingID: "a", SiteURL: "HTTP://A.EXAMPLE.COM/", Username: "alice"}) {
			t.Errorf("duplicate %+v", p.Preview.Duplicates[0])
		}
		if !p.Preview.Changed {
			t.Error("Changed = false")
		}
		// d: deleted here after the file's version; the deletion wins and
		// the file's version is kept as a conflict the user can restore.
		if p.Preview.Conflicts != 1 || p.Conflicts[0].ID != "d" || !p.Conflicts[0].Deleted {
			t.Errorf("conflicts %+v, want the deleted d", p.Conflicts)
		}
	})

	t.Run("merge with tombstone from the file", func(t *testing.T) {
		file := doc(t, 0, `{}`, []string{"a"}).Marshal() // a deleted at t0, a.updated_at == t0
		p := plan(t, local, file, ImportOptions{Accounts: ModeMerge})
		if got := ids(p.Doc.Collection("accounts")); !slices.Equal(got, []string{"b", "c"}) {
			t.Errorf("records %v: a should be deleted", got)
		}
		checkCounts(t, section(p, "accounts"), counts{deleted: 1, unchanged: 2})
	})

	t.Run("add", func(t *testing.T) {
		p := plan(t, local, file, ImportOptions{Accounts: ModeAdd, Preferences: ModeSkip})
		acc := p.Doc.Collection("accounts")
		if got := ids(acc); !slices.Equal(got, []string{"a", "b", "c", "e", "f"}) {
			t.Errorf("records %v", got)
		}
		if field(t, p.Doc, "b", "notes").String() != "" {
			t.Error("add changed an existing record")
		}
		// b, c exist; d was deleted here: 3 skipped; f is a likely duplicate but added
		checkCounts(t, section(p, "accounts"), counts{added: 2, unchanged: 3, skipped: 3, dups: 1})
		if len(p.Preview.Notes) == 0 || !strings.Contains(fmt.Sprint(p.Preview.Notes), "deleted on this device") {
			t.Errorf("notes %q lack the deleted-here note", p.Preview.Notes)
		}
	})

	t.Run("add skipping duplicates", func(t *testing.T) {
		p := plan(t, local, file, ImportOptions{Accounts: ModeAdd, Preferences: ModeSkip, SkipDuplicates: true})
		if got := ids(p.Doc.Collection("accounts")); !slices.Equal(got, []string{"a", "b", "c", "e"}) {
			t.Errorf("records %v", got)
		}
		checkCounts(t, section(p, "accounts"), counts{added: 1, unchanged: 3, skipped: 4, dups: 1})
		if d := p.Preview.Duplicates; len(d) != 1 || !d[0].Skipped || d[0].ID != "f" {
			t.Errorf("duplicates %+v", d)
		}
	})

	t.Run("replace", func(t *testing.T) {
		p := plan(t, local, file, ImportOptions{Accounts: ModeReplace, Preferences: ModeSkip})
		acc := p.Doc.Collection("accounts")
		if got := ids(acc); !slices.Equal(got, []string{"b", "c", "d", "e", "f"}) {
			t.Errorf("records %v", got)
		}
		if got := tombIDs(acc); !slices.Contains(got, "a") {
			t.Errorf("tombstones %v: a must be deleted so the next sync does not bring it back", got)
		}
		if tb, _ := acc.Tombstone("a"); tb.DeletedAt != p.Stamp {
			t.Errorf("a deleted at %d, want the plan's stamp %d", tb.DeletedAt, p.Stamp)
		}
		// c: the file's older version replaces the local one and is stamped newer
		if field(t, p.Doc, "c", "notes").String() != "older" || field(t, p.Doc, "c", "updated_at").Int() != p.Stamp {
			t.Errorf("c = %s", field(t, p.Doc, "c", "@this").Raw)
		}
		// d was deleted here; the replace revives it newer than the tombstone
		if field(t, p.Doc, "d", "updated_at").Int() != p.Stamp {
			t.Error("revived d not stamped")
		}
		if p.Stamp <= t0+50 || p.Stamp < now {
			t.Errorf("stamp %d not after local times and now", p.Stamp)
		}
		// f duplicates a, but a is gone after the replace: not a duplicate
		checkCounts(t, section(p, "accounts"), counts{added: 3, updated: 2, deleted: 1})
	})

	t.Run("skip", func(t *testing.T) {
		p := plan(t, local, file, ImportOptions{Accounts: ModeSkip, Preferences: ModeSkip})
		if !bytes.Equal(p.Doc.Marshal(), local.Marshal()) {
			t.Error("skip changed the document")
		}
		checkCounts(t, section(p, "accounts"), counts{unchanged: 3})
		if p.Preview.Changed {
			t.Error("Changed = true for skip")
		}
	})

	t.Run("replace then merge of the old state keeps the replacement", func(t *testing.T) {
		// What the next sync does when the remote still holds the old state.
		p := plan(t, local, file, ImportOptions{Accounts: ModeReplace, Preferences: ModeReplace})
		again := plan(t, p.Doc, local.Marshal(), ImportOptions{Accounts: ModeMerge, Preferences: ModeMerge, Now: p.Stamp + 1})
		if !bytes.Equal(again.Doc.Marshal(), p.Doc.Marshal()) {
			t.Errorf("merging the old state back changed the replaced document:\n%s\n%s", p.Doc.Marshal(), again.Doc.Marshal())
		}
	})
}

// fileDocClean builds the file of TestModesAccounts without repeated keys.
func fileDocClean(t *testing.T) []byte {
	t.Helper()
	rec := func(id, url, user string, at int64, notes string) string {
		return fmt.Sprintf(`{"id":%q,"site_name":"S %s","site_url":%q,"username":%q,"access_token":"tok-%s","notes":%q,"tags":[],"disabled":false,"created_at":%d,"updated_at":%d}`, id, id, url, user, id, notes, t0-1000, at)
	}
	return doc(t, t0+100, `{"theme":"light","language":"en"}`, nil,
		rec("b", "https://b.example.com", "bob", t0+10, "newer"),
		rec("c", "https://c.example.com", "carol", t0+20, "older"),
		rec("d", "https://d.example.com", "dan", t0-10, ""),
		rec("e", "https://e.example.com", "erin", t0, ""),
		rec("f", "HTTP://A.EXAMPLE.COM/", "alice", t0, ""),
	).Marshal()
}

func TestModesPreferences(t *testing.T) {
	local := localDoc(t) // {"theme":"dark","language":"en","notify":true} at t0
	newer := doc(t, t0+100, `{"theme":"light","language":"en","font":"big"}`, nil).Marshal()
	older := doc(t, t0-100, `{"theme":"light"}`, nil).Marshal()
	tests := []struct {
		name   string
		file   []byte
		mode   Mode
		want   string
		counts counts
	}{
		{"merge newer wins whole", newer, ModeMerge, `{"theme":"light","language":"en","font":"big"}`, counts{added: 1, updated: 1, deleted: 1, unchanged: 1}},
		{"merge older loses", older, ModeMerge, `{"theme":"dark","language":"en","notify":true}`, counts{unchanged: 3}},
		{"add only missing keys", newer, ModeAdd, `{"theme":"dark","language":"en","notify":true,"font":"big"}`, counts{added: 1, unchanged: 3}},
		{"replace", older, ModeReplace, `{"theme":"light"}`, counts{updated: 1, deleted: 2}},
		{"skip", newer, ModeSkip, `{"theme":"dark","language":"en","notify":true}`, counts{unchanged: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, local, tt.file, ImportOptions{Accounts: ModeSkip, Preferences: tt.mode})
			if got := string(p.Doc.Preferences.Values); got != tt.want {
				t.Errorf("values %s, want %s", got, tt.want)
			}
			checkCounts(t, section(p, "preferences"), tt.counts)
			if tt.mode == ModeReplace || tt.mode == ModeAdd {
				if p.Doc.Preferences.UpdatedAt <= local.Preferences.UpdatedAt {
					t.Error("changed preferences not stamped newer than the local ones")
				}
			}
		})
	}
}

type fakeSettings struct {
	URL, Username, Password, Passphrase string
}

func TestExport(t *testing.T) {
	settings := fakeSettings{
		URL:        "https://dav.secret-host.example/remote.php/dav/files/alice/",
		Username:   "alice-dav-user",
		Password:   "hunter2-dav-password",
		Passphrase: "sync-passphrase-xyzzy",
	}
	local := localDoc(t)
	exportPass := "export-passphrase-plugh"
	for _, scope := range []Scope{ScopeAll, ScopeAccounts, ScopePreferences} {
		for _, pass := range []string{"", exportPass} {
			t.Run(fmt.Sprintf("%s encrypted=%v", scope, pass != ""), func(t *testing.T) {
				data, name, err := Export(local, scope, ExportOptions{Passphrase: pass, Now: now, KDF: testKDF()})
				if err != nil {
					t.Fatal(err)
				}
				if want := "davsync-" + string(scope) + "-2025-11-24.json"; name != want {
					t.Errorf("name %q, want %q", name, want)
				}
				// The secret scan: nothing the settings hold, in any usual
				// encoding, and never the export passphrase itself.
				for _, secret := range []string{settings.URL, settings.Username, settings.Password, settings.Passphrase, exportPass, "secret-host"} {
					for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), fmt.Sprintf("%x", secret)} {
						if bytes.Contains(data, []byte(form)) {
							t.Errorf("export contains the secret %q", secret)
						}
					}
				}
				if pass != "" {
					if !envelope.IsEncrypted(data) {
						t.Fatal("not encrypted")
					}
					if _, err := Plan(nil, data, ImportOptions{KDF: testKDF()}); !errors.Is(err, errkind.PassphraseNeeded) {
						t.Fatalf("no passphrase: %v", err)
					}
					if _, err := Plan(nil, data, ImportOptions{Passphrase: "wrong", KDF: testKDF()}); !errors.Is(err, errkind.Decrypt) {
						t.Fatalf("wrong passphrase: %v", err)
					}
				} else {
					var buf bytes.Buffer
					if json.Compact(&buf, data) != nil || !bytes.Equal(buf.Bytes(), data) {
						t.Error("export is not compact JSON")
					}
				}
				// Importing the export into an empty device reproduces the scope.
				p := plan(t, nil, data, ImportOptions{Passphrase: pass, KDF: testKDF(), Accounts: ModeReplace, Preferences: ModeReplace})
				gotAcc := ids(p.Doc.Collection("accounts"))
				if scope == ScopePreferences {
					if len(gotAcc) != 0 || section(p, "accounts").InFile {
						t.Errorf("preferences export brought accounts %v", gotAcc)
					}
				} else if !slices.Equal(gotAcc, []string{"a", "b", "c"}) {
					t.Errorf("accounts %v", gotAcc)
				}
				if scope == ScopeAccounts {
					if string(p.Doc.Preferences.Values) != "{}" || section(p, "preferences").InFile {
						t.Errorf("accounts export brought preferences %s", p.Doc.Preferences.Values)
					}
				} else if string(p.Doc.Preferences.Values) != string(local.Preferences.Values) {
					t.Errorf("preferences %s", p.Doc.Preferences.Values)
				}
				if _, ok := p.Doc.Extra[ScopeMember]; ok {
					t.Error("the scope marker leaked into the imported document")
				}
				if p.Preview.FileScope != string(scope) || p.Preview.Encrypted != (pass != "") {
					t.Errorf("preview scope %q encrypted %v", p.Preview.FileScope, p.Preview.Encrypted)
				}
			})
		}
	}
	if _, _, err := Export(local, "everything", ExportOptions{}); !errors.Is(err, errkind.Invalid) {
		t.Errorf("unknown scope: %v", err)
	}
}

// A scope-limited export never lets replace wipe the section it lacks.
func TestReplaceNeverWipesMissingSection(t *testing.T) {
	local := localDoc(t)
	prefsOnly, _, err := Export(doc(t, t0+5, `{"theme":"light"}`, nil), ScopePreferences, ExportOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	p := plan(t, local, prefsOnly, ImportOptions{Accounts: ModeReplace, Preferences: ModeReplace})
	if got := ids(p.Doc.Collection("accounts")); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("accounts %v after a preferences-only import", got)
	}
	if s := section(p, "accounts"); s.Mode != ModeSkip || s.InFile {
		t.Errorf("accounts section %+v", s)
	}
}

func TestRejections(t *testing.T) {
	local := localDoc(t)
	valid := fileDocClean(t)
	big := append([]byte(`{"format":"davsync","version":1,"x":"`), bytes.Repeat([]byte("a"), limits.Import)...)
	big = append(big, `"}`...)
	bomb := envelope.Gzip(append(append([]byte(`{"x":"`), bytes.Repeat([]byte(" "), limits.Import+10)...), `"}`...))
	dupIDs := strings.Replace(string(valid), `"id":"c"`, `"id":"b"`, 1)
	tests := []struct {
		name string
		in   []byte
		opts ImportOptions
		kind errkind.Kind
		msg  string
	}{
		{"empty", []byte("  \n"), ImportOptions{}, errkind.BadDocument, "empty"},
		{"too large", big, ImportOptions{}, errkind.TooLarge, "up to 32 MiB"},
		{"gzip bomb", bomb, ImportOptions{}, errkind.TooLarge, "expands to more than 32 MiB"},
		{"too deep", []byte(strings.Repeat("[", 5<<20)), ImportOptions{}, errkind.BadDocument, "more than 512 levels"},
		{"too deep inside a document", []byte(`{"format":"davsync","version":1,"x":` + strings.Repeat("[", 513) + strings.Repeat("]", 513) + `}`), ImportOptions{}, errkind.BadDocument, "more than 512 levels"},
		{"truncated", valid[:len(valid)/2], ImportOptions{}, errkind.BadDocument, "cut short"},
		{"not json", []byte("hello, world"), ImportOptions{}, errkind.BadDocument, "not JSON"},
		{"json but no backup", []byte(`{"hello":"world"}`), ImportOptions{}, errkind.BadDocument, "neither a davsync export nor an All API Hub backup"},
		{"json array", []byte(`[1,2,3]`), ImportOptions{}, errkind.BadDocument, "neither"},
		{"wrong type in a field", bytes.Replace(valid, []byte(`"disabled":false`), []byte(`"disabled":"no"`), 1), ImportOptions{}, errkind.BadDocument, `"disabled" must be true or false`},
		{"duplicate ids", []byte(dupIDs), ImportOptions{}, errkind.BadDocument, "b"},
		{"newer version", bytes.Replace(valid, []byte(`"version":1`), []byte(`"version":7`), 1), ImportOptions{}, errkind.NewerVersion, "version 7"},
		{"bad timestamp", bytes.Replace(valid, []byte(`"updated_at":1763000000010`), []byte(`"updated_at":-5`), 1), ImportOptions{}, errkind.BadDocument, "negative"},
		{"newer All API Hub", []byte(`{"version":"9.0","accounts":[]}`), ImportOptions{}, errkind.NewerVersion, "1.0 to 4.0"},
		{"All API Hub wrong type", []byte(`{"version":"4.0","accounts":[{"id":"x","site_url":1}]}`), ImportOptions{}, errkind.BadDocument, "site_url should be text"},
		{"All API Hub duplicate ids", []byte(`{"version":"4.0","accounts":[{"id":"x"},{"id":"x"}]}`), ImportOptions{}, errkind.BadDocument, "same id"},
		{"All API Hub time after year 3000", []byte(`{"version":"4.0","accounts":[{"id":"x","updated_at":99999999999999}]}`), ImportOptions{}, errkind.BadDocument, "year 3000"},
		{"damaged base64 gzip", []byte("H4sI!!!!"), ImportOptions{}, errkind.BadDocument, "base64"},
		{"double gzip", envelope.Gzip(envelope.Gzip(valid)), ImportOptions{}, errkind.BadDocument, "neither"},
		{"bad mode", valid, ImportOptions{Accounts: "overwrite"}, errkind.Invalid, "unknown import mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := local.Marshal()
			p, err := Plan(local, tt.in, tt.opts)
			if err == nil {
				t.Fatalf("accepted: %+v", p.Preview)
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("kind %s (%v), want %s", errkind.Of(err), err, tt.kind)
			}
			if msg := errkind.Message(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q lacks %q", msg, tt.msg)
			}
			if !bytes.Equal(before, local.Marshal()) {
				t.Error("a refused import changed the local document")
			}
		})
	}
}

func TestDetection(t *testing.T) {
	valid := fileDocClean(t)
	sealed, err := envelope.Seal(envelope.Gzip(valid), "pw", testKDF())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		in              []byte
		enc, compressed bool
	}{
		{"plain", valid, false, false},
		{"pasted with spaces and BOM", append([]byte("\ufeff \n"), append(valid, "\n\n"...)...), false, false},
		{"gzip", envelope.Gzip(valid), false, true},
		{"gzip as base64", []byte(base64.StdEncoding.EncodeToString(envelope.Gzip(valid))), false, true},
		{"gzip as a data URL", []byte("data:application/gzip;base64," + base64.StdEncoding.EncodeToString(envelope.Gzip(valid))), false, true},
		{"encrypted gzip (the sync file)", sealed, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := plan(t, nil, tt.in, ImportOptions{Passphrase: "pw", KDF: testKDF()})
			if p.Preview.Encrypted != tt.enc || p.Preview.Compressed != tt.compressed || p.Preview.Source != SourceDavsync {
				t.Errorf("preview %+v", p.Preview)
			}
			if got := ids(p.Doc.Collection("accounts")); len(got) != 5 {
				t.Errorf("records %v", got)
			}
		})
	}
}

func TestNormalizeURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://Example.COM/", "example.com"},
		{"http://example.com", "example.com"},
		{"example.com///", "example.com"},
		{"//EXAMPLE.com/api/", "example.com/api"},
		{"https://example.com/API/v1/", "example.com/API/v1"},
		{"https://example.com:8443/", "example.com:8443"},
		{"  https://example.com/?a=B  ", "example.com?a=B"},
		{"https://api.example.com:443/", "api.example.com"},
		{"http://api.example.com:80", "api.example.com"},
		{"https://api.example.com/v1/?lang=en", "api.example.com/v1?lang=en"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeURL(tt.in); got != tt.want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	same := [][2]string{{"https://x.example.com/", "http://X.example.com"}, {"x.example.com", "HTTPS://x.EXAMPLE.com//"}}
	for _, s := range same {
		if dupKey([]byte(`{"site_url":"`+s[0]+`","username":"u"}`)) != dupKey([]byte(`{"site_url":"`+s[1]+`","username":" u "}`)) {
			t.Errorf("%q and %q should be duplicates", s[0], s[1])
		}
	}
	if dupKey([]byte(`{"site_url":"https://x.example.com","username":"u"}`)) == dupKey([]byte(`{"site_url":"https://x.example.com","username":"U"}`)) {
		t.Error("usernames differing in case are different accounts")
	}
	if dupKey([]byte(`{"username":"u"}`)) != "" {
		t.Error("a record without site_url has no duplicate key")
	}
}

func TestPreviewJSON(t *testing.T) {
	p := plan(t, localDoc(t), fileDocClean(t), ImportOptions{})
	b, err := json.Marshal(p.Result())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"source":"davsync"`, `"sections":[`, `"added":`, `"not_imported":[]`, `"duplicates":[{"id":"f","existing_id":"a"`, `"applied":true`, `"in_file":true`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("result JSON lacks %s: %s", key, b)
		}
	}
}

// Every All API Hub fixture, plain and encrypted, plans into an empty and a
// populated device.
func TestAllAPIHubFiles(t *testing.T) {
	dir := filepath.Join("..", "allapihub", "testdata")
	files, err := filepath.Glob(filepath.Join(dir, "v[1-4]*.json"))
	if err != nil || len(files) < 14 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		enc := strings.HasSuffix(name, ".enc.json")
		if testing.Short() && name == "v4.enc.json" {
			continue // 250,000 iterations: covered by the native run
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			pass := ""
			if enc {
				pass = "correct horse battery staple"
				if _, err := Plan(nil, data, ImportOptions{}); !errors.Is(err, errkind.PassphraseNeeded) {
					t.Fatalf("no passphrase: %v", err)
				}
			}
			p := plan(t, nil, data, ImportOptions{Passphrase: pass})
			if p.Preview.Source != SourceAllAPIHub || p.Preview.Encrypted != enc {
				t.Errorf("preview %+v", p.Preview)
			}
			acc := section(p, "accounts")
			if acc.InFile && acc.Added == 0 {
				t.Errorf("no accounts added: %+v", acc)
			}
			if acc.Added != len(p.Doc.Collection("accounts").Records) {
				t.Errorf("added %d, have %d", acc.Added, len(p.Doc.Collection("accounts").Records))
			}
			// Import it again in merge mode: nothing changes (idempotent).
			again := plan(t, p.Doc, data, ImportOptions{Passphrase: pass})
			if again.Preview.Changed {
				t.Errorf("re-import changed something: %+v", again.Preview.Sections)
			}
		})
	}
}

func TestAllAPIHubIntoExistingDevice(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "allapihub", "testdata", "v4.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The device has the same Iota site under its own id, and a theme and
	// another preference.
	local := doc(t, t0, `{"theme":"dark","notify":true}`, nil, acct("mine", "iota.example.com", "ivy", t0))
	p := plan(t, local, data, ImportOptions{})
	if got := ids(p.Doc.Collection("accounts")); !slices.Equal(got, []string{"mine", "v4-a", "v4-b", "v4-revived"}) {
		t.Errorf("records %v", got)
	}
	if d := p.Preview.Duplicates; len(d) != 1 || d[0].ID != "v4-a" || d[0].ExistingID != "mine" {
		t.Errorf("duplicates %+v", d)
	}
	// Their preferences are newer: theme laid over ours, notify kept.
	if got := string(p.Doc.Preferences.Values); got != `{"theme":"light","notify":true}` {
		t.Errorf("preferences %s", got)
	}
	if len(p.Preview.NotImported) == 0 {
		t.Error("not-imported report missing")
	}
	// add with skip-duplicates leaves the Iota copy out
	p = plan(t, local, data, ImportOptions{Accounts: ModeAdd, SkipDuplicates: true})
	if got := ids(p.Doc.Collection("accounts")); !slices.Equal(got, []string{"mine", "v4-b", "v4-revived"}) {
		t.Errorf("records %v", got)
	}
	// Our preferences newer than theirs: merge keeps ours untouched.
	newerHere := doc(t, t0+1000000, `{"theme":"dark","notify":true}`, nil)
	p = plan(t, newerHere, data, ImportOptions{Accounts: ModeSkip})
	if got := string(p.Doc.Preferences.Values); got != `{"theme":"dark","notify":true}` || p.Doc.Preferences.UpdatedAt != t0+1000000 {
		t.Errorf("preferences %s at %d", got, p.Doc.Preferences.UpdatedAt)
	}
	// A preferences-only file never touches accounts, even with replace.
	prefs, _ := os.ReadFile(filepath.Join("..", "allapihub", "testdata", "v4-preferences.json"))
	p = plan(t, local, prefs, ImportOptions{Accounts: ModeReplace, Preferences: ModeReplace})
	if got := ids(p.Doc.Collection("accounts")); !slices.Equal(got, []string{"mine"}) {
		t.Errorf("records %v", got)
	}
	if got := string(p.Doc.Preferences.Values); got != `{"theme":"dark","notify":true,"language":"en"}` {
		t.Errorf("preferences %s", got)
	}
}

func FuzzPlan(f *testing.F) {
	f.Add([]byte(`{"format":"davsync","version":1,"collections":{"accounts":{"records":[{"id":"a","updated_at":1}],"tombstones":[]}},"preferences":{"updated_at":0,"values":{}}}`))
	f.Add([]byte(`{"version":"4.0","accounts":{"accounts":[{"id":"x","site_url":"a.example"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		local := backup.New()
		for _, m := range []Mode{ModeMerge, ModeAdd, ModeReplace} {
			p, err := Plan(local, data, ImportOptions{Accounts: m, Preferences: m, Now: now})
			if err != nil {
				if errkind.Of(err) == errkind.Unknown {
					t.Fatalf("unclassified error: %v", err)
				}
				return
			}
			if _, err := backup.Parse(p.Doc.Marshal()); err != nil {
				t.Fatalf("planned document does not parse: %v", err)
			}
		}
	})
}

// TestMergeImportMeasuresHorizonByWallClock: after this device merged a
// record from a device whose clock runs 200 days ahead, its HLC (Now) runs
// that far ahead too. A merge import must still measure the tombstone
// horizon by the wall clock: a deletion made a day ago stays, or the file's
// old copy of the record would bring it back.
func TestMergeImportMeasuresHorizonByWallClock(t *testing.T) {
	local := doc(t, 0, `{}`, []string{"gone"}, acct("keep", "https://k.example", "k", t0))
	file := doc(t, 0, `{}`, nil, acct("gone", "https://g.example", "g", t0-5000), acct("keep", "https://k.example", "k", t0)).Marshal()
	ahead := t0 + 200*24*3600*1000
	p := plan(t, local, file, ImportOptions{Accounts: ModeMerge, Preferences: ModeSkip, Now: ahead, Wall: t0 + 24*3600*1000})
	acc := p.Doc.Collection("accounts")
	if _, ok := acc.Get("gone"); ok {
		t.Fatal("the import brought back a record deleted a day ago")
	}
	if _, ok := acc.Tombstone("gone"); !ok {
		t.Fatal("the import dropped a day-old tombstone as expired")
	}
}

// The sync file on the server is binary whenever compression (the default)
// or encryption is on: gzip, or the binary envelope (a JSON header line and
// raw ciphertext). A user who downloads it from the server and imports it
// on the Import page must get it in, so the page has to send the file's
// bytes in a form that survives a JS string: a base64 data URL.
func TestImportBinarySyncFileAsDataURL(t *testing.T) {
	local := doc(t, 1, `{"theme":"dark"}`, nil, acct("a1", "https://a.example/", "u", t0))
	plain := local.Marshal()
	key, err := envelope.NewKey("pass-phrase", testKDF(), envelope.KeyOptions{Iterations: envelope.MinIterations})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		compress bool
		key      *envelope.Key
	}{{"gzip", true, nil}, {"encrypted", false, key}, {"encrypted+gzip", true, key}} {
		file, err := envelope.Wrap(plain, c.compress, c.key)
		if err != nil {
			t.Fatal(err)
		}
		// Raw bytes work (a native caller):
		if _, err := Plan(nil, file, ImportOptions{Passphrase: "pass-phrase", KDF: testKDF(), Now: now}); err != nil {
			t.Errorf("%s, raw bytes: %v", c.name, err)
		}
		// As a data URL (how a page can carry binary bytes in a string):
		url := "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(file)
		p, err := Plan(nil, []byte(url), ImportOptions{Passphrase: "pass-phrase", KDF: testKDF(), Now: now})
		if err != nil {
			t.Errorf("%s, as a data URL: %v", c.name, err)
			continue
		}
		if _, ok := p.Doc.Collection("accounts").Get("a1"); !ok {
			t.Errorf("%s: account not imported", c.name)
		}
	}
}

// TestImportBinaryEndingInWhitespace: the last byte of a binary envelope is
// ciphertext and is whitespace about once in 40 files; trimming the input
// as text cut it off and the file read as damaged.
func TestImportBinaryEndingInWhitespace(t *testing.T) {
	plain := doc(t, 1, `{"theme":"dark"}`, nil, acct("a1", "https://a.example/", "u", t0)).Marshal()
	key, err := envelope.NewKey("pass-phrase", testKDF(), envelope.KeyOptions{Iterations: envelope.MinIterations})
	if err != nil {
		t.Fatal(err)
	}
	for _, compress := range []bool{false, true} {
		var file []byte
		for i := 0; ; i++ {
			if file, err = envelope.Wrap(plain, compress, key); err != nil {
				t.Fatal(err)
			}
			if strings.ContainsRune(" \t\r\n\v\f", rune(file[len(file)-1])) || i > 5000 {
				break
			}
		}
		if p, err := Plan(nil, file, ImportOptions{Passphrase: "pass-phrase", KDF: testKDF(), Now: now}); err != nil {
			t.Errorf("compress=%v, file ending in %q: %v", compress, file[len(file)-1], err)
		} else if _, ok := p.Doc.Collection("accounts").Get("a1"); !ok {
			t.Errorf("compress=%v: account not imported", compress)
		}
	}
}

// TestTooLargeReportsTheRealSize: only base64 input (a data URL, pasted
// gzip) is measured decoded; a big plain paste is reported at its size.
func TestTooLargeReportsTheRealSize(t *testing.T) {
	data := append([]byte(`{"format":"davsync","version":1,"notes":"`), bytes.Repeat([]byte("x"), 50<<20)...)
	_, err := Plan(nil, data, ImportOptions{})
	if errkind.Of(err) != errkind.TooLarge {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(errkind.Message(err), "50.0 MiB") {
		t.Fatalf("a 50 MiB paste is refused as: %s", errkind.Message(err))
	}
}

// A site address that is not a web address (javascript:, data:) is imported
// as data but reported, so the user knows it is shown as text only.
func TestImportReportsNonWebSiteURLs(t *testing.T) {
	file := doc(t, 0, `{}`, nil, acct("x", "javascript:alert(1)", "u", t0), acct("y", "https://ok.example", "u", t0))
	p := plan(t, localDoc(t), file.Marshal(), ImportOptions{})
	found := false
	for _, w := range p.Preview.Warnings {
		found = found || strings.Contains(w.String(), "1 account in the file has") && strings.Contains(w.String(), "javascript:alert(1)")
	}
	if !found {
		t.Fatalf("warnings %q do not report the javascript: address", p.Preview.Warnings)
	}
}
