//go:build !js

package protocol

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// Tests of a server (or someone who can write to it) that does not know the
// encryption passphrase and swaps the sync file: nothing of a file in the
// other encryption form may reach local data before the user confirmed it,
// and the question names what would arrive.

const foreignDoc = `{"format":"davsync","version":1,"exported_at":1,"collections":{"accounts":{"records":[` +
	`{"id":"foreign-1","site_name":"Foreign Relay","username":"mallory","updated_at":1700000000000}]}},` +
	`"preferences":{"updated_at":0,"values":{}}}`

// encrypted sets an engine up for url with encryption on.
func encryptedEngine(t *testing.T, url string) *Engine {
	e := remoteEngine(t)
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": url, "username": "ann", "password": "pw-good",
		"encryption": map[string]any{"enabled": true, "passphrase": "correct horse", "remember": true}}})
	return e
}

// swap replaces the sync file on the server with body, as an attacker with
// write access to the folder would.
func swap(t *testing.T, root, body string) {
	t.Helper()
	dir := filepath.Join(root, "davsync")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "davsync.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func serverBody(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "davsync", "davsync.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// held checks err is the encryption question naming the foreign account and
// returns its subject (what a confirmation must name).
func held(t *testing.T, err error) string {
	t.Helper()
	if !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("want the encryption question, got %v", err)
	}
	var p struct {
		Reason  string `json:"reason"`
		Subject string `json:"subject"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(errkind.DetailOf(err), &p); err != nil {
		t.Fatalf("the question carries no preview: %v", err)
	}
	if p.Reason != "encryption_change" || p.Subject == "" {
		t.Fatalf("preview %+v", p)
	}
	for _, want := range []string{"not encrypted", "taking it would add 1 and", "Foreign Relay"} {
		if !strings.Contains(p.Message, want) {
			t.Fatalf("the question does not say %q: %s", want, p.Message)
		}
	}
	return p.Subject
}

func names(t *testing.T, e *Engine) string {
	t.Helper()
	var out []string
	for _, a := range call(t, e, "accounts.list", nil).Get("accounts").Array() {
		out = append(out, a.Get("site_name").String())
	}
	return strings.Join(out, ",")
}

func TestPlaintextSwapOnNewDevice(t *testing.T) {
	url, root := davServer(t)
	e := encryptedEngine(t, url)
	swap(t, root, foreignDoc)
	_, err := e.Handle(context.Background(), "sync.now", nil)
	held(t, err)
	if got := names(t, e); got != "" {
		t.Fatalf("the plaintext file reached local data before any confirmation: %s", got)
	}
	if serverBody(t, root) != foreignDoc {
		t.Fatal("the server file changed before the confirmation")
	}
	// The user confirms (encryption was turned off on purpose elsewhere):
	// the data arrives and the file is stored encrypted from then on.
	call(t, e, "sync.confirm", nil)
	if got := names(t, e); got != "Foreign Relay" {
		t.Fatalf("after confirming: %q", got)
	}
	if !strings.Contains(serverBody(t, root), "davsync-encrypted") {
		t.Fatal("after confirming, the server file is still plaintext")
	}
}

func TestPlaintextSwapOnSyncedDevice(t *testing.T) {
	url, root := davServer(t)
	e := encryptedEngine(t, url)
	call(t, e, "accounts.put", `{"account":{"site_name":"Mine","username":"me"}}`)
	call(t, e, "sync.now", nil)
	// The swapped file holds this device's account too (an attacker who
	// read an old plaintext copy), and one more.
	mine := call(t, e, "accounts.list", nil).Get("accounts.0").Raw
	doc := strings.Replace(foreignDoc, `"records":[`, `"records":[`+mine+`,`, 1)
	swap(t, root, doc)
	for _, method := range []string{"sync.now", "sync.now"} {
		_, err := e.Handle(context.Background(), method, nil)
		held(t, err)
	}
	if got := names(t, e); got != "Mine" {
		t.Fatalf("local data changed without confirmation: %s", got)
	}
}

func TestPlaintextSwapDownloadOnly(t *testing.T) {
	url, root := davServer(t)
	e := encryptedEngine(t, url)
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{"strategy": "download_only"}})
	swap(t, root, foreignDoc)
	_, err := e.Handle(context.Background(), "sync.now", nil)
	held(t, err)
	if got := names(t, e); got != "" {
		t.Fatalf("download_only took the plaintext file: %s", got)
	}
}

func TestPlaintextSwapDownloadReplace(t *testing.T) {
	url, root := davServer(t)
	e := encryptedEngine(t, url)
	call(t, e, "accounts.put", `{"account":{"site_name":"Mine","username":"me"}}`)
	call(t, e, "sync.now", nil)
	swap(t, root, foreignDoc)
	_, err := e.Handle(context.Background(), "backup.download", []byte(`{"mode":"replace"}`))
	subject := held(t, err)
	if got := names(t, e); got != "Mine" {
		t.Fatalf("download replace took the plaintext file without confirmation: %s", got)
	}
	// A confirmation for another file answers nothing.
	if _, err := e.Handle(context.Background(), "backup.download", []byte(`{"mode":"replace","acceptEncryption":"other"}`)); !errors.Is(err, errkind.NeedsConfirmation) {
		t.Fatalf("a confirmation of another file was taken: %v", err)
	}
	call(t, e, "backup.download", map[string]any{"mode": "replace", "acceptEncryption": subject})
	if got := names(t, e); got != "Foreign Relay" {
		t.Fatalf("after the confirmed download: %q", got)
	}
}

func TestPlaintextSnapshotRestore(t *testing.T) {
	url, root := davServer(t)
	e := encryptedEngine(t, url)
	call(t, e, "accounts.put", `{"account":{"site_name":"Mine","username":"me"}}`)
	call(t, e, "sync.now", nil)
	dir := filepath.Join(root, "davsync", "snapshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := "20261201T000000.000Z-deadbeef--davsync.json"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(foreignDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := e.Handle(context.Background(), "snapshots.restore", []byte(`{"name":"`+name+`","mode":"replace"}`))
	subject := held(t, err)
	if got := names(t, e); got != "Mine" {
		t.Fatalf("a plaintext snapshot was restored without confirmation: %s", got)
	}
	call(t, e, "snapshots.restore", map[string]any{"name": name, "mode": "replace", "acceptEncryption": subject})
	if got := names(t, e); got != "Foreign Relay" {
		t.Fatalf("after the confirmed restore: %q", got)
	}
}

// recorder is a transport that reaches the loopback test server under
// another host name (so the URL is http:// to "another machine") and keeps
// every request it sends.
type recorder struct {
	mu   sync.Mutex
	host string // the host name the URL uses
	to   string // the loopback host:port it reaches
	reqs []webdav.Request
	next webdav.Transport
	// status, when set, answers instead of the server (a man in the middle).
	answer func(*webdav.Request) *webdav.Response
}

func (r *recorder) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, *req)
	answer := r.answer
	r.mu.Unlock()
	if answer != nil {
		if resp := answer(req); resp != nil {
			return resp, nil
		}
	}
	c := *req
	c.URL = strings.Replace(req.URL, r.host, r.to, 1)
	return r.next.RoundTrip(ctx, &c)
}

// authorizations returns the Authorization header of every request, in order.
func (r *recorder) authorizations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.reqs {
		a := ""
		for k, v := range q.Header {
			if strings.EqualFold(k, "authorization") {
				a = v
			}
		}
		out = append(out, a)
	}
	return out
}

func recordingEngine(t *testing.T, url string) (*Engine, *recorder, string) {
	t.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{host: "nas.example.test:" + u.Port(), to: u.Host, next: httptransport.New()}
	e, _ := newTest(t, func(c *app.Config) {
		c.Transport = rec
		c.Wall = func() int64 { return time.Now().UnixMilli() }
		c.WebDAVOptions = []webdav.Option{webdav.WithRetry(1, time.Millisecond, time.Millisecond)}
		c.KeyOptions = envelope.KeyOptions{Iterations: envelope.MinIterations}
	})
	return e, rec, strings.Replace(url, u.Host, rec.host, 1)
}

// http:// to another machine needs the user's explicit choice for that
// origin; the choice does not carry over to another server.
func TestInsecureHTTPNeedsExplicitChoice(t *testing.T) {
	e, _ := newTest(t)
	err := callErr(t, e, "settings.save", `{"settings":{"url":"http://nas.example.test/dav/","username":"ann","password":"pw"}}`)
	if !errors.Is(err, errkind.InsecureTransport) || !strings.Contains(err.Error(), "unencrypted") {
		t.Fatalf("want insecure_transport naming the risk, got %v", err)
	}
	if call(t, e, "settings.get", nil).Get("settings.configured").Bool() {
		t.Fatal("a refused save stored the URL")
	}
	// The test runs under the same rules as the save.
	if err := callErr(t, e, "webdav.test", `{"settings":{"url":"http://nas.example.test/dav/","username":"ann","password":"pw"}}`); !errors.Is(err, errkind.InsecureTransport) {
		t.Fatalf("webdav.test: want insecure_transport, got %v", err)
	}
	s := call(t, e, "settings.save", `{"settings":{"url":"http://nas.example.test/dav/","username":"ann","password":"pw","allowInsecure":true}}`)
	if !s.Get("settings.allowInsecure").Bool() || !s.Get("settings.insecure").Bool() {
		t.Fatalf("allowed: %s", s.Raw)
	}
	err = callErr(t, e, "settings.save", `{"settings":{"url":"http://other.example.test/dav/","password":"pw"}}`)
	if !errors.Is(err, errkind.InsecureTransport) {
		t.Fatalf("the allowance carried over to another server: %v", err)
	}
	// Loopback and https need no choice.
	call(t, e, "settings.save", `{"settings":{"url":"http://127.0.0.1:8080/dav/"}}`)
	call(t, e, "settings.save", `{"settings":{"url":"https://nas.example.test/dav/"}}`)
}

// Settings stored before the rule (an http:// URL to another machine) do not
// sync until the user chose.
func TestInsecureStoredSettingsDoNotSync(t *testing.T) {
	e, kv := newTest(t)
	_ = kv.Set(context.Background(), map[string][]byte{keySettings: []byte(`{"url":"http://nas.example.test/dav/","username":"ann","password":"pw","strategy":"merge","intervalMinutes":60}`)})
	_, err := e.Handle(context.Background(), "sync.now", nil)
	if !errors.Is(err, errkind.InsecureTransport) {
		t.Fatalf("want insecure_transport, got %v", err)
	}
}

// Over an allowed http:// connection to another machine the password goes
// only to requests the server challenged, never up front, cycle after cycle.
func TestNoBasicUpFrontOverAllowedHTTP(t *testing.T) {
	url, _ := davServer(t)
	e, rec, remote := recordingEngine(t, url)
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": remote, "username": "ann", "password": "pw-good", "allowInsecure": true}})
	chk := call(t, e, "webdav.test", nil)
	if !chk.Get("check.insecureTransport").Bool() {
		t.Fatalf("the server check does not report insecure_transport: %s", chk.Raw)
	}
	call(t, e, "accounts.put", `{"account":{"site_name":"X","username":"x"}}`)
	for range 3 {
		call(t, e, "sync.now", nil)
	}
	auths := rec.authorizations()
	for i, a := range auths {
		if strings.HasPrefix(a, "Basic ") && (i == 0 || auths[i-1] != "") {
			for j := max(0, i-3); j <= i; j++ {
				t.Logf("%d %s %s %q", j, rec.reqs[j].Method, rec.reqs[j].URL, auths[j])
			}
			t.Fatalf("request %d sent the password without a challenge", i)
		}
	}
}

// The stored password is bound to its server: moving the URL to another
// origin drops it unless it is typed again, and Test connection never sends
// it there.
func TestPasswordDoesNotFollowURL(t *testing.T) {
	url, _ := davServer(t)
	e, rec, other := recordingEngine(t, url)
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": url, "username": "ann", "password": "pw-good"}})
	otherHTTPS := strings.Replace(other, "http://", "https://", 1)
	err := callErr(t, e, "webdav.test", `{"settings":{"url":"`+otherHTTPS+`"}}`)
	if !errors.Is(err, errkind.Auth) || !strings.Contains(err.Error(), "never sent to another server") {
		t.Fatalf("webdav.test with a new origin: %v", err)
	}
	for _, a := range rec.authorizations() {
		if a != "" {
			t.Fatal("Test connection sent credentials to another server")
		}
	}
	s := call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": otherHTTPS}})
	if !s.Get("passwordCleared").Bool() || s.Get("settings.passwordSet").Bool() {
		t.Fatalf("the password followed the URL: %s", s.Raw)
	}
	// Same origin, another folder: the password stays.
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": url, "password": "pw-good"}})
	s = call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": url + "sub/"}})
	if s.Get("passwordCleared").Bool() || !s.Get("settings.passwordSet").Bool() {
		t.Fatalf("the password was dropped for a folder on the same server: %s", s.Raw)
	}
}

// digestServer serves the test WebDAV folder behind Digest login (MD5,
// qop=auth), the way Apache's mod_auth_digest does.
func digestServer(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	h, err := davhandler.New(davhandler.Config{Root: root, Prefix: "/dav/", User: "ann", Pass: "pw-good", Preconditions: true})
	if err != nil {
		t.Fatal(err)
	}
	const realm, nonce = "dav", "n0nce"
	hash := func(parts ...string) string {
		sum := md5.Sum([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(sum[:])
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chs := webdav.ParseWWWAuthenticate(r.Header.Get("Authorization"))
		if len(chs) == 1 && chs[0].Scheme == "digest" {
			p := chs[0].Params
			want := hash(hash("ann", realm, "pw-good"), p["nonce"], p["nc"], p["cnonce"], "auth", hash(r.Method, p["uri"]))
			if p["username"] == "ann" && p["nonce"] == nonce && p["response"] == want {
				r.SetBasicAuth("ann", "pw-good")
				h.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Digest realm="`+realm+`", qop="auth", nonce="`+nonce+`", algorithm=MD5`)
		w.WriteHeader(401)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/dav/"
}

// A Basic-only challenge after Digest worked is refused as a downgrade,
// also by a worker started later: the password is not sent, and the error
// says why. Test connection is how the user accepts a real change.
func TestDigestDowngradeRefusedAcrossRestarts(t *testing.T) {
	url := digestServer(t)
	kv, session := local.NewMemKV(), local.NewMemKV()
	rec := &recorder{next: httptransport.New()}
	opts := func(c *app.Config) {
		c.KV, c.SessionKV, c.Transport = kv, session, rec
		c.Wall = func() int64 { return time.Now().UnixMilli() }
		c.WebDAVOptions = []webdav.Option{webdav.WithRetry(1, time.Millisecond, time.Millisecond)}
	}
	a, _ := newTest(t, opts)
	call(t, a, "settings.save", map[string]any{"settings": map[string]any{"url": url, "username": "ann", "password": "pw-good"}})
	call(t, a, "accounts.put", `{"account":{"site_name":"X","username":"x"}}`)
	call(t, a, "sync.now", nil)

	// A man in the middle now asks for Basic, and the worker restarted.
	rec.mu.Lock()
	rec.answer = func(*webdav.Request) *webdav.Response {
		return &webdav.Response{Status: 401, Header: map[string]string{"www-authenticate": `Basic realm="dav"`}}
	}
	n := len(rec.reqs)
	rec.mu.Unlock()
	b, _ := newTest(t, opts)
	call(t, b, "accounts.put", `{"account":{"site_name":"Y","username":"y"}}`)
	_, err := b.Handle(context.Background(), "sync.now", nil)
	if !errors.Is(err, errkind.Auth) || !strings.Contains(err.Error(), "Digest") {
		t.Fatalf("want an auth error naming the downgrade, got %v", err)
	}
	for _, a := range rec.authorizations()[n:] {
		if strings.HasPrefix(a, "Basic ") {
			t.Fatal("the password was sent with Basic after Digest had worked")
		}
	}
}

// fakeKDF counts derivations and returns a made-up key for expensive ones,
// so a test can ask for the most iterations a file may carry without
// spending seconds on them.
type fakeKDF struct {
	mu sync.Mutex
	n  int
}

func (k *fakeKDF) PBKDF2SHA256(pass, salt []byte, iter, keyLen int) ([]byte, error) {
	k.mu.Lock()
	k.n++
	k.mu.Unlock()
	if iter > envelope.MinIterations {
		return make([]byte, keyLen), nil
	}
	return envelope.GoKDF.PBKDF2SHA256(pass, salt, iter, keyLen)
}

func (k *fakeKDF) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}

// device is one browser profile: persistent and session stores that
// outlive its engine (a worker restart) or not (a browser restart).
type device struct {
	t       *testing.T
	url     string
	kv      local.KV
	session local.KV
	kdf     *fakeKDF
}

func newDevice(t *testing.T, url string) *device {
	return &device{t: t, url: url, kv: local.NewMemKV(), session: local.NewMemKV(), kdf: &fakeKDF{}}
}

func (d *device) engine() *Engine {
	e, _ := newTest(d.t, func(c *app.Config) {
		c.KV, c.SessionKV, c.KDF = d.kv, d.session, d.kdf
		c.Transport = httptransport.New()
		c.Wall = func() int64 { return time.Now().UnixMilli() }
		c.WebDAVOptions = []webdav.Option{webdav.WithRetry(1, time.Millisecond, time.Millisecond)}
		c.KeyOptions = envelope.KeyOptions{Iterations: envelope.MinIterations}
	})
	return e
}

// restartBrowser empties the session store, as closing the browser does.
func (d *device) restartBrowser() { d.session = local.NewMemKV() }

func (d *device) diskHolds(s string) bool {
	mem := d.kv.(*local.MemKV)
	m, _ := mem.Get(context.Background(), mem.Keys()...)
	for _, v := range m {
		if strings.Contains(string(v), s) {
			return true
		}
	}
	return false
}

// "Remember on this device" keeps the derived key, never the passphrase;
// the key is labelled with a hash only this device can compute; a browser
// restart syncs on without the passphrase and without deriving; a file
// re-keyed on another device asks for the passphrase.
func TestRememberedEncryptionKeepsKeyNotPassphrase(t *testing.T) {
	url, _ := davServer(t)
	a, b := newDevice(t, url), newDevice(t, url)
	for _, d := range []*device{a, b} {
		call(t, d.engine(), "settings.save", map[string]any{"settings": map[string]any{"url": url, "username": "ann", "password": "pw-good",
			"encryption": map[string]any{"enabled": true, "passphrase": "correct horse", "remember": true}}})
	}
	ea := a.engine()
	call(t, ea, "accounts.put", `{"account":{"site_name":"X","username":"x"}}`)
	call(t, ea, "sync.now", nil)
	call(t, b.engine(), "sync.now", nil)
	if a.diskHolds("correct horse") {
		t.Fatal("the passphrase was written to the persistent store")
	}
	label := func(d *device) string {
		m, _ := d.kv.Get(context.Background(), keyRememberedKey)
		var blob struct{ Label string }
		if err := json.Unmarshal(m[keyRememberedKey], &blob); err != nil || blob.Label == "" {
			t.Fatalf("no remembered key: %q", m[keyRememberedKey])
		}
		return blob.Label
	}
	plain := sha256.Sum256([]byte("davsync-passphrase\x00correct horse"))
	if la, lb := label(a), label(b); la == lb || strings.HasPrefix(hex.EncodeToString(plain[:]), la) {
		t.Fatalf("the key label is not keyed per device: %s %s", la, lb)
	}

	a.restartBrowser()
	before := a.kdf.count()
	ea = a.engine()
	if !call(t, ea, "settings.get", nil).Get("settings.encryption.passphraseSet").Bool() {
		t.Fatal("after a restart the remembered key does not count as a passphrase")
	}
	call(t, ea, "accounts.put", `{"account":{"site_name":"Y","username":"y"}}`)
	call(t, ea, "sync.now", nil)
	if a.kdf.count() != before {
		t.Fatal("a restarted browser derived the key again")
	}

	// b changes the passphrase and uploads: the file gets a new salt. a,
	// restarted again, cannot open it with its remembered key and asks.
	eb := b.engine()
	call(t, eb, "settings.save", map[string]any{"settings": map[string]any{"encryption": map[string]any{"enabled": true, "passphrase": "new horse", "remember": true}}})
	call(t, eb, "accounts.put", `{"account":{"site_name":"Z","username":"z"}}`)
	call(t, eb, "backup.upload", nil)
	a.restartBrowser()
	ea = a.engine()
	if _, err := ea.Handle(context.Background(), "sync.now", nil); !errors.Is(err, errkind.PassphraseNeeded) {
		t.Fatalf("a re-keyed file on a device without the passphrase: want passphrase_needed, got %v", err)
	}
	call(t, ea, "settings.save", map[string]any{"settings": map[string]any{"encryption": map[string]any{"enabled": true, "passphrase": "new horse", "remember": true}}})
	call(t, ea, "sync.now", nil)
	if names(t, ea) == "" || a.diskHolds("new horse") {
		t.Fatalf("after the new passphrase: %q", names(t, ea))
	}
}

// A passphrase an older version stored on disk keeps working and leaves the
// disk once a derived key is remembered in its place.
func TestLegacyRememberedPassphraseMigrates(t *testing.T) {
	url, _ := davServer(t)
	d := newDevice(t, url)
	legacy := `{"url":"` + url + `","username":"ann","password":"pw-good","strategy":"merge","intervalMinutes":60,` +
		`"encryption":{"enabled":true,"passphrase":"correct horse","remember":true}}`
	_ = d.kv.Set(context.Background(), map[string][]byte{keySettings: []byte(legacy)})
	e := d.engine()
	call(t, e, "accounts.put", `{"account":{"site_name":"X","username":"x"}}`)
	call(t, e, "sync.now", nil)
	if d.diskHolds("correct horse") {
		t.Fatal("the legacy passphrase is still on disk after a remembered key replaced it")
	}
	d.restartBrowser()
	e = d.engine()
	call(t, e, "accounts.put", `{"account":{"site_name":"Y","username":"y"}}`)
	call(t, e, "sync.now", nil)
}

// forgedEnvelope is an encrypted file whose header asks for iter PBKDF2
// iterations and whose ciphertext no passphrase opens.
func forgedEnvelope(iter int) string {
	b64 := func(n int, c byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{c}, n)) }
	return `{"format":"davsync-encrypted","v":1,"kdf":{"name":"PBKDF2-SHA256","iter":` + strconv.Itoa(iter) +
		`,"salt":"` + b64(16, 7) + `"},"cipher":"AES-256-GCM","nonce":"` + b64(12, 1) + `","ct":"` + b64(48, 2) + `"}`
}

