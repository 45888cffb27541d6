package allapihub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/jsonlimit"
	"github.com/davsync/davsync/internal/msg"
	"github.com/tidwall/gjson"
)

// EncryptedType is the "type" of All API Hub's encrypted envelope.
const EncryptedType = "all-api-hub-webdav-backup-encrypted"

// Versions lists the All API Hub backup versions this package reads; a
// file without a version is "1.0".
var Versions = []string{"1.0", "2.0", "3.0", "4.0"}

// Field is the record member that keeps the original All API Hub account.
const Field = "x_allapihub"

const op = "import All API Hub backup"

// ConvertOptions tune Convert.
type ConvertOptions struct {
	// Now (ms since epoch) stamps records that carry no time at all.
	Now int64
}

// Converted is a converted All API Hub backup.
type Converted struct {
	// Doc is the davsync document, parsed and validated.
	Doc *backup.Document
	// HasAccounts is false when the file has no account section (a
	// preferences-only export); importing it must leave accounts alone.
	HasAccounts bool
	// HasPreferences is false when the file has no preference davsync maps.
	HasPreferences bool
	// Encrypted is set by Read when the file was All API Hub's encrypted envelope.
	Encrypted bool
	// Report lists what was imported and everything that was not.
	Report Report
}

// Report says what a conversion kept and what it could not. It is part of
// the import preview, so it is JSON with snake_case names.
type Report struct {
	Version     string    `json:"version"`
	Accounts    int       `json:"accounts"`
	Tombstones  int       `json:"tombstones"`
	Preferences []string  `json:"preferences"` // davsync preference keys filled from the file
	NotImported []Item    `json:"not_imported"`
	Notes       []msg.Msg `json:"notes"`
}

// Item is one part of the file davsync did not import.
type Item struct {
	// Section is All API Hub's own name for it (bookmarks, channelConfigs,
	// preferences, ...), so users recognise it.
	Section string `json:"section"`
	Count   int    `json:"count"`
	Reason  string `json:"reason"`
	// Names lists keys or tag names where that helps (never values), at
	// most 50.
	Names []string `json:"names,omitempty"`
}

// Kind is what a JSON value is to this package.
type Kind int

// The kinds Detect tells apart.
const (
	NotAllAPIHub Kind = iota
	Plain             // a plain All API Hub backup
	Encrypted         // All API Hub's encrypted envelope
)

// sectionKeys are the top-level members that mark an All API Hub backup.
var sectionKeys = []string{"accounts", "preferences", "tagStore", "channelConfigs", "apiCredentialProfiles"}

// Detect tells an All API Hub backup, plain or encrypted, from anything else
// by its top-level members, without converting it. root must come from JSON
// that passed jsonlimit.Check: Detect does not scan again.
func Detect(root gjson.Result) Kind {
	if !root.IsObject() || root.Get("format").String() == "davsync" {
		return NotAllAPIHub
	}
	if root.Get("type").String() == EncryptedType {
		return Encrypted
	}
	for _, k := range sectionKeys {
		if v := root.Get(k); v.IsObject() || v.IsArray() {
			return Plain
		}
	}
	if legacy := root.Get("data"); legacy.IsObject() && (legacy.Get("accounts").Exists() || legacy.Get("preferences").Exists()) {
		return Plain
	}
	return NotAllAPIHub
}

// check is jsonlimit.Check with this package's words for what it finds.
func check(data []byte) (jsonlimit.Checked, error) {
	c, p := jsonlimit.Check(bytes.TrimSpace(data))
	switch p {
	case jsonlimit.OK:
		return c, nil
	case jsonlimit.TooDeep:
		return c, bad(fmt.Sprintf("it nests JSON more than %d levels deep, which no real backup does.", jsonlimit.MaxDepth))
	case jsonlimit.NotUTF8:
		return c, bad("it is not UTF-8 text.")
	}
	return c, bad("it is not valid JSON.")
}

