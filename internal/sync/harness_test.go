package sync

import (
	"context"
	"fmt"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/sync/synctest"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/tidwall/gjson"
)

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

// device is one browser profile: its own KV, store, clock and engine.
type device struct {
	t     testing.TB
	name  string
	w     *world
	skew  time.Duration
	kv    local.KV
	store *local.Store
	eng   *Engine
	set   Settings
	setMu gosync.Mutex
	hook  func(ctx context.Context)
}

func noSleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

func newDevice(t testing.TB, name string, w *world, tr webdav.Transport, url string, skew time.Duration) *device {
	t.Helper()
	d := &device{t: t, name: name, w: w, skew: skew, kv: local.NewMemKV()}
	d.set = Settings{URL: url, Username: "u", Password: "p", AutoSync: true}
	d.open(tr)
	return d
}

func (d *device) wall() time.Time { return d.w.now().Add(d.skew) }

// open (re)creates the store and engine over the device's KV, as a worker
// restart does.
func (d *device) open(tr webdav.Transport) {
	st, err := local.Open(context.Background(), d.kv, hlc.New(func() int64 { return d.wall().UnixMilli() }))
	if err != nil {
		d.t.Fatal(err)
	}
	d.store = st
	d.eng = NewEngine(Config{
		Store: st, Transport: tr, Now: d.wall,
		KeyOptions: envelope.Options{Iterations: envelope.MinIterations},
		Settings: func(context.Context) (Settings, error) {
			d.setMu.Lock()
			defer d.setMu.Unlock()
			return d.set, nil
		},
		ClientOptions: []webdav.Option{webdav.WithSleep(noSleep), webdav.WithRetry(2, time.Millisecond, time.Millisecond), webdav.WithClock(d.wall)},
		Hooks: Hooks{BeforeApply: func(ctx context.Context) {
			if d.hook != nil {
				h := d.hook
				d.hook = nil
				h(ctx)
			}
		}},
	})
}

func (d *device) settings(f func(s *Settings)) {
	d.setMu.Lock()
	defer d.setMu.Unlock()
	f(&d.set)
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

func (d *device) cycle(opts CycleOptions) (*CycleResult, error) {
	return d.eng.Cycle(context.Background(), opts)
}

func (d *device) mustCycle() *CycleResult {
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

// remoteDoc parses the file on the server (plain or gzip).
func remoteDoc(t testing.TB, srv *synctest.Server, path string) *backup.Document {
	t.Helper()
	b, ok := srv.File(path)
	if !ok {
		t.Fatalf("no remote file %s (have %v)", path, srv.Files())
	}
	doc, err := backup.Parse(b)
	if err != nil {
		t.Fatalf("remote file: %v", err)
	}
	return doc
}

const remotePath = "davsync/davsync.json"
