package engine

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/davsync/davsync/internal/errkind"
)

// Settings are this device's connection and sync settings. They live in the
// KV under their own key and never inside a backup document, so credentials
// never reach the server, an export, or another device.
type Settings struct {
	URL             string     `json:"url"`
	Username        string     `json:"username"`
	Password        string     `json:"password,omitempty"`
	Strategy        string     `json:"strategy"`        // merge | upload_only | download_only
	AutoSync        bool       `json:"autoSync"`        // run a cycle every IntervalMinutes and after edits
	IntervalMinutes float64    `json:"intervalMinutes"` // default 60
	SyncOnStartup   bool       `json:"syncOnStartup"`
	Encryption      Encryption `json:"encryption"`
	Compress        bool       `json:"compress"`
	SnapshotsKeep   int        `json:"snapshotsKeep"` // default 5
	Notify          bool       `json:"notify"`        // show a notification when sync needs the user
}

// Encryption says whether the server file is encrypted. A passphrase the
// user does not want remembered is kept in the session store only.
type Encryption struct {
	Enabled    bool   `json:"enabled"`
	Passphrase string `json:"passphrase,omitempty"`
	Remember   bool   `json:"remember"`
}

// PublicSettings is what settings.get returns: the settings without the
// secrets, plus whether each secret is set.
type PublicSettings struct {
	URL             string           `json:"url"`
	Username        string           `json:"username"`
	PasswordSet     bool             `json:"passwordSet"`
	Strategy        string           `json:"strategy"`
	AutoSync        bool             `json:"autoSync"`
	IntervalMinutes float64          `json:"intervalMinutes"`
	SyncOnStartup   bool             `json:"syncOnStartup"`
	Encryption      PublicEncryption `json:"encryption"`
	Compress        bool             `json:"compress"`
	SnapshotsKeep   int              `json:"snapshotsKeep"`
	Notify          bool             `json:"notify"`
	Configured      bool             `json:"configured"` // a server address is set
}

// PublicEncryption is Encryption without the passphrase.
type PublicEncryption struct {
	Enabled       bool `json:"enabled"`
	PassphraseSet bool `json:"passphraseSet"`
	Remember      bool `json:"remember"`
}

// MinIntervalMinutes is the shortest auto-sync interval accepted. Browsers
// clamp packed extensions' alarms to 30 s anyway; shorter values exist for
// tests of unpacked builds.
const MinIntervalMinutes = 0.05

const (
	keySettings       = "davsync.settings"
	keySessionPhrase  = "davsync.session.passphrase"
	defaultInterval   = 60
	defaultSnapshots  = 5
	maxSnapshotsKeep  = 50
	maxIntervalMinute = 7 * 24 * 60
)

// DefaultSettings are the settings of a fresh install.
func DefaultSettings() Settings {
	return Settings{
		Strategy:        "merge",
		IntervalMinutes: defaultInterval,
		SnapshotsKeep:   defaultSnapshots,
		Notify:          true,
		Compress:        true,
		Encryption:      Encryption{Remember: true},
	}
}

// Public returns s without secrets.
func (s Settings) Public() PublicSettings {
	return PublicSettings{
		URL: s.URL, Username: s.Username, PasswordSet: s.Password != "",
		Strategy: s.Strategy, AutoSync: s.AutoSync, IntervalMinutes: s.IntervalMinutes,
		SyncOnStartup: s.SyncOnStartup, Compress: s.Compress, SnapshotsKeep: s.SnapshotsKeep,
		Notify: s.Notify, Configured: s.URL != "",
		Encryption: PublicEncryption{Enabled: s.Encryption.Enabled, PassphraseSet: s.Encryption.Passphrase != "", Remember: s.Encryption.Remember},
	}
}

// validate checks s and normalises it in place.
func (s *Settings) validate() error {
	const op = "settings.save"
	s.URL = strings.TrimSpace(s.URL)
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errkind.New(errkind.Invalid, op, "the server address must start with https:// (or http://) and name a host, for example https://cloud.example.com/remote.php/dav/files/me/")
		}
		if u.User != nil {
			return errkind.New(errkind.Invalid, op, "put the user name and password in their own fields, not in the server address")
		}
		if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s.URL, "#") {
			return errkind.New(errkind.Invalid, op, "the server address must be the WebDAV folder itself, without \"?\" or \"#\" parts (a web page address is not a WebDAV folder), for example https://cloud.example.com/remote.php/dav/files/me/")
		}
	}
	switch s.Strategy {
	case "":
		s.Strategy = "merge"
	case "merge", "upload_only", "download_only":
	default:
		return errkind.New(errkind.Invalid, op, "the strategy must be merge, upload_only or download_only")
	}
	if s.IntervalMinutes == 0 {
		s.IntervalMinutes = defaultInterval
	}
	if s.IntervalMinutes < MinIntervalMinutes || s.IntervalMinutes > maxIntervalMinute {
		return errkind.New(errkind.Invalid, op, "the sync interval must be between 1 minute and 7 days")
	}
	if s.SnapshotsKeep < 0 || s.SnapshotsKeep > maxSnapshotsKeep {
		return errkind.New(errkind.Invalid, op, "keep between 0 and 50 snapshots")
	}
	if s.Encryption.Enabled && s.Encryption.Passphrase == "" {
		return errkind.New(errkind.Invalid, op, "encryption is on but no passphrase is set; enter a passphrase or turn encryption off")
	}
	return nil
}

