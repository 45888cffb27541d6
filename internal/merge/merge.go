package merge

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/msg"
)

// Strategy says which way data flows in a sync.
type Strategy string

// The strategies.
const (
	// StrategyMerge merges field by field; both sides end with the result.
	StrategyMerge Strategy = "merge"
	// UploadOnly makes the remote a copy of local: local wins everything
	// and is not changed.
	UploadOnly Strategy = "upload_only"
	// DownloadOnly makes local a copy of the remote: the remote wins
	// everything and is not changed.
	DownloadOnly Strategy = "download_only"
)

// DefaultHorizon is how long a tombstone is kept when Terms.TombstoneHorizon is 0.
const DefaultHorizon = 180 * 24 * time.Hour

// Terms are what a merge is made under: the strategy, what was last
// synced, the clock and the tombstone horizon.
type Terms struct {
	Strategy Strategy // "" means StrategyMerge
	// Base is what was last synced, for telling conflicts from plain edits.
	// nil: no record was synced before, so any field both sides hold with
	// different values is reported as a conflict.
	Base Base
	// Now is the device's clock in ms. It drops tombstones older than the
	// horizon and flags timestamps more than a day ahead of it. 0 disables
	// both (tests of the pure merge use that).
	Now int64
	// TombstoneHorizon is how long tombstones are kept; 0 = DefaultHorizon.
	TombstoneHorizon time.Duration
}

// Base maps collection -> record id -> the record's updated_at when it was
// last synced (0 or missing: never synced). The sync cycle stores NewBase of
// every merged document it wrote.
type Base map[string]map[string]int64

// Outcome is what a merge produced.
type Outcome struct {
	// Doc is the merged document, what both sides should hold afterwards.
	Doc *backup.Document
	// Local and Remote say what the merge changes on each side.
	Local, Remote Changes
	// Conflicts are the versions that lost a concurrent edit, kept so the
	// user can choose (see KeepBoth). The merged Doc already holds the winner.
	Conflicts []Conflict
	// Warnings are for the user, e.g. timestamps far in the future.
	Warnings []msg.Msg
}

// Changes counts, per collection, what a merge changes on one side. The
// pseudo-collection "preferences" counts the preferences object.
type Changes map[string]Counts

// Counts are the changes to one collection on one side.
type Counts struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
}

// PreferencesName is the key of the preferences in Changes.
const PreferencesName = "preferences"

// Total reports whether anything was added, updated or deleted.
func (c Changes) Total() (n int) {
	for _, x := range c {
		n += x.Added + x.Updated + x.Deleted
	}
	return n
}

// maxWarnings caps Outcome.Warnings: one broken clock can stamp thousands of
// records, and one line per record helps nobody.
const maxWarnings = 20

// Merge merges local and remote into one document. Neither input is
// modified; the result shares record bytes with them (Raw is never modified
// in place anywhere in davsync). With StrategyMerge the result is a join: Merge(a, b) and
// Merge(b, a) are byte-identical, Merge(a, Merge(b, c)) equals
// Merge(Merge(a, b), c), and Merge(a, a) is a (for a document Merge made),
// so replicas that have seen the same writes hold the same bytes.
//
// Rules (StrategyMerge):
//   - Records match by id within a collection. Each field is last writer
//     wins by its time in "_field_times" (a record without one counts every
//     field as written at its updated_at); equal times: the larger value
//     bytes win, an absent field losing to any value. updated_at is the
//     newest of both. A record held by one side only is kept as it is.
//   - A tombstone removes every field written at or before its deleted_at:
//     a record not updated after the deletion is gone; one edited after it
//     comes back with the fields written after the deletion, and the
//     tombstone stays beside it so no older replica can bring back the rest.
//     The full version that lost fields is reported as a Conflict.
//   - Tombstones: the newest deleted_at of an id wins; those older than
//     the horizon (Now - TombstoneHorizon) are dropped.
//   - Preferences: the object with the newer updated_at wins whole; equal
//     times: the larger bytes.
//   - A record that is byte-identical to a side's version keeps those exact
//     bytes; a record combined from both sides is rebuilt canonically (see
//     build), every value keeping its bytes.
//
// It cannot lose an edit: every field's newest write survives, a losing
// concurrent write is returned in Conflicts, and a deletion only wins over
// writes that are not newer than it.
func Merge(local, remote *backup.Document, opt Terms) (*Outcome, error) {
	if local == nil || remote == nil {
		return nil, errkind.Internal(errkind.Invalid, "merge", "merge needs two documents; this is a bug in davsync", nil)
	}
	horizon := opt.TombstoneHorizon
	if horizon == 0 {
		horizon = DefaultHorizon
	}
	res := &Outcome{Local: Changes{}, Remote: Changes{}}
	switch opt.Strategy {
	case "", StrategyMerge:
		res.Doc = join2(local, remote, opt, horizon, res)
	case UploadOnly:
		res.Doc = local.Clone()
	case DownloadOnly:
		res.Doc = remote.Clone()
	default:
		return nil, errkind.Internal(errkind.Invalid, "merge", "unknown sync strategy "+strconv.Quote(string(opt.Strategy))+
			"; choose merge, upload_only or download_only", nil)
	}
	count(local, res.Doc, res.Local)
	count(remote, res.Doc, res.Remote)
	if opt.Now > 0 {
		res.Warnings = FutureWarnings(res.Doc, opt.Now)
	}
	return res, nil
}

