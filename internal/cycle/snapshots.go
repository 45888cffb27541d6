package cycle

import (
	"context"
	"errors"
	"path"
	"sort"
	"strings"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/layout"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/webdav"
)

func (r *run) snapshotDue(m *marker) bool {
	if r.opts.SnapshotKeep <= 0 {
		return false
	}
	return r.opts.ForceSnapshot || r.nowMs()-m.LastSnapshot >= r.opts.SnapshotInterval.Milliseconds()
}

// snapshot keeps the current remote file (before it is replaced) in the
// snapshots folder: a server-side COPY, or, where the server refuses COPY
// (Traits.Copy), a PUT of the bytes. A failed snapshot fails the cycle
// before the remote is replaced, so the safety net is never silently
// skipped. Older snapshots beyond SnapshotKeep are then deleted (failures
// there are only warnings).
func (r *run) snapshot(ctx context.Context, m *marker, rm *remote) (string, error) {
	env, cl := r.env, r.env.Client
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
	list, missing, lerr := listing(ctx, env)
	if lerr == nil && hash != "" {
		for _, s := range list {
			if layout.SnapshotHash(s.Name) == hash {
				m.LastSnapshot = r.nowMs()
				return s.Name, nil
			}
		}
	}
	name := layout.SnapshotName(env.Now(), hash, m.File)
	dst := env.Layout.Snapshots + "/" + name
	if missing {
		// The first snapshot of this folder: the listing said the
		// snapshots folder is missing, and its parent holds the sync file.
		if merr := cl.Mkcol(ctx, env.Layout.Snapshots); merr != nil {
			return "", errkind.SayWrap(errkind.Of(merr), "snapshot", msg.New("errSnapshotsFolder"), merr)
		}
	}
	err := r.copyOrPut(ctx, m, dst, rm)
	if isMissingFolder(err) {
		if merr := cl.MkcolAll(ctx, env.Layout.Snapshots); merr != nil {
			return "", merr
		}
		err = r.copyOrPut(ctx, m, dst, rm)
	}
	if errors.Is(err, errkind.Precondition) {
		err = nil // that exact snapshot exists already
	}
	if err != nil {
		return "", errkind.SayWrap(errkind.Of(err), "snapshot", msg.New("errSnapshotFailed"), err)
	}
	m.LastSnapshot = r.nowMs()
	if lerr == nil {
		r.prune(ctx, name, append(list, Snapshot{Name: name}))
	}
	return name, nil
}

// copyOrPut copies the sync file to dst on the server, or, where the server
// refuses COPY, uploads the bytes (read again if this cycle did not read
// them).
func (r *run) copyOrPut(ctx context.Context, m *marker, dst string, rm *remote) error {
	cl := r.env.Client
	if cl.Traits().Copy != webdav.No {
		err := cl.Copy(ctx, m.File, dst, false)
		if err == nil || isMissingFolder(err) || errors.Is(err, errkind.Precondition) || errors.Is(err, errkind.Auth) ||
			errors.Is(err, errkind.InsufficientStorage) || errors.Is(err, errkind.Network) ||
			errors.Is(err, errkind.Timeout) || errors.Is(err, errkind.Canceled) || errors.Is(err, errkind.RateLimited) {
			return err
		}
		// Refused for another reason: upload the bytes instead (and the
		// client remembers a server that does not COPY).
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
func (r *run) prune(ctx context.Context, just string, snaps []Snapshot) {
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].Name > snaps[j].Name })
	for i := r.opts.SnapshotKeep; i < len(snaps); i++ {
		if snaps[i].Name != just {
			_ = r.env.Client.Delete(ctx, r.env.Layout.Snapshots+"/"+snaps[i].Name, "")
		}
	}
}

// list returns this sync file's snapshots, newest first.
func list(ctx context.Context, env Env) ([]Snapshot, error) {
	out, _, err := listing(ctx, env)
	return out, err
}

