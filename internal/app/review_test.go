package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// Two sync files named by URL in one folder share its snapshots/ folder:
// pruning for one must never delete the other's snapshots, and the
// snapshot a cycle just made (its only safety net for the replacement it
// is about to do) must survive even when another device with a clock far
// ahead left newer-named snapshots.
func TestPruneKeepsOtherFilesAndTheNewSnapshot(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	srv.PutFile("my/.keep", nil)
	other := []string{
		"my/snapshots/20300101T000000.000Z-aaaaaaaa--b.json",
		"my/snapshots/20300101T000001.000Z-bbbbbbbb--b.json",
	}
	for _, f := range other {
		srv.PutFile(f, []byte("{}"))
	}
	// A device of a.json whose clock ran a year ahead.
	for _, f := range []string{"20300101T000000.000Z-cccccccc--a.json", "20300101T000001.000Z-dddddddd--a.json"} {
		srv.PutFile("my/snapshots/"+f, []byte("{}"))
	}
	a := newDevice(t, "a", w, srv, srv.URL()+"my/a.json", 0)
	a.settings(func(s *syncSettings) { s.SnapshotKeep = 2 })
	a.put("r1", "x")
	a.mustCycle()
	w.advance(2 * time.Hour)
	a.put("r2", "y")
	res := a.mustCycle()
	if res.Snapshot == "" {
		t.Fatal("no snapshot")
	}
	if _, ok := srv.File("my/snapshots/" + res.Snapshot); !ok {
		t.Fatalf("the snapshot just made was pruned: %v", srv.Files())
	}
	for _, f := range other {
		if _, ok := srv.File(f); !ok {
			t.Fatalf("pruning a.json deleted b.json's snapshot %s: %v", f, srv.Files())
		}
	}
	snaps, err := a.eng.Snapshots(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		if strings.HasSuffix(s.Name, "--b.json") {
			t.Fatalf("a.json lists b.json's snapshot %s", s.Name)
		}
	}
}

// Download (replace) or the download_only strategy against a folder that
// holds no sync file (a mistyped URL, a file someone removed) must not
// empty this device, and must not create an empty file on the server.
func TestDownloadWithoutRemoteFileKeepsLocal(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	a.put("r1", "x")
	a.put("r2", "y")
	_, err := a.eng.Download(context.Background(), "replace", CycleOptions{})
	if !errors.Is(err, errkind.NotFound) {
		t.Fatalf("download replace of a missing file: %v", err)
	}
	if n := a.names(); len(n) != 2 {
		t.Fatalf("local after download of nothing: %v", n)
	}
	if _, ok := srv.File(remotePath); ok {
		t.Fatal("download created a file on the server")
	}
	a.settings(func(s *syncSettings) { s.Strategy = "download_only" })
	if _, err := a.cycle(CycleOptions{}); !errors.Is(err, errkind.NotFound) {
		t.Fatalf("download_only cycle of a missing file: %v", err)
	}
	if n := a.names(); len(n) != 2 {
		t.Fatalf("local after download_only of nothing: %v", n)
	}
}

// A server (or a proxy: Apache's mod_deflate appends "-gzip" to the ETag
// it sends but not to the one it compares) that answers 412 to every
// If-Match although nobody wrote must not stop sync forever: when a re-read
// shows the very bytes the failed write was guarded by, the next write goes
// without If-Match and is confirmed by reading it back, as on servers that
// ignore preconditions.
func TestSpurious412DoesNotLoop(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{PutETag: webdav.No})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	b := newDevice(t, "b", w, srv, srv.URL(), 0)
	a.put("r1", "one")
	a.mustCycle()
	b.mustCycle()
	srv.Faults = func(r *webdav.Request) davtest.Fault {
		if r.Method == "PUT" {
			for k := range r.Header {
				if strings.EqualFold(k, "if-match") {
					return davtest.Fault{Status: 412}
				}
			}
		}
		return davtest.Fault{}
	}
	w.advance(time.Minute)
	a.put("r2", "two")
	if _, err := a.cycle(CycleOptions{}); err != nil {
		t.Fatalf("local change on a spurious-412 server: %v", err)
	}
	w.advance(time.Minute)
	b.put("r3", "three")
	if _, err := b.cycle(CycleOptions{}); err != nil {
		t.Fatalf("both changed on a spurious-412 server: %v", err)
	}
	a.mustCycle()
	for _, d := range []*device{a, b} {
		if n := d.names(); len(n) != 3 {
			t.Fatalf("%s: %v", d.name, n)
		}
	}
}

