//go:build !js

package protocol

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// gateTransport blocks the first PROPFIND of the snapshots folder until
// release is closed (a slow server answering the options page's snapshot
// list).
type gateTransport struct {
	srv     *davtest.Server
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gateTransport) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	if req.Method == "PROPFIND" && strings.Contains(req.URL, "snapshots") && g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		<-g.release
	}
	return g.srv.RoundTrip(ctx, req)
}

// The options page lists the snapshots when it opens (snapshots.list holds
// the sync engine's run lock while the server answers). The user switches a
// weekly schedule to hourly and saves meanwhile: Reschedule's TryLock fails
// and it returns, assuming a cycle's finish will apply the new interval;
// but no cycle runs, so every hourly alarm for a week is skipped as not due.
func TestIntervalShortenedWhileSnapshotsListed(t *testing.T) {
	srv := davtest.New()
	var wall atomic.Int64
	wall.Store(1_700_000_000_000)
	g := &gateTransport{srv: srv, entered: make(chan struct{}), release: make(chan struct{})}
	e, _ := newTest(t, func(c *app.Config) {
		c.Transport = g
		c.Wall = func() int64 { return wall.Load() }
		c.WebDAVOptions = []webdav.Option{webdav.WithRetry(1, time.Millisecond, time.Millisecond)}
	})
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{
		"url": srv.URL(), "autoSync": true, "intervalMinutes": 7 * 24 * 60}})
	if !alarm(t, e) {
		t.Fatal("first scheduled cycle did not run")
	}
	g.armed.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.Handle(context.Background(), "snapshots.list", nil)
	}()
	<-g.entered
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{"intervalMinutes": 60}})
	close(g.release)
	<-done
	wall.Add(61 * 60 * 1000) // the first alarm of the new hourly period
	if !alarm(t, e) {
		st := call(t, e, "sync.status", nil)
		t.Fatalf("the hourly alarm was skipped: nextRun is %.1f days away", float64(st.Get("status.nextRun").Int()-wall.Load())/86400_000)
	}
}

// The cycle is held: "encryption is on but the sync file on the server is
// not encrypted; confirm to encrypt it". The user then points the device at
// another folder (another group's plaintext backup) and presses Confirm,
// still offered with the old preview. sync.confirm grants the encryption
// switch from the reason alone, without checking that the preview belongs
// to these settings, and encrypts the other folder's file unasked (its
// devices now fail with passphrase_needed).
func TestConfirmEncryptionBoundToSettings(t *testing.T) {
	srv := davtest.New()
	newDev := func() *Engine { e, _ := clockedEngine(t, srv, nil); return e }
	a, b, c := newDev(), newDev(), newDev()
	urlA, urlB := srv.URL()+"a/", srv.URL()+"b/"
	call(t, a, "settings.save", map[string]any{"settings": map[string]any{"url": urlA}})
	call(t, c, "settings.save", map[string]any{"settings": map[string]any{"url": urlB}})
	call(t, a, "accounts.put", `{"account":{"site_name":"a"}}`)
	call(t, c, "accounts.put", `{"account":{"site_name":"c"}}`)
	call(t, a, "sync.now", nil)
	call(t, c, "sync.now", nil)
	call(t, b, "settings.save", map[string]any{"settings": map[string]any{"url": urlA,
		"encryption": map[string]any{"enabled": true, "passphrase": "correct horse", "remember": true}}})
	call(t, b, "accounts.put", `{"account":{"site_name":"b"}}`)
	if _, err := b.Handle(context.Background(), "sync.now", nil); err == nil {
		t.Fatal("b was not asked about encrypting a's plaintext file")
	}
	if r := call(t, b, "sync.status", nil).Get("status.preview.reason").String(); r != "encryption_change" {
		t.Fatalf("preview reason %q", r)
	}
	call(t, b, "settings.save", map[string]any{"settings": map[string]any{"url": urlB}})
	t.Logf("status before confirm: %s", call(t, b, "sync.status", nil).Get("status").Raw)
	out, err := b.Handle(context.Background(), "sync.confirm", nil)
	t.Logf("confirm: %s %v", out, err)
	got, _ := srv.File("b/davsync/davsync.json")
	t.Logf("file: %.80q", got)
	if strings.Contains(string(got), "davsync-encrypted") {
		t.Fatalf("confirming the encryption question asked for %s encrypted the file in %s, which no preview showed: %.60q", urlA, urlB, got)
	}
}

// afterGetKV runs hook (once, when armed) after serving a Get of key to a
// caller whose stack mentions in: another request landing between that
// read and the caller's write.
type afterGetKV struct {
	local.KV
	mu   gosync.Mutex
	key  string
	in   string
	hook func()
}

func (h *afterGetKV) Get(ctx context.Context, keys ...string) (map[string][]byte, error) {
	m, err := h.KV.Get(ctx, keys...)
	h.mu.Lock()
	f := h.hook
	if f != nil && len(keys) == 1 && keys[0] == h.key && strings.Contains(string(debug.Stack()), h.in) {
		h.hook = nil
	} else {
		f = nil
	}
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return m, err
}

// Since today a merge import writes its losing versions to the conflict
// log. Resolving a conflict reads the log once, before its store update, and
// writes that (stale) list minus the resolved entry: an import that lands in
// between (imports do not take the sync engine's run lock) has its conflict
// entries silently dropped, and the file's versions of those records are no
// longer offered anywhere.
func TestResolveConflictKeepsConflictsAnImportAdded(t *testing.T) {
	kv := &afterGetKV{KV: local.NewMemKV(), key: local.StatePrefix + "conflicts", in: "ResolveConflict"}
	e, _ := newTest(t, func(c *app.Config) { c.KV = kv })
	call(t, e, "accounts.put", `{"account":{"id":"a1","site_name":"A","site_url":"https://a.example/","username":"u"}}`)
	call(t, e, "accounts.put", `{"account":{"id":"a2","site_name":"B","site_url":"https://b.example/","username":"v"}}`)
	exp := call(t, e, "data.export", `{"scope":"all"}`).Get("json").String()
	imp, _ := json.Marshal(map[string]any{"json": exp, "mode": "merge", "dryRun": false})
	call(t, e, "accounts.delete", `{"id":"a1"}`)
	call(t, e, "data.import", string(imp))
	cs := call(t, e, "conflicts.list", nil).Get("conflicts").Array()
	if len(cs) != 1 {
		t.Fatalf("setup: %d conflicts", len(cs))
	}
	first := cs[0].Get("id").String()
	// The user deletes a2, imports the file again in another tab while
	// resolving the first conflict here.
	call(t, e, "accounts.delete", `{"id":"a2"}`)
	// (The import runs on its own goroutine; the resolve waits for it up to
	// 200 ms, which a resolve that holds the store outlasts.)
	imported := make(chan struct{})
	kv.hook = func() {
		go func() {
			defer close(imported)
			if _, err := e.Handle(context.Background(), "data.import", imp); err != nil {
				t.Error(err)
			}
		}()
		select {
		case <-imported:
		case <-time.After(200 * time.Millisecond):
		}
	}
	call(t, e, "conflicts.resolve", map[string]any{"id": first, "choice": "local"})
	<-imported
	var ids []string
	for _, c := range call(t, e, "conflicts.list", nil).Get("conflicts").Array() {
		ids = append(ids, c.Get("recordId").String())
	}
	if !slices.Contains(ids, "a2") {
		t.Fatalf("after resolving a1's conflict the list holds %v; the import's conflict for a2 was dropped", ids)
	}
}
