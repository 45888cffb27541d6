package app

import (
	"encoding/json"
	"math"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/layout"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/provider"
	"github.com/davsync/davsync/internal/webdav"
)

// SettingsVersion is the version of the stored Settings. Version 1 (davsync
// 0.1) held one server's fields at the top level; migrateSettings turns it
// into remote "1", untouched.
const SettingsVersion = 2

// Settings are this device's settings: its remotes and what applies to all
// of them. They live in the device's KV under their own key and never
// inside a backup document, so credentials never reach a server, an export
// or another device.
type Settings struct {
	Version int      `json:"version"`
	Remotes []Remote `json:"remotes"`
	// Notify shows a notification when a sync needs the user.
	Notify bool `json:"notify"`
	// NextID numbers the next remote added (IDs are never reused).
	NextID int `json:"nextId"`
}

// Remote is one WebDAV server this device syncs with: where, how, and how
// often. Password and Encryption.Passphrase are write-only in the message
// protocol (Public blanks them and says whether they are set).
type Remote struct {
	// ID names the remote in state keys, alarms and the protocol.
	ID string `json:"id"`
	// Name is what the user calls it ("Home Nextcloud").
	Name string `json:"name"`
	// Provider is the preset it was set up with (internal/provider), or "".
	Provider string `json:"provider,omitempty"`
	// URL is the WebDAV folder (or, ending in .json, the sync file itself);
	// Folder is where davsync's files go inside it ("" = the URL's folder).
	URL    string `json:"url"`
	Folder string `json:"folder"`
	// Username and Password log in.
	Username    string `json:"username"`
	Password    string `json:"password,omitempty"`
	PasswordSet bool   `json:"passwordSet"`
	// Strategy is merge, upload_only or download_only.
	Strategy string `json:"strategy"`
	// AutoSync runs a cycle every IntervalMinutes and after edits;
	// SyncOnStartup once when the browser starts.
	AutoSync        bool       `json:"autoSync"`
	IntervalMinutes float64    `json:"intervalMinutes"`
	SyncOnStartup   bool       `json:"syncOnStartup"`
	Encryption      Encryption `json:"encryption"`
	// Compress gzips the sync file.
	Compress bool `json:"compress"`
	// SnapshotsKeep is how many snapshots to keep on the server (0: none).
	SnapshotsKeep int `json:"snapshotsKeep"`
	// Enabled includes the remote in "sync all" and its schedule.
	Enabled bool `json:"enabled"`
	// InsecureOrigin is the http:// origin the user explicitly allowed to
	// carry the password and data unencrypted (webdav.Insecure). It allows
	// that origin only: another URL needs its own choice.
	InsecureOrigin string `json:"insecureOrigin,omitempty"`
	// AllowInsecure and Insecure are for the page: the user allowed this
	// URL's unencrypted connection; the URL is http:// to another machine.
	AllowInsecure bool `json:"allowInsecure"`
	Insecure      bool `json:"insecure"`
}

// Encryption says whether the sync file is encrypted. The passphrase is
// kept in the session store only (chrome.storage.session, gone when the
// browser closes); Remember keeps the key derived from it on this device
// instead (see secrets.go), so syncs go on after a restart without the
// passphrase ever being written to disk.
type Encryption struct {
	Enabled       bool   `json:"enabled"`
	Passphrase    string `json:"passphrase,omitempty"`
	PassphraseSet bool   `json:"passphraseSet"`
	Remember      bool   `json:"remember"`
}

// Defaults and bounds.
const (
	DefaultIntervalMinutes = 60
	DefaultSnapshotsKeep   = 5
	// MinIntervalMinutes is the shortest auto-sync interval accepted.
	// Browsers clamp packed extensions' alarms to 30 s anyway; shorter
	// values exist for tests of unpacked builds.
	MinIntervalMinutes = 0.05
	maxIntervalMinutes = 7 * 24 * 60
	maxSnapshotsKeep   = 50
	maxRemotes         = 20
)

// NewRemote returns a remote as a fresh install offers it.
func NewRemote() Remote {
	return Remote{
		Folder: layout.DefaultFolder, Strategy: string(merge.StrategyMerge), IntervalMinutes: DefaultIntervalMinutes,
		SnapshotsKeep: DefaultSnapshotsKeep, Compress: true, Enabled: true, Encryption: Encryption{Remember: true},
	}
}

// Public returns r without secrets, saying which are set.
func (r Remote) Public() Remote {
	r.PasswordSet = r.Password != ""
	r.Password = ""
	r.Encryption.PassphraseSet = r.Encryption.Passphrase != "" || r.Encryption.PassphraseSet
	r.Encryption.Passphrase = ""
	r.Insecure = webdav.Insecure(r.URL)
	r.AllowInsecure = r.insecureAllowed()
	return r
}

