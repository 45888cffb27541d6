package transfer

import (
	"bytes"
	"slices"
	"strings"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/merge"
	"github.com/tidwall/gjson"
)

// add puts in the file's records whose id this device has never seen.
// Existing records are not touched and nothing is deleted, so add cannot
// lose anything local; a tombstone here means the user deleted that record
// on purpose, and add does not overrule that. The new records are merged
// into the sorted list in one pass: inserting them one by one would be
// quadratic in a large import.
func (p *planner) add(out, in *backup.Collection, name string) {
	if in == nil {
		return
	}
	var added []backup.Record
	for _, r := range in.Records {
		if _, ok := out.Get(r.ID); ok {
			p.skipped++
			continue
		}
		if _, dead := out.Tombstone(r.ID); dead {
			p.skipped++
			p.deletedHere++
			continue
		}
		if p.skipDups {
			if lid, ok := p.index(name)[dupKey(r.Raw)]; ok && lid != r.ID {
				p.skipped++
				p.addDup(r, lid, true)
				continue
			}
		}
		added = append(added, r)
	}
	out.Records = mergeRecords(out.Records, added)
}

// mergeRecords returns the union of two lists sorted by id with no id in
// both, still sorted.
func mergeRecords(a, b []backup.Record) []backup.Record {
	if len(b) == 0 {
		return a
	}
	out := make([]backup.Record, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].ID < b[0].ID {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// replace makes the collection hold exactly the file's records. Records
// that change are re-stamped with merge.Edit at p.stamp, which is newer than
// anything this device holds, and records the file lacks get tombstones at
// p.stamp, so the replacement also wins when the result next syncs. A file
// record whose id this device holds a tombstone for is re-stamped whole: a
// field of it written before that deletion would otherwise be removed by
// the next merge. The replaced state is what the caller keeps for undo.
//
// One walk over both sorted lists, so a large replace stays linear.
func (p *planner) replace(out, in *backup.Collection) error {
	if in == nil {
		in = &backup.Collection{}
	}
	have, want := out.Records, in.Records
	recs := make([]backup.Record, 0, len(want))
	tombs := slices.Clone(out.Tombstones)
	for len(have) > 0 || len(want) > 0 {
		switch {
		case len(want) == 0 || len(have) > 0 && have[0].ID < want[0].ID:
			tombs = append(tombs, backup.Tombstone{ID: have[0].ID, DeletedAt: p.stamp})
			have = have[1:]
		case len(have) == 0 || want[0].ID < have[0].ID:
			r := want[0]
			want = want[1:]
			if _, dead := out.Tombstone(r.ID); dead {
				nr, err := merge.Edit(nil, r.Raw, p.stamp)
				if err != nil {
					return err
				}
				r = nr
			}
			recs = append(recs, r)
		default:
			old, r := have[0], want[0]
			have, want = have[1:], want[1:]
			if !bytes.Equal(old.Raw, r.Raw) {
				nr, err := merge.Edit(&old, r.Raw, p.stamp)
				if err != nil {
					return err
				}
				r = nr
			}
			recs = append(recs, r)
		}
	}
	live := make(map[string]bool, len(recs))
	for _, r := range recs {
		live[r.ID] = true
	}
	for _, t := range in.Tombstones {
		if !live[t.ID] {
			tombs = append(tombs, t)
		}
	}
	out.Records, out.Tombstones = recs, uniqueTombstones(tombs)
	return nil
}

// uniqueTombstones sorts tombstones by id and keeps the newest of each id,
// as Collection.Delete would.
func uniqueTombstones(ts []backup.Tombstone) []backup.Tombstone {
	slices.SortStableFunc(ts, func(a, b backup.Tombstone) int { return strings.Compare(a.ID, b.ID) })
	out := ts[:0]
	for _, t := range ts {
		if k := len(out) - 1; k >= 0 && out[k].ID == t.ID {
			out[k].DeletedAt = max(out[k].DeletedAt, t.DeletedAt)
			continue
		}
		out = append(out, t)
	}
	return out
}

// preferences applies a non-merge mode (or an All API Hub overlay) to the
// preferences. Unchanged values keep the old object, time included.
func (p *planner) preferences(mode Mode, cur backup.Preferences) backup.Preferences {
	inP := p.in.doc.Preferences
	var vals []byte
	at := p.stamp
	switch {
	case mode == ModeAdd:
		vals = overlay(cur.Values, inP.Values, true)
	case mode == ModeReplace && !p.in.partialPrefs:
		vals = slices.Clone(inP.Values)
	case mode == ModeReplace:
		vals = overlay(cur.Values, inP.Values, false)
	case mode == ModeMerge && inP.UpdatedAt > cur.UpdatedAt:
		// Partial preferences newer than ours: their keys win, ours stay.
		vals, at = overlay(cur.Values, inP.Values, false), inP.UpdatedAt
	default:
		return cur
	}
	if bytes.Equal(vals, prefValues(cur.Values)) {
		return cur
	}
	return backup.Preferences{UpdatedAt: max(at, cur.UpdatedAt+1), Values: vals}
}

func prefValues(v []byte) []byte {
	if len(v) == 0 {
		return []byte("{}")
	}
	return v
}

// overlay returns base with top's members laid over it (only those base
// lacks when onlyMissing), keeping base's order and appending new members.
// Both are compact JSON objects from backup.Parse.
func overlay(base, top []byte, onlyMissing bool) []byte {
	topVals := objectKeys(top)
	out := make([]byte, 0, len(base)+len(top)+2)
	out = append(out, '{')
	seen := map[string]bool{}
	n := 0
	member := func(k, v string) {
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = backup.AppendString(out, k)
		out = append(out, ':')
		out = append(out, v...)
	}
	gjson.ParseBytes(prefValues(base)).ForEach(func(k, v gjson.Result) bool {
		seen[k.Str] = true
		if t, ok := topVals[k.Str]; ok && !onlyMissing {
			member(k.Str, t)
		} else {
			member(k.Str, v.Raw)
		}
		return true
	})
	gjson.ParseBytes(prefValues(top)).ForEach(func(k, v gjson.Result) bool {
		if !seen[k.Str] {
			member(k.Str, v.Raw)
		}
		return true
	})
	return append(out, '}')
}

// objectKeys maps a JSON object's member names to their raw values.
func objectKeys(obj []byte) map[string]string {
	m := map[string]string{}
	gjson.ParseBytes(prefValues(obj)).ForEach(func(k, v gjson.Result) bool {
		m[k.Str] = v.Raw
		return true
	})
	return m
}

// countPrefs counts preference keys added, changed, removed and kept.
func countPrefs(s *Section, before, after []byte) {
	b, a := objectKeys(before), objectKeys(after)
	for k, v := range a {
		switch old, ok := b[k]; {
		case !ok:
			s.Added++
		case old == v:
			s.Unchanged++
		default:
			s.Updated++
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			s.Deleted++
		}
	}
}

// index maps the duplicate key of every record of the named collection on
// this device (before the import) to its id.
func (p *planner) index(name string) map[string]string {
	if p.indexes == nil {
		p.indexes = map[string]map[string]string{}
	}
	if m, ok := p.indexes[name]; ok {
		return m
	}
	m := map[string]string{}
	for _, r := range collection(p.local, name).Records {
		if k := dupKey(r.Raw); k != "" {
			if _, taken := m[k]; !taken {
				m[k] = r.ID
			}
		}
	}
	p.indexes[name] = m
	return m
}

// findDuplicates flags records the import adds whose key matches a record
// that was here before and still is.
func (p *planner) findDuplicates(out *backup.Document) {
	for _, name := range out.Names() {
		before := collection(p.local, name)
		idx := p.index(name)
		if len(idx) == 0 {
			continue
		}
		for _, r := range out.Collections[name].Records {
			if _, existed := before.Get(r.ID); existed {
				continue
			}
			lid, ok := idx[dupKey(r.Raw)]
			if !ok || lid == r.ID {
				continue
			}
			if _, still := out.Collections[name].Get(lid); still {
				p.addDup(r, lid, false)
			}
		}
	}
}

func (p *planner) addDup(r backup.Record, existing string, skipped bool) {
	p.nDups++
	if len(p.dups) < MaxListedDuplicates {
		rec := gjson.ParseBytes(r.Raw)
		p.dups = append(p.dups, Duplicate{
			ID: r.ID, ExistingID: existing, Skipped: skipped,
			SiteURL: rec.Get("site_url").String(), Username: rec.Get("username").String(),
		})
	}
}

// dupKey is the normalised site_url and username of a record, "" when the
// record has no site_url.
func dupKey(raw []byte) string {
	rec := gjson.ParseBytes(raw)
	u := NormalizeURL(rec.Get("site_url").String())
	if u == "" {
		return ""
	}
	return u + "\x00" + strings.TrimSpace(rec.Get("username").String())
}

// NormalizeURL returns the form two site URLs are compared in for duplicate
// detection: no scheme (nor a leading "//"), host lower-cased, the default
// ports 443 and 80 dropped, trailing slashes of the path dropped (also
// before a query), path, query and other ports kept as they are.
func NormalizeURL(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 && !strings.ContainsAny(s[:i], "/?#") {
		s = s[i+3:]
	}
	s = strings.TrimPrefix(s, "//")
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	host, rest := strings.ToLower(s[:end]), s[end:]
	// The scheme is ignored, so so is its default port.
	host = strings.TrimSuffix(strings.TrimSuffix(host, ":443"), ":80")
	// Trailing slashes of the path go, also before a query or fragment
	// ("/?q" and "?q" are the same URL).
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		return host + strings.TrimRight(rest[:q], "/") + rest[q:]
	}
	return host + strings.TrimRight(rest, "/")
}
