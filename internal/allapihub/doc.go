// Package allapihub reads the backup files of the All API Hub browser
// extension (the closest peer, see shared/docs/peers.md) and turns them into
// a davsync backup document, so its users can move over in one step.
//
// # Shapes accepted
//
// Detection is by content, never by file name. A JSON object is an All API
// Hub backup when it is not a davsync document and holds at least one of
// their sections: "accounts", "preferences", "tagStore", "channelConfigs",
// "apiCredentialProfiles", or a legacy "data" object holding "accounts" or
// "preferences". Versions:
//
//   - no "version" (or null): 1.0. Accounts are read from "accounts" when it
//     is an array, else "accounts.accounts", else "data.accounts"; bookmarks,
//     preferences and tagStore likewise from the top level or from "data".
//     Accounts of that age may carry tag names in "tags" instead of "tagIds".
//   - "2.0", "3.0", "4.0": the flat shape of peers.md. "accounts" is the
//     account storage object ({accounts, bookmarks, pinnedAccountIds,
//     orderedAccountIds, deletedEntryRecords, last_updated}) or, in early
//     2.0 files, a plain array. "tagStore" is optional before 4.0.
//     Partial exports ("type": "accounts" | "preferences") hold one section.
//   - any other version is refused: a higher number with
//     errkind.NewerVersion, anything else with errkind.BadDocument.
//
// The encrypted envelope ({"type": "all-api-hub-webdav-backup-encrypted",
// "v": 1, "kdf": "PBKDF2", "iter", "salt", "iv", "ct"}) is opened with
// envelope.OpenAllAPIHub, which bounds "iter"; the plain text inside is then
// read as above.
//
// # Mapping
//
// Each account becomes one davsync account record with the same id:
// site_name, site_url, account_info.username -> username,
// account_info.access_token -> access_token, notes, disabled, created_at,
// tags, updated_at, and the original account object, whole and compacted,
// under "x_allapihub", so nothing the user had is thrown away and a later
// export still carries it.
//
// updated_at is user_updated_at when the account has one, else updated_at,
// else created_at, else the file's timestamp, else the import time. All API
// Hub stamps updated_at on every background balance refresh (their #547), so
// max(updated_at, user_updated_at) would make a refresh look like an edit
// and let a stale import beat a real davsync edit in merge mode;
// user_updated_at is the time a person last changed the account, which is
// what every davsync field mapped here is about. The original updated_at
// stays inside x_allapihub.
//
// tagIds are resolved to names through tagStore.tagsById. An id with no tag
// in the store is kept as its id string, so the accounts that shared it stay
// grouped and visible (the user can rename the tag); the report says how many.
// Legacy "tags" string arrays are appended; names are de-duplicated in order.
//
// deletedEntryRecords of kind "account" (or without a kind) become
// tombstones at deletedAt (entryUpdatedAt when deletedAt is missing). When
// an account and its deletion record are both in the file, the newer wins:
// the record when its updated_at is after deletedAt, else the tombstone.
//
// Preferences: themeMode (light, dark, system) -> "theme" and language
// (en*, zh / zh_CN / zh-CN / zh-Hans) -> "language" ("en" or "zh_CN"), with
// lastUpdated as the preferences' updated_at. Every other preference key is
// listed by name in the report as not imported; WebDAV settings in
// particular, which are device-local in davsync. Values of keys that are not
// imported are never copied anywhere (they include passwords and tokens).
//
// Sections davsync does not hold (bookmarks, pinned and ordered ids,
// deleted-bookmark records, channelConfigs, apiCredentialProfiles, tags no
// account uses, unknown sections) are counted in Report.NotImported.
package allapihub
