package merge

import (
	"slices"
	"strconv"
	"strings"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/jsonlimit"
	"github.com/davsync/davsync/internal/msg"
	"github.com/tidwall/gjson"
)

// Edit returns the record newRaw describes, as a local write at now: every
// top-level field that differs from old (added, changed or removed) gets now
// in "_field_times", unchanged fields keep their time, and updated_at is the
// newest field time. old is nil for a new record, whose fields are all
// stamped. newRaw's field order and unknown fields are kept; any
// "updated_at" or "_field_times" in it is replaced. If nothing changed, old
// is returned as it is.
//
// It cannot lose an edit: the stamp is max(now, old updated_at + 1), so a
// changed field is always newer than every time the record carried, and
// wins in the next merge even if the device clock is behind.
func Edit(old *backup.Record, newRaw []byte, now int64) (backup.Record, error) {
	const op = "edit record"
	if now < 0 || now > backup.MaxTimestamp {
		return backup.Record{}, errkind.Say(errkind.Invalid, op, msg.New("errClockRange", strconv.FormatInt(now, 10)))
	}
	if !jsonlimit.Valid(newRaw) {
		return backup.Record{}, errkind.Internal(errkind.Invalid, op, "the record is not valid JSON", backup.ErrNotJSON)
	}
	root := gjson.ParseBytes(newRaw)
	if !root.IsObject() {
		return backup.Record{}, errkind.Internal(errkind.Invalid, op, "the record must be a JSON object", backup.ErrWrongType)
	}
	compact := backup.Compact(make([]byte, 0, len(newRaw)), newRaw)
	root = gjson.ParseBytes(compact)

	var id string
	hasID, seenID := false, false
	var fields []entry // the new record's fields in document order
	// A set, not a scan of fields: a record may carry many thousands of
	// fields (an import), and Edit must stay linear in its size.
	inNew := map[string]struct{}{}
	dup, hasDup := "", false // "" is a valid field name: hasDup says whether dup is set
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case backup.FieldID:
			// Any second "id" is refused, whatever the first one's type:
			// the record is written back member by member, and a record
			// with two ids would make the whole document unreadable.
			if seenID {
				dup, hasDup = k.Str, true
				return false
			}
			seenID, hasID, id = true, v.Type == gjson.String, v.Str
		case backup.FieldUpdatedAt, backup.FieldFieldTimes:
		default:
			if _, ok := inNew[k.Str]; ok {
				dup, hasDup = k.Str, true
				return false
			}
			inNew[k.Str] = struct{}{}
			fields = append(fields, entry{key: k.Str, val: v.Raw, has: true})
		}
		return true
	})
	switch {
	case hasDup:
		return backup.Record{}, errkind.Internal(errkind.Invalid, op, "the field "+strconv.Quote(dup)+" appears twice", backup.ErrDuplicateKey)
	case !hasID || id == "":
		return backup.Record{}, errkind.Internal(errkind.Invalid, op, `the record has no string "id"`, backup.ErrMissingID)
	case old != nil && old.ID != id:
		return backup.Record{}, errkind.Internal(errkind.Invalid, op, "the edit changes the id from "+strconv.Quote(old.ID)+
			" to "+strconv.Quote(id)+"; ids never change", nil)
	}

	var prev state
	stamp := now
	if old != nil {
		prev = decompose(old.Raw)
		stamp = max(now, prev.ua+1)
	}
	if stamp > backup.MaxTimestamp {
		return backup.Record{}, errkind.Say(errkind.Invalid, op, msg.New("errRecordYear3000"))
	}
	find := func(key string) (entry, bool) {
		i, ok := slices.BinarySearchFunc(prev.entries, key, func(e entry, k string) int { return strings.Compare(e.key, k) })
		if !ok {
			return entry{}, false
		}
		return prev.entries[i], true
	}
	changed := old == nil
	times := make([]entry, 0, len(fields)+len(prev.entries))
	for _, f := range fields {
		t := stamp
		if p, ok := find(f.key); ok && p.has && p.val == f.val {
			t = p.t
		} else {
			changed = true
		}
		times = append(times, entry{key: f.key, t: t})
	}
	for _, p := range prev.entries {
		if _, ok := inNew[p.key]; ok {
			continue
		}
		t := p.t // already removed: keep when
		if p.has {
			t, changed = stamp, true // removed now
		}
		times = append(times, entry{key: p.key, t: t})
	}
	if !changed {
		return backup.Record{ID: old.ID, UpdatedAt: old.UpdatedAt, Raw: slices.Clone(old.Raw)}, nil
	}
	slices.SortFunc(times, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	ua := stamp

	b := make([]byte, 0, len(compact)+len(times)*24+48)
	b = append(b, '{')
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	wroteUA, wroteFT := false, false
	writeUA := func() {
		sep()
		b = append(b, `"updated_at":`...)
		b = backup.AppendInt(b, ua)
		wroteUA = true
	}
	writeFT := func() {
		sep()
		b = appendFieldTimes(b, times)
		wroteFT = true
	}
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case backup.FieldUpdatedAt:
			if !wroteUA {
				writeUA()
			}
		case backup.FieldFieldTimes:
			if !wroteFT {
				writeFT()
			}
		default:
			sep()
			b = append(b, k.Raw...)
			b = append(b, ':')
			b = append(b, v.Raw...)
		}
		return true
	})
	if !wroteUA {
		writeUA()
	}
	if !wroteFT {
		writeFT()
	}
	b = append(b, '}')
	return backup.Record{ID: id, UpdatedAt: ua, Raw: b}, nil
}
