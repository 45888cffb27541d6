package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

func newServer(w *world, q webdav.Traits) *davtest.Server {
	srv := davtest.New()
	srv.Traits = q
	srv.Now = w.now
	srv.User, srv.Password = "u", "p"
	return srv
}

var serverTraits = map[string]webdav.Traits{
	"strict":  {},
	"apache":  {PutETag: webdav.No},
	"nginx":   {IfMatch: webdav.No, IfNoneMatch: webdav.No, SecondETags: true, PutETag: webdav.No},
	"ignores": {IfMatch: webdav.No, IfNoneMatch: webdav.No},
	"nocopy":  {Copy: webdav.No},
	"npm":     {IfMatch: webdav.No, IfNoneMatch: webdav.No, PutETag: webdav.No, GetETag: webdav.No, ConditionalGet: webdav.No},
}

// serverKinds are serverTraits in a fixed order, for the randomized suites to
// pick from by index.
var serverKinds = []webdav.Traits{serverTraits["strict"], serverTraits["apache"], serverTraits["nginx"], serverTraits["ignores"], serverTraits["nocopy"], serverTraits["npm"]}

func TestRequestCounts(t *testing.T) {
	for name, q := range serverTraits {
		t.Run(name, func(t *testing.T) {
			w := newWorld()
			srv := newServer(w, q)
			a := newDevice(t, "a", w, srv, srv.URL(), 0)
			b := newDevice(t, "b", w, srv, srv.URL(), 0)
			a.put("r1", "one")
			a.mustCycle() // creates the file
			w.advance(3 * time.Second)
			a.mustCycle() // settles the ETag (one plain GET)
			w.advance(3 * time.Second)

			res := a.mustCycle()
			// A GET If-None-Match answered 304, or where GETs carry no
			// ETag (npm) a PROPFIND Depth 0: its request and answer are a
			// few hundred bytes, never the file.
			up, down := int64(0), int64(0)
			if q.GetETag == webdav.No {
				up, down = 1024, 2048
			}
			if res.Requests != 1 || res.BytesUp > up || res.Uploaded || res.Applied {
				t.Fatalf("nothing changed: %+v", res)
			}
			if res.BytesDown > down {
				t.Fatalf("nothing changed downloaded %d bytes", res.BytesDown)
			}

			w.advance(2 * time.Hour) // a snapshot is due
			a.put("r2", "two")
			res = a.mustCycle()
			// COPY + PROPFIND (prune) on top of the local-change cost.
			// GET 304, COPY, PROPFIND (prune), PUT, PROPFIND (confirm).
			// The first snapshot creates its folder (once per folder; the
			// first sync leaves it out to stay within five requests).
			// Where GETs carry no ETag (npm), the read-back that confirms a
			// write is preceded by a PROPFIND for the ETag: one more.
			extra := 0
			if q.GetETag == webdav.No {
				extra = 1
			}
			limit := 6 + extra
			if q.Copy == webdav.No {
				limit = 8 // COPY refused once, then GET + PUT of the bytes
			}
			if res.Requests > limit || !res.Uploaded || res.Snapshot == "" {
				t.Fatalf("local change with snapshot: %+v", res)
			}
			w.advance(time.Minute)
			a.put("r3", "three")
			res = a.mustCycle()
			if res.Requests != 3+extra || !res.Uploaded {
				t.Fatalf("local change: %+v", res)
			}

			// b: first sync merges; then only the remote changes.
			b.mustCycle()
			w.advance(time.Minute)
			a.put("r4", "four")
			a.mustCycle()
			w.advance(time.Minute)
			res = b.mustCycle()
			// A GET If-None-Match answered whole; on npm a PROPFIND that
			// shows another ETag, then the GET.
			if !res.Applied || res.Uploaded || res.Requests != 1+extra {
				t.Fatalf("remote change: %+v", res)
			}
			if n := b.names(); len(n) != 4 {
				t.Fatalf("b has %v", n)
			}
		})
	}
}

