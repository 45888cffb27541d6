// Package app is davsync's app layer: the one place that owns the device's
// settings (its remotes), their status, schedule and backoff, the session
// secrets, the conflict log and the run lock. Every operation that changes
// local data goes through it: edits from the pages, imports, undo, and
// sync cycles (package cycle) against each remote. The message protocol
// (package protocol), the command-line tool and the tests all drive it; it
// knows nothing about the browser: the key-value stores, the HTTP transport
// and the key derivation come in through Config.
//
//	a := app.New(app.Config{KV: kv, SessionKV: session, Transport: t, KDF: kdf})
//	st, _ := a.Settings(ctx)
//	r, _, err := a.SaveRemote(ctx, id, json)        // add (id "") or edit a remote
//	res, err := a.Sync(ctx, id, app.SyncOptions{})  // one remote; SyncAll for every enabled one
//	status, _ := a.Status(ctx)
//
// Only one operation runs at a time (a second gets errkind.Busy, or waits
// for the first when a person asked for it). Status is persisted after every
// operation, so a restarted worker shows the last outcome.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/layout"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/webdav"
)

// Config is what the platform provides.
type Config struct {
	// KV is the device's persistent store (chrome.storage.local).
	KV local.KV
	// SessionKV holds secrets that must not outlive the browser session
	// (chrome.storage.session): passphrases and derived keys. nil means an
	// in-memory store.
	SessionKV local.KV
	// Transport carries WebDAV requests (fetch in the browser).
	Transport webdav.Transport
	// KDF derives encryption keys (WebCrypto in the browser); nil means
	// envelope.GoKDF.
	KDF envelope.KDF
	// Wall returns the wall clock in ms; nil means time.Now.
	Wall func() int64
	// OnStatus is called after every change of the status. It must not
	// block.
	OnStatus func(Status)
	// OnPhase, when set, is told each phase an operation's cycle enters
	// (cycle.PhaseReading, ...), and "" when the cycle ends, with the
	// operation's context: the extension times the phases for the browser
	// bench's breakdown.
	OnPhase func(ctx context.Context, phase string)
	// WebDAVOptions are passed to every webdav.New (tests shorten retries).
	WebDAVOptions []webdav.Option
	// KeyOptions tune new encryption keys (tests lower the iterations).
	KeyOptions envelope.KeyOptions
	// Tuning adjusts the cycle's guard, tombstone horizon and snapshot
	// interval (zero: the defaults).
	Tuning Tuning
	// Hooks are passed to every cycle (tests act inside one).
	Hooks cycle.Hooks
	// Secrets, when set, supplies each remote's password and passphrase at
	// run time, and they are never stored: the command-line tool reads them
	// from the environment on every run, so its state directory holds none.
	Secrets func(id string) (password, passphrase string)
}

// Tuning is the cycle's fixed policy, adjustable for tests.
type Tuning struct {
	// GuardPercent and GuardMinRecords: a cycle that would delete more than
	// GuardPercent of at least GuardMinRecords records asks first (default
	// 50% of 10; a negative percent disables the guard).
	GuardPercent, GuardMinRecords int
	// Horizon is how long deletions are remembered (default 180 days).
	Horizon time.Duration
	// SnapshotInterval: at most one snapshot per this long (default 1 h).
	SnapshotInterval time.Duration
}

func (t Tuning) withDefaults() Tuning {
	if t.GuardPercent == 0 {
		t.GuardPercent = 50
	}
	if t.GuardMinRecords == 0 {
		t.GuardMinRecords = 10
	}
	if t.Horizon == 0 {
		t.Horizon = merge.DefaultHorizon
	}
	if t.SnapshotInterval == 0 {
		t.SnapshotInterval = time.Hour
	}
	return t
}

// App is the app layer over one device's stores. It is safe for concurrent
// use.
type App struct {
	cfg Config

	openMu sync.Mutex
	store  *local.Store // nil until first used

	run    sync.Mutex // held by the running operation
	emitMu sync.Mutex // serialises status broadcasts (emitStatus)

	mu sync.Mutex // guards the fields below
	// running: an operation holds run; reschedule: settings changed
	// meanwhile and its end (or a cycle's finish) applies them.
	running, reschedule bool
	syncing             int                      // sync operations running in this worker
	active              string                   // the remote the running sync operation is for
	progress            *Progress                // how far it got
	opStart             time.Time                // when it started
	lastProgress        time.Time                // when progress was last broadcast
	clients             map[string]*remoteClient // by remote id
	keys                map[string]keyEntry      // derived keys in memory, by remote id
}

