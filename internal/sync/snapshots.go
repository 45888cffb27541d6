package sync

import (
	"context"
	"errors"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/webdav"
)

// snapshotStamp is the sortable UTC time that starts every snapshot name, so
// that name order is time order and no listing of dates is needed.
const snapshotStamp = "20060102T150405.000Z"

// SnapshotInfo describes one snapshot on the server.
type SnapshotInfo struct {
	Name string `json:"name"`
	// Time is when it was taken (ms), read from its name.
	Time int64 `json:"time"`
	Size int64 `json:"size"`
}

func (e *Engine) snapshotDue(set Settings, m *marker, opts CycleOptions) bool {
	if set.SnapshotKeep < 0 {
		return false
	}
	return opts.forceSnapshot || e.nowMs()-m.LastSnapshot >= int64(set.SnapshotIntervalSeconds)*1000
}

// snapshot keeps the current remote file (before it is replaced) in the
// snapshots folder: a server-side COPY, or, where the server refuses COPY, a
// PUT of the bytes. A failed snapshot fails the cycle before the remote is
// replaced, so the safety net is never silently skipped. Older snapshots
// beyond SnapshotKeep are then deleted (failures there are only warnings).
func (e *Engine) snapshot(ctx context.Context, cl *webdav.Client, l layout, m *marker, rm *remote, set Settings) (string, error) {
	// The content hash in the name makes two devices that snapshot the same
	// file in the same millisecond write the same name (412 = already kept).
	hash := m.Hash
	if rm != nil && rm.exists {
		hash = sha(rm.body)
	}
	hash = hash[:min(8, len(hash))]
	// A kept snapshot that already holds these bytes is the safety net for
	// this replacement: a cycle whose write keeps failing after its
	// snapshot (423, 507, 413, a lost connection) must not take another
	// copy of the same file on every retry and prune the older, distinct
	// versions to make room for it.
	list, lerr := e.listSnapshots(ctx, cl, l)
	if lerr == nil && hash != "" {
		for _, s := range list {
			if snapshotHash(s.Name) == hash {
				m.LastSnapshot = e.nowMs()
				return s.Name, nil
			}
		}
	}
	name := e.cfg.Now().UTC().Format(snapshotStamp) + "-" + hash + "--" + path.Base(m.File)
	dst := l.snapDir + "/" + name
	err := e.copyOrPut(ctx, cl, m, dst, rm)
	if isMissingFolder(err) {
		if merr := cl.MkcolAll(ctx, l.snapDir); merr != nil {
			return "", merr
		}
		err = e.copyOrPut(ctx, cl, m, dst, rm)
	}
	if errors.Is(err, errkind.Precondition) {
		err = nil // that exact snapshot exists already
	}
	if err != nil {
		return "", errkind.Wrap(errkind.Of(err), "snapshot", "the previous sync file could not be kept as a snapshot ("+errkind.Message(err)+"), so it was not replaced; davsync tries again on the next sync", err)
	}
	m.LastSnapshot = e.nowMs()
	if lerr == nil {
		e.prune(ctx, cl, l, set, name, append(list, SnapshotInfo{Name: name}))
	}
	return name, nil
}

// snapshotHash is the content-hash part of a snapshot name ("" if none).
func snapshotHash(name string) string {
	rest := name[min(len(snapshotStamp)+1, len(name)):]
	h, _, ok := strings.Cut(rest, "--")
	if !ok {
		return ""
	}
	return h
}

