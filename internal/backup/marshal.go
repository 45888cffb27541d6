package backup

import (
	"bytes"
	"slices"
)

// Marshal returns the document as compact JSON. The bytes depend only on the
// document's content: collections and extra members sorted by name, records
// and tombstones by id, each record's own bytes unchanged. So two replicas
// holding the same data write identical files, and Parse(Marshal(d)) equals
// d.
//
// Marshal never fails and never writes a file Parse would refuse: if a
// caller broke the invariants (appended unsorted or duplicate ids), the
// output is sorted and of two records with one id the one with the newer
// updated_at (then the larger bytes) is kept, the same choice merge makes.
func (d *Document) Marshal() []byte {
	size := 256 + len(d.Preferences.Values)
	for _, c := range d.Collections {
		if c == nil {
			continue
		}
		size += 64 + len(c.Tombstones)*48
		for _, r := range c.Records {
			size += len(r.Raw) + 1
		}
	}
	for k, v := range d.Extra {
		size += len(k) + len(v) + 4
	}
	b := make([]byte, 0, size)
	b = append(b, `{"format":"davsync","version":`...)
	b = AppendInt(b, Version)
	b = append(b, `,"exported_at":`...)
	b = AppendInt(b, d.ExportedAt)
	b = append(b, `,"collections":{`...)
	for i, name := range d.Names() {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, name)
		b = append(b, `:{"records":[`...)
		var recs []Record
		var tombs []Tombstone
		if c := d.Collections[name]; c != nil { // a nil entry is an empty collection
			recs, tombs = c.Records, c.Tombstones
		}
		if !slices.IsSortedFunc(recs, cmpRecord) {
			recs = slices.SortedStableFunc(slices.Values(recs), cmpRecord)
		}
		if !slices.IsSortedFunc(tombs, cmpTombstone) {
			tombs = slices.SortedStableFunc(slices.Values(tombs), cmpTombstone)
		}
		n := 0
		for j := 0; j < len(recs); j++ {
			r := recs[j]
			for j+1 < len(recs) && recs[j+1].ID == r.ID {
				j++
				if o := recs[j]; o.UpdatedAt > r.UpdatedAt || o.UpdatedAt == r.UpdatedAt && bytes.Compare(o.Raw, r.Raw) > 0 {
					r = o
				}
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			if len(r.Raw) == 0 {
				// A record built without bytes: write what is known.
				b = append(b, `{"id":`...)
				b = AppendString(b, r.ID)
				b = append(b, `,"updated_at":`...)
				b = AppendInt(b, r.UpdatedAt)
				b = append(b, '}')
				continue
			}
			b = append(b, r.Raw...)
		}
		b = append(b, `],"tombstones":[`...)
		n = 0
		for j := 0; j < len(tombs); j++ {
			t := tombs[j]
			for j+1 < len(tombs) && tombs[j+1].ID == t.ID {
				j++
				t.DeletedAt = max(t.DeletedAt, tombs[j].DeletedAt)
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, `{"id":`...)
			b = AppendString(b, t.ID)
			b = append(b, `,"deleted_at":`...)
			b = AppendInt(b, t.DeletedAt)
			b = append(b, '}')
		}
		b = append(b, `]}`...)
	}
	b = append(b, `},"preferences":{"updated_at":`...)
	b = AppendInt(b, d.Preferences.UpdatedAt)
	b = append(b, `,"values":`...)
	if len(d.Preferences.Values) == 0 {
		b = append(b, `{}`...)
	} else {
		b = append(b, d.Preferences.Values...)
	}
	b = append(b, '}')
	if len(d.Extra) > 0 {
		keys := make([]string, 0, len(d.Extra))
		for k := range d.Extra {
			if !reserved(k) { // never let an extra member shadow a known one
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = append(b, ',')
			b = AppendString(b, k)
			b = append(b, ':')
			b = append(b, d.Extra[k]...)
		}
	}
	return append(b, '}')
}

// SameContent reports whether d and o Marshal to the same bytes apart from
// exported_at: whether a file holding o already holds d's data.
//
// It compares records, tombstones, preferences and extra members in place
// instead of marshalling both: at 10,000 accounts, in the browser, two
// Marshals and two SHA-256 of 5 MB were most of a sync cycle that applied a
// change from another device. A document that is not Tidy is compared by
// marshalling.
func (d *Document) SameContent(o *Document) bool {
	if !d.Tidy() || !o.Tidy() {
		a, b := *d, *o
		a.ExportedAt, b.ExportedAt = 0, 0
		return bytes.Equal(a.Marshal(), b.Marshal())
	}
	if len(d.Collections) != len(o.Collections) || len(d.Extra) != len(o.Extra) ||
		d.Preferences.UpdatedAt != o.Preferences.UpdatedAt || !bytes.Equal(d.Preferences.Values, o.Preferences.Values) {
		return false
	}
	for name, c := range d.Collections {
		oc, ok := o.Collections[name]
		if !ok || len(c.Records) != len(oc.Records) || len(c.Tombstones) != len(oc.Tombstones) {
			return false
		}
		for i, r := range c.Records {
			if r.ID != oc.Records[i].ID || !bytes.Equal(r.Raw, oc.Records[i].Raw) {
				return false
			}
		}
		for i, t := range c.Tombstones {
			if t != oc.Tombstones[i] {
				return false
			}
		}
	}
	for k, v := range d.Extra {
		if w, ok := o.Extra[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// Tidy reports whether Marshal writes d as it is, with nothing to repair
// or fill in: every collection present (not nil) and sorted by unique,
// non-empty ids, every record with its bytes, the preferences' values
// present, and no extra member under a name Marshal writes itself.
func (d *Document) Tidy() bool {
	for _, c := range d.Collections {
		if c == nil {
			return false
		}
		for i, r := range c.Records {
			if len(r.Raw) == 0 || r.ID == "" || (i > 0 && c.Records[i-1].ID >= r.ID) {
				return false
			}
		}
		for i, t := range c.Tombstones {
			if t.ID == "" || (i > 0 && c.Tombstones[i-1].ID >= t.ID) {
				return false
			}
		}
	}
	if len(d.Preferences.Values) == 0 {
		return false
	}
	for k := range d.Extra {
		if reserved(k) {
			return false
		}
	}
	return true
}

// reserved reports whether name is a top-level member Marshal writes
// itself, so an extra member by that name is never written.
func reserved(name string) bool {
	switch name {
	case "format", "version", "exported_at", "collections", "preferences":
		return true
	}
	return false
}