func TestEditDuringCycleIsMerged(t *testing.T) {
	for name, q := range serverTraits {
		t.Run(name, func(t *testing.T) {
			w := newWorld()
			srv := newServer(w, q)
			a := newDevice(t, "a", w, srv, srv.URL(), 0)
			b := newDevice(t, "b", w, srv, srv.URL(), 0)
			a.put("r1", "one")
			a.mustCycle()
			b.mustCycle()
			b.put("r2", "from b")
			b.mustCycle()
			// a's cycle reads b's change; while it is on the network the
			// user edits r1 and adds r3.
			a.hook = func(context.Context) {
				a.setField("r1", "notes", "typed during sync")
				a.put("r3", "added during sync")
			}
			a.mustCycle()
			a.mustCycle()
			b.mustCycle()
			for _, d := range []*device{a, b} {
				n := d.names()
				if n["r2"] != "from b" || n["r3"] != "added during sync" || len(n) != 3 {
					t.Fatalf("%s: %v", d.name, n)
				}
			}
			if a.docHash() != b.docHash() || a.docHash() != docHash(remoteDoc(t, srv, remotePath)) {
				t.Fatal("devices and remote differ")
			}
		})
	}
}

// A remote write landing between this device's read and its write: on a
// server with If-Match the PUT gets 412 and the cycle re-merges; on one
// without, the other device restores its data on its next cycle.
func TestConcurrentWriterBetweenReadAndWrite(t *testing.T) {
	for name, q := range serverTraits {
		t.Run(name, func(t *testing.T) {
			w := newWorld()
			srv := newServer(w, q)
			a := newDevice(t, "a", w, srv, srv.URL(), 0)
			b := newDevice(t, "b", w, srv, srv.URL(), 0)
			a.put("r1", "one")
			a.mustCycle()
			b.mustCycle()
			a.put("ra", "from a")
			b.put("rb", "from b")
			// a reads (its local change plus nothing remote) ... b writes.
			srv.PutFile(remotePath+".tmp", nil) // keep the dir non-trivial
			a.hook = func(context.Context) { b.mustCycle() }
			a.put("ra2", "more a") // make a's cycle take the full path next time
			a.mustCycle()
			for i := 0; i < 2; i++ {
				b.mustCycle()
				a.mustCycle()
			}
			for _, d := range []*device{a, b} {
				n := d.names()
				if n["ra"] != "from a" || n["rb"] != "from b" || n["ra2"] != "more a" {
					t.Fatalf("%s lost an edit: %v", d.name, n)
				}
			}
		})
	}
}

func TestPreconditionRaceRetries(t *testing.T) {
	w := newWorld()
	srv := newServer(w, serverTraits["strict"])
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	b := newDevice(t, "b", w, srv, srv.URL(), 0)
	a.put("r1", "one")
	a.mustCycle()
	b.mustCycle()
	b.put("rb", "b")
	b.mustCycle()
	a.put("ra", "a")
	// While a is between its read and its write, b writes again.
	a.hook = func(context.Context) {
		b.put("rb2", "b2")
		b.mustCycle()
	}
	res := a.mustCycle()
	if res.Rounds < 2 {
		t.Fatalf("expected a 412 retry, rounds=%d", res.Rounds)
	}
	b.mustCycle()
	if n := b.names(); len(n) != 4 {
		t.Fatalf("b: %v", n)
	}
	if a.docHash() != b.docHash() {
		t.Fatal("a and b differ")
	}
}

