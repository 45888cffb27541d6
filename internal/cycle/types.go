package cycle

import (
	"context"
	"encoding/json"
	"time"

	"github.com/davsync/davsync/internal/msg"

	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/layout"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/webdav"
)

// Env is what a cycle runs against: the device's data and one remote.
type Env struct {
	// Store is the device's data and device state.
	Store *local.Store
	// Prefix scopes this remote's device state (markers, base) in Store,
	// so several remotes keep theirs apart.
	Prefix string
	// Source names the remote in the undo points its merges leave.
	Source string
	// Client talks to the remote's server; its Traits say what the
	// server honours, and it learns more from the answers.
	Client *webdav.Client
	// Layout is where the sync file and snapshots are.
	Layout layout.Layout
	// Keys opens and seals the sync file.
	Keys Keys
	// Log keeps the versions a merge lost, for the user to choose.
	Log ConflictLog
	// Now is the wall clock (record timestamps come from Store's clock).
	Now func() time.Time
	// Progress, when set, is told each phase the cycle enters (the Phase
	// constants); the client's SetProgress tells the bytes within one.
	Progress func(phase string)
	// Hooks are test seams.
	Hooks Hooks
}

// Keys opens and seals encrypted sync files; the app layer implements it
// over its passphrase and key cache.
type Keys interface {
	// Unwrap peels a sync file or snapshot as stored (encryption, gzip)
	// down to the document's bytes. auto marks a cycle nobody clicked
	// for: it must not derive a key for a header that failed before.
	Unwrap(ctx context.Context, data []byte, auto bool) (*envelope.Unwrapped, error)
	// SealKey returns the key to encrypt an upload with: the one that
	// opened the remote, or a new one for a new passphrase.
	SealKey(ctx context.Context) (*envelope.Key, error)
}

// ConflictLog keeps the versions a merge lost.
type ConflictLog interface {
	// Add returns the device-state items that record cs, to write in the
	// same commit as the merged document that holds their winners, and
	// how many of them are new.
	Add(ctx context.Context, cs []merge.Conflict) (map[string][]byte, int, error)
}

// Hooks are test seams.
type Hooks struct {
	// BeforeApply runs after the network read and merge, before the merge
	// is applied locally: a test edits the store here to prove the edit is
	// merged, not lost.
	BeforeApply func(ctx context.Context)
}

// Options is everything one cycle needs to know beyond Env: the remote's
// settings, how it was started and what the user answered.
type Options struct {
	// Strategy is merge, upload_only or download_only (an Upload or a
	// Download replace sets the one-way strategy for its cycle).
	Strategy merge.Strategy
	// Compress gzips the sync file; Encrypt seals it with Keys.
	Compress, Encrypt bool
	// SnapshotKeep is how many snapshots to keep (0: none); a snapshot is
	// taken at most every SnapshotInterval before the file is replaced.
	SnapshotKeep     int
	SnapshotInterval time.Duration
	// GuardPercent and GuardMinRecords tune the mass-change guard (a
	// negative percent disables it).
	GuardPercent, GuardMinRecords int
	// Horizon is how long deletions are remembered.
	Horizon time.Duration

	// Auto marks a cycle nobody clicked for (the schedule, an edit).
	Auto bool
	// Confirm answers the mass-change guard (and, without AnswerHeld, any
	// of its questions: the user chose an Upload, Download or restore).
	Confirm bool
	// AnswerHeld makes Confirm answer only the questions in Held: a cycle
	// that would now delete more, or for other settings, asks again.
	AnswerHeld bool
	Held       []*Preview
	// AllowEncryptionChange replaces a remote in the other encryption form
	// without asking (Upload: nothing of the remote reaches this device).
	AllowEncryptionChange bool
	// AcceptEncryption answers the encryption question about the file
	// whose Preview.Subject it names.
	AcceptEncryption string
	// ForceRead ignores the stored ETag and reads the remote; ForceSnapshot
	// keeps the remote as a snapshot before replacing it, whatever the
	// interval; ReplaceSide says a whole side is replaced (the guard counts
	// updates); AskStale asks the stale-device question even under Confirm.
	ForceRead, ForceSnapshot, ReplaceSide, AskStale bool
	// UndoLabel names the undo point the merge leaves ("sync" if empty).
	UndoLabel string
}