// LoadSettings returns the stored settings (defaults for what is unset),
// with the session passphrase filled in when it is not remembered.
func (e *Engine) LoadSettings(ctx context.Context) (Settings, error) {
	s := DefaultSettings()
	m, err := e.cfg.KV.Get(ctx, keySettings)
	if err != nil {
		return s, errkind.Wrap(errkind.Storage, "read settings", "could not read the settings from the browser's storage; reload the extension", err)
	}
	if b, ok := m[keySettings]; ok {
		if err := json.Unmarshal(b, &s); err != nil {
			return DefaultSettings(), errkind.Wrap(errkind.Storage, "read settings", "the stored settings are damaged; enter them again and save", err)
		}
	}
	if s.Encryption.Enabled && !s.Encryption.Remember && s.Encryption.Passphrase == "" {
		if sm, err := e.cfg.SessionKV.Get(ctx, keySessionPhrase); err == nil {
			s.Encryption.Passphrase = string(sm[keySessionPhrase])
		}
	}
	return s, nil
}

// saveSettings stores s. A passphrase that is not to be remembered goes to
// the session store only; the persistent copy never holds it. It cannot lose
// an edit: settings.save merges the page's members over the stored settings
// read just before, and the result is one KV.Set of one key, so a worker
// stopped mid-save leaves the old or the new settings, never a mix; account
// data lives under other keys that this write never touches.
func (e *Engine) saveSettings(ctx context.Context, s Settings) error {
	persist := s
	if !s.Encryption.Remember {
		persist.Encryption.Passphrase = ""
		if err := e.cfg.SessionKV.Set(ctx, map[string][]byte{keySessionPhrase: []byte(s.Encryption.Passphrase)}); err != nil {
			return errkind.Wrap(errkind.Storage, "settings.save", "could not keep the passphrase for this session; try again", err)
		}
	} else if err := e.cfg.SessionKV.Delete(ctx, keySessionPhrase); err != nil {
		return errkind.Wrap(errkind.Storage, "settings.save", "could not update the session storage; try again", err)
	}
	b, err := json.Marshal(persist)
	if err != nil {
		return errkind.Wrap(errkind.Unknown, "settings.save", "could not encode the settings", err)
	}
	if err := e.cfg.KV.Set(ctx, map[string][]byte{keySettings: b}); err != nil {
		return errkind.Wrap(errkind.Storage, "settings.save", "could not save the settings in the browser's storage; try again", err)
	}
	return nil
}

// mergeSettings applies the members present in raw over base: a member that
// is absent keeps its stored value, so a page that leaves the password field
// empty keeps the stored password without ever having seen it.
func mergeSettings(op string, base Settings, raw json.RawMessage) (Settings, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return base, nil
	}
	s := base
	if err := json.Unmarshal(raw, &s); err != nil {
		return base, errkind.Wrap(errkind.Invalid, op, "bad settings: "+err.Error(), err)
	}
	return s, nil
}

func (e *Engine) settingsGet(ctx context.Context, _ []byte) (any, error) {
	s, err := e.LoadSettings(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"settings": s.Public()}, nil
}

func (e *Engine) settingsSave(ctx context.Context, params []byte) (any, error) {
	var p struct {
		Settings json.RawMessage `json:"settings"`
	}
	if err := decode("settings.save", params, &p); err != nil {
		return nil, err
	}
	cur, err := e.LoadSettings(ctx)
	if err != nil {
		return nil, err
	}
	s, err := mergeSettings("settings.save", cur, p.Settings)
	if err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := e.saveSettings(ctx, s); err != nil {
		return nil, err
	}
	if s.AutoSync != cur.AutoSync || s.IntervalMinutes != cur.IntervalMinutes {
		// The worker re-creates the alarm now (background.js syncAlarm).
		if se, err := e.syncEngine(ctx); err == nil {
			_ = se.Reschedule(ctx)
		}
	}
	e.emitStatus(ctx)
	return map[string]any{"settings": s.Public()}, nil
}
