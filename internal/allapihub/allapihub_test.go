package allapihub

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/tidwall/gjson"
)

var update = flag.Bool("update", false, "rewrite the encrypted fixtures in testdata/")

// fixturePassphrase encrypts every *.enc.json fixture.
const fixturePassphrase = "correct horse battery staple"

const now = int64(1764000000000)

// encryptedFixtures: plain fixture -> iteration count of its encrypted twin.
// One uses All API Hub's real 250,000; the others fewer so the wasm test run
// stays quick.
var encryptedFixtures = map[string]int{
	"v1-nested.json":         10000,
	"v1-flat.json":           10000,
	"v2.json":                10000,
	"v2-accounts-array.json": 10000,
	"v3.json":                10000,
	"v4.json":                250000,
	"v4-preferences.json":    10000,
}

// sealIndependently writes All API Hub's envelope with the standard library
// only, following the format description in peers.md rather than the
// envelope package, so the fixtures also check envelope.OpenAllAPIHub.
func sealIndependently(t *testing.T, plain []byte, iter int) []byte {
	salt, iv := make([]byte, 16), make([]byte, 12)
	rand.Read(salt)
	rand.Read(iv)
	key, err := pbkdf2.Key(sha256.New, fixturePassphrase, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	env := map[string]any{
		"type": EncryptedType, "v": 1, "kdf": "PBKDF2", "cipher": "AES-GCM", "iter": iter,
		"salt": base64.StdEncoding.EncodeToString(salt),
		"iv":   base64.StdEncoding.EncodeToString(iv),
		"ct":   base64.StdEncoding.EncodeToString(gcm.Seal(nil, iv, plain, nil)),
	}
	out, _ := json.MarshalIndent(env, "", "  ")
	return out
}

func encName(plain string) string { return strings.TrimSuffix(plain, ".json") + ".enc.json" }

func TestUpdateEncryptedFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the encrypted fixtures")
	}
	for name, iter := range encryptedFixtures {
		plain, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", encName(name)), sealIndependently(t, plain, iter), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want describes what a fixture must convert to.
type want struct {
	version     string
	hasAccounts bool
	hasPrefs    bool
	ids         []string // record ids, sorted
	tombstones  []string
	prefs       string // the values object
	notImported map[string]int
	check       func(t *testing.T, doc gjson.Result)
}

var fixtures = map[string]want{
	"v1-nested.json": {
		version: "1.0", hasAccounts: true, hasPrefs: true,
		ids:         []string{"v1-a", "v1-b"},
		prefs:       `{"theme":"dark","language":"en"}`,
		notImported: map[string]int{"preferences": 3},
		check: func(t *testing.T, doc gjson.Result) {
			a := record(doc, "v1-a")
			eq(t, a.Get("tags").Raw, `["work","paid"]`)
			eq(t, a.Get("notes").String(), "first")
			eq(t, a.Get("username").String(), "alice")
			eq(t, a.Get("access_token").String(), "tok-alpha-v1")
			eq(t, record(doc, "v1-b").Get("disabled").Raw, "true")
			eq(t, doc.Get("preferences.updated_at").Int(), int64(1763000000000-5000))
		},
	},
	"v1-flat.json": {
		version: "1.0", hasAccounts: true, hasPrefs: true,
		ids:         []string{"v1f-a"},
		prefs:       `{"theme":"light","language":"zh_CN"}`,
		notImported: map[string]int{"preferences": 1},
		check: func(t *testing.T, doc gjson.Result) {
			a := record(doc, "v1f-a")
			eq(t, a.Get("notes").Raw, `""`) // null becomes empty text
			eq(t, a.Get("tags").Raw, `[]`)
			// no timestamp in the file: exported_at falls back to now
			eq(t, doc.Get("exported_at").Int(), now)
		},
	},
	"v2.json": {
		version: "2.0", hasAccounts: true, hasPrefs: true,
		ids:         []string{"v2-a", "v2-b"},
		prefs:       `{"theme":"system","language":"zh_CN"}`,
		notImported: map[string]int{"preferences": 3, "pinnedAccountIds": 1, "channelConfigs": 2},
		check: func(t *testing.T, doc gjson.Result) {
			a := record(doc, "v2-a")
			// user_updated_at wins over the refresh-stamped updated_at
			eq(t, a.Get("updated_at").Int(), int64(1763000000000-3600000))
			eq(t, a.Get("x_allapihub.updated_at").Int(), int64(1763000000000))
			eq(t, record(doc, "v2-b").Get("updated_at").Int(), int64(1763000000000))
		},
	},
	"v2-accounts-array.json": {
		version: "2.0", hasAccounts: true, hasPrefs: false,
		ids: []string{"v2x-a"}, prefs: `{}`,
		notImported: map[string]int{},
	},
	"v3.json": {
		version: "3.0", hasAccounts: true, hasPrefs: true,
		ids: []string{"v3-a", "v3-b"}, tombstones: []string{"v3-gone"},
		prefs:       `{"theme":"dark","language":"en"}`,
		notImported: map[string]int{"bookmarks": 1, "orderedAccountIds": 2, "deletedEntryRecords (bookmark)": 1, "channelConfigs": 3},
		check: func(t *testing.T, doc gjson.Result) {
			eq(t, record(doc, "v3-a").Get("tags").Raw, `["Work","Cheap"]`)
			eq(t, record(doc, "v3-b").Get("tags").Raw, `["Cheap"]`)
			eq(t, doc.Get(`collections.accounts.tombstones.0.deleted_at`).Int(), int64(1763000000000-100))
		},
	},
	"v4.json": {
		version: "4.0", hasAccounts: true, hasPrefs: true,
		ids:        []string{"v4-a", "v4-b", "v4-revived"},
		tombstones: []string{"v4-c", "v4-deleted"},
		prefs:      `{"theme":"light"}`,
		notImported: map[string]int{
			"bookmarks": 2, "pinnedAccountIds": 1, "orderedAccountIds": 3,
			"deletedEntryRecords (bookmark)": 1, "accounts": 1, "tagStore": 1,
			"preferences": 3, "channelConfigs": 1, "apiCredentialProfiles": 2, "someFutureSection": 1,
		},
		check: func(t *testing.T, doc gjson.Result) {
			a := record(doc, "v4-a")
			// duplicates removed, unknown tag id kept as its id
			eq(t, a.Get("tags").Raw, `["Work","tag-missing"]`)
			// the original record is kept whole, unknown fields included
			eq(t, a.Get("x_allapihub.futureField.x.2").Int(), int64(3))
			eq(t, a.Get("x_allapihub.account_info.quota").Int(), int64(123456))
			eq(t, a.Get("site_url").String(), "https://IOTA.example.com/")
			eq(t, record(doc, "v4-b").Get("disabled").Raw, "true")
		},
	},
	"v4-preferences.json": {
		version: "4.0", hasAccounts: false, hasPrefs: true,
		prefs:       `{"theme":"dark","language":"en"}`,
		notImported: map[string]int{"preferences": 1},
	},
}

func record(doc gjson.Result, id string) gjson.Result {
	var out gjson.Result
	doc.Get("collections.accounts.records").ForEach(func(_, r gjson.Result) bool {
		if r.Get("id").String() == id {
			out = r
			return false
		}
		return true
	})
	return out
}

func eq[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func ids(arr gjson.Result) []string {
	out := []string{}
	arr.ForEach(func(_, r gjson.Result) bool { out = append(out, r.Get("id").String()); return true })
	return out
}

func checkResult(t *testing.T, res *Converted, w want) {
	t.Helper()
	if !gjson.ValidBytes(res.Doc.Marshal()) {
		t.Fatalf("document is not valid JSON: %s", res.Doc.Marshal())
	}
	doc := gjson.ParseBytes(res.Doc.Marshal())
	eq(t, doc.Get("format").String(), "davsync")
	eq(t, doc.Get("version").Int(), int64(1))
	eq(t, res.Report.Version, w.version)
	eq(t, res.HasAccounts, w.hasAccounts)
	eq(t, res.HasPreferences, w.hasPrefs)
	if got := ids(doc.Get("collections.accounts.records")); !slices.Equal(got, orEmpty(w.ids)) {
		t.Errorf("records %v, want %v", got, w.ids)
	}
	if got := ids(doc.Get("collections.accounts.tombstones")); !slices.Equal(got, orEmpty(w.tombstones)) {
		t.Errorf("tombstones %v, want %v", got, w.tombstones)
	}
	eq(t, doc.Get("preferences.values").Raw, w.prefs)
	got := map[string]int{}
	for _, it := range res.Report.NotImported {
		got[it.Section] += it.Count
		if it.Reason == "" {
			t.Errorf("not-imported item %q has no reason", it.Section)
		}
	}
	if !mapsEqual(got, w.notImported) {
		t.Errorf("not imported %v, want %v", got, w.notImported)
	}
	doc.Get("collections.accounts.records").ForEach(func(_, r gjson.Result) bool {
		if r.Get("updated_at").Int() <= 0 || r.Get("created_at").Int() <= 0 || !r.Get(Field).IsObject() {
			t.Errorf("record %s lacks times or the original: %s", r.Get("id"), r.Raw)
		}
		return true
	})
	if w.check != nil {
		w.check(t, doc)
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestFixturesPlain(t *testing.T) {
	for name, w := range fixtures {
		t.Run(name, func(t *testing.T) {
			data := read(t, name)
			if k := kindOf(data); k != Plain {
				t.Fatalf("Detect = %v", k)
			}
			res, err := Read(data, "", nil, ConvertOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if res.Encrypted {
				t.Error("plain file reported as encrypted")
			}
			checkResult(t, res, w)
		})
	}
}

func TestFixturesEncrypted(t *testing.T) {
	for name, iter := range encryptedFixtures {
		if testing.Short() && iter > 10000 {
			continue // the 250k fixture is covered natively
		}
		t.Run(encName(name), func(t *testing.T) {
			data := read(t, encName(name))
			if k := kindOf(data); k != Encrypted {
				t.Fatalf("Detect = %v", k)
			}
			if _, err := Read(data, "", nil, ConvertOptions{Now: now}); !errors.Is(err, errkind.PassphraseNeeded) {
				t.Fatalf("no passphrase: got %v, want passphrase_needed", err)
			}
			if _, err := Read(data, "wrong", nil, ConvertOptions{Now: now}); !errors.Is(err, errkind.Decrypt) {
				t.Fatalf("wrong passphrase: got %v, want decrypt", err)
			}
			res, err := Read(data, fixturePassphrase, nil, ConvertOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Encrypted {
				t.Error("encrypted file not reported as encrypted")
			}
			checkResult(t, res, fixtures[name])
			plain, err := Read(read(t, name), "", nil, ConvertOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			eq(t, string(res.Doc.Marshal()), string(plain.Doc.Marshal()))
		})
	}
}

// SealAllAPIHub (crypto's fixture writer) and this package agree.
func TestSealAllAPIHubRoundTrip(t *testing.T) {
	sealed, err := envelope.SealAllAPIHub(read(t, "v3.json"), "pw", 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Read(sealed, "pw", nil, ConvertOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, res, fixtures["v3.json"])
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind errkind.Kind
		msg  string // a part of the user's message
	}{
		{"newer version", string(read(t, "v5.json")), errkind.NewerVersion, `version "5.0"`},
		{"unknown version", `{"version":"banana","accounts":[]}`, errkind.BadDocument, `"banana" is not one davsync knows`},
		{"numeric version", `{"version":4,"accounts":[]}`, errkind.BadDocument, `not text like "4.0"`},
		{"not json", `{"accounts":[`, errkind.BadDocument, "not valid JSON"},
		{"too deep", `{"accounts":` + strings.Repeat("[", 100000), errkind.BadDocument, "more than 512 levels"},
		{"not an object", `[1,2]`, errkind.BadDocument, "not a JSON object"},
		{"accounts wrong type", `{"version":"4.0","accounts":"x"}`, errkind.BadDocument, "neither a list nor an object"},
		{"accounts.accounts wrong type", `{"version":"4.0","accounts":{"accounts":{}}}`, errkind.BadDocument, "accounts.accounts is not a list"},
		{"account not object", `{"version":"4.0","accounts":[1]}`, errkind.BadDocument, "account 1 is a number"},
		{"missing id", `{"version":"4.0","accounts":[{"site_name":"x"}]}`, errkind.BadDocument, "account 1 has no id"},
		{"numeric id", `{"version":"4.0","accounts":[{"id":7}]}`, errkind.BadDocument, "id should be non-empty text"},
		{"duplicate id", `{"version":"4.0","accounts":[{"id":"a"},{"id":"b"},{"id":"a"}]}`, errkind.BadDocument, `accounts 1 and 3 have the same id "a"`},
		{"url wrong type", `{"version":"4.0","accounts":[{"id":"a","site_url":5}]}`, errkind.BadDocument, `site_url should be text but is a number`},
		{"username wrong type", `{"version":"4.0","accounts":[{"id":"a","account_info":{"username":[]}}]}`, errkind.BadDocument, `account_info.username should be text`},
		{"account_info wrong type", `{"version":"4.0","accounts":[{"id":"a","account_info":"x"}]}`, errkind.BadDocument, `account_info should be an object`},
		{"disabled wrong type", `{"version":"4.0","accounts":[{"id":"a","disabled":"yes"}]}`, errkind.BadDocument, `disabled should be true/false`},
		{"time wrong type", `{"version":"4.0","accounts":[{"id":"a","updated_at":"today"}]}`, errkind.BadDocument, `updated_at should be a time in milliseconds`},
		{"time fractional", `{"version":"4.0","accounts":[{"id":"a","created_at":1.5}]}`, errkind.BadDocument, `created_at should be a time`},
		{"time negative", `{"version":"4.0","accounts":[{"id":"a","created_at":-1}]}`, errkind.BadDocument, `created_at should be a time`},
		{"tagIds wrong type", `{"version":"4.0","accounts":[{"id":"a","tagIds":"t"}]}`, errkind.BadDocument, `tagIds should be a list of text`},
		{"tag entry wrong type", `{"version":"4.0","accounts":[{"id":"a","tagIds":[1]}]}`, errkind.BadDocument, `tagIds entries should be text`},
		{"deletions wrong type", `{"version":"4.0","accounts":{"accounts":[],"deletedEntryRecords":[]}}`, errkind.BadDocument, `deletedEntryRecords is not an object`},
		{"deletion entry wrong type", `{"version":"4.0","accounts":{"accounts":[],"deletedEntryRecords":{"x":1}}}`, errkind.BadDocument, `deletion record "x" is a number`},
		{"preferences wrong type", `{"version":"4.0","preferences":[]}`, errkind.BadDocument, `preferences section is not an object`},
		{"tagStore wrong type", `{"version":"4.0","accounts":[],"tagStore":[]}`, errkind.BadDocument, `tagStore is not an object`},
		{"encrypted handed to Convert", `{"type":"all-api-hub-webdav-backup-encrypted"}`, errkind.PassphraseNeeded, "encrypted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Convert([]byte(tt.in), ConvertOptions{Now: now})
			if !errors.Is(err, tt.kind) {
				t.Fatalf("got %v (%s), want kind %s", err, errkind.Of(err), tt.kind)
			}
			if msg := errkind.Message(err); !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not contain %q", msg, tt.msg)
			}
		})
	}
}

func TestEncryptedHostile(t *testing.T) {
	huge := `{"type":"all-api-hub-webdav-backup-encrypted","v":1,"kdf":"PBKDF2","cipher":"AES-GCM","iter":2000000000,"salt":"AAAAAAAAAAAAAAAAAAAAAA==","iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`
	if _, err := Read([]byte(huge), "pw", nil, ConvertOptions{}); !errors.Is(err, errkind.BadDocument) {
		t.Fatalf("huge iter: got %v, want bad_document before any key derivation", err)
	}
	// an envelope that holds something other than an All API Hub backup
	inner, err := envelope.SealAllAPIHub([]byte(`{"hello":"world"}`), "pw", 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Read(inner, "pw", nil, ConvertOptions{}); !errors.Is(err, errkind.BadDocument) {
		t.Fatalf("foreign content: got %v", err)
	}
}

func TestDetection(t *testing.T) {
	tests := []struct {
		in          string
		backup, enc bool
	}{
		{`{"format":"davsync","version":1,"collections":{}}`, false, false},
		{`{"accounts":[]}`, true, false},
		{`{"data":{"accounts":[]}}`, true, false},
		{`{"preferences":{"themeMode":"dark"}}`, true, false},
		{`{"hello":"world"}`, false, false},
		{`{"accounts":"x"}`, false, false},
		{`not json`, false, false},
		{`  {"type":"all-api-hub-webdav-backup-encrypted","v":1}  `, false, true},
	}
	for _, tt := range tests {
		k := kindOf([]byte(tt.in))
		if (k == Plain) != tt.backup || (k == Encrypted) != tt.enc {
			t.Errorf("Detect(%s) = %v", tt.in, k)
		}
	}
}

// kindOf is Detect on raw bytes: NotAllAPIHub for what is not JSON.
func kindOf(data []byte) Kind {
	c, err := check(data)
	if err != nil {
		return NotAllAPIHub
	}
	return Detect(gjson.ParseBytes(c.JSON))
}

// Preference values that are not imported (passwords among them) never
// reach the document or the report.
func TestSecretsInPreferencesNotCopied(t *testing.T) {
	for _, name := range []string{"v1-nested.json", "v2.json", "v4.json"} {
		res, err := Convert(read(t, name), ConvertOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := json.Marshal(res.Report)
		for _, secret := range []string{"v1-dav-secret", "v2-dav-secret", "v2-admin-token", "v4-dav-secret", "sk-profile-secret"} {
			if strings.Contains(string(res.Doc.Marshal()), secret) || strings.Contains(string(rep), secret) {
				t.Errorf("%s: %q leaked into the import", name, secret)
			}
		}
	}
}

func TestEdgeCases(t *testing.T) {
	t.Run("tombstone without time is reported", func(t *testing.T) {
		res, err := Convert([]byte(`{"version":"4.0","accounts":{"accounts":[],"deletedEntryRecords":{"x":{"kind":"account"}}}}`), ConvertOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, res.Report.Tombstones, 0)
		eq(t, len(res.Report.NotImported), 1)
	})
	t.Run("record without any time gets the file time", func(t *testing.T) {
		res, err := Convert([]byte(`{"version":"4.0","timestamp":1700000000000,"accounts":[{"id":"a"}]}`), ConvertOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, gjson.GetBytes(res.Doc.Marshal(), "collections.accounts.records.0.updated_at").Int(), int64(1700000000000))
		eq(t, gjson.GetBytes(res.Doc.Marshal(), "collections.accounts.records.0.created_at").Int(), int64(1700000000000))
	})
	t.Run("string timestamp", func(t *testing.T) {
		res, err := Convert([]byte(`{"timestamp":"2024-01-02T03:04:05Z","accounts":[{"id":"a"}]}`), ConvertOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, gjson.GetBytes(res.Doc.Marshal(), "exported_at").Int(), int64(1704164645000))
	})
	t.Run("odd characters survive", func(t *testing.T) {
		res, err := Convert([]byte(`{"accounts":[{"id":"a\"b","site_name":"名字 \u2028 <x>","tags":["a\\b"]}]}`), ConvertOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if !gjson.ValidBytes(res.Doc.Marshal()) {
			t.Fatalf("invalid output %s", res.Doc.Marshal())
		}
		r := gjson.GetBytes(res.Doc.Marshal(), "collections.accounts.records.0")
		eq(t, r.Get("id").String(), `a"b`)
		eq(t, r.Get("site_name").String(), "名字 \u2028 <x>")
		eq(t, r.Get("tags.0").String(), `a\b`)
	})
}

func FuzzConvert(f *testing.F) {
	for name := range fixtures {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Convert(data, ConvertOptions{Now: now})
		if err != nil {
			if errkind.Of(err) == errkind.Unknown {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if !gjson.ValidBytes(res.Doc.Marshal()) {
			t.Fatalf("invalid document from %q: %s", data, res.Doc.Marshal())
		}
	})
}