func TestMassChangeGuard(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	b := newDevice(t, "b", w, srv, srv.URL(), 0)
	for i := 0; i < 12; i++ {
		a.put("r"+string(rune('a'+i)), "x")
	}
	a.mustCycle()
	b.mustCycle()
	for i := 0; i < 7; i++ {
		a.del("r" + string(rune('a'+i)))
	}
	before, _ := srv.File(remotePath)
	res, err := a.cycle(CycleOptions{})
	if !errors.Is(err, errkind.NeedsConfirmation) || res.Preview == nil || len(res.Preview.Examples) == 0 {
		t.Fatalf("guard: %v %+v", err, res)
	}
	if after, _ := srv.File(remotePath); string(after) != string(before) {
		t.Fatal("guard wrote the remote")
	}
	st, _ := a.eng.Status(context.Background())
	if st.State != StateNeedsConfirmation || st.Preview == nil {
		t.Fatalf("status %+v", st)
	}
	if _, err := a.cycle(CycleOptions{Confirm: true}); err != nil {
		t.Fatal(err)
	}
	// b now sees 7 of 12 deleted remotely: held too.
	if _, err := b.cycle(CycleOptions{}); !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("b guard: %v", err)
	}
	if len(b.names()) != 12 {
		t.Fatal("b changed before confirmation")
	}
	if _, err := b.cycle(CycleOptions{Confirm: true}); err != nil {
		t.Fatal(err)
	}
	if len(b.names()) != 5 {
		t.Fatalf("b after confirm: %v", b.names())
	}
}

func TestEncryption(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	a.settings(func(s *syncSettings) { s.Encrypt, s.Passphrase, s.Compress = true, "correct horse", true })
	a.put("r1", "secret site")
	a.mustCycle()
	raw, _ := srv.File("davsync/davsync.json")
	if strings.Contains(string(raw), "secret site") || !strings.Contains(string(raw), "davsync-encrypted") {
		t.Fatalf("remote not encrypted: %.80s", raw)
	}
	b := newDevice(t, "b", w, srv, srv.URL(), 0)
	if _, err := b.cycle(CycleOptions{}); !errors.Is(err, errkind.PassphraseNeeded) {
		t.Fatalf("no passphrase: %v", err)
	}
	b.settings(func(s *syncSettings) { s.Passphrase = "wrong" })
	if _, err := b.cycle(CycleOptions{}); !errors.Is(err, errkind.Decrypt) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if len(b.names()) != 0 {
		t.Fatal("wrong passphrase changed data")
	}
	// Right passphrase, encryption off on b: reading works; b has a local
	// change, and writing it as plaintext needs an explicit choice.
	b.settings(func(s *syncSettings) { s.Passphrase = "correct horse" })
	b.put("r2", "b's")
	if _, err := b.cycle(CycleOptions{}); !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("plaintext over encrypted: %v", err)
	}
	if got, _ := srv.File("davsync/davsync.json"); string(got) != string(raw) {
		t.Fatal("remote replaced without a choice")
	}
	b.settings(func(s *syncSettings) { s.Encrypt = true })
	b.mustCycle()
	a.mustCycle()
	if n := a.names(); n["r2"] != "b's" {
		t.Fatalf("a: %v", n)
	}
}

