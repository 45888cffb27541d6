package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/layout"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// A PUT of the sync file that keeps failing (423 Locked, 507, 413, a
// read-only file, 401 mid-session) after the snapshot was made must not
// make every retried cycle take another snapshot of the same remote and
// prune the older, distinct ones: after a few retries ("Sync now" clicks,
// backoff cycles) the only copies of earlier versions would be gone and
// every kept snapshot would hold the very file that is still on the server.
func TestFailingPutDoesNotPruneDistinctSnapshots(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	failPut := false
	srv.Faults = func(req *webdav.Request) davtest.Fault {
		if failPut && req.Method == "PUT" && strings.HasSuffix(req.URL, "/davsync.json") {
			return davtest.Fault{Status: 423}
		}
		return davtest.Fault{}
	}
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	a.settings(func(s *syncSettings) { s.SnapshotKeep = 3 })
	a.put("r0", "v0")
	a.mustCycle()
	// Three hourly versions, each replaced (and so snapshotted) in turn.
	for i := 1; i <= 3; i++ {
		w.advance(61 * time.Minute)
		a.put("r"+string(rune('0'+i)), "v")
		if res := a.mustCycle(); res.Snapshot == "" {
			t.Fatalf("no snapshot on round %d", i)
		}
	}
	before, err := a.eng.Snapshots(context.Background())
	if err != nil || len(before) != 3 {
		t.Fatalf("snapshots before: %v %v", before, err)
	}
	hashes := func(list []cycle.Snapshot) map[string]bool {
		out := map[string]bool{}
		for _, s := range list {
			out[layout.SnapshotHash(s.Name)] = true
		}
		return out
	}
	if n := len(hashes(before)); n != 3 {
		t.Fatalf("expected 3 distinct snapshots, got %d: %v", n, before)
	}
	// Now the server refuses the write. The user keeps an edit and the
	// cycle is retried a few times (Sync now, or the backoff schedule).
	w.advance(61 * time.Minute)
	a.put("r4", "v")
	failPut = true
	for i := 0; i < 4; i++ {
		w.advance(30 * time.Second)
		if _, err := a.cycle(CycleOptions{}); err == nil {
			t.Fatal("cycle succeeded although every PUT failed")
		}
	}
	after, err := a.eng.Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(hashes(after)); n < 3 {
		t.Fatalf("failed cycles replaced distinct snapshots by copies of the same file: %d distinct left of %d\nbefore: %v\nafter:  %v", n, len(after), snapshotNames(before), snapshotNames(after))
	}
}

func snapshotNames(list []cycle.Snapshot) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Name)
	}
	return out
}

// TestRemoteDeletedEmptiedOrForeign: the sync file deleted (or its whole
// folder), emptied to 0 bytes (what a write that stored nothing leaves), or
// replaced by a JSON file that is not davsync's. The first three are
// recreated from local data and the devices converge; a foreign file is a
// clear error on both devices and stays untouched. No local record is lost.
func TestRemoteDeletedEmptiedOrForeign(t *testing.T) {
	for qn, q := range serverTraits {
		for _, how := range []string{"file", "folder", "empty", "foreign"} {
			t.Run(qn+"-"+how, func(t *testing.T) {
				w := newWorld()
				srv := newServer(w, q)
				a := newDevice(t, "a", w, srv, srv.URL(), 0)
				b := newDevice(t, "b", w, srv, srv.URL(), 0)
				for i := 0; i < 12; i++ {
					a.put("r"+string(rune('a'+i)), "v")
				}
				a.mustCycle()
				b.mustCycle()
				w.advance(10 * time.Second)
				a.mustCycle() // settle
				switch how {
				case "file":
					_, _ = srv.RoundTrip(context.Background(), &webdav.Request{Method: "DELETE", URL: srv.URL() + remotePath, Header: map[string]string{"Authorization": "Basic dTpw"}})
				case "folder":
					_, _ = srv.RoundTrip(context.Background(), &webdav.Request{Method: "DELETE", URL: srv.URL() + "davsync/", Header: map[string]string{"Authorization": "Basic dTpw"}})
				case "empty":
					srv.PutFile(remotePath, nil)
				case "foreign":
					srv.PutFile(remotePath, []byte(`{"hello":"world"}`))
				}
				w.advance(10 * time.Second)
				_, errA := a.cycle(CycleOptions{})
				b.put("new", "b")
				_, errB := b.cycle(CycleOptions{})
				if how == "foreign" {
					if errA == nil || errB == nil {
						t.Fatalf("foreign file accepted: %v %v", errA, errB)
					}
					if got, _ := srv.File(remotePath); string(got) != `{"hello":"world"}` {
						t.Fatalf("foreign file changed: %s", got)
					}
				} else if errA != nil || errB != nil {
					t.Fatalf("%v %v", errA, errB)
				}
				if len(a.names()) != 12 || len(b.names()) < 12 {
					t.Fatalf("local lost: %d %d", len(a.names()), len(b.names()))
				}
				if how != "foreign" {
					a.mustCycle()
					if len(a.names()) != 13 || a.docHash() != b.docHash() {
						t.Fatalf("not converged: %v %v", a.names(), b.names())
					}
				}
			})
		}
	}
}

// TestCompressionToggleDoesNotReupload: compression turned on or off on one
// device (plain and encrypted) leaves the file readable for both and costs
// one upload, not one per idle cycle.
func TestCompressionToggleDoesNotReupload(t *testing.T) {
	for qn, q := range serverTraits {
		for _, enc := range []bool{false, true} {
			t.Run(qn+map[bool]string{false: "-plain", true: "-encrypted"}[enc], func(t *testing.T) {
				w := newWorld()
				srv := newServer(w, q)
				a := newDevice(t, "a", w, srv, srv.URL(), 0)
				b := newDevice(t, "b", w, srv, srv.URL(), 0)
				for _, d := range []*device{a, b} {
					d.settings(func(s *syncSettings) { s.Encrypt, s.Passphrase = enc, "correct horse" })
				}
				a.put("r1", "x")
				a.mustCycle()
				b.mustCycle()
				a.settings(func(s *syncSettings) { s.Compress = true })
				a.put("r2", "y")
				w.advance(5 * time.Second)
				a.mustCycle()
				for i := 0; i < 3; i++ {
					w.advance(5 * time.Second)
					for _, d := range []*device{a, b} {
						res := d.mustCycle()
						if i > 0 && res.Uploaded {
							t.Fatalf("%s uploads on idle cycle %d", d.name, i)
						}
					}
				}
				if len(b.names()) != 2 || a.docHash() != b.docHash() {
					t.Fatal("differ")
				}
				a.settings(func(s *syncSettings) { s.Compress = false })
				b.settings(func(s *syncSettings) { s.Compress = true })
				for i := 0; i < 3; i++ {
					w.advance(5 * time.Second)
					for _, d := range []*device{a, b} {
						if res := d.mustCycle(); res.Uploaded {
							t.Fatalf("%s uploads on idle cycle after toggle", d.name)
						}
					}
				}
			})
		}
	}
}
