package app

import (
	"context"
	"errors"
	"time"

	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/webdav"
)

// The triggers of a sync: what started it. Only the alarm is a scheduled
// run (skipped when not due, paused or backing off); an edit or the
// browser start syncs at once, but not while automatic sync is paused
// after a rejected password or before the server's Retry-After; a person
// (manual, confirm, upload, download, restore) always runs, waiting for a
// background cycle that holds the run lock.
const (
	TriggerManual  = "manual"
	TriggerAlarm   = "alarm"
	TriggerEdit    = "edit"
	TriggerStartup = "startup"
)

// SyncOptions say how a sync was asked for.
type SyncOptions struct {
	// Trigger is one of the Trigger constants ("" = manual).
	Trigger string
	// Confirm answers the questions the held cycle asked (sync.confirm):
	// only those, for the settings they were asked for.
	Confirm bool
	// AcceptEncryption answers the encryption question about the file the
	// preview's Subject names (Download and restore).
	AcceptEncryption string
}

func (o SyncOptions) person() bool {
	return o.Trigger == "" || (o.Trigger != TriggerAlarm && o.Trigger != TriggerEdit && o.Trigger != TriggerStartup)
}

// operate runs one operation of remote id under the run lock with the
// status bookkeeping around it: skipping a scheduled run that is not due,
// marking the remote syncing, counting its traffic, keeping what the
// client learned about the server, and recording the outcome.
func (a *App) operate(ctx context.Context, id string, so SyncOptions, fn func(env cycle.Env, opts cycle.Options) (*cycle.Result, error)) (*cycle.Result, error) {
	var res *cycle.Result
	var opErr error
	err := a.locked(ctx, so.person(), func() error {
		res, opErr = a.operateLocked(ctx, id, so, fn)
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.emitStatus(ctx)
	return res, opErr
}

// operateLocked runs the operation over a Holding view of the store: the
// cycle's markers, what the client learned about the server and the
// status that records the outcome reach storage in one write at its end
// (local.Store.Holding argues why that loses nothing). A failure of that
// write fails an operation that had succeeded: its markers did not land,
// so the next cycle redoes what they would have skipped.
func (a *App) operateLocked(ctx context.Context, id string, so SyncOptions, fn func(env cycle.Env, opts cycle.Options) (*cycle.Result, error)) (*cycle.Result, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	view := st.Holding()
	res, err := a.operateHeld(context.WithValue(ctx, holdKey{}, view), view, id, so, fn)
	if ferr := view.Flush(ctx); ferr != nil && err == nil {
		err = ferr
	}
	a.mu.Lock()
	if a.active == id {
		a.syncing--
		a.active = ""
		a.progress = nil
	}
	a.mu.Unlock()
	return res, err
}

func (a *App) operateHeld(ctx context.Context, view *local.Store, id string, so SyncOptions, fn func(env cycle.Env, opts cycle.Options) (*cycle.Result, error)) (*cycle.Result, error) {
	s, err := a.Settings(ctx)
	if err != nil {
		return nil, err
	}
	r, ok := s.Remote(id)
	if !ok {
		return nil, errkind.Say(errkind.NotConfigured, "sync", msg.New("errNotConfigured"))
	}
	st := a.loadStatus(ctx, id)
	fp := a.fingerprint(ctx, r)
	serr := a.ready(ctx, r)
	now := a.cfg.Wall()
	switch so.Trigger {
	case TriggerAlarm:
		if reason := a.skipReason(r, fp, serr, st, now); reason != "" {
			return &cycle.Result{Skipped: true, SkipReason: reason}, nil
		}
	case TriggerEdit, TriggerStartup:
		switch {
		case serr != nil:
		case !r.Enabled:
			return &cycle.Result{Skipped: true, SkipReason: "disabled"}, nil
		case st.Paused && st.PausedFor == fp:
			return &cycle.Result{Skipped: true, SkipReason: "paused_auth"}, nil
		case st.Error != nil && st.Error.RetryAfter > now:
			return &cycle.Result{Skipped: true, SkipReason: "retry_after"}, nil
		case r.IntervalFloor() > 0 && now-st.LastAttempt < int64(r.IntervalFloor()*60000):
			// A provider that limits requests (Jianguoyun): edits wait for
			// the schedule instead of each costing a cycle.
			return &cycle.Result{Skipped: true, SkipReason: "rate_floor"}, nil
		}
	}
	var held []*cycle.Preview
	if so.Confirm && serr == nil && st.Preview != nil && st.PreviewFor == heldKey(fp, r) {
		held = append(append([]*cycle.Preview(nil), st.Answered...), st.Preview)
	}
	trigger := so.Trigger
	if trigger == "" {
		trigger = TriggerManual
	}
	if serr != nil {
		st.Trigger = trigger
		a.finish(ctx, r, fp, st, now, nil, nil, serr)
		return nil, serr
	}
	env, err := a.env(ctx, r)
	if err != nil {
		a.finish(ctx, r, fp, st, now, nil, nil, err)
		return nil, err
	}
	env.Client.ResetCount()
	a.mu.Lock()
	a.syncing++
	a.active = id
	a.progress = nil
	a.opStart = time.Now()
	a.mu.Unlock()
	env.Progress = func(phase string) {
		if a.cfg.OnPhase != nil {
			a.cfg.OnPhase(ctx, phase)
		}
		a.setProgress(ctx, &Progress{Phase: phase}, true)
	}
	env.Client.SetProgress(func(done, total int64) {
		a.mu.Lock()
		p := Progress{Done: done, Total: total}
		if a.progress != nil {
			p.Phase = a.progress.Phase
		}
		a.mu.Unlock()
		a.setProgress(ctx, &p, false)
	})
	defer env.Client.SetProgress(nil)
	st.State, st.LastAttempt, st.Trigger = StateSyncing, now, trigger
	// A sync still running after progressAfter persists "syncing", so that
	// a worker stopped mid-cycle leaves a trace (remoteStatus reads it as
	// interrupted, and the rate floor sees the attempt), and tells the
	// pages. One that ends sooner does neither: its outcome is written and
	// broadcast once at its end (operateLocked, operate), and the earlier
	// write and broadcast would cost it more than they tell (a storage
	// round trip, a message to every open page, the badge). It is a status,
	// never data: a worker stopped within that moment shows the previous
	// outcome. The write goes straight to the store, not the view (which
	// holds until the end), and finish waits for it (shownDone), so the
	// outcome lands after it.
	syncing := map[string][]byte{stateKey(id, itemStatus): mustJSON(st)}
	shownDone := make(chan struct{})
	shown := time.AfterFunc(progressAfter, func() {
		defer close(shownDone)
		if a.isSyncing(id) {
			_ = view.Unheld().SetState(ctx, syncing)
			a.emitStatus(ctx)
		}
	})

	opts := a.cycleOptions(r)
	opts.Auto = !so.person()
	opts.Confirm, opts.AnswerHeld, opts.Held = so.Confirm, so.Confirm, held
	opts.AcceptEncryption = so.AcceptEncryption
	env.Store = view
	res, err := fn(env, opts)
	if a.cfg.OnPhase != nil {
		a.cfg.OnPhase(ctx, "") // the cycle's last phase ends with it
	}
	if !shown.Stop() {
		<-shownDone // it started: let its write land first
	}
	if res == nil {
		res = &cycle.Result{}
	}
	n := env.Client.ResetCount()
	res.Requests, res.BytesUp, res.BytesDown = n.Requests, n.BytesUp, n.BytesDown
	a.saveTraits(ctx, id, env.Client.Traits())
	// The remote reads as syncing (isSyncing) until operateLocked has
	// written the outcome: a page asking meanwhile must not read the
	// "syncing" on disk as an interrupted sync.
	a.finish(ctx, r, fp, st, now, res, held, err)
	a.migratePassphrase(ctx)
	return res, err
}

// progressEvery spaces out the broadcasts of bytes moved; progressAfter is
// how long a sync runs before it shows progress at all.
const (
	progressEvery = 250 * time.Millisecond
	progressAfter = 300 * time.Millisecond
)

// setProgress records how far the running sync got and tells the pages:
// at once for a new phase, at most every progressEvery for bytes.
func (a *App) setProgress(ctx context.Context, p *Progress, phase bool) {
	a.mu.Lock()
	a.progress = p
	now := time.Now()
	// A sync that ends within a moment shows no progress: the broadcasts
	// would cost more than they tell.
	due := now.Sub(a.opStart) >= progressAfter &&
		(phase || now.Sub(a.lastProgress) >= progressEvery || (p.Total > 0 && p.Done == p.Total))
	if due {
		a.lastProgress = now
	}
	a.mu.Unlock()
	if due {
		a.emitStatus(ctx)
	}
}

// ready checks that remote r can sync: configured, valid (the same rules
// as saving), and with a passphrase or cached key when encrypted.
func (a *App) ready(ctx context.Context, r Remote) error {
	if !r.Configured() {
		return errkind.Say(errkind.NotConfigured, "sync", msg.New("errNotConfigured"))
	}
	// No passphrase at hand (the browser restarted and encryption is not
	// remembered here) is a question for the user, not bad settings.
	if r.Encryption.Enabled && r.Encryption.Passphrase == "" && a.cachedKey(ctx, r) == nil {
		return errkind.Say(errkind.PassphraseNeeded, "sync", msg.New("errNoPassphraseAvailable"))
	}
	return r.Validate()
}

// Sync runs one sync cycle of remote id.
func (a *App) Sync(ctx context.Context, id string, so SyncOptions) (*cycle.Result, error) {
	return a.operate(ctx, id, so, func(env cycle.Env, opts cycle.Options) (*cycle.Result, error) {
		return cycle.Run(ctx, env, opts)
	})
}

// RemoteResult is one remote's outcome of SyncAll.
type RemoteResult struct {
	Remote string        `json:"remote"`
	OK     bool          `json:"ok"`
	Result *cycle.Result `json:"result,omitempty"`
	Error  *ErrorInfo    `json:"error,omitempty"`
	err    error
}

// Err is the remote's failure as an error (nil after a success).
func (r RemoteResult) Err() error { return r.err }

// SyncAll syncs every enabled remote, one after the other: one that fails
// (offline, a wrong password, rate limited) never keeps the others from
// syncing, and its backoff and pause are its own. Each remote merges the
// device's current data, so an edit one remote brought reaches the later
// ones in the same run; when a later remote brought changes, the earlier
// ones that synced are synced once more, so that after one run every
// remote holds what this device knows (a device between two servers
// carries edits across in one run, not one per remote).
func (a *App) SyncAll(ctx context.Context, so SyncOptions) ([]RemoteResult, error) {
	s, err := a.Settings(ctx)
	if err != nil {
		return nil, err
	}
	out := []RemoteResult{}
	last := -1 // the last remote whose cycle changed local data
	for _, r := range s.Remotes {
		if !r.Enabled || !r.Configured() {
			continue
		}
		res, err := a.Sync(ctx, r.ID, so)
		if err == nil && res != nil && res.Applied {
			last = len(out)
		}
		out = append(out, RemoteResult{Remote: r.ID, OK: err == nil, Result: res, Error: ErrorOf(err), err: err})
	}
	for i := 0; i < last; i++ {
		if !out[i].OK || (out[i].Result != nil && out[i].Result.Skipped) {
			continue
		}
		res, err := a.Sync(ctx, out[i].Remote, so)
		if err != nil {
			out[i] = RemoteResult{Remote: out[i].Remote, OK: false, Result: res, Error: ErrorOf(err), err: err}
			continue
		}
		out[i].Result = addResult(out[i].Result, res)
	}
	return out, nil
}

// addResult is the result of two cycles of one remote in one run.
func addResult(first, second *cycle.Result) *cycle.Result {
	if first == nil {
		return second
	}
	r := *second
	r.Requests += first.Requests
	r.BytesUp += first.BytesUp
	r.BytesDown += first.BytesDown
	r.Uploaded = r.Uploaded || first.Uploaded
	r.Applied = r.Applied || first.Applied
	r.Conflicts += first.Conflicts
	if r.Snapshot == "" {
		r.Snapshot = first.Snapshot
	}
	if r.Local == nil {
		r.Local, r.Remote = first.Local, first.Remote
	}
	return &r
}

// Upload makes remote id's file a copy of this device's data now ("Upload
// backup"): the file's previous content is kept as a snapshot first,
// whatever the interval.
//
// Why nothing is lost: replacing the remote is what the user asked for, and
// the replaced file is first kept as a snapshot (the write fails if the
// snapshot cannot be made), from which RestoreSnapshot brings it back.
// Local data is not touched.
func (a *App) Upload(ctx context.Context, id string) (*cycle.Result, error) {
	return a.operate(ctx, id, SyncOptions{Trigger: "upload"}, func(env cycle.Env, opts cycle.Options) (*cycle.Result, error) {
		opts.Strategy = merge.UploadOnly
		opts.ForceRead, opts.ForceSnapshot, opts.ReplaceSide = true, true, true
		opts.Confirm, opts.AnswerHeld, opts.AllowEncryptionChange = true, false, true
		if opts.SnapshotKeep == 0 {
			opts.SnapshotKeep = 1 // the replaced file is kept even when snapshots are off
		}
		return cycle.Run(ctx, env, opts)
	})
}

// Download takes remote id's data ("Download backup"). mode "merge" merges
// it in (a full cycle that ignores the stored ETag); "replace" makes the
// local data a copy of the remote, keeping the previous local state as an
// undo point. The guard's question is answered by the user's choice.
//
// Why nothing is lost: "replace" drops local edits by the user's choice, but
// the local state before it is kept as an undo point ("download") in the
// same atomic write, so Undo brings them back.
func (a *App) Download(ctx context.Context, id, mode string, so SyncOptions) (*cycle.Result, error) {
	if mode != "merge" && mode != "replace" {
		return nil, errkind.Internal(errkind.Invalid, "download", "mode must be \"merge\" or \"replace\"", nil)
	}
	so.Trigger = "download"
	return a.operate(ctx, id, so, func(env cycle.Env, opts cycle.Options) (*cycle.Result, error) {
		opts.Confirm, opts.AnswerHeld, opts.ForceRead = true, false, true
		if mode == "merge" {
			// Confirm answers the mass-change guard (the page asked before
			// downloading), not the stale-device question: merging a stale
			// device's data would bring back deletions the server has
			// forgotten. That question is answered by sync.confirm.
			opts.Strategy, opts.AskStale = merge.StrategyMerge, true
		} else {
			// Replacing local with the server's copy is also how a stale
			// device recovers, so it skips the stale check (not the guard).
			opts.Strategy, opts.ReplaceSide, opts.UndoLabel = merge.DownloadOnly, true, "download"
		}
		return cycle.Run(ctx, env, opts)
	})
}

// Snapshots lists remote id's snapshots on the server, newest first.
func (a *App) Snapshots(ctx context.Context, id string) ([]cycle.Snapshot, error) {
	var out []cycle.Snapshot
	err := a.withRemote(ctx, id, func(r Remote, env cycle.Env) error {
		var err error
		out, err = cycle.Snapshots(ctx, env)
		return err
	})
	return out, err
}

// withRemote runs fn with remote id's environment under the run lock,
// keeping what the client learned.
func (a *App) withRemote(ctx context.Context, id string, fn func(r Remote, env cycle.Env) error) error {
	return a.locked(ctx, true, func() error {
		s, err := a.Settings(ctx)
		if err != nil {
			return err
		}
		r, ok := s.Remote(id)
		if !ok {
			return errkind.Say(errkind.NotConfigured, "sync", msg.New("errNotConfigured"))
		}
		if err := a.ready(ctx, r); err != nil {
			return err
		}
		env, err := a.env(ctx, r)
		if err != nil {
			return err
		}
		err = fn(r, env)
		a.saveTraits(ctx, id, env.Client.Traits())
		return err
	})
}

// RestoreSnapshot brings the data of remote id's snapshot name back and
// syncs it (see cycle.Restore): "replace" makes the local data equal to the
// snapshot, "merge" only brings back records this device lacks. Either
// way the previous local state is kept as an undo point.
func (a *App) RestoreSnapshot(ctx context.Context, id, name, mode string, so SyncOptions) (*cycle.Result, error) {
	so.Trigger = "restore"
	return a.operate(ctx, id, so, func(env cycle.Env, opts cycle.Options) (*cycle.Result, error) {
		if err := cycle.Restore(ctx, env, opts, name, mode); err != nil {
			return nil, err
		}
		// The user chose this restore: the guard's question is answered.
		opts.Confirm, opts.AnswerHeld = true, false
		return cycle.Run(ctx, env, opts)
	})
}

// Check runs the server check (Test connection) for remote r as given (the
// form's values, saved or not), under the same rules as saving. When r is
// the saved remote, what the check found becomes its traits: after a
// server really moved from Digest to Basic login (which cycles refuse as a
// possible man in the middle), this is how the user accepts it.
func (a *App) Check(ctx context.Context, r Remote) (*webdav.CheckResult, error) {
	if !r.Configured() {
		return nil, errkind.Say(errkind.NotConfigured, "webdav.test", msg.New("errEnterAddressFirst"))
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	env, err := a.envFresh(ctx, r)
	if err != nil {
		return nil, err
	}
	check, err := env.Client.Check(ctx)
	if err != nil {
		return check, err
	}
	s, serr := a.Settings(ctx)
	if saved, ok := s.Remote(r.ID); serr == nil && ok && check.CredentialsOK &&
		saved.URL == r.URL && saved.Username == r.Username && saved.Password == r.Password {
		_ = a.writeState(ctx, stateKey(r.ID, itemTraits), check.Traits)
		a.mu.Lock()
		delete(a.clients, r.ID) // the next cycle starts from the new traits
		a.mu.Unlock()
	}
	return check, nil
}

// envFresh is env with a client that knows nothing about the server yet.
func (a *App) envFresh(ctx context.Context, r Remote) (cycle.Env, error) {
	env, err := a.env(ctx, r)
	if err != nil {
		return env, err
	}
	c, err := webdav.New(env.Layout.Base, r.Username, r.Password, a.cfg.Transport, a.cfg.WebDAVOptions...)
	if err != nil {
		return env, err
	}
	env.Client = c
	return env, nil
}

// UndoList returns the kept previous local states, newest first.
func (a *App) UndoList(ctx context.Context) ([]local.UndoPoint, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	return st.UndoList(ctx)
}

// Undo restores undo point id locally (as new edits, itself undoable); the
// next cycle uploads it, subject to the mass-change guard. It takes the run
// lock, so it never lands inside a sync cycle's read-merge-apply.
func (a *App) Undo(ctx context.Context, id int64) (int64, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return 0, err
	}
	var rev int64
	err = a.locked(ctx, true, func() error {
		var err error
		rev, err = st.UndoRestore(ctx, id)
		return err
	})
	if errors.Is(err, errkind.Busy) {
		return 0, err
	}
	return rev, err
}
