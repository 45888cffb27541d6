package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
)

// Engine is an App driven through the protocol, as the pages drive it.
type Engine struct{ *app.App }

// Handle runs one protocol method.
func (e *Engine) Handle(ctx context.Context, method string, params []byte) ([]byte, error) {
	return Handle(ctx, e.App, method, params)
}

// LoadSettings returns the first server's stored settings, secrets
// included (what the pages never see).
func (e *Engine) LoadSettings(ctx context.Context) (app.Remote, error) {
	s, err := e.Settings(ctx)
	return s.First(), err
}

// Where the app keeps settings and the first server's keys (the persisted
// format the tests check).
const (
	keySettings      = "davsync.settings"
	keySessionKey    = "davsync.session.key.1"
	keyRememberedKey = "davsync.key.1"
)

// newTest returns an engine over memory stores with a fixed, advancing clock.
func newTest(t *testing.T, opts ...func(*app.Config)) (*Engine, local.KV) {
	t.Helper()
	kv := local.NewMemKV()
	var wall atomic.Int64
	wall.Store(1_700_000_000_000)
	cfg := app.Config{KV: kv, Wall: func() int64 { return wall.Add(1000) }}
	for _, o := range opts {
		o(&cfg)
	}
	return &Engine{app.New(cfg)}, kv
}