// copyOrPut copies the sync file to dst on the server, or, where the server
// refuses COPY (remembered in the marker), uploads the bytes (read again if
// this cycle did not read them).
func (e *Engine) copyOrPut(ctx context.Context, cl *webdav.Client, m *marker, dst string, rm *remote) error {
	if !m.NoCopy {
		err := cl.Copy(ctx, m.File, dst, false)
		if err == nil || isMissingFolder(err) || errors.Is(err, errkind.Precondition) || errors.Is(err, errkind.Auth) ||
			errors.Is(err, errkind.InsufficientStorage) || errors.Is(err, errkind.Network) ||
			errors.Is(err, errkind.Timeout) || errors.Is(err, errkind.Canceled) || errors.Is(err, errkind.RateLimited) {
			return err
		}
		m.NoCopy = true
	}
	var body []byte
	if rm != nil && rm.exists {
		body = rm.body
	} else {
		g, gerr := cl.Get(ctx, m.File, "")
		if gerr != nil {
			return gerr
		}
		body = g.Body
	}
	_, err := cl.Put(ctx, dst, body, webdav.PutCondition{IfNoneMatchAny: true})
	return err
}

func isMissingFolder(err error) bool {
	return errors.Is(err, errkind.FolderMissing) || errors.Is(err, errkind.NotFound)
}

// prune deletes the oldest snapshots of this sync file beyond SnapshotKeep.
// It never deletes just, the snapshot this cycle made: names sort by the
// writing device's clock, so after a device with a clock far ahead left
// newer-named snapshots, just sorts oldest, and deleting it would remove the
// only copy of the file the cycle is about to replace.
func (e *Engine) prune(ctx context.Context, cl *webdav.Client, l layout, set Settings, just string, list []SnapshotInfo) {
	sort.Slice(list, func(i, j int) bool { return list[i].Name > list[j].Name })
	for i := set.SnapshotKeep; i < len(list); i++ {
		if list[i].Name != just {
			_ = cl.Delete(ctx, l.snapDir+"/"+list[i].Name, "")
		}
	}
}

// ownSnapshot reports whether snapshot name was taken of this layout's sync
// file. A URL naming a file puts snapshots in a "snapshots/" folder beside
// it, which other sync files of that folder share: listing and pruning must
// leave theirs alone.
func (l layout) ownSnapshot(name string) bool {
	for _, n := range l.names {
		if strings.HasSuffix(name, "--"+n) {
			return true
		}
	}
	return false
}

