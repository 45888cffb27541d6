package sync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/merge"
)

// Settings are the device-local sync settings. They are never part of a
// backup document. The engine reads them (Config.Settings) at the start of
// every call, so a change takes effect on the next cycle.
type Settings struct {
	// URL is the WebDAV folder (or a ".json" file URL).
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	// Strategy is merge (default), upload_only or download_only.
	Strategy merge.Strategy `json:"strategy,omitempty"`
	// Compress gzips the remote file.
	Compress bool `json:"compress,omitempty"`
	// Encrypt seals the remote file with Passphrase (AES-256-GCM).
	Encrypt    bool   `json:"encrypt,omitempty"`
	Passphrase string `json:"passphrase,omitempty"`
	// AutoSync lets scheduled (Auto) cycles run.
	AutoSync bool `json:"auto_sync,omitempty"`
	// IntervalSeconds between scheduled cycles (default 3600, at least 60).
	IntervalSeconds int `json:"interval_seconds,omitempty"`
	// SnapshotIntervalSeconds: at most one snapshot per this many seconds
	// (default 3600).
	SnapshotIntervalSeconds int `json:"snapshot_interval_seconds,omitempty"`
	// SnapshotKeep is how many snapshots to keep (default 5; negative: none).
	SnapshotKeep int `json:"snapshot_keep,omitempty"`
	// GuardPercent and GuardMinRecords tune the mass-change guard (default
	// 50% of at least 10 records; a negative percent disables it).
	GuardPercent    int `json:"guard_percent,omitempty"`
	GuardMinRecords int `json:"guard_min_records,omitempty"`
	// TombstoneHorizonDays is how long deletions are remembered (default 180).
	TombstoneHorizonDays int `json:"tombstone_horizon_days,omitempty"`
	// AllowInsecure is the user's explicit choice to use an http:// URL to
	// another machine (webdav.Insecure); without it such a URL is refused.
	AllowInsecure bool `json:"allow_insecure,omitempty"`

	fp string // fingerprint, filled in by Engine.settings
}

func (s Settings) withDefaults() Settings {
	if s.Strategy == "" {
		s.Strategy = merge.Strategy("merge")
	}
	if s.IntervalSeconds == 0 {
		s.IntervalSeconds = 3600
	}
	if s.IntervalSeconds < 60 {
		s.IntervalSeconds = 60
	}
	if s.SnapshotIntervalSeconds == 0 {
		s.SnapshotIntervalSeconds = 3600
	}
	if s.SnapshotKeep == 0 {
		s.SnapshotKeep = 5
	}
	if s.GuardPercent == 0 {
		s.GuardPercent = 50
	}
	if s.GuardMinRecords == 0 {
		s.GuardMinRecords = 10
	}
	if s.TombstoneHorizonDays == 0 {
		s.TombstoneHorizonDays = 180
	}
	return s
}

func (s Settings) horizon() time.Duration {
	return time.Duration(s.TombstoneHorizonDays) * 24 * time.Hour
}

// fingerprint identifies the connection settings without revealing them:
// an HMAC keyed with a random per-device salt, so not even a weak password
// can be guessed from it. An auth failure pauses automatic sync until it
// changes.
func (s Settings) fingerprint(salt []byte) string {
	h := hmac.New(sha256.New, salt)
	for _, v := range []string{s.URL, s.Username, s.Password} {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// layout is where the sync file and the snapshots live, relative to the
// client's base folder.
type layout struct {
	base     string // folder URL the client is made for
	dir      string // folder holding the file ("" = base itself)
	names    []string
	snapDir  string
	explicit bool // the URL named the file
}

// file returns the path of the file called name.
func (l layout) path(name string) string {
	if l.dir == "" {
		return name
	}
	return l.dir + "/" + name
}

// remoteLayout derives the layout from the URL. A URL ending in .json or
// .json.gz names the file; anything else is a folder that gets a davsync/
// subfolder.
func remoteLayout(raw string) (layout, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return layout{}, errkind.New(errkind.NotConfigured, "sync", "no WebDAV server is set up yet; enter the folder URL in the settings")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return layout{}, errkind.New(errkind.Invalid, "sync", "the server URL is not a valid http:// or https:// address; enter the full folder URL")
	}
	lower := strings.ToLower(u.Path)
	if strings.HasSuffix(lower, ".json") || strings.HasSuffix(lower, ".json.gz") {
		name := path.Base(u.Path)
		u.Path = path.Dir(u.Path) + "/"
		u.RawPath = ""
		return layout{base: u.String(), names: []string{name}, snapDir: "snapshots", explicit: true}, nil
	}
	// One name whatever the compression setting: settings are per device,
	// and two devices with different settings syncing for the first time at
	// the same moment would otherwise create two files and never meet (the
	// randomized test found exactly that). Compressed content is recognised
	// by its magic bytes. A davsync.json.gz that already exists (and no
	// davsync.json) is adopted.
	names := []string{"davsync.json", "davsync.json.gz"}
	return layout{base: raw, dir: "davsync", names: names, snapDir: "davsync/snapshots"}, nil
}