// remoteClient is a remote's WebDAV client, reused (with its login state)
// while the remote's address and credentials stay the same.
type remoteClient struct {
	fp     string
	client *webdav.Client
}

// New returns an App over cfg. It does no I/O: the store is opened on the
// first call, so constructing it cannot fail while the worker starts.
func New(cfg Config) *App {
	if cfg.Wall == nil {
		cfg.Wall = func() int64 { return time.Now().UnixMilli() }
	}
	if cfg.SessionKV == nil {
		cfg.SessionKV = local.NewMemKV()
	}
	if cfg.OnStatus == nil {
		cfg.OnStatus = func(Status) {}
	}
	if cfg.KDF == nil {
		cfg.KDF = envelope.GoKDF
	}
	cfg.Tuning = cfg.Tuning.withDefaults()
	return &App{cfg: cfg, clients: map[string]*remoteClient{}, keys: map[string]keyEntry{}}
}

// Store opens the local store on first use, migrating an older profile.
func (a *App) Store(ctx context.Context) (*local.Store, error) {
	a.openMu.Lock()
	defer a.openMu.Unlock()
	if a.store != nil {
		return a.store, nil
	}
	st, err := local.Open(ctx, a.cfg.KV, hlc.New(a.cfg.Wall))
	if err != nil {
		return nil, err
	}
	if err := migrateState(ctx, a.cfg.KV, a.cfg.SessionKV, st); err != nil {
		return nil, err
	}
	a.store = st
	return st, nil
}

func (a *App) now() time.Time { return time.UnixMilli(a.cfg.Wall()) }

// Doc returns the device's current document, for read-only calls.
func (a *App) Doc(ctx context.Context) (*backup.Document, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	doc, _, err := st.Load(ctx)
	return doc, err
}

// begin takes the run lock or reports Busy.
func (a *App) begin() error {
	if !a.run.TryLock() {
		return errkind.Say(errkind.Busy, "sync", msg.New("errBusy"))
	}
	a.mu.Lock()
	a.running = true
	a.mu.Unlock()
	return nil
}

// end releases the run lock, first applying a reschedule that arrived
// while it was held.
func (a *App) end(ctx context.Context) {
	for {
		a.mu.Lock()
		if !a.reschedule {
			// run is released under mu: a Reschedule that fails its
			// TryLock before this sets the flag before we look at it.
			a.running = false
			a.run.Unlock()
			a.mu.Unlock()
			return
		}
		a.reschedule = false
		a.mu.Unlock()
		_ = a.rescheduleLocked(context.WithoutCancel(ctx))
	}
}

// How long a person's operation waits for a running one: busyWaits polls
// busyPoll apart (two minutes in all).
const (
	busyPoll  = 250 * time.Millisecond
	busyWaits = 480
)

// locked runs fn under the run lock. A person's operation (wait) that finds
// a background cycle running waits for it instead of failing with busy.
func (a *App) locked(ctx context.Context, wait bool, fn func() error) error {
	err := a.begin()
	for n := 0; errors.Is(err, errkind.Busy) && wait && n < busyWaits; n++ {
		select {
		case <-ctx.Done():
			return errkind.SayWrap(errkind.Canceled, "sync", msg.New("errCanceled"), ctx.Err())
		case <-time.After(busyPoll):
			err = a.begin()
		}
	}
	if err != nil {
		return err
	}
	defer a.end(ctx)
	return fn()
}

