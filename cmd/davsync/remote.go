package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/layout"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/httptransport"
)

// conn is a connection to the remote the flags name.
type conn struct {
	g      *globals
	layout layout.Layout
	client *webdav.Client
}

// connect checks the flags and makes the client. An http:// URL to another
// machine needs --allow-insecure, as the extension needs the user's choice.
func (g *globals) connect() (*conn, error) {
	if g.url == "" {
		return nil, usageError{"no server: give --url or set DAVSYNC_URL (the folder URL the extension uses)"}
	}
	l, err := layout.For(g.url, g.folder)
	if err != nil {
		return nil, err
	}
	if webdav.Insecure(g.url) && !g.allowInsecure {
		return nil, errkind.New(errkind.InsecureTransport, "connect", "the address uses http:// to another machine, so the password and the data would cross the network unencrypted; use https://, or pass --allow-insecure if the network between you is yours")
	}
	pass, err := g.passwordValue()
	if err != nil {
		return nil, err
	}
	c, err := webdav.New(l.Base, g.user, pass, httptransport.New(), webdav.WithUserAgent("davsync-cli"))
	if err != nil {
		return nil, err
	}
	return &conn{g: g, layout: l, client: c}, nil
}

// connectBare parses the arguments of a command that takes none but the
// global flags, and connects.
func (g *globals) connectBare(name string, args []string) (*conn, error) {
	pos, err := g.parse(name, args, nil)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usageError{"usage: davsync [flags] " + name}
	}
	return g.connect()
}

// stored is a file as it lies on the server (or on disk) and, when it
// could be read, the document in it.
type stored struct {
	Name       string           `json:"name"`
	Time       int64            `json:"time,omitempty"` // ms
	Size       int64            `json:"size"`
	Form       string           `json:"form"` // plain | gzip | encrypted
	Records    map[string]int   `json:"records,omitempty"`
	Tombstones map[string]int   `json:"tombstones,omitempty"`
	ETag       string           `json:"-"`
	body       []byte           // bytes as stored
	doc        *backup.Document // nil until decoded
	key        *envelope.Key    // the key that opened it
	compressed bool
}

// form names how bytes are stored.
func form(b []byte) string {
	switch {
	case envelope.IsEncrypted(b):
		return "encrypted"
	case len(b) >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8:
		return "gzip"
	}
	return "plain"
}

// file returns the sync file: the configured name, or the other variant.
func (c *conn) file(ctx context.Context) (*stored, error) {
	for _, name := range c.layout.Names {
		g, err := c.client.Get(ctx, c.layout.Path(name), "")
		if errkind.Of(err) == errkind.NotFound || errkind.Of(err) == errkind.FolderMissing {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &stored{Name: name, Time: g.LastModified.UnixMilli(), Size: int64(len(g.Body)), Form: form(g.Body), ETag: g.ETag, body: g.Body}, nil
	}
	return nil, errkind.New(errkind.NotFound, "read", "there is no sync file at "+c.layout.Base+c.layout.Path(c.layout.Names[0])+"; check --url and --folder (the extension's server address and folder)")
}

// snapshot returns snapshot name.
func (c *conn) snapshot(ctx context.Context, name string) (*stored, error) {
	if name == "" || strings.ContainsAny(name, "/\\") || !c.layout.OwnSnapshot(name) {
		return nil, usageError{"no snapshot " + name + " of this sync file; `davsync list` shows them"}
	}
	g, err := c.client.Get(ctx, c.layout.Snapshots+"/"+name, "")
	if err != nil {
		return nil, err
	}
	t, _ := layout.SnapshotTime(name)
	return &stored{Name: name, Time: t.UnixMilli(), Size: int64(len(g.Body)), Form: form(g.Body), ETag: g.ETag, body: g.Body}, nil
}

// snapshots lists the snapshots, newest first.
func (c *conn) snapshots(ctx context.Context) ([]*stored, error) {
	rs, err := c.client.List(ctx, c.layout.Snapshots)
	if errkind.Of(err) == errkind.NotFound || errkind.Of(err) == errkind.FolderMissing {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*stored
	for _, r := range rs {
		name := path.Base(strings.TrimSuffix(r.Path, "/"))
		if r.IsDir || !c.layout.OwnSnapshot(name) {
			continue
		}
		t, _ := layout.SnapshotTime(name)
		out = append(out, &stored{Name: name, Time: t.UnixMilli(), Size: r.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name > out[j].Name })
	return out, nil
}

// decode reads s's document, asking for the passphrase when it is
// encrypted (ask false: only when one was given).
func (g *globals) decode(s *stored, ask bool) error {
	if s.doc != nil {
		return nil
	}
	pass := ""
	if envelope.IsEncrypted(s.body) {
		if !ask && g.passphrase == nil && g.passFile == "" {
			if _, ok := os.LookupEnv("DAVSYNC_PASSPHRASE"); !ok {
				return errkind.New(errkind.PassphraseNeeded, "decrypt", "the file is encrypted; give the passphrase (DAVSYNC_PASSPHRASE or --passphrase-file)")
			}
		}
		p, err := g.passphraseValue()
		if err != nil {
			return err
		}
		if p == "" {
			return errkind.New(errkind.PassphraseNeeded, "decrypt", "the file is encrypted; give the passphrase (DAVSYNC_PASSPHRASE or --passphrase-file)")
		}
		pass = p
	}
	u, err := envelope.Unwrap(s.body, pass, nil, envelope.GoKDF, limits.Document)
	if err != nil {
		return err
	}
	doc, err := backup.Parse(u.Plain)
	if err != nil {
		return errkind.Wrap(errkind.Of(err), "read", s.Name+" is not a valid davsync backup: "+errkind.Message(err), err)
	}
	s.doc, s.key, s.compressed = doc, u.Key, u.Compressed
	s.Records, s.Tombstones = map[string]int{}, map[string]int{}
	for _, n := range doc.Names() {
		c := doc.Collection(n)
		s.Records[n], s.Tombstones[n] = len(c.Records), len(c.Tombstones)
	}
	return nil
}

// encode writes doc in the form of like (compressed and encrypted as it
// is), for a file that replaces or joins it.
func encode(doc *backup.Document, like *stored) ([]byte, error) {
	return envelope.Wrap(doc.Marshal(), like.compressed, like.key)
}

func shortHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:4])
}

