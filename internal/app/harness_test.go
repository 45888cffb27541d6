package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
	"github.com/tidwall/gjson"
)

// The device-level tests: several devices (each its own App over its own
// stores and clock) sync through one fake server (davtest) or a real one,
// and the tests check that every edit and deletion reaches every device.

// world is a shared fake time: every device's wall clock is world time plus
// its own skew, and the server uses world time.
type world struct{ ms atomic.Int64 }

func newWorld() *world {
	w := &world{}
	w.ms.Store(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC).UnixMilli())
	return w
}

func (w *world) now() time.Time          { return time.UnixMilli(w.ms.Load()) }
func (w *world) advance(d time.Duration) { w.ms.Add(d.Milliseconds()) }

// syncSettings are what the tests change about a device's one remote and
// the cycle's tuning.
type syncSettings struct {
	URL, Username, Password string
	Strategy                merge.Strategy
	Compress, Encrypt       bool
	Passphrase              string
	// Forget: encryption is not remembered on this device.
	Forget   bool
	AutoSync bool
	// IntervalSeconds is the schedule (0: the default hour).
	IntervalSeconds int
	// SnapshotKeep: 0 the default 5, negative none.
	SnapshotKeep            int
	SnapshotIntervalSeconds int
	GuardPercent            int
	GuardMinRecords         int
	TombstoneHorizonDays    int
}

// CycleOptions are how the tests ask for a cycle (the fields of the
// engine they were first written for).
type CycleOptions struct {
	Auto, Background      bool
	Confirm, AnswerHeld   bool
	AllowEncryptionChange bool
}

// device is one browser profile: its own KV, store, clock and App.
type device struct {
	t       testing.TB
	name    string
	w       *world
	skew    time.Duration
	kv      local.KV
	session local.KV
	app     *App
	store   *local.Store
	eng     *testEngine
	tr      webdav.Transport
	set     syncSettings
	setMu   gosync.Mutex
	hook    func(ctx context.Context)
	// wallFn replaces world time plus skew (devices on a real server run
	// on real time); webdavOpts replaces the instant retries.
	wallFn     func() time.Time
	webdavOpts []webdav.Option
}

// remoteID is the id of every test device's one remote.
const remoteID = "1"

func noSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

func newDevice(t testing.TB, name string, w *world, tr webdav.Transport, url string, skew time.Duration) *device {
	t.Helper()
	d := &device{t: t, name: name, w: w, skew: skew, kv: local.NewMemKV(), session: local.NewMemKV()}
	d.set = syncSettings{URL: url, Username: "u", Password: "p", AutoSync: true}
	d.open(tr)
	return d
}

func (d *device) wall() time.Time {
	if d.wallFn != nil {
		return d.wallFn()
	}
	return d.w.now().Add(d.skew)
}

