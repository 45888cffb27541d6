package backup

import (
	"encoding/json"
	"strconv"
	"sync"
	"testing"
)

// benchDoc returns the bytes of a document of n realistic accounts (about
// 490 bytes each, with _field_times), built once per size outside the timers.
var benchDocs sync.Map

func benchDoc(n int) []byte {
	if b, ok := benchDocs.Load(n); ok {
		return b.([]byte)
	}
	const t0 = int64(1_700_000_000_000)
	d := New()
	arena := make([]byte, 0, n*512)
	for i := range n {
		start := len(arena)
		arena = append(arena, `{"id":"acc-`...)
		arena = strconv.AppendInt(arena, int64(i), 10)
		arena = append(arena, `","site_name":"Site number `...)
		arena = strconv.AppendInt(arena, int64(i), 10)
		arena = append(arena, `","site_url":"https://api.example.com/v1","username":"user","access_token":"sk-0123456789abcdef0123456789abcdef","notes":"some notes","tags":["work","relay"],"disabled":false,"created_at":`...)
		arena = strconv.AppendInt(arena, t0, 10)
		arena = append(arena, `,"updated_at":`...)
		arena = strconv.AppendInt(arena, t0+int64(i), 10)
		arena = append(arena, `,"_field_times":{"access_token":`...)
		arena = strconv.AppendInt(arena, t0, 10)
		arena = append(arena, `,"notes":`...)
		arena = strconv.AppendInt(arena, t0+int64(i), 10)
		arena = append(arena, `}}`...)
		d.Collections["accounts"].Records = append(d.Collections["accounts"].Records,
			Record{ID: "acc-" + strconv.Itoa(i), UpdatedAt: t0 + int64(i), Raw: arena[start:len(arena):len(arena)]})
	}
	for i := 0; i < n; i += 50 {
		d.Collections["accounts"].Delete("gone-"+strconv.Itoa(i), t0)
	}
	b := d.Marshal() // sorts: ids were appended in numeric, not byte, order
	benchDocs.Store(n, b)
	return b
}

var benchSizes = []int{1_000, 10_000, 100_000}

func BenchmarkParse(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			data := benchDoc(n)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshal(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			d, err := Parse(benchDoc(n))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(benchDoc(n))))
			b.ReportAllocs()
			for b.Loop() {
				d.Marshal()
			}
		})
	}
}

// BenchmarkStdJSON is the baseline make bench divides Parse and Marshal by
// (scripts/benchratio): encoding/json decoding the same document into
// generic values and encoding it back, the least a tool that does not keep
// records as raw bytes must do. Measured in the same run, so the ratio holds
// on a noisy machine where the nanoseconds do not.
func BenchmarkStdJSON(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			data := benchDoc(n)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var v any
				if err := json.Unmarshal(data, &v); err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