// listing is list, also saying whether the snapshots folder is missing.
func listing(ctx context.Context, env Env) (out []Snapshot, missing bool, err error) {
	rs, err := env.Client.List(ctx, env.Layout.Snapshots)
	if isMissingFolder(err) {
		return []Snapshot{}, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	out = []Snapshot{}
	for _, res := range rs {
		if res.IsDir {
			continue
		}
		name := path.Base(strings.TrimSuffix(res.Path, "/"))
		if !env.Layout.OwnSnapshot(name) {
			continue
		}
		t, _ := layout.SnapshotTime(name)
		out = append(out, Snapshot{Name: name, Time: t.UnixMilli(), Size: res.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name > out[j].Name })
	return out, false, nil
}

// Snapshots lists the snapshots of env's sync file on the server, newest
// first.
func Snapshots(ctx context.Context, env Env) ([]Snapshot, error) {
	return list(ctx, env)
}

// Restore reads snapshot name and writes its data into the local store as
// new edits (so they win the next merge and reach every device), keeping
// the previous state as an undo point. mode "replace" makes the local data
// equal to the snapshot; "merge" only brings back records the snapshot has
// and this device lacks. The caller then runs a cycle to upload it.
//
// Why nothing is lost: the state before the restore is an undo point of
// the same atomic write; a merge restore on a stale device is asked about
// first (it would bring back deletions the server has forgotten); and a
// snapshot in the other encryption form (with encryption on, a plaintext
// file anyone who can write to the server could have put there) is
// restored only once the user saw what it would bring.
func Restore(ctx context.Context, env Env, opts Options, name, mode string) error {
	if mode != "merge" && mode != "replace" {
		return errkind.Internal(errkind.Invalid, "restore snapshot", "mode must be \"merge\" or \"replace\"", nil)
	}
	if name == "" || strings.ContainsAny(name, "/\\") || !env.Layout.OwnSnapshot(name) {
		return errkind.Say(errkind.Invalid, "restore snapshot", msg.New("errNotASnapshot"))
	}
	if mode == "merge" {
		last, err := LastSync(ctx, env)
		if err != nil {
			return err
		}
		if p := Stale(opts, last, env.Now()); p != nil {
			return p.held("restore snapshot")
		}
	}
	g, err := env.Client.Get(ctx, env.Layout.Snapshots+"/"+name, "")
	if err != nil {
		return err
	}
	u, err := env.Keys.Unwrap(ctx, g.Body, false)
	if err != nil {
		return err
	}
	snap, err := backup.Parse(u.Plain)
	if err != nil {
		return errkind.SayWrap(errkind.Of(err), "restore snapshot", msg.New("errSnapshotInvalid"), err)
	}
	if u.Encrypted != opts.Encrypt {
		cur, _, err := env.Store.Load(ctx)
		if err != nil {
			return err
		}
		p := encryptionQuestion(opts, u.Encrypted, sha(g.Body), recordCount(snap), restoreCounts(cur, snap, mode), arrivals(cur, snap))
		if !opts.answered(p) {
			return p.err()
		}
	}
	clock := env.Store.Clock()
	_, err = env.Store.UpdateWith(ctx, "restore_snapshot", func(d *backup.Document) error {
		if mode == "replace" {
			return local.RestoreAsEdits(d, snap, clock.Now)
		}
		return bringBack(d, snap, clock.Now)
	})
	return err
}

// restoreCounts says what restoring snap over cur in mode would change on
// this device, per collection.
func restoreCounts(cur, snap *backup.Document, mode string) merge.Changes {
	out := merge.Changes{}
	for _, name := range snap.Names() {
		var c merge.Counts
		col := cur.Collection(name)
		sc := snap.Collection(name)
		for _, rec := range sc.Records {
			old, ok := col.Get(rec.ID)
			switch {
			case !ok:
				c.Added++
			case mode == "replace" && string(old.Raw) != string(rec.Raw):
				c.Updated++
			default:
				c.Unchanged++
			}
		}
		if mode == "replace" {
			for _, rec := range col.Records {
				if _, ok := sc.Get(rec.ID); !ok {
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
		for _, rec := range sc.Records {
			if _, ok := c.Get(rec.ID); ok {
				continue
			}
			n, err := merge.Edit(nil, rec.Raw, now())
			if err != nil {
				return errkind.SayWrap(errkind.BadDocument, "restore snapshot", msg.New("errSnapshotRecord"), err)
			}
			c.Put(n)
		}
	}
	return nil
}