func TestSnapshotsKeepNewestAndRestore(t *testing.T) {
	for _, q := range []webdav.Traits{{}, {Copy: webdav.No}} {
		w := newWorld()
		srv := newServer(w, q)
		a := newDevice(t, "a", w, srv, srv.URL(), 0)
		a.settings(func(s *syncSettings) { s.SnapshotKeep = 3 })
		a.put("r0", "v0")
		a.mustCycle()
		for i := 1; i <= 5; i++ {
			w.advance(61 * time.Minute)
			a.put("r"+string(rune('0'+i)), "v")
			if res := a.mustCycle(); res.Snapshot == "" {
				t.Fatalf("no snapshot on round %d", i)
			}
		}
		snaps, err := a.eng.Snapshots(context.Background())
		if err != nil || len(snaps) != 3 {
			t.Fatalf("snapshots: %v %v", snaps, err)
		}
		if snaps[0].Time <= snaps[1].Time {
			t.Fatal("not newest first")
		}
		// The oldest kept snapshot holds r0..r2.
		res, err := a.eng.RestoreSnapshot(context.Background(), snaps[2].Name, "replace", CycleOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n := a.names(); len(n) != 3 || !res.Uploaded {
			t.Fatalf("after restore: %v %+v", n, res)
		}
		if got := namesOf(remoteDoc(t, srv, remotePath)); len(got) != 3 {
			t.Fatalf("remote after restore: %v", got)
		}
		pts, _ := a.eng.UndoList(context.Background())
		if len(pts) == 0 || pts[0].Label != "restore_snapshot" {
			t.Fatalf("undo: %+v", pts)
		}
		if _, err := a.eng.Undo(context.Background(), pts[0].ID); err != nil {
			t.Fatal(err)
		}
		if n := a.names(); len(n) != 6 {
			t.Fatalf("after undo: %v", n)
		}
	}
}

func TestStatusBackoffAndAuthPause(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	a.put("r1", "x")
	fail := 503
	srv.Faults = func(*webdav.Request) davtest.Fault { return davtest.Fault{Status: fail, RetryAfter: 7200} }
	_, err := a.cycle(CycleOptions{})
	if err == nil {
		t.Fatal("expected failure")
	}
	st, _ := a.eng.Status(context.Background())
	if st.State != StateError || st.Error == nil || st.NextRun < w.now().Add(time.Hour).UnixMilli() {
		t.Fatalf("status after 503 with Retry-After 2h: %+v", st)
	}
	res, _ := a.cycle(CycleOptions{Auto: true})
	if !res.Skipped {
		t.Fatal("auto cycle ran before its time")
	}
	srv.Faults = nil
	a.settings(func(s *syncSettings) { s.Password = "wrong" })
	if _, err := a.cycle(CycleOptions{}); !errors.Is(err, errkind.Auth) {
		t.Fatalf("auth: %v", err)
	}
	st, _ = a.eng.Status(context.Background())
	if !st.Paused || st.State != StateNeedsAttention || strings.Contains(st.Error.Message, "wrong") {
		t.Fatalf("status after 401: %+v", st)
	}
	w.advance(48 * time.Hour)
	if res, _ := a.cycle(CycleOptions{Auto: true}); !res.Skipped || res.SkipReason != "paused_auth" {
		t.Fatalf("auto after auth failure: %+v", res)
	}
	a.settings(func(s *syncSettings) { s.Password = "p" })
	if res, err := a.cycle(CycleOptions{Auto: true}); err != nil || res.Skipped {
		t.Fatalf("auto after settings change: %+v %v", res, err)
	}
	st, _ = a.eng.Status(context.Background())
	if st.State != StateIdle || st.LastSync == 0 || st.Paused || st.NextRun == 0 {
		t.Fatalf("status after success: %+v", st)
	}
	// Survives a worker restart.
	a.open(srv)
	st2, _ := a.eng.Status(context.Background())
	if st2.LastSync != st.LastSync {
		t.Fatal("status not persisted")
	}
}

func TestStaleDevice(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	a.put("r1", "x")
	a.mustCycle()
	w.advance(200 * 24 * time.Hour)
	if _, err := a.cycle(CycleOptions{}); !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("stale: %v", err)
	}
	if _, err := a.eng.Download(context.Background(), "replace", CycleOptions{}); err != nil {
		t.Fatal(err)
	}
	a.mustCycle()
}

func TestUploadDownloadReplace(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	b := newDevice(t, "b", w, srv, srv.URL(), 0)
	a.put("r1", "a1")
	a.mustCycle()
	b.put("r2", "b2")
	res, err := b.eng.Upload(context.Background(), CycleOptions{})
	if err != nil || !res.Uploaded || res.Snapshot == "" {
		t.Fatalf("upload: %+v %v", res, err)
	}
	if got := namesOf(remoteDoc(t, srv, remotePath)); len(got) != 1 || got["r2"] != "b2" {
		t.Fatalf("remote after upload: %v", got)
	}
	res, err = a.eng.Download(context.Background(), "replace", CycleOptions{})
	if err != nil || !res.Applied {
		t.Fatalf("download: %+v %v", res, err)
	}
	if n := a.names(); len(n) != 1 || n["r2"] != "b2" {
		t.Fatalf("a after download replace: %v", n)
	}
	pts, _ := a.eng.UndoList(context.Background())
	if len(pts) == 0 || pts[0].Label != "download" {
		t.Fatalf("undo points: %+v", pts)
	}
}

