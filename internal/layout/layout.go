// Package layout says where davsync keeps its files in a server folder: the
// sync file, the snapshots beside it, and what each is called. The sync
// cycle, the snapshot list, the command-line tool and the server check all
// read it from here, so a person who opens the folder in their provider's
// web page finds the same names every device writes.
//
// A remote is a WebDAV URL plus a folder inside it. The sync file is
// <url>/<folder>/davsync.json and snapshots go in <url>/<folder>/snapshots/.
// A URL that ends in ".json" (or ".json.gz") names the file itself, and its
// snapshots go in a "snapshots/" folder beside it; the folder is ignored.
//
// One name whatever the compression setting: settings are per device, and
// two devices with different settings syncing for the first time at the
// same moment would otherwise create two files and never meet. Compressed
// and encrypted content is recognised by its bytes, never by its name. A
// davsync.json.gz that already exists (and no davsync.json) is adopted.
package layout

import (
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// The names davsync writes.
const (
	// FileName is the sync file.
	FileName = "davsync.json"
	// GzipName is the sync file's name where a compressed one was adopted.
	GzipName = "davsync.json.gz"
	// SnapshotsDir is the snapshots folder, beside the sync file.
	SnapshotsDir = "snapshots"
	// DefaultFolder is the folder a new remote keeps its files in.
	DefaultFolder = "davsync"
	// ReadmeName is the text file that tells a person who opens the folder
	// in their provider's web page what the files are (ReadmeText).
	ReadmeName = "README.txt"
	// stamp starts every snapshot name: sortable UTC time, so name order is
	// time order.
	stamp = "20060102T150405.000Z"
)

// Layout is where the sync file and its snapshots live on one remote,
// relative to the base folder a webdav.Client is made for.
type Layout struct {
	// Base is the folder URL the client works in.
	Base string
	// Dir is the folder holding the file, relative to Base ("" = Base).
	Dir string
	// Names are the file names to look for, the one to create first.
	Names []string
	// Snapshots is the snapshots folder, relative to Base.
	Snapshots string
	// Explicit says the URL named the file itself.
	Explicit bool
}

// For returns the layout of the remote at rawURL with its files in folder
// (relative to the URL; "" is the URL's own folder). A URL ending in .json
// or .json.gz names the file itself.
func For(rawURL, folder string) (Layout, error) {
	raw := strings.TrimSpace(rawURL)
	if raw == "" {
		return Layout{}, errkind.Say(errkind.NotConfigured, "sync", msg.New("errNotConfigured"))
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Layout{}, errkind.Say(errkind.Invalid, "sync", msg.New("errURLInvalid"))
	}
	lower := strings.ToLower(u.Path)
	if strings.HasSuffix(lower, ".json") || strings.HasSuffix(lower, ".json.gz") {
		name := path.Base(u.Path)
		u.Path = path.Dir(u.Path) + "/"
		u.RawPath = ""
		return Layout{Base: u.String(), Names: []string{name}, Snapshots: SnapshotsDir, Explicit: true}, nil
	}
	dir := strings.Trim(path.Clean("/"+folder), "/")
	snaps := SnapshotsDir
	if dir != "" {
		snaps = dir + "/" + SnapshotsDir
	}
	return Layout{Base: raw, Dir: dir, Names: []string{FileName, GzipName}, Snapshots: snaps}, nil
}

// Path returns the path of the file called name, relative to Base.
func (l Layout) Path(name string) string {
	if l.Dir == "" {
		return name
	}
	return l.Dir + "/" + name
}

// Target identifies the sync file the layout names (for markers: a
// different target starts over as a first sync).
func (l Layout) Target() string {
	if l.Explicit {
		return l.Base + l.Names[0]
	}
	return l.Base + "|" + l.Dir
}

// SnapshotName names a snapshot of file taken at t of content whose hash
// starts with hash: "<time>-<hash>--<file>". The hash makes two devices
// that snapshot the same bytes in the same millisecond write one name.
func SnapshotName(t time.Time, hash, file string) string {
	return t.UTC().Format(stamp) + "-" + hash + "--" + path.Base(file)
}

// SnapshotTime reads the time a snapshot name starts with.
func SnapshotTime(name string) (time.Time, bool) {
	if len(name) < len(stamp) {
		return time.Time{}, false
	}
	t, err := time.Parse(stamp, name[:len(stamp)])
	return t, err == nil
}

// SnapshotHash is the content-hash part of a snapshot name ("" if none).
func SnapshotHash(name string) string {
	rest := name[min(len(stamp)+1, len(name)):]
	h, _, ok := strings.Cut(rest, "--")
	if !ok {
		return ""
	}
	return h
}

// OwnSnapshot reports whether snapshot name was taken of this layout's
// sync file. A URL naming a file puts snapshots in a "snapshots/" folder
// beside it, which other sync files of that folder share: listing and
// pruning must leave theirs alone.
func (l Layout) OwnSnapshot(name string) bool {
	if _, ok := SnapshotTime(name); !ok {
		return false
	}
	for _, n := range l.Names {
		if strings.HasSuffix(name, "--"+n) {
			return true
		}
	}
	return false
}

// ReadmeText is written beside a new sync file: what each file in the folder
// is and how to get the data back without a browser.
const ReadmeText = `This folder belongs to davsync, a browser extension that keeps your
accounts and preferences in sync through this WebDAV server.

davsync.json  Your data. Depending on the settings it is plain JSON, or
              gzip-compressed, or encrypted with your passphrase (then it
              starts with {"format":"davsync-encrypted"...). Every device
              that syncs here reads and writes it; do not edit it by hand.
snapshots/    Earlier versions of davsync.json, kept before each one was
              replaced (newest first by name: the date and time in UTC).

To restore a snapshot, use the Import/Export page of the extension. To get
your data without a browser, use the davsync command-line tool:

  davsync list                     the file and every snapshot
  davsync export -o backup.json    the data as plain JSON (asks for the passphrase)
  davsync restore NAME             make a snapshot the current file

(set DAVSYNC_URL to this server's address, DAVSYNC_USER to your user name;
the tool asks for the password). Deleting this README changes nothing.
`
