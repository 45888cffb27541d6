package transfer

import (
	"bytes"
	"slices"
	"strconv"
	"time"

	"github.com/davsync/davsync/internal/allapihub"
	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
	"github.com/tidwall/gjson"
)

// Mode is how one section of a file is imported.
type Mode string

// The modes (see the package doc).
const (
	ModeMerge   Mode = "merge"
	ModeAdd     Mode = "add"
	ModeReplace Mode = "replace"
	ModeSkip    Mode = "skip"
)

// Section names in an ImportPreview.
const (
	SectionAccounts    = "accounts"
	SectionPreferences = "preferences"
)

// MaxListedDuplicates caps ImportPreview.Duplicates; the counts stay exact.
const MaxListedDuplicates = 100

// ImportOptions say how to read a file and how to import each section.
type ImportOptions struct {
	// Passphrase opens an encrypted file (davsync or All API Hub).
	Passphrase string
	// KDF derives keys; nil means envelope.GoKDF.
	KDF envelope.KDF
	// Accounts is the mode for the record collections ("accounts", and any
	// collection added later); Preferences for the preferences. "" = merge.
	Accounts, Preferences Mode
	// SkipDuplicates, in add mode, leaves out records that look like an
	// existing record under another id.
	SkipDuplicates bool
	// Now is the device clock (hlc.Clock.Now), in ms; 0 means the wall clock.
	// It stamps what the import writes.
	Now int64
	// Wall is the device's wall clock in ms, what the merge measures the
	// tombstone horizon and far-future timestamps against; 0 means Now. (The
	// HLC runs ahead of the wall once a device with a wrong clock wrote, and
	// against it recent tombstones would look old enough to drop.)
	Wall int64
}

// ImportPlan is a planned import: what the local document becomes and a
// preview of the change. (The function that makes it is called Plan, as the
// team contract names it, so the type cannot be.)
type ImportPlan struct {
	// Preview is what the user confirms.
	Preview ImportPreview
	// Doc is the whole local document after the import. The local
	// document Plan was given is left as it was (the undo state); records
	// are immutable, so the two may share record bytes.
	Doc *backup.Document
	// Stamp is the newest timestamp the plan issued (replace and add
	// re-stamp at it); the caller lets its clock Observe it.
	Stamp int64
	// Conflicts are versions that lost in merge mode, for the conflict log.
	Conflicts []merge.Conflict
}

// ImportPreview says what an import would do. It is rendered by the extension
// page, hence JSON with snake_case names.
type ImportPreview struct {
	Source        string `json:"source"`         // "davsync" or "all-api-hub"
	SourceVersion string `json:"source_version"` // "1" for davsync; "1.0".."4.0" for All API Hub
	Encrypted     bool   `json:"encrypted"`
	Compressed    bool   `json:"compressed"`
	// FileScope is "all", "accounts" or "preferences": what the file holds.
	FileScope  string    `json:"file_scope"`
	ExportedAt int64     `json:"exported_at"`
	Sections   []Section `json:"sections"`
	// Duplicates lists likely duplicates (at most MaxListedDuplicates;
	// Section.Duplicates has the count).
	Duplicates []Duplicate `json:"duplicates"`
	// NotImported lists what the file holds that davsync does not import.
	NotImported []allapihub.Item `json:"not_imported"`
	// Notes and Warnings are messages for the pages (msg keys where the
	// words are davsync's; an All API Hub conversion's and the merge's
	// per-record notes are English text only).
	Notes     []msg.Msg `json:"notes"`
	Warnings  []msg.Msg `json:"warnings"`
	Conflicts int       `json:"conflicts"`
	// Changed is false when importing would change nothing.
	Changed bool `json:"changed"`
}

// nonWebURLs counts the accounts whose site_url is set but not an http(s)
// address (javascript:, data:, file: ...) and returns one of them, clipped.
func nonWebURLs(d *backup.Document) (int, string) {
	n, ex := 0, ""
	for _, r := range d.Collection("accounts").Records {
		u := gjson.GetBytes(r.Raw, "site_url")
		if u.Type != gjson.String || u.Str == "" || backup.WebURL(u.Str) {
			continue
		}
		if n++; ex == "" {
			ex = u.Str
			if len(ex) > 40 {
				ex = ex[:40] + "..."
			}
		}
	}
	return n, ex
}