// bad says what is wrong with the backup. The pages say it in the user's
// language without the specifics (errAAHInvalid), which stay in the
// English for the command line and logs.
func bad(text string) error {
	return &errkind.Error{Kind: errkind.BadDocument, Op: op, Msg: "This All API Hub backup cannot be imported: " + text + " Nothing was imported.", Note: msg.New("errAAHInvalid")}
}

// Version returns the backup's version ("1.0" when it has none), or an
// error for a version this package does not read.
func Version(root gjson.Result) (string, error) {
	v := root.Get("version")
	switch v.Type {
	case gjson.Null:
		return "1.0", nil
	case gjson.String:
	default:
		// Clipped: the raw value may be megabytes of a hostile file, and
		// the message ends up on the status page.
		return "", bad(fmt.Sprintf("its \"version\" is %s, not text like \"4.0\".", clip(v.Raw)))
	}
	s := strings.TrimSpace(v.Str)
	for _, known := range Versions {
		if s == known {
			return s, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 4 {
		return "", errkind.Say(errkind.NewerVersion, op, msg.New("errAAHNewerBackup", strconv.Quote(clip(s))))
	}
	return "", bad(fmt.Sprintf("its version %q is not one davsync knows (1.0 to 4.0).", clip(s)))
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// Convert turns a plain All API Hub backup into a davsync document. The
// caller has already bounded the input's size (see internal/transfer);
// Convert checks the rest.
func Convert(plain []byte, opts ConvertOptions) (*Converted, error) {
	c, err := check(plain)
	if err != nil {
		return nil, err
	}
	return convert(gjson.ParseBytes(c.JSON), opts)
}

func convert(root gjson.Result, opts ConvertOptions) (*Converted, error) {
	if !root.IsObject() {
		return nil, bad("it is not a JSON object.")
	}
	if root.Get("type").String() == EncryptedType {
		return nil, errkind.Say(errkind.PassphraseNeeded, op, msg.New("errAAHEncrypted"))
	}
	version, err := Version(root)
	if err != nil {
		return nil, err
	}
	c := &converter{root: root, legacy: root.Get("data"), now: opts.Now}
	c.rep.Version = version
	c.fileTime = c.timestamp()
	if err := c.run(); err != nil {
		return nil, err
	}
	// The converter checks what it maps; backup.Parse checks the rest (a
	// time after the year 3000, say) on the bytes the converter wrote.
	doc, err := backup.Parse(c.out.Bytes())
	if err != nil {
		return nil, &errkind.Error{Kind: errkind.Of(err), Op: op, Msg: "This All API Hub backup cannot be imported: " + errkind.Message(err) + ". Nothing was imported.", Note: msg.New("errAAHInvalid"), Err: err}
	}
	return &Converted{Doc: doc, HasAccounts: c.hasAccounts, HasPreferences: c.hasPrefs, Report: c.rep}, nil
}

type converter struct {
	root, legacy gjson.Result
	now          int64
	fileTime     int64
	out          bytes.Buffer
	rep          Report
	hasAccounts  bool
	hasPrefs     bool
	tagsByID     map[string]string
	usedTags     map[string]bool
}

// section finds a top-level section, falling back to the legacy "data"
// object of 1.0 files.
func (c *converter) section(name string) gjson.Result {
	if v := c.root.Get(name); v.Exists() && v.Type != gjson.Null {
		return v
	}
	if c.legacy.IsObject() {
		return c.legacy.Get(name)
	}
	return gjson.Result{}
}

func (c *converter) timestamp() int64 {
	ts := c.root.Get("timestamp")
	switch ts.Type {
	case gjson.Number:
		if n, ok := msInt(ts); ok {
			return n
		}
	case gjson.String:
		if n, err := strconv.ParseInt(ts.Str, 10, 64); err == nil && n > 0 {
			return n
		}
		if t, err := time.Parse(time.RFC3339, ts.Str); err == nil {
			return t.UnixMilli()
		}
	}
	return 0
}

// msInt reads a non-negative integer millisecond value.
func msInt(v gjson.Result) (int64, bool) {
	if v.Type != gjson.Number || v.Num < 0 || v.Num > 1<<53 || v.Num != math.Trunc(v.Num) {
		return 0, false
	}
	return int64(v.Num), true
}

type account struct {
	id        string
	updatedAt int64
	raw       []byte
}

type tombstone struct {
	id        string
	deletedAt int64
}

func (c *converter) run() error {
	if err := c.readTags(); err != nil {
		return err
	}
	accounts, store, err := c.accountSection()
	if err != nil {
		return err
	}
	recs, err := c.accounts(accounts)
	if err != nil {
		return err
	}
	tombs, err := c.deletions(store)
	if err != nil {
		return err
	}
	recs, tombs = c.resolve(recs, tombs)
	c.reportAccountStore(store)
	c.reportTags()
	prefs, prefsAt, err := c.preferences()
	if err != nil {
		return err
	}
	c.reportOtherSections()

	exported := c.fileTime
	if exported == 0 {
		exported = c.now
	}
	b := &c.out
	b.WriteString(`{"format":"davsync","version":1,"exported_at":`)
	b.WriteString(strconv.FormatInt(exported, 10))
	b.WriteString(`,"collections":{"accounts":{"records":[`)
	for i, r := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r.raw)
	}
	b.WriteString(`],"tombstones":[`)
	for i, t := range tombs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":`)
		writeString(b, t.id)
		b.WriteString(`,"deleted_at":`)
		b.WriteString(strconv.FormatInt(t.deletedAt, 10))
		b.WriteByte('}')
	}
	b.WriteString(`]}},"preferences":{"updated_at":`)
	b.WriteString(strconv.FormatInt(prefsAt, 10))
	b.WriteString(`,"values":`)
	b.Write(prefs)
	b.WriteString(`}}`)
	c.rep.Accounts = len(recs)
	c.rep.Tombstones = len(tombs)
	if c.rep.NotImported == nil {
		c.rep.NotImported = []Item{}
	}
	if c.rep.Notes == nil {
		c.rep.Notes = []msg.Msg{}
	}
	if c.rep.Preferences == nil {
		c.rep.Preferences = []string{}
	}
	return nil
}

