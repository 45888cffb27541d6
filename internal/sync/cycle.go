package sync

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
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
)

const (
	strategyMerge        = merge.Strategy("merge")
	strategyUploadOnly   = merge.Strategy("upload_only")
	strategyDownloadOnly = merge.Strategy("download_only")
)

// remote is one full read of the remote file.
type remote struct {
	exists    bool
	body      []byte // bytes as stored on the server
	etag      string
	settled   bool
	doc       *backup.Document // decoded; nil until decode
	encrypted bool
	empty     bool   // zero bytes: holds no data (see remoteOf)
	hash      string // docHash(doc), computed once
}

// docHash returns the remote document's content hash ("" when none).
func (rm *remote) docHash() string {
	if rm.doc == nil {
		return ""
	}
	if rm.hash == "" {
		rm.hash = docHash(rm.doc)
	}
	return rm.hash
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// docHash identifies a document's content, ignoring when it was exported.
func docHash(d *backup.Document) string {
	c := *d
	c.ExportedAt = 0
	return sha(c.Marshal())
}

// settled reports whether an ETag seen in a response can be trusted to
// change with the next write. Some servers build ETags from whole seconds
// and the size (nginx), so a same-size write within the same second keeps
// the ETag, and a "304 not modified" for it would hide that write. An ETag
// observed at least settleAfter after the file's Last-Modified (both server
// clock) can no longer be reused by a later write, whose mtime is newer.
func settled(g *webdav.GetResult) bool {
	if g.ETag == "" {
		return false
	}
	if !secondETag(g.ETag) || g.LastModified.IsZero() || g.Date.IsZero() {
		return true
	}
	return g.Date.Sub(g.LastModified) >= settleAfter
}

func (e *Engine) target(l layout) string {
	if l.explicit {
		return l.base + l.names[0]
	}
	return l.base + "|" + l.dir
}

// cycle is one sync cycle; operate wraps it with the status bookkeeping.
func (e *Engine) cycle(ctx context.Context, set Settings, l layout, opts CycleOptions) (*CycleResult, error) {
	cl, err := e.clientFor(ctx, set, l)
	if err != nil {
		return nil, err
	}
	strategy := set.Strategy
	if opts.strategy != "" {
		strategy = opts.strategy
	}
	if strategy != strategyMerge {
		opts.replaceSide = true
	}
	res := &CycleResult{}
	var m marker
	if _, err := e.readJSON(ctx, keyMarker, &m); err != nil {
		return nil, err
	}
	if m.Target != e.target(l) {
		// A new URL starts over as a first sync, but the local data is as
		// old as it was: keeping LastSync keeps the stale-device question
		// below, so editing the URL cannot merge in records whose deletion
		// the other devices have already forgotten.
		m = marker{Target: e.target(l), LastSync: m.LastSync}
	}
	now := e.nowMs()
	fresh := !m.Exists

	if strategy == strategyMerge {
		if p := staleAt(set, m.LastSync, now); p != nil && (opts.askStale || !opts.answered(p)) {
			res.Preview = p
			return res, errkind.New(errkind.NeedsConfirmation, "sync", p.Message)
		}
	}

	rev, err := e.store.Rev(ctx)
	if err != nil {
		return nil, err
	}
	localChanged := fresh || rev != m.LocalRev

	// Step 1: learn whether the remote changed. With a settled ETag this is
	// the one conditional GET of a "nothing changed" cycle.
	var rm *remote
	unchanged := false
	if fresh {
		rm, err = e.discover(ctx, cl, l, &m)
	} else if opts.forceRead {
		rm, err = e.read(ctx, cl, m.File)
	} else {
		rm, unchanged, err = e.probe(ctx, cl, &m)
	}
	if err != nil {
		return nil, err
	}

	if unchanged && !localChanged && !opts.forceSnapshot {
		// The marker's last-sync time moves (the stale-device check reads
		// it), and the probe may have settled the ETag.
		m.LastSync = now
		if err := e.store.SetState(ctx, map[string][]byte{keyMarker: mustJSON(m)}); err != nil {
			return nil, err
		}
		return res, nil
	}

	var base merge.Base
	if !fresh {
		if _, err := e.readJSON(ctx, keyBase, &base); err != nil {
			return nil, err
		}
	}

	// failedOn is the hash of the remote bytes a write's If-Match stood for
	// when it got 412; unconditional is set when a re-read shows those very
	// bytes, i.e. nobody wrote and the server (or a proxy: mod_deflate's
	// "-gzip" ETags) refuses every If-Match. Looping on 412 would stop sync
	// for good; instead the write goes without If-Match, which is exactly
	// the servers-that-ignore-preconditions case write() argues is safe: the
	// bytes are read back, and anything a concurrent device wrote in the
	// gap is still in its store and merged back on its next cycle.
	failedOn, unconditional := "", false

	// Step 2, only local changes: the remote still holds exactly what this
	// device last synced, and the local document descends from that, so the
	// local document is the merge. Upload it guarded by If-Match; a 412
	// (someone wrote meanwhile) falls through to the full path below.
	if unchanged && strategy != strategyDownloadOnly {
		doc, rev, err := e.store.Load(ctx)
		if err != nil {
			return nil, err
		}
		if p := encryptionQuestion(set, m.Encrypted, m.Hash, 0, nil, nil); p != nil && !opts.answered(p) {
			res.Preview = p
			return res, p.err()
		}
		if p := guardFromBase(set, opts, base, doc); p != nil && !opts.answered(p) {
			res.Preview = p
			return res, errkind.New(errkind.NeedsConfirmation, "sync", p.Message)
		}
		w, werr := e.write(ctx, cl, set, l, &m, doc, m.ETag, true, nil, opts, res)
		switch {
		case werr == nil:
			res.Warnings, res.checked = merge.FutureWarnings(doc, now), true
			return res, e.commitMarkers(ctx, &m, w, rev, doc, now, res)
		case errors.Is(werr, errkind.Precondition):
			rm = nil // re-read below
			failedOn = m.Hash
		case isRace(werr):
			rm = werr.(*raceError).remote
			res.FollowUp = true
		default:
			return res, werr
		}
	}

	// Step 3, the full path: read, merge, apply locally, write, confirm.
	applies := 0
	for round := 1; ; round++ {
		res.Rounds = round
		if round > maxRounds {
			return res, errkind.New(errkind.Precondition, "sync", "another device kept writing the sync file while this one tried to; nothing was lost, and davsync will try again shortly")
		}
		// The guard looks at every remote this cycle merges: after a 412 or
		// a race the re-read file may be another device's mass deletion,
		// which this device must be asked about as if it had read it first.
		// (Stopping here leaves the earlier round's merge applied locally,
		// which is only a merge, and the remote untouched.)
		guarded := false
		if rm == nil {
			if rm, err = e.read(ctx, cl, m.File); err != nil {
				return res, err
			}
			unconditional = failedOn != "" && rm.exists && sha(rm.body) == failedOn
		}
		failedOn = ""
		if strategy == strategyDownloadOnly && (!rm.exists || rm.empty) {
			// "Local becomes the remote" with no remote data would empty
			// this device (and upload the empty result): a mistyped URL or
			// a removed file is not a request to delete everything. Stop
			// before any write; the local data stays as it is.
			return res, errkind.New(errkind.NotFound, "download", "there is no sync file with data on the server to download; check the URL, or sync/upload from a device that has the data")
		}
		if err := e.decode(ctx, set, rm, opts.Auto || opts.Background); err != nil {
			// Upload replaces the remote whatever it holds; an unreadable
			// file (damaged, a newer format, another passphrase) may be
			// replaced only on an explicit confirm, and is kept as a
			// snapshot first.
			if strategy != strategyUploadOnly || errors.Is(err, errkind.Auth) {
				return res, err
			}
			msg := "the sync file on the server cannot be read (" + errkind.Message(err) + "); confirm to replace it with this device's data (it is kept as a snapshot first)"
			if p := (&Preview{Reason: "unreadable_remote", Message: msg}); !opts.answered(p) {
				res.Preview = p
				return res, errkind.Wrap(errkind.NeedsConfirmation, "upload", msg, err)
			}
			rm.doc, rm.empty = backup.New(), true
		}
		var (
			mres      *merge.Result
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
				return res, errkind.New(errkind.Busy, "sync", "local edits kept arriving during the sync; it runs again shortly and nothing was lost")
			}
			doc, rev, err := e.store.Load(ctx)
			if err != nil {
				return res, err
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
			mres, err = merge.Merge(doc, remoteDoc, merge.Options{
				Strategy: strategy, Base: base, Now: e.nowMs(), TombstoneHorizon: set.horizon(),
			})
			if err != nil {
				return res, err
			}
			mres.Doc.ExportedAt = doc.ExportedAt
			// Past every timestamp the merge holds, so an edit made after this
			// sync sorts after everything it has seen, whatever the clocks of
			// the devices that wrote them.
			e.store.Clock().Observe(mres.Doc.Newest())
			if !guarded {
				// A remote whose encryption differs from the settings is
				// asked about before anything of it reaches this device:
				// with encryption on, a plaintext file on the server is
				// what someone who can write there (but does not know the
				// passphrase) would put in its place.
				if rm.exists && !rm.empty && rm.encrypted != set.Encrypt {
					arriving := countsOf(mres.Local)
					if p := encryptionQuestion(set, rm.encrypted, sha(rm.body), recordCount(remoteDoc), arriving, arrivals(doc, mres.Doc)); p != nil && !opts.answered(p) {
						res.Preview = p
						return res, p.err()
					}
				}
				if p := guardFromMerge(set, opts, doc, remoteDoc, rm.exists, mres); p != nil && !opts.answered(p) {
					res.Preview = p
					return res, errkind.New(errkind.NeedsConfirmation, "sync", p.Message)
				}
				guarded = true
			}
			// A remote in the other encryption form is rewritten in this
			// device's form once the question above was answered.
			needWrite = !rm.exists || rm.doc == nil || docHash(mres.Doc) != rm.docHash() ||
				rm.empty || rm.encrypted != set.Encrypt
			if h := e.cfg.Hooks.BeforeApply; h != nil {
				h(ctx)
			}
			state, nc, err := e.conflictState(ctx, mres)
			if err != nil {
				return res, err
			}
			label := "sync"
			if opts.undoLabel != "" {
				label = opts.undoLabel
			}
			var ok bool
			ok, newRev, err = e.store.CommitIf(ctx, rev, local.Commit{Doc: mres.Doc, UndoLabel: label, State: state})
			if err != nil {
				return res, err
			}
			if ok {
				applied = newRev != rev
				res.Conflicts += nc
				break
			}
		}
		res.Applied = res.Applied || applied
		res.Local, res.Remote = countsOf(mres.Local), countsOf(mres.Remote)
		res.Warnings, res.checked = mres.Warnings, true

		if !needWrite {
			// The remote already holds the merge: nothing to upload.
			m.Exists, m.ETag, m.Hash, m.Settled = true, rm.etag, sha(rm.body), rm.settled
			m.Encrypted = rm.encrypted
			return res, e.commitMarkers(ctx, &m, nil, newRev, mres.Doc, now, res)
		}
		ifMatch := rm.etag
		if unconditional {
			ifMatch = ""
		}
		w, werr := e.write(ctx, cl, set, l, &m, mres.Doc, ifMatch, rm.exists, rm, opts, res)
		switch {
		case werr == nil:
			return res, e.commitMarkers(ctx, &m, w, newRev, mres.Doc, now, res)
		case errors.Is(werr, errkind.Precondition):
			if rm.exists {
				failedOn = sha(rm.body)
			}
			rm = nil
		case isRace(werr):
			rm = werr.(*raceError).remote
			res.FollowUp = true
		default:
			return res, werr
		}
	}
}

// staleAt returns the stale-device preview when a device that last synced
// at lastSync is older than the tombstone horizon at now, else nil.
func staleAt(set Settings, lastSync, now int64) *Preview {
	if lastSync <= 0 || time.Duration(now-lastSync)*time.Millisecond <= set.horizon() {
		return nil
	}
	return &Preview{Reason: "stale_device", Message: "this device last synced more than " +
		strconv.Itoa(set.TombstoneHorizonDays) + " days ago; deletions made elsewhere since then are forgotten, so merging could bring deleted records back. Download (replace) to take the server's data, or confirm to merge anyway."}
}

// written is what a confirmed write left on the server.
type written struct {
	etag, hash string
	settled    bool
	encrypted  bool
}

// commitMarkers moves the sync markers after a confirmed write (w != nil)
// or a read that showed the remote already equal to the merge. rev is the
// local revision whose document equals doc: if the user edited after it,
// the next cycle sees a newer revision and uploads that edit.
func (e *Engine) commitMarkers(ctx context.Context, m *marker, w *written, rev int64, doc *backup.Document, now int64, res *CycleResult) error {
	if w != nil {
		m.Exists, m.ETag, m.Hash, m.Settled, m.Encrypted = true, w.etag, w.hash, w.settled, w.encrypted
		m.Written = now
		res.Uploaded = true
	}
	m.LocalRev = rev
	m.LastSync = now
	return e.store.SetState(ctx, map[string][]byte{
		keyMarker: mustJSON(m),
		keyBase:   mustJSON(merge.NewBase(doc)),
	})
}

// raceError says the read-back after a confirmed write showed other bytes:
// another device wrote at the same moment (or the server dropped the write
// while answering 2xx). The cycle merges what is there and writes again.
type raceError struct{ remote *remote }

func (r *raceError) Error() string { return "the sync file changed while it was being written" }

func isRace(err error) bool {
	var r *raceError
	return errors.As(err, &r)
}

// discover finds the remote file on a first sync: the configured name, or
// the other compression variant if only that one exists (so devices with
// different compression settings share one file).
func (e *Engine) discover(ctx context.Context, cl *webdav.Client, l layout, m *marker) (*remote, error) {
	for _, name := range l.names {
		rm, err := e.read(ctx, cl, l.path(name))
		if err != nil {
			return nil, err
		}
		if rm.exists {
			m.File = l.path(name)
			return rm, nil
		}
	}
	m.File = l.path(l.names[0])
	return &remote{}, nil
}

// read downloads the remote file; a missing file is remote{exists: false}.
func (e *Engine) read(ctx context.Context, cl *webdav.Client, file string) (*remote, error) {
	g, err := cl.Get(ctx, file, "")
	if errors.Is(err, errkind.NotFound) || errors.Is(err, errkind.FolderMissing) {
		return &remote{}, nil
	}
	if err != nil {
		return nil, err
	}
	e.observeServer(g)
	return remoteOf(g), nil
}

func remoteOf(g *webdav.GetResult) *remote {
	rm := &remote{exists: true, body: g.Body, etag: g.ETag, settled: settled(g)}
	if len(g.Body) == 0 {
		// A zero-byte file is what a write that "succeeded" without storing
		// anything leaves behind. It holds no data to lose, so it is treated
		// like a missing file, still replaced under its ETag.
		rm.doc, rm.empty = backup.New(), true
	}
	return rm
}

// probe asks whether the remote changed since the marker, in one request.
// When the ETag is settled it is a conditional GET (304 = unchanged). Right
// after a write it is a plain GET compared by hash, which also settles the
// ETag once the write is old enough.
func (e *Engine) probe(ctx context.Context, cl *webdav.Client, m *marker) (rm *remote, unchanged bool, err error) {
	cond := ""
	if m.Settled {
		cond = m.ETag
	}
	g, err := cl.Get(ctx, m.File, cond)
	if errors.Is(err, errkind.NotFound) || errors.Is(err, errkind.FolderMissing) {
		return &remote{}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	e.observeServer(g)
	if g.NotModified {
		return nil, true, nil
	}
	if sha(g.Body) == m.Hash {
		m.ETag, m.Settled = g.ETag, settled(g)
		return nil, true, nil
	}
	return remoteOf(g), false, nil
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
func (e *Engine) observeServer(g *webdav.GetResult) {
	if g.Date.IsZero() {
		return
	}
	d, wall := g.Date.UnixMilli(), e.nowMs()
	ahead := time.Duration(d-wall) * time.Millisecond
	if ahead > maxServerAhead {
		return
	}
	if ahead > hlc.Skew {
		e.mu.Lock()
		e.serverAhead = ahead
		e.mu.Unlock()
	}
	e.store.Clock().Observe(d)
}

// maxServerAhead bounds how far ahead of this device's clock a server's
// Date is believed (a year and a bit: a clock reset to last year).
const maxServerAhead = 400 * 24 * time.Hour

// clockWarning returns the warning for a server clock observed far ahead of
// this device's during the cycle, or "".
func (e *Engine) clockWarning() string {
	e.mu.Lock()
	ahead := e.serverAhead
	e.serverAhead = 0
	e.mu.Unlock()
	if ahead == 0 {
		return ""
	}
	return "the server's clock is " + strconv.Itoa(int(ahead.Hours()/24)) + " days ahead of this device's; check this device's date and time (until then davsync stamps edits after the server's time)"
}

// decode parses the remote file (encrypted, gzip or plain, by content).
func (e *Engine) decode(ctx context.Context, set Settings, rm *remote, auto bool) error {
	if rm.doc != nil || !rm.exists {
		return nil
	}
	u, err := e.unwrap(ctx, set, rm.body, auto)
	if err != nil {
		return err
	}
	doc, err := backup.Parse(u.Plain)
	if err != nil {
		return errkind.Wrap(errkind.Of(err), "read sync file", "the sync file on the server is not a valid davsync backup ("+errkind.Message(err)+"); restore a snapshot or use Upload to replace it with this device's data", err)
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
func encryptionQuestion(set Settings, remoteEncrypted bool, subject string, held int, arriving map[string]Counts, examples []Example) *Preview {
	if remoteEncrypted == set.Encrypt {
		return nil
	}
	p := &Preview{Reason: "encryption_change", Subject: subject, Local: arriving, Examples: examples}
	if remoteEncrypted {
		p.Message = "the sync file on the server is encrypted but encryption is off on this device; turn encryption on with the same passphrase, or confirm that the server copy should be stored unencrypted from now on"
		return p
	}
	added, changed := 0, 0
	for name, c := range arriving {
		if _, ok := backup.Spec(name); ok { // records, not the preferences object
			added += c.Added
			changed += c.Updated + c.Deleted
		}
	}
	what := ""
	if arriving != nil {
		what = " It holds " + plural(held) + "; taking it would add " + plural(added) + " and change or delete " + plural(changed) + " on this device" + exampleNames(examples) + "."
	}
	p.Message = "encryption is on, but the sync file on the server is not encrypted." + what +
		" If encryption was not turned off on purpose on another device, someone who can write to the server may have replaced the file: do not confirm, restore a snapshot instead. Confirm to take the file and store it encrypted from now on."
	return p
}

// err is the NeedsConfirmation error that carries p for the page.
func (p *Preview) err() error {
	e := errkind.New(errkind.NeedsConfirmation, "sync", p.Message)
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
		for _, r := range after.Collection(name).Records {
			if len(out) >= maxExamples {
				return out
			}
			if _, ok := b.Get(r.ID); !ok {
				out = append(out, Example{Side: "local", Collection: name, ID: r.ID, Name: recordName(r.Raw), Change: "added"})
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

// write uploads doc over the remote file (If-Match etag, or If-None-Match: *
// when the file does not exist), making a snapshot first when one is due,
// and confirms that the bytes landed.
//
// Why this cannot lose an edit:
//   - On a server that honours If-Match, a write that would overwrite
//     another device's upload fails with 412 and the cycle re-reads and
//     re-merges.
//   - On a server that ignores preconditions (nginx, rclone, x/net, npm) the
//     write may overwrite an upload that landed after our read. Merge is
//     state-based: every record that upload carried is still in that
//     device's local store, and its marker still names its own upload's
//     ETag and hash. On its next cycle it sees a different file, merges its
//     state with ours and writes the union back. Nothing is lost; it is
//     late by one cycle. To make that short, the read-back below detects the
//     race when it can and schedules an early follow-up cycle.
//   - A write counts only when the server said 2xx AND a read-back (a
//     conditional GET that must answer 304 for the new ETag, or bytes equal
//     to what was sent) confirms it. Markers move only after that, so a
//     write the server dropped is simply done again next cycle.
func (e *Engine) write(ctx context.Context, cl *webdav.Client, set Settings, l layout, m *marker, doc *backup.Document, ifMatch string, exists bool, rm *remote, opts CycleOptions, res *CycleResult) (*written, error) {
	out := *doc
	out.ExportedAt = e.nowMs()
	var key *envelope.Key
	if set.Encrypt {
		k, err := e.sealKey(ctx, set)
		if err != nil {
			return nil, err
		}
		key = k
	}
	body, err := envelope.Wrap(out.Marshal(), set.Compress, key)
	if err != nil {
		return nil, err
	}
	// A 0-byte remote holds no data (remoteOf): a snapshot of it would only
	// push a real snapshot out of the kept ones. Anything else, even a file
	// that cannot be read, is kept before it is replaced.
	if exists && e.snapshotDue(set, m, opts) && (rm == nil || len(rm.body) > 0) {
		name, err := e.snapshot(ctx, cl, l, m, rm, set)
		if err != nil {
			return nil, err
		}
		res.Snapshot = name
	}
	cond := webdav.PutCondition{IfMatch: ifMatch}
	if !exists {
		cond = webdav.PutCondition{IfNoneMatchAny: true}
	} else if ifMatch == "" {
		// The server gives no ETags: nothing to guard with. The read-back
		// below and the state-based argument above keep this safe.
		cond = webdav.PutCondition{}
	}
	pr, err := cl.Put(ctx, m.File, body, cond)
	if errors.Is(err, errkind.FolderMissing) && !exists {
		// First write to this folder: create it, and the snapshots folder
		// with it so the first snapshot does not pay for a 409.
		if l.dir != "" {
			if err := cl.MkcolAll(ctx, l.dir); err != nil {
				return nil, err
			}
		}
		if set.SnapshotKeep > 0 {
			_ = cl.MkcolAll(ctx, l.snapDir)
		}
		pr, err = cl.Put(ctx, m.File, body, cond)
	}
	if err != nil {
		return nil, err
	}
	h := sha(body)
	w := &written{hash: h, encrypted: set.Encrypt}
	// Confirm the write landed. When the PUT answered with an ETag, a
	// PROPFIND Depth 0 is enough: the file must now carry exactly that ETag
	// (not the one we replaced) and our size. That catches a write the
	// server (or a proxy) dropped or stored empty while answering 2xx, and a
	// made-up ETag. Without an ETag from the PUT (Apache, nginx) nothing
	// ties the server's current ETag to our bytes: a dropped write plus
	// another device's same-size write would pass a size check (the
	// randomized test found that), so the bytes are read back and compared.
	if pr.Verified && pr.ETag != "" {
		return &written{etag: pr.ETag, hash: h, encrypted: set.Encrypt}, nil // the client compared the bytes
	}
	if pr.ETag != "" && pr.ETag != ifMatch {
		if r, err := cl.Stat(ctx, m.File); err == nil && r.ETag == pr.ETag && r.Size == int64(len(body)) {
			w.etag, w.settled = r.ETag, !secondETag(r.ETag)
			return w, nil
		}
	}
	g, err := cl.Get(ctx, m.File, "")
	if err != nil {
		return nil, errkind.Wrap(errkind.Of(err), "sync", "the upload was accepted but could not be read back to confirm it ("+errkind.Message(err)+"); nothing was lost, and the next sync checks again", err)
	}
	if sha(g.Body) == h {
		w.etag, w.settled = g.ETag, settled(g)
		return w, nil
	}
	return nil, &raceError{remote: remoteOf(g)}
}

// secondETag reports whether an ETag looks like nginx's "<mtime seconds
// hex>-<size hex>", whose value survives a same-size rewrite within the same
// second and so must settle before a 304 for it can be trusted. (Apache's
// "<size>-<mtime µs>" and content-hash ETags do not match.)
func secondETag(etag string) bool {
	a, b, ok := strings.Cut(etag, "-")
	if !ok || len(a) < 8 || len(a) > 9 || b == "" {
		return false
	}
	secs, err := strconv.ParseInt(a, 16, 64)
	if err != nil {
		return false
	}
	if _, err := strconv.ParseInt(b, 16, 64); err != nil {
		return false
	}
	return secs > 1e9 && secs < 1e10 // 2001 .. 2286
}

// cachedKey returns the derived key for set's passphrase, from memory or
// the KeyStore. With no passphrase at hand (a remembered key after the
// browser restarted, or one the user typed only for the session) the cached
// key is used as it is; with one, only a key labelled for that passphrase.
func (e *Engine) cachedKey(ctx context.Context, set Settings) *envelope.Key {
	label := e.passLabel(ctx, set.Passphrase)
	e.mu.Lock()
	k, kl := e.key, e.keyFor
	e.mu.Unlock()
	if k == nil && e.cfg.KeyStore != nil {
		if blob, err := e.cfg.KeyStore.LoadKey(ctx); err == nil && blob != nil {
			var c cachedBlob
			if json.Unmarshal(blob, &c) == nil {
				if ik, err := envelope.ImportKey(c.Key); err == nil {
					k, kl = ik, c.Label
					e.mu.Lock()
					e.key, e.keyFor = k, kl
					e.mu.Unlock()
				}
			}
		}
	}
	if k != nil && (kl == label || set.Passphrase == "") {
		return k
	}
	return nil
}

// HasKeyFor reports whether a derived key for passphrase p is cached.
func (e *Engine) HasKeyFor(ctx context.Context, p string) bool {
	return p != "" && e.cachedKey(ctx, Settings{Passphrase: p}) != nil
}

// ForgetKey drops the derived key held in memory (the passphrase changed);
// the KeyStore's copy is the caller's to drop.
func (e *Engine) ForgetKey() {
	e.mu.Lock()
	e.key, e.keyFor = nil, ""
	e.mu.Unlock()
}

// cachedBlob is what the KeyStore keeps: the derived key (bound by itself
// to one salt and iteration count) and the label of the passphrase it came
// from. Never the passphrase.
type cachedBlob struct {
	Label string `json:"label"`
	Key   []byte `json:"key"`
}

func (e *Engine) setKey(ctx context.Context, set Settings, k *envelope.Key) {
	label := e.passLabel(ctx, set.Passphrase)
	e.mu.Lock()
	same := e.key == k && e.keyFor == label
	e.key, e.keyFor = k, label
	e.mu.Unlock()
	if !same && e.cfg.KeyStore != nil && set.Passphrase != "" {
		_ = e.cfg.KeyStore.SaveKey(ctx, mustJSON(cachedBlob{Label: label, Key: k.Export()}))
	}
}

// sealKey returns the key to encrypt an upload with: the one that opened
// the remote (same salt, so every device stays on one cached key), or a new
// one when the passphrase is new.
func (e *Engine) sealKey(ctx context.Context, set Settings) (*envelope.Key, error) {
	if k := e.cachedKey(ctx, set); k != nil {
		return k, nil
	}
	k, err := envelope.NewKey(set.Passphrase, e.cfg.KDF, e.cfg.KeyOptions)
	if err != nil {
		return nil, err
	}
	e.setKey(ctx, set, k)
	return k, nil
}

// passLabel names a passphrase without revealing it: an HMAC keyed with
// the device's random salt, so a stolen cache label cannot be checked
// against guesses made on another machine, nor matched across devices.
func (e *Engine) passLabel(ctx context.Context, p string) string {
	if p == "" {
		return ""
	}
	salt, _ := e.salt(ctx)
	h := hmac.New(sha256.New, salt)
	h.Write([]byte("davsync-passphrase\x00" + p))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// failedKDF remembers the key-derivation header that the passphrase did not
// open (device state), so automatic cycles do not derive again for the same
// file and passphrase: a forged header asking for the most iterations
// davsync accepts costs one derivation, not one per cycle.
type failedKDF struct {
	Header string `json:"header"` // hash of the salt and iteration count
	Label  string `json:"label"`  // passLabel of the passphrase that failed
}

func kdfHeader(p envelope.Params) string {
	return sha(append(p.Salt, []byte(strconv.Itoa(p.Iterations))...))[:24]
}

// triedBefore reports whether an automatic cycle should not derive a key
// for data: its header already failed with this passphrase.
func (e *Engine) triedBefore(ctx context.Context, set Settings, data []byte) bool {
	p, err := envelope.ReadParams(data)
	if err != nil {
		return false
	}
	var f failedKDF
	ok, _ := e.readJSON(ctx, keyKDFFailed, &f)
	return ok && f.Header == kdfHeader(p) && f.Label == e.passLabel(ctx, set.Passphrase)
}

func (e *Engine) noteFailedKDF(ctx context.Context, set Settings, data []byte) {
	if p, err := envelope.ReadParams(data); err == nil {
		_ = e.store.SetState(ctx, map[string][]byte{keyKDFFailed: mustJSON(failedKDF{Header: kdfHeader(p), Label: e.passLabel(ctx, set.Passphrase)})})
	}
}

// unwrap opens a sync file or snapshot with the settings' passphrase or the
// cached key. An automatic cycle (auto) does not derive a key for a header
// the same passphrase already failed to open.
func (e *Engine) unwrap(ctx context.Context, set Settings, data []byte, auto bool) (*envelope.Unwrapped, error) {
	cached := e.cachedKey(ctx, set)
	if envelope.IsEncrypted(data) && (cached == nil || !cached.Fits(data)) && set.Passphrase != "" {
		if auto && e.triedBefore(ctx, set, data) {
			return nil, errkind.New(errkind.Decrypt, "decrypt", "the passphrase did not open the sync file when it was last tried, and automatic syncs do not try it again; check the passphrase in the settings (it is case-sensitive) and sync now")
		}
	}
	u, err := envelope.Unwrap(data, set.Passphrase, cached, e.cfg.KDF, limits.Document)
	if err != nil {
		if errkind.Of(err) == errkind.Decrypt && set.Passphrase != "" {
			e.noteFailedKDF(ctx, set, data)
		}
		return nil, err
	}
	if u.Key != nil {
		e.setKey(ctx, set, u.Key)
	}
	return u, nil
}
