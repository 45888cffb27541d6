package app

import (
	"context"
	"encoding/json"

	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
)

// The states of a remote, and of the device as the worst of its remotes'.
const (
	StateIdle              = "idle"
	StateSyncing           = "syncing"
	StateNeedsConfirmation = "needs_confirmation"
	StateNeedsAttention    = "needs_attention"
	StateError             = "error"
	// StateNotConfigured: no server is set up yet; StateNeverSynced: a
	// server is set up but has not synced yet (the first screen says what
	// to do next instead of "up to date").
	StateNotConfigured = "not_configured"
	StateNeverSynced   = "never_synced"
)

// severity orders states for the badge: the worst remote decides.
var severity = map[string]int{
	StateNotConfigured: 0, StateIdle: 1, StateNeverSynced: 2, StateSyncing: 3,
	StateError: 4, StateNeedsAttention: 5, StateNeedsConfirmation: 6,
}

// ErrorInfo is a failure as the pages show it: a kind they translate and
// Go's message (English, for logs and the command line).
type ErrorInfo struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	At      int64  `json:"at,omitempty"` // ms
	// RetryAfter is when the server allows the next try (ms, 0 unknown).
	RetryAfter int64 `json:"retryAfter,omitempty"`
	// Detail is what the page needs to act on the error (the preview a
	// confirmation must name), as errkind.Error.Detail.
	Detail json.RawMessage `json:"detail,omitempty"`
	// Notes are Message as message keys, outermost first, for the pages to
	// show in the user's language (errkind.Notes).
	Notes []msg.Msg `json:"notes,omitempty"`
}

// ErrorOf describes err for the pages.
func ErrorOf(err error) *ErrorInfo {
	if err == nil {
		return nil
	}
	return &ErrorInfo{Kind: string(errkind.Of(err)), Message: errkind.Message(err), Detail: errkind.DetailOf(err), Notes: errkind.Notes(err)}
}

// RemoteStatus is one remote's sync status. It is persisted after every
// operation (so a page opened later or a restarted worker shows the last
// outcome); the fields marked internal are bookkeeping the protocol omits
// (Public).
type RemoteStatus struct {
	State string `json:"state"`
	// LastSync is the last successful cycle (ms, 0 never); LastAttempt
	// when the last one started.
	LastSync    int64 `json:"lastSync"`
	LastAttempt int64 `json:"lastAttempt"`
	// LastChanges is what the last successful cycle changed on each side.
	LastChanges *CycleChanges `json:"lastChanges,omitempty"`
	// Error is the last failure (nil after a success).
	Error *ErrorInfo `json:"error"`
	// NextRun is when the next automatic cycle is due (ms); 0 when
	// automatic sync is off or paused.
	NextRun int64 `json:"nextRun"`
	// Paused: automatic sync waits for new settings after the server
	// rejected the password.
	Paused bool `json:"paused,omitempty"`
	// Preview is set in needs_confirmation: what the held cycle would do.
	Preview *cycle.Preview `json:"preview,omitempty"`
	// Warnings of the last cycle that looked (clocks far ahead, ...).
	Warnings []msg.Msg `json:"warnings,omitempty"`
	// Trigger is what started the last cycle (manual, alarm, edit, ...).
	Trigger string `json:"trigger,omitempty"`
	// Progress is how far a running sync got (only while syncing).
	Progress *Progress `json:"progress,omitempty"`

	// Internal: consecutive failures (the backoff), the settings
	// fingerprint a pause and a held preview belong to, and the earlier
	// questions of a held cycle the user already confirmed.
	Failures   int              `json:"failures,omitempty"`
	PausedFor  string           `json:"pausedFor,omitempty"`
	PreviewFor string           `json:"previewFor,omitempty"`
	Answered   []*cycle.Preview `json:"answered,omitempty"`
}

// Progress is how far a running sync got: its phase (cycle.Phase*) and,
// in a download or upload, the bytes moved of how many (-1 not known).
type Progress struct {
	Phase string `json:"phase"`
	Done  int64  `json:"done,omitempty"`
	Total int64  `json:"total,omitempty"`
}

// CycleChanges is what a cycle changed on each side, per collection.
type CycleChanges struct {
	Local  merge.Changes `json:"local"`
	Remote merge.Changes `json:"remote"`
}

