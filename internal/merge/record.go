package merge

import (
	"slices"
	"strings"

	"github.com/davsync/davsync/internal/backup"
	"github.com/tidwall/gjson"
)

// entry is one field of a record as merge sees it: the value (nil when the
// field was removed) and when it was last written.
type entry struct {
	key string
	t   int64
	val string // compact JSON; "" when absent
	has bool   // false: the field was removed at t
}

// state is a record decomposed into its entries, sorted by key.
type state struct {
	id      string
	ua      int64
	entries []entry
}

// newer reports whether a beats b: the later write wins; at equal times the
// larger value bytes win (an absent field is smaller than any value), so the
// choice is the same whichever replica makes it.
func newer(a, b entry) bool {
	if a.t != b.t {
		return a.t > b.t
	}
	return a.val > b.val // "" (absent) is below every JSON value
}

func sameEntry(a, b entry) bool {
	return a.key == b.key && a.t == b.t && a.has == b.has && a.val == b.val
}

// decompose reads a record's entries. A field without a time in
// _field_times counts as written at the record's updated_at; a name in
// _field_times without a field is a removal at that time. raw must be a
// valid record (Parse or Edit made it).
func decompose(raw []byte) state {
	var s state
	var times gjson.Result
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case backup.FieldID:
			s.id = v.Str
		case backup.FieldUpdatedAt:
			s.ua = v.Int()
		case backup.FieldFieldTimes:
			times = v
		default:
			s.entries = append(s.entries, entry{key: k.Str, t: -1, val: v.Raw, has: true})
		}
		return true
	})
	slices.SortFunc(s.entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	var removed []entry
	times.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case backup.FieldID, backup.FieldUpdatedAt, backup.FieldFieldTimes:
			return true
		}
		i, ok := slices.BinarySearchFunc(s.entries, k.Str, func(e entry, key string) int { return strings.Compare(e.key, key) })
		if ok {
			s.entries[i].t = v.Int()
		} else {
			removed = append(removed, entry{key: k.Str, t: v.Int()})
		}
		return true
	})
	for i := range s.entries {
		if s.entries[i].t < 0 {
			s.entries[i].t = s.ua
		}
	}
	if len(removed) > 0 {
		s.entries = append(s.entries, removed...)
		slices.SortFunc(s.entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	}
	for _, e := range s.entries {
		s.ua = max(s.ua, e.t)
	}
	return s
}

// join merges two states of one record field by field. It is commutative,
// associative and idempotent: each field is a max under newer.
func join(a, b state) state {
	out := state{id: a.id, ua: max(a.ua, b.ua), entries: make([]entry, 0, max(len(a.entries), len(b.entries)))}
	i, j := 0, 0
	for i < len(a.entries) || j < len(b.entries) {
		switch {
		case j == len(b.entries) || i < len(a.entries) && a.entries[i].key < b.entries[j].key:
			out.entries = append(out.entries, a.entries[i])
			i++
		case i == len(a.entries) || b.entries[j].key < a.entries[i].key:
			out.entries = append(out.entries, b.entries[j])
			j++
		default:
			e := a.entries[i]
			if newer(b.entries[j], e) {
				e = b.entries[j]
			}
			out.entries = append(out.entries, e)
			i++
			j++
		}
	}
	return out
}

// filter applies a deletion at t: every field written at or before t is
// gone (the deletion is newer), and the record is alive only if something
// in it was written after t. It reports whether anything was removed.
func (s *state) filter(t int64) (alive, removed bool) {
	if s.ua <= t {
		return false, len(s.entries) > 0
	}
	// A new slice: s.entries may be shared with a side's own state, which
	// the caller still compares against.
	kept := make([]entry, 0, len(s.entries))
	for _, e := range s.entries {
		if e.t > t {
			kept = append(kept, e)
		}
	}
	removed = len(kept) != len(s.entries)
	s.entries = kept
	return true, removed
}

func (s state) equal(o state) bool {
	return s.ua == o.ua && slices.EqualFunc(s.entries, o.entries, sameEntry)
}

// build writes the canonical bytes of a state: "id", then the collection's
// known fields in their declared order, then the other fields sorted by
// name, then "updated_at" and "_field_times" (every entry, sorted). The bytes
// depend on the state alone, which is what makes merged replicas identical;
// each value keeps its own bytes.
func build(s state, spec backup.CollectionSpec) []byte {
	size := 64 + len(s.id)
	for _, e := range s.entries {
		size += 2*len(e.key) + len(e.val) + 24
	}
	b := make([]byte, 0, size)
	b = append(b, `{"id":`...)
	b = backup.AppendString(b, s.id)
	field := func(e entry) {
		b = append(b, ',')
		b = backup.AppendString(b, e.key)
		b = append(b, ':')
		b = append(b, e.val...)
	}
	known := func(key string) bool { return slices.Contains(spec.Fields, key) }
	for _, k := range spec.Fields {
		if i, ok := slices.BinarySearchFunc(s.entries, k, func(e entry, key string) int { return strings.Compare(e.key, key) }); ok && s.entries[i].has {
			field(s.entries[i])
		}
	}
	for _, e := range s.entries {
		if e.has && !known(e.key) {
			field(e)
		}
	}
	b = append(b, `,"updated_at":`...)
	b = backup.AppendInt(b, s.ua)
	if len(s.entries) > 0 {
		b = append(b, ',')
		b = appendFieldTimes(b, s.entries)
	}
	return append(b, '}')
}

// appendFieldTimes appends the "_field_times" member: each entry's key and
// time, in the order given (sorted by key, so equal states write equal
// bytes).
func appendFieldTimes(b []byte, entries []entry) []byte {
	b = append(b, `"`+backup.FieldFieldTimes+`":{`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = backup.AppendString(b, e.key)
		b = append(b, ':')
		b = backup.AppendInt(b, e.t)
	}
	return append(b, '}')
}
