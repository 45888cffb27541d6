package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/layout"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/transfer"
	"github.com/davsync/davsync/internal/webdav"
)

// ---- check ---------------------------------------------------------------------

type checkOut struct{ *webdav.CheckResult }

func (c checkOut) text() string {
	var b strings.Builder
	r := c.CheckResult
	row := func(k, v string) { fmt.Fprintf(&b, "%-22s %s\n", k, v) }
	yn := func(v bool) string {
		if v {
			return "yes"
		}
		return "no"
	}
	row("url", r.URL)
	row("ok", yn(r.OK))
	row("login", r.AuthScheme+" ("+map[bool]string{true: "accepted", false: "refused"}[r.CredentialsOK]+")")
	row("folder", r.Folder)
	row("can write / delete", yn(r.CanWrite)+" / "+yn(r.CanDelete))
	t := r.Traits
	row("conditional writes", yn(t.Conditional())+" (If-Match "+sup(t.IfMatch)+", If-None-Match "+sup(t.IfNoneMatch)+")")
	row("conditional GET", sup(t.ConditionalGet))
	row("ETags", "PROPFIND "+sup(t.PropfindETag)+", PUT "+sup(t.PutETag))
	if r.ClockKnown {
		row("clock offset", fmt.Sprintf("%d ms", r.ClockOffsetMs))
	}
	row("server", r.Server)
	row("unencrypted", yn(r.InsecureTransport))
	for _, w := range r.Warnings {
		row("note", w.String())
	}
	if r.Error != "" {
		row("error", r.Error)
	}
	return b.String()
}

func sup(s webdav.Support) string {
	b, _ := s.MarshalText()
	if len(b) == 0 {
		return "unknown"
	}
	return string(b)
}

func cmdCheck(ctx context.Context, g *globals, args []string) (any, error) {
	c, err := g.connectBare("check", args)
	if err != nil {
		return nil, err
	}
	res, err := c.client.Check(ctx)
	if err != nil {
		return nil, err
	}
	return checkOut{res}, nil
}

// ---- list ----------------------------------------------------------------------

type listOut struct {
	File      *stored   `json:"file"`
	Snapshots []*stored `json:"snapshots"`
}

func (l listOut) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-48s %-24s %10s  %-9s %s\n", "NAME", "TIME (UTC)", "SIZE", "FORM", "RECORDS")
	line := func(s *stored) {
		when := ""
		if s.Time > 0 {
			when = time.UnixMilli(s.Time).UTC().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(&b, "%-48s %-24s %10d  %-9s %s\n", s.Name, when, s.Size, s.Form, counts(s))
	}
	line(l.File)
	for _, s := range l.Snapshots {
		line(s)
	}
	return b.String()
}

// counts says what a file holds, "" when it could not be read.
func counts(s *stored) string {
	if s.Records == nil {
		return ""
	}
	names := make([]string, 0, len(s.Records))
	for n := range s.Records {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d (+%d deleted)", n, s.Records[n], s.Tombstones[n]))
	}
	return strings.Join(parts, ", ")
}