// Section counts the changes to one section. For records the counts are
// records; for preferences, top-level preference keys.
type Section struct {
	Name   string `json:"name"`
	Mode   Mode   `json:"mode"`
	InFile bool   `json:"in_file"`
	// Records and Tombstones count what the file holds for the section.
	Records    int `json:"records"`
	Tombstones int `json:"tombstones"`
	// Added .. Unchanged compare this device before and after.
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
	// Skipped counts file records add mode leaves out.
	Skipped    int `json:"skipped"`
	Duplicates int `json:"duplicates"`
}

// Duplicate is a record the import adds that looks like an existing one.
type Duplicate struct {
	ID         string `json:"id"`          // the record in the file
	ExistingID string `json:"existing_id"` // the record on this device
	SiteURL    string `json:"site_url"`
	Username   string `json:"username"`
	Skipped    bool   `json:"skipped"` // left out (add mode with SkipDuplicates)
}

// ImportResult is what an applied import did; the engine returns it after the
// swap succeeded.
type ImportResult struct {
	ImportPreview
	Applied bool `json:"applied"`
}

// Result returns the plan's preview as the result of applying it.
func (p *ImportPlan) Result() ImportResult {
	return ImportResult{ImportPreview: p.Preview, Applied: true}
}

func checkMode(m Mode, section string) (Mode, error) {
	switch m {
	case "":
		return ModeMerge, nil
	case ModeMerge, ModeAdd, ModeReplace, ModeSkip:
		return m, nil
	}
	return "", errkind.Internal(errkind.Invalid, op, "unknown import mode "+strconv.Quote(string(m))+" for "+section+"; choose merge, add, replace or skip", nil)
}

// Plan reads data (a davsync export or an All API Hub backup, in any of
// their forms), validates all of it, and plans importing it into local
// (nil means an empty document). It changes nothing: local is not modified.
// Errors are the refusals listed in the package doc.
func Plan(local *backup.Document, data []byte, opts ImportOptions) (*ImportPlan, error) {
	accMode, err := checkMode(opts.Accounts, SectionAccounts)
	if err != nil {
		return nil, err
	}
	prefMode, err := checkMode(opts.Preferences, SectionPreferences)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now <= 0 {
		now = time.Now().UnixMilli()
	}
	in, err := read(data, opts.Passphrase, opts.KDF, now)
	if err != nil {
		return nil, err
	}
	if local == nil {
		local = backup.New()
	}
	wall := opts.Wall
	if wall <= 0 {
		wall = now
	}
	p := &planner{local: local, in: in, now: now, wall: wall, stamp: max(now, local.Newest()+1), skipDups: opts.SkipDuplicates}
	return p.plan(accMode, prefMode)
}

type planner struct {
	local    *backup.Document
	in       *incoming
	now      int64
	wall     int64 // for the merge's horizon and warnings (ImportOptions.Wall)
	stamp    int64
	skipDups bool
	pv       ImportPreview
	dups     []Duplicate
	nDups    int
	// skipped counts file records add mode left out; deletedHere those
	// among them this device had deleted.
	skipped, deletedHere int
	indexes              map[string]map[string]string
}