// salt returns the device's random salt for fingerprints and key labels,
// making it on first use.
func (a *App) salt(ctx context.Context) ([]byte, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	m, err := st.State(ctx, keySalt)
	if err != nil {
		return nil, err
	}
	if b := m[keySalt]; len(b) >= 16 {
		return b, nil
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	if err := st.SetState(ctx, map[string][]byte{keySalt: b}); err != nil {
		return nil, err
	}
	return b, nil
}

// fingerprint identifies a remote's connection settings without revealing
// them: an HMAC keyed with the device's random salt, so not even a weak
// password can be guessed from it. A rejected password pauses automatic
// sync until it changes.
func (a *App) fingerprint(ctx context.Context, r Remote) string {
	salt, _ := a.salt(ctx)
	h := hmac.New(sha256.New, salt)
	for _, v := range []string{r.URL, r.Folder, r.Username, r.Password} {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// stateKey is where remote id keeps item in the device state.
func stateKey(id, item string) string { return "remote." + id + "." + item }

// Device-state keys (the store adds local.StatePrefix). Persisted format:
// never rename one, only add.
const (
	keySalt      = "salt"
	keyConflicts = "conflicts"
	itemStatus   = "status"
	itemTraits   = "traits"
	itemKDF      = "kdf_failed"
)

// holdKey marks the context of an operation whose device-state writes
// go to its Holding view of the store (operateLocked).
type holdKey struct{}

// stateStore is where ctx's device state is read and written: the
// operation's Holding view, or the store.
func (a *App) stateStore(ctx context.Context) (*local.Store, error) {
	if v, ok := ctx.Value(holdKey{}).(*local.Store); ok {
		return v, nil
	}
	return a.Store(ctx)
}

func (a *App) readState(ctx context.Context, key string, v any) (bool, error) {
	st, err := a.stateStore(ctx)
	if err != nil {
		return false, err
	}
	m, err := st.State(ctx, key)
	if err != nil {
		return false, err
	}
	b, ok := m[key]
	if !ok {
		return false, nil
	}
	// Damaged device state is dropped, never fatal: the worst outcome is a
	// full merge or a status that starts over.
	return json.Unmarshal(b, v) == nil, nil
}

func (a *App) writeState(ctx context.Context, key string, v any) error {
	st, err := a.stateStore(ctx)
	if err != nil {
		return err
	}
	return st.SetState(ctx, map[string][]byte{key: mustJSON(v)})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("app: marshal state: " + err.Error())
	}
	return b
}

// client returns remote r's WebDAV client for layout l, reusing it (and its
// login state) while the remote's address and credentials stay the same.
// A new client starts from the remote's stored traits.
func (a *App) client(ctx context.Context, r Remote, l layout.Layout) (*webdav.Client, error) {
	fp := a.fingerprint(ctx, r) + "\x00" + l.Base
	a.mu.Lock()
	rc := a.clients[r.ID]
	a.mu.Unlock()
	if rc != nil && rc.fp == fp {
		return rc.client, nil
	}
	var tr webdav.Traits
	if ok, _ := a.readState(ctx, stateKey(r.ID, itemTraits), &tr); ok && tr.Login != nil && tr.Login.Scheme == "basic" && webdav.Insecure(l.Base) {
		// The password goes up front only where it crosses no network
		// unencrypted; over http it answers each challenge.
		tr.Login = nil
	}
	opts := append(append([]webdav.Option(nil), a.cfg.WebDAVOptions...), webdav.WithTraits(tr))
	c, err := webdav.New(l.Base, r.Username, r.Password, a.cfg.Transport, opts...)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.clients[r.ID] = &remoteClient{fp: fp, client: c}
	a.mu.Unlock()
	return c, nil
}

// saveTraits keeps what the client knows about the server for the next
// worker, and what the check found.
func (a *App) saveTraits(ctx context.Context, id string, t webdav.Traits) {
	var old webdav.Traits
	_, _ = a.readState(ctx, stateKey(id, itemTraits), &old)
	if b1, b2 := mustJSON(old), mustJSON(t); string(b1) == string(b2) {
		return
	}
	_ = a.writeState(ctx, stateKey(id, itemTraits), t)
}

// env builds the cycle's environment for remote r.
func (a *App) env(ctx context.Context, r Remote) (cycle.Env, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return cycle.Env{}, err
	}
	l, err := layout.For(r.URL, r.Folder)
	if err != nil {
		return cycle.Env{}, err
	}
	cl, err := a.client(ctx, r, l)
	if err != nil {
		return cycle.Env{}, err
	}
	return cycle.Env{
		Store: st, Prefix: stateKey(r.ID, ""), Source: r.ID, Client: cl, Layout: l,
		Keys: &remoteKeys{a: a, r: r}, Log: conflictLog{a: a, remote: r.ID},
		Now: a.now, Hooks: a.cfg.Hooks,
	}, nil
}

// cycleOptions is the cycle's view of remote r.
func (a *App) cycleOptions(r Remote) cycle.Options {
	t := a.cfg.Tuning
	return cycle.Options{
		Strategy: merge.Strategy(r.Strategy), Compress: r.Compress, Encrypt: r.Encryption.Enabled,
		SnapshotKeep: r.SnapshotsKeep, SnapshotInterval: t.SnapshotInterval,
		GuardPercent: t.GuardPercent, GuardMinRecords: t.GuardMinRecords, Horizon: t.Horizon,
	}
}