// writeString writes s as a JSON string.
func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

func (c *converter) readTags() error {
	c.tagsByID = map[string]string{}
	c.usedTags = map[string]bool{}
	store := c.section("tagStore")
	if !store.Exists() || store.Type == gjson.Null {
		return nil
	}
	if !store.IsObject() {
		return bad("its tagStore is not an object.")
	}
	byID := store.Get("tagsById")
	if !byID.Exists() || byID.Type == gjson.Null {
		return nil
	}
	if !byID.IsObject() {
		return bad("its tagStore.tagsById is not an object.")
	}
	byID.ForEach(func(k, v gjson.Result) bool {
		if name := v.Get("name"); name.Type == gjson.String && strings.TrimSpace(name.Str) != "" {
			c.tagsByID[k.String()] = name.Str
		}
		return true
	})
	return nil
}

// accountSection finds the account array and the storage object around it
// (bookmarks, deletions, ...), which 1.0 and early 2.0 files may lack.
func (c *converter) accountSection() (list, store gjson.Result, err error) {
	acc := c.section("accounts")
	switch {
	case !acc.Exists() || acc.Type == gjson.Null:
		return gjson.Result{}, gjson.Result{}, nil
	case acc.IsArray():
		c.hasAccounts = true
		return acc, gjson.Result{}, nil
	case acc.IsObject():
		c.hasAccounts = true
		list := acc.Get("accounts")
		if list.Exists() && list.Type != gjson.Null && !list.IsArray() {
			return list, acc, bad("its accounts.accounts is not a list.")
		}
		return list, acc, nil
	}
	return acc, gjson.Result{}, bad("its \"accounts\" section is neither a list nor an object.")
}