// join2 builds the merged document.
func join2(l, r *backup.Document, opt Terms, horizon time.Duration, res *Outcome) *backup.Document {
	out := backup.New()
	out.ExportedAt = max(l.ExportedAt, r.ExportedAt)
	cutoff := int64(-1)
	if opt.Now > 0 {
		cutoff = opt.Now - horizon.Milliseconds()
	}
	// Sorted, so Conflicts come in the same order on every run.
	names := l.Names()
	for _, n := range r.Names() {
		if _, ok := l.Collections[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		out.Collections[n] = joinCollection(n, l.Collections[n], r.Collections[n], opt.Base[n], cutoff, res)
	}
	lp, rp := l.Preferences, r.Preferences
	out.Preferences = lp
	if rp.UpdatedAt > lp.UpdatedAt || rp.UpdatedAt == lp.UpdatedAt && bytes.Compare(prefBytes(rp), prefBytes(lp)) > 0 {
		out.Preferences = rp
	}
	out.Preferences.Values = append([]byte(nil), prefBytes(out.Preferences)...)
	for _, extra := range []map[string][]byte{l.Extra, r.Extra} {
		for k, v := range extra {
			if old, ok := out.Extra[k]; !ok || bytes.Compare(v, old) > 0 {
				if out.Extra == nil {
					out.Extra = map[string][]byte{}
				}
				out.Extra[k] = append([]byte(nil), v...)
			}
		}
	}
	return out
}

func prefBytes(p backup.Preferences) []byte {
	if len(p.Values) == 0 {
		return []byte("{}")
	}
	return p.Values
}

// joinCollection merges one collection with a single walk over the four
// sorted lists: linear in the number of records.
func joinCollection(name string, lc, rc *backup.Collection, base map[string]int64, cutoff int64, res *Outcome) *backup.Collection {
	lc, rc = normalized(lc), normalized(rc)
	spec, _ := backup.Spec(name)
	out := &backup.Collection{
		Records: make([]backup.Record, 0, max(len(lc.Records), len(rc.Records))),
	}
	var li, ri, lti, rti int
	for {
		// The smallest id not yet merged on any of the four lists.
		id, ok := "", false
		next := func(x string) {
			if !ok || x < id {
				id, ok = x, true
			}
		}
		if li < len(lc.Records) {
			next(lc.Records[li].ID)
		}
		if ri < len(rc.Records) {
			next(rc.Records[ri].ID)
		}
		if lti < len(lc.Tombstones) {
			next(lc.Tombstones[lti].ID)
		}
		if rti < len(rc.Tombstones) {
			next(rc.Tombstones[rti].ID)
		}
		if !ok {
			break
		}
		var p pair
		if li < len(lc.Records) && lc.Records[li].ID == id {
			p.rec[0] = &lc.Records[li]
			li++
		}
		if ri < len(rc.Records) && rc.Records[ri].ID == id {
			p.rec[1] = &rc.Records[ri]
			ri++
		}
		if lti < len(lc.Tombstones) && lc.Tombstones[lti].ID == id {
			p.tomb[0] = &lc.Tombstones[lti]
			lti++
		}
		if rti < len(rc.Tombstones) && rc.Tombstones[rti].ID == id {
			p.tomb[1] = &rc.Tombstones[rti]
			rti++
		}
		b, synced := base[id]
		if !synced {
			b = -1
		}
		rec, hasRec, tomb, hasTomb := joinRecord(name, spec, id, p, b, res)
		if hasRec {
			out.Records = append(out.Records, rec)
		}
		if hasTomb && tomb.DeletedAt >= cutoff {
			out.Tombstones = append(out.Tombstones, tomb)
		}
	}
	return out
}

// normalized returns c sorted by id with unique ids. Parse and the
// Collection methods keep that invariant; a caller that appended directly
// gets a sorted copy (of two records with one id the newer, then larger,
// is kept, as Marshal does) instead of a wrong merge.
func normalized(c *backup.Collection) *backup.Collection {
	if c == nil {
		return &backup.Collection{}
	}
	if strictlySorted(c.Records, recID) && strictlySorted(c.Tombstones, tombID) {
		return c
	}
	n := &backup.Collection{}
	recs := slices.SortedStableFunc(slices.Values(c.Records), func(a, b backup.Record) int { return strings.Compare(a.ID, b.ID) })
	for _, r := range recs {
		if k := len(n.Records) - 1; k >= 0 && n.Records[k].ID == r.ID {
			if o := n.Records[k]; r.UpdatedAt > o.UpdatedAt || r.UpdatedAt == o.UpdatedAt && bytes.Compare(r.Raw, o.Raw) > 0 {
				n.Records[k] = r
			}
			continue
		}
		n.Records = append(n.Records, r)
	}
	tombs := slices.SortedStableFunc(slices.Values(c.Tombstones), func(a, b backup.Tombstone) int { return strings.Compare(a.ID, b.ID) })
	for _, t := range tombs {
		if k := len(n.Tombstones) - 1; k >= 0 && n.Tombstones[k].ID == t.ID {
			n.Tombstones[k].DeletedAt = max(n.Tombstones[k].DeletedAt, t.DeletedAt)
			continue
		}
		n.Tombstones = append(n.Tombstones, t)
	}
	return n
}

func strictlySorted[T any](s []T, id func(T) string) bool {
	for i := 1; i < len(s); i++ {
		if id(s[i-1]) >= id(s[i]) {
			return false
		}
	}
	return true
}

// pair is one id's record and tombstone on each side, [0] local, [1] remote.
type pair struct {
	rec  [2]*backup.Record
	tomb [2]*backup.Tombstone
}

// joinRecord merges one id. The returned record shares its bytes with the
// input when it is one side's version unchanged (records are never
// modified in place, so sharing is safe).
func joinRecord(coll string, spec backup.CollectionSpec, id string, p pair, base int64, res *Outcome) (backup.Record, bool, backup.Tombstone, bool) {
	var tomb backup.Tombstone
	hasTomb := false
	for _, t := range p.tomb {
		if t != nil && (!hasTomb || t.DeletedAt > tomb.DeletedAt) {
			tomb, hasTomb = backup.Tombstone{ID: id, DeletedAt: t.DeletedAt}, true
		}
	}
	l, r := p.rec[0], p.rec[1]
	switch {
	case l == nil && r == nil:
		return backup.Record{}, false, tomb, hasTomb
	case !hasTomb && (r == nil || l != nil && bytes.Equal(l.Raw, r.Raw)):
		return *l, true, tomb, false
	case !hasTomb && l == nil:
		return *r, true, tomb, false
	}

	var ls, rs, e state
	var fc *Conflict
	switch {
	case l != nil && r != nil:
		ls, rs = decompose(l.Raw), decompose(r.Raw)
		e = join(ls, rs)
		fc = fieldConflict(coll, id, ls, rs, l, r, base)
	case l != nil:
		ls = decompose(l.Raw)
		e = ls
	default:
		rs = decompose(r.Raw)
		e = rs
	}
	e.id = id
	alive := true
	if hasTomb {
		alive, _ = e.filter(tomb.DeletedAt)
	}
	var out backup.Record
	if alive {
		// A side is a candidate for the output bytes if its record and its
		// tombstone are exactly the merged ones.
		sameTomb := func(t *backup.Tombstone) bool {
			return (t == nil) == !hasTomb && (t == nil || t.DeletedAt == tomb.DeletedAt)
		}
		var cand [2]*backup.Record
		if l != nil && sameTomb(p.tomb[0]) && ls.equal(e) {
			cand[0] = l
		}
		if r != nil && sameTomb(p.tomb[1]) && rs.equal(e) {
			cand[1] = r
		}
		out = chooseBytes(e, spec, cand)
	}
	if fc != nil {
		fc.Merged = out.Raw
		res.Conflicts = append(res.Conflicts, *fc)
	}
	if !hasTomb {
		return out, true, tomb, false
	}
	// A deletion is involved: report a side whose edit made since the last
	// sync lost fields (or the whole record) to a deletion it had not seen,
	// keeping its full version for the user.
	for side := range 2 {
		rec, own, other := p.rec[side], p.tomb[side], p.tomb[1-side]
		if rec == nil || other == nil || own != nil && own.DeletedAt >= other.DeletedAt || rec.UpdatedAt <= base {
			continue
		}
		s := ls
		if side == 1 {
			s = rs
		}
		lost := false
		for _, x := range s.entries {
			if x.t <= other.DeletedAt {
				lost = true
				break
			}
		}
		if !lost && alive {
			continue
		}
		c := Conflict{Collection: coll, ID: id, Deleted: true, DeletedBy: Side(1 - side), Merged: out.Raw, At: max(rec.UpdatedAt, other.DeletedAt)}
		if side == 0 {
			c.Local = rec.Raw
		} else {
			c.Remote = rec.Raw
		}
		res.Conflicts = append(res.Conflicts, c)
	}
	return out, alive, tomb, true
}

// chooseBytes picks the bytes of a live record. If a side's version (with
// its tombstone) already is the merged state, its bytes are kept, so a
// record only one replica changed keeps its field order and encoding;
// otherwise the canonical bytes. When both sides qualify with different
// bytes, a side that is not canonical wins, then the larger bytes. The
// choice depends only on the set of inputs, never on their order or
// grouping, which keeps Merge commutative and associative.
func chooseBytes(e state, spec backup.CollectionSpec, cand [2]*backup.Record) backup.Record {
	a, b := cand[0], cand[1]
	switch {
	case a == nil && b == nil:
		return backup.Record{ID: e.id, UpdatedAt: e.ua, Raw: build(e, spec)}
	case b == nil:
		return *a
	case a == nil || bytes.Equal(a.Raw, b.Raw):
		return *b
	}
	canon := build(e, spec)
	switch {
	case bytes.Equal(a.Raw, canon):
		return *b
	case bytes.Equal(b.Raw, canon):
		return *a
	case bytes.Compare(a.Raw, b.Raw) > 0:
		return *a
	}
	return *b
}

// count fills ch with what turning from into to changes, per collection.
func count(from, to *backup.Document, ch Changes) {
	// A nil collection counts as empty (Document.Collection would create it).
	records := func(c *backup.Collection) []backup.Record {
		if c == nil {
			return nil
		}
		return c.Records
	}
	for name, tc := range to.Collections {
		var c Counts
		fr, tr := records(from.Collections[name]), records(tc)
		i, j := 0, 0
		for i < len(fr) || j < len(tr) {
			switch {
			case j == len(tr) || i < len(fr) && fr[i].ID < tr[j].ID:
				c.Deleted++
				i++
			case i == len(fr) || tr[j].ID < fr[i].ID:
				c.Added++
				j++
			default:
				if bytes.Equal(fr[i].Raw, tr[j].Raw) {
					c.Unchanged++
				} else {
					c.Updated++
				}
				i++
				j++
			}
		}
		ch[name] = c
	}
	for name, fc := range from.Collections {
		if _, ok := to.Collections[name]; !ok {
			ch[name] = Counts{Deleted: len(records(fc))}
		}
	}
	if from.Preferences.UpdatedAt == to.Preferences.UpdatedAt && bytes.Equal(prefBytes(from.Preferences), prefBytes(to.Preferences)) {
		ch[PreferencesName] = Counts{Unchanged: 1}
	} else {
		ch[PreferencesName] = Counts{Updated: 1}
	}
}

// FutureWarnings names what in d carries a timestamp more than a day ahead
// of now (the wall clock, ms): at most maxWarnings lines and a count of the
// rest.
func FutureWarnings(d *backup.Document, now int64) []msg.Msg {
	var w []msg.Msg
	more := 0
	add := func(key string, args ...string) {
		if len(w) < maxWarnings {
			w = append(w, msg.New(key, args...))
		} else {
			more++
		}
	}
	when := func(ts int64) string { return time.UnixMilli(ts).UTC().Format(time.RFC3339) }
	for _, name := range d.Names() {
		c := d.Collections[name]
		for _, r := range c.Records {
			if hlc.Ahead(r.UpdatedAt, now) {
				add("warnFutureRecord", name, r.ID, when(r.UpdatedAt))
			}
		}
		for _, t := range c.Tombstones {
			if hlc.Ahead(t.DeletedAt, now) {
				add("warnFutureDeletion", name, t.ID, when(t.DeletedAt))
			}
		}
	}
	if hlc.Ahead(d.Preferences.UpdatedAt, now) {
		add("warnFuturePreferences", when(d.Preferences.UpdatedAt))
	}
	if more > 0 {
		w = append(w, msg.Count("warnFutureMore", more))
	}
	return w
}

func recID(r backup.Record) string     { return r.ID }
func tombID(t backup.Tombstone) string { return t.ID }
