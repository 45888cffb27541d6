package transfer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/backup"
)

// benchDoc builds n accounts with ids from offset; half of two such
// documents overlap when their offsets differ by n/2.
func benchDoc(b *testing.B, n, offset int, at int64) *backup.Document {
	b.Helper()
	recs := make([]string, n)
	for i := range recs {
		id := fmt.Sprintf("id-%07d", offset+i)
		recs[i] = fmt.Sprintf(`{"id":%q,"site_name":"Site %d","site_url":"https://s%d.example.com/","username":"user%d","access_token":"tok-%d","notes":"","tags":["a","b"],"disabled":false,"created_at":%d,"updated_at":%d}`,
			id, i, offset+i, i, i, at, at)
	}
	d, err := backup.Parse([]byte(`{"format":"davsync","version":1,"exported_at":1,"collections":{"accounts":{"records":[` + strings.Join(recs, ",") + `],"tombstones":[]}},"preferences":{"updated_at":1,"values":{"theme":"dark"}}}`))
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func benchmarkPlan(b *testing.B, mode Mode) {
	const n = 10000
	local := benchDoc(b, n, 0, t0)
	file, _, err := Export(benchDoc(b, n, n/2, t0+1), ScopeAll, ExportOptions{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Plan(local, file, ImportOptions{Accounts: mode, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}

// 10k local accounts, a 10k-account file overlapping half of them.
func BenchmarkPlan10kMerge(b *testing.B)   { benchmarkPlan(b, ModeMerge) }
func BenchmarkPlan10kAdd(b *testing.B)     { benchmarkPlan(b, ModeAdd) }
func BenchmarkPlan10kReplace(b *testing.B) { benchmarkPlan(b, ModeReplace) }

func BenchmarkExport10k(b *testing.B) {
	d := benchDoc(b, 10000, 0, t0)
	b.ReportAllocs()
	for b.Loop() {
		data, _, err := Export(d, ScopeAll, ExportOptions{Now: now})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
	}
}