func (p *planner) plan(accMode, prefMode Mode) (*ImportPlan, error) {
	in := p.in
	pv := &p.pv
	pv.Source, pv.SourceVersion = in.source, in.version
	pv.Encrypted, pv.Compressed = in.encrypted, in.compressed
	pv.ExportedAt = in.doc.ExportedAt
	pv.FileScope = string(ScopeAll)
	switch {
	case !in.hasRecords && in.hasPrefs:
		pv.FileScope = string(ScopePreferences)
	case in.hasRecords && !in.hasPrefs:
		pv.FileScope = string(ScopeAccounts)
	case !in.hasRecords && !in.hasPrefs:
		pv.FileScope = "none"
	}
	pv.NotImported, pv.Notes, pv.Warnings = []allapihub.Item{}, []msg.Msg{}, []msg.Msg{}
	if in.report != nil {
		pv.NotImported = append(pv.NotImported, in.report.NotImported...)
		pv.Notes = append(pv.Notes, in.report.Notes...)
	}
	if n, ex := nonWebURLs(in.doc); n > 0 && in.hasRecords {
		pv.Warnings = append(pv.Warnings, msg.Count("importNonWebURLs", n, strconv.Quote(ex)))
	}
	// A section the file does not hold is never touched: "replace" must not
	// wipe what the file simply did not carry.
	if !in.hasRecords && accMode != ModeSkip {
		accMode = ModeSkip
		pv.Notes = append(pv.Notes, msg.New("importNoAccounts"))
	}
	if !in.hasPrefs && prefMode != ModeSkip {
		prefMode = ModeSkip
		pv.Notes = append(pv.Notes, msg.New("importNoPreferences"))
	}

	// Work on a copy: the caller's document stays the undo state.
	out := p.local.Clone()
	var conflicts []merge.Conflict
	mergePrefs := prefMode == ModeMerge && !in.partialPrefs
	if accMode == ModeMerge || mergePrefs {
		remote := p.local.Clone()
		if accMode == ModeMerge {
			for name, c := range in.doc.Collections {
				remote.Collections[name] = c
			}
			for k, v := range in.doc.Extra {
				if remote.Extra == nil {
					remote.Extra = map[string][]byte{}
				}
				remote.Extra[k] = v
			}
		}
		if mergePrefs {
			remote.Preferences = in.doc.Preferences
		}
		// The base is the local document itself: only the file's side
		// changed, so records both hold are not conflicts merely for
		// differing; each field goes to the newer write. A file record this
		// device deleted later is still reported (deletion versus edit), so
		// the user can bring it back from the conflict list.
		res, err := merge.Merge(p.local, remote, merge.Terms{Strategy: merge.StrategyMerge, Base: merge.NewBase(p.local), Now: p.wall})
		if err != nil {
			return nil, err
		}
		out, conflicts = res.Doc, res.Conflicts
		pv.Warnings = append(pv.Warnings, res.Warnings...)
	}
	out.ExportedAt = p.local.ExportedAt

	switch accMode {
	case ModeAdd:
		for _, name := range in.doc.Names() {
			p.add(out.Collection(name), in.doc.Collections[name], name)
		}
	case ModeReplace:
		for _, name := range in.doc.Names() {
			if err := p.replace(out.Collection(name), in.doc.Collections[name]); err != nil {
				return nil, err
			}
		}
	}
	if prefMode != ModeSkip && !mergePrefs {
		out.Preferences = p.preferences(prefMode, out.Preferences)
	}

	// Count per section against the device's state before the import.
	acc := Section{Name: SectionAccounts, Mode: accMode, InFile: in.hasRecords}
	for _, name := range unionNames(p.local, out) {
		if c := in.doc.Collections[name]; c != nil && in.hasRecords {
			acc.Records += len(c.Records)
			acc.Tombstones += len(c.Tombstones)
		}
		countRecords(&acc, collection(p.local, name), collection(out, name))
	}
	if accMode != ModeSkip {
		p.findDuplicates(out)
	}
	acc.Skipped = p.skipped
	acc.Duplicates = p.nDups
	pref := Section{Name: SectionPreferences, Mode: prefMode, InFile: in.hasPrefs}
	if in.hasPrefs {
		pref.Records = len(objectKeys(in.doc.Preferences.Values))
	}
	countPrefs(&pref, p.local.Preferences.Values, out.Preferences.Values)
	pv.Sections = []Section{acc, pref}
	pv.Duplicates = p.dups
	if pv.Duplicates == nil {
		pv.Duplicates = []Duplicate{}
	}
	pv.Conflicts = len(conflicts)
	if p.deletedHere > 0 {
		pv.Notes = append(pv.Notes, msg.Count("importDeletedHere", p.deletedHere))
	}
	pv.Changed = !bytes.Equal(p.local.Marshal(), out.Marshal())
	return &ImportPlan{Preview: *pv, Doc: out, Stamp: p.stamp, Conflicts: conflicts}, nil
}

func collection(d *backup.Document, name string) *backup.Collection {
	if c := d.Collections[name]; c != nil {
		return c
	}
	return &backup.Collection{}
}

func unionNames(a, b *backup.Document) []string {
	names := a.Names()
	for _, n := range b.Names() {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// countRecords compares a collection before and after; both are sorted by id.
func countRecords(s *Section, before, after *backup.Collection) {
	i, j := 0, 0
	for i < len(before.Records) || j < len(after.Records) {
		switch {
		case j == len(after.Records) || i < len(before.Records) && before.Records[i].ID < after.Records[j].ID:
			s.Deleted++
			i++
		case i == len(before.Records) || after.Records[j].ID < before.Records[i].ID:
			s.Added++
			j++
		default:
			if bytes.Equal(before.Records[i].Raw, after.Records[j].Raw) {
				s.Unchanged++
			} else {
				s.Updated++
			}
			i++
			j++
		}
	}
}
