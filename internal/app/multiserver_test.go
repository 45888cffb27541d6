package app

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// hosts routes requests to one fake server per host name, so one App can
// sync with several.
type hosts map[string]webdav.Transport

func (h hosts) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	for host, t := range h {
		if strings.Contains(req.URL, "://"+host+"/") {
			return t.RoundTrip(ctx, req)
		}
	}
	return nil, errkind.New(errkind.Network, "", "no such host")
}

// multiDevice is an App with several remotes, on the shared world clock.
type multiDevice struct {
	t   *testing.T
	app *App
	ids []string
}

func newMultiDevice(t *testing.T, w *world, tr webdav.Transport, urls ...string) *multiDevice {
	a := New(Config{KV: local.NewMemKV(), Transport: tr, Wall: func() int64 { return w.now().UnixMilli() },
		KeyOptions:    envelope.KeyOptions{Iterations: envelope.MinIterations},
		WebDAVOptions: []webdav.Option{webdav.WithSleep(noSleep), webdav.WithRetry(2, time.Millisecond, time.Millisecond), webdav.WithClock(w.now)}})
	d := &multiDevice{t: t, app: a}
	for _, u := range urls {
		raw, _ := json.Marshal(map[string]any{"url": u, "username": "u", "password": "p", "autoSync": true, "name": u})
		r, _, err := a.SaveRemote(context.Background(), "", raw)
		if err != nil {
			t.Fatal(err)
		}
		d.ids = append(d.ids, r.ID)
	}
	return d
}

func (d *multiDevice) put(id, name string) {
	d.t.Helper()
	if _, err := d.app.PutAccount(context.Background(), []byte(`{"id":"`+id+`","site_name":"`+name+`"}`), nil); err != nil {
		d.t.Fatal(err)
	}
}

func (d *multiDevice) del(id string) {
	d.t.Helper()
	if err := d.app.DeleteAccount(context.Background(), id); err != nil {
		d.t.Fatal(err)
	}
}

// syncAll syncs every remote and fails on any error.
func (d *multiDevice) syncAll() {
	d.t.Helper()
	rs, err := d.app.SyncAll(context.Background(), SyncOptions{})
	if err != nil {
		d.t.Fatal(err)
	}
	for _, r := range rs {
		if !r.OK {
			d.t.Fatalf("remote %s: %s", r.Remote, r.Error.Message)
		}
	}
}

