package app

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// TestResolveConflictKeepsLaterEditsToOtherFields: settling an old conflict
// about one field sets that field only. Edits made to the record's other
// fields after the conflict was logged, on any device, stay.
func TestResolveConflictKeepsLaterEditsToOtherFields(t *testing.T) {
	for _, choice := range []string{"local", "remote"} {
		t.Run(choice, func(t *testing.T) {
			w := newWorld()
			srv := newServer(w, webdav.Traits{})
			a := newDevice(t, "a", w, srv, srv.URL(), 0)
			b := newDevice(t, "b", w, srv, srv.URL(), 0)
			a.put("r1", "orig")
			a.mustCycle()
			b.mustCycle()
			a.setField("r1", "notes", "from a")
			w.advance(time.Second)
			b.setField("r1", "notes", "from b")
			a.mustCycle()
			if res := b.mustCycle(); res.Conflicts != 1 {
				t.Fatalf("conflicts: %+v", res)
			}
			cs, _ := b.eng.Conflicts(context.Background())
			// Later, the user on a fills in another field of the record.
			w.advance(time.Minute)
			a.setField("r1", "username", "alice")
			a.mustCycle()
			b.mustCycle()
			if got := b.field("r1", "username"); got != "alice" {
				t.Fatalf("b did not get the username: %q", got)
			}
			if err := b.eng.ResolveConflict(context.Background(), cs[0].ID, choice); err != nil {
				t.Fatal(err)
			}
			b.mustCycle()
			a.mustCycle()
			want := map[string]string{"local": "from b", "remote": "from a"}[choice]
			for _, d := range []*device{a, b} {
				if got := d.field("r1", "username"); got != "alice" {
					t.Errorf("%s: resolving the notes conflict with %q erased the later username edit (username=%q)", d.name, choice, got)
				}
				if got := d.field("r1", "notes"); got != want {
					t.Errorf("%s: notes = %q after choosing %q, want %q", d.name, got, choice, want)
				}
			}
		})
	}
}

// staleDevice returns a device whose last sync is 240 days old, and a
// server from which the tombstone of r1 (deleted by another device right
// after a's last sync) has expired because other devices kept syncing.
func staleDevice(t *testing.T) (*davtest.Server, *device) {
	t.Helper()
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	b := newDevice(t, "b", w, srv, srv.URL(), 0)
	c := newDevice(t, "c", w, srv, srv.URL(), 0)
	a.put("r1", "deleted later")
	a.put("r2", "kept")
	a.mustCycle()
	b.mustCycle()
	b.del("r1")
	b.mustCycle()
	c.mustCycle()
	// b and c edit and sync every month; a full merge prunes the tombstone
	// once it is past the 180-day horizon.
	for i := range 8 {
		w.advance(30 * 24 * time.Hour)
		for _, d := range []*device{c, b} {
			d.put("r-"+d.name, "v"+strconv.Itoa(i))
			d.mustCycle()
		}
	}
	if _, ok := remoteDoc(t, srv, remotePath).Collection("accounts").Tombstone("r1"); ok {
		t.Fatal("setup: the tombstone has not expired")
	}
	return srv, a
}

// TestStaleDeviceIsAskedBeforeMergingItsData: a device that last synced
// longer ago than the tombstone horizon is asked before its data is merged
// into the server, also on Download (merge) and snapshot restore (merge),
// which the pages send with Confirm (the answer to the mass-change guard,
// not to this question). Merging would bring back r1, deleted 240 days ago.
func TestStaleDeviceIsAskedBeforeMergingItsData(t *testing.T) {
	ops := map[string]func(a *device) error{
		"sync": func(a *device) error { _, err := a.cycle(CycleOptions{}); return err },
		"download merge": func(a *device) error {
			_, err := a.eng.Download(context.Background(), "merge", CycleOptions{Confirm: true})
			return err
		},
		"restore snapshot merge": func(a *device) error {
			snaps, err := a.eng.Snapshots(context.Background())
			if err != nil || len(snaps) == 0 {
				t.Fatalf("snapshots: %v %v", snaps, err)
			}
			_, err = a.eng.RestoreSnapshot(context.Background(), snaps[0].Name, "merge", CycleOptions{Confirm: true})
			return err
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			srv, a := staleDevice(t)
			if err := op(a); !errors.Is(err, errkind.NeedsConfirmation) {
				t.Fatalf("a stale device was not asked: %v", err)
			}
			if _, ok := namesOf(remoteDoc(t, srv, remotePath))["r1"]; ok {
				t.Fatal("a record deleted 240 days ago is back on the server")
			}
			// Download (replace) answers the question: the device takes the
			// server's data and is no longer stale.
			if _, err := a.eng.Download(context.Background(), "replace", CycleOptions{Confirm: true}); err != nil {
				t.Fatal(err)
			}
			a.mustCycle()
			if _, ok := a.names()["r1"]; ok {
				t.Fatal("r1 is still on the device after Download (replace)")
			}
		})
	}
}

