package webdav

import (
	"context"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// Folder states in CheckResult.Folder.
const (
	FolderExists     = "exists"       // the configured folder was there
	FolderCreated    = "created"      // it was missing and Check created it
	FolderNotCreated = "missing"      // it is missing and could not be created (see Error)
	FolderIsFile     = "not_a_folder" // the URL names a file
	FolderUnknown    = "unknown"      // the check stopped before finding out
)

// CheckResult is what the server check found. It is JSON-serialisable so
// the extension can show it; Traits is what the app layer keeps per remote
// for the client and the sync cycle. A false field means "not honoured" or
// "not probed because an earlier step failed" (then Error says why).
type CheckResult struct {
	URL string `json:"url"`
	// OK means davsync can sync here: login accepted, folder present,
	// files can be written and deleted.
	OK            bool   `json:"ok"`
	CredentialsOK bool   `json:"credentialsOk"`
	AuthScheme    string `json:"authScheme"` // "none", "basic" or "digest"
	Folder        string `json:"folder"`     // one of the Folder* constants
	CanWrite      bool   `json:"canWrite"`
	CanDelete     bool   `json:"canDelete"`
	// Traits is what the probes showed: preconditions, ETags, COPY/MOVE.
	Traits Traits `json:"traits"`
	// ClockOffsetMs is the server's clock minus this device's, from the
	// Date header (about ±500 ms precision); valid when ClockKnown.
	ClockOffsetMs int64 `json:"clockOffsetMs"`
	ClockKnown    bool  `json:"clockKnown"`
	// InsecureTransport: the URL is http:// to another machine, so the
	// password (with Basic login) and the data cross the network
	// unencrypted.
	InsecureTransport bool   `json:"insecureTransport"`
	Server            string `json:"server"` // the Server header
	DAV               string `json:"dav"`    // the DAV header (compliance classes)
	// Warnings are user-facing notes about deviations davsync copes with.
	Warnings []msg.Msg `json:"warnings,omitempty"`
	// ErrorKind and Error describe the failure that stopped the check.
	ErrorKind  string `json:"errorKind,omitempty"`
	Error      string `json:"error,omitempty"`
	CheckedAt  int64  `json:"checkedAt"` // ms since epoch
	DurationMs int64  `json:"durationMs"`
}

// Conditional reports whether a conditional PUT alone keeps concurrent
// writers from overwriting each other on this server: it honours If-Match
// and If-None-Match: * and reports ETags. Elsewhere the sync cycle reads its
// writes back.
func (t Traits) Conditional() bool {
	return t.IfMatch == Yes && t.IfNoneMatch == Yes && (t.PropfindETag == Yes || t.PutETag == Yes || t.ConditionalGet == Yes)
}

const checkBody = "davsync server check: this file is removed again at once\n"

// checkType is the scratch files' Content-Type.
const checkType = "text/plain; charset=utf-8"

// Check probes the server the way sync will use it and reports what it
// honours. It creates the configured folder if it is missing (reported as
// "created"), writes two scratch files named .davsync-check-*.tmp next to
// the backup and removes them again, also when a probe fails. The result is
// always non-nil; the error is the failure that stopped the check (also in
// the result's Error fields).
func (c *Client) Check(ctx context.Context) (*CheckResult, error) {
	start := c.cfg.now()
	res := &CheckResult{URL: c.baseStr, Folder: FolderUnknown, AuthScheme: "none", CheckedAt: start.UnixMilli()}
	if c.insecure {
		res.InsecureTransport = true
		res.Warnings = append(res.Warnings, msg.New("noteInsecure", c.base.Host))
	}
	err := c.check(ctx, res)
	c.mu.Lock()
	if c.auth.scheme != "" {
		res.AuthScheme = c.auth.scheme
	}
	c.mu.Unlock()
	if err != nil {
		res.ErrorKind = string(errkind.Of(err))
		res.Error = errkind.Message(err)
	}
	res.OK = err == nil && res.CredentialsOK && res.CanWrite && res.CanDelete &&
		(res.Folder == FolderExists || res.Folder == FolderCreated)
	if res.CanWrite {
		c.learn(func(t *Traits) { t.Checked = start.UnixMilli() })
	}
	res.Traits = c.Traits()
	res.DurationMs = c.cfg.now().Sub(start).Milliseconds()
	return res, err
}

func (c *Client) check(ctx context.Context, res *CheckResult) error {
	// 1. The folder itself: credentials, existence, headers, clock.
	t0 := c.cfg.now()
	self, _, resp, err := c.propfind(ctx, "PROPFIND (folder)", "", "0", true)
	t1 := c.cfg.now()
	if resp != nil {
		res.Server = clip(resp.Header["server"], 100)
		res.DAV = clip(resp.Header["dav"], 100)
		if d, ok := ParseHTTPDate(resp.Header["date"]); ok {
			// Date is truncated to the second: the server's clock was
			// somewhere in [d, d+1s), so compare its middle with the
			// middle of the exchange.
			mid := t0.Add(t1.Sub(t0) / 2)
			res.ClockOffsetMs = d.Add(500 * time.Millisecond).Sub(mid).Milliseconds()
			res.ClockKnown = true
		}
	}
	switch errkind.Of(err) {
	case "":
		res.CredentialsOK = true
		if self != nil && !self.IsDir {
			res.Folder = FolderIsFile
			return errkind.Say(errkind.Invalid, "check", msg.New("errURLIsFile"))
		}
		res.Folder = FolderExists
	case errkind.NotFound:
		res.CredentialsOK = true
		if mkErr := c.MkcolAll(ctx, ""); mkErr != nil {
			res.Folder = FolderNotCreated
			return errkind.SayWrap(errkind.Of(mkErr), "check", msg.New("errCannotCreateFolder"), mkErr)
		}
		res.Folder = FolderCreated
	case errkind.Forbidden:
		res.CredentialsOK = true
		return err
	default:
		return err
	}
	if res.DAV == "" {
		// PROPFIND answers rarely carry the DAV header; OPTIONS does.
		if r, _, oerr := c.do(ctx, "OPTIONS (folder)", "OPTIONS", c.baseStr, nil, nil); oerr == nil {
			res.DAV = clip(r.Header["dav"], 100)
			if res.Server == "" {
				res.Server = clip(r.Header["server"], 100)
			}
		}
	}
	if res.ClockKnown && (res.ClockOffsetMs > 5*60*1000 || res.ClockOffsetMs < -5*60*1000) {
		res.Warnings = append(res.Warnings, msg.New("noteClockOffset", formatInt(res.ClockOffsetMs/1000)))
	}

	// 2. Writes, on scratch files that are always removed again.
	tag := c.randomHex(6)
	a := ".davsync-check-" + tag + ".tmp"
	b := ".davsync-check-" + tag + "-b.tmp"
	defer func() {
		// Cleanup must run even when ctx was canceled mid-check.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = c.Delete(cctx, a, "")
		_ = c.Delete(cctx, b, "")
	}()
	pr, err := c.Put(ctx, a, []byte(checkBody), PutCondition{IfNoneMatchAny: true, ContentType: checkType})
	if err != nil {
		if errkind.Of(err) == errkind.Precondition {
			return errkind.SayWrap(errkind.Precondition, "check", msg.New("errScratchExists"), err)
		}
		return errkind.SayWrap(errkind.Of(err), "check", msg.New("errCannotWrite"), err)
	}
	res.CanWrite = true
	c.learn(func(t *Traits) { t.PutETag = yesNo(pr.ETag != "") })

	// If-None-Match: * on an existing file must be refused.
	_, err = c.Put(ctx, a, []byte(checkBody), PutCondition{IfNoneMatchAny: true, ContentType: checkType})
	switch errkind.Of(err) {
	case errkind.Precondition:
		c.learn(func(t *Traits) { t.IfNoneMatch = Yes })
	case "":
		c.learn(func(t *Traits) { t.IfNoneMatch = No })
		res.Warnings = append(res.Warnings, msg.New("noteIgnoresIfNoneMatch"))
	default:
		return err
	}

	// If-Match and the WebDAV If header with a made-up ETag must be refused.
	ifMatch := Unknown
	_, err = c.Put(ctx, a, []byte(checkBody), PutCondition{IfMatch: "davsync-bogus-etag", ContentType: checkType})
	switch errkind.Of(err) {
	case errkind.Precondition:
		ifMatch = Yes
	case "":
		ifMatch = No
		res.Warnings = append(res.Warnings, msg.New("noteIgnoresIfMatch"))
	default:
		return err
	}

	// ETags from PROPFIND, GET, conditional GET, and If-Match on the
	// current ETag (which Apache refuses for about a second after a write;
	// its If header takes the weak tag).
	st, err := c.Stat(ctx, a)
	if err != nil {
		return err
	}
	g, err := c.Get(ctx, a, "")
	if err != nil {
		return err
	}
	etag := st.ETag
	if etag == "" {
		etag = g.ETag
	}
	if etag == "" {
		res.Warnings = append(res.Warnings, msg.New("noteNoETags"))
	} else {
		g2, gerr := c.Get(ctx, a, etag)
		if gerr != nil {
			return gerr
		}
		c.learn(func(t *Traits) { t.ConditionalGet = yesNo(g2.NotModified) })
		_, err = c.Put(ctx, a, []byte(checkBody), PutCondition{IfMatch: etag, ContentType: checkType})
		switch errkind.Of(err) {
		case "":
		case errkind.Precondition:
			ifMatch = No
			res.Warnings = append(res.Warnings, msg.New("noteRefusesIfMatch"))
		default:
			return err
		}
		if ifMatch == Yes && c.Traits().WeakETags {
			// Apache: its ETags are weak right after a write, when If-Match
			// fails; its WebDAV If header takes them. Probed only there
			// (npm webdav-server stops answering at the If header): a
			// made-up tag must be refused, the current one taken.
			ifHeader, err := c.probeIfHeader(ctx, a)
			if err != nil {
				return err
			}
			c.learn(func(t *Traits) { t.IfHeader = ifHeader })
		}
	}
	c.learn(func(t *Traits) { t.IfMatch = ifMatch })

	// MOVE onto an existing file (how a backup is replaced atomically).
	if _, err := c.Put(ctx, b, []byte(checkBody), PutCondition{ContentType: checkType}); err != nil {
		return err
	}
	switch err := c.Move(ctx, a, b, true); errkind.Of(err) {
	case "":
		c.learn(func(t *Traits) { t.MoveOverwrite = Yes })
	case errkind.Precondition, errkind.Forbidden, errkind.Unsupported, errkind.BadResponse, errkind.FolderMissing:
		c.learn(func(t *Traits) { t.MoveOverwrite = No })
		res.Warnings = append(res.Warnings, msg.New("noteNoMoveOverwrite", string(errkind.Of(err))))
	default:
		return err
	}

	// DELETE: the moved file (or b if the move failed).
	if err := c.Delete(ctx, b, ""); err != nil {
		return errkind.SayWrap(errkind.Of(err), "check", msg.New("errCannotDelete"), err)
	}
	res.CanDelete = true
	return nil
}

func yesNo(b bool) Support {
	if b {
		return Yes
	}
	return No
}
