package protocol

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/provider"
	"github.com/davsync/davsync/internal/transfer"
	"github.com/davsync/davsync/internal/webdav"
)

// None is the params or result of a method that has none ({}).
type None struct{}

// ServerSettings is the first server's settings with what applies to every
// server: what settings.get returns to pages that know one server.
type ServerSettings struct {
	app.Remote
	Notify     bool `json:"notify"`
	Configured bool `json:"configured"`
}

// SettingsReply answers settings.get and settings.save.
type SettingsReply struct {
	Settings ServerSettings `json:"settings"`
	// PasswordCleared: the address moved to another server without a new
	// password, so the old one was dropped (it is never sent there).
	PasswordCleared bool `json:"passwordCleared,omitempty"`
}

// SettingsSave is settings.save's params: members to change ("absent =
// keep"; password and encryption.passphrase are write-only; allowInsecure
// true allows the URL's http:// origin). notify applies to every server.
type SettingsSave struct {
	Settings json.RawMessage `json:"settings"`
}

// RemotesReply answers remotes.list.
type RemotesReply struct {
	Remotes []app.Remote `json:"remotes"`
}

// RemoteSave is remotes.save's params: the remote's members to change; no
// id adds a new remote.
type RemoteSave struct {
	Remote json.RawMessage `json:"remote"`
}

// RemoteReply answers remotes.save.
type RemoteReply struct {
	Remote          app.Remote `json:"remote"`
	PasswordCleared bool       `json:"passwordCleared,omitempty"`
}

// ID names a remote, an account or an undo point.
type ID struct {
	ID string `json:"id"`
}

// Target names the remote a method acts on ("" = the first, or for
// sync.now every enabled remote).
type Target struct {
	Remote string `json:"remote,omitempty"`
}

// TestParams is webdav.test's params: the form's values over the saved
// remote's (an empty password field uses the saved one).
type TestParams struct {
	Target
	Settings json.RawMessage `json:"settings,omitempty"`
}

// CheckReply answers webdav.test; Discovered says where the folder of a
// server given by its bare address was found (the form takes that URL).
type CheckReply struct {
	Check      *webdav.CheckResult `json:"check"`
	Discovered *webdav.Discovery   `json:"discovered,omitempty"`
}

// FoldersParams is webdav.folders' and webdav.mkdir's params: the form's
// values over the saved remote's, and a folder relative to its URL.
type FoldersParams struct {
	TestParams
	Path string `json:"path"`
}

// FoldersReply answers webdav.folders.
type FoldersReply struct {
	Folders []app.Folder `json:"folders"`
	Path    string       `json:"path"`
}

// PathReply answers webdav.mkdir.
type PathReply struct {
	Path string `json:"path"`
}

// ProviderInfo is one provider preset for the server form.
type ProviderInfo struct {
	provider.Preset
	// IntervalFloor is the shortest automatic-sync interval allowed
	// (minutes; 0 none).
	IntervalFloor float64 `json:"intervalFloor"`
}

// ProvidersReply answers providers.list.
type ProvidersReply struct {
	Providers []ProviderInfo `json:"providers"`
}

// FillParams is providers.fill's params: a preset and what the user typed
// for its placeholders.
type FillParams struct {
	ID     string            `json:"id"`
	Inputs map[string]string `json:"inputs"`
}

// URLReply answers providers.fill.
type URLReply struct {
	URL string `json:"url"`
}

// SyncParams is sync.now's params.
type SyncParams struct {
	Target
	// Trigger is alarm, edit or startup for a background sync (see
	// app.SyncOptions); absent for a click.
	Trigger string `json:"trigger,omitempty"`
}

// SyncReply answers sync.now: one remote's result, or, when every enabled
// remote synced, each one's; Result is then the first remote's.
type SyncReply struct {
	Result  *cycle.Result      `json:"result,omitempty"`
	Results []app.RemoteResult `json:"results,omitempty"`
}