// Result says what a cycle did. It is the result of every sync operation
// in the message protocol, so its JSON names are the protocol's.
type Result struct {
	// Skipped is set when a scheduled cycle did not run; SkipReason says
	// why (not_configured, auto_sync_off, paused_auth, not_due,
	// retry_after, disabled).
	Skipped    bool   `json:"skipped,omitempty"`
	SkipReason string `json:"skipReason,omitempty"`
	// Requests, BytesUp and BytesDown count the cycle's HTTP traffic.
	Requests  int   `json:"requests"`
	BytesUp   int64 `json:"bytesUp"`
	BytesDown int64 `json:"bytesDown"`
	// Uploaded: the remote file was replaced. Applied: the local data changed.
	Uploaded bool `json:"uploaded"`
	Applied  bool `json:"applied"`
	// Local and Remote: what changed on each side, per collection.
	Local  merge.Changes `json:"local,omitempty"`
	Remote merge.Changes `json:"remote,omitempty"`
	// Conflicts is how many new conflicts the cycle logged.
	Conflicts int       `json:"conflicts"`
	Warnings  []msg.Msg `json:"warnings,omitempty"`
	// Checked says Warnings were computed over the data this cycle synced.
	// A cycle that found nothing changed did not look, so the status keeps
	// the warnings of the last one that did.
	Checked bool `json:"-"`
	// Snapshot names the snapshot made before the remote was replaced.
	Snapshot string `json:"snapshot,omitempty"`
	// FollowUp: a race with another device was detected; sync again soon.
	FollowUp bool `json:"followUp,omitempty"`
	// Rounds is how many read-merge-write rounds the cycle needed.
	Rounds int `json:"rounds"`
	// Preview is set when the cycle stopped for confirmation.
	Preview *Preview `json:"preview,omitempty"`
}

// Preview is what a held cycle would do.
type Preview struct {
	// Reason: "mass_change", "stale_device", "encryption_change" or
	// "unreadable_remote".
	Reason string        `json:"reason"`
	Local  merge.Changes `json:"local"`
	Remote merge.Changes `json:"remote"`
	// Examples names a few records that would be deleted, replaced or
	// added.
	Examples []Example `json:"examples,omitempty"`
	// Message explains the reason in English; Note is the same as a
	// message key with parameters, for the pages to say in the user's
	// language.
	Message string   `json:"message"`
	Note    *msg.Msg `json:"note,omitempty"`
	// Subject identifies what an encryption_change question is about (the
	// hash of the server file's bytes): a confirmation answers that file
	// only, never one swapped in after the question was asked.
	Subject string `json:"subject,omitempty"`
}

// Example is one record a held cycle would delete, replace or add.
type Example struct {
	Side       string `json:"side"` // "local" or "remote"
	Collection string `json:"collection"`
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Change     string `json:"change"` // "deleted", "replaced" or "added"
}

// Snapshot describes one snapshot on the server.
type Snapshot struct {
	Name string `json:"name"`
	// Time is when it was taken (ms), read from its name.
	Time int64 `json:"time"`
	Size int64 `json:"size"`
}

// Device-state keys, under Env.Prefix. Persisted format: never rename one,
// only add.
const (
	keyMarker    = "marker"
	keyBase      = "base"
	keyKDFFailed = "kdf_failed"
)

// marker is what the device knows about the remote file as of its last
// successful cycle. It moves only after a write the server confirmed (2xx)
// and a read-back that matched, or after a read that showed the remote
// unchanged.
type marker struct {
	// Target is the sync file the marker belongs to (layout.Target); a
	// different one starts over as a first sync.
	Target string `json:"target"`
	// File is the path of the remote file, relative to the layout base.
	File string `json:"file"`
	// Exists says the remote file existed after the last cycle.
	Exists bool `json:"exists"`
	// ETag is the remote file's ETag as of the last cycle ("" unknown).
	ETag string `json:"etag,omitempty"`
	// Hash is the SHA-256 of the remote file's bytes as of the last cycle.
	Hash string `json:"hash,omitempty"`
	// Size is the remote file's length as of the last cycle.
	Size int64 `json:"size,omitempty"`
	// Written is when this device last wrote the file (ms, device clock).
	Written int64 `json:"written,omitempty"`
	// Settled says ETag has been confirmed by a full read made well after
	// the write that produced it (see settled()).
	Settled bool `json:"settled,omitempty"`
	// LocalRev is the local revision whose document equals the remote.
	LocalRev int64 `json:"local_rev"`
	// Encrypted says the remote was an encrypted envelope.
	Encrypted bool `json:"encrypted,omitempty"`
	// LastSync is the last successful cycle (ms).
	LastSync int64 `json:"last_sync,omitempty"`
	// LastSnapshot is when this device last made a snapshot (ms).
	LastSnapshot int64 `json:"last_snapshot,omitempty"`
}

// LastSync returns when the remote of env last synced successfully (ms, 0
// never): the stale-device question and the status read it.
func LastSync(ctx context.Context, env Env) (int64, error) {
	var m marker
	_, err := readState(ctx, env, keyMarker, &m)
	return m.LastSync, err
}

func readState(ctx context.Context, env Env, key string, v any) (bool, error) {
	k := env.Prefix + key
	m, err := env.Store.State(ctx, k)
	if err != nil {
		return false, err
	}
	b, ok := m[k]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		// Damaged device state is dropped, never fatal: the worst outcome is
		// a full first-sync merge, which cannot lose an edit.
		return false, nil
	}
	return true, nil
}

func writeState(ctx context.Context, env Env, items map[string]any) error {
	out := make(map[string][]byte, len(items))
	for k, v := range items {
		out[env.Prefix+k] = mustJSON(v)
	}
	return env.Store.SetState(ctx, out)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("cycle: marshal state: " + err.Error())
	}
	return b
}
