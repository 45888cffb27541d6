// Package merge merges two davsync documents field by field so that no edit
// is lost and every replica that has seen the same writes holds the same
// bytes.
//
// # Model
//
// Each record carries, beside its fields, the time each field was last
// written, in the reserved member "_field_times" ({field: ms}); a name whose
// field is absent records when the field was removed. updated_at is the
// newest of those times. A record without "_field_times" (an import, an old
// file) counts every field it has as written at its updated_at. Local edits
// go through Edit, which stamps exactly the fields that changed with an
// hybrid-logical-clock time (package hlc).
//
// # Rules (strategy "merge")
//
//  1. Records match by id within a collection. A record one side holds and
//     the other has never seen is taken as it is, byte for byte.
//  2. Each field: the write with the later time wins. Tie-break at equal
//     times: the larger value bytes (compact JSON, compared bytewise) win;
//     a removed field is smaller than any value. updated_at = max of both.
//  3. A tombstone (id, deleted_at) removes every field written at or before
//     deleted_at. So a record whose updated_at is not newer than the
//     deletion is gone, and a record edited after the deletion comes back
//     with the fields written after it; the tombstone then stays beside the
//     record, so an older replica cannot bring back the fields the deletion
//     removed. Of two tombstones of one id the later wins.
//  4. Preferences merge as one object: the later updated_at wins; equal
//     times: the larger bytes. Unknown top-level members (Document.Extra):
//     the larger bytes per name. exported_at: the later.
//  5. Bytes: when the merged record equals one side's version (and that
//     side's tombstone), that side's bytes are kept; if both qualify with
//     different bytes, a non-canonical one wins, then the larger bytes.
//     Otherwise the record is rebuilt canonically: "id", the collection's
//     known fields in declared order, other fields sorted by name,
//     "updated_at", then "_field_times" with every field (sorted). Values
//     always keep their bytes.
//
// Rules 2-4 take a maximum in a fixed total order per field, per tombstone
// and for preferences, so the merge is a join: commutative, associative and
// idempotent; rule 5 depends only on the set of inputs. The property tests
// check all three and the convergence of N replicas syncing in random
// orders, over documents produced by simulated devices.
//
// Why fields written before a deletion stay deleted when a record comes
// back: any rule that revived them would make the result depend on the
// order replicas synced (it is not associative). The full version that
// lost fields is returned in Outcome.Conflicts, so the user can restore it.
//
// # Strategies
//
// "upload_only": the remote becomes a copy of local (local is unchanged).
// "download_only": local becomes a copy of the remote (the remote is
// unchanged). The parentheses ("upload_only (remote becomes local)")
// are read this way: the remote becomes [what] local [is].
//
// # Conflicts, horizon, clocks
//
// A conflict is a field both sides wrote since the last sync (Terms.Base
// holds each record's updated_at at the last sync) with different values,
// or an edit since the last sync on one side against a deletion on the
// other. The winner is applied; the losing version is in Outcome.Conflicts
// (KeepBoth turns it into a new record with a new id).
//
// Tombstones older than the horizon (Terms.TombstoneHorizon, default 180
// days before Terms.Now) are dropped; Stale tells the sync cycle that a
// device whose last sync is older than that must not merge (it would bring
// deleted records back) but be told.
//
// Timestamps more than hlc.Skew (a day) ahead of Terms.Now are accepted,
// and each is named in Outcome.Warnings (at most 20 lines).
package merge