func (c *converter) accounts(list gjson.Result) ([]account, error) {
	var recs []account
	seen := map[string]int{}
	var unknownTags int
	var ferr error
	i := 0
	list.ForEach(func(_, a gjson.Result) bool {
		n := i
		i++
		rec, unknown, err := c.account(n, a)
		if err != nil {
			ferr = err
			return false
		}
		if first, dup := seen[rec.id]; dup {
			ferr = bad(fmt.Sprintf("accounts %d and %d have the same id %q; the file is damaged.", first+1, n+1, clip(rec.id)))
			return false
		}
		seen[rec.id] = n
		unknownTags += unknown
		recs = append(recs, rec)
		return true
	})
	if ferr != nil {
		return nil, ferr
	}
	if unknownTags > 0 {
		c.rep.Notes = append(c.rep.Notes, msg.Count("aahNoteUnknownTags", unknownTags))
	}
	return recs, nil
}

// fieldErr names the account and field in a wrong-type message.
func fieldErr(n int, id, field, want string, v gjson.Result) error {
	where := fmt.Sprintf("account %d", n+1)
	if id != "" {
		where += fmt.Sprintf(" (id %q)", clip(id))
	}
	return bad(fmt.Sprintf("in %s, %s should be %s but is %s.", where, field, want, typeName(v)))
}

func typeName(v gjson.Result) string {
	switch v.Type {
	case gjson.String:
		return "text"
	case gjson.Number:
		return "a number"
	case gjson.True, gjson.False:
		return "true/false"
	case gjson.Null:
		return "null"
	}
	if v.IsArray() {
		return "a list"
	}
	return "an object"
}

// optString returns the raw JSON of a string field ("" when absent or null).
func optString(n int, id string, a gjson.Result, path string) (string, error) {
	v := a.Get(path)
	switch v.Type {
	case gjson.Null:
		return `""`, nil
	case gjson.String:
		return v.Raw, nil
	}
	return "", fieldErr(n, id, path, "text", v)
}

func optTime(n int, id string, a gjson.Result, path string) (int64, error) {
	v := a.Get(path)
	if v.Type == gjson.Null {
		return 0, nil
	}
	ms, ok := msInt(v)
	if !ok {
		return 0, fieldErr(n, id, path, "a time in milliseconds", v)
	}
	return ms, nil
}