// ResultReply answers the operations on one remote.
type ResultReply struct {
	Result *cycle.Result `json:"result"`
}

// StatusReply answers sync.status.
type StatusReply struct {
	Status app.Status `json:"status"`
}

// DownloadParams is backup.download's params.
type DownloadParams struct {
	Target
	Mode string `json:"mode"` // merge | replace
	// AcceptEncryption answers the encryption question about the file
	// whose preview subject it names.
	AcceptEncryption string `json:"acceptEncryption,omitempty"`
}

// SnapshotsReply answers snapshots.list.
type SnapshotsReply struct {
	Snapshots []cycle.Snapshot `json:"snapshots"`
}

// RestoreParams is snapshots.restore's params.
type RestoreParams struct {
	Target
	Name             string `json:"name"`
	Mode             string `json:"mode"` // merge | replace
	AcceptEncryption string `json:"acceptEncryption,omitempty"`
}

// ExportParams is data.export's params.
type ExportParams struct {
	Scope      string `json:"scope,omitempty"` // all | accounts | preferences
	Passphrase string `json:"passphrase,omitempty"`
}

// ExportReply answers data.export.
type ExportReply struct {
	JSON     string `json:"json"`
	Filename string `json:"filename"`
}

// ImportParams is data.import's params.
type ImportParams struct {
	JSON       string `json:"json"`
	Passphrase string `json:"passphrase,omitempty"`
	Mode       string `json:"mode,omitempty"` // merge | add | replace
	DryRun     bool   `json:"dryRun,omitempty"`
	// SkipDuplicates (default true), in add mode, leaves out records that
	// look like existing ones.
	SkipDuplicates *bool `json:"skipDuplicates,omitempty"`
}

// ImportReply answers data.import: the preview (dryRun) or the result.
type ImportReply struct {
	Preview *transfer.ImportPreview `json:"preview,omitempty"`
	Result  *transfer.ImportResult  `json:"result,omitempty"`
}

// AccountsReply answers accounts.list: every account as stored (unknown
// fields kept).
type AccountsReply struct {
	Accounts json.RawMessage `json:"accounts"`
}

// AccountPut is accounts.put's params: the account (no id = new) and base,
// the account as the page showed it (only fields that differ from it are
// changed, so edits made meanwhile elsewhere stay).
type AccountPut struct {
	Account json.RawMessage `json:"account"`
	Base    json.RawMessage `json:"base,omitempty"`
}

// AccountReply answers accounts.put.
type AccountReply struct {
	Account json.RawMessage `json:"account"`
}

// PreferencesValues is preferences.save's params and its reply; preferences.get
// adds when they last changed.
type PreferencesValues struct {
	Values    json.RawMessage `json:"values"`
	UpdatedAt int64           `json:"updatedAt,omitempty"`
}

// ConflictsReply answers conflicts.list.
type ConflictsReply struct {
	Conflicts []app.ConflictInfo `json:"conflicts"`
}

// ResolveParams is conflicts.resolve's params.
type ResolveParams struct {
	ID     string `json:"id"`
	Choice string `json:"choice"` // local | remote | both
}

// UndoReply answers undo.list.
type UndoReply struct {
	Points []local.UndoPoint `json:"points"`
}

// UndoParams is undo.restore's params.
type UndoParams struct {
	ID *int64 `json:"id"`
}

// RevReply answers undo.restore with the revision it wrote.
type RevReply struct {
	Rev int64 `json:"rev"`
}

// LimitsReply answers limits.get.
type LimitsReply struct {
	Limits map[string]int64 `json:"limits"`
}

