package app

import (
	"context"
	"encoding/json"

	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/webdav"
)

// The upgrade from davsync 0.1, which knew one server: its settings become
// remote "1" (migrateSettings) and its device state and secrets move under
// that remote's names. Nothing about the server changes: the same URL, the
// same folder (davsync/ inside it), the same markers, so the next cycle is
// an ordinary one, not a first sync. The settings are written last: a
// worker stopped halfway migrates again from the old keys, which are only
// removed after that.

// 0.1's keys.
const (
	v1Marker     = "sync.marker"
	v1Base       = "sync.base"
	v1Status     = "sync.status"
	v1Auth       = "sync.auth"
	v1Salt       = "sync.salt"
	v1Conflicts  = "sync.conflicts"
	v1KDFFailed  = "sync.kdf_failed"
	v1Trigger    = "davsync.engine.trigger"
	v1SessPhrase = "davsync.session.passphrase"
	v1SessKey    = "davsync.session.key"
	v1Remembered = "davsync.key"
)

// v1Status is 0.1's persisted status.
type v1StatusJSON struct {
	State       string        `json:"state"`
	LastSuccess int64         `json:"last_success"`
	LastAttempt int64         `json:"last_attempt"`
	LastLocal   merge.Changes `json:"last_local"`
	LastRemote  merge.Changes `json:"last_remote"`
	LastError   *struct {
		Kind       string `json:"kind"`
		Message    string `json:"message"`
		At         int64  `json:"at"`
		RetryAfter int64  `json:"retry_after"`
	} `json:"last_error"`
	NextRun  int64            `json:"next_run"`
	Failures int              `json:"failures"`
	Preview  *cycle.Preview   `json:"preview"`
	Warnings []string         `json:"warnings"`
	Answered []*cycle.Preview `json:"answered"`
}

// v1Conflict is 0.1's conflict log entry.
type v1Conflict struct {
	ID         string          `json:"id"`
	Collection string          `json:"collection"`
	RecordID   string          `json:"record_id"`
	Name       string          `json:"name"`
	Fields     []FieldWinner   `json:"fields"`
	Deleted    bool            `json:"deleted"`
	DeletedBy  string          `json:"deleted_by"`
	Loser      string          `json:"loser"`
	Local      json.RawMessage `json:"local"`
	Remote     json.RawMessage `json:"remote"`
	Merged     json.RawMessage `json:"merged"`
	At         int64           `json:"at"`
}

// migrateState upgrades a 0.1 profile, once. It is a no-op for a profile
// already at SettingsVersion and for a fresh one.
func migrateState(ctx context.Context, kv, session local.KV, st *local.Store) error {
	m, err := kv.Get(ctx, keySettings, v1Trigger)
	if err != nil {
		return err
	}
	s, upgraded, err := migrateSettings(m[keySettings])
	if err != nil || !upgraded {
		return nil // damaged settings are reported by Settings
	}
	state, err := st.State(ctx, v1Marker, v1Base, v1Status, v1Auth, v1Salt, v1Conflicts, v1KDFFailed)
	if err != nil {
		return err
	}
	out := map[string][]byte{}
	if b := state[v1Salt]; b != nil {
		out[keySalt] = b
	}
	if b := state[v1Conflicts]; b != nil {
		var old []v1Conflict
		if json.Unmarshal(b, &old) == nil {
			log := make([]ConflictInfo, 0, len(old))
			for _, c := range old {
				log = append(log, ConflictInfo{ID: c.ID, Collection: c.Collection, RecordID: c.RecordID, Name: c.Name, RemoteID: "1",
					Fields: c.Fields, Deleted: c.Deleted, DeletedBy: c.DeletedBy, Loser: c.Loser,
					Local: c.Local, Remote: c.Remote, Merged: c.Merged, At: c.At})
			}
			out[keyConflicts] = mustJSON(log)
		}
	}
	if len(s.Remotes) > 0 {
		id := s.Remotes[0].ID
		for old, item := range map[string]string{v1Marker: "marker", v1Base: "base", v1KDFFailed: itemKDF} {
			if b := state[old]; b != nil {
				out[stateKey(id, item)] = b
			}
		}
		if b := state[v1Status]; b != nil {
			var old v1StatusJSON
			if json.Unmarshal(b, &old) == nil {
				ns := RemoteStatus{State: old.State, LastSync: old.LastSuccess, LastAttempt: old.LastAttempt, NextRun: old.NextRun,
					Failures: old.Failures, Preview: old.Preview, Warnings: plain(old.Warnings), Trigger: string(m[v1Trigger])}
				if old.LastLocal != nil || old.LastRemote != nil {
					ns.LastChanges = &CycleChanges{Local: old.LastLocal, Remote: old.LastRemote}
				}
				if e := old.LastError; e != nil {
					ns.Error = &ErrorInfo{Kind: e.Kind, Message: e.Message, At: e.At, RetryAfter: e.RetryAfter}
				}
				// A pause was bound to 0.1's fingerprint of the settings,
				// which no longer exists: the next scheduled cycle tries
				// once and pauses again if the password is still rejected.
				out[stateKey(id, itemStatus)] = mustJSON(ns)
			}
		}
		if b := state[v1Auth]; b != nil {
			var a struct {
				Basic  bool `json:"basic"`
				Digest bool `json:"digest"`
			}
			if json.Unmarshal(b, &a) == nil && (a.Basic || a.Digest) {
				scheme := "basic"
				if a.Digest {
					scheme = "digest"
				}
				out[stateKey(id, itemTraits)] = mustJSON(webdav.Traits{Login: &webdav.AuthState{Scheme: scheme}})
			}
		}
		sess, err := session.Get(ctx, v1SessPhrase, v1SessKey)
		if err == nil {
			moved := map[string][]byte{}
			if b := sess[v1SessPhrase]; len(b) > 0 {
				moved[sessionPassphrase+id] = b
			}
			if b := sess[v1SessKey]; len(b) > 0 {
				moved[sessionKey+id] = b
			}
			if len(moved) > 0 {
				_ = session.Set(ctx, moved)
			}
		}
		if rm, err := kv.Get(ctx, v1Remembered); err == nil && rm[v1Remembered] != nil {
			if err := kv.Set(ctx, map[string][]byte{rememberedKey + id: rm[v1Remembered]}); err != nil {
				return err
			}
		}
	}
	if len(out) > 0 {
		if err := st.SetState(ctx, out); err != nil {
			return err
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := kv.Set(ctx, map[string][]byte{keySettings: b}); err != nil {
		return err
	}
	_ = st.DeleteState(ctx, v1Marker, v1Base, v1Status, v1Auth, v1Salt, v1Conflicts, v1KDFFailed)
	_ = kv.Delete(ctx, v1Trigger, v1Remembered)
	_ = session.Delete(ctx, v1SessPhrase, v1SessKey)
	return nil
}

// plain turns a 0.1 status's warnings (English text) into messages.
func plain(ws []string) []msg.Msg {
	var out []msg.Msg
	for _, w := range ws {
		out = append(out, msg.Plain(w))
	}
	return out
}
