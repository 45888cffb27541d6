package allapihub

import (
	"fmt"
	"strings"
	"testing"
)

// A 10k-account version 4.0 backup with tags and deletions.
func BenchmarkConvert10k(b *testing.B) {
	accts := make([]string, 10000)
	for i := range accts {
		accts[i] = fmt.Sprintf(`{"id":"acc-%d","site_name":"Site %d","site_url":"https://s%d.example.com","account_info":{"username":"u%d","access_token":"t%d","quota":5},"tagIds":["t1","t2"],"created_at":1700000000000,"updated_at":1700000000001,"user_updated_at":1700000000000}`, i, i, i, i, i)
	}
	data := []byte(`{"version":"4.0","timestamp":1700000000000,"accounts":{"accounts":[` + strings.Join(accts, ",") +
		`],"deletedEntryRecords":{"x":{"kind":"account","deletedAt":1700000000000}}},"tagStore":{"version":1,"tagsById":{"t1":{"name":"A"},"t2":{"name":"B"}}},"preferences":{"themeMode":"dark","lastUpdated":1}}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Convert(data, ConvertOptions{Now: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