// Methods is the protocol. Each name is part of the contract with the pages.
var Methods = []Method{
	method("settings.get", false, "the first server's settings (secrets as passwordSet/passphraseSet)",
		func(ctx context.Context, a *app.App, _ None) (SettingsReply, error) {
			return firstServer(ctx, a, false)
		}),
	method("settings.save", false, "changes the first server's settings (adding it if there is none) and notify",
		func(ctx context.Context, a *app.App, p SettingsSave) (SettingsReply, error) {
			if n := gjson.GetBytes(p.Settings, "notify"); n.Exists() {
				if err := a.SetNotify(ctx, n.Bool()); err != nil {
					return SettingsReply{}, err
				}
			}
			s, err := a.Settings(ctx)
			if err != nil {
				return SettingsReply{}, err
			}
			first := s.First()
			id := first.ID
			if len(s.Remotes) == 0 {
				id = ""
			}
			_, cleared, err := a.SaveRemote(ctx, id, p.Settings)
			if err != nil {
				return SettingsReply{}, err
			}
			return firstServer(ctx, a, cleared)
		}),
	method("remotes.list", false, "every server, in order (secrets as passwordSet/passphraseSet)",
		func(ctx context.Context, a *app.App, _ None) (RemotesReply, error) {
			s, err := a.Settings(ctx)
			if err != nil {
				return RemotesReply{}, err
			}
			out := RemotesReply{Remotes: []app.Remote{}}
			for _, r := range s.Remotes {
				out.Remotes = append(out.Remotes, r.Public())
			}
			return out, nil
		}),
	method("remotes.save", false, "adds (no id) or changes a server; absent members keep their value",
		func(ctx context.Context, a *app.App, p RemoteSave) (RemoteReply, error) {
			id := gjson.GetBytes(p.Remote, "id").String()
			r, cleared, err := a.SaveRemote(ctx, id, p.Remote)
			return RemoteReply{Remote: r, PasswordCleared: cleared}, err
		}),
	method("remotes.delete", false, "removes a server from this device (its file on the server and the local data stay)",
		func(ctx context.Context, a *app.App, p ID) (ID, error) {
			return p, a.DeleteRemote(ctx, p.ID)
		}),
	method("webdav.test", false, "the server check (Test connection) with the form's values over the saved ones; a bare host (https://cloud.example.com) is searched for its WebDAV folder first",
		func(ctx context.Context, a *app.App, p TestParams) (CheckReply, error) {
			next, err := formRemote(ctx, a, p, "webdav.test", true)
			if err != nil {
				return CheckReply{}, err
			}
			var found *webdav.Discovery
			if app.BareHost(next.URL) {
				if found, err = a.Discover(ctx, next); err != nil {
					return CheckReply{}, err
				}
				next.URL = found.URL
			}
			check, err := a.Check(ctx, next)
			return CheckReply{Check: check, Discovered: found}, err
		}),
	method("webdav.folders", false, "the folders inside path on the form's server, for the folder picker",
		func(ctx context.Context, a *app.App, p FoldersParams) (FoldersReply, error) {
			next, err := formRemote(ctx, a, p.TestParams, "webdav.folders", false)
			if err != nil {
				return FoldersReply{}, err
			}
			fs, dir, err := a.Folders(ctx, next, p.Path)
			return FoldersReply{Folders: fs, Path: dir}, err
		}),
	method("webdav.mkdir", false, "creates folder path (and those above it) on the form's server",
		func(ctx context.Context, a *app.App, p FoldersParams) (PathReply, error) {
			next, err := formRemote(ctx, a, p.TestParams, "webdav.mkdir", false)
			if err != nil {
				return PathReply{}, err
			}
			dir, err := a.Mkdir(ctx, next, p.Path)
			return PathReply{Path: dir}, err
		}),
	method("providers.list", false, "the WebDAV providers the server form offers, with their URL templates, app-password pages and limits",
		func(context.Context, *app.App, None) (ProvidersReply, error) {
			out := ProvidersReply{Providers: []ProviderInfo{}}
			for _, p := range provider.All() {
				out.Providers = append(out.Providers, ProviderInfo{Preset: p, IntervalFloor: p.IntervalFloor()})
			}
			return out, nil
		}),
	method("providers.fill", false, "the folder URL of a provider for what the user typed (host, user, region), checked so no input can leave its place in the URL",
		func(_ context.Context, _ *app.App, p FillParams) (URLReply, error) {
			pr, ok := provider.Get(p.ID)
			if !ok {
				return URLReply{}, errkind.Internal(errkind.Invalid, "providers.fill", "unknown provider "+quote(p.ID), nil)
			}
			u, err := pr.Fill(p.Inputs)
			if err != nil {
				if errkind.Of(err) == errkind.Unknown {
					return URLReply{}, errkind.Internal(errkind.Invalid, "providers.fill", err.Error(), err)
				}
				return URLReply{}, err
			}
			return URLReply{URL: u}, nil
		}),
	method("sync.now", false, "syncs one server, or every enabled one in order (alarm honours the schedule and backoff; edit and startup sync at once, but not while paused after a rejected password or before the server's Retry-After)",
		func(ctx context.Context, a *app.App, p SyncParams) (SyncReply, error) {
			so := app.SyncOptions{Trigger: p.Trigger}
			if p.Remote != "" {
				res, err := a.Sync(ctx, p.Remote, so)
				return SyncReply{Result: res}, err
			}
			results, err := a.SyncAll(ctx, so)
			if err != nil {
				return SyncReply{}, err
			}
			out := SyncReply{Results: results}
			if len(results) == 1 && !results[0].OK {
				// One server: its failure is the call's.
				return SyncReply{}, results[0].Err()
			}
			if len(results) > 0 {
				out.Result = results[0].Result
			}
			if len(results) == 0 {
				return out, errkind.Say(errkind.NotConfigured, "sync", msg.New("errNotConfigured"))
			}
			return out, nil
		}),
	method("sync.status", false, "the status: every server's and the worst for the badge",
		func(ctx context.Context, a *app.App, _ None) (StatusReply, error) {
			st, err := a.Status(ctx)
			return StatusReply{Status: st}, err
		}),
	method("sync.confirm", false, "runs the cycle a question held, if it still asks no more than the preview showed (for the same settings); else it is held again with a new preview",
		func(ctx context.Context, a *app.App, p Target) (ResultReply, error) {
			id, err := heldRemote(ctx, a, p.Remote)
			if err != nil {
				return ResultReply{}, err
			}
			res, err := a.Sync(ctx, id, app.SyncOptions{Trigger: "confirm", Confirm: true})
			return ResultReply{Result: res}, err
		}),
	method("backup.upload", false, "the server's file := this device's data; the old file is kept as a snapshot",
		func(ctx context.Context, a *app.App, p Target) (ResultReply, error) {
			id, err := remoteID(ctx, a, p.Remote)
			if err != nil {
				return ResultReply{}, err
			}
			res, err := a.Upload(ctx, id)
			return ResultReply{Result: res}, err
		}),
	method("backup.download", false, "merges the server's data in, or replaces this device's with it (kept as an undo point); a file in the other encryption form fails with needs_confirmation and error.detail = the preview, and acceptEncryption: its subject takes that file only",
		func(ctx context.Context, a *app.App, p DownloadParams) (ResultReply, error) {
			id, err := remoteID(ctx, a, p.Remote)
			if err != nil {
				return ResultReply{}, err
			}
			mode, err := syncMode("backup.download", p.Mode)
			if err != nil {
				return ResultReply{}, err
			}
			res, err := a.Download(ctx, id, mode, app.SyncOptions{AcceptEncryption: p.AcceptEncryption})
			return ResultReply{Result: res}, err
		}),
	method("snapshots.list", false, "a server's snapshots, newest first",
		func(ctx context.Context, a *app.App, p Target) (SnapshotsReply, error) {
			id, err := remoteID(ctx, a, p.Remote)
			if err != nil {
				return SnapshotsReply{}, err
			}
			snaps, err := a.Snapshots(ctx, id)
			if snaps == nil {
				snaps = []cycle.Snapshot{}
			}
			return SnapshotsReply{Snapshots: snaps}, err
		}),
	method("snapshots.restore", true, "brings a snapshot's data back (merge: records this device lacks; replace: all of it) and syncs; the encryption question as for backup.download",
		func(ctx context.Context, a *app.App, p RestoreParams) (ResultReply, error) {
			id, err := remoteID(ctx, a, p.Remote)
			if err != nil {
				return ResultReply{}, err
			}
			if p.Name == "" {
				return ResultReply{}, errkind.Internal(errkind.Invalid, "snapshots.restore", "which snapshot? name is missing", nil)
			}
			mode, err := syncMode("snapshots.restore", p.Mode)
			if err != nil {
				return ResultReply{}, err
			}
			res, err := a.RestoreSnapshot(ctx, id, p.Name, mode, app.SyncOptions{AcceptEncryption: p.AcceptEncryption})
			return ResultReply{Result: res}, err
		}),
	method("data.export", false, "this device's data as a file (encrypted with passphrase)",
		func(ctx context.Context, a *app.App, p ExportParams) (ExportReply, error) {
			b, name, err := a.Export(ctx, transfer.Scope(p.Scope), p.Passphrase)
			return ExportReply{JSON: string(b), Filename: name}, err
		}),
	method("data.import", true, "previews (dryRun) or applies a davsync or All API Hub file",
		func(ctx context.Context, a *app.App, p ImportParams) (ImportReply, error) {
			skip := p.SkipDuplicates == nil || *p.SkipDuplicates
			res, err := a.Import(ctx, app.ImportRequest{Data: []byte(p.JSON), Passphrase: p.Passphrase,
				Mode: transfer.Mode(p.Mode), SkipDuplicates: skip, DryRun: p.DryRun})
			if err != nil {
				return ImportReply{}, err
			}
			if p.DryRun {
				return ImportReply{Preview: &res.ImportPreview}, nil
			}
			return ImportReply{Result: &res}, nil
		}),
	method("accounts.list", false, "every account",
		func(ctx context.Context, a *app.App, _ None) (AccountsReply, error) {
			raw, err := a.Accounts(ctx)
			return AccountsReply{Accounts: raw}, err
		}),
	method("accounts.put", true, "creates (no id) or edits an account",
		func(ctx context.Context, a *app.App, p AccountPut) (AccountReply, error) {
			raw, err := a.PutAccount(ctx, p.Account, p.Base)
			return AccountReply{Account: raw}, err
		}),
	method("accounts.delete", true, "deletes an account (a tombstone syncs the deletion)",
		func(ctx context.Context, a *app.App, p ID) (ID, error) {
			return p, a.DeleteAccount(ctx, p.ID)
		}),
	method("preferences.get", false, "the synced preferences (theme: light|dark|system, language: auto or a shipped language, ...)",
		func(ctx context.Context, a *app.App, _ None) (PreferencesValues, error) {
			v, at, err := a.Preferences(ctx)
			return PreferencesValues{Values: v, UpdatedAt: at}, err
		}),
	method("preferences.save", true, "replaces the preferences object",
		func(ctx context.Context, a *app.App, p PreferencesValues) (PreferencesValues, error) {
			v, err := a.SavePreferences(ctx, p.Values)
			return PreferencesValues{Values: v}, err
		}),
	method("conflicts.list", false, "the versions merges lost, for the user to choose",
		func(ctx context.Context, a *app.App, _ None) (ConflictsReply, error) {
			cs, err := a.Conflicts(ctx)
			return ConflictsReply{Conflicts: cs}, err
		}),
	method("conflicts.resolve", true, "keeps local, remote or both versions of a conflict",
		func(ctx context.Context, a *app.App, p ResolveParams) (None, error) {
			return None{}, a.ResolveConflict(ctx, p.ID, p.Choice)
		}),
	method("undo.list", false, "the kept previous local states, newest first",
		func(ctx context.Context, a *app.App, _ None) (UndoReply, error) {
			pts, err := a.UndoList(ctx)
			if pts == nil {
				pts = []local.UndoPoint{}
			}
			return UndoReply{Points: pts}, err
		}),
	method("undo.restore", true, "goes back to an undo point (itself undoable)",
		func(ctx context.Context, a *app.App, p UndoParams) (RevReply, error) {
			if p.ID == nil {
				return RevReply{}, errkind.Internal(errkind.Invalid, "undo.restore", "which undo point? id is missing", nil)
			}
			rev, err := a.Undo(ctx, *p.ID)
			return RevReply{Rev: rev}, err
		}),
	method("limits.get", false, "the bounds Go enforces (internal/limits): bytes, nesting levels, KDF iterations",
		func(context.Context, *app.App, None) (LimitsReply, error) {
			return LimitsReply{Limits: limits.Table()}, nil
		}),
}