func (d *multiDevice) names() map[string]string {
	doc, err := d.app.Doc(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	return namesOf(doc)
}

// Device 1 syncs with servers X and Y, device 2 only with X, device 3 only
// with Y: every edit and deletion reaches every device through device 1,
// and a server that is down holds back only itself.
func TestThreeDevicesTwoServers(t *testing.T) {
	w := newWorld()
	x, y := davtest.New(), davtest.New()
	for _, s := range []*davtest.Server{x, y} {
		s.Now, s.User, s.Password = w.now, "u", "p"
	}
	down := false
	faultyY := transportFunc(func(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
		if down {
			return nil, errkind.New(errkind.Network, "", "connection refused")
		}
		return y.RoundTrip(ctx, req)
	})
	tr := hosts{"x.test": x, "y.test": faultyY}
	const urlX, urlY = "https://x.test/dav/", "https://y.test/dav/"
	d1 := newMultiDevice(t, w, tr, urlX, urlY)
	d2 := newMultiDevice(t, w, tr, urlX)
	d3 := newMultiDevice(t, w, tr, urlY)
	all := []*multiDevice{d1, d2, d3}
	round := func() {
		for _, d := range all {
			w.advance(time.Second)
			d.syncAll()
		}
	}
	d2.put("a", "from 2")
	d3.put("b", "from 3")
	d1.put("c", "from 1")
	for range 2 {
		round()
	}
	for i, d := range all {
		if n := d.names(); n["a"] != "from 2" || n["b"] != "from 3" || n["c"] != "from 1" {
			t.Fatalf("device %d after two rounds: %v", i+1, n)
		}
	}
	d3.del("a")
	d2.put("b", "renamed on 2")
	for range 2 {
		round()
	}
	for i, d := range all {
		if n := d.names(); n["a"] != "" || n["b"] != "renamed on 2" || len(n) != 2 {
			t.Fatalf("device %d after the deletion and the rename: %v", i+1, n)
		}
	}

	// Y goes down: device 1 still syncs X (its error is Y's alone), and
	// device 2's edit reaches device 3 once Y is back.
	down = true
	d2.put("d", "while Y was down")
	w.advance(time.Second)
	d2.syncAll()
	rs, err := d1.app.SyncAll(context.Background(), SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || !rs[0].OK || rs[1].OK || rs[1].Error.Kind != string(errkind.Network) {
		t.Fatalf("with Y down: %+v", rs)
	}
	if d1.names()["d"] == "" {
		t.Fatal("device 1 did not get X's data while Y was down")
	}
	st, _ := d1.app.Status(context.Background())
	if st.State != StateError || st.Worst != d1.ids[1] || st.Remotes[0].Status.State != StateIdle {
		t.Fatalf("status with Y down: state %s worst %s remotes %+v", st.State, st.Worst, st.Remotes)
	}
	down = false
	w.advance(time.Hour)
	round()
	if d3.names()["d"] != "while Y was down" {
		t.Fatalf("device 3 after Y came back: %v", d3.names())
	}
	// Conflicts and undo points say which server they came from.
	pts, _ := d1.app.UndoList(context.Background())
	sources := map[string]bool{}
	for _, p := range pts {
		sources[p.Source] = true
	}
	if !sources[d1.ids[0]] {
		t.Fatalf("undo points do not name server X: %+v", pts)
	}
}

// A question (here the mass-change guard) belongs to the server it was
// asked for: it holds that server only, and a confirmation answers it
// there without touching the other.
func TestQuestionsArePerServer(t *testing.T) {
	w := newWorld()
	x, y := davtest.New(), davtest.New()
	for _, s := range []*davtest.Server{x, y} {
		s.Now, s.User, s.Password = w.now, "u", "p"
	}
	tr := hosts{"x.test": x, "y.test": y}
	d1 := newMultiDevice(t, w, tr, "https://x.test/dav/", "https://y.test/dav/")
	d2 := newMultiDevice(t, w, tr, "https://x.test/dav/")
	for i := range 20 {
		d1.put("r"+string(rune('a'+i)), "record")
	}
	d1.syncAll()
	d2.syncAll()
	for i := range 15 {
		d2.del("r" + string(rune('a'+i)))
	}
	w.advance(time.Second)
	if _, err := d2.app.Sync(context.Background(), d2.ids[0], SyncOptions{}); !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("device 2's mass deletion was not held: %v", err)
	}
	if _, err := d2.app.Sync(context.Background(), d2.ids[0], SyncOptions{Confirm: true}); err != nil {
		t.Fatal(err)
	}
	w.advance(time.Second)
	rs, _ := d1.app.SyncAll(context.Background(), SyncOptions{})
	if rs[0].OK || !errors.Is(rs[0].Err(), errkind.NeedsConfirmation) || !rs[1].OK {
		t.Fatalf("want X held by the guard and Y synced: %+v", rs)
	}
	if len(d1.names()) != 20 {
		t.Fatal("the held server's deletions reached this device")
	}
	if _, err := d1.app.Sync(context.Background(), d1.ids[0], SyncOptions{Confirm: true}); err != nil {
		t.Fatal(err)
	}
	if len(d1.names()) != 5 {
		t.Fatalf("after confirming X: %d records", len(d1.names()))
	}
	// Passing the deletions on to Y is Y's own question.
	w.advance(time.Second)
	if _, err := d1.app.Sync(context.Background(), d1.ids[1], SyncOptions{}); !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("the deletions went to Y unasked: %v", err)
	}
	if n := len(namesOf(remoteDoc(t, y, remotePath))); n != 20 {
		t.Fatalf("Y holds %d records before its question was answered", n)
	}
	if _, err := d1.app.Sync(context.Background(), d1.ids[1], SyncOptions{Confirm: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(namesOf(remoteDoc(t, y, remotePath))); n != 5 {
		t.Fatalf("Y holds %d records after device 1 synced it", n)
	}
}

// transportFunc adapts a function to webdav.Transport.
type transportFunc func(ctx context.Context, req *webdav.Request) (*webdav.Response, error)

func (f transportFunc) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	return f(ctx, req)
}
