package msg

// English is every message in English, by key; extension/_locales/en holds
// the same words (msg_test.go checks), the other locales translate them.
// A plural message has two entries, key_one and key_other.
var English = map[string]string{
	// The server check's notes (webdav.CheckResult.Warnings).
	"noteInsecure":           "the connection to $1 is not encrypted (http://): the password and your data cross the network readable by anyone on the way; use https:// if the server offers it",
	"noteClockOffset":        "the server's clock differs from this device's by $1 s; davsync copes, but check the clocks if changes seem to come out of order",
	"noteIgnoresIfNoneMatch": "the server ignores If-None-Match: * (it overwrote an existing file); davsync re-reads after writing to notice other devices",
	"noteIgnoresIfMatch":     "the server ignores If-Match (it accepted a write against a made-up version); davsync re-reads after writing to notice other devices",
	"noteNoETags":            "the server reports no ETags; davsync compares file contents instead",
	"noteRefusesIfMatch":     "the server refuses If-Match even with the file's current ETag; davsync cannot rely on conditional writes here",
	"noteNoMoveOverwrite":    "the server cannot MOVE a file over an existing one (it answered $1); davsync writes backups in place instead, nothing to do",

	// The questions a held cycle asks (cycle.Preview.Note).
	"askMassDeleteLocal_one":     "this sync would delete $1 record on this device, more than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot.",
	"askMassDeleteLocal_other":   "this sync would delete $1 records on this device, more than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot.",
	"askMassDeleteRemote_one":    "this sync would delete $1 record on the server, more than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot.",
	"askMassDeleteRemote_other":  "this sync would delete $1 records on the server, more than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot.",
	"askMassDeleteBoth":          "this sync would delete $1 records on this device and $2 records on the server, more than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot.",
	"askMassReplace":             "this sync would replace more records than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot.",
	"askStale_one":               "this device last synced more than $1 day ago; deletions made elsewhere since then are forgotten, so merging could bring deleted records back. Download (replace) to take the server's data, or confirm to merge anyway.",
	"askStale_other":             "this device last synced more than $1 days ago; deletions made elsewhere since then are forgotten, so merging could bring deleted records back. Download (replace) to take the server's data, or confirm to merge anyway.",
	"askEncryptedRemote":         "the sync file on the server is encrypted but encryption is off on this device; turn encryption on with the same passphrase, or confirm that the server copy should be stored unencrypted from now on",
	"askPlainRemote":             "encryption is on, but the sync file on the server is not encrypted. If encryption was not turned off on purpose on another device, someone who can write to the server may have replaced the file: do not confirm, restore a snapshot instead. Confirm to take the file and store it encrypted from now on.",
	"askPlainRemoteCounts_one":   "encryption is on, but the sync file on the server is not encrypted. It holds $1 record; taking it would add $2 and change or delete $3 on this device$4. If encryption was not turned off on purpose on another device, someone who can write to the server may have replaced the file: do not confirm, restore a snapshot instead. Confirm to take the file and store it encrypted from now on.",
	"askPlainRemoteCounts_other": "encryption is on, but the sync file on the server is not encrypted. It holds $1 records; taking it would add $2 and change or delete $3 on this device$4. If encryption was not turned off on purpose on another device, someone who can write to the server may have replaced the file: do not confirm, restore a snapshot instead. Confirm to take the file and store it encrypted from now on.",

	// The import preview's notes (transfer.ImportPreview).
	"importNonWebURLs_one":    "1 account in the file has a site address that is not an http:// or https:// web address (for example $2); davsync shows such addresses as text, never as a link.",
	"importNonWebURLs_other":  "$1 accounts in the file have a site address that is not an http:// or https:// web address (for example $2); davsync shows such addresses as text, never as a link.",
	"importNoAccounts":        "The file holds no accounts; accounts on this device stay as they are.",
	"importNoPreferences":     "The file holds no preferences davsync uses; preferences on this device stay as they are.",
	"importDeletedHere_one":   "1 record in the file was deleted on this device; add does not bring it back (merge or replace would).",
	"importDeletedHere_other": "$1 records in the file were deleted on this device; add does not bring them back (merge or replace would).",

	// Warnings of a cycle (cycle.Result.Warnings).
	"warnServerClockAhead_one":   "the server's clock is $1 day ahead of this device's; check this device's date and time (until then davsync stamps edits after the server's time)",
	"warnServerClockAhead_other": "the server's clock is $1 days ahead of this device's; check this device's date and time (until then davsync stamps edits after the server's time)",
}