func cmdList(ctx context.Context, g *globals, args []string) (any, error) {
	c, err := g.connectBare("list", args)
	if err != nil {
		return nil, err
	}
	f, err := c.file(ctx)
	if err != nil {
		return nil, err
	}
	_ = g.decode(f, false) // counts when readable
	snaps, err := c.snapshots(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range snaps {
		full, err := c.snapshot(ctx, s.Name)
		if err != nil {
			return nil, err
		}
		s.Form, s.body = full.Form, full.body
		_ = g.decode(s, false)
	}
	return listOut{File: f, Snapshots: snaps}, nil
}

// ---- verify ----------------------------------------------------------------------

type verifyOut struct {
	*stored
	Valid bool `json:"valid"`
}

func (v verifyOut) text() string {
	return fmt.Sprintf("%s: valid davsync backup (%s, %d bytes): %s\n", v.Name, v.Form, v.Size, counts(v.stored))
}

// target returns the sync file (no argument), a snapshot (a name in the
// list) or a local file (a path that exists).
func (g *globals) target(ctx context.Context, arg string) (*stored, *conn, error) {
	if arg != "" {
		if b, err := os.ReadFile(arg); err == nil {
			if len(b) > limits.Download {
				return nil, nil, errkind.New(errkind.TooLarge, "read", arg+" is larger than any davsync file")
			}
			return &stored{Name: arg, Size: int64(len(b)), Form: form(b), body: b}, nil, nil
		}
	}
	c, err := g.connect()
	if err != nil {
		return nil, nil, err
	}
	if arg == "" {
		f, err := c.file(ctx)
		return f, c, err
	}
	s, err := c.snapshot(ctx, arg)
	return s, c, err
}

func cmdVerify(ctx context.Context, g *globals, args []string) (any, error) {
	pos, err := g.parse("verify", args, nil)
	if err != nil || len(pos) > 1 {
		return nil, usageError{"usage: davsync verify [NAME | FILE]"}
	}
	s, _, err := g.target(ctx, first(pos))
	if err != nil {
		return nil, err
	}
	if err := g.decode(s, true); err != nil {
		return nil, err
	}
	return verifyOut{stored: s, Valid: true}, nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// ---- export ----------------------------------------------------------------------

type exportOut struct {
	File  string `json:"file,omitempty"`
	Bytes int    `json:"bytes"`
	data  []byte
}

func (e exportOut) text() string {
	if e.File == "" {
		return string(e.data)
	}
	return fmt.Sprintf("wrote %s (%d bytes)\n", e.File, e.Bytes)
}

func scopeOf(only string) transfer.Scope {
	switch only {
	case "accounts":
		return transfer.ScopeAccounts
	case "preferences":
		return transfer.ScopePreferences
	}
	return transfer.ScopeAll
}

func cmdExport(ctx context.Context, g *globals, args []string) (any, error) {
	var out, onlyV string
	pos, err := g.parse("export", args, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "o", "", "")
		fs.StringVar(&onlyV, "only", "", "")
	})
	if err != nil || len(pos) > 1 {
		return nil, usageError{"usage: davsync export [NAME] [-o FILE] [--only accounts|preferences]"}
	}
	if err := only(onlyV); err != nil {
		return nil, err
	}
	s, _, err := g.target(ctx, first(pos))
	if err != nil {
		return nil, err
	}
	if err := g.decode(s, true); err != nil {
		return nil, err
	}
	// The export the extension makes of the same data (plain davsync JSON),
	// stamped with the file's own time so it is the same bytes every run.
	b, _, err := transfer.Export(s.doc, scopeOf(onlyV), transfer.ExportOptions{Now: s.doc.ExportedAt})
	if err != nil {
		return nil, err
	}
	if out == "" {
		if g.json {
			return map[string]any{"json": string(b)}, nil
		}
		return exportOut{Bytes: len(b), data: b}, nil
	}
	if err := writeFileAtomic(out, b); err != nil {
		return nil, errkind.Wrap(errkind.Storage, "export", "cannot write "+out+": "+err.Error(), err)
	}
	return exportOut{File: out, Bytes: len(b)}, nil
}

// ---- snapshot ----------------------------------------------------------------------

type nameOut struct {
	Snapshot string `json:"snapshot"`
	Note     string `json:"note,omitempty"`
}

func (n nameOut) text() string {
	if n.Note != "" {
		return n.Note + "\n"
	}
	return "kept " + n.Snapshot + "\n"
}

func cmdSnapshot(ctx context.Context, g *globals, args []string) (any, error) {
	c, err := g.connectBare("snapshot", args)
	if err != nil {
		return nil, err
	}
	f, err := c.file(ctx)
	if err != nil {
		return nil, err
	}
	name, err := c.keep(ctx, f)
	return nameOut{Snapshot: name}, err
}

// ---- restore ----------------------------------------------------------------------

type restoreOut struct {
	Restored string `json:"restored"`
	Kept     string `json:"kept"`
	Only     string `json:"only,omitempty"`
}

func (r restoreOut) text() string {
	s := "restored " + r.Restored
	if r.Only != "" {
		s += " (" + r.Only + " only)"
	}
	return s + "; the file it replaced is kept as " + r.Kept + "\n"
}

