// Package cycle is davsync's sync cycle: it makes the device's data
// (local.Store) and one sync file on a WebDAV server equal, with as few
// requests as possible and without ever losing an edit. It also keeps the
// snapshots of that file and restores them. The app layer (internal/app)
// runs it for each remote, owns the settings, the status, the schedule and
// the secrets, and hands a cycle everything it needs: an Env (the store,
// this remote's client, layout and keys) and one Options value.
//
//	res, err := cycle.Run(ctx, env, cycle.Options{Strategy: merge.StrategyMerge, Compress: true, ...})
//	snaps, err := cycle.Snapshots(ctx, env)
//	err = cycle.Restore(ctx, env, opts, name, "merge"|"replace") // then Run
//
// Every error is an *errkind.Error; errkind.NeedsConfirmation comes with a
// Result whose Preview says what would change (and the error's Detail holds
// the same preview for the page).
//
// # One cycle (see cycle.go for the data-safety argument at each write)
//
//   - Nothing changed: one request. On a server that answers conditional
//     GETs (Traits.ConditionalGet) a GET If-None-Match answered 304; on one
//     that does not, or whose GETs carry no ETag (npm webdav-server: both),
//     a PROPFIND Depth 0 for the ETag. There the ETag that goes with a body
//     the cycle read is asked for just before the GET (run.get says why
//     that order).
//     Right after a write on a server whose ETags are built from whole
//     seconds and the size (nginx), the ETag is not trusted until it is
//     "settled" (seen at least 2 s after the file's Last-Modified): until
//     then the one request is a plain GET compared by content hash.
//   - Only local changes: the probe, PUT guarded by the ETag (If-Match, or
//     the WebDAV If header on a server whose ETags turn weak after a write),
//     and a confirm: PROPFIND Depth 0 (the ETag the PUT returned, our size)
//     or, on servers whose PUT answer has no ETag, a GET whose bytes must
//     equal ours. When an hourly snapshot is due, + COPY + PROPFIND of the
//     snapshots folder (pruning, and a DELETE when more than the kept
//     number exist).
//   - Remote changed: GET, merge, apply locally (compare-and-swap against
//     the revision read; on failure re-merge with the new local state), and
//     only if the merge differs from the remote: PUT + confirm. 412 =
//     someone wrote meanwhile: re-read, re-merge, retry (at most 4 rounds).
//     A 412 although the re-read shows the very bytes the condition stood
//     for (a server or proxy that refuses every If-Match) makes the next
//     write unconditional, confirmed by read-back. A confirm that shows
//     other bytes (a server that ignored the condition, or dropped the
//     write while answering 2xx) is handled the same way and asks for an
//     early follow-up cycle. Markers (ETag, hash, base, revision) move only
//     after a confirmed write.
//   - Questions before anything changes: a remote in the other encryption
//     form (with encryption on, a plaintext file is what someone who can
//     write to the server but lacks the passphrase would put there); a
//     mass change (more than GuardPercent of at least GuardMinRecords
//     records deleted on either side, or replaced when a whole side is
//     replaced); a device whose last sync is older than the tombstone
//     horizon (merging it would resurrect records deleted elsewhere). Each
//     stops the cycle with errkind.NeedsConfirmation and a Preview; the
//     answer (Options.Confirm, AnswerHeld with the held previews,
//     AcceptEncryption) covers only what was previewed.
//   - Download replace (and download_only) with no sync file, or a 0-byte
//     one, fails with errkind.NotFound instead of emptying this device.
//   - Snapshots are listed, pruned and restored only for this sync file (a
//     file URL's snapshots/ folder may be shared), and pruning never
//     deletes the snapshot the cycle just made.
//
// Where the files are is package layout; what the server keeps of its
// promises is webdav.Traits, read from the client.
package cycle