func TestConflictsResolve(t *testing.T) {
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
	res := b.mustCycle()
	if res.Conflicts != 1 {
		t.Fatalf("conflicts: %+v", res)
	}
	cs, _ := b.eng.Conflicts(context.Background())
	if len(cs) != 1 || cs[0].Loser != "remote" {
		t.Fatalf("conflict log: %+v", cs)
	}
	if n, _ := b.app.conflictCount(context.Background()); n != 1 {
		t.Fatalf("status conflicts %d", n)
	}
	if err := b.eng.ResolveConflict(context.Background(), cs[0].ID, "both"); err != nil {
		t.Fatal(err)
	}
	if n := b.names(); len(n) != 2 {
		t.Fatalf("keep both: %v", n)
	}
	if cs, _ := b.eng.Conflicts(context.Background()); len(cs) != 0 {
		t.Fatal("conflict not removed")
	}
	b.mustCycle()
	a.mustCycle()
	if a.docHash() != b.docHash() {
		t.Fatal("a and b differ after resolve")
	}
}

func TestFileURLAndCompressionDiscovery(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	// A URL naming the file: snapshots go beside it.
	srv.PutFile("my/.keep", nil)
	a := newDevice(t, "a", w, srv, srv.URL()+"my/backup.json", 0)
	a.put("r1", "x")
	a.mustCycle()
	if _, ok := srv.File("my/backup.json"); !ok {
		t.Fatalf("file URL not used: %v", srv.Files())
	}
	w.advance(2 * time.Hour)
	a.put("r2", "y")
	if res := a.mustCycle(); !strings.HasPrefix(res.Snapshot, "2") {
		t.Fatalf("no snapshot: %+v", res)
	}
	found := false
	for _, f := range srv.Files() {
		found = found || strings.HasPrefix(f, "my/snapshots/")
	}
	if !found {
		t.Fatalf("snapshot not beside the file: %v", srv.Files())
	}
	// Folder URL: a gzip device and a plain device share davsync.json, and
	// an existing davsync.json.gz is adopted by both.
	g := newDevice(t, "g", w, srv, srv.URL(), 0)
	g.settings(func(s *syncSettings) { s.Compress = true })
	g.put("r1", "x")
	g.mustCycle()
	p := newDevice(t, "p", w, srv, srv.URL(), 0)
	p.put("r2", "y")
	p.mustCycle()
	g.mustCycle()
	if n := g.names(); len(n) != 2 {
		t.Fatalf("g: %v", n)
	}
	if _, ok := srv.File("davsync/davsync.json.gz"); ok {
		t.Fatal("a second file was created")
	}
	srv2 := newServer(w, webdav.Traits{})
	old := newDevice(t, "old", w, srv2, srv2.URL()+"davsync/davsync.json.gz", 0)
	old.put("r9", "legacy")
	srv2.PutFile("davsync/.keep", nil)
	old.mustCycle()
	n := newDevice(t, "new", w, srv2, srv2.URL(), 0)
	n.mustCycle()
	if got := n.names(); got["r9"] != "legacy" {
		t.Fatalf("existing .json.gz not adopted: %v %v", got, srv2.Files())
	}
	if _, ok := srv2.File("davsync/davsync.json"); ok {
		t.Fatal("created davsync.json beside the adopted .gz")
	}
}

// The derived key survives a worker restart in the session store, so a
// device that does not remember the passphrase keeps syncing; a browser
// restart (a new session) asks for the passphrase again.
func TestSessionKeyStore(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	a.settings(func(s *syncSettings) { s.Encrypt, s.Passphrase, s.Forget = true, "pass phrase", true })
	a.put("r1", "x")
	a.mustCycle()
	ctx := context.Background()
	m, _ := a.session.Get(ctx, sessionKey+remoteID)
	blob := m[sessionKey+remoteID]
	if len(blob) == 0 || strings.Contains(string(blob), "pass phrase") {
		t.Fatalf("session key blob: %q", blob)
	}
	if disk, _ := a.kv.Get(ctx, rememberedKey+remoteID); len(disk) != 0 {
		t.Fatal("a key not to be remembered reached the persistent store")
	}
	// The passphrase typed for the session is gone with it; the key is
	// what a restarted worker has.
	_ = a.session.Delete(ctx, sessionPassphrase+remoteID)
	a.open(srv) // worker restart: same session
	a.put("r2", "y")
	w.advance(time.Minute)
	if _, err := a.cycle(CycleOptions{}); err != nil {
		t.Fatalf("with session key: %v", err)
	}
	a.session = local.NewMemKV() // browser restart
	a.open(srv)
	a.put("r3", "z")
	if _, err := a.cycle(CycleOptions{}); !errors.Is(err, errkind.PassphraseNeeded) {
		t.Fatalf("without session key: %v", err)
	}
}

