package sync

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	gosync "sync"
	"time"

	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/merge"
	"github.com/davsync/davsync/internal/webdav"
)

// Config is what an Engine needs.
type Config struct {
	// Store is the device's data.
	Store *local.Store
	// Transport carries the WebDAV requests (jsfetch in the browser).
	Transport webdav.Transport
	// Now is the wall clock (default time.Now). Record timestamps come from
	// the store's hybrid logical clock, never from Now directly.
	Now func() time.Time
	// KDF derives encryption keys (default envelope.GoKDF).
	KDF envelope.KDF
	// KeyOptions tunes new encryption keys (tests lower the iterations).
	KeyOptions envelope.Options
	// Settings returns the current settings; called at the start of every
	// operation.
	Settings func(ctx context.Context) (Settings, error)
	// ClientOptions are passed to webdav.New (tests: no sleeping retries).
	ClientOptions []webdav.Option
	// KeyStore, when set, keeps the derived encryption key for the browser
	// session (chrome.storage.session), so a restarted worker need not
	// derive it again or hold the passphrase. Optional.
	KeyStore KeyStore
	// Hooks let tests act inside a cycle.
	Hooks Hooks
}

// KeyStore keeps one opaque blob (the derived key, bound to a fingerprint of
// the passphrase it came from) for the session. It must never be persisted
// beyond the browser session.
type KeyStore interface {
	LoadKey(ctx context.Context) ([]byte, error)
	SaveKey(ctx context.Context, blob []byte) error
}

// Hooks are test seams.
type Hooks struct {
	// BeforeApply runs after the network read and merge, before the merge
	// is applied locally: a test edits the store here to prove the edit is
	// merged, not lost.
	BeforeApply func(ctx context.Context)
}

// Engine runs sync cycles and the operations around them. It is safe for
// concurrent use; one operation runs at a time (others get errkind.Busy).
type Engine struct {
	cfg   Config
	store *local.Store

	run gosync.Mutex // held by the running operation

	mu      gosync.Mutex // guards the fields below
	running bool
	// reschedule: settings changed while an operation held run; its end
	// (or a cycle's finish) applies them.
	reschedule bool
	client     *webdav.Client
	clientKey  string
	key        *envelope.Key // derived encryption key, memory only
	keyFor     string        // fingerprint of the passphrase key was made for
	basic      bool          // the server takes Basic auth (sent up front); guarded by count.mu
	// serverAhead: the running cycle saw a server Date this far ahead of
	// the device clock (observeServer).
	serverAhead time.Duration

	count counter
}

// NewEngine returns an engine for cfg.
func NewEngine(cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KDF == nil {
		cfg.KDF = envelope.GoKDF
	}
	e := &Engine{cfg: cfg, store: cfg.Store}
	e.count.e = e
	return e
}

// CycleOptions tune one cycle.
type CycleOptions struct {
	// Auto marks a scheduled run: it is skipped when automatic sync is off,
	// paused after an auth failure, or not due yet.
	Auto bool `json:"auto,omitempty"`
	// Background marks a run nobody clicked for (after an edit, at browser
	// start): it syncs at once, but not while automatic sync is paused
	// after an auth failure or the server's Retry-After has not passed.
	Background bool `json:"background,omitempty"`
	// Confirm runs a cycle the mass-change guard or the stale-device check
	// held back.
	Confirm bool `json:"confirm,omitempty"`
	// AnswerHeld makes Confirm answer only the question the held cycle
	// asked (sync.confirm): a cycle that would now delete more, or one for
	// other settings (another URL, account or strategy), is held again with
	// its own preview instead of running unseen.
	AnswerHeld bool `json:"answer_held,omitempty"`
	// AllowEncryptionChange lets the cycle replace an encrypted remote by a
	// plaintext one or the reverse, following the settings, without asking
	// (Upload: nothing of the remote reaches this device).
	AllowEncryptionChange bool `json:"allow_encryption_change,omitempty"`
	// AcceptEncryption answers the encryption_change question whose
	// Preview.Subject it names (a Download or snapshot restore the user
	// confirmed after seeing what would arrive).
	AcceptEncryption string `json:"accept_encryption,omitempty"`

	strategy      merge.Strategy // overrides the settings' strategy
	forceRead     bool           // ignore the stored ETag: read the remote
	forceSnapshot bool           // snapshot the remote before replacing it
	replaceSide   bool           // one side is replaced wholesale (guard counts updates)
	askStale      bool           // Confirm answers the guard only: a stale device is still asked
	held          []*Preview     // with AnswerHeld: the previews the user confirmed (none: none for these settings)
	undoLabel     string
}

