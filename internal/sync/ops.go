package sync

import (
	"context"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
)

// Upload makes the remote a copy of this device's data now ("Upload
// backup"): the remote's previous content is kept as a snapshot first,
// whatever the hourly limit. The mass-change guard applies (opts.Confirm
// runs it anyway).
//
// Why nothing is lost: replacing the remote is what the user asked for, and
// the replaced file is first kept as a snapshot (the write fails if the
// snapshot cannot be made), from which Snapshots/RestoreSnapshot bring it
// back. Local data is not touched.
func (e *Engine) Upload(ctx context.Context, opts CycleOptions) (*CycleResult, error) {
	opts.strategy = strategyUploadOnly
	opts.forceRead = true
	opts.forceSnapshot = true
	opts.replaceSide = true
	return e.operate(ctx, opts)
}

// Download takes the server's data ("Download backup"). mode "merge" merges
// it in (a full cycle that ignores the stored ETag); "replace" makes the
// local data a copy of the remote, keeping the previous local state as an
// undo point. The guard applies (opts.Confirm runs it anyway).
//
// Why nothing is lost: "replace" drops local edits by the user's choice, but
// the local state before it is kept as an undo point ("download") in the
// same atomic write, so Undo brings them back.
func (e *Engine) Download(ctx context.Context, mode string, opts CycleOptions) (*CycleResult, error) {
	switch mode {
	case "merge":
		// Confirm here answers the mass-change guard (the page asked
		// before downloading), not the stale-device question: merging a
		// stale device's data would bring back deletions the server has
		// forgotten. That question is answered by sync.confirm.
		opts.askStale = true
	case "replace":
		opts.strategy = strategyDownloadOnly
		opts.replaceSide = true
		opts.undoLabel = "download"
		// Replacing local with the server's copy is also how a stale device
		// recovers, so it skips the stale check (not the guard).
	default:
		return nil, errkind.New(errkind.Invalid, "download", "mode must be \"merge\" or \"replace\"")
	}
	opts.forceRead = true
	return e.operate(ctx, opts)
}

// UndoList returns the kept previous local states, newest first.
func (e *Engine) UndoList(ctx context.Context) ([]local.UndoPoint, error) {
	return e.store.UndoList(ctx)
}

// Undo restores undo point id locally (as new edits, itself undoable); the
// next cycle uploads it, subject to the mass-change guard.
func (e *Engine) Undo(ctx context.Context, id int64) (int64, error) {
	if err := e.begin(); err != nil {
		return 0, err
	}
	defer e.end()
	return e.store.UndoRestore(ctx, id)
}

// AcceptAuth records the login scheme ("basic" or "digest") a server check
// the user ran found for the current settings, replacing what cycles
// learned. After a server really moved from Digest to Basic login (which
// cycles refuse as a possible man in the middle), Test connection is how the
// user accepts it.
func (e *Engine) AcceptAuth(ctx context.Context, scheme string) error {
	set, _, err := e.settings(ctx)
	if err != nil {
		return err
	}
	a := authMemo{Basic: scheme == "basic", Digest: scheme == "digest", For: set.fp}
	e.mu.Lock()
	e.client = nil // the next cycle builds its client from the new memo
	e.mu.Unlock()
	return e.store.SetState(ctx, map[string][]byte{keyAuth: mustJSON(a)})
}

// CheckServer runs the WebDAV server check (Test Connection) for the
// configured folder and returns its structured result.
func (e *Engine) CheckServer(ctx context.Context) (*webdav.CheckResult, error) {
	if err := e.begin(); err != nil {
		return nil, err
	}
	defer e.end()
	_, _, cl, err := e.connect(ctx)
	if err != nil {
		return nil, err
	}
	return cl.Check(ctx)
}
