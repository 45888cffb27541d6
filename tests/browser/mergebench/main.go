// Command mergebench times a 10,000-account merge, the heaviest step of a
// sync cycle. The same program runs natively and as wasm inside an extension
// page (tests/browser/bench.js), so the two numbers compare the platforms.
// It prints one JSON line: {"platform":..,"records":..,"merge_ms":..,"parse_ms":..}.
package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/merge"
)

const records = 10000

// docs builds two replicas of 10k accounts: every tenth record edited on
// one side, every seventh on the other, 500 new records on each side.
func docs() (*backup.Document, *backup.Document) {
	local, remote := backup.New(), backup.New()
	for i := 0; i < records; i++ {
		id := fmt.Sprintf("id-%06d", i)
		base := int64(1_700_000_000_000 + i)
		mk := func(name string, t int64) backup.Record {
			raw := `{"id":"` + id + `","site_name":"` + name + `","site_url":"https://s` + strconv.Itoa(i) + `.example","username":"u` + strconv.Itoa(i) + `","tags":["a","b"],"updated_at":` + strconv.FormatInt(t, 10) +
				`,"_field_times":{"site_name":` + strconv.FormatInt(t, 10) + `,"site_url":` + strconv.FormatInt(base, 10) + `,"username":` + strconv.FormatInt(base, 10) + `,"tags":` + strconv.FormatInt(base, 10) + `}}`
			return backup.Record{ID: id, UpdatedAt: t, Raw: []byte(raw)}
		}
		l, r := mk("site "+id, base), mk("site "+id, base)
		if i%10 == 0 {
			l = mk("local edit "+id, base+5000)
		}
		if i%7 == 0 {
			r = mk("remote edit "+id, base+7000)
		}
		if i >= records-500 {
			local.Collections["accounts"].Records = append(local.Collections["accounts"].Records, l)
			continue
		}
		local.Collections["accounts"].Records = append(local.Collections["accounts"].Records, l)
		remote.Collections["accounts"].Records = append(remote.Collections["accounts"].Records, r)
	}
	return local, remote
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func main() {
	local, remote := docs()
	base := merge.NewBase(remote)
	wire := remote.Marshal()
	var mergeMs, parseMs []float64
	for run := 0; run < 5; run++ {
		t0 := time.Now()
		if _, err := backup.Parse(wire); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		parseMs = append(parseMs, float64(time.Since(t0).Microseconds())/1000)
		t0 = time.Now()
		res, err := merge.Merge(local, remote, merge.Terms{Strategy: "merge", Base: base})
		if err != nil || len(res.Doc.Collections["accounts"].Records) != records {
			fmt.Fprintln(os.Stderr, "merge failed:", err)
			os.Exit(1)
		}
		mergeMs = append(mergeMs, float64(time.Since(t0).Microseconds())/1000)
	}
	fmt.Printf(`{"platform":"%s/%s","records":%d,"doc_bytes":%d,"merge_ms":%.1f,"parse_ms":%.1f}`+"\n",
		runtime.GOOS, runtime.GOARCH, records, len(wire), median(mergeMs), median(parseMs))
}