// TestClockBehindDeletionIsNotExpiredAtOnce: a device whose clock runs 200
// days behind (a dead RTC battery, a hand-set date) deletes a record of a
// document nobody has edited for 190 days. Stamped just after the newest
// time it had seen, the tombstone would be past the 180-day horizon for
// every device with a right clock the moment it merged it, and a device
// that synced an hour before the deletion would bring the record back. The
// clock also observes the server's Date, so the deletion is stamped now,
// and keeps what it observed across a worker restart.
func TestClockBehindDeletionIsNotExpiredAtOnce(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	c := newDevice(t, "c", w, srv, srv.URL(), 0)
	e := newDevice(t, "e", w, srv, srv.URL(), 0)
	behind := newDevice(t, "behind", w, srv, srv.URL(), -200*24*time.Hour)
	a.put("r1", "to delete")
	a.put("r2", "kept")
	a.mustCycle()
	for range 19 { // everybody syncs every 10 days; nobody edits
		w.advance(10 * 24 * time.Hour)
		for _, d := range []*device{a, c, e, behind} {
			d.mustCycle()
		}
	}
	w.advance(time.Hour)
	// The worker was stopped while idle and wakes for the delete: the
	// server time the clock observed must have been kept.
	behind.open(srv)
	behind.del("r1")
	behind.mustCycle()
	c.put("rc", "c") // c edits and syncs: a full merge
	c.mustCycle()
	a.mustCycle()
	if _, ok := remoteDoc(t, srv, remotePath).Collection("accounts").Tombstone("r1"); !ok {
		t.Error("the tombstone of a deletion made minutes ago is already gone from the server")
	}
	// The device with the wrong clock is not used again; the others sync.
	for range 3 {
		for _, d := range []*device{e, a, c} {
			d.mustCycle()
		}
	}
	for _, d := range []*device{a, c, e} {
		if _, ok := d.names()["r1"]; ok {
			t.Errorf("%s: the record deleted minutes ago came back", d.name)
		}
	}
}

// TestResolveDeletionConflictKeepsLaterEdits: one device deleted a record
// while another edited it (a deletion conflict); later the record's notes
// were edited again on the first device. Resolving the old conflict brings
// back what the deletion removed, but not over the later notes.
func TestResolveDeletionConflictKeepsLaterEdits(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "A", w, srv, srv.URL(), 0)
	b := newDevice(t, "B", w, srv, srv.URL(), 0)
	a.put("r1", "Site")
	a.setField("r1", "notes", "n0")
	a.mustCycle()
	b.mustCycle()
	w.advance(time.Minute)
	a.del("r1")
	a.mustCycle()
	w.advance(time.Minute)
	b.setField("r1", "notes", "n1") // edit after the deletion
	b.mustCycle()                   // conflict: B's edit vs A's deletion
	cs, err := b.eng.Conflicts(context.Background())
	if err != nil || len(cs) != 1 || !cs[0].Deleted {
		t.Fatalf("want one deletion conflict, got %+v %v", cs, err)
	}
	t.Logf("conflict: local=%s remote=%s merged=%s", cs[0].Local, cs[0].Remote, cs[0].Merged)
	// Later, on A, the user edits the surviving record's notes again.
	w.advance(time.Minute)
	a.mustCycle()
	a.setField("r1", "notes", "n2-later")
	a.mustCycle()
	w.advance(time.Minute)
	b.mustCycle()
	if got := b.field("r1", "notes"); got != "n2-later" {
		t.Fatalf("B notes = %q before resolving", got)
	}
	// B resolves the old conflict: keep my (B's) version.
	if err := b.eng.ResolveConflict(context.Background(), cs[0].ID, "local"); err != nil {
		t.Fatal(err)
	}
	if got := b.field("r1", "site_name"); got != "Site" {
		t.Errorf("site_name = %q, want the version's %q back", got, "Site")
	}
	if got := b.field("r1", "notes"); got != "n2-later" {
		t.Errorf("notes = %q: resolving an old deletion conflict reverted the later edit %q", got, "n2-later")
	}
}