func call(t *testing.T, e *Engine, method string, params any) gjson.Result {
	t.Helper()
	var b []byte
	switch p := params.(type) {
	case nil:
	case string:
		b = []byte(p)
	default:
		var err error
		if b, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.Handle(context.Background(), method, b)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if !gjson.ValidBytes(out) {
		t.Fatalf("%s: invalid JSON %q", method, out)
	}
	return gjson.ParseBytes(out)
}

func callErr(t *testing.T, e *Engine, method string, params string) error {
	t.Helper()
	_, err := e.Handle(context.Background(), method, []byte(params))
	if err == nil {
		t.Fatalf("%s %s: no error", method, params)
	}
	return err
}

func TestSettingsNeverReturnSecrets(t *testing.T) {
	e, kv := newTest(t)
	call(t, e, "settings.save", `{"settings":{"url":"https://dav.example/x/","username":"ann","password":"s3cret-pw","encryption":{"enabled":true,"passphrase":"pass-phrase-1","remember":true}}}`)
	got := call(t, e, "settings.get", nil)
	raw := got.Raw
	for _, secret := range []string{"s3cret-pw", "pass-phrase-1"} {
		if strings.Contains(raw, secret) {
			t.Fatalf("settings.get leaks a secret: %s", raw)
		}
	}
	if !got.Get("settings.passwordSet").Bool() || !got.Get("settings.encryption.passphraseSet").Bool() || !got.Get("settings.configured").Bool() {
		t.Fatalf("flags wrong: %s", raw)
	}
	// Saving without the password keeps it.
	call(t, e, "settings.save", `{"settings":{"username":"bob"}}`)
	s, err := e.LoadSettings(context.Background())
	if err != nil || s.Password != "s3cret-pw" || s.Username != "bob" || s.URL != "https://dav.example/x/" {
		t.Fatalf("partial save lost data: %+v %v", s, err)
	}
	// Settings are never in the document the store syncs (its chunks,
	// their list, the undo points: every davsync.local.* value).
	mem := kv.(*local.MemKV)
	for _, k := range mem.Keys() {
		m, _ := kv.Get(context.Background(), k)
		if strings.HasPrefix(k, "davsync.local.") && strings.Contains(string(m[k]), "s3cret") {
			t.Fatalf("password inside the synced document (%s)", k)
		}
	}
}

func TestSessionPassphraseNotPersisted(t *testing.T) {
	e, kv := newTest(t)
	call(t, e, "settings.save", `{"settings":{"encryption":{"enabled":true,"passphrase":"only-session","remember":false}}}`)
	m, _ := kv.Get(context.Background(), keySettings)
	if strings.Contains(string(m[keySettings]), "only-session") {
		t.Fatal("a passphrase the user did not want remembered was persisted")
	}
	s, _ := e.LoadSettings(context.Background())
	if s.Encryption.Passphrase != "only-session" {
		t.Fatal("session passphrase not available in this session")
	}
}

func TestSettingsValidation(t *testing.T) {
	e, _ := newTest(t)
	for _, tc := range []struct{ name, params string }{
		{"ftp url", `{"settings":{"url":"ftp://x/"}}`},
		{"user in url", `{"settings":{"url":"https://a:b@x/"}}`},
		{"strategy", `{"settings":{"strategy":"yolo"}}`},
		{"interval", `{"settings":{"intervalMinutes":-1}}`},
		{"encryption without passphrase", `{"settings":{"encryption":{"enabled":true}}}`},
		{"not an object", `[1]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := callErr(t, e, "settings.save", tc.params); !errors.Is(err, errkind.Invalid) {
				t.Fatalf("kind = %s (%v)", errkind.Of(err), err)
			}
		})
	}
	if err := callErr(t, e, "no.such", `{}`); !errors.Is(err, errkind.Invalid) {
		t.Fatalf("unknown method: %v", err)
	}
}

func TestAccountsPutListDelete(t *testing.T) {
	e, _ := newTest(t)
	a := call(t, e, "accounts.put", `{"account":{"site_name":"One","site_url":"https://one.example","username":"u1","tags":["work"]}}`)
	id := a.Get("account.id").String()
	if len(id) != 36 || a.Get("account.updated_at").Int() == 0 || a.Get("account.created_at").Int() == 0 {
		t.Fatalf("put did not fill id/timestamps: %s", a.Raw)
	}
	if a.Get("account._field_times").Exists() {
		t.Fatal("bookkeeping leaked to the page")
	}
	created := a.Get("account.created_at").Int()
	// Edit one field; a stale created_at from the page is ignored.
	b := call(t, e, "accounts.put", map[string]any{"account": map[string]any{"id": id, "site_name": "One!", "site_url": "https://one.example", "username": "u1", "tags": []string{"work"}, "created_at": 5}})
	if b.Get("account.created_at").Int() != created || b.Get("account.site_name").String() != "One!" {
		t.Fatalf("edit: %s", b.Raw)
	}
	call(t, e, "accounts.put", `{"account":{"site_name":"Two"}}`)
	l := call(t, e, "accounts.list", nil)
	if n := len(l.Get("accounts").Array()); n != 2 {
		t.Fatalf("list has %d accounts: %s", n, l.Raw)
	}
	call(t, e, "accounts.delete", map[string]string{"id": id})
	l = call(t, e, "accounts.list", nil)
	if n := len(l.Get("accounts").Array()); n != 1 || l.Get("accounts.0.site_name").String() != "Two" {
		t.Fatalf("after delete: %s", l.Raw)
	}
	// A tombstone keeps the deletion for the other devices.
	st, _ := e.Store(context.Background())
	doc, _, _ := st.Load(context.Background())
	if _, ok := doc.Collections["accounts"].Tombstone(id); !ok {
		t.Fatal("no tombstone after delete")
	}
	if err := callErr(t, e, "accounts.put", `{"account":{"site_name":5}}`); !errors.Is(err, errkind.Invalid) {
		t.Fatalf("bad account: %v", err)
	}
}

func TestPreferences(t *testing.T) {
	e, _ := newTest(t)
	if v := call(t, e, "preferences.get", nil); v.Get("values").Raw != "{}" {
		t.Fatalf("fresh preferences: %s", v.Raw)
	}
	call(t, e, "preferences.save", `{"values":{"theme":"dark","language":"zh_CN"}}`)
	v := call(t, e, "preferences.get", nil)
	if v.Get("values.theme").String() != "dark" || v.Get("updatedAt").Int() == 0 {
		t.Fatalf("preferences: %s", v.Raw)
	}
	at := v.Get("updatedAt").Int()
	call(t, e, "preferences.save", `{"values":{"theme":"dark","language":"zh_CN"}}`)
	if call(t, e, "preferences.get", nil).Get("updatedAt").Int() != at {
		t.Fatal("saving the same preferences moved their timestamp (needless upload)")
	}
}

func TestExportImportUndo(t *testing.T) {
	e, _ := newTest(t)
	call(t, e, "accounts.put", `{"account":{"site_name":"Keep","site_url":"https://keep.example","username":"k"}}`)
	exp := call(t, e, "data.export", `{"scope":"all"}`)
	if !strings.HasSuffix(exp.Get("filename").String(), ".json") || !strings.Contains(exp.Get("json").String(), "Keep") {
		t.Fatalf("export: %s", exp.Raw)
	}
	other, _ := newTest(t)
	call(t, other, "accounts.put", `{"account":{"site_name":"Mine","site_url":"https://mine.example","username":"m"}}`)
	pv := call(t, other, "data.import", map[string]any{"json": exp.Get("json").String(), "mode": "merge", "dryRun": true})
	if !pv.Get("preview").Exists() {
		t.Fatalf("no preview: %s", pv.Raw)
	}
	if n := len(call(t, other, "accounts.list", nil).Get("accounts").Array()); n != 1 {
		t.Fatal("a dry run changed the data")
	}
	call(t, other, "data.import", map[string]any{"json": exp.Get("json").String(), "mode": "merge"})
	if n := len(call(t, other, "accounts.list", nil).Get("accounts").Array()); n != 2 {
		t.Fatalf("after import %d accounts", n)
	}
	pts := call(t, other, "undo.list", nil).Get("points").Array()
	if len(pts) == 0 || pts[0].Get("label").String() != "import" {
		t.Fatalf("undo points: %v", pts)
	}
	call(t, other, "undo.restore", map[string]any{"id": pts[0].Get("id").Int()})
	if n := len(call(t, other, "accounts.list", nil).Get("accounts").Array()); n != 1 {
		t.Fatalf("after undo %d accounts", n)
	}
	if err := callErr(t, other, "data.import", `{"json":"not json","dryRun":true}`); !errors.Is(err, errkind.BadDocument) {
		t.Fatalf("bad import: %v", err)
	}
}

func TestStatusBeforeConfigured(t *testing.T) {
	var got []app.Status
	e, _ := newTest(t, func(c *app.Config) { c.OnStatus = func(st app.Status) { got = append(got, st) } })
	s := call(t, e, "sync.status", nil)
	if s.Get("status.configured").Bool() || s.Get("status.state").String() == "" {
		t.Fatalf("status: %s", s.Raw)
	}
	err := callErr(t, e, "sync.now", `{}`)
	if !errors.Is(err, errkind.NotConfigured) {
		t.Fatalf("sync.now unconfigured: %v", err)
	}
	call(t, e, "settings.save", `{"settings":{"url":"https://dav.example/x/"}}`)
	if len(got) == 0 || !got[len(got)-1].Configured {
		t.Fatal("no status broadcast after the settings changed")
	}
	for _, m := range Names() {
		if _, ok := byName[m]; !ok {
			t.Fatal(m)
		}
	}
}

// Edits racing each other and an import all land: each goes through the
// store's serialised Update or a CommitIf that re-plans on a moved revision.
func TestConcurrentEditsAndImportLoseNothing(t *testing.T) {
	src, _ := newTest(t)
	for i := 0; i < 50; i++ {
		call(t, src, "accounts.put", map[string]any{"account": map[string]any{"site_name": "imported " + strconv.Itoa(i)}})
	}
	exp := call(t, src, "data.export", `{"scope":"all"}`).Get("json").String()
	e, _ := newTest(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			b, _ := json.Marshal(map[string]any{"account": map[string]any{"site_name": "edit " + strconv.Itoa(i)}})
			if _, err := e.Handle(context.Background(), "accounts.put", b); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		b, _ := json.Marshal(map[string]any{"json": exp, "mode": "add"})
		if _, err := e.Handle(context.Background(), "data.import", b); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(call(t, e, "accounts.list", nil).Get("accounts").Array()); n != 70 {
		t.Fatalf("%d accounts, want 70", n)
	}
}