func (c *converter) account(n int, a gjson.Result) (account, int, error) {
	if !a.IsObject() {
		return account{}, 0, bad(fmt.Sprintf("account %d is %s, not an object.", n+1, typeName(a)))
	}
	idv := a.Get("id")
	if idv.Type != gjson.String || idv.Str == "" {
		if idv.Type == gjson.Null {
			return account{}, 0, bad(fmt.Sprintf("account %d has no id.", n+1))
		}
		return account{}, 0, fieldErr(n, "", "id", "non-empty text", idv)
	}
	id := idv.Str
	var strs [5]string
	for i, p := range []string{"site_name", "site_url", "account_info.username", "account_info.access_token", "notes"} {
		s, err := optString(n, id, a, p)
		if err != nil {
			return account{}, 0, err
		}
		strs[i] = s
	}
	if info := a.Get("account_info"); info.Exists() && info.Type != gjson.Null && !info.IsObject() {
		return account{}, 0, fieldErr(n, id, "account_info", "an object", info)
	}
	disabled := "false"
	switch d := a.Get("disabled"); d.Type {
	case gjson.True:
		disabled = "true"
	case gjson.False, gjson.Null:
	default:
		return account{}, 0, fieldErr(n, id, "disabled", "true/false", d)
	}
	var times [3]int64
	for i, p := range []string{"created_at", "updated_at", "user_updated_at"} {
		t, err := optTime(n, id, a, p)
		if err != nil {
			return account{}, 0, err
		}
		times[i] = t
	}
	created, updated, userUpdated := times[0], times[1], times[2]
	// See the package doc: the time of the last user edit, not of the last
	// background refresh.
	at := userUpdated
	for _, t := range []int64{updated, created, c.fileTime, c.now} {
		if at > 0 {
			break
		}
		at = t
	}
	if created == 0 {
		created = at
	}
	tags, unknown, err := c.tags(n, id, a)
	if err != nil {
		return account{}, 0, err
	}

	var b bytes.Buffer
	b.Grow(len(a.Raw) * 2)
	b.WriteString(`{"id":`)
	b.WriteString(idv.Raw)
	b.WriteString(`,"site_name":`)
	b.WriteString(strs[0])
	b.WriteString(`,"site_url":`)
	b.WriteString(strs[1])
	b.WriteString(`,"username":`)
	b.WriteString(strs[2])
	b.WriteString(`,"access_token":`)
	b.WriteString(strs[3])
	b.WriteString(`,"notes":`)
	b.WriteString(strs[4])
	b.WriteString(`,"tags":[`)
	for i, t := range tags {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, t)
	}
	b.WriteString(`],"disabled":`)
	b.WriteString(disabled)
	b.WriteString(`,"created_at":`)
	b.WriteString(strconv.FormatInt(created, 10))
	b.WriteString(`,"updated_at":`)
	b.WriteString(strconv.FormatInt(at, 10))
	b.WriteString(`,"` + Field + `":`)
	if err := json.Compact(&b, []byte(a.Raw)); err != nil {
		return account{}, 0, bad(fmt.Sprintf("account %d is not valid JSON.", n+1))
	}
	b.WriteByte('}')
	return account{id: id, updatedAt: at, raw: b.Bytes()}, unknown, nil
}

// tags resolves tagIds through the tag store and appends legacy tag names.
func (c *converter) tags(n int, id string, a gjson.Result) ([]string, int, error) {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	unknown := 0
	for _, field := range []string{"tagIds", "tags"} {
		v := a.Get(field)
		if v.Type == gjson.Null {
			continue
		}
		if !v.IsArray() {
			return nil, 0, fieldErr(n, id, field, "a list of text", v)
		}
		var ferr error
		v.ForEach(func(_, t gjson.Result) bool {
			if t.Type != gjson.String {
				ferr = fieldErr(n, id, field+" entries", "text", t)
				return false
			}
			if field == "tags" {
				add(t.Str)
				return true
			}
			if name, ok := c.tagsByID[t.Str]; ok {
				c.usedTags[t.Str] = true
				add(name)
			} else {
				unknown++
				add(t.Str)
			}
			return true
		})
		if ferr != nil {
			return nil, 0, ferr
		}
	}
	return out, unknown, nil
}

// deletions turns account deletion records into tombstones and counts the
// others for the report.
func (c *converter) deletions(store gjson.Result) ([]tombstone, error) {
	del := store.Get("deletedEntryRecords")
	if !store.Exists() || !del.Exists() || del.Type == gjson.Null {
		return nil, nil
	}
	if !del.IsObject() {
		return nil, bad("its accounts.deletedEntryRecords is not an object.")
	}
	var out []tombstone
	others := map[string]int{}
	undated := 0
	var ferr error
	del.ForEach(func(k, v gjson.Result) bool {
		if !v.IsObject() {
			ferr = bad(fmt.Sprintf("its deletion record %q is %s, not an object.", clip(k.String()), typeName(v)))
			return false
		}
		kind := v.Get("kind")
		if kind.Type != gjson.Null && kind.Type != gjson.String {
			ferr = bad(fmt.Sprintf("in deletion record %q, kind should be text but is %s.", clip(k.String()), typeName(kind)))
			return false
		}
		if kind.Type == gjson.String && kind.Str != "account" {
			others[kind.Str]++
			return true
		}
		at, ok := msInt(v.Get("deletedAt"))
		if !ok || at == 0 {
			at, ok = msInt(v.Get("entryUpdatedAt"))
		}
		if !ok || at == 0 {
			undated++
			return true
		}
		out = append(out, tombstone{id: k.String(), deletedAt: at})
		return true
	})
	if ferr != nil {
		return nil, ferr
	}
	kinds := make([]string, 0, len(others))
	for k := range others {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		section := "deletedEntryRecords (" + k + ")"
		reason := "deletion records of " + k + "s, which davsync does not hold"
		if k == "bookmark" {
			reason = "deletion records of bookmarks, which davsync does not hold"
		}
		c.notImported(section, others[k], reason, nil)
	}
	if undated > 0 {
		c.notImported("deletedEntryRecords (account)", undated, "account deletion records without a time; a tombstone needs one", nil)
	}
	return out, nil
}

