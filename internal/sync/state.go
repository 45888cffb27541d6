package sync

import (
	"context"
	"encoding/json"

	"github.com/davsync/davsync/internal/merge"
)

// Device-state keys (local.StatePrefix is added by the store). Persisted
// format: never rename one, only add.
const (
	keyMarker    = "sync.marker"
	keyBase      = "sync.base"
	keyStatus    = "sync.status"
	keyConflicts = "sync.conflicts"
	keyAuth      = "sync.auth"
	keySalt      = "sync.salt"
	keyKDFFailed = "sync.kdf_failed"
)

// marker is what the device knows about the remote file as of its last
// successful cycle. It moves only after a write the server confirmed (2xx)
// and a read-back that matched, or after a read that showed the remote
// unchanged.
type marker struct {
	// Target is the folder URL + file the marker belongs to; a different
	// URL starts over as a first sync.
	Target string `json:"target"`
	// File is the path of the remote file, relative to the layout base.
	File string `json:"file"`
	// Exists says the remote file existed after the last cycle.
	Exists bool `json:"exists"`
	// ETag is the remote file's ETag as of the last cycle ("" unknown).
	ETag string `json:"etag,omitempty"`
	// Hash is the SHA-256 of the remote file's bytes as of the last cycle.
	Hash string `json:"hash,omitempty"`
	// Written is when this device last wrote the file (ms, device clock).
	Written int64 `json:"written,omitempty"`
	// Settled says ETag has been confirmed by a full read made well after
	// the write that produced it (see "settling" in cycle.go).
	Settled bool `json:"settled,omitempty"`
	// LocalRev is the local revision whose document equals the remote.
	LocalRev int64 `json:"local_rev"`
	// Encrypted says the remote was an encrypted envelope.
	Encrypted bool `json:"encrypted,omitempty"`
	// LastSync is the last successful cycle (ms).
	LastSync int64 `json:"last_sync,omitempty"`
	// NoCopy: the server refused COPY; snapshots are uploaded instead.
	NoCopy bool `json:"no_copy,omitempty"`
	// LastSnapshot is when this device last made a snapshot (ms).
	LastSnapshot int64 `json:"last_snapshot,omitempty"`
}

// Counts is merge.Counts with JSON names.
type Counts struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
}

func countsOf(c merge.Changes) map[string]Counts {
	out := make(map[string]Counts, len(c))
	for k, v := range c {
		out[k] = Counts{Added: v.Added, Updated: v.Updated, Deleted: v.Deleted, Unchanged: v.Unchanged}
	}
	return out
}

// ErrorInfo is a failure as a page shows it.
type ErrorInfo struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	At      int64  `json:"at"` // ms
	// RetryAfter is when the server allows the next try (ms, 0 unknown).
	RetryAfter int64 `json:"retry_after,omitempty"`
}

// The engine's states.
const (
	StateIdle              = "idle"
	StateSyncing           = "syncing"
	StateNeedsConfirmation = "needs_confirmation"
	StateNeedsAttention    = "needs_attention"
	StateError             = "error"
)

// Status is what a page renders about sync. It is persisted after every
// cycle, so it survives the worker being stopped.
type Status struct {
	State string `json:"state"`
	// LastSuccess is the last successful cycle (ms, 0 never).
	LastSuccess int64 `json:"last_success"`
	// LastAttempt is when the last cycle started (ms).
	LastAttempt int64 `json:"last_attempt"`
	// LastLocal / LastRemote: what the last successful cycle changed on
	// each side, per collection.
	LastLocal  map[string]Counts `json:"last_local,omitempty"`
	LastRemote map[string]Counts `json:"last_remote,omitempty"`
	// LastError is the last failure (nil after a success).
	LastError *ErrorInfo `json:"last_error,omitempty"`
	// NextRun is when the next automatic cycle is due (ms); 0 when
	// automatic sync is off or paused.
	NextRun int64 `json:"next_run"`
	// Paused is set after an authentication failure: automatic sync waits
	// until the settings change.
	Paused bool `json:"paused,omitempty"`
	// Failures counts consecutive failed cycles (drives the backoff).
	Failures int `json:"failures,omitempty"`
	// Conflicts is how many conflicts wait for the user.
	Conflicts int `json:"conflicts"`
	// Preview is set in needs_confirmation: what the held cycle would do.
	Preview *Preview `json:"preview,omitempty"`
	// Warnings of the last cycle (e.g. timestamps far in the future).
	Warnings []string `json:"warnings,omitempty"`

	// PausedFor is the (salted) settings fingerprint the pause belongs to.
	PausedFor string `json:"paused_for,omitempty"`
	// PreviewFor binds Preview to the settings it was computed for.
	PreviewFor string `json:"preview_for,omitempty"`
	// Answered are earlier questions of the held cycle the user confirmed.
	Answered []*Preview `json:"answered,omitempty"`
}

// Preview is what a cycle held by the mass-change guard would do.
type Preview struct {
	// Reason: "mass_change", "stale_device", "encryption_change" or
	// "unreadable_remote".
	Reason string            `json:"reason"`
	Local  map[string]Counts `json:"local"`
	Remote map[string]Counts `json:"remote"`
	// Examples names a few records that would be deleted or replaced.
	Examples []Example `json:"examples,omitempty"`
	// Message explains the reason in words.
	Message string `json:"message"`
	// Subject identifies what an encryption_change question is about (the
	// hash of the server file's bytes): a confirmation answers that file
	// only, never one swapped in after the question was asked.
	Subject string `json:"subject,omitempty"`
}

// Example is one record a held cycle would delete or replace.
type Example struct {
	Side       string `json:"side"` // "local" or "remote"
	Collection string `json:"collection"`
	ID         string `json:"id"`
	Name       string `json:"name,omitempty"`
	Change     string `json:"change"` // "deleted" or "replaced"
}

func (e *Engine) readJSON(ctx context.Context, key string, v any) (bool, error) {
	m, err := e.store.State(ctx, key)
	if err != nil {
		return false, err
	}
	b, ok := m[key]
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

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("sync: marshal state: " + err.Error())
	}
	return b
}
