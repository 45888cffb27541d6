package merge

import (
	"bytes"

	"github.com/davsync/davsync/internal/backup"
	"github.com/tidwall/gjson"
)

// Overlay returns cur with the named top-level fields as from has them: set
// to from's value, or removed where from lacks them. Every other field keeps
// cur's value. "updated_at" and "_field_times" are dropped; Edit stamps the
// result against cur. It is how a change made on an older copy of a record
// (an editor opened a while ago, a conflict logged earlier) lands on the
// record as it is now, without reverting fields others changed meanwhile.
func Overlay(cur, from []byte, fields []string) []byte {
	want := make(map[string]bool, len(fields))
	for _, f := range fields {
		want[f] = true
	}
	vals := map[string]string{}
	gjson.ParseBytes(from).ForEach(func(k, v gjson.Result) bool {
		if want[k.Str] {
			vals[k.Str] = v.Raw
		}
		return true
	})
	out := []byte{'{'}
	add := func(k, v string) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = backup.AppendString(out, k)
		out = append(out, ':')
		out = append(out, v...)
	}
	done := map[string]bool{}
	gjson.ParseBytes(cur).ForEach(func(k, v gjson.Result) bool {
		switch {
		case k.Str == backup.FieldUpdatedAt || k.Str == backup.FieldFieldTimes:
		case want[k.Str]:
			done[k.Str] = true
			if nv, ok := vals[k.Str]; ok {
				add(k.Str, nv)
			}
		default:
			add(k.Str, v.Raw)
		}
		return true
	})
	for _, f := range fields {
		if nv, ok := vals[f]; ok && !done[f] {
			add(f, nv)
			done[f] = true
		}
	}
	return append(out, '}')
}

// Changed lists the top-level fields whose value differs between the
// records a and b (compared as compact JSON), present in one and not the
// other included; "updated_at" and "_field_times" do not count.
func Changed(a, b []byte) []string {
	fa, fb := fieldsOf(a), fieldsOf(b)
	var out []string
	for k, va := range fa {
		if vb, ok := fb[k]; !ok || !bytes.Equal(va, vb) {
			out = append(out, k)
		}
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

func fieldsOf(raw []byte) map[string][]byte {
	m := map[string][]byte{}
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		if k.Str != backup.FieldUpdatedAt && k.Str != backup.FieldFieldTimes {
			m[k.Str] = backup.Compact(nil, []byte(v.Raw))
		}
		return true
	})
	return m
}
