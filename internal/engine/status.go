package engine

import (
	"context"
	"encoding/json"

	"github.com/davsync/davsync/internal/errkind"
	dsync "github.com/davsync/davsync/internal/sync"
)

// Status is what sync.status returns and what the worker broadcasts as
// {type: "sync.status", status}. It is sync.Status (persisted by the sync
// engine, so a page opened later or a restarted worker shows the last
// outcome) in the protocol's names, plus what only this worker knows.
type Status struct {
	// State: "idle", "syncing", "needs_confirmation", "needs_attention" or "error".
	State       string         `json:"state"`
	Configured  bool           `json:"configured"`
	LastSync    int64          `json:"lastSync"`    // ms, last cycle that completed; 0 never
	LastAttempt int64          `json:"lastAttempt"` // ms, start of the last cycle
	Trigger     string         `json:"trigger,omitempty"`
	LastChanges *ChangesPair   `json:"lastChanges,omitempty"`
	Error       *ErrorInfo     `json:"error"`
	Conflicts   int            `json:"conflicts"`
	Notify      bool           `json:"notify"`
	NextRun     int64          `json:"nextRun"`
	Paused      bool           `json:"paused,omitempty"`
	Preview     *dsync.Preview `json:"preview,omitempty"`
	Warnings    []string       `json:"warnings,omitempty"`
}

// ChangesPair is what the last cycle changed on each side, per collection.
type ChangesPair struct {
	Local  map[string]dsync.Counts `json:"local"`
	Remote map[string]dsync.Counts `json:"remote"`
}

// ErrorInfo is the {kind, message} every failure carries.
type ErrorInfo struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// ErrorOf converts err for the protocol.
func ErrorOf(err error) *ErrorInfo {
	if err == nil {
		return nil
	}
	return &ErrorInfo{Kind: string(errkind.Of(err)), Message: errkind.Message(err)}
}

// keyTrigger remembers what started the last cycle (shown in the status).
const keyTrigger = "davsync.engine.trigger"

// currentStatus is the sync engine's persisted status completed with the
// settings and whether a cycle runs in this worker now.
func (e *Engine) currentStatus(ctx context.Context) Status {
	s := Status{State: "idle"}
	set, _ := e.LoadSettings(ctx)
	s.Configured = set.URL != ""
	s.Notify = set.Notify
	if se, err := e.syncEngine(ctx); err == nil {
		if st, err := se.Status(ctx); err == nil && st != nil {
			s.State = st.State
			s.LastSync = st.LastSuccess
			s.LastAttempt = st.LastAttempt
			s.Conflicts = st.Conflicts
			s.NextRun = st.NextRun
			// Paused speaks of automatic sync; with it off there is
			// nothing paused, and the error already says what to fix.
			s.Paused = st.Paused && set.AutoSync
			s.Preview = st.Preview
			s.Warnings = st.Warnings
			if st.LastLocal != nil || st.LastRemote != nil {
				s.LastChanges = &ChangesPair{Local: st.LastLocal, Remote: st.LastRemote}
			}
			if st.LastError != nil {
				s.Error = &ErrorInfo{Kind: st.LastError.Kind, Message: st.LastError.Message}
			}
		}
	}
	if m, err := e.cfg.KV.Get(ctx, keyTrigger); err == nil {
		s.Trigger = string(m[keyTrigger])
	}
	e.statusMu.Lock()
	if e.syncing > 0 {
		s.State = "syncing"
	}
	e.statusMu.Unlock()
	if s.State == "" {
		s.State = "idle"
	}
	return s
}

// emitStatus tells the worker the status changed.
func (e *Engine) emitStatus(ctx context.Context) {
	b, err := json.Marshal(e.currentStatus(ctx))
	if err != nil {
		return
	}
	e.cfg.OnStatus(b)
}

func (e *Engine) syncStatus(ctx context.Context, _ []byte) (any, error) {
	return map[string]any{"status": e.currentStatus(ctx)}, nil
}
