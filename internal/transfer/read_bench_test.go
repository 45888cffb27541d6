package transfer

import (
	"fmt"
	"strings"
	"testing"
)

// The one way in, alone: detecting and validating a 10k-account file, a
// davsync export and an All API Hub backup, without planning.
func BenchmarkRead10kDavsync(b *testing.B) {
	file, _, err := Export(benchDoc(b, 10000, 0, t0), ScopeAll, ExportOptions{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkRead(b, file)
}

func BenchmarkRead10kAllAPIHub(b *testing.B) {
	accts := make([]string, 10000)
	for i := range accts {
		accts[i] = fmt.Sprintf(`{"id":"acc-%d","site_name":"Site %d","site_url":"https://s%d.example.com","account_info":{"username":"u%d","access_token":"t%d","quota":5},"tagIds":["t1"],"created_at":1700000000000,"updated_at":1700000000001}`, i, i, i, i, i)
	}
	benchmarkRead(b, []byte(`{"version":"4.0","timestamp":1700000000000,"accounts":{"accounts":[`+strings.Join(accts, ",")+
		`]},"tagStore":{"version":1,"tagsById":{"t1":{"name":"A"}}},"preferences":{"themeMode":"dark","lastUpdated":1}}`))
}

func benchmarkRead(b *testing.B, file []byte) {
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := read(file, "", nil, now); err != nil {
			b.Fatal(err)
		}
	}
}
