//go:build !js

package app

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/davsync/davsync/scripts/faultproxy"
)

// idleFloorAccounts is the size the idle goal is stated for.
const idleFloorAccounts = 10000

// TestRealServerIdleFloor holds every server in the suite to the idle goal:
// once two devices share a settled file of 10,000 accounts, a cycle in which
// nothing changed is one request with under 2 KB of answer (and at most a PROPFIND body sent).
// On a server that answers a conditional GET with the whole file (npm
// webdav-server) that request is a PROPFIND Depth 0, chosen from what the
// server's answers showed (Traits.ConditionalGet), not from its name. The
// counts are read on the wire, at the proxy in front of the server, as well
// as from the cycle's own result. make bench-sync prints the table.
func TestRealServerIdleFloor(t *testing.T) {
	var (
		mu    sync.Mutex
		table = map[string]string{}
	)
	servers := realServers(t)
	t.Run("servers", func(t *testing.T) {
		for _, s := range servers {
			t.Run(s.Name, func(t *testing.T) {
				t.Parallel()
				u, err := url.Parse(s.URL)
				if err != nil {
					t.Fatal(err)
				}
				p := faultproxy.New(u.Scheme + "://" + u.Host)
				defer p.Close()
				folder := proxyFolder(t, s, p)
				a := realDevice(t, "a", folder, s, 0)
				b := realDevice(t, "b", folder, s, 0)
				fill(t, a, idleFloorAccounts, "acc")
				a.mustCycle()
				b.mustCycle()
				// Past every server's ETag window (Apache's weak second,
				// nginx's whole-second ETags), each device reads the
				// settled ETag once; from then on nothing should move.
				time.Sleep(2100 * time.Millisecond)
				a.mustCycle()
				b.mustCycle()

				var row []string
				for _, d := range []*device{a, b} {
					p.Reset()
					res := d.mustCycle()
					st := p.Stats()
					var down, up int64
					var reqs []string
					for _, e := range st.Log {
						down += e.BytesDown
						up += e.BytesUp
						reqs = append(reqs, fmt.Sprintf("%s %d", e.Method, e.Status))
					}
					if res.Requests != 1 || len(st.Log) != 1 || down >= 2048 || up > 1024 || res.Uploaded || res.Applied {
						t.Errorf("%s: idle cycle: %d requests (%s), %d B down, %d B up on the wire; result %+v",
							d.name, len(st.Log), strings.Join(reqs, ", "), down, up, res)
					}
					row = append(row, fmt.Sprintf("%s | %d B", strings.Join(reqs, ", "), down))
				}
				mu.Lock()
				table[s.Name] = strings.Join(row, " | ")
				mu.Unlock()
			})
		}
	})
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nidle cycle at %d accounts, per server (two devices, on the wire)\n| server | device a: request | down | device b: request | down |\n|---|---|---:|---|---:|\n", idleFloorAccounts)
	for _, s := range servers {
		if r, ok := table[s.Name]; ok {
			fmt.Fprintf(&sb, "| %s | %s |\n", s.Name, r)
		}
	}
	printTable(t, sb.String())
}
