package cycle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/layout"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/webdav"
)

// Bounds of one cycle.
const (
	// maxRounds bounds read-merge-write rounds lost to other writers (412 or
	// a read-back showing someone else's write).
	maxRounds = 4
	// maxApply bounds compare-and-swap retries lost to local edits made
	// while the cycle runs.
	maxApply = 10
	// settleAfter: an ETag is trusted for "not modified" only when it was
	// seen at least this long after the file's last modification (see
	// settled()).
	settleAfter = 2 * time.Second
	// maxServerAhead bounds how far ahead of this device's clock a server's
	// Date is believed (a year and a bit: a clock reset to last year).
	maxServerAhead = 400 * 24 * time.Hour
)

// remote is one full read of the remote file.
type remote struct {
	exists    bool
	body      []byte // bytes as stored on the server
	etag      string
	settled   bool
	doc       *backup.Document // decoded; nil until decode
	encrypted bool
	empty     bool // zero bytes: holds no data (see remoteOf)
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// settled reports whether an ETag seen in a response can be trusted to
// change with the next write. Some servers build ETags from whole seconds
// and the size (nginx), so a same-size write within the same second keeps
// the ETag, and a "304 not modified" for it would hide that write. An ETag
// observed at least settleAfter after the file's Last-Modified (both server
// clock) can no longer be reused by a later write, whose mtime is newer.
func settled(etag string, lastModified, date time.Time) bool {
	if etag == "" {
		return false
	}
	if !webdav.SecondETag(etag) || lastModified.IsZero() || date.IsZero() {
		return true
	}
	return date.Sub(lastModified) >= settleAfter
}

// run is one cycle in progress.
type run struct {
	env  Env
	opts Options
	res  *Result
	// serverAhead: the cycle saw a server Date this far ahead of the
	// device clock (observeServer).
	serverAhead time.Duration
	// folderMissing: discover's listing found no sync folder, so the first
	// write creates it before its PUT.
	folderMissing bool
}

func (r *run) nowMs() int64 { return r.env.Now().UnixMilli() }

// The phases a cycle reports (Env.Progress), in the order they happen.
const (
	PhaseReading    = "reading"
	PhaseMerging    = "merging"
	PhaseEncrypting = "encrypting"
	PhaseWriting    = "writing"
	PhaseVerifying  = "verifying"
)

func (r *run) phase(p string) {
	if r.env.Progress != nil {
		r.env.Progress(p)
	}
}

// Run runs one sync cycle of env's remote.
func Run(ctx context.Context, env Env, opts Options) (*Result, error) {
	if opts.Strategy == "" {
		opts.Strategy = merge.StrategyMerge
	}
	if opts.Strategy != merge.StrategyMerge {
		opts.ReplaceSide = true
	}
	r := &run{env: env, opts: opts, res: &Result{}}
	err := r.cycle(ctx)
	if w := r.clockWarning(); w != nil {
		r.res.Warnings, r.res.Checked = append(r.res.Warnings, *w), true
	}
	return r.res, err
}

func (r *run) cycle(ctx context.Context) error {
	env, opts, res := r.env, r.opts, r.res
	var m marker
	if _, err := readState(ctx, env, keyMarker, &m); err != nil {
		return err
	}
	target := env.Layout.Target()
	if m.Target != target {
		// A new URL starts over as a first sync, but the local data is as
		// old as it was: keeping LastSync keeps the stale-device question
		// below, so editing the URL cannot merge in records whose deletion
		// the other devices have already forgotten.
		m = marker{Target: target, LastSync: m.LastSync}
	}
	now := r.nowMs()
	fresh := !m.Exists

	if opts.Strategy == merge.StrategyMerge {
		if p := staleAt(opts, m.LastSync, now); p != nil && (opts.AskStale || !opts.answered(p)) {
			res.Preview = p
			return p.held("sync")
		}
	}

	rev, err := env.Store.Rev(ctx)
	if err != nil {
		return err
	}
	localChanged := fresh || rev != m.LocalRev

	// Step 1: learn whether the remote changed. With a settled ETag this is
	// the one request of a "nothing changed" cycle.
	var rm *remote
	unchanged := false
	r.phase(PhaseReading)
	switch {
	case fresh:
		rm, err = r.discover(ctx, &m)
	case opts.ForceRead:
		rm, err = r.read(ctx, m.File)
	default:
		rm, unchanged, err = r.probe(ctx, &m)
	}
	if err != nil {
		return err
	}

	if unchanged && !localChanged && !opts.ForceSnapshot {
		// The marker's last-sync time moves (the stale-device check reads
		// it), and the probe may have settled the ETag.
		m.LastSync = now
		return writeState(ctx, env, map[string]any{keyMarker: m})
	}

	var base merge.Base
	if !fresh {
		if _, err := readState(ctx, env, keyBase, &base); err != nil {
			return err
		}
	}

	// failedOn is the hash of the remote bytes a write's condition stood for
	// when it got 412; unconditional is set when a re-read shows those very
	// bytes, i.e. nobody wrote and the server (or a proxy: mod_deflate's
	// "-gzip" ETags) refuses every If-Match. Looping on 412 would stop sync
	// for good; instead the write goes without a condition, which is exactly
	// the servers-that-ignore-preconditions case write() argues is safe: the
	// bytes are read back, and anything a concurrent device wrote in the
	// gap is still in its store and merged back on its next cycle.
	failedOn, unconditional := "", false

	// Step 2, only local changes: the remote still holds exactly what this
	// device last synced, and the local document descends from that, so the
	// local document is the merge. Upload it guarded by the ETag; a 412
	// (someone wrote meanwhile) falls through to the full path below.
	if unchanged && opts.Strategy != merge.DownloadOnly {
		doc, rev, err := env.Store.Load(ctx)
		if err != nil {
			return err
		}
		if p := encryptionQuestion(opts, m.Encrypted, m.Hash, 0, nil, nil); p != nil && !opts.answered(p) {
			res.Preview = p
			return p.err()
		}
		if p := guardFromBase(opts, base, doc); p != nil && !opts.answered(p) {
			res.Preview = p
			return p.held("sync")
		}
		w, werr := r.write(ctx, &m, doc, m.ETag, true, nil)
		switch {
		case werr == nil:
			res.Warnings, res.Checked = merge.FutureWarnings(doc, now), true
			return r.commitMarkers(ctx, &m, w, rev, doc, now)
		case errors.Is(werr, errkind.Precondition):
			rm = nil // re-read below
			failedOn = m.Hash
		case isRace(werr):
			rm = werr.(*raceError).remote
			res.FollowUp = true
		default:
			return werr
		}
	}

	// Step 3, the full path: read, merge, apply locally, write, confirm.
	applies, reread := 0, false
	for round := 1; ; round++ {
		res.Rounds = round
		if round > maxRounds {
			return errkind.Say(errkind.Precondition, "sync", msg.New("errKeptWriting"))
		}
		// The guard looks at every remote this cycle merges: after a 412 or
		// a race the re-read file may be another device's mass deletion,
		// which this device must be asked about as if it had read it first.
		// (Stopping here leaves the earlier round's merge applied locally,
		// which is only a merge, and the remote untouched.)
		guarded := false
		if rm == nil {
			r.phase(PhaseReading)
			if rm, err = r.read(ctx, m.File); err != nil {
				return err
			}
			unconditional = failedOn != "" && rm.exists && sha(rm.body) == failedOn
		}
		failedOn = ""
		if opts.Strategy == merge.DownloadOnly && (!rm.exists || rm.empty) {
			// "Local becomes the remote" with no remote data would empty
			// this device (and upload the empty result): a mistyped URL or
			// a removed file is not a request to delete everything. Stop
			// before any write; the local data stays as it is.
			return errkind.Say(errkind.NotFound, "download", msg.New("errNothingToDownload"))
		}
		err := r.decode(ctx, rm)
		if errors.Is(err, errkind.BadDocument) && !reread {
			// A file that does not parse may be one another device is
			// writing at this moment (rclone serves an upload while it
			// arrives): read it once more after a pause. Bytes that come
			// back the same are damaged for real.
			reread = true
			if again, ok := r.reread(ctx, m.File, rm); ok {
				rm = again
				err = r.decode(ctx, rm)
			}
		}
		if err != nil {
			// Upload replaces the remote whatever it holds; an unreadable
			// file (damaged, a newer format, another passphrase) may be
			// replaced only on an explicit confirm, and is kept as a
			// snapshot first.
			if opts.Strategy != merge.UploadOnly || errors.Is(err, errkind.Auth) {
				return err
			}
			note := msg.New("askUnreadableRemote")
			text := "the sync file on the server cannot be read (" + errkind.Message(err) + "); confirm to replace it with this device's data (it is kept as a snapshot first)"
			if p := (&Preview{Reason: "unreadable_remote", Message: text, Note: &note}); !opts.answered(p) {
				res.Preview = p
				e := p.held("upload")
				e.Err = err
				return e
			}
			rm.doc, rm.empty = backup.New(), true
		}
		var (
			mres      *merge.Outcome
			needWrite bool
			newRev    int64
			applied   bool
		)
		// Apply the merge locally with compare-and-swap: an edit the user
		// made while this cycle was on the network bumps the revision, the
		// swap fails, and the merge is recomputed from the new local state
		// (the edit is merged in, never overwritten).
		for {
			applies++
			if applies > maxApply {
				return errkind.Say(errkind.Busy, "sync", msg.New("errEditsKeptArriving"))
			}
			doc, rev, err := env.Store.Load(ctx)
			if err != nil {
				return err
			}
			remoteDoc := rm.doc
			if remoteDoc == nil {
				remoteDoc = backup.New()
			}
			// Now is the wall clock, not the HLC: after a device with a clock
			// running ahead has written, the HLC runs ahead too, and measured
			// against it that write would no longer be reported, and
			// tombstones would look older than they are and be dropped early
			// (bringing deleted records back on a device that missed them).
			r.phase(PhaseMerging)
			mres, err = merge.Merge(doc, remoteDoc, merge.Terms{
				Strategy: opts.Strategy, Base: base, Now: r.nowMs(), TombstoneHorizon: opts.Horizon,
			})
			if err != nil {
				return err
			}
			mres.Doc.ExportedAt = doc.ExportedAt
			// Past every timestamp the merge holds, so an edit made after this
			// sync sorts after everything it has seen, whatever the clocks of
			// the devices that wrote them.
			env.Store.Clock().Observe(mres.Doc.Newest())
			if !guarded {
				// A remote whose encryption differs from the settings is
				// asked about before anything of it reaches this device:
				// with encryption on, a plaintext file on the server is
				// what someone who can write there (but does not know the
				// passphrase) would put in its place.
				if rm.exists && !rm.empty && rm.encrypted != opts.Encrypt {
					arriving := mres.Local
					if p := encryptionQuestion(opts, rm.encrypted, sha(rm.body), recordCount(remoteDoc), arriving, arrivals(doc, mres.Doc)); p != nil && !opts.answered(p) {
						res.Preview = p
						return p.err()
					}
				}
				if p := guardFromMerge(opts, doc, remoteDoc, rm.exists, mres); p != nil && !opts.answered(p) {
					res.Preview = p
					return p.held("sync")
				}
				guarded = true
			}
			// A remote in the other encryption form is rewritten in this
			// device's form once the question above was answered.
			needWrite = !rm.exists || rm.doc == nil || !mres.Doc.SameContent(rm.doc) ||
				rm.empty || rm.encrypted != opts.Encrypt
			if h := env.Hooks.BeforeApply; h != nil {
				h(ctx)
			}
			var state map[string][]byte
			nc := 0
			if len(mres.Conflicts) > 0 && env.Log != nil {
				if state, nc, err = env.Log.Add(ctx, mres.Conflicts); err != nil {
					return err
				}
			}
			label := "sync"
			if opts.UndoLabel != "" {
				label = opts.UndoLabel
			}
			var ok bool
			ok, newRev, err = env.Store.CommitIf(ctx, rev, local.Commit{Doc: mres.Doc, UndoLabel: label, UndoSource: env.Source, State: state})
			if err != nil {
				return err
			}
			if ok {
				applied = newRev != rev
				res.Conflicts += nc
				break
			}
		}
		res.Applied = res.Applied || applied
		res.Local, res.Remote = mres.Local, mres.Remote
		res.Warnings, res.Checked = mres.Warnings, true

		if !needWrite {
			// The remote already holds the merge: nothing to upload.
			m.Exists, m.ETag, m.Hash, m.Size, m.Settled = true, rm.etag, sha(rm.body), int64(len(rm.body)), rm.settled
			m.Encrypted = rm.encrypted
			return r.commitMarkers(ctx, &m, nil, newRev, mres.Doc, now)
		}
		ifMatch := rm.etag
		if unconditional {
			ifMatch = ""
		}
		w, werr := r.write(ctx, &m, mres.Doc, ifMatch, rm.exists, rm)
		switch {
		case werr == nil:
			return r.commitMarkers(ctx, &m, w, newRev, mres.Doc, now)
		case errors.Is(werr, errkind.Precondition):
			if rm.exists {
				failedOn = sha(rm.body)
			}
			rm = nil
		case isRace(werr):
			rm = werr.(*raceError).remote
			res.FollowUp = true
		default:
			return werr
		}
	}
}

// staleAt returns the stale-device preview when a device that last synced
// at lastSync is older than the tombstone horizon at now, else nil.
func staleAt(opts Options, lastSync, now int64) *Preview {
	if lastSync <= 0 || time.Duration(now-lastSync)*time.Millisecond <= opts.Horizon {
		return nil
	}
	p := &Preview{Reason: "stale_device"}
	p.ask(msg.Count("askStale", int(opts.Horizon/(24*time.Hour))))
	return p
}

// Stale returns the stale-device question for a remote that last synced at
// lastSync (ms), or nil: a restore that merges asks it before it changes
// anything.
func Stale(opts Options, lastSync int64, now time.Time) *Preview {
	return staleAt(opts, lastSync, now.UnixMilli())
}

// written is what a confirmed write left on the server.
type written struct {
	etag, hash string
	size       int64
	settled    bool
	encrypted  bool
}

// commitMarkers moves the sync markers after a confirmed write (w != nil)
// or a read that showed the remote already equal to the merge. rev is the
// local revision whose document equals doc: if the user edited after it,
// the next cycle sees a newer revision and uploads that edit.
func (r *run) commitMarkers(ctx context.Context, m *marker, w *written, rev int64, doc *backup.Document, now int64) error {
	if w != nil {
		m.Exists, m.ETag, m.Hash, m.Size, m.Settled, m.Encrypted = true, w.etag, w.hash, w.size, w.settled, w.encrypted
		m.Written = now
		r.res.Uploaded = true
	}
	m.LocalRev = rev
	m.LastSync = now
	return writeState(ctx, r.env, map[string]any{keyMarker: m, keyBase: merge.NewBase(doc)})
}

// raceError says the read-back after a confirmed write showed other bytes:
// another device wrote at the same moment (or the server dropped the write
// while answering 2xx). The cycle merges what is there and writes again.
type raceError struct{ remote *remote }

func (e *raceError) Error() string { return "the sync file changed while it was being written" }

// preconditionHeld reports whether a successful conditional write proves
// that it replaced the version the cycle merged (see write).
func (r *run) preconditionHeld(tr webdav.Traits, exists bool, ifMatch string) bool {
	if tr.PropfindETag != webdav.Yes || tr.SecondETags {
		return false
	}
	if !exists {
		return tr.IfNoneMatch == webdav.Yes
	}
	return ifMatch != "" && tr.IfMatch == webdav.Yes
}

func isRace(err error) bool {
	var re *raceError
	return errors.As(err, &re)
}

// discover finds the remote file on a first sync: the configured name, or
// the other compression variant if only that one exists (so devices with
// different compression settings share one file). In davsync's own folder
// one listing (PROPFIND Depth 1) says which exists, and whether the folder
// does, so a first device pays no GET per missing name and no PUT into a
// missing folder; a server whose listing fails is asked name by name.
func (r *run) discover(ctx context.Context, m *marker) (*remote, error) {
	l := r.env.Layout
	m.File = l.Path(l.Names[0])
	names := l.Names
	if l.Dir != "" && !l.Explicit {
		entries, err := r.env.Client.List(ctx, l.Dir)
		switch {
		case errors.Is(err, errkind.NotFound) || errors.Is(err, errkind.FolderMissing):
			r.folderMissing = true
			return &remote{}, nil
		case err == nil:
			present := map[string]bool{}
			for _, e := range entries {
				present[e.Path] = !e.IsDir
			}
			names = nil
			for _, name := range l.Names {
				if present[l.Path(name)] {
					names = append(names, name)
				}
			}
		}
	}
	for _, name := range names {
		rm, err := r.read(ctx, l.Path(name))
		if err != nil {
			return nil, err
		}
		if rm.exists {
			m.File = l.Path(name)
			return rm, nil
		}
	}
	return &remote{}, nil
}

// read downloads the remote file; a missing file is remote{exists: false}.
func (r *run) read(ctx context.Context, file string) (*remote, error) {
	g, err := r.env.Client.Get(ctx, file, "")
	if errors.Is(err, errkind.NotFound) || errors.Is(err, errkind.FolderMissing) {
		return &remote{}, nil
	}
	if err != nil {
		return nil, err
	}
	r.observeServer(g.Date)
	return remoteOf(g), nil
}

// rereadPause is how long a file that did not parse is given to finish
// arriving before it is read again.
const rereadPause = 300 * time.Millisecond

// reread reads file again after rereadPause; ok is false when the read
// failed or brought the same bytes as rm.
func (r *run) reread(ctx context.Context, file string, rm *remote) (*remote, bool) {
	select {
	case <-ctx.Done():
		return nil, false
	case <-time.After(rereadPause):
	}
	again, err := r.read(ctx, file)
	if err != nil || !again.exists || bytes.Equal(again.body, rm.body) {
		return nil, false
	}
	return again, true
}

func remoteOf(g *webdav.GetResult) *remote {
	rm := &remote{exists: true, body: g.Body, etag: g.ETag, settled: settled(g.ETag, g.LastModified, g.Date)}
	if len(g.Body) == 0 {
		// A zero-byte file is what a write that "succeeded" without storing
		// anything leaves behind. It holds no data to lose, so it is treated
		// like a missing file, still replaced under its ETag.
		rm.doc, rm.empty = backup.New(), true
	}
	return rm
}

// probe asks whether the remote changed since the marker, in one request.
// With a settled ETag it is a conditional GET (304 = unchanged), or, on a
// server that answers conditional GETs with the whole file
// (Traits.ConditionalGet No), a PROPFIND Depth 0 whose ETag and size must
// be the marker's; a PROPFIND that shows no ETag at all (then learned as
// Traits.PropfindETag No) cannot tell, and the GET follows. Right after a
// write it is a plain GET compared by hash, which also settles the ETag
// once the write is old enough.
func (r *run) probe(ctx context.Context, m *marker) (rm *remote, unchanged bool, err error) {
	cl := r.env.Client
	tr := cl.Traits()
	if m.Settled && m.ETag != "" && (tr.ConditionalGet == webdav.No || tr.GetETag == webdav.No) && tr.PropfindETag != webdav.No {
		st, err := cl.Stat(ctx, m.File)
		switch {
		case errors.Is(err, errkind.NotFound) || errors.Is(err, errkind.FolderMissing):
			return &remote{}, false, nil
		case err != nil:
			return nil, false, err
		case st.ETag == m.ETag && (m.Size == 0 || st.Size == m.Size):
			return nil, true, nil
		case st.ETag != "":
			rm, err := r.read(ctx, m.File)
			if err == nil && rm.exists && rm.etag == "" && st.Size == int64(len(rm.body)) {
				// The ETag was asked for before the body: see below.
				rm.etag, rm.settled = st.ETag, !webdav.SecondETag(st.ETag)
			}
			return rm, false, err
		}
	}
	cond := ""
	if m.Settled {
		cond = m.ETag
	}
	g, err := r.get(ctx, m.File, cond, m.ETag == "" && m.Exists)
	if errors.Is(err, errkind.NotFound) || errors.Is(err, errkind.FolderMissing) {
		return &remote{}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	r.observeServer(g.Date)
	if g.NotModified {
		return nil, true, nil
	}
	if sha(g.Body) == m.Hash {
		m.ETag, m.Settled = g.ETag, settled(g.ETag, g.LastModified, g.Date)
		m.Size = int64(len(g.Body))
		return nil, true, nil
	}
	return remoteOf(g), false, nil
}

// get is a GET that, when wantETag is set, comes back with an ETag even
// from a server whose GETs carry none but whose PROPFIND reports one (npm
// webdav-server): the ETag is asked for first, so that the next probe can
// be a PROPFIND instead of the whole file. The order matters: a write
// landing between the two leaves the older ETag beside the newer body, and
// the next probe, seeing a different ETag, reads the file again; the other
// order would pair a newer ETag with the body we knew, and hide that write
// for good. An ETag whose size does not match the body is not used.
func (r *run) get(ctx context.Context, file, ifNoneMatch string, wantETag bool) (*webdav.GetResult, error) {
	cl := r.env.Client
	tr := cl.Traits()
	var before *webdav.Resource
	if wantETag && tr.GetETag == webdav.No && tr.PropfindETag != webdav.No {
		before, _ = cl.Stat(ctx, file) // best effort: the GET decides
	}
	g, err := cl.Get(ctx, file, ifNoneMatch)
	if err == nil && g.ETag == "" && !g.NotModified && before != nil && before.Size == int64(len(g.Body)) {
		g.ETag = before.ETag
	}
	return g, err
}

// observeServer advances the clock to the server's time: a device whose
// own clock runs far behind would otherwise stamp a deletion just after the
// newest time it has seen, which in a document nobody edited for a while is
// already older than the tombstone horizon, so every other device drops the
// tombstone at once and a device that still holds the record brings it back.
//
// The server's clock is believed within bounds: a broken or hostile server
// whose Date lies far ahead would push every later local edit into the
// future, where it beats every other device's edits. A Date more than
// maxServerAhead ahead is ignored; one more than hlc.Skew ahead is observed
// (a device clock behind by weeks is real: a dead battery, a hand-set date)
// and reported, so the user sees which clock is wrong.
func (r *run) observeServer(date time.Time) {
	if date.IsZero() {
		return
	}
	d, wall := date.UnixMilli(), r.nowMs()
	ahead := time.Duration(d-wall) * time.Millisecond
	if ahead > maxServerAhead {
		return
	}
	if ahead > hlc.Skew && ahead > r.serverAhead {
		r.serverAhead = ahead
	}
	r.env.Store.Clock().Observe(d)
}

// clockWarning returns the warning for a server clock observed far ahead of
// this device's during the cycle, or "".
func (r *run) clockWarning() *msg.Msg {
	if r.serverAhead == 0 {
		return nil
	}
	w := msg.Count("warnServerClockAhead", int(r.serverAhead.Hours()/24))
	return &w
}

// decode parses the remote file (encrypted, gzip or plain, by content).
func (r *run) decode(ctx context.Context, rm *remote) error {
	if rm.doc != nil || !rm.exists {
		return nil
	}
	u, err := r.env.Keys.Unwrap(ctx, rm.body, r.opts.Auto)
	if err != nil {
		return err
	}
	doc, err := backup.Parse(u.Plain)
	if err != nil {
		return errkind.SayWrap(errkind.Of(err), "read sync file", msg.New("errSyncFileInvalid"), err)
	}
	rm.doc, rm.encrypted = doc, u.Encrypted
	return nil
}

// encryptionQuestion returns the question to ask before a remote whose
// encryption differs from the settings is merged in or replaced, or nil when
// they agree. subject identifies the remote's bytes, so that a confirmation
// answers only the file it was asked about; arriving counts what merging it
// would change on this device (nil when nothing of it arrives), examples
// name some of those records, and held is how many records the file holds.
func encryptionQuestion(opts Options, remoteEncrypted bool, subject string, held int, arriving merge.Changes, examples []Example) *Preview {
	if remoteEncrypted == opts.Encrypt {
		return nil
	}
	p := &Preview{Reason: "encryption_change", Subject: subject, Local: arriving, Examples: examples}
	if remoteEncrypted {
		p.ask(msg.New("askEncryptedRemote"))
		return p
	}
	added, changed := 0, 0
	for name, c := range arriving {
		if _, ok := backup.Spec(name); ok { // records, not the preferences object
			added += c.Added
			changed += c.Updated + c.Deleted
		}
	}
	if arriving == nil {
		p.ask(msg.New("askPlainRemote"))
	} else {
		p.ask(msg.Count("askPlainRemoteCounts", held, strconv.Itoa(added), strconv.Itoa(changed), exampleNames(examples)))
	}
	return p
}

// ask sets the question the preview asks: the message for the pages and
// its English for the error string and the command line.
func (p *Preview) ask(m msg.Msg) {
	p.Note, p.Message = &m, m.String()
}

// held is the NeedsConfirmation error of an operation p holds, saying its
// question.
func (p *Preview) held(op string) *errkind.Error {
	e := &errkind.Error{Kind: errkind.NeedsConfirmation, Op: op, Msg: p.Message}
	if p.Note != nil {
		e.Note = *p.Note
	}
	return e
}

// err is the held sync's error that also carries p for the page (the
// question a confirmation must name).
func (p *Preview) err() error {
	e := p.held("sync")
	e.Detail = mustJSON(p)
	return e
}

// recordCount is how many records d holds in all collections.
func recordCount(d *backup.Document) int {
	n := 0
	for _, name := range d.Names() {
		n += len(d.Collection(name).Records)
	}
	return n
}

// arrivals names records that after holds and before does not (what a merge
// would bring to this device), at most maxExamples.
func arrivals(before, after *backup.Document) []Example {
	var out []Example
	for _, name := range after.Names() {
		b := before.Collection(name)
		for _, rec := range after.Collection(name).Records {
			if len(out) >= maxExamples {
				return out
			}
			if _, ok := b.Get(rec.ID); !ok {
				out = append(out, Example{Side: "local", Collection: name, ID: rec.ID, Name: RecordName(rec.Raw), Change: "added"})
			}
		}
	}
	return out
}

// exampleNames lists the examples' names for a message: ` (e.g. "a", "b")`.
func exampleNames(ex []Example) string {
	var names []string
	for _, e := range ex {
		if e.Name != "" {
			names = append(names, strconv.Quote(e.Name))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// write uploads doc over the remote file (guarded by ifMatch, or
// If-None-Match: * when the file does not exist), making a snapshot first
// when one is due, and confirms that the bytes landed.
//
// Why this cannot lose an edit:
//   - On a server that honours the condition, a write that would overwrite
//     another device's upload fails with 412 and the cycle re-reads and
//     re-merges.
//   - On a server that ignores preconditions (nginx, rclone, x/net, npm) the
//     write may overwrite an upload that landed after our read. Merge is
//     state-based: every record that upload carried is still in that
//     device's local store, and its marker still names its own upload's
//     ETag and hash. On its next cycle it sees a different file, merges its
//     state with ours and writes the union back. Nothing is lost; it is
//     late by one cycle. To make that short, the read-back below detects the
//     race when it can and asks for an early follow-up cycle.
//   - A write counts only when the server said 2xx AND a read-back (a
//     PROPFIND showing the ETag the PUT returned and our size, or bytes
//     equal to what was sent) confirms it. Markers move only after that, so
//     a write the server dropped is simply done again next cycle.
func (r *run) write(ctx context.Context, m *marker, doc *backup.Document, ifMatch string, exists bool, rm *remote) (*written, error) {
	env, opts, cl := r.env, r.opts, r.env.Client
	out := *doc
	out.ExportedAt = r.nowMs()
	var key *envelope.Key
	if opts.Encrypt {
		k, err := env.Keys.SealKey(ctx)
		if err != nil {
			return nil, err
		}
		key = k
	}
	if opts.Encrypt {
		r.phase(PhaseEncrypting)
	}
	body, err := envelope.Wrap(out.Marshal(), opts.Compress, key)
	if err != nil {
		return nil, err
	}
	// A 0-byte remote holds no data (remoteOf): a snapshot of it would only
	// push a real snapshot out of the kept ones. Anything else, even a file
	// that cannot be read, is kept before it is replaced.
	if exists && r.snapshotDue(m) && (rm == nil || len(rm.body) > 0) {
		name, err := r.snapshot(ctx, m, rm)
		if err != nil {
			return nil, err
		}
		r.res.Snapshot = name
	}
	tr := cl.Traits()
	// Apache's ETags are weak for about a second after a write, and
	// If-Match never matches a weak tag; its WebDAV If header does.
	cond := webdav.PutCondition{IfMatch: ifMatch, IfHeader: tr.WeakETags && tr.IfHeader == webdav.Yes}
	if !exists {
		cond = webdav.PutCondition{IfNoneMatchAny: true}
	} else if ifMatch == "" {
		// The server gives no ETags: nothing to guard with. The read-back
		// below and the state-based argument above keep this safe.
		cond = webdav.PutCondition{}
	}
	r.phase(PhaseWriting)
	if r.folderMissing && env.Layout.Dir != "" {
		if err := cl.Mkcol(ctx, env.Layout.Dir); err != nil {
			return nil, err
		}
		r.folderMissing = false
	}
	pr, err := cl.Put(ctx, m.File, body, cond)
	if errors.Is(err, errkind.FolderMissing) && !exists {
		// The folder went missing since the listing (or the server's
		// listing did not say): create it and write again. The snapshots
		// folder is created by the first snapshot (snapshot below). Dir ""
		// is the URL's own folder (a file URL whose folder is missing).
		if err := cl.MkcolAll(ctx, env.Layout.Dir); err != nil {
			return nil, err
		}
		pr, err = cl.Put(ctx, m.File, body, cond)
	}
	if err != nil {
		return nil, err
	}
	if !exists && env.Layout.Dir != "" {
		// A new sync file's folder explains itself to whoever opens it in
		// the provider's web page (best effort: never replaces a README
		// that is there; the account's root, or the folder of a file URL,
		// is not davsync's to explain).
		_, _ = cl.Put(ctx, env.Layout.Path(layout.ReadmeName), []byte(layout.ReadmeText), webdav.PutCondition{IfNoneMatchAny: true, ContentType: "text/plain; charset=utf-8"})
	}
	h := sha(body)
	w := &written{hash: h, size: int64(len(body)), encrypted: opts.Encrypt}
	r.phase(PhaseVerifying)
	// Confirm the write landed. When the PUT answered with an ETag, a
	// PROPFIND Depth 0 is enough: the file must now carry exactly that ETag
	// (not the one we replaced) and our size. That catches a write the
	// server (or a proxy) dropped or stored empty while answering 2xx, and a
	// made-up ETag. Without an ETag from the PUT (Apache, nginx) nothing
	// ties the server's current ETag to our bytes: a dropped write plus
	// another device's same-size write would pass a size check (the
	// randomized test found that), so the bytes are read back and compared.
	if pr.Verified && pr.ETag != "" {
		w.etag = pr.ETag // the client compared the bytes
		return w, nil
	}
	if pr.ETag != "" && pr.ETag != ifMatch {
		if st, err := cl.Stat(ctx, m.File); err == nil && st.ETag == pr.ETag && st.Size == int64(len(body)) {
			w.etag, w.settled = st.ETag, !webdav.SecondETag(st.ETag)
			return w, nil
		}
	}
	// A server the check found honouring the write's precondition, and
	// whose PROPFIND ETags identify content (not nginx's second-and-size
	// tags), proves the write without the bytes: the PUT succeeded only
	// because the file was still the version we merged (If-Match) or did
	// not exist (If-None-Match: *), so our bytes replaced it; any device
	// that wrote after us had to name our new ETag, i.e. had merged our
	// data. So a new ETag of our size is our write or a descendant of it,
	// and no edit can be lost by trusting it. An unchanged ETag (a write
	// the server or a proxy dropped while answering 2xx) or another size
	// falls through to the read-back.
	if r.preconditionHeld(tr, exists, ifMatch) {
		if st, err := cl.Stat(ctx, m.File); err == nil && st.ETag != "" && st.ETag != ifMatch && st.Size == int64(len(body)) {
			w.etag, w.settled = st.ETag, !webdav.SecondETag(st.ETag)
			return w, nil
		}
	}
	g, err := r.get(ctx, m.File, "", true)
	if err != nil {
		return nil, errkind.SayWrap(errkind.Of(err), "sync", msg.New("errUnconfirmedUpload"), err)
	}
	if sha(g.Body) == h {
		w.etag, w.settled = g.ETag, settled(g.ETag, g.LastModified, g.Date)
		return w, nil
	}
	return nil, &raceError{remote: remoteOf(g)}
}
