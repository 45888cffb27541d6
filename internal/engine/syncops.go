package engine

import (
	"context"
	"errors"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/merge"
	dsync "github.com/davsync/davsync/internal/sync"
)

// How long a user's operation waits for a running cycle: busyWaits polls
// busyPoll apart (two minutes in all).
const (
	busyPoll  = 250 * time.Millisecond
	busyWaits = 480
)

// syncEngine returns the sync engine, created on first use over the store.
func (e *Engine) syncEngine(ctx context.Context) (*dsync.Engine, error) {
	e.syncOnce.Lock()
	defer e.syncOnce.Unlock()
	if e.sync != nil {
		return e.sync, nil
	}
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	e.sync = dsync.NewEngine(dsync.Config{
		Store:         st,
		Transport:     e.cfg.Transport,
		KDF:           e.cfg.KDF,
		Now:           func() time.Time { return time.UnixMilli(e.cfg.Wall()) },
		Settings:      e.syncSettings,
		ClientOptions: e.cfg.WebDAVOptions,
		KeyOptions:    e.cfg.KeyOptions,
		KeyStore:      keyCache{e},
	})
	return e.sync, nil
}

// Where the derived encryption key is cached: for the browser session
// always (chrome.storage.session: never on disk), and, when the user asked
// to remember encryption on this device, in the persistent store too. Both
// hold the key derived for one file's salt and iteration count, labelled
// with a keyed hash of its passphrase; neither holds the passphrase.
const (
	keySessionKey    = "davsync.session.key"
	keyRememberedKey = "davsync.key"
)

// keyCache is the sync engine's KeyStore over those two places.
type keyCache struct{ e *Engine }

// LoadKey returns the cached key blob, or nil when there is none.
func (c keyCache) LoadKey(ctx context.Context) ([]byte, error) {
	m, err := c.e.cfg.SessionKV.Get(ctx, keySessionKey)
	if err != nil {
		return nil, err
	}
	if b := m[keySessionKey]; b != nil {
		return b, nil
	}
	if s, err := c.e.LoadSettings(ctx); err != nil || !s.Encryption.Remember {
		return nil, err
	}
	m, err = c.e.cfg.KV.Get(ctx, keyRememberedKey)
	if err != nil {
		return nil, err
	}
	return m[keyRememberedKey], nil
}

// SaveKey caches the key blob for the session and, when encryption is
// remembered on this device, beyond it.
func (c keyCache) SaveKey(ctx context.Context, blob []byte) error {
	if err := c.e.cfg.SessionKV.Set(ctx, map[string][]byte{keySessionKey: blob}); err != nil {
		return err
	}
	if s, err := c.e.LoadSettings(ctx); err != nil || !s.Encryption.Remember {
		return err
	}
	return c.e.cfg.KV.Set(ctx, map[string][]byte{keyRememberedKey: blob})
}

// syncSettings maps the device settings to what the sync engine reads at
// the start of every operation.
func (e *Engine) syncSettings(ctx context.Context) (dsync.Settings, error) {
	s, err := e.LoadSettings(ctx)
	if err != nil {
		return dsync.Settings{}, err
	}
	keep := s.SnapshotsKeep
	if keep == 0 {
		keep = -1 // sync's 0 means "default"; the user asked for none
	}
	return dsync.Settings{
		URL: s.URL, Username: s.Username, Password: s.Password,
		Strategy:        merge.Strategy(s.Strategy),
		Compress:        s.Compress,
		Encrypt:         s.Encryption.Enabled,
		Passphrase:      s.Encryption.Passphrase,
		AutoSync:        s.AutoSync,
		IntervalSeconds: int(s.IntervalMinutes * 60),
		SnapshotKeep:    keep,
		AllowInsecure:   s.insecureAllowed(),
	}, nil
}

// operate runs one sync-engine operation, telling the pages it started and
// how it ended. The sync engine persists the outcome in its status.
func (e *Engine) operate(ctx context.Context, trigger string, fn func(se *dsync.Engine) (*dsync.CycleResult, error)) (any, error) {
	se, err := e.syncEngine(ctx)
	if err != nil {
		return nil, err
	}
	e.statusMu.Lock()
	e.syncing++
	e.statusMu.Unlock()
	e.emitStatus(ctx)
	res, err := fn(se)
	// A click (not the alarm or an edit) that lands while a background cycle
	// runs waits for it instead of failing with "busy".
	for wait := 0; errors.Is(err, errkind.Busy) && trigger != "alarm" && trigger != "edit" && wait < busyWaits; wait++ {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(busyPoll):
			res, err = fn(se)
		}
	}
	e.statusMu.Lock()
	e.syncing--
	e.statusMu.Unlock()
	e.migratePassphrase(ctx, se)
	if res == nil || !res.Skipped {
		_ = e.cfg.KV.Set(ctx, map[string][]byte{keyTrigger: []byte(trigger)})
	}
	e.emitStatus(ctx)
	if err != nil {
		return nil, err
	}
	if res != nil {
		res.Status = nil // the page reads the status from sync.status / broadcasts
	}
	return map[string]any{"result": res}, nil
}

