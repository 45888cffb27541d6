// Package sync is davsync's sync cycle: it keeps the device's local.Store
// and one file on a WebDAV server equal, with as few requests as possible
// and without ever losing an edit.
//
// # API (what internal/engine calls)
//
//	e := sync.NewEngine(sync.Config{
//	    Store:     st,                 // *local.Store
//	    Transport: t,                  // webdav.Transport (jsfetch in the browser)
//	    KDF:       kdf,                // envelope.KDF (WebCrypto in the browser); nil = envelope.GoKDF
//	    Settings:  func(ctx) (sync.Settings, error) { ... }, // device-local settings, read every call
//	    KeyStore:  sessionKeys,        // optional: derived key in chrome.storage.session
//	})
//	res, err := e.Cycle(ctx, sync.CycleOptions{Auto: true})      // alarm: skipped unless due
//	res, err  = e.Cycle(ctx, sync.CycleOptions{})                // "Sync now"
//	res, err  = e.Cycle(ctx, sync.CycleOptions{Confirm: true})   // after needs_confirmation
//	res, err  = e.Upload(ctx, opts)                              // remote := local (old remote kept as a snapshot)
//	res, err  = e.Download(ctx, "merge"|"replace", opts)         // merge remote in, or local := remote
//	snaps, err := e.Snapshots(ctx)                               // newest first
//	res, err  = e.RestoreSnapshot(ctx, name, "merge"|"replace", opts)
//	cs, err   := e.Conflicts(ctx)
//	err        = e.ResolveConflict(ctx, id, "local"|"remote"|"both")
//	pts, err  := e.UndoList(ctx); rev, err := e.Undo(ctx, id)
//	st, err   := e.Status(ctx)                                   // persisted; render it as is
//	chk, err  := e.CheckServer(ctx)                              // Test Connection; remembers the traits
//
// Every result type is JSON-serialisable with snake_case keys. Every error
// is an *errkind.Error; errkind.NeedsConfirmation comes with a result whose
// Preview says what would change. Only one cycle or operation runs at a
// time; a second gets errkind.Busy.
//
// # Remote layout
//
// Settings.URL is a folder: the file is <folder>/davsync/davsync.json,
// snapshots are in <folder>/davsync/snapshots/. A URL ending in ".json" (or
// ".json.gz") names the file itself; snapshots go in "snapshots/" beside it.
// Decided here (deviation from the issue): with compression on the content
// is gzip but the name stays davsync.json. Settings are per device, and two
// devices with different compression settings that first sync at the same
// moment would otherwise create two files and never see each other's data
// (the randomized test found that). An existing davsync.json.gz, when there
// is no davsync.json, is adopted. Readers detect gzip and encryption by
// content, never by name.
//
// # One cycle (see cycle.go for the data-safety argument at each write)
//
//   - Nothing changed: one conditional GET answered 304, zero bytes up.
//     Right after a write on a server whose ETags are built from whole
//     seconds and the size (nginx), the ETag is not trusted until it is
//     "settled" (seen at least 2 s after the file's Last-Modified): until
//     then the one request is a plain GET compared by content hash.
//   - Only local changes: conditional GET (304), PUT If-Match, and a
//     confirm: PROPFIND Depth 0 (the ETag the PUT returned, our size) or,
//     on servers whose PUT answer has no ETag (Apache, nginx), a GET whose
//     bytes must equal ours: 3 requests. When an hourly
//     snapshot is due, + COPY + PROPFIND of the snapshots folder (pruning,
//     and a DELETE when more than SnapshotKeep exist).
//   - Remote changed: GET, merge, apply locally (compare-and-swap against
//     the revision read; on failure re-merge with the new local state), and
//     only if the merge differs from the remote: PUT If-Match + confirm.
//     412 = someone wrote meanwhile: re-read, re-merge, retry (at most 4
//     rounds). A 412 although the re-read shows the very bytes the If-Match
//     stood for (a server or proxy that refuses every If-Match) makes the
//     next write unconditional, confirmed by read-back. A confirm that
//     shows other bytes (a server that ignored If-Match, or dropped the
//     write while answering 2xx) is handled the same way and schedules an early follow-up cycle. Markers (ETag, hash,
//     base, revision) move only after a confirmed write.
//   - Mass-change guard: a cycle that would delete more than GuardPercent
//     (default 50) of at least GuardMinRecords (10) records on either side,
//     or replace them when a whole side is replaced (upload, download
//     replace, a non-merge strategy), stops before writing and returns
//     errkind.NeedsConfirmation with a Preview. It looks at every remote a
//     cycle merges, also one re-read after a 412. Decided here: ordinary
//     merged updates do not count, because field-level merge cannot lose a
//     field and counting them made peers' guards fire on every long absence.
//   - A device whose last sync is older than the tombstone horizon gets
//     errkind.NeedsConfirmation (reason "stale") instead of resurrecting
//     records deleted elsewhere; Download replace or Confirm resolves it.
//     Editing the URL does not reset that age.
//   - Download replace (and the download_only strategy) with no sync file,
//     or a 0-byte one, on the server fails with errkind.NotFound instead of
//     emptying this device.
//   - Snapshots are listed, pruned and restored only for this sync file
//     (a file URL's snapshots/ folder may be shared), and pruning never
//     deletes the snapshot the cycle just made.
//
// # Status and schedule
//
// Status is persisted in the store's device state after every cycle. A
// failure backs off exponentially (30 s doubling, at most 1 h) or until the
// server's Retry-After (found anywhere in the error chain), whichever is
// later. An auth failure pauses automatic cycles until the settings (URL,
// username or password) change. The engine
// does not run timers: the extension's alarm calls Cycle{Auto:true} and
// Status.NextRun says when the next one is due.
package sync