// Public returns st without the internal bookkeeping.
func (st RemoteStatus) Public() RemoteStatus {
	st.Failures, st.PausedFor, st.PreviewFor, st.Answered = 0, "", "", nil
	return st
}

// RemoteState names one remote's status for the pages.
type RemoteState struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Status RemoteStatus `json:"status"`
}

// Status is what sync.status returns and the worker broadcasts: the
// device's state (the worst of its remotes'), what the badge and the popup
// need, and every remote's own status. The embedded RemoteStatus is the
// first remote's, for pages that know one server; its State is shadowed by
// the device's.
type Status struct {
	RemoteStatus
	State      string        `json:"state"`
	Configured bool          `json:"configured"`
	Conflicts  int           `json:"conflicts"`
	Notify     bool          `json:"notify"`
	Remotes    []RemoteState `json:"remotes"`
	// The worst remote's id, for the badge and the notification.
	Worst string `json:"worst,omitempty"`
}

// loadStatus returns remote id's persisted status (a fresh one if none).
func (a *App) loadStatus(ctx context.Context, id string) *RemoteStatus {
	st := &RemoteStatus{State: StateIdle}
	if ok, _ := a.readState(ctx, stateKey(id, itemStatus), st); !ok {
		st = &RemoteStatus{State: StateIdle}
	}
	return st
}

func (a *App) saveStatus(ctx context.Context, id string, st *RemoteStatus) error {
	return a.writeState(ctx, stateKey(id, itemStatus), st)
}

// remoteStatus is remote r's status as the pages see it: a status left at
// "syncing" by a worker stopped mid-cycle reads as an interrupted sync the
// next one retries; a pause ends once the settings changed; a remote that
// never synced says so.
func (a *App) remoteStatus(ctx context.Context, r Remote, running bool) RemoteStatus {
	st := a.loadStatus(ctx, r.ID)
	if st.State == StateSyncing && !running {
		st.State = StateError
		st.Error = ErrorOf(errkind.Say(errkind.Canceled, "", msg.New("errInterrupted")))
		st.Error.At = st.LastAttempt
	}
	if st.Paused && (st.PausedFor != a.fingerprint(ctx, r) || !r.AutoSync) {
		// A pause belongs to the settings that were rejected, and speaks of
		// automatic sync: with it off there is nothing paused.
		st.Paused = false
	}
	if running {
		st.State = StateSyncing
		a.mu.Lock()
		if p := a.progress; p != nil {
			c := *p
			st.Progress = &c
		}
		a.mu.Unlock()
	} else {
		st.Progress = nil
	}
	switch {
	case !r.Configured():
		st.State = StateNotConfigured
	case st.State == StateIdle && st.LastSync == 0 && st.Error == nil:
		st.State = StateNeverSynced
	}
	return st.Public()
}

// Status returns the device's status: every remote's, and the worst of
// them for the badge.
func (a *App) Status(ctx context.Context) (Status, error) {
	s, err := a.Settings(ctx)
	if err != nil {
		return Status{State: StateNotConfigured}, err
	}
	a.mu.Lock()
	syncing := a.syncing
	a.mu.Unlock()
	out := Status{State: StateNotConfigured, Notify: s.Notify, Remotes: []RemoteState{}}
	if n, err := a.conflictCount(ctx); err == nil {
		out.Conflicts = n
	}
	worst := -1
	for i, r := range s.Remotes {
		rs := a.remoteStatus(ctx, r, syncing > 0 && a.isSyncing(r.ID))
		out.Remotes = append(out.Remotes, RemoteState{ID: r.ID, Name: r.Label(), Status: rs})
		if r.Configured() {
			out.Configured = true
		}
		if !r.Enabled && rs.State != StateSyncing {
			continue
		}
		if sev := severity[rs.State]; sev > worst {
			worst, out.State, out.Worst = sev, rs.State, r.ID
		}
		if i == 0 {
			out.RemoteStatus = rs
		}
	}
	return out, nil
}

// isSyncing reports whether an operation of remote id runs in this worker.
func (a *App) isSyncing(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.active == id
}

// emitStatus tells the platform the status changed. Broadcasts are
// serialised, each computed when its turn comes: one that was delayed
// (operateLocked's "syncing") can never deliver an older state after a
// newer one.
func (a *App) emitStatus(ctx context.Context) {
	a.emitMu.Lock()
	defer a.emitMu.Unlock()
	if st, err := a.Status(ctx); err == nil {
		a.cfg.OnStatus(st)
	}
}
