//go:build !js

package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/httptransport"
	"github.com/davsync/davsync/scripts/faultproxy"
	"github.com/davsync/davsync/scripts/servers/xnetdav/davhandler"
)

// realServer is a WebDAV server reachable over HTTP.
type realServer struct {
	Name, URL, User, Pass string
}

// realServers returns the in-process x/net servers (with and without
// precondition support) and every server listed in DAVSYNC_TEST_SERVERS
// (scripts/servers/with-server.sh apache,nginx ...).
func realServers(t *testing.T) []realServer {
	t.Helper()
	var out []realServer
	in := []bool{false, true}
	if os.Getenv("DAVSYNC_SYNC_LISTED_ONLY") != "" {
		in = nil // make test-sync-servers: the in-process servers ran in test-go
	}
	for _, pre := range in {
		h, err := davhandler.New(davhandler.Config{Root: t.TempDir(), Prefix: "/dav/", User: "u", Pass: "p", Preconditions: pre})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		name := "xnet"
		if pre {
			name = "xnet-pre"
		}
		out = append(out, realServer{Name: name, URL: srv.URL + "/dav/", User: "u", Pass: "p"})
	}
	if f := os.Getenv("DAVSYNC_TEST_SERVERS"); f != "" {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var s struct{ Name, URL, User, Pass string }
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				t.Fatalf("DAVSYNC_TEST_SERVERS: %v", err)
			}
			out = append(out, realServer{Name: s.Name, URL: s.URL, User: s.User, Pass: s.Pass})
		}
	}
	return out
}

var folderSeq atomic.Int64

// realDevice is a device talking HTTP, through the proxy, on real time.
func realDevice(t testing.TB, name, url string, s realServer, skew time.Duration) *device {
	t.Helper()
	d := &device{t: t, name: name, w: &world{}, skew: skew, kv: local.NewMemKV(), session: local.NewMemKV()}
	d.set = syncSettings{URL: url, Username: s.User, Password: s.Pass, AutoSync: true}
	d.wallFn = func() time.Time { return time.Now().Add(skew) }
	d.webdavOpts = []webdav.Option{webdav.WithRetry(3, 5*time.Millisecond, 20*time.Millisecond), webdav.WithTimeout(3 * time.Second), webdav.WithMaxRetryWait(time.Second)}
	d.open(httptransport.New())
	return d
}

// proxyFolder returns a fresh folder on s, reached through proxy p.
func proxyFolder(t testing.TB, s realServer, p *faultproxy.Proxy) string {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	folder := "sync-test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000") + "-" + string(rune('a'+folderSeq.Add(1)%26))
	c, err := webdav.New(s.URL, s.User, s.Pass, httptransport.New())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MkcolAll(context.Background(), folder); err != nil {
		t.Fatalf("create test folder on %s: %v", s.Name, err)
	}
	return p.URL() + u.Path + url.PathEscape(folder) + "/"
}

// faultCases are the faults of the issue, each as proxy rules active during
// one cycle of each device.
var faultCases = []struct {
	name  string
	rules []faultproxy.Rule
}{
	{"put-reset-before", []faultproxy.Rule{{Method: "PUT", Path: "davsync.json", Fault: faultproxy.ResetBefore, Times: 1}}},
	{"put-reset-after", []faultproxy.Rule{{Method: "PUT", Path: "davsync.json", Fault: faultproxy.ResetAfter, Times: 1}}},
	{"get-reset-after", []faultproxy.Rule{{Method: "GET", Fault: faultproxy.ResetAfter, Times: 1}}},
	{"put-500", []faultproxy.Rule{{Method: "PUT", Fault: faultproxy.Status, Status: 500, Times: 2}}},
	{"put-502", []faultproxy.Rule{{Method: "PUT", Fault: faultproxy.Status, Status: 502, Times: 1}}},
	{"get-503-retry-after", []faultproxy.Rule{{Method: "GET", Fault: faultproxy.Status, Status: 503, RetryAfter: "1", Times: 1}}},
	{"put-504", []faultproxy.Rule{{Method: "PUT", Fault: faultproxy.Status, Status: 504, Times: 1}}},
	{"429-long-retry-after", []faultproxy.Rule{{Fault: faultproxy.Status, Status: 429, RetryAfter: "3600", Times: 1}}},
	{"put-507", []faultproxy.Rule{{Method: "PUT", Fault: faultproxy.Status, Status: 507, Times: 2}}},
	{"put-423", []faultproxy.Rule{{Method: "PUT", Fault: faultproxy.Status, Status: 423, Times: 2}}},
	{"delay", []faultproxy.Rule{{Fault: faultproxy.Delay, Delay: 50 * time.Millisecond, Times: -1}}},
	{"timeout", []faultproxy.Rule{{Method: "GET", Fault: faultproxy.Delay, Delay: 4 * time.Second, Times: 1}}},
	{"trickle", []faultproxy.Rule{{Method: "GET", Fault: faultproxy.Trickle, TrickleBytes: 64, TrickleEvery: time.Millisecond, Times: 2}}},
	{"truncate", []faultproxy.Rule{{Method: "GET", Fault: faultproxy.Truncate, TruncateAt: 10, Times: 2}}},
	{"drop-write", []faultproxy.Rule{{Method: "PUT", Path: "davsync.json", Fault: faultproxy.DropWrite, Times: 1}}},
	{"drop-write-fake-etag", []faultproxy.Rule{{Method: "PUT", Path: "davsync.json", Fault: faultproxy.DropWrite, ETag: `"made-up"`, Times: 1}}},
	{"strip-etag", []faultproxy.Rule{{Fault: faultproxy.StripETag, Times: -1}}},
	{"fake-etag", []faultproxy.Rule{{Fault: faultproxy.FakeETag, Times: -1}}},
	{"weak-etag", []faultproxy.Rule{{Fault: faultproxy.WeakETag, Times: -1}}},
	{"redirect", []faultproxy.Rule{{Method: "GET", Fault: faultproxy.Redirect, Status: 307, Location: "https://elsewhere.test{path}", Times: 1}}},
	{"401-mid-session", []faultproxy.Rule{{Method: "PUT", Fault: faultproxy.Status, Status: 401, Times: 1}}},
}

