package engine

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/davsync/davsync/internal/errkind"
	dsync "github.com/davsync/davsync/internal/sync"
	"github.com/davsync/davsync/internal/webdav"
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
	// InsecureOrigin is the http:// origin the user explicitly allowed to
	// carry the password and data unencrypted (webdav.Insecure). It allows
	// that origin only: another URL needs its own choice.
	InsecureOrigin string `json:"insecureOrigin,omitempty"`
}

// Encryption says whether the server file is encrypted. The passphrase is
// kept in the session store only (chrome.storage.session, gone when the
// browser closes); Remember keeps the key derived from it on this device
// instead (keyCache), so syncs go on after a restart without the passphrase
// ever being written to disk.
type Encryption struct {
	Enabled    bool   `json:"enabled"`
	Passphrase string `json:"passphrase,omitempty"`
	Remember   bool   `json:"remember"`

	keyCached bool // a derived key is cached (LoadSettings)
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
	// AllowInsecure: the user allowed this http:// URL's unencrypted
	// connection; Insecure: the URL is http:// to another machine.
	AllowInsecure bool `json:"allowInsecure"`
	Insecure      bool `json:"insecure"`
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
		Insecure: webdav.Insecure(s.URL), AllowInsecure: s.insecureAllowed(),
		Encryption: PublicEncryption{Enabled: s.Encryption.Enabled, PassphraseSet: s.Encryption.Passphrase != "" || s.Encryption.keyCached, Remember: s.Encryption.Remember},
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
	if s.Encryption.Enabled && s.Encryption.Passphrase == "" && !s.Encryption.keyCached {
		return errkind.New(errkind.Invalid, op, "encryption is on but no passphrase is set; enter a passphrase or turn encryption off")
	}
	if webdav.Insecure(s.URL) && !s.insecureAllowed() {
		return errkind.New(errkind.InsecureTransport, op, "the address "+origin(s.URL)+" uses http:// to another machine: the password and your data would cross the network unencrypted, readable by anyone on the way. Use https:// if the server offers it, or allow the unencrypted connection to this server explicitly")
	}
	return nil
}

// insecureAllowed reports whether the user allowed s.URL's unencrypted
// connection: the allowance names the origin, so it never carries over to
// another server.
func (s Settings) insecureAllowed() bool {
	return s.InsecureOrigin != "" && s.InsecureOrigin == origin(s.URL)
}