// A device that has not synced for longer than the tombstone horizon is
// asked before it merges (deletions made elsewhere are forgotten by then).
// Editing the URL (here only the host's case) starts the marker over; that
// must not skip the question and bring a long-deleted record back.
func TestStaleDeviceURLChangeStillAsks(t *testing.T) {
	srv, a := staleDevice(t)
	a.settings(func(s *syncSettings) { s.URL = strings.Replace(srv.URL(), "dav.test", "DAV.test", 1) })
	if _, err := a.cycle(CycleOptions{}); !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("stale device with an edited URL: %v", err)
	}
	if _, ok := namesOf(remoteDoc(t, srv, remotePath))["r1"]; ok {
		t.Fatal("a deleted record came back on the server")
	}
}

// A 0-byte remote (a write that stored nothing) holds no data: replacing it
// must not spend a snapshot slot on it, which would prune a real snapshot.
func TestEmptyRemoteIsNotSnapshotted(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	a.settings(func(s *syncSettings) { s.SnapshotKeep = 1 })
	a.put("r1", "one")
	a.mustCycle()
	w.advance(2 * time.Hour)
	a.put("r2", "two")
	good := a.mustCycle().Snapshot
	if good == "" {
		t.Fatal("no snapshot")
	}
	srv.PutFile(remotePath, nil)
	w.advance(2 * time.Hour)
	res := a.mustCycle()
	if !res.Uploaded || res.Snapshot != "" {
		t.Fatalf("replacing a 0-byte remote: %+v", res)
	}
	if _, ok := srv.File("davsync/snapshots/" + good); !ok {
		t.Fatalf("a real snapshot was pruned for an empty one: %v", srv.Files())
	}
	if n := namesOf(remoteDoc(t, srv, remotePath)); len(n) != 2 {
		t.Fatalf("remote: %v", n)
	}
}

// The mass-change guard holds for every remote a cycle merges, not only
// the first: when a 412 makes the cycle re-read, and the new remote (written
// meanwhile by another device) deletes most records, this device is asked
// just as it would have been had it read that remote first.
func TestGuardHoldsAfter412Reread(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	b := newDevice(t, "b", w, srv, srv.URL(), 0)
	for i := 0; i < 12; i++ {
		a.put("r"+string(rune('a'+i)), "x")
	}
	a.mustCycle()
	b.mustCycle()
	b.put("xb", "b") // the remote changes, so a takes the full path
	b.mustCycle()
	a.put("xa", "a")
	a.hook = func(context.Context) {
		for i := 0; i < 9; i++ {
			b.del("r" + string(rune('a'+i)))
		}
		if _, err := b.cycle(CycleOptions{Confirm: true}); err != nil {
			t.Errorf("b: %v", err)
		}
	}
	_, err := a.cycle(CycleOptions{})
	if !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("a merged a mass deletion it never confirmed: %v (a has %d records)", err, len(a.names()))
	}
	if n := a.names(); len(n) != 14 {
		t.Fatalf("a changed before confirmation: %v", n)
	}
	if _, err := a.cycle(CycleOptions{Confirm: true}); err != nil {
		t.Fatal(err)
	}
	if n := a.names(); len(n) != 5 {
		t.Fatalf("a after confirm: %v", n)
	}
}

// Retry-After is honoured even when the failing request's error is wrapped
// with the cycle's context (here: the snapshot before a replacement).
func TestRetryAfterSurvivesWrapping(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	a.put("r1", "x")
	a.mustCycle()
	w.advance(2 * time.Hour)
	a.put("r2", "y")
	srv.Faults = func(r *webdav.Request) davtest.Fault {
		if r.Method == "COPY" {
			return davtest.Fault{Status: 503, RetryAfter: 7200}
		}
		return davtest.Fault{}
	}
	if _, err := a.cycle(CycleOptions{}); err == nil {
		t.Fatal("expected the snapshot to fail")
	}
	st, _ := a.eng.Status(context.Background())
	if st.Error == nil || st.NextRun < w.now().Add(time.Hour).UnixMilli() {
		t.Fatalf("Retry-After 2h not honoured: next run in %v, %+v", time.Duration(st.NextRun-w.now().UnixMilli())*time.Millisecond, st.Error)
	}
}