// CycleResult says what a cycle did.
type CycleResult struct {
	// Skipped is set when an Auto cycle did not run; SkipReason says why.
	Skipped    bool   `json:"skipped,omitempty"`
	SkipReason string `json:"skip_reason,omitempty"`
	// Requests, BytesUp and BytesDown count this cycle's HTTP traffic.
	Requests  int   `json:"requests"`
	BytesUp   int64 `json:"bytes_up"`
	BytesDown int64 `json:"bytes_down"`
	// Uploaded: the remote file was replaced. Applied: the local data changed.
	Uploaded bool `json:"uploaded"`
	Applied  bool `json:"applied"`
	// Local and Remote: what changed on each side, per collection.
	Local  map[string]Counts `json:"local,omitempty"`
	Remote map[string]Counts `json:"remote,omitempty"`
	// Conflicts is how many new conflicts the cycle logged.
	Conflicts int      `json:"conflicts"`
	Warnings  []string `json:"warnings,omitempty"`
	// Snapshot names the snapshot made before the remote was replaced.
	Snapshot string `json:"snapshot,omitempty"`
	// FollowUp: a race with another device was detected and an early
	// follow-up cycle is scheduled.
	FollowUp bool `json:"follow_up,omitempty"`
	// Rounds is how many read-merge-write rounds the cycle needed.
	Rounds int `json:"rounds"`
	// Preview is set when the cycle stopped for confirmation.
	Preview *Preview `json:"preview,omitempty"`
	// Status is the status after the cycle.
	Status *Status `json:"status,omitempty"`

	// checked: Warnings were computed over the data this cycle synced. A
	// cycle that found nothing changed did not look, so the status keeps
	// the warnings of the last one that did.
	checked bool
	// answered: the previews this cycle's confirm answered.
	answered []*Preview
}

// counter wraps the configured transport: it counts requests and bytes and
// sends Basic credentials up front once the server is known to take them.
type counter struct {
	e            *Engine
	mu           gosync.Mutex
	requests     int
	up, down     int64
	user, pass   string
	learnedBasic bool
}

func (c *counter) reset() (int, int64, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, u, d := c.requests, c.up, c.down
	c.requests, c.up, c.down = 0, 0, 0
	return r, u, d
}

// RoundTrip implements webdav.Transport.
//
// Sending Basic credentials up front: the client answers a 401 challenge and
// then keeps the scheme in memory, but an MV3 worker restarts between
// scheduled cycles, which would cost every "nothing changed" cycle a 401
// round trip. Once a Basic-authenticated request has succeeded on this
// server, the fact (not the password) is persisted and later requests carry
// the header from the start.
func (c *counter) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	c.mu.Lock()
	c.requests++
	c.up += int64(len(req.Body))
	basic, user, pass := c.e.basic, c.user, c.pass
	c.mu.Unlock()
	sentBasic := false
	for k, v := range req.Header {
		if strings.EqualFold(k, "authorization") {
			sentBasic = strings.HasPrefix(v, "Basic ")
			basic = false // the client already chose
		}
	}
	if basic {
		h := make(map[string]string, len(req.Header)+1)
		for k, v := range req.Header {
			h[k] = v
		}
		h["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
		r2 := *req
		r2.Header = h
		req = &r2
	}
	resp, err := c.e.cfg.Transport.RoundTrip(ctx, req)
	if resp != nil {
		c.mu.Lock()
		c.down += int64(len(resp.Body))
		if sentBasic && resp.Status != 401 && !c.e.basic {
			// Remembered either way (persistAuth); sent up front only
			// where the password crosses no network unencrypted.
			c.e.basic = !webdav.Insecure(req.URL)
			c.learnedBasic = true
		}
		c.mu.Unlock()
	}
	return resp, err
}