// Configured reports whether the remote has a server address.
func (r Remote) Configured() bool { return r.URL != "" }

// Label is how messages and notifications name the remote.
func (r Remote) Label() string {
	if r.Name != "" {
		return r.Name
	}
	if u, err := url.Parse(r.URL); err == nil && u.Host != "" {
		return u.Host
	}
	return "server " + r.ID
}

// Validate checks r and normalises it in place. It is the one validation
// of a remote: saving, testing and syncing all use it.
func (r *Remote) Validate() error {
	const op = "settings"
	r.URL = strings.TrimSpace(r.URL)
	r.Name = strings.TrimSpace(r.Name)
	if len(r.Name) > 100 {
		return errkind.Say(errkind.Invalid, op, msg.New("errNameTooLong"))
	}
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return errkind.Say(errkind.Invalid, op, msg.New("errAddressScheme"))
		}
		if u.User != nil {
			return errkind.Say(errkind.Invalid, op, msg.New("errAddressCredentials"))
		}
		if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(r.URL, "#") {
			return errkind.Say(errkind.Invalid, op, msg.New("errAddressQuery"))
		}
	}
	folder := strings.Trim(strings.TrimSpace(r.Folder), "/")
	for _, seg := range strings.Split(folder, "/") {
		if seg == ".." || seg == "." || strings.ContainsAny(seg, "\x00\r\n\\") {
			return errkind.Say(errkind.Invalid, op, msg.New("errFolderPath"))
		}
	}
	r.Folder = path.Clean("/" + folder)[1:]
	switch merge.Strategy(r.Strategy) {
	case "":
		r.Strategy = string(merge.StrategyMerge)
	case merge.StrategyMerge, merge.UploadOnly, merge.DownloadOnly:
	default:
		return errkind.Say(errkind.Invalid, op, msg.New("errStrategy"))
	}
	if r.IntervalMinutes == 0 {
		r.IntervalMinutes = DefaultIntervalMinutes
	}
	if math.IsNaN(r.IntervalMinutes) || r.IntervalMinutes < MinIntervalMinutes || r.IntervalMinutes > maxIntervalMinutes {
		return errkind.Say(errkind.Invalid, op, msg.New("errInterval"))
	}
	if r.Provider != "" {
		p, ok := provider.Get(r.Provider)
		if !ok {
			return errkind.Say(errkind.Invalid, op, msg.New("errProvider", strconv.Quote(r.Provider)))
		}
		if floor := p.IntervalFloor(); r.IntervalMinutes < floor {
			return errkind.Say(errkind.Invalid, op, msg.New("errProviderRate", p.Name, strconv.Itoa(p.Limits.RequestsPerWindow), strconv.Itoa(p.Limits.WindowMinutes), strconv.FormatFloat(floor, 'f', -1, 64)))
		}
		if p.Limits.RootNotWritable && r.Folder == "" && !strings.HasSuffix(strings.ToLower(r.URL), ".json") {
			return errkind.Say(errkind.Invalid, op, msg.New("errProviderFolder", p.Name))
		}
	}
	if r.SnapshotsKeep < 0 || r.SnapshotsKeep > maxSnapshotsKeep {
		return errkind.Say(errkind.Invalid, op, msg.New("errSnapshotsKeep"))
	}
	if r.Encryption.Enabled && r.Encryption.Passphrase == "" && !r.Encryption.PassphraseSet {
		return errkind.Say(errkind.Invalid, op, msg.New("errNoPassphrase"))
	}
	if webdav.Insecure(r.URL) && !r.insecureAllowed() {
		return errkind.Say(errkind.InsecureTransport, op, msg.New("errInsecure", origin(r.URL)))
	}
	return nil
}