// origin is a URL's scheme://host[:port], lower-cased ("" if it does not
// parse): what a password and an allowance are bound to.
func origin(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// LoadSettings returns the stored settings (defaults for what is unset),
// with the passphrase from the session store and whether a derived key is
// cached.
func (e *Engine) LoadSettings(ctx context.Context) (Settings, error) {
	s := DefaultSettings()
	m, err := e.cfg.KV.Get(ctx, keySettings, keyRememberedKey)
	if err != nil {
		return s, errkind.Wrap(errkind.Storage, "read settings", "could not read the settings from the browser's storage; reload the extension", err)
	}
	if b, ok := m[keySettings]; ok {
		if err := json.Unmarshal(b, &s); err != nil {
			return DefaultSettings(), errkind.Wrap(errkind.Storage, "read settings", "the stored settings are damaged; enter them again and save", err)
		}
	}
	// A passphrase on disk was written by davsync 0.1 (remembered); it is
	// used until migratePassphrase has a derived key in its place.
	sm, err := e.cfg.SessionKV.Get(ctx, keySessionPhrase, keySessionKey)
	if err == nil {
		if p := string(sm[keySessionPhrase]); p != "" {
			s.Encryption.Passphrase = p
		}
		s.Encryption.keyCached = sm[keySessionKey] != nil || (s.Encryption.Remember && m[keyRememberedKey] != nil)
	}
	return s, nil
}

// migratePassphrase removes a passphrase an older version stored on disk
// once a key derived from it is remembered in its place (removing it sooner
// would lose it at the next browser restart). It runs after each sync
// operation.
func (e *Engine) migratePassphrase(ctx context.Context, se *dsync.Engine) {
	m, err := e.cfg.KV.Get(ctx, keySettings, keyRememberedKey)
	if err != nil || m[keyRememberedKey] == nil {
		return
	}
	var stored Settings
	if json.Unmarshal(m[keySettings], &stored) != nil || stored.Encryption.Passphrase == "" || !stored.Encryption.Remember {
		return
	}
	if !se.HasKeyFor(ctx, stored.Encryption.Passphrase) {
		return
	}
	_ = e.cfg.SessionKV.Set(ctx, map[string][]byte{keySessionPhrase: []byte(stored.Encryption.Passphrase)})
	stored.Encryption.Passphrase = ""
	if b, err := json.Marshal(stored); err == nil {
		_ = e.cfg.KV.Set(ctx, map[string][]byte{keySettings: b})
	}
}

// saveSettings stores s. The passphrase goes to the session store only;
// the persistent copy never holds it. A new passphrase (or encryption
// turned off) drops the cached keys: a key from the old passphrase must
// not seal the next upload after a restart. Forgetting on this device
// (Remember off) drops the remembered key. It cannot lose an edit:
// settings.save merges the page's members over the stored settings read
// just before, and the result is one KV.Set of one key, so a worker stopped
// mid-save leaves the old or the new settings, never a mix; account data
// lives under other keys that this write never touches.
func (e *Engine) saveSettings(ctx context.Context, s, old Settings) error {
	persist := s
	persist.Encryption.Passphrase = ""
	session := map[string][]byte{}
	if s.Encryption.Passphrase != "" {
		session[keySessionPhrase] = []byte(s.Encryption.Passphrase)
	}
	newKey := !s.Encryption.Enabled || (s.Encryption.Passphrase != "" && s.Encryption.Passphrase != old.Encryption.Passphrase)
	if newKey {
		if err := e.cfg.SessionKV.Delete(ctx, keySessionKey); err != nil {
			return errkind.Wrap(errkind.Storage, "settings.save", "could not update the session storage; try again", err)
		}
		e.forgetKey()
	}
	if len(session) > 0 {
		if err := e.cfg.SessionKV.Set(ctx, session); err != nil {
			return errkind.Wrap(errkind.Storage, "settings.save", "could not keep the passphrase for this session; try again", err)
		}
	}
	if newKey || !s.Encryption.Remember {
		if err := e.cfg.KV.Delete(ctx, keyRememberedKey); err != nil {
			return errkind.Wrap(errkind.Storage, "settings.save", "could not update the browser's storage; try again", err)
		}
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

// forgetKey drops the key the sync engine holds in memory.
func (e *Engine) forgetKey() {
	e.syncOnce.Lock()
	se := e.sync
	e.syncOnce.Unlock()
	if se != nil {
		se.ForgetKey()
	}
}

// mergeSettings applies the members present in raw over base: a member that
// is absent keeps its stored value, so a page that leaves the password field
// empty keeps the stored password without ever having seen it.
//
// Two members are bound to the server they were given for. The stored
// password is dropped when the URL moves to another origin and the page
// sends no password (cleared is true then): it must never reach a server it
// was not typed for. allowInsecure (true/false) allows or withdraws the
// unencrypted connection to the new URL's origin.
func mergeSettings(op string, base Settings, raw json.RawMessage) (s Settings, cleared bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return base, false, nil
	}
	s = base
	if err := json.Unmarshal(raw, &s); err != nil {
		return base, false, errkind.Wrap(errkind.Invalid, op, "bad settings: "+err.Error(), err)
	}
	if base.URL != "" && origin(s.URL) != origin(base.URL) && !gjson.GetBytes(raw, "password").Exists() && s.Password != "" {
		s.Password, cleared = "", true
	}
	if a := gjson.GetBytes(raw, "allowInsecure"); a.Exists() {
		s.InsecureOrigin = ""
		if a.Bool() {
			s.InsecureOrigin = origin(s.URL)
		}
	}
	return s, cleared, nil
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
	s, cleared, err := mergeSettings("settings.save", cur, p.Settings)
	if err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := e.saveSettings(ctx, s, cur); err != nil {
		return nil, err
	}
	if s.AutoSync != cur.AutoSync || s.IntervalMinutes != cur.IntervalMinutes {
		// The worker re-creates the alarm now (background.js syncAlarm).
		if se, err := e.syncEngine(ctx); err == nil {
			_ = se.Reschedule(ctx)
		}
	}
	e.emitStatus(ctx)
	return map[string]any{"settings": s.Public(), "passwordCleared": cleared}, nil
}