// clientFor returns the WebDAV client for the layout's base folder,
// reusing it (and its auth state) while the settings stay the same.
func (e *Engine) clientFor(ctx context.Context, set Settings, l layout) (*webdav.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := l.base + "\x00" + set.fp
	if e.client != nil && e.clientKey == key {
		return e.client, nil
	}
	c, err := webdav.New(l.base, set.Username, set.Password, &e.count, e.cfg.ClientOptions...)
	if err != nil {
		return nil, err
	}
	var a authMemo
	ok, _ := e.readJSON(ctx, keyAuth, &a)
	ok = ok && a.For == set.fp
	if ok && a.Digest {
		// Digest worked for these settings: a later Basic-only challenge is
		// a downgrade (webdav.WithDigestOnly), refused.
		opts := append(append([]webdav.Option(nil), e.cfg.ClientOptions...), webdav.WithDigestOnly())
		if c, err = webdav.New(l.base, set.Username, set.Password, &e.count, opts...); err != nil {
			return nil, err
		}
	}
	e.client, e.clientKey = c, key
	e.count.mu.Lock()
	// Basic goes up front only where it crosses no network unencrypted.
	e.basic = ok && a.Basic && !webdav.Insecure(l.base)
	e.count.user, e.count.pass = set.Username, set.Password
	e.count.mu.Unlock()
	return c, nil
}

// settings reads and checks the settings.
func (e *Engine) settings(ctx context.Context) (Settings, layout, error) {
	if e.cfg.Settings == nil {
		return Settings{}, layout{}, errkind.New(errkind.NotConfigured, "sync", "no WebDAV server is set up yet; enter the folder URL in the settings")
	}
	set, err := e.cfg.Settings(ctx)
	if err != nil {
		return Settings{}, layout{}, err
	}
	set = set.withDefaults()
	salt, err := e.salt(ctx)
	if err != nil {
		return set, layout{}, err
	}
	set.fp = set.fingerprint(salt)
	l, err := remoteLayout(set.URL)
	if err != nil {
		return set, l, err
	}
	if webdav.Insecure(set.URL) && !set.AllowInsecure {
		return set, l, errkind.New(errkind.InsecureTransport, "sync", "the server address uses http:// to another machine, so the password and your data would cross the network unencrypted; use https://, or allow the unencrypted connection for this server in the settings")
	}
	if set.Encrypt && set.Passphrase == "" && e.cachedKey(ctx, set) == nil {
		return set, l, errkind.New(errkind.PassphraseNeeded, "sync", "encryption is on but no passphrase is available; enter the passphrase")
	}
	return set, l, nil
}

// connect reads the settings and returns the WebDAV client for them.
func (e *Engine) connect(ctx context.Context) (Settings, layout, *webdav.Client, error) {
	set, l, err := e.settings(ctx)
	if err != nil {
		return set, l, nil, err
	}
	cl, err := e.clientFor(ctx, set, l)
	return set, l, cl, err
}