// keep copies the sync file into the snapshots folder (a server-side COPY,
// or a PUT of its bytes where the server refuses COPY) and returns the
// snapshot's name. Keeping the same bytes twice is one snapshot.
func (c *conn) keep(ctx context.Context, s *stored) (string, error) {
	name := layout.SnapshotName(time.Now(), shortHash(s.body), s.Name)
	dst := c.layout.Snapshots + "/" + name
	err := c.client.Copy(ctx, c.layout.Path(s.Name), dst, false)
	if errkind.Of(err) == errkind.FolderMissing || errkind.Of(err) == errkind.NotFound {
		if err := c.client.MkcolAll(ctx, c.layout.Snapshots); err != nil {
			return "", err
		}
		err = c.client.Copy(ctx, c.layout.Path(s.Name), dst, false)
	}
	if err != nil && errkind.Of(err) != errkind.Precondition {
		// A server that refuses COPY gets the bytes.
		if _, perr := c.client.Put(ctx, dst, s.body, webdav.PutCondition{IfNoneMatchAny: true}); perr != nil && errkind.Of(perr) != errkind.Precondition {
			return "", errkind.Wrap(errkind.Of(perr), "snapshot", "the current file could not be kept as a snapshot ("+errkind.Message(perr)+"); nothing was changed", perr)
		}
	}
	return name, nil
}

// replace writes body over the sync file s under the same rules as the
// extension: only if the file is still the one read (If-Match its ETag),
// then read back; a device that wrote meanwhile fails the write (412)
// instead of being overwritten.
func (c *conn) replace(ctx context.Context, s *stored, body []byte) error {
	p := c.layout.Path(s.Name)
	tr := c.client.Traits()
	cond := webdav.PutCondition{IfMatch: s.ETag, IfHeader: tr.WeakETags && tr.IfHeader == webdav.Yes}
	if s.ETag == "" {
		cond = webdav.PutCondition{}
	}
	if _, err := c.client.Put(ctx, p, body, cond); err != nil {
		if errkind.Of(err) == errkind.Precondition {
			return errkind.Wrap(errkind.Precondition, "write", "another device wrote the sync file meanwhile; nothing was lost, run the command again", err)
		}
		return err
	}
	g, err := c.client.Get(ctx, p, "")
	if err != nil {
		return err
	}
	if !bytes.Equal(g.Body, body) {
		return errkind.New(errkind.Precondition, "write", "the sync file holds other bytes right after the write: another device wrote at the same moment (nothing is lost: it merges on its next sync); run the command again")
	}
	return nil
}