// cmdRestore makes snapshot NAME's data the current data: its records are
// written as new edits over the current file (as the extension's
// "restore, replace" does), so every device takes them on its next sync
// instead of merging them away as old. The current file is kept as a
// snapshot first, and the write is conditional on it: a device that wrote
// meanwhile makes the restore fail, not vanish.
func cmdRestore(ctx context.Context, g *globals, args []string) (any, error) {
	var onlyV string
	var yes bool
	pos, err := g.parse("restore", args, func(fs *flag.FlagSet) {
		fs.StringVar(&onlyV, "only", "", "")
		fs.BoolVar(&yes, "yes", false, "")
	})
	if err != nil || len(pos) != 1 {
		return nil, usageError{"usage: davsync restore NAME [--only accounts|preferences] [--yes]"}
	}
	if err := only(onlyV); err != nil {
		return nil, err
	}
	c, err := g.connect()
	if err != nil {
		return nil, err
	}
	snap, err := c.snapshot(ctx, pos[0])
	if err != nil {
		return nil, err
	}
	cur, err := c.file(ctx)
	if err != nil {
		return nil, err
	}
	if err := g.decode(snap, true); err != nil {
		return nil, err
	}
	if err := g.decode(cur, true); err != nil {
		return nil, err
	}
	what := "all data"
	if onlyV != "" {
		what = "the " + onlyV
	}
	if !yes && !g.confirm("Make "+what+" of "+snap.Name+" ("+counts(snap)+") the current data on the server? The current file is kept as a snapshot first.") {
		return nil, errkind.New(errkind.NeedsConfirmation, "restore", "restoring replaces "+what+" on the server for every device; run again with --yes to confirm (the current file is kept as a snapshot first)")
	}
	target := snap.doc.Clone()
	switch onlyV {
	case "accounts":
		target.Preferences = cur.doc.Preferences
	case "preferences":
		target.Collections = cur.doc.Clone().Collections
	}
	next := cur.doc.Clone()
	clock := hlc.New(nil)
	clock.Observe(max(cur.doc.Newest(), snap.doc.Newest()))
	if err := local.RestoreAsEdits(next, target, clock.Now); err != nil {
		return nil, err
	}
	next.ExportedAt = time.Now().UnixMilli()
	body, err := encode(next, cur)
	if err != nil {
		return nil, err
	}
	kept, err := c.keep(ctx, cur)
	if err != nil {
		return nil, err
	}
	if err := c.replace(ctx, cur, body); err != nil {
		return nil, err
	}
	return restoreOut{Restored: snap.Name, Kept: kept, Only: onlyV}, nil
}

// ---- import ----------------------------------------------------------------------

// cmdImport uploads a davsync or All API Hub file as a new snapshot of the
// sync file (restore it with `davsync restore` or from the extension); it is
// stored like the current file (compressed, and encrypted when the current
// file is and the passphrase is given).
func cmdImport(ctx context.Context, g *globals, args []string) (any, error) {
	pos, err := g.parse("import", args, nil)
	if err != nil || len(pos) != 1 {
		return nil, usageError{"usage: davsync import FILE"}
	}
	raw, err := os.ReadFile(pos[0])
	if err != nil {
		return nil, usageError{"cannot read " + pos[0] + ": " + err.Error()}
	}
	doc, err := g.readImport(raw)
	if err != nil {
		return nil, err
	}
	c, err := g.connect()
	if err != nil {
		return nil, err
	}
	like := &stored{Name: layout.FileName, compressed: true}
	if cur, err := c.file(ctx); err == nil {
		like = cur
		if err := g.decode(cur, true); err != nil {
			return nil, err
		}
	} else if errkind.Of(err) != errkind.NotFound {
		return nil, err
	}
	doc.ExportedAt = time.Now().UnixMilli()
	body, err := encode(doc, like)
	if err != nil {
		return nil, err
	}
	name := layout.SnapshotName(time.Now(), shortHash(body), like.Name)
	dst := c.layout.Snapshots + "/" + name
	_, err = c.client.Put(ctx, dst, body, webdav.PutCondition{IfNoneMatchAny: true})
	if errkind.Of(err) == errkind.FolderMissing {
		if err := c.client.MkcolAll(ctx, c.layout.Snapshots); err != nil {
			return nil, err
		}
		_, err = c.client.Put(ctx, dst, body, webdav.PutCondition{IfNoneMatchAny: true})
	}
	if err != nil {
		return nil, err
	}
	return nameOut{Snapshot: name, Note: "imported as snapshot " + name + "; `davsync restore " + name + "` makes it the current data"}, nil
}

// readImport reads a file as the extension's import does (transfer.Read:
// a davsync file, plain, gzip or encrypted, or an All API Hub backup),
// asking for the passphrase only when the file turns out to need one.
func (g *globals) readImport(raw []byte) (*backup.Document, error) {
	now := time.Now().UnixMilli()
	doc, err := transfer.Read(raw, "", envelope.GoKDF, now)
	if errkind.Of(err) != errkind.PassphraseNeeded {
		return doc, err
	}
	pass, perr := g.passphraseValue()
	if perr != nil {
		return nil, perr
	}
	if pass == "" {
		return nil, err
	}
	return transfer.Read(raw, pass, envelope.GoKDF, now)
}
