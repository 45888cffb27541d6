//go:build !js

package app

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/scripts/faultproxy"
	"github.com/davsync/davsync/scripts/servers/xnetdav/davhandler"
)

var flagBenchTable = flag.Bool("benchtable", false, "print the requests/bytes per cycle table (make bench-sync)")

// fill gives d n realistic accounts in one update.
func fill(t testing.TB, d *device, n int, prefix string) {
	t.Helper()
	_, err := d.store.Update(context.Background(), func(doc *backup.Document) error {
		for i := 0; i < n; i++ {
			raw := fmt.Sprintf(`{"id":"%s%05d","site_name":"Site %d","site_url":"https://api%d.example.com","username":"user%d@example.com","access_token":"sk-%032d","notes":"imported account number %d","tags":["team","prod"],"disabled":false,"created_at":1700000000000}`,
				prefix, i, i, i, i, i, i)
			if _, err := local.PutRecord(doc, "accounts", []byte(raw), d.store.Clock().Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type benchRow struct {
	scenario         string
	requests         int
	up, down         int64
	elapsed          time.Duration
	uploaded, loaded bool
}

// scenarios runs the cycle kinds on a pair of devices that share a remote
// with n accounts and returns one row per kind. Both devices first make one
// replacing write each (which takes their first snapshot), so the rows show
// the steady state; the hourly snapshot is its own row.
func scenarios(t testing.TB, a, b *device, n int, settle, snapshotDue func()) []benchRow {
	t.Helper()
	fill(t, a, n, "acc")
	a.mustCycle()
	b.mustCycle()
	settle()
	a.setField("acc00001", "notes", "warm-up a")
	a.mustCycle()
	settle()
	b.setField("acc00002", "notes", "warm-up b")
	b.mustCycle()
	settle()
	a.mustCycle() // takes b's write, settles the ETag
	settle()
	a.mustCycle()
	row := func(name string, d *device) benchRow {
		start := time.Now()
		res := d.mustCycle()
		return benchRow{scenario: name, requests: res.Requests, up: res.BytesUp, down: res.BytesDown, elapsed: time.Since(start), uploaded: res.Uploaded, loaded: res.Applied}
	}
	var rows []benchRow
	rows = append(rows, row("nothing changed", a))
	a.setField("acc00007", "notes", "edited locally")
	rows = append(rows, row("local change (1 record)", a))
	settle()
	rows = append(rows, row("remote change (1 record)", b))
	settle()
	a.mustCycle()
	settle()
	a.setField("acc00011", "notes", "edited on a")
	b.setField("acc00012", "notes", "edited on b")
	a.mustCycle()
	settle()
	rows = append(rows, row("both changed (1 record each)", b))
	settle()
	a.mustCycle()
	snapshotDue()
	a.setField("acc00013", "notes", "edited when a snapshot is due")
	rows = append(rows, row("local change + hourly snapshot", a))
	return rows
}

func printRows(t testing.TB, title string, rows []benchRow) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%s\n| scenario | requests | bytes up | bytes down | time |\n|---|---:|---:|---:|---:|\n", title)
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %d | %d | %d | %.1f ms |\n", r.scenario, r.requests, r.up, r.down, float64(r.elapsed.Microseconds())/1000)
	}
	printTable(t, sb.String())
}

// printTable logs a bench table and appends it to DAVSYNC_BENCH_OUT when set.
func printTable(t testing.TB, table string) {
	t.Helper()
	t.Log(table)
	if f := os.Getenv("DAVSYNC_BENCH_OUT"); f != "" {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, _ = fh.WriteString(table)
			_ = fh.Close()
		}
	}
}

// TestBenchTable prints requests and bytes per cycle for nothing changed,
// local change, remote change and both changed, at 100 and 10,000 accounts,
// in memory and over HTTP against x/net webdav (with precondition support),
// plain and gzip.
func TestBenchTable(t *testing.T) {
	if !*flagBenchTable {
		t.Skip("run with -benchtable (make bench-sync)")
	}
	for _, n := range []int{100, 10000} {
		for _, gz := range []bool{false, true} {
			w := newWorld()
			srv := newServer(w, webdav.Traits{})
			a := newDevice(t, "a", w, srv, srv.URL(), 0)
			b := newDevice(t, "b", w, srv, srv.URL(), 0)
			a.settings(func(s *syncSettings) { s.Compress = gz })
			b.settings(func(s *syncSettings) { s.Compress = gz })
			rows := scenarios(t, a, b, n, func() { w.advance(3 * time.Second) }, func() { w.advance(2 * time.Hour) })
			printRows(t, fmt.Sprintf("in-memory server, %d accounts, gzip=%v", n, gz), rows)
		}
	}
	for _, pre := range []bool{true, false} {
		for _, n := range []int{100, 10000} {
			h, err := davhandler.New(davhandler.Config{Root: t.TempDir(), Prefix: "/dav/", User: "u", Pass: "p", Preconditions: pre})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(h)
			p := faultproxy.New(hs.URL)
			s := realServer{Name: "xnet", URL: hs.URL + "/dav/", User: "u", Pass: "p"}
			folder := proxyFolder(t, s, p)
			a := realDevice(t, "a", folder, s, 0)
			b := realDevice(t, "b", folder, s, 0)
			rows := scenarios(t, a, b, n, func() { time.Sleep(2100 * time.Millisecond) },
				func() { a.settings(func(s *syncSettings) { s.SnapshotIntervalSeconds = 1 }) })
			printRows(t, fmt.Sprintf("x/net webdav over HTTP (preconditions=%v), %d accounts", pre, n), rows)
			p.Close()
			hs.Close()
		}
	}
	// Real servers listed by scripts/servers/with-server.sh (Apache, nginx).
	if f := os.Getenv("DAVSYNC_TEST_SERVERS"); f != "" {
		t.Setenv("DAVSYNC_SYNC_LISTED_ONLY", "1")
		for _, s := range realServers(t) {
			for _, n := range []int{100, 10000} {
				u, _ := url.Parse(s.URL)
				p := faultproxy.New(u.Scheme + "://" + u.Host)
				folder := proxyFolder(t, s, p)
				a := realDevice(t, "a", folder, s, 0)
				b := realDevice(t, "b", folder, s, 0)
				rows := scenarios(t, a, b, n, func() { time.Sleep(2100 * time.Millisecond) },
					func() { a.settings(func(s *syncSettings) { s.SnapshotIntervalSeconds = 1 }) })
				printRows(t, fmt.Sprintf("%s over HTTP, %d accounts", s.Name, n), rows)
				p.Close()
			}
		}
	}
}

// BenchmarkIdleCycle10k is the "nothing changed" cycle at 10,000 accounts
// against x/net webdav over HTTP.
func BenchmarkIdleCycle10k(b *testing.B) {
	h, err := davhandler.New(davhandler.Config{Root: b.TempDir(), Prefix: "/dav/", User: "u", Pass: "p", Preconditions: true})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	w := newWorld()
	d := newDeviceHTTP(b, w, hs.URL+"/dav/")
	fill(b, d, 10000, "acc")
	d.mustCycle()
	time.Sleep(2100 * time.Millisecond)
	d.mustCycle()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res := d.mustCycle(); res.Requests != 1 {
			b.Fatalf("idle cycle made %d requests", res.Requests)
		}
	}
}

// BenchmarkLocalChangeCycle10k is a one-record local edit at 10,000
// accounts, uploaded over HTTP.
func BenchmarkLocalChangeCycle10k(b *testing.B) {
	h, err := davhandler.New(davhandler.Config{Root: b.TempDir(), Prefix: "/dav/", User: "u", Pass: "p", Preconditions: true})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	w := newWorld()
	d := newDeviceHTTP(b, w, hs.URL+"/dav/")
	fill(b, d, 10000, "acc")
	d.mustCycle()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		d.setField("acc00042", "notes", fmt.Sprint("edit ", i))
		b.StartTimer()
		d.mustCycle()
	}
}

func newDeviceHTTP(b testing.TB, w *world, url string) *device {
	s := realServer{Name: "xnet-pre", URL: url, User: "u", Pass: "p"}
	return realDevice(b, "a", url, s, 0)
}