// crashKV fails the Nth Set call (and every one after it while armed), like
// a worker killed mid-cycle: each Set is atomic, so the store holds either
// the state before or after that write.
type crashKV struct {
	local.KV
	armed bool
	n     int
}

func (c *crashKV) Set(ctx context.Context, items map[string][]byte) error {
	if c.armed {
		c.n--
		if c.n <= 0 {
			return errors.New("worker stopped")
		}
	}
	return c.KV.Set(ctx, items)
}

// A cycle killed at any of its local writes leaves a state from which the
// next cycle (after a worker restart) completes without losing an edit.
func TestCycleKilledAtEveryWrite(t *testing.T) {
	for n := 1; n <= 6; n++ {
		w := newWorld()
		srv := newServer(w, webdav.Traits{})
		a := newDevice(t, "a", w, srv, srv.URL(), 0)
		b := newDevice(t, "b", w, srv, srv.URL(), 0)
		ckv := &crashKV{KV: a.kv}
		a.kv = ckv
		a.open(srv)
		a.put("r1", "one")
		a.mustCycle()
		b.put("rb", "b")
		b.mustCycle()
		a.put("ra", "a")
		ckv.armed, ckv.n = true, n
		_, _ = a.cycle(CycleOptions{})
		ckv.armed = false
		a.open(srv) // the worker restarts
		a.mustCycle()
		b.mustCycle()
		for _, d := range []*device{a, b} {
			if nm := d.names(); len(nm) != 3 || nm["ra"] != "a" || nm["rb"] != "b" {
				t.Fatalf("crash at write %d: %s has %v", n, d.name, nm)
			}
		}
	}
}

// A damaged remote file stops sync with a clear error, and an upload_only
// cycle asks before replacing it; Upload (the user's choice) replaces it,
// keeping the damaged file as a snapshot.
func TestDamagedRemoteUpload(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	a.put("r1", "x")
	a.mustCycle()
	srv.PutFile(remotePath, []byte(`{"format":"davsync","version":1,"collections":{"accounts":{"records":[{"id":1}]}}}`))
	w.advance(time.Minute)
	if _, err := a.cycle(CycleOptions{}); !errors.Is(err, errkind.BadDocument) {
		t.Fatalf("damaged remote: %v", err)
	}
	a.settings(func(s *syncSettings) { s.Strategy = "upload_only" })
	if _, err := a.cycle(CycleOptions{}); !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("upload_only cycle without confirm: %v", err)
	}
	res, err := a.eng.Upload(context.Background(), CycleOptions{Confirm: true})
	if err != nil || !res.Uploaded || res.Snapshot == "" {
		t.Fatalf("upload with confirm: %+v %v", res, err)
	}
	if n := namesOf(remoteDoc(t, srv, remotePath)); n["r1"] != "x" {
		t.Fatalf("remote after upload: %v", n)
	}
}

