package merge

import (
	"encoding/json"
	"strconv"
	"sync"
	"testing"

	"github.com/davsync/davsync/internal/backup"
)

// benchPair returns two documents of n accounts each: half of the ids are on
// both sides (a fifth of those edited on the remote since, a tenth with
// concurrent edits to different fields), and each side deleted a few
// records the other still has. Built once per size, outside the timers.
var benchCache sync.Map

type pairDocs struct {
	local, remote *backup.Document
	lb, rb        []byte
}

func benchPair(b *testing.B, n int) *pairDocs {
	if p, ok := benchCache.Load(n); ok {
		return p.(*pairDocs)
	}
	const t0 = int64(1_700_000_000_000)
	rec := func(buf []byte, id int, notes string, ua, notesAt int64) []byte {
		buf = append(buf, `{"id":"acc-`...)
		buf = strconv.AppendInt(buf, int64(id), 10)
		buf = append(buf, `","site_name":"Site number `...)
		buf = strconv.AppendInt(buf, int64(id), 10)
		buf = append(buf, `","site_url":"https://api`...)
		buf = strconv.AppendInt(buf, int64(id), 10)
		buf = append(buf, `.example.com/v1","username":"user`...)
		buf = strconv.AppendInt(buf, int64(id%97), 10)
		buf = append(buf, `","access_token":"sk-0123456789abcdef0123456789abcdef","notes":"`...)
		buf = append(buf, notes...)
		buf = append(buf, `","tags":["work","relay"],"disabled":false,"created_at":`...)
		buf = strconv.AppendInt(buf, t0, 10)
		buf = append(buf, `,"updated_at":`...)
		buf = strconv.AppendInt(buf, ua, 10)
		buf = append(buf, `,"_field_times":{"access_token":`...)
		buf = strconv.AppendInt(buf, t0, 10)
		for _, f := range []string{"created_at", "disabled"} {
			buf = append(buf, `,"`+f+`":`...)
			buf = strconv.AppendInt(buf, t0, 10)
		}
		buf = append(buf, `,"notes":`...)
		buf = strconv.AppendInt(buf, notesAt, 10)
		for _, f := range []string{"site_name", "site_url", "tags"} {
			buf = append(buf, `,"`+f+`":`...)
			buf = strconv.AppendInt(buf, t0, 10)
		}
		buf = append(buf, `,"username":`...)
		buf = strconv.AppendInt(buf, ua, 10)
		return append(buf, `}}`...)
	}
	local, remote := backup.New(), backup.New()
	la, ra := local.Collections["accounts"], remote.Collections["accounts"]
	half := n / 2
	for i := range n {
		// local: ids 0..n-1; remote: ids half..half+n-1.
		la.Records = append(la.Records, record(rec(nil, i, "same", t0+1, t0+1), i))
		j := half + i
		switch {
		case j < n && j%5 == 0: // remote edited notes later
			ra.Records = append(ra.Records, record(rec(nil, j, "edited remotely", t0+9, t0+9), j))
		case j < n && j%10 == 1: // concurrent: remote edited notes, local username (below)
			ra.Records = append(ra.Records, record(rec(nil, j, "concurrent", t0+5, t0+5), j))
		default:
			ra.Records = append(ra.Records, record(rec(nil, j, "same", t0+1, t0+1), j))
		}
	}
	for i := half; i < n; i++ {
		if i%10 == 1 {
			la.Records[i] = record(rec(nil, i, "same", t0+7, t0+1), i)
		}
	}
	// Deletions: each side deleted 2% of the shared ids.
	for i := half; i < n; i += 50 {
		la.Delete(id(i), t0+20)
		ra.Delete(id(i+25), t0+20)
	}
	sortRecs(la)
	sortRecs(ra)
	p := &pairDocs{local: local, remote: remote, lb: local.Marshal(), rb: remote.Marshal()}
	benchCache.Store(n, p)
	return p
}

func id(i int) string { return "acc-" + strconv.Itoa(i) }

func record(raw []byte, i int) backup.Record {
	r, err := backup.ParseRecord("accounts", raw)
	if err != nil {
		panic(err)
	}
	_ = i
	return r
}

func sortRecs(c *backup.Collection) {
	d := &backup.Document{Collections: map[string]*backup.Collection{"accounts": c}}
	p, err := backup.Parse(d.Marshal())
	if err != nil {
		panic(err)
	}
	*c = *p.Collections["accounts"]
}

var benchSizes = []int{1_000, 10_000, 100_000}

func BenchmarkMerge(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			p := benchPair(b, n)
			base := NewBase(p.local)
			b.SetBytes(int64(len(p.lb) + len(p.rb)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := Merge(p.local, p.remote, Terms{Base: base, Now: 1_700_000_000_100}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStdJSON is the baseline make bench divides Merge by
// (scripts/benchratio): encoding/json decoding both documents into generic
// values and encoding one back, which any merge that does not keep records
// as raw bytes pays before it compares a single record.
func BenchmarkStdJSON(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			p := benchPair(b, n)
			b.SetBytes(int64(len(p.lb) + len(p.rb)))
			b.ReportAllocs()
			for b.Loop() {
				var l, r any
				if err := json.Unmarshal(p.lb, &l); err != nil {
					b.Fatal(err)
				}
				if err := json.Unmarshal(p.rb, &r); err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