// resolve keeps, for an id that is both an account and a deletion record,
// whichever is newer, and sorts both lists by id.
func (c *converter) resolve(recs []account, tombs []tombstone) ([]account, []tombstone) {
	deleted := make(map[string]int64, len(tombs))
	for _, t := range tombs {
		deleted[t.id] = t.deletedAt
	}
	live := map[string]bool{}
	keptRecs := recs[:0]
	dropped := 0
	for _, r := range recs {
		if at, ok := deleted[r.id]; ok && r.updatedAt <= at {
			dropped++
			continue
		}
		live[r.id] = true
		keptRecs = append(keptRecs, r)
	}
	keptTombs := tombs[:0]
	for _, t := range tombs {
		if !live[t.id] {
			keptTombs = append(keptTombs, t)
		}
	}
	if dropped > 0 {
		c.notImported("accounts", dropped, "accounts All API Hub had deleted after their last edit; they are imported as deletions", nil)
	}
	sort.Slice(keptRecs, func(i, j int) bool { return keptRecs[i].id < keptRecs[j].id })
	sort.Slice(keptTombs, func(i, j int) bool { return keptTombs[i].id < keptTombs[j].id })
	return keptRecs, keptTombs
}

// maxNames caps Item.Names so a report stays small; Count stays exact.
const maxNames = 50

func (c *converter) notImported(section string, count int, reason string, names []string) {
	if count <= 0 {
		return
	}
	if len(names) > maxNames {
		names = names[:maxNames]
	}
	c.rep.NotImported = append(c.rep.NotImported, Item{Section: section, Count: count, Reason: reason, Names: names})
}

func count(v gjson.Result) int {
	switch {
	case v.IsArray():
		return len(v.Array())
	case v.IsObject():
		n := 0
		v.ForEach(func(_, _ gjson.Result) bool { n++; return true })
		return n
	case !v.Exists() || v.Type == gjson.Null:
		return 0
	}
	return 1
}

func (c *converter) reportAccountStore(store gjson.Result) {
	bookmarks := c.section("bookmarks") // 1.0 "data.bookmarks"
	if store.Exists() {
		if b := store.Get("bookmarks"); b.Exists() {
			bookmarks = b
		}
		c.notImported("pinnedAccountIds", count(store.Get("pinnedAccountIds")), "davsync has no pinned accounts", nil)
		c.notImported("orderedAccountIds", count(store.Get("orderedAccountIds")), "davsync has no manual account order", nil)
	}
	c.notImported("bookmarks", count(bookmarks), "davsync does not hold bookmarks", nil)
}