// insecureAllowed reports whether the user allowed r.URL's unencrypted
// connection: the allowance names the origin, so it never carries over to
// another server.
func (r Remote) insecureAllowed() bool {
	return r.InsecureOrigin != "" && r.InsecureOrigin == origin(r.URL)
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

// interval is the remote's schedule period.
func (r Remote) interval() time.Duration {
	return time.Duration(r.IntervalMinutes * float64(time.Minute))
}

// Edit applies the members present in raw (JSON) over r: a member that is
// absent keeps its stored value, so a page that leaves the password field
// empty keeps the stored password without ever having seen it.
//
// Two members are bound to the server they were given for. The stored
// password is dropped when the URL moves to another origin and raw holds no
// password (cleared is true then): it must never reach a server it was not
// typed for. allowInsecure (true/false) allows or withdraws the unencrypted
// connection to the new URL's origin.
func (r Remote) Edit(raw []byte) (out Remote, cleared bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return r, false, nil
	}
	if !gjson.ValidBytes(raw) || !gjson.ParseBytes(raw).IsObject() {
		return r, false, errkind.Internal(errkind.Invalid, "settings", "the server's settings must be a JSON object", nil)
	}
	out = r
	if err := json.Unmarshal(raw, &out); err != nil {
		return r, false, errkind.Internal(errkind.Invalid, "settings", "bad settings: "+err.Error(), err)
	}
	out.ID = r.ID // never renamed by an edit
	// Flags the page reads are not settings.
	out.PasswordSet, out.Insecure, out.AllowInsecure = false, false, false
	out.Encryption.PassphraseSet = r.Encryption.PassphraseSet
	if r.URL != "" && origin(out.URL) != origin(r.URL) && !gjson.GetBytes(raw, "password").Exists() && out.Password != "" {
		out.Password, cleared = "", true
	}
	if a := gjson.GetBytes(raw, "allowInsecure"); a.Exists() {
		out.InsecureOrigin = ""
		if a.Bool() {
			out.InsecureOrigin = origin(out.URL)
		}
	}
	if !out.Encryption.Enabled || (out.Encryption.Passphrase != "" && out.Encryption.Passphrase != r.Encryption.Passphrase) {
		out.Encryption.PassphraseSet = false // a new passphrase, or none: the cached key goes
	}
	return out, cleared, nil
}

// Remote returns the remote with id, and whether there is one.
func (s Settings) Remote(id string) (Remote, bool) {
	for _, r := range s.Remotes {
		if r.ID == id {
			return r, true
		}
	}
	return Remote{}, false
}

// First returns the first remote ("server 1", what the single-server calls
// act on), or a new unsaved one when there is none.
func (s Settings) First() Remote {
	if len(s.Remotes) > 0 {
		return s.Remotes[0]
	}
	r := NewRemote()
	r.ID = strconv.Itoa(max(s.NextID, 1))
	return r
}

// legacySettings is the version 1 layout: one server at the top level.
type legacySettings struct {
	URL             string     `json:"url"`
	Username        string     `json:"username"`
	Password        string     `json:"password,omitempty"`
	Strategy        string     `json:"strategy"`
	AutoSync        bool       `json:"autoSync"`
	IntervalMinutes float64    `json:"intervalMinutes"`
	SyncOnStartup   bool       `json:"syncOnStartup"`
	Encryption      Encryption `json:"encryption"`
	Compress        *bool      `json:"compress"`
	SnapshotsKeep   *int       `json:"snapshotsKeep"`
	Notify          *bool      `json:"notify"`
	InsecureOrigin  string     `json:"insecureOrigin,omitempty"`
}

// migrateSettings reads stored settings of any version as the current one.
// A version 1 profile becomes remote "1" with the same server, folder
// (davsync/ inside the URL, where 0.1 kept its file) and schedule.
func migrateSettings(b []byte) (Settings, bool, error) {
	if len(b) == 0 {
		return Settings{Version: SettingsVersion, Notify: true, NextID: 1}, false, nil
	}
	v := gjson.GetBytes(b, "version").Int()
	if v >= SettingsVersion {
		var s Settings
		if err := json.Unmarshal(b, &s); err != nil {
			return Settings{}, false, err
		}
		if s.NextID < 1 {
			s.NextID = 1
		}
		return s, false, nil
	}
	var old legacySettings
	if err := json.Unmarshal(b, &old); err != nil {
		return Settings{}, false, err
	}
	s := Settings{Version: SettingsVersion, Notify: old.Notify == nil || *old.Notify, NextID: 1}
	if old.URL == "" && old.Username == "" {
		return s, true, nil
	}
	r := NewRemote()
	r.ID = "1"
	r.URL, r.Username, r.Password = old.URL, old.Username, old.Password
	r.Strategy, r.AutoSync, r.SyncOnStartup = old.Strategy, old.AutoSync, old.SyncOnStartup
	if old.IntervalMinutes > 0 {
		r.IntervalMinutes = old.IntervalMinutes
	}
	r.Encryption = old.Encryption
	if old.Compress != nil {
		r.Compress = *old.Compress
	}
	if old.SnapshotsKeep != nil {
		r.SnapshotsKeep = *old.SnapshotsKeep
	}
	r.InsecureOrigin = old.InsecureOrigin
	s.Remotes, s.NextID = []Remote{r}, 2
	return s, true, nil
}

// Origin is the remote's scheme://host[:port], what its password and an
// unencrypted-connection allowance are bound to.
func (r Remote) Origin() string { return origin(r.URL) }