// TestClockFarAheadIsReportedAndCannotExpireTombstones: a device whose clock
// runs 200 days ahead writes once. Every device that merges that write has
// its HLC run 200 days ahead too; its merges must still measure against the
// wall clock. Otherwise the write is reported only by the first merge that
// sees it, and a deletion made minutes earlier looks older than the 180-day
// horizon and is dropped from the server, so an old copy of the record
// (another device's, an old export) would bring it back.
func TestClockFarAheadIsReportedAndCannotExpireTombstones(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	c := newDevice(t, "c", w, srv, srv.URL(), 0)
	bad := newDevice(t, "bad-clock", w, srv, srv.URL(), 200*24*time.Hour)
	a.put("keep", "kept")
	a.put("gone", "to delete")
	a.mustCycle()
	c.mustCycle()
	bad.mustCycle()
	bad.put("future", "written by a wrong clock")
	bad.mustCycle()
	w.advance(time.Minute)

	reported := func(w []msg.Msg) bool {
		for _, m := range w {
			if m.Key == "warnFutureRecord" && strings.Contains(m.String(), `"future"`) {
				return true
			}
		}
		return false
	}
	// a deletes a record and syncs: that merge brings the far-future record
	// in (and a's HLC with it).
	a.del("gone")
	if res := a.mustCycle(); !reported(res.Warnings) {
		t.Fatalf("the far-future record is not reported: %q", res.Warnings)
	}
	// c edits, so a's next cycle is a full merge again.
	c.put("other", "from c")
	c.mustCycle()
	if res := a.mustCycle(); !reported(res.Warnings) {
		t.Fatalf("a second merge no longer reports the far-future record: %q", res.Warnings)
	}
	doc := remoteDoc(t, srv, remotePath)
	if _, ok := doc.Collection("accounts").Tombstone("gone"); !ok {
		t.Fatal("a deletion made a minute ago was dropped from the server as older than the horizon")
	}
	// An idle cycle and a local-only upload keep the warning in the status.
	a.mustCycle()
	a.put("later", "an edit after the HLC ran ahead")
	if res := a.mustCycle(); !reported(res.Warnings) {
		t.Fatalf("a cycle uploading a local edit does not report the far-future record: %q", res.Warnings)
	}
	a.mustCycle()
	if st, _ := a.eng.Status(context.Background()); !reported(st.Warnings) {
		t.Fatalf("the status does not carry the warning after an idle cycle: %q", st.Warnings)
	}
}

// TestETagAskedBeforeBody: on a server whose GETs carry no ETag (npm), the
// cycle pairs the body it read with an ETag from a PROPFIND, so that its
// next probes are PROPFINDs. Another device's write landing between those
// two requests must not be hidden: the ETag has to be the older one, so
// that the next probe sees a different ETag and reads again. b's write is
// injected before whichever request of a's probe comes second; had the
// PROPFIND come after the GET, a would pair b's new ETag with its own old
// body, every later probe would say "unchanged", and b's edit would never
// reach a.
func TestETagAskedBeforeBody(t *testing.T) {
	w := newWorld()
	srv := newServer(w, serverTraits["npm"])
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	b := newDevice(t, "b", w, srv, srv.URL(), 0)
	a.put("r1", "one")
	a.setField("r1", "notes", "a wrote this, 33 characters long.")
	a.mustCycle() // the read-back shows that GETs carry no ETag
	b.mustCycle()
	w.advance(3 * time.Second)

	// b's write keeps the file's size, so that only the ETag can tell.
	armed, seen := false, 0
	srv.Faults = func(req *webdav.Request) davtest.Fault {
		if !armed {
			return davtest.Fault{}
		}
		if seen++; seen == 2 {
			armed = false
			b.setField("r1", "notes", "b wrote this, 33 characters long.")
			b.mustCycle()
		}
		return davtest.Fault{}
	}
	before, _ := srv.File(remotePath)
	armed = true
	a.mustCycle()
	if armed || seen < 2 {
		t.Fatalf("a's probe made %d requests; the write was not injected", seen)
	}
	if after, _ := srv.File(remotePath); len(after) != len(before) || string(after) == string(before) {
		t.Fatalf("b's write went from %d to %d bytes: the test needs a same-size change to isolate the ETag", len(before), len(after))
	}
	for i := 0; i < 3; i++ {
		w.advance(3 * time.Second)
		a.mustCycle()
	}
	if got := a.field("r1", "notes"); got != "b wrote this, 33 characters long." {
		t.Fatalf("a has r1 notes %q: b's write was hidden", got)
	}
	if res := a.mustCycle(); res.Requests != 1 || res.BytesDown > 2048 {
		t.Fatalf("settled idle cycle: %+v", res)
	}
}