// A server cannot make davsync derive keys at a cost it chooses: a header
// above the cap is refused before deriving, and a header the passphrase
// failed to open is not derived again by automatic cycles.
func TestForgedKDFHeader(t *testing.T) {
	url, root := davServer(t)
	d := newDevice(t, url)
	e := d.engine()
	call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": url, "username": "ann", "password": "pw-good", "autoSync": true,
		"encryption": map[string]any{"enabled": true, "passphrase": "correct horse", "remember": true}}})
	call(t, e, "accounts.put", `{"account":{"site_name":"Mine","username":"me"}}`)
	call(t, e, "sync.now", nil)

	swap(t, root, forgedEnvelope(10_000_000))
	before := d.kdf.count()
	_, err := e.Handle(context.Background(), "sync.now", nil)
	if !errors.Is(err, errkind.BadDocument) || !strings.Contains(err.Error(), "iterations") {
		t.Fatalf("a header asking for 10M iterations: %v", err)
	}
	if d.kdf.count() != before {
		t.Fatal("a key was derived for a header above the cap")
	}

	swap(t, root, forgedEnvelope(2_000_000))
	edit := func() error {
		_, err := e.Handle(context.Background(), "sync.now", []byte(`{"trigger":"edit"}`))
		return err
	}
	if err := edit(); !errors.Is(err, errkind.Decrypt) {
		t.Fatalf("first automatic cycle: %v", err)
	}
	once := d.kdf.count()
	if once != before+1 {
		t.Fatalf("%d derivations for the first try, want 1", once-before)
	}
	for range 3 {
		if err := edit(); !errors.Is(err, errkind.Decrypt) {
			t.Fatalf("later automatic cycle: %v", err)
		}
	}
	if d.kdf.count() != once {
		t.Fatalf("automatic cycles derived again for a header that failed (%d more)", d.kdf.count()-once)
	}
	// The user asks: that tries again.
	if _, err := e.Handle(context.Background(), "sync.now", nil); !errors.Is(err, errkind.Decrypt) {
		t.Fatalf("manual sync: %v", err)
	}
	if d.kdf.count() != once+1 {
		t.Fatal("a sync the user asked for did not try the passphrase again")
	}
	if names(t, e) != "Mine" {
		t.Fatal("local data changed")
	}
}