// formRemote is the remote as the server form has it: its values over the
// saved remote's, valid as saving requires (encryption aside unless asked:
// the folder picker runs before a passphrase is typed), and never with a
// password saved for another server.
func formRemote(ctx context.Context, a *app.App, p TestParams, op string, withEncryption bool) (app.Remote, error) {
	r, err := remote(ctx, a, p.Remote)
	if err != nil {
		return app.Remote{}, err
	}
	next, cleared, err := r.Edit(p.Settings)
	if err != nil {
		return app.Remote{}, err
	}
	if !withEncryption {
		next.Encryption.Enabled = false
	}
	if err := next.Validate(); err != nil {
		return app.Remote{}, err
	}
	if cleared {
		return app.Remote{}, errkind.Say(errkind.Auth, op, msg.New("errPasswordOrigin", origin(r.URL), origin(next.URL)))
	}
	return next, nil
}

// firstServer is settings.get's reply.
func firstServer(ctx context.Context, a *app.App, cleared bool) (SettingsReply, error) {
	s, err := a.Settings(ctx)
	if err != nil {
		return SettingsReply{}, err
	}
	r := s.First().Public()
	return SettingsReply{Settings: ServerSettings{Remote: r, Notify: s.Notify, Configured: r.Configured()}, PasswordCleared: cleared}, nil
}

