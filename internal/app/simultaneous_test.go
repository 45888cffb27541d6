//go:build !js

package app

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/scripts/faultproxy"
)

// Two devices that sync at the same moment, round after round, on every
// real server: rclone answers the second of two concurrent uploads with
// 423 for an instant, which davsync (holding no lock of its own) waits out
// instead of telling the user to remove a lock. No round may end in
// "locked", and no edit may be lost.
func TestRealServerSimultaneousUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("real-server suite")
	}
	for _, s := range realServers(t) {
		t.Run(s.Name, func(t *testing.T) {
			u, _ := url.Parse(s.URL)
			p := faultproxy.New(u.Scheme + "://" + u.Host) // only for a fresh folder
			defer p.Close()
			folder := proxyFolder(t, s, p)
			a := realDevice(t, "a", folder, s, 0)
			b := realDevice(t, "b", folder, s, 0)
			// The client's production backoff, not the suite's quick one:
			// what is measured is how a real device rides out the lock.
			for _, d := range []*device{a, b} {
				d.webdavOpts = []webdav.Option{webdav.WithTimeout(10 * time.Second)}
				d.open(d.tr)
			}
			a.mustCycle()
			b.mustCycle()
			const rounds = 8
			locked := 0 // rounds that ended "locked"
			for i := 0; i < rounds; i++ {
				a.put(fmt.Sprintf("a%d", i), "from a")
				b.put(fmt.Sprintf("b%d", i), "from b")
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for j, d := range []*device{a, b} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, errs[j] = d.cycle(CycleOptions{})
					}()
				}
				wg.Wait()
				for j, err := range errs {
					switch errkind.Of(err) {
					case "":
					case errkind.Locked:
						locked++
						t.Errorf("round %d, device %d: %v", i, j, err)
					case errkind.Precondition:
						// Another device's write landing between a read and a
						// conditional write, round after round, is a real race;
						// the next cycle merges.
						t.Logf("round %d, device %d: %v", i, j, err)
					default:
						// "bad document": the other device's upload, read while
						// it arrived; "forbidden": Apache's answer to the second
						// of two MKCOLs of the snapshots folder.
						t.Errorf("round %d, device %d: %v", i, j, err)
					}
				}
			}
			for i := 0; i < 2; i++ {
				a.mustCycle()
				b.mustCycle()
			}
			for _, d := range []*device{a, b} {
				n := d.names()
				for i := 0; i < rounds; i++ {
					if n[fmt.Sprintf("a%d", i)] != "from a" || n[fmt.Sprintf("b%d", i)] != "from b" {
						t.Fatalf("%s lost an edit of round %d: %v", d.name, i, n)
					}
				}
			}
			if a.docHash() != b.docHash() {
				t.Fatal("the devices differ")
			}
			t.Logf("%s: %d simultaneous rounds, %d ended locked", s.Name, rounds, locked)
		})
	}
}