// open (re)creates the App over the device's stores, as a worker restart
// does, and applies its settings.
func (d *device) open(tr webdav.Transport) {
	d.tr = tr
	opts := d.webdavOpts
	if opts == nil {
		opts = []webdav.Option{webdav.WithSleep(noSleep), webdav.WithRetry(2, time.Millisecond, time.Millisecond), webdav.WithClock(d.wall)}
	}
	d.app = New(Config{
		// Cached as in the extension (wasm/main.go), a fresh cache per
		// worker start; the tests write d.kv directly only between starts.
		KV: local.Cached(d.kv, 0), SessionKV: local.Cached(d.session, 0), Transport: tr,
		Wall:          func() int64 { return d.wall().UnixMilli() },
		KeyOptions:    envelope.KeyOptions{Iterations: envelope.MinIterations},
		WebDAVOptions: opts,
		Hooks: cycle.Hooks{BeforeApply: func(ctx context.Context) {
			if d.hook != nil {
				h := d.hook
				d.hook = nil
				h(ctx)
			}
		}},
	})
	st, err := d.app.Store(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	d.store = st
	d.eng = &testEngine{d: d}
	if s, err := d.app.Settings(context.Background()); err == nil && len(s.Remotes) == 0 {
		d.apply()
	} else {
		d.app.cfg.Tuning = d.tuning()
	}
}

// tuning is the cycle tuning of the device's settings.
func (d *device) tuning() Tuning {
	d.setMu.Lock()
	s := d.set
	d.setMu.Unlock()
	t := Tuning{GuardPercent: s.GuardPercent, GuardMinRecords: s.GuardMinRecords,
		Horizon: time.Duration(s.TombstoneHorizonDays) * 24 * time.Hour, SnapshotInterval: time.Duration(s.SnapshotIntervalSeconds) * time.Second}
	return t.withDefaults()
}

// apply writes the device's syncSettings into its App.
func (d *device) apply() {
	d.setMu.Lock()
	s := d.set
	d.setMu.Unlock()
	keep := s.SnapshotKeep
	switch {
	case keep == 0:
		keep = DefaultSnapshotsKeep
	case keep < 0:
		keep = 0
	}
	interval := float64(s.IntervalSeconds) / 60
	if interval == 0 {
		interval = DefaultIntervalMinutes
	}
	enc := map[string]any{"enabled": s.Encrypt, "remember": !s.Forget}
	if s.Passphrase != "" {
		enc["passphrase"] = s.Passphrase
	}
	raw, _ := json.Marshal(map[string]any{"url": s.URL, "folder": "davsync", "username": s.Username, "password": s.Password,
		"strategy": string(s.Strategy), "compress": s.Compress, "autoSync": s.AutoSync, "intervalMinutes": interval,
		"snapshotsKeep": keep, "encryption": enc})
	ctx := context.Background()
	st, err := d.app.Settings(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	id := remoteID
	if _, ok := st.Remote(remoteID); !ok {
		id = ""
	}
	if _, _, err := d.app.SaveRemote(ctx, id, raw); err != nil {
		d.t.Fatalf("%s: settings: %v", d.name, err)
	}
	d.app.cfg.Tuning = d.tuning()
}

func (d *device) settings(f func(s *syncSettings)) {
	d.setMu.Lock()
	f(&d.set)
	d.setMu.Unlock()
	d.apply()
}

func (d *device) put(id, name string) {
	d.t.Helper()
	_, err := d.store.Update(context.Background(), func(doc *backup.Document) error {
		_, err := local.PutRecord(doc, "accounts", []byte(fmt.Sprintf(`{"id":%q,"site_name":%q}`, id, name)), d.store.Clock().Now())
		return err
	})
	if err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) setField(id, field, val string) {
	d.t.Helper()
	_, err := d.store.Update(context.Background(), func(doc *backup.Document) error {
		r, ok := doc.Collection("accounts").Get(id)
		if !ok {
			return fmt.Errorf("no record %s", id)
		}
		raw := []byte(`{"id":` + fmt.Sprintf("%q", id))
		gjson.ParseBytes(r.Raw).ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "id", "updated_at", "_field_times", field:
				return true
			}
			raw = append(raw, ',')
			raw = append(raw, k.Raw...)
			raw = append(raw, ':')
			raw = append(raw, v.Raw...)
			return true
		})
		raw = append(raw, fmt.Sprintf(",%q:%q}", field, val)...)
		_, err := local.PutRecord(doc, "accounts", raw, d.store.Clock().Now())
		return err
	})
	if err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) del(id string) {
	d.t.Helper()
	if _, err := d.store.Update(context.Background(), func(doc *backup.Document) error {
		return local.DeleteRecord(doc, "accounts", id, d.store.Clock().Now())
	}); err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) cycle(opts CycleOptions) (*cycle.Result, error) {
	return d.eng.Cycle(context.Background(), opts)
}

func (d *device) mustCycle() *cycle.Result {
	d.t.Helper()
	res, err := d.cycle(CycleOptions{})
	if err != nil {
		d.t.Fatalf("%s: cycle: %v", d.name, err)
	}
	return res
}

