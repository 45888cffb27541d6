package app

import (
	"context"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/provider"
	"github.com/davsync/davsync/internal/webdav"
)

// What the server form does before a remote is saved: find the folder of a
// server named by its host, list and create folders for the picker. Each
// takes the form's values (r) under the same rules as saving.

// Discover finds the WebDAV folder of a server given only by its address
// (see webdav.Discover): what a Nextcloud user types is the host.
func (a *App) Discover(ctx context.Context, r Remote) (*webdav.Discovery, error) {
	if err := a.formReady(r); err != nil {
		return nil, err
	}
	return webdav.Discover(ctx, r.URL, r.Username, r.Password, a.cfg.Transport, a.cfg.WebDAVOptions...)
}

// BareHost reports whether a URL names only a server (no path): the form
// discovers its folder before testing it.
func BareHost(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	return err == nil && u.Host != "" && (u.Path == "" || u.Path == "/")
}

// Folder is one folder the picker shows.
type Folder struct {
	Name string `json:"name"`
	// Path is relative to the remote's URL, '/'-separated.
	Path string `json:"path"`
}

// Folders lists the folders inside path (relative to r's URL), sorted by
// name, for the folder picker.
func (a *App) Folders(ctx context.Context, r Remote, dir string) ([]Folder, string, error) {
	if err := a.formReady(r); err != nil {
		return nil, "", err
	}
	dir = cleanFolder(dir)
	c, err := webdav.New(r.URL, r.Username, r.Password, a.cfg.Transport, a.cfg.WebDAVOptions...)
	if err != nil {
		return nil, "", err
	}
	rs, err := c.List(ctx, dir)
	if err != nil {
		return nil, dir, err
	}
	out := []Folder{}
	for _, res := range rs {
		if !res.IsDir {
			continue
		}
		name := path.Base(strings.TrimSuffix(res.Path, "/"))
		if strings.HasPrefix(name, ".") {
			continue // hidden, and davsync's own scratch files
		}
		out = append(out, Folder{Name: name, Path: strings.TrimPrefix(path.Join(dir, name), "/")})
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, dir, nil
}

// Mkdir creates folder dir (relative to r's URL) and every missing one
// above it, for the folder picker.
func (a *App) Mkdir(ctx context.Context, r Remote, dir string) (string, error) {
	if err := a.formReady(r); err != nil {
		return "", err
	}
	dir = cleanFolder(dir)
	if dir == "" {
		return "", errkind.Say(errkind.Invalid, "webdav.mkdir", msg.New("errNameFolder"))
	}
	c, err := webdav.New(r.URL, r.Username, r.Password, a.cfg.Transport, a.cfg.WebDAVOptions...)
	if err != nil {
		return "", err
	}
	return dir, c.MkcolAll(ctx, dir)
}

// formReady checks r as saving would, but without the rules only a saved
// remote must meet (a passphrase when encrypted).
func (a *App) formReady(r Remote) error {
	if !r.Configured() {
		return errkind.Say(errkind.NotConfigured, "webdav", msg.New("errEnterAddressFirst"))
	}
	r.Encryption.Enabled = false
	return r.Validate()
}

func cleanFolder(dir string) string {
	return strings.Trim(path.Clean("/"+strings.TrimSpace(dir)), "/")
}

// IntervalFloor is the shortest interval remote r may sync at: its
// provider's (internal/provider), 0 for none.
func (r Remote) IntervalFloor() float64 {
	if p, ok := provider.Get(r.Provider); ok {
		return p.IntervalFloor()
	}
	return 0
}
