//go:build !js

package app

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
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

// Devices that take turns on every real server, each syncing its edit right
// after another device wrote (well inside Apache's one-second window in
// which its ETag is weak and a conditional PUT on it fails): seeded
// schedules of 30 turns. Nothing runs at the same moment, so no 412 is a
// real race; each device may meet one while it learns that the server
// takes the weak ETag in an If header (webdav.Traits.IfHeader; a device set
// up through the server editor learned it in Test connection), and none
// after. Before, 9-19 uploads per 40-operation schedule on Apache were
// refused and each cost a 1.1 s pause. The log prints the 412s and the
// time per schedule.
func TestRealServerBackToBackSchedules(t *testing.T) {
	if testing.Short() {
		t.Skip("real-server suite")
	}
	for _, s := range realServers(t) {
		t.Run(s.Name, func(t *testing.T) {
			for seed := uint64(1); seed <= 3; seed++ {
				u, _ := url.Parse(s.URL)
				p := faultproxy.New(u.Scheme + "://" + u.Host)
				folder := proxyFolder(t, s, p)
				devs := []*device{realDevice(t, "a", folder, s, 0), realDevice(t, "b", folder, s, 0), realDevice(t, "c", folder, s, 0)}
				for _, d := range devs {
					d.mustCycle()
				}
				p.Reset()
				r := rand.New(rand.NewPCG(seed, 16))
				start := time.Now()
				writes := 0
				for turn := 0; turn < 30; turn++ {
					d := devs[r.IntN(len(devs))]
					id := fmt.Sprintf("r%d", r.IntN(12))
					if r.IntN(5) == 0 {
						d.del(id)
					} else {
						d.put(id, fmt.Sprintf("turn %d by %s", turn, d.name))
					}
					if res := d.mustCycle(); res.Uploaded {
						writes++
					}
				}
				took := time.Since(start)
				refused := 0
				for _, e := range p.Stats().Log {
					// The If-header check's own refused write, on its scratch
					// file, is the answer it looks for, not a refused upload.
					if e.Status == 412 && !strings.Contains(e.Path, ".davsync-probe-") {
						refused++
					}
				}
				for i := 0; i < 2; i++ {
					for _, d := range devs {
						d.mustCycle()
					}
				}
				for _, d := range devs[1:] {
					if d.docHash() != devs[0].docHash() {
						t.Fatalf("seed %d: %s and a differ", seed, d.name)
					}
				}
				p.Close()
				t.Logf("%s seed %d: %d uploads in 30 turns, %d refused with 412, %v", s.Name, seed, writes, refused, took.Round(time.Millisecond))
				if refused > len(devs) {
					t.Errorf("seed %d: %d uploads refused with 412 where nothing ran at the same moment; at most one per device (learning the If header) is expected", seed, refused)
				}
			}
		})
	}
}