// names returns id -> site_name of the device's live records.
func (d *device) names() map[string]string {
	d.t.Helper()
	doc, _, err := d.store.Load(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	return namesOf(doc)
}

func namesOf(doc *backup.Document) map[string]string {
	out := map[string]string{}
	for _, r := range doc.Collection("accounts").Records {
		out[r.ID] = gjson.GetBytes(r.Raw, "site_name").String()
	}
	return out
}

// field reads one field of a live record ("<no record>" if there is none).
func (d *device) field(id, f string) string {
	d.t.Helper()
	doc, _, err := d.store.Load(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	r, ok := doc.Collection("accounts").Get(id)
	if !ok {
		return "<no record>"
	}
	return gjson.GetBytes(r.Raw, f).String()
}

func (d *device) docHash() string {
	doc, _, err := d.store.Load(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	return docHash(doc)
}

// docHash identifies a document's content, ignoring when it was exported.
func docHash(doc *backup.Document) string {
	c := *doc
	c.ExportedAt = 0
	return sha(c.Marshal())
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// remoteDoc parses the file on the server (plain or gzip).
func remoteDoc(t testing.TB, srv *davtest.Server, path string) *backup.Document {
	t.Helper()
	b, ok := srv.File(path)
	if !ok {
		t.Fatalf("no remote file %s (have %v)", path, srv.Files())
	}
	u, err := envelope.Unwrap(b, "", nil, nil, 0)
	if err != nil {
		t.Fatalf("remote file: %v", err)
	}
	doc, err := backup.Parse(u.Plain)
	if err != nil {
		t.Fatalf("remote file: %v", err)
	}
	return doc
}

const remotePath = "davsync/davsync.json"

// marker is what the tests read of a cycle's marker (cycle owns it).
type marker struct {
	File string `json:"file"`
	Hash string `json:"hash"`
}

const keyMarker = "marker"

// testEngine is the one-remote engine API the device tests were written
// for, over the App.
type testEngine struct{ d *device }

// run runs fn as an operation of the device's remote with opts applied.
func (e *testEngine) run(ctx context.Context, trigger string, opts CycleOptions, fn func(env cycle.Env, o cycle.Options) (*cycle.Result, error)) (*cycle.Result, error) {
	so := SyncOptions{Trigger: trigger}
	if opts.Auto {
		so.Trigger = TriggerAlarm
	} else if opts.Background {
		so.Trigger = TriggerEdit
	}
	so.Confirm = opts.Confirm && opts.AnswerHeld
	return e.d.app.operate(ctx, remoteID, so, func(env cycle.Env, o cycle.Options) (*cycle.Result, error) {
		if opts.Confirm && !opts.AnswerHeld {
			o.Confirm = true
		}
		o.AllowEncryptionChange = o.AllowEncryptionChange || opts.AllowEncryptionChange
		return fn(env, o)
	})
}

func (e *testEngine) Cycle(ctx context.Context, opts CycleOptions) (*cycle.Result, error) {
	return e.run(ctx, "", opts, func(env cycle.Env, o cycle.Options) (*cycle.Result, error) {
		return cycle.Run(ctx, env, o)
	})
}

func (e *testEngine) Upload(ctx context.Context, opts CycleOptions) (*cycle.Result, error) {
	return e.d.app.Upload(ctx, remoteID)
}

func (e *testEngine) Download(ctx context.Context, mode string, opts CycleOptions) (*cycle.Result, error) {
	return e.d.app.Download(ctx, remoteID, mode, SyncOptions{})
}

func (e *testEngine) Snapshots(ctx context.Context) ([]cycle.Snapshot, error) {
	return e.d.app.Snapshots(ctx, remoteID)
}

func (e *testEngine) RestoreSnapshot(ctx context.Context, name, mode string, opts CycleOptions) (*cycle.Result, error) {
	return e.d.app.RestoreSnapshot(ctx, remoteID, name, mode, SyncOptions{})
}

// restoreLocally restores a snapshot into the store without syncing (the
// caller holds the run lock).
func (e *testEngine) restoreLocally(ctx context.Context, name, mode string, _ CycleOptions) error {
	s, err := e.d.app.Settings(ctx)
	if err != nil {
		return err
	}
	r, _ := s.Remote(remoteID)
	env, err := e.d.app.env(ctx, r)
	if err != nil {
		return err
	}
	return cycle.Restore(ctx, env, e.d.app.cycleOptions(r), name, mode)
}

func (e *testEngine) begin() error { return e.d.app.begin() }
func (e *testEngine) end()         { e.d.app.end(context.Background()) }

func (e *testEngine) Status(ctx context.Context) (*RemoteStatus, error) {
	s, err := e.d.app.Settings(ctx)
	if err != nil {
		return nil, err
	}
	r, _ := s.Remote(remoteID)
	st := e.d.app.remoteStatus(ctx, r, false)
	return &st, nil
}

func (e *testEngine) Conflicts(ctx context.Context) ([]ConflictInfo, error) {
	return e.d.app.Conflicts(ctx)
}

func (e *testEngine) ResolveConflict(ctx context.Context, id, choice string) error {
	return e.d.app.ResolveConflict(ctx, id, choice)
}

func (e *testEngine) UndoList(ctx context.Context) ([]local.UndoPoint, error) {
	return e.d.app.UndoList(ctx)
}

func (e *testEngine) Undo(ctx context.Context, id int64) (int64, error) {
	return e.d.app.Undo(ctx, id)
}

// ConflictState returns the conflict log with cs added, as an import's
// commit carries it.
func (e *testEngine) ConflictState(ctx context.Context, cs []merge.Conflict) (map[string][]byte, error) {
	st, _, err := e.d.app.conflictState(ctx, cs, "")
	return st, err
}

// readJSON reads one of the remote's device-state items.
func (e *testEngine) readJSON(ctx context.Context, key string, v any) (bool, error) {
	return e.d.app.readState(ctx, stateKey(remoteID, key), v)
}