func (c *converter) reportTags() {
	var unused []string
	for id, name := range c.tagsByID {
		if !c.usedTags[id] {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	c.notImported("tagStore", len(unused), "tags no imported account uses (davsync keeps tags on accounts)", unused)
}

// knownTop are top-level members this package reads or that are metadata.
var knownTop = map[string]bool{
	"version": true, "timestamp": true, "type": true, "accounts": true,
	"preferences": true, "tagStore": true, "data": true,
}

func (c *converter) reportOtherSections() {
	c.notImported("channelConfigs", sectionCount(c.section("channelConfigs")), "davsync does not hold managed-site channel configurations", nil)
	c.notImported("apiCredentialProfiles", sectionCount(c.section("apiCredentialProfiles")), "davsync does not hold API credential profiles", nil)
	c.root.ForEach(func(k, v gjson.Result) bool {
		name := k.String()
		if knownTop[name] || name == "channelConfigs" || name == "apiCredentialProfiles" {
			return true
		}
		c.notImported(name, max(count(v), 1), "a section davsync does not know", nil)
		return true
	})
}

// sectionCount counts the entries of a channel-config or credential-profile
// section, looking inside the wrappers newer versions use.
func sectionCount(v gjson.Result) int {
	for _, inner := range []string{"configs", "profiles"} {
		if w := v.Get(inner); v.IsObject() && w.Exists() {
			return count(w)
		}
	}
	return count(v)
}

// prefMeta are preference keys that are bookkeeping, not settings.
var prefMeta = map[string]bool{"lastUpdated": true, "sharedPreferencesLastUpdated": true, "preferencesVersion": true}

// preferences maps theme and language and reports every other key by name.
func (c *converter) preferences() ([]byte, int64, error) {
	p := c.section("preferences")
	if !p.Exists() || p.Type == gjson.Null {
		return []byte("{}"), 0, nil
	}
	if !p.IsObject() {
		return nil, 0, bad("its preferences section is not an object.")
	}
	var b bytes.Buffer
	b.WriteByte('{')
	var skipped []string
	webdav := false
	themeKey := "themeMode"
	if !p.Get("themeMode").Exists() {
		themeKey = "theme" // older files
	}
	p.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		switch {
		case prefMeta[key]:
		case key == themeKey && mapTheme(v) != "":
			c.addPref(&b, "theme", mapTheme(v))
		case key == "language" && mapLanguage(v) != "":
			c.addPref(&b, "language", mapLanguage(v))
		default:
			if strings.HasPrefix(strings.ToLower(key), "webdav") {
				webdav = true
			}
			skipped = append(skipped, key)
		}
		return true
	})
	b.WriteByte('}')
	sort.Strings(skipped)
	c.notImported("preferences", len(skipped), "settings davsync does not have", skipped)
	if webdav {
		c.rep.Notes = append(c.rep.Notes, msg.New("aahNoteNoWebDAV"))
	}
	c.hasPrefs = len(c.rep.Preferences) > 0
	if !c.hasPrefs {
		return []byte("{}"), 0, nil
	}
	at, ok := msInt(p.Get("lastUpdated"))
	if !ok || at == 0 {
		at = c.fileTime
	}
	if at == 0 {
		at = c.now
	}
	return b.Bytes(), at, nil
}

func (c *converter) addPref(b *bytes.Buffer, key, value string) {
	if len(c.rep.Preferences) > 0 {
		b.WriteByte(',')
	}
	writeString(b, key)
	b.WriteByte(':')
	writeString(b, value)
	c.rep.Preferences = append(c.rep.Preferences, key)
}

func mapTheme(v gjson.Result) string {
	if v.Type != gjson.String {
		return ""
	}
	switch s := strings.ToLower(strings.TrimSpace(v.Str)); s {
	case "light", "dark", "system":
		return s
	case "auto":
		return "system"
	}
	return ""
}

func mapLanguage(v gjson.Result) string {
	if v.Type != gjson.String {
		return ""
	}
	s := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v.Str), "-", "_"))
	switch {
	case s == "en" || strings.HasPrefix(s, "en_"):
		return "en"
	case s == "zh" || s == "zh_cn" || s == "zh_hans" || s == "zh_sg":
		return "zh_CN"
	}
	return ""
}
