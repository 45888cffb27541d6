// Package engine is davsync's message protocol: one Handle call per message
// the extension's pages and worker send (extension/PROTOCOL.md is the
// contract). It knows nothing about the browser: the key-value store, the
// HTTP transport and the key derivation come in through Config, so the same
// code runs in wasm and in native tests.
//
// Data flows one way: a method decodes its params, calls local.Store for
// edits, sync.Engine for anything that touches the server and
// internal/transfer for files, and encodes the result. Every failure is an
// *errkind.Error whose Kind is one of the protocol's stable strings.
package engine

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/local"
	dsync "github.com/davsync/davsync/internal/sync"
	"github.com/davsync/davsync/internal/webdav"
)

// Config is what the platform provides.
type Config struct {
	// KV is the device's persistent store (chrome.storage.local).
	KV local.KV
	// SessionKV holds secrets that must not outlive the browser session
	// (chrome.storage.session): a passphrase the user chose not to
	// remember. nil means an in-memory store.
	SessionKV local.KV
	// Transport carries WebDAV requests (fetch in the browser).
	Transport webdav.Transport
	// KDF derives encryption keys (WebCrypto in the browser).
	KDF envelope.KDF
	// Wall returns the wall clock in ms; nil means time.Now.
	Wall func() int64
	// OnStatus is called with the status JSON (as sync.status returns it)
	// after every change of the status. It must not block.
	OnStatus func(status []byte)
	// WebDAVOptions are passed to every webdav.New (tests shorten retries).
	WebDAVOptions []webdav.Option
	// KeyOptions tune new encryption keys (tests lower the iterations).
	KeyOptions envelope.Options
}

// Engine answers protocol messages. It is safe for concurrent use.
type Engine struct {
	cfg Config

	openMu sync.Mutex
	store  *local.Store // nil until the first call opens it

	statusMu sync.Mutex
	syncing  int // operations running in this worker (never persisted)

	syncOnce sync.Mutex
	sync     *dsync.Engine // nil until first used
}

// New returns an Engine over cfg. It does no I/O: the store is opened on the
// first call, so constructing it cannot fail while the worker starts.
func New(cfg Config) *Engine {
	if cfg.Wall == nil {
		cfg.Wall = func() int64 { return time.Now().UnixMilli() }
	}
	if cfg.SessionKV == nil {
		cfg.SessionKV = local.NewMemKV()
	}
	if cfg.OnStatus == nil {
		cfg.OnStatus = func([]byte) {}
	}
	if cfg.KDF == nil {
		cfg.KDF = envelope.GoKDF
	}
	return &Engine{cfg: cfg}
}

// Store opens the local store on first use.
func (e *Engine) Store(ctx context.Context) (*local.Store, error) {
	e.openMu.Lock()
	defer e.openMu.Unlock()
	if e.store != nil {
		return e.store, nil
	}
	st, err := local.Open(ctx, e.cfg.KV, hlc.New(e.cfg.Wall))
	if err != nil {
		return nil, err
	}
	e.store = st
	return st, nil
}

type handler func(e *Engine, ctx context.Context, params []byte) (any, error)

// methods is the protocol. Each name is part of the contract with the pages.
var methods = map[string]handler{
	"settings.get":      (*Engine).settingsGet,
	"settings.save":     (*Engine).settingsSave,
	"webdav.test":       (*Engine).webdavTest,
	"sync.now":          (*Engine).syncNow,
	"sync.status":       (*Engine).syncStatus,
	"sync.confirm":      (*Engine).syncConfirm,
	"backup.upload":     (*Engine).backupUpload,
	"backup.download":   (*Engine).backupDownload,
	"snapshots.list":    (*Engine).snapshotsList,
	"snapshots.restore": (*Engine).snapshotsRestore,
	"data.export":       (*Engine).dataExport,
	"data.import":       (*Engine).dataImport,
	"accounts.list":     (*Engine).accountsList,
	"accounts.put":      (*Engine).accountsPut,
	"accounts.delete":   (*Engine).accountsDelete,
	"preferences.get":   (*Engine).preferencesGet,
	"preferences.save":  (*Engine).preferencesSave,
	"conflicts.list":    (*Engine).conflictsList,
	"conflicts.resolve": (*Engine).conflictsResolve,
	"undo.list":         (*Engine).undoList,
	"undo.restore":      (*Engine).undoRestore,
	"limits.get":        (*Engine).limitsGet,
}

// limitsGet hands the pages the limits Go enforces (internal/limits), so a
// page that checks a size first uses the same number.
func (e *Engine) limitsGet(context.Context, []byte) (any, error) {
	return map[string]any{"limits": limits.Table()}, nil
}

// Methods lists the protocol's method names (for tests and documentation).
func Methods() []string {
	out := make([]string, 0, len(methods))
	for m := range methods {
		out = append(out, m)
	}
	return out
}

// Handle runs one protocol method. params is the JSON object the page sent
// (empty means {}); the result is a JSON object whose members are merged
// into the reply {ok: true, ...}. A failure is an *errkind.Error.
func (e *Engine) Handle(ctx context.Context, method string, params []byte) ([]byte, error) {
	h, ok := methods[method]
	if !ok {
		return nil, errkind.New(errkind.Invalid, method, "unknown method "+quote(method)+"; the page and the extension are out of step, reload the extension")
	}
	if len(params) == 0 {
		params = []byte("{}")
	}
	if !gjson.ValidBytes(params) || !gjson.ParseBytes(params).IsObject() {
		return nil, errkind.New(errkind.Invalid, method, "the parameters are not a JSON object")
	}
	v, err := h(e, ctx, params)
	if err != nil {
		return nil, err
	}
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	if v == nil {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unknown, method, "could not encode the result", err)
	}
	return b, nil
}

// decode unmarshals params into v, reporting a page bug as Invalid.
func decode(op string, params []byte, v any) error {
	if err := json.Unmarshal(params, v); err != nil {
		return errkind.Wrap(errkind.Invalid, op, "bad parameters: "+err.Error(), err)
	}
	return nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