func (e *Engine) listSnapshots(ctx context.Context, cl *webdav.Client, l layout) ([]SnapshotInfo, error) {
	rs, err := cl.List(ctx, l.snapDir)
	if isMissingFolder(err) {
		return []SnapshotInfo{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []SnapshotInfo{}
	for _, r := range rs {
		if r.IsDir {
			continue
		}
		name := path.Base(strings.TrimSuffix(r.Path, "/"))
		if len(name) < len(snapshotStamp) || !l.ownSnapshot(name) {
			continue
		}
		t, err := time.Parse(snapshotStamp, name[:len(snapshotStamp)])
		if err != nil {
			continue
		}
		out = append(out, SnapshotInfo{Name: name, Time: t.UnixMilli(), Size: r.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name > out[j].Name })
	return out, nil
}

// Snapshots lists the snapshots on the server, newest first.
func (e *Engine) Snapshots(ctx context.Context) ([]SnapshotInfo, error) {
	if err := e.begin(); err != nil {
		return nil, err
	}
	defer e.end()
	_, l, cl, err := e.connect(ctx)
	if err != nil {
		return nil, err
	}
	return e.listSnapshots(ctx, cl, l)
}

// RestoreSnapshot brings the data of snapshot name back and syncs it.
// mode "replace" makes the local data equal to the snapshot; "merge" only
// brings back records the snapshot has and this device lacks, keeping
// everything else. Either way the restored state is written as new edits
// (so it wins the next merge and reaches every device), the previous local
// state is kept as an undo point, and a sync cycle uploads it.
func (e *Engine) RestoreSnapshot(ctx context.Context, name, mode string, opts CycleOptions) (*CycleResult, error) {
	if mode != "merge" && mode != "replace" {
		return nil, errkind.New(errkind.Invalid, "restore snapshot", "mode must be \"merge\" or \"replace\"")
	}
	if name == "" || strings.ContainsAny(name, "/\\") {
		return nil, errkind.New(errkind.Invalid, "restore snapshot", "pick a snapshot from the list")
	}
	if err := e.begin(); err != nil {
		return nil, err
	}
	err := e.restoreLocally(ctx, name, mode, opts)
	e.end()
	if err != nil {
		return nil, err
	}
	// The user chose this restore: the guard's question is already answered.
	opts.Confirm = true
	return e.operate(ctx, opts)
}

// restoreLocally reads snapshot name and writes its data into the local
// store as new edits, keeping the previous state as an undo point.
func (e *Engine) restoreLocally(ctx context.Context, name, mode string, opts CycleOptions) error {
	set, l, cl, err := e.connect(ctx)
	if err != nil {
		return err
	}
	if !l.ownSnapshot(name) {
		return errkind.New(errkind.Invalid, "restore snapshot", "that is not a snapshot of this sync file; pick one from the list")
	}
	if mode == "merge" {
		// The restore keeps this device's data and syncs it with Confirm:
		// on a stale device that would bring back deletions the server
		// has forgotten. Ask first, before anything changes.
		var m marker
		if _, err := e.readJSON(ctx, keyMarker, &m); err != nil {
			return err
		}
		if p := staleAt(set, m.LastSync, e.nowMs()); p != nil {
			return errkind.New(errkind.NeedsConfirmation, "restore snapshot", p.Message)
		}
	}
	g, err := cl.Get(ctx, l.snapDir+"/"+name, "")
	if err != nil {
		return err
	}
	u, err := e.unwrap(ctx, set, g.Body, false)
	if err != nil {
		return err
	}
	snap, err := backup.Parse(u.Plain)
	if err != nil {
		return errkind.Wrap(errkind.Of(err), "restore snapshot", "the snapshot is not a valid davsync backup ("+errkind.Message(err)+"); pick another one", err)
	}
	// A snapshot in the other encryption form (with encryption on: a
	// plaintext file anyone who can write to the server could have put
	// there) is restored only once the user saw what it would bring.
	if u.Encrypted != set.Encrypt {
		cur, _, err := e.store.Load(ctx)
		if err != nil {
			return err
		}
		p := encryptionQuestion(set, u.Encrypted, sha(g.Body), recordCount(snap), restoreCounts(cur, snap, mode), arrivals(cur, snap))
		if !opts.answered(p) {
			return p.err()
		}
	}
	_, err = e.store.UpdateWith(ctx, "restore_snapshot", func(d *backup.Document) error {
		if mode == "replace" {
			return local.RestoreAsEdits(d, snap, e.store.Clock().Now)
		}
		return bringBack(d, snap, e.store.Clock().Now)
	})
	return err
}

// restoreCounts says what restoring snap over cur in mode would change on
// this device, per collection.
func restoreCounts(cur, snap *backup.Document, mode string) map[string]Counts {
	out := map[string]Counts{}
	for _, name := range snap.Names() {
		var c Counts
		col := cur.Collection(name)
		sc := snap.Collection(name)
		for _, r := range sc.Records {
			old, ok := col.Get(r.ID)
			switch {
			case !ok:
				c.Added++
			case mode == "replace" && string(old.Raw) != string(r.Raw):
				c.Updated++
			default:
				c.Unchanged++
			}
		}
		if mode == "replace" {
			for _, r := range col.Records {
				if _, ok := sc.Get(r.ID); !ok {
					c.Deleted++
				}
			}
		}
		out[name] = c
	}
	return out
}

// bringBack re-creates, as new edits, the records of snap that cur lacks.
func bringBack(cur, snap *backup.Document, now func() int64) error {
	for name, sc := range snap.Collections {
		c := cur.Collection(name)
		for _, r := range sc.Records {
			if _, ok := c.Get(r.ID); ok {
				continue
			}
			n, err := merge.Edit(nil, r.Raw, now())
			if err != nil {
				return errkind.Wrap(errkind.BadDocument, "restore snapshot", "a record of the snapshot could not be restored; pick another snapshot", err)
			}
			c.Put(n)
		}
	}
	return nil
}