func (e *Engine) syncNow(ctx context.Context, params []byte) (any, error) {
	var p struct {
		Trigger string `json:"trigger"`
	}
	if err := decode("sync.now", params, &p); err != nil {
		return nil, err
	}
	if p.Trigger == "" {
		p.Trigger = "manual"
	}
	// Only the alarm is a scheduled run (skipped when not due, paused or
	// backing off); an edit, the browser start or a click sync at once.
	opts := dsync.CycleOptions{Auto: p.Trigger == "alarm", Background: p.Trigger == "edit" || p.Trigger == "startup"}
	return e.operate(ctx, p.Trigger, func(se *dsync.Engine) (*dsync.CycleResult, error) {
		return se.Cycle(ctx, opts)
	})
}

func (e *Engine) syncConfirm(ctx context.Context, _ []byte) (any, error) {
	return e.operate(ctx, "manual", func(se *dsync.Engine) (*dsync.CycleResult, error) {
		// Confirm answers the question the held cycle asked, for the
		// settings it was asked for (the encryption switch included).
		return se.Cycle(ctx, dsync.CycleOptions{Confirm: true, AnswerHeld: true})
	})
}

func (e *Engine) backupUpload(ctx context.Context, _ []byte) (any, error) {
	return e.operate(ctx, "upload", func(se *dsync.Engine) (*dsync.CycleResult, error) {
		return se.Upload(ctx, dsync.CycleOptions{Confirm: true, AllowEncryptionChange: true})
	})
}

func mode(op, m string) (string, error) {
	switch m {
	case "", "merge":
		return "merge", nil
	case "replace":
		return "replace", nil
	}
	return "", errkind.New(errkind.Invalid, op, "mode must be merge or replace")
}

func (e *Engine) backupDownload(ctx context.Context, params []byte) (any, error) {
	var p struct {
		Mode             string `json:"mode"`
		AcceptEncryption string `json:"acceptEncryption"`
	}
	if err := decode("backup.download", params, &p); err != nil {
		return nil, err
	}
	m, err := mode("backup.download", p.Mode)
	if err != nil {
		return nil, err
	}
	return e.operate(ctx, "download", func(se *dsync.Engine) (*dsync.CycleResult, error) {
		return se.Download(ctx, m, dsync.CycleOptions{Confirm: true, AcceptEncryption: p.AcceptEncryption})
	})
}

// snapshotInfo is one entry of snapshots.list.
type snapshotInfo struct {
	Name string `json:"name"`
	Time int64  `json:"time"`
	Size int64  `json:"size"`
}

func (e *Engine) snapshotsList(ctx context.Context, _ []byte) (any, error) {
	se, err := e.syncEngine(ctx)
	if err != nil {
		return nil, err
	}
	snaps, err := se.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]snapshotInfo, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, snapshotInfo{Name: s.Name, Time: s.Time, Size: s.Size})
	}
	return map[string]any{"snapshots": out}, nil
}

func (e *Engine) snapshotsRestore(ctx context.Context, params []byte) (any, error) {
	var p struct {
		Name             string `json:"name"`
		Mode             string `json:"mode"`
		AcceptEncryption string `json:"acceptEncryption"`
	}
	if err := decode("snapshots.restore", params, &p); err != nil {
		return nil, err
	}
	if p.Name == "" {
		return nil, errkind.New(errkind.Invalid, "snapshots.restore", "which snapshot? name is missing")
	}
	m, err := mode("snapshots.restore", p.Mode)
	if err != nil {
		return nil, err
	}
	return e.operate(ctx, "restore", func(se *dsync.Engine) (*dsync.CycleResult, error) {
		return se.RestoreSnapshot(ctx, p.Name, m, dsync.CycleOptions{Confirm: true, AcceptEncryption: p.AcceptEncryption})
	})
}

func (e *Engine) conflictsList(ctx context.Context, _ []byte) (any, error) {
	se, err := e.syncEngine(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := se.Conflicts(ctx)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return map[string]any{"conflicts": []any{}}, nil
	}
	return map[string]any{"conflicts": cs}, nil
}

func (e *Engine) conflictsResolve(ctx context.Context, params []byte) (any, error) {
	var p struct {
		ID     string `json:"id"`
		Choice string `json:"choice"`
	}
	if err := decode("conflicts.resolve", params, &p); err != nil {
		return nil, err
	}
	switch p.Choice {
	case "local", "remote", "both":
	default:
		return nil, errkind.New(errkind.Invalid, "conflicts.resolve", "choice must be local, remote or both")
	}
	se, err := e.syncEngine(ctx)
	if err != nil {
		return nil, err
	}
	if err := se.ResolveConflict(ctx, p.ID, p.Choice); err != nil {
		return nil, err
	}
	e.emitStatus(ctx)
	return map[string]any{}, nil
}