// salt returns the device's random salt for settings fingerprints, making
// it on first use.
func (e *Engine) salt(ctx context.Context) ([]byte, error) {
	m, err := e.store.State(ctx, keySalt)
	if err != nil {
		return nil, err
	}
	if b := m[keySalt]; len(b) >= 16 {
		return b, nil
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	if err := e.store.SetState(ctx, map[string][]byte{keySalt: b}); err != nil {
		return nil, err
	}
	return b, nil
}

func (e *Engine) nowMs() int64 { return e.cfg.Now().UnixMilli() }

// begin takes the run lock or reports Busy.
func (e *Engine) begin() error {
	if !e.run.TryLock() {
		return errkind.New(errkind.Busy, "sync", "another sync is running; wait for it to finish")
	}
	e.mu.Lock()
	e.running = true
	e.mu.Unlock()
	return nil
}

func (e *Engine) end() {
	for {
		e.mu.Lock()
		if !e.reschedule {
			// run is released under mu: a Reschedule that fails its
			// TryLock before this sets the flag before we look at it.
			e.running = false
			e.run.Unlock()
			e.mu.Unlock()
			return
		}
		e.reschedule = false
		e.mu.Unlock()
		_ = e.rescheduleLocked(context.Background())
	}
}

// Cycle runs one sync cycle and records the outcome in the status.
func (e *Engine) Cycle(ctx context.Context, opts CycleOptions) (*CycleResult, error) {
	return e.operate(ctx, opts)
}

// operate runs a cycle with the status bookkeeping around it.
func (e *Engine) operate(ctx context.Context, opts CycleOptions) (*CycleResult, error) {
	if err := e.begin(); err != nil {
		return nil, err
	}
	defer e.end()
	st, _ := e.loadStatus(ctx)
	set, l, serr := e.settings(ctx)
	now := e.nowMs()
	if opts.Auto {
		if reason := e.skipReason(set, serr, st, now); reason != "" {
			return &CycleResult{Skipped: true, SkipReason: reason, Status: st}, nil
		}
	} else if opts.Background && serr == nil {
		switch {
		case st.Paused && st.PausedFor == set.fp:
			return &CycleResult{Skipped: true, SkipReason: "paused_auth", Status: st}, nil
		case st.LastError != nil && st.LastError.RetryAfter > now:
			return &CycleResult{Skipped: true, SkipReason: "retry_after", Status: st}, nil
		}
	}
	if opts.AnswerHeld && serr == nil && st.Preview != nil && st.PreviewFor == heldKey(set) {
		opts.held = append(append([]*Preview(nil), st.Answered...), st.Preview)
	}
	if serr != nil {
		e.finish(ctx, st, set, now, nil, serr)
		return &CycleResult{Status: st}, serr
	}
	e.count.reset()
	st.State = StateSyncing
	st.LastAttempt = now
	_ = e.saveStatus(ctx, st)
	res, err := e.cycle(ctx, set, l, opts)
	if res == nil {
		res = &CycleResult{}
	}
	res.Requests, res.BytesUp, res.BytesDown = e.count.reset()
	if w := e.clockWarning(); w != "" {
		res.Warnings, res.checked = append(res.Warnings, w), true
	}
	res.answered = opts.held
	e.persistAuth(ctx, set)
	e.finish(ctx, st, set, now, res, err)
	res.Status = st
	return res, err
}

// authMemo is what the device remembers about the server's login for one
// set of settings (never the password).
type authMemo struct {
	Basic  bool   `json:"basic,omitempty"`  // Basic worked: send it up front (https or loopback only)
	Digest bool   `json:"digest,omitempty"` // Digest worked: refuse a downgrade to Basic
	For    string `json:"for"`
}

func (e *Engine) persistAuth(ctx context.Context, set Settings) {
	e.count.mu.Lock()
	learned := e.count.learnedBasic
	e.count.learnedBasic = false
	e.count.mu.Unlock()
	e.mu.Lock()
	digest := e.client != nil && e.client.DigestWorked()
	e.mu.Unlock()
	if !learned && !digest {
		return
	}
	var a authMemo
	if ok, _ := e.readJSON(ctx, keyAuth, &a); !ok || a.For != set.fp {
		a = authMemo{For: set.fp}
	}
	if a.Basic == (a.Basic || learned) && a.Digest == (a.Digest || digest) {
		return
	}
	a.Basic, a.Digest = a.Basic || learned, a.Digest || digest
	_ = e.store.SetState(ctx, map[string][]byte{keyAuth: mustJSON(a)})
}

func (e *Engine) skipReason(set Settings, serr error, st *Status, now int64) string {
	switch {
	case errors.Is(serr, errkind.NotConfigured):
		return "not_configured"
	case !set.AutoSync:
		return "auto_sync_off"
	case st.Paused && st.PausedFor == set.fp:
		return "paused_auth"
	case st.NextRun > now+dueSlack.Milliseconds() && !(st.Paused && st.PausedFor != set.fp):
		return "not_due"
	}
	return ""
}

// Backoff bounds.
const (
	backoffBase = 30 * time.Second
	backoffMax  = time.Hour
	followUp    = 30 * time.Second
	// dueSlack lets an alarm that fires a little early still run.
	dueSlack = 30 * time.Second
)

// finish updates and persists the status after a cycle.
func (e *Engine) finish(ctx context.Context, st *Status, set Settings, started int64, res *CycleResult, err error) {
	now := e.nowMs()
	// The schedule may have changed while the cycle ran (Reschedule leaves
	// a running cycle alone): use the settings as they are now.
	e.mu.Lock()
	e.reschedule = false // the settings are read now
	e.mu.Unlock()
	if cur, serr := e.cfg.Settings(ctx); serr == nil {
		cur = cur.withDefaults()
		set.AutoSync, set.IntervalSeconds = cur.AutoSync, cur.IntervalSeconds
	}
	interval := int64(set.IntervalSeconds) * 1000
	if n, cerr := e.conflictCount(ctx); cerr == nil {
		st.Conflicts = n
	}
	st.Preview, st.PreviewFor, st.Answered = nil, "", nil
	if err == nil {
		st.State = StateIdle
		st.LastSuccess = now
		st.LastError = nil
		st.Failures = 0
		st.Paused, st.PausedFor = false, ""
		st.LastLocal, st.LastRemote = res.Local, res.Remote
		if res.checked {
			st.Warnings = res.Warnings
		}
		// From the start, not the end: the periodic alarm fires one period
		// after the one that started this cycle, and a NextRun measured from
		// a slow cycle's end would make it skip that alarm (a 2x interval).
		st.NextRun = started + interval
		if res.FollowUp {
			st.NextRun = now + followUp.Milliseconds()
		}
		if !set.AutoSync {
			st.NextRun = 0
		}
		_ = e.saveStatus(ctx, st)
		return
	}
	k := errkind.Of(err)
	info := &ErrorInfo{Kind: string(k), Message: errkind.Message(err), At: now}
	if ra := retryAfter(err); !ra.IsZero() {
		info.RetryAfter = ra.UnixMilli()
	}
	st.LastError = info
	switch k {
	case errkind.NeedsConfirmation:
		st.State = StateNeedsConfirmation
		if res != nil {
			st.Preview = res.Preview
			st.PreviewFor = heldKey(set)
			// A confirm that got past one question and stopped at the next
			// (mass change, then encryption) keeps the first answer.
			for _, a := range res.answered {
				if res.Preview != nil && a.Reason != res.Preview.Reason {
					st.Answered = append(st.Answered, a)
				}
			}
		}
		st.NextRun = started + interval
	case errkind.Auth:
		st.State = StateNeedsAttention
		st.Paused, st.PausedFor = true, set.fp
		st.NextRun = 0
	case errkind.Forbidden, errkind.PassphraseNeeded, errkind.Decrypt, errkind.NotConfigured, errkind.NewerVersion,
		errkind.BadDocument, errkind.InsufficientStorage, errkind.TooLarge, errkind.Invalid, errkind.Redirected,
		errkind.Unsupported, errkind.FolderMissing, errkind.NotFound:
		st.State = StateNeedsAttention
		st.Failures++
		st.NextRun = started + interval
	default:
		st.State = StateError
		st.Failures++
		d := backoffBase << min(st.Failures-1, 16)
		if d > backoffMax || d <= 0 {
			d = backoffMax
		}
		st.NextRun = started + d.Milliseconds()
		if info.RetryAfter > st.NextRun {
			st.NextRun = info.RetryAfter
		}
	}
	if !set.AutoSync {
		st.NextRun = 0
	}
	_ = e.saveStatus(ctx, st)
}

// Reschedule recomputes the next scheduled run after the automatic-sync
// switch or the interval changed. The worker re-creates its periodic alarm
// then, so the first one fires one (new) interval from now; a NextRun from
// the old interval would skip it (a weekly NextRun kept after switching to
// hourly skips every alarm for a week). A running cycle is left alone: its
// finish reads the new settings.
func (e *Engine) Reschedule(ctx context.Context) error {
	e.mu.Lock()
	if !e.run.TryLock() {
		// Whatever holds run (a cycle, a snapshot list, Test connection,
		// an undo) reschedules when it ends.
		e.reschedule = true
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	defer e.run.Unlock()
	return e.rescheduleLocked(ctx)
}

func (e *Engine) rescheduleLocked(ctx context.Context) error {
	st, _ := e.loadStatus(ctx)
	set, _, _ := e.settings(ctx)
	now := e.nowMs()
	switch {
	case !set.AutoSync || (st.Paused && st.PausedFor == set.fp):
		st.NextRun = 0
	case st.NextRun == 0:
		// Nothing scheduled yet: the first alarm runs whenever it fires.
	default:
		st.NextRun = now + int64(set.IntervalSeconds)*1000
		if st.LastError != nil && st.LastError.RetryAfter > st.NextRun {
			st.NextRun = st.LastError.RetryAfter
		}
	}
	return e.saveStatus(ctx, st)
}

// heldKey binds a held preview to the settings it was computed for.
func heldKey(set Settings) string { return set.fp + "|" + string(set.Strategy) }

// answered reports whether the user's confirmation covers preview p. A
// plain Confirm (upload, download, restore: the user chose the operation)
// covers anything; with AnswerHeld only a preview no bigger than the one
// the user saw, for the same reason and settings.
func (o CycleOptions) answered(p *Preview) bool {
	if p.Reason == "encryption_change" {
		// Never answered by a plain Confirm: only by the operation's own
		// choice, or by a confirmation of this very file.
		if o.AllowEncryptionChange || (p.Subject != "" && o.AcceptEncryption == p.Subject) {
			return true
		}
		for _, h := range o.held {
			if o.AnswerHeld && h.Reason == p.Reason && h.Subject == p.Subject {
				return true
			}
		}
		return false
	}
	if !o.Confirm {
		return false
	}
	if !o.AnswerHeld {
		return true
	}
	within := func(now, seen map[string]Counts) bool {
		for name, c := range now {
			s := seen[name]
			if c.Deleted > s.Deleted || (o.replaceSide && c.Updated > s.Updated) {
				return false
			}
		}
		return true
	}
	for _, h := range o.held {
		if h.Reason == p.Reason && within(p.Local, h.Local) && within(p.Remote, h.Remote) {
			return true
		}
	}
	return false
}

// retryAfter returns the server's Retry-After carried anywhere in err's
// chain: the cycle wraps request errors with its own context (a snapshot, a
// read-back), and the wrapper must not make davsync retry a rate-limited
// server sooner than it asked.
func retryAfter(err error) time.Time {
	for err != nil {
		if ke, ok := err.(*errkind.Error); ok && !ke.RetryAfter.IsZero() {
			return ke.RetryAfter
		}
		err = errors.Unwrap(err)
	}
	return time.Time{}
}

func (e *Engine) loadStatus(ctx context.Context) (*Status, error) {
	st := &Status{State: StateIdle}
	if _, err := e.readJSON(ctx, keyStatus, st); err != nil {
		return st, err
	}
	return st, nil
}

func (e *Engine) saveStatus(ctx context.Context, st *Status) error {
	return e.store.SetState(ctx, map[string][]byte{keyStatus: mustJSON(st)})
}

// Status returns the persisted status. A status left at "syncing" by a
// worker that was stopped mid-cycle is reported as an error that the next
// cycle will retry.
func (e *Engine) Status(ctx context.Context) (*Status, error) {
	st, err := e.loadStatus(ctx)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	running := e.running
	e.mu.Unlock()
	if st.State == StateSyncing && !running {
		st.State = StateError
		st.LastError = &ErrorInfo{Kind: string(errkind.Canceled), Message: "the last sync was interrupted before it finished; nothing was lost, and it runs again on the next sync", At: st.LastAttempt}
	}
	// A pause belongs to the settings that were rejected: once they
	// changed, automatic sync runs again (skipReason) and is not paused.
	if st.Paused {
		if set, _, _ := e.settings(ctx); set.fp != st.PausedFor {
			st.Paused = false
		}
	}
	if n, err := e.conflictCount(ctx); err == nil {
		st.Conflicts = n
	}
	return st, nil
}
