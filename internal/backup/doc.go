// Package backup is the davsync backup document: the one JSON file that is
// exported, imported, uploaded and downloaded. It parses and validates it
// (gzip recognised by its magic bytes), migrates older versions, and writes
// it back as compact, deterministic bytes.
//
// Records stay raw JSON: they are read with gjson and written by appending
// bytes, so fields this build does not know survive
// Parse -> merge -> Marshal byte for byte, in their original order.
//
// # The document, version 1
//
//	{ "format": "davsync", "version": 1, "exported_at": <ms>,
//	  "collections": {
//	    "accounts": { "records":    [ {"id": "...", "updated_at": <ms>, "_field_times": {...}, ...} ],
//	                  "tombstones": [ {"id": "...", "deleted_at": <ms>} ] } },
//	  "preferences": { "updated_at": <ms>, "values": { ... } } }
//
// "_field_times" maps a field name to the ms it last changed (a name whose
// field is absent records when it was removed); updated_at is never older
// than any of them. See package merge for how they are used.
//
// # Versions
//
//	| version | written by        | change                                  | read by this build     |
//	|---------|-------------------|-----------------------------------------|------------------------|
//	| 1       | davsync 0.1 and on | first format: collections + preferences | as is                  |
//	| > 1     | a newer davsync    | -                                       | refused: NewerVersion  |
//
// Older versions are migrated on read by the table in parse.go (version v to
// v+1, applied in order); this table and that one change together.
//
// # Validation
//
// Parse validates the whole document before returning anything. Each
// failure wraps a sentinel (errors.Is) and carries an errkind kind:
//
//	ErrNotJSON       bad_document   not valid JSON
//	ErrTooDeep       bad_document   arrays/objects nested more than jsonlimit.MaxDepth (512) levels
//	ErrNotDavsync    bad_document   JSON, but no "format": "davsync"
//	ErrBadVersion    bad_document   "version" missing or not a whole number >= 1
//	ErrNewerVersion  newer_version  "version" above Version
//	ErrWrongType     bad_document   a member of the wrong JSON type (collections, records, known account fields, ...)
//	ErrMissingID     bad_document   a record or tombstone without a non-empty string "id"
//	ErrDuplicateID   bad_document   two records (or two tombstones) of one collection with the same id
//	ErrDuplicateKey  bad_document   one object with the same member twice
//	ErrBadTimestamp  bad_document   a timestamp missing where required, not a whole number, negative,
//	                                after the year 3000 (MaxTimestamp), or a field time newer than updated_at
//	ErrTooLarge      too_large      more than limits.Document (64 MiB)
//
// Messages name the place: "accounts record #3 (id "x"): ...", records and
// tombstones counted from 1 in file order. A UTF-8 byte order mark before
// the JSON is ignored.
//
// # Decisions where the spec was silent
//
//   - Collections not declared in Collections (written by a newer build of the
//     same version) are kept and merged by the generic rules instead of
//     being dropped; unknown top-level members are kept in Document.Extra.
//     Unknown members of tombstones and of the preferences wrapper are not
//     kept (only "values" is).
//   - exported_at and preferences are optional (0 / {} when missing); a
//     record's updated_at is required.
//   - A record and a tombstone may share an id: merge keeps both when a
//     record was edited after its deletion, so a later merge with an older
//     replica cannot bring back the fields the deletion removed.
package backup
