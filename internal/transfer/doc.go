// Package transfer exports davsync's data to a file and imports files into
// it: davsync exports (plain, gzip, encrypted) and All API Hub backups
// (plain and encrypted, see internal/allapihub).
//
// Change to the team contract: the contract names both the function and its
// result "Plan"; Go cannot have both in one package, so the function is
// Plan and the type it returns is ImportPlan.
//
// # Applying a plan (the engine's part)
//
//	doc, rev, _ := store.Load(ctx)
//	plan, err := transfer.Plan(doc, data, transfer.ImportOptions{..., Now: clock.Now()})
//	// show plan.Preview; on confirmation:
//	clock.Observe(plan.Stamp)
//	ok, _, err := store.CompareAndSwap(ctx, rev, plan.Doc) // keep doc for undo
//	// !ok: the store changed meanwhile; plan again from the new state
//	// plan.Conflicts go to the conflict log like a sync's
//
// An import is always planned first: Plan reads the file, validates all of
// it, and computes the document the local store would hold afterwards plus a
// Preview of what changes, without touching anything. The caller (the
// engine) shows the preview, and on confirmation swaps the planned document
// in with a compare-and-swap on the store revision the plan was made from,
// keeping the previous state for undo. If the store moved in between, the
// caller plans again: a plan never overwrites an edit it did not see.
//
// Input is detected by content: gzip (also as base64 text or a base64 data
// URL, for pages that read files as text), the davsync envelope, a davsync
// document, or an All API Hub backup (plain or encrypted); a UTF-8 BOM and
// surrounding whitespace of pasted text are ignored.
//
// # Limits and the messages users see
//
//   - Input above limits.Import (32 MiB), or gzip that expands beyond it, is
//     errkind.TooLarge, refused before any parsing: "The file is 40.0 MiB;
//     davsync imports files up to 32 MiB. ..."
//   - Nesting deeper than jsonlimit.MaxDepth (512) is found by a linear byte
//     scan before any recursive parser runs: errkind.BadDocument "The file
//     nests JSON more than 512 levels deep, ..."
//   - Input that ends inside a string or with unclosed brackets:
//     errkind.BadDocument "The file ends in the middle of its JSON: it looks
//     cut short ..."; anything else that is not JSON: "The file is not JSON
//     ..."; JSON that is neither backup kind: "The file is JSON but neither
//     a davsync export nor an All API Hub backup ..."
//   - Encrypted input without a passphrase: errkind.PassphraseNeeded; a wrong
//     one: errkind.Decrypt (messages from internal/envelope).
//   - Wrong field types, duplicate ids, bad timestamps and newer versions
//     come from backup.Parse (davsync files) or allapihub.Convert (All API
//     Hub files), each naming the place in the file; errkind.NewerVersion
//     for a newer version.
//
// Every refusal happens before a plan exists, so nothing is ever applied
// from a file that is wrong anywhere.
//
// # Modes (per section: "accounts" and "preferences")
//
//   - merge: merge.Merge with the imported data as the remote side and
//     merge.NewBase(local) as the base, i.e. field-level last writer wins by
//     time, tombstones included. Records both sides hold are not conflicts
//     merely for differing; a file record this device deleted after the
//     file's version stays deleted and comes back in ImportPlan.Conflicts,
//     so the user can restore it from the conflict list.
//   - add: only records whose id this device has never seen (neither a
//     record nor a tombstone: add never undoes a deletion made here) are
//     added; existing records are never changed and nothing is deleted.
//     With SkipDuplicates, records that look like an existing one under
//     another id are not added either. For preferences: only keys this
//     device does not have.
//   - replace: the section becomes the file's. So that the result also wins
//     on the next sync, changed records are re-stamped with merge.Edit at
//     Plan.Stamp, records missing from the file get tombstones at
//     Plan.Stamp, and a record the file holds but this device had deleted is
//     revived at Plan.Stamp.
//   - skip: the section is left alone.
//
// A section the file does not hold (an accounts-only export, a
// preferences-only All API Hub export) is always skipped, whatever the mode,
// so "replace" can never wipe data the file simply did not carry. Exports
// mark their scope in the top-level member "export_scope".
//
// All API Hub preferences hold only theme and language: they are laid over
// the local preferences key by key instead of replacing the object.
//
// # Duplicates
//
// A record that the import would add under a new id is a likely duplicate
// when an existing record has the same normalised site_url (scheme, a
// leading "//" and trailing slashes ignored, host lower-cased, path kept)
// and the same username (surrounding spaces ignored). Records without a
// site_url are never duplicates.
package transfer