// remote returns remote id, or the first remote ("" = server 1, a new one
// when there is none).
func remote(ctx context.Context, a *app.App, id string) (app.Remote, error) {
	s, err := a.Settings(ctx)
	if err != nil {
		return app.Remote{}, err
	}
	if id == "" {
		return s.First(), nil
	}
	r, ok := s.Remote(id)
	if !ok {
		return app.Remote{}, errkind.Say(errkind.NotFound, "remote", msg.New("errNoServer", strconv.Quote(id)))
	}
	return r, nil
}

// remoteID is the id of remote id or of the first remote.
func remoteID(ctx context.Context, a *app.App, id string) (string, error) {
	r, err := remote(ctx, a, id)
	return r.ID, err
}

// heldRemote is the remote a confirmation answers: the one named, or the
// first that holds a question.
func heldRemote(ctx context.Context, a *app.App, id string) (string, error) {
	if id != "" {
		return remoteID(ctx, a, id)
	}
	st, err := a.Status(ctx)
	if err != nil {
		return "", err
	}
	for _, r := range st.Remotes {
		if r.Status.State == app.StateNeedsConfirmation {
			return r.ID, nil
		}
	}
	return remoteID(ctx, a, "")
}

func syncMode(op, m string) (string, error) {
	switch m {
	case "", "merge":
		return "merge", nil
	case "replace":
		return "replace", nil
	}
	return "", errkind.Internal(errkind.Invalid, op, "mode must be merge or replace", nil)
}

// origin is a URL's scheme://host for a message.
func origin(raw string) string {
	r := app.Remote{URL: raw}
	return r.Origin()
}
