// Package local keeps the device's own data: one backup.Document with a
// revision, in a key-value store (chrome.storage.local in the extension,
// memory in tests).
//
// API (what internal/app and internal/cycle call):
//
//	kv := local.NewMemKV()                          // or the wasm chrome.storage KV
//	st, err := local.Open(ctx, kv, hlc.New(wallMs)) // restores the clock past every issued stamp
//	doc, rev, err := st.Load(ctx)                   // a private copy
//	rev, err = st.Update(ctx, func(d *backup.Document) error { ... }) // user edits
//	rev, err = st.UpdateWith(ctx, "import", fn)     // same, keeping an undo point
//	ok, rev, err := st.CompareAndSwap(ctx, rev, doc) // the sync cycle's apply step
//	ok, rev, err = st.CommitIf(ctx, rev, local.Commit{Doc, UndoLabel, State})
//	pts, err := st.UndoList(ctx); rev, err = st.UndoRestore(ctx, id)
//	m, err := st.State(ctx, "sync"); err = st.SetState(ctx, map[string][]byte{...})
//	v := st.Holding(); ...; err = v.Flush(ctx)      // an operation's state writes as one Set
//	kv = local.Cached(kv, 0)                        // memory cache for a KV with one writer
//
// Guarantees:
//   - Every write is one KV.Set call holding the document's new chunks and
//     their list, its revision and the clock (and, with CommitIf, the undo
//     point and sync markers), so a worker killed mid-write leaves the old
//     or the new state, never a mix. Chunks the new list no longer names
//     are deleted only after it landed (see chunks.go), so a one-record
//     edit writes about one chunk, not the document.
//   - A Holding view keeps device-state writes (markers, status) in memory
//     until Flush, or until its next document write carries them in the
//     same Set: they are bookkeeping, and losing them to a stopped worker
//     only makes the next cycle redo work (see Store.Holding).
//   - After a write the Store keeps the written document (a copy) instead
//     of parsing the stored bytes again, when that is what a reload reads.
//   - Writes are serialised; Update always runs on the newest state.
//   - A write that leaves the document byte-for-byte unchanged does not bump
//     the revision (so it does not trigger an upload).
//   - The newest UndoKeep (5) states replaced by a labelled write are kept,
//     by naming their chunks (nothing is copied); restoring one is itself a
//     labelled write, so it can be undone.
//
// Helpers for edits: PutRecord and DeleteRecord keep a collection sorted and
// stamp with the store's clock (see edit.go).
package local
