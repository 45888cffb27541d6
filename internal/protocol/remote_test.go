//go:build !js

package protocol

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/httptransport"
	"github.com/davsync/davsync/scripts/servers/xnetdav/davhandler"
)

func davServer(t *testing.T) (string, string) {
	t.Helper()
	root := t.TempDir()
	h, err := davhandler.New(davhandler.Config{Root: root, Prefix: "/dav/", User: "ann", Pass: "pw-good", Preconditions: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/dav/", root
}

func remoteEngine(t *testing.T) *Engine {
	e, _ := newTest(t, func(c *app.Config) {
		c.Transport = httptransport.New()
		c.Wall = func() int64 { return time.Now().UnixMilli() }
		c.WebDAVOptions = []webdav.Option{webdav.WithRetry(1, time.Millisecond, time.Millisecond)}
		c.KeyOptions = envelope.KeyOptions{Iterations: envelope.MinIterations}
	})
	return e
}

func configure(t *testing.T, e *Engine, url, pass string) {
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": url, "username": "ann", "password": pass, "compress": false}})
}

func TestWebDAVTestGoodAndBadPassword(t *testing.T) {
	url, _ := davServer(t)
	e := remoteEngine(t)
	configure(t, e, url, "pw-good")
	chk := call(t, e, "webdav.test", nil)
	if !chk.Get("check.ok").Bool() {
		t.Fatalf("check: %s", chk.Raw)
	}
	// The form's password is tested without saving it.
	_, err := e.Handle(context.Background(), "webdav.test", []byte(`{"settings":{"password":"wrong"}}`))
	if !errors.Is(err, errkind.Auth) {
		t.Fatalf("bad password: kind %s (%v)", errkind.Of(err), err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatal("the password appears in the error")
	}
}

func TestTwoDevicesConverge(t *testing.T) {
	url, root := davServer(t)
	a, b := remoteEngine(t), remoteEngine(t)
	configure(t, a, url, "pw-good")
	configure(t, b, url, "pw-good")
	x := call(t, a, "accounts.put", `{"account":{"site_name":"X","username":"x"}}`).Get("account.id").String()
	call(t, a, "accounts.put", `{"account":{"site_name":"Y","username":"y"}}`)
	call(t, a, "sync.now", nil)
	files, _ := filepath.Glob(filepath.Join(root, "davsync", "davsync.json*"))
	if len(files) != 1 {
		t.Fatalf("server files: %v", files)
	}
	body, _ := os.ReadFile(files[0])
	if !strings.Contains(string(body), `"X"`) || strings.Contains(string(body), "pw-good") {
		t.Fatalf("server file: %s", body)
	}
	call(t, b, "sync.now", nil)
	if n := len(call(t, b, "accounts.list", nil).Get("accounts").Array()); n != 2 {
		t.Fatalf("b has %d accounts", n)
	}
	// b deletes X, a edits Y; both converge.
	call(t, b, "accounts.delete", map[string]string{"id": x})
	ys := call(t, a, "accounts.list", nil).Get("accounts").Array()
	for _, r := range ys {
		if r.Get("site_name").String() == "Y" {
			call(t, a, "accounts.put", `{"account":`+strings.Replace(r.Raw, `"y"`, `"y2"`, 1)+`}`)
		}
	}
	call(t, b, "sync.now", nil)
	call(t, a, "sync.now", nil)
	call(t, b, "sync.now", nil)
	la := call(t, a, "accounts.list", nil).Get("accounts").Raw
	lb := call(t, b, "accounts.list", nil).Get("accounts").Raw
	if la != lb || strings.Contains(la, `"X"`) || !strings.Contains(la, `"y2"`) {
		t.Fatalf("not converged:\na=%s\nb=%s", la, lb)
	}
	st := call(t, a, "sync.status", nil)
	if st.Get("status.lastSync").Int() == 0 || st.Get("status.error").Type != 0 && st.Get("status.error").Raw != "null" {
		t.Fatalf("status: %s", st.Raw)
	}
	snaps := call(t, a, "snapshots.list", nil)
	if !snaps.Get("snapshots").IsArray() {
		t.Fatalf("snapshots: %s", snaps.Raw)
	}
}

// countingKDF counts key derivations, the slow step a cached key saves.
type countingKDF struct{ n int }

func (k *countingKDF) PBKDF2SHA256(pass, salt []byte, iter, keyLen int) ([]byte, error) {
	k.n++
	return envelope.GoKDF.PBKDF2SHA256(pass, salt, iter, keyLen)
}

// A worker restart keeps the derived key for the browser session (the
// session store), so the next encrypted cycle derives nothing, and the key
// never lands in the persistent store.
func TestEncryptionKeyCachedForSession(t *testing.T) {
	url, _ := davServer(t)
	kdf := &countingKDF{}
	session := local.NewMemKV()
	kv := local.NewMemKV()
	opts := func(c *app.Config) {
		c.KV, c.SessionKV, c.KDF = kv, session, kdf
		c.Transport = httptransport.New()
		c.Wall = func() int64 { return time.Now().UnixMilli() }
		c.WebDAVOptions = []webdav.Option{webdav.WithRetry(1, time.Millisecond, time.Millisecond)}
		c.KeyOptions = envelope.KeyOptions{Iterations: envelope.MinIterations}
	}
	a, _ := newTest(t, opts)
	call(t, a, "settings.save", map[string]any{"settings": map[string]any{"url": url, "username": "ann", "password": "pw-good",
		"encryption": map[string]any{"enabled": true, "passphrase": "horse battery", "remember": false}}})
	call(t, a, "accounts.put", `{"account":{"site_name":"X","username":"x"}}`)
	call(t, a, "sync.now", nil)
	if kdf.n == 0 {
		t.Fatal("the first encrypted cycle derived no key")
	}
	m, _ := session.Get(context.Background(), keySessionKey)
	if len(m[keySessionKey]) == 0 {
		t.Fatal("derived key not cached in the session store")
	}
	persisted, _ := kv.Get(context.Background(), keySessionKey)
	if len(persisted) != 0 {
		t.Fatal("derived key written to the persistent store")
	}

	// The worker restarts: a new engine over the same stores.
	before := kdf.n
	b, _ := newTest(t, opts)
	call(t, b, "accounts.put", `{"account":{"site_name":"Y","username":"y"}}`)
	call(t, b, "sync.now", nil)
	if kdf.n != before {
		t.Fatalf("a restarted worker derived the key again (%d derivations)", kdf.n-before)
	}
}

// TestAuthFailurePausesAutomaticSync: a rejected password pauses automatic
// sync (the status says so only when automatic sync is on), and new
// settings lift the pause.
func TestAuthFailurePausesAutomaticSync(t *testing.T) {
	url, _ := davServer(t)
	e := remoteEngine(t)
	configure(t, e, url, "pw-bad")
	if err := callErr(t, e, "sync.now", `{}`); !errors.Is(err, errkind.Auth) {
		t.Fatalf("sync with a bad password: %v", err)
	}
	if st := call(t, e, "sync.status", nil); st.Get("status.paused").Bool() || st.Get("status.error.kind").String() != "auth" {
		t.Fatalf("automatic sync off: paused must be false, the error auth: %s", st.Raw)
	}
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{"autoSync": true}})
	if err := callErr(t, e, "sync.now", `{}`); !errors.Is(err, errkind.Auth) {
		t.Fatalf("sync with a bad password: %v", err)
	}
	if st := call(t, e, "sync.status", nil); !st.Get("status.paused").Bool() || st.Get("status.nextRun").Int() != 0 {
		t.Fatalf("automatic sync on: want paused with no next run: %s", st.Raw)
	}
	// A scheduled cycle does not knock on the server again with the same
	// rejected password.
	res := call(t, e, "sync.now", map[string]any{"trigger": "alarm"})
	if !res.Get("result.skipped").Bool() {
		t.Fatalf("alarm cycle while paused: %s", res.Raw)
	}
	configure(t, e, url, "pw-good")
	call(t, e, "sync.now", map[string]any{"trigger": "alarm"})
	if st := call(t, e, "sync.status", nil); st.Get("status.paused").Bool() || st.Get("status.error").Exists() && st.Get("status.error").Raw != "null" || st.Get("status.nextRun").Int() == 0 {
		t.Fatalf("after new settings: want not paused, no error, a next run: %s", st.Raw)
	}
}

// TestSyncConfirmAnswersOnlyTheQuestionAsked: confirming the encryption
// question must not also answer the mass-change guard (that question was
// never asked), and neither writes plaintext over the encrypted server file
// until both are confirmed. The encryption question comes first: nothing of
// a file in the other form is merged before it is answered.
func TestSyncConfirmAnswersOnlyTheQuestionAsked(t *testing.T) {
	url, root := davServer(t)
	a, b := remoteEngine(t), remoteEngine(t)
	for _, e := range []*Engine{a, b} {
		call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": url, "username": "ann", "password": "pw-good",
			"encryption": map[string]any{"enabled": true, "passphrase": "correct horse", "remember": true}}})
	}
	var ids []string
	for range 12 {
		ids = append(ids, call(t, a, "accounts.put", `{"account":{"site_name":"secret-site","username":"x"}}`).Get("account.id").String())
	}
	call(t, a, "sync.now", nil)
	call(t, b, "sync.now", nil)
	// On b the encryption switch goes off (the passphrase stays), and b
	// deletes 7 of the 12 accounts.
	call(t, b, "settings.save", map[string]any{"settings": map[string]any{"encryption": map[string]any{"enabled": false, "passphrase": "correct horse", "remember": true}}})
	for _, id := range ids[:7] {
		call(t, b, "accounts.delete", map[string]any{"id": id})
	}
	call(t, a, "accounts.put", `{"account":{"site_name":"secret-site","username":"y"}}`)
	call(t, a, "sync.now", nil)
	encrypted := func() bool {
		body, err := os.ReadFile(filepath.Join(root, "davsync", "davsync.json"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(body), "davsync-encrypted")
	}
	reason := func() string { return call(t, b, "sync.status", nil).Get("status.preview.reason").String() }
	if _, err := b.Handle(context.Background(), "sync.now", nil); !errors.Is(err, errkind.NeedsConfirmation) || reason() != "encryption_change" {
		t.Fatalf("b not asked about the encryption change: %v (%s)", err, reason())
	}
	if _, err := b.Handle(context.Background(), "sync.confirm", nil); !errors.Is(err, errkind.NeedsConfirmation) || reason() != "mass_change" {
		t.Fatalf("after confirming the encryption change: %v (%s), want the mass-change question", err, reason())
	}
	if !encrypted() {
		t.Fatal("confirming the encryption change alone stored the accounts in plaintext on the server")
	}
	call(t, b, "sync.confirm", nil)
	if encrypted() {
		t.Fatal("confirming the encryption change left the server file encrypted")
	}
}