// TestRealServerFaults: every fault kind, on every server, through the
// proxy. Two devices edit, both cycle under the fault, the fault stops, and
// both sync again: no edit may be lost, and a failed cycle must end in a
// classified error with a message.
func TestRealServerFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("real-server suite")
	}
	for _, s := range realServers(t) {
		t.Run(s.Name, func(t *testing.T) {
			u, _ := url.Parse(s.URL)
			for _, fc := range faultCases {
				t.Run(fc.name, func(t *testing.T) {
					// One proxy per case, so the cases run in parallel (Apache
					// makes each take ~2 s: its ETags are weak for a second
					// after a write and the client waits that out).
					t.Parallel()
					p := faultproxy.New(u.Scheme + "://" + u.Host)
					defer p.Close()
					folder := proxyFolder(t, s, p)
					a := realDevice(t, "a", folder, s, 0)
					b := realDevice(t, "b", folder, s, 90*time.Second)
					a.put("r1", "one")
					a.mustCycle()
					b.mustCycle()
					a.put("ra", "from a")
					a.setField("r1", "notes", "a's note")
					b.put("rb", "from b")
					for _, r := range fc.rules {
						p.MustAdd(r)
					}
					for _, d := range []*device{a, b} {
						res, err := d.cycle(CycleOptions{})
						if err != nil {
							k := errkind.Of(err)
							if k == errkind.Unknown || errkind.Message(err) == "" || strings.Contains(err.Error(), s.Pass+"@") {
								t.Fatalf("%s: unclear error under %s: %v", d.name, fc.name, err)
							}
							t.Logf("%s: %s -> %s: %s", d.name, fc.name, k, errkind.Message(err))
						} else {
							t.Logf("%s: %s -> ok (uploaded=%v rounds=%d requests=%d)", d.name, fc.name, res.Uploaded, res.Rounds, res.Requests)
						}
					}
					p.Clear()
					for i := 0; i < 2; i++ {
						for _, d := range []*device{a, b} {
							if _, err := d.cycle(CycleOptions{}); err != nil {
								t.Fatalf("%s: cycle after the fault stopped: %v", d.name, err)
							}
						}
					}
					for _, d := range []*device{a, b} {
						n := d.names()
						doc, _, _ := d.store.Load(context.Background())
						r1, _ := doc.Collection("accounts").Get("r1")
						if n["ra"] != "from a" || n["rb"] != "from b" || n["r1"] != "one" || !strings.Contains(string(r1.Raw), "a's note") {
							t.Fatalf("%s lost an edit under %s: %v %s", d.name, fc.name, n, r1.Raw)
						}
					}
					if a.docHash() != b.docHash() {
						t.Fatalf("devices differ after %s", fc.name)
					}
				})
			}
		})
	}
}

// TestRealServerConcurrency: an edit during a cycle and a second device
// writing between a cycle's read and its write, on servers that honour
// If-Match and servers that ignore it.
func TestRealServerConcurrency(t *testing.T) {
	if testing.Short() {
		t.Skip("real-server suite")
	}
	for _, s := range realServers(t) {
		t.Run(s.Name, func(t *testing.T) {
			u, _ := url.Parse(s.URL)
			p := faultproxy.New(u.Scheme + "://" + u.Host)
			defer p.Close()
			folder := proxyFolder(t, s, p)
			a := realDevice(t, "a", folder, s, 0)
			b := realDevice(t, "b", folder, s, -3*time.Minute)
			c := realDevice(t, "c", folder, s, 2*time.Minute)
			a.put("r1", "one")
			a.mustCycle()
			b.mustCycle()
			c.mustCycle()
			b.put("rb", "b")
			b.mustCycle()
			c.put("rc", "c")
			a.put("ra", "a")
			a.hook = func(context.Context) {
				a.put("ra-during", "typed during the cycle")
				c.mustCycle() // lands between a's read and a's write
			}
			a.mustCycle()
			for i := 0; i < 2; i++ {
				for _, d := range []*device{a, b, c} {
					d.mustCycle()
				}
			}
			for _, d := range []*device{a, b, c} {
				n := d.names()
				if len(n) != 5 || n["ra-during"] == "" || n["rc"] != "c" || n["rb"] != "b" {
					t.Fatalf("%s: %v", d.name, n)
				}
			}
			if a.docHash() != b.docHash() || b.docHash() != c.docHash() {
				t.Fatal("devices differ")
			}
			st := p.Stats()
			t.Logf("%s: requests by method: GET %d PUT %d PROPFIND %d COPY %d", s.Name,
				st.Method("GET").Requests, st.Method("PUT").Requests, st.Method("PROPFIND").Requests, st.Method("COPY").Requests)
		})
	}
}

var _ = errors.Is
var _ = backup.New
