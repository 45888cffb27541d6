package webdav

import (
	"bytes"
	"context"
	"path"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// propfindBody asks only for what Resource holds: allprop makes some
// servers compute expensive properties (quota, checksums) for every entry.
const propfindBody = `<?xml version="1.0" encoding="utf-8"?>` +
	`<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getetag/><d:getcontentlength/>` +
	`<d:getlastmodified/><d:getcontenttype/></d:prop></d:propfind>`

// propfind runs a PROPFIND of the given depth ("0" or "1": never infinity,
// which most servers refuse and some silently treat as 1).
func (c *Client) propfind(ctx context.Context, op, rel, depth string, dir bool) (self *Resource, children []Resource, resp *Response, err error) {
	u := c.urlFor(rel, dir)
	hdr := map[string]string{"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
	resp, _, err = c.do(ctx, op, "PROPFIND", u, hdr, []byte(propfindBody))
	if err != nil {
		return nil, nil, nil, err
	}
	switch resp.Status {
	case 207, 200:
		// 200 is not what RFC 4918 answers, but a server that sends a
		// multistatus with it still told us what we asked; the parser
		// rejects the HTML login pages that also come back as 200.
	default:
		return nil, nil, resp, c.statusError(op, "PROPFIND", rel, resp)
	}
	reqAbs, slash := hrefPath(RequestTarget(u), "/")
	reqDir := reqAbs
	if slash && reqAbs != "/" {
		reqDir += "/" // relative hrefs resolve inside a collection
	}
	entries, err := parseMultistatus(op, resp.Body, reqDir, c.cfg.maxXML)
	if err != nil {
		return nil, nil, resp, err
	}
	for _, e := range entries {
		if e.status == 0 && !e.res.IsDir {
			c.learnETag(e.rawETag)
			c.learn(func(t *Traits) { t.PropfindETag = yesNo(e.res.ETag != "") })
		}
	}
	self, children = c.resources(entries, rel, reqAbs)
	if self == nil {
		// A 207 can carry the requested resource's own failure (e.g. 403
		// or 404 as a response-level status): report that, not "missing".
		for _, e := range entries {
			if p, ok := c.relPath(e.path); ok && p == rel && e.status >= 300 {
				return nil, nil, resp, c.statusError(op, "PROPFIND", rel, &Response{Status: e.status, Header: resp.Header})
			}
		}
	}
	return self, children, resp, nil
}

// Stat returns the properties of one file or folder (PROPFIND Depth 0). A
// missing path is an error of kind not_found.
func (c *Client) Stat(ctx context.Context, p string) (*Resource, error) {
	rel, err := cleanRel("stat", p)
	if err != nil {
		return nil, err
	}
	op := "PROPFIND " + displayRel(rel)
	self, children, _, err := c.propfind(ctx, op, rel, "0", rel == "")
	if err != nil {
		return nil, err
	}
	if self == nil && len(children) > 0 {
		// Depth 0 answers one resource; if its href did not map back to
		// the request (an unusual proxy prefix), it is still the answer.
		r := children[0]
		r.Path = rel
		self = &r
	}
	if self == nil {
		return nil, errkind.Say(errkind.NotFound, op, msg.New("errNotListed", displayRel(rel)))
	}
	return self, nil
}

// List returns the entries directly inside a folder (PROPFIND Depth 1),
// without the folder itself, in the server's order.
func (c *Client) List(ctx context.Context, p string) ([]Resource, error) {
	rel, err := cleanRel("list", p)
	if err != nil {
		return nil, err
	}
	op := "PROPFIND " + displayRel(rel)
	self, children, _, err := c.propfind(ctx, op, rel, "1", true)
	if err != nil {
		return nil, err
	}
	if self != nil && !self.IsDir && len(children) == 0 {
		return nil, errkind.Say(errkind.Invalid, op, msg.New("errIsFile", displayRel(rel)))
	}
	return children, nil
}

func displayRel(rel string) string {
	if rel == "" {
		return "(folder)"
	}
	return rel
}

// GetResult is the outcome of Get.
type GetResult struct {
	// NotModified is true when the server answered 304 to If-None-Match:
	// the caller's copy is current and Body is empty.
	NotModified  bool
	Body         []byte
	ETag         string // normalised; "" when the server sent none
	LastModified time.Time
	// Date is the server's Date header (zero when absent).
	Date        time.Time
	ContentType string
}

// Get downloads a file. With ifNoneMatch set (an ETag from an earlier Get
// or Stat) a server that still has that version answers "not modified"
// instead of the body; servers that ignore the condition (npm webdav-server)
// send the body, which is still correct.
func (c *Client) Get(ctx context.Context, p string, ifNoneMatch string) (*GetResult, error) {
	rel, err := cleanRel("get", p)
	if err != nil {
		return nil, err
	}
	op := "GET " + displayRel(rel)
	hdr := map[string]string{}
	if ifNoneMatch != "" {
		hdr["If-None-Match"] = quoteETag(NormalizeETag(ifNoneMatch))
	}
	resp, _, err := c.do(ctx, op, "GET", c.urlFor(rel, false), hdr, nil)
	if err != nil {
		return nil, err
	}
	res := &GetResult{
		ETag:        NormalizeETag(resp.Header["etag"]),
		ContentType: resp.Header["content-type"],
	}
	c.learnETag(resp.Header["etag"])
	if ifNoneMatch != "" {
		switch {
		case resp.Status == 304:
			c.learn(func(t *Traits) { t.ConditionalGet = Yes })
		case resp.Status == 200 && res.ETag != "" && res.ETag == NormalizeETag(ifNoneMatch):
			// The very version we named came back whole: the server
			// ignores If-None-Match (npm webdav-server).
			c.learn(func(t *Traits) { t.ConditionalGet = No })
		}
	}
	res.Date, _ = ParseHTTPDate(resp.Header["date"])
	res.LastModified, _ = ParseHTTPDate(resp.Header["last-modified"])
	switch resp.Status {
	case 200, 203:
		c.learn(func(t *Traits) { t.GetETag = yesNo(res.ETag != "") })
		res.Body = resp.Body
		if res.Body == nil {
			res.Body = []byte{}
		}
		// A login or error page served with 200 for every path: say the
		// address is a web page (as PROPFIND does), not that the file is
		// a damaged backup.
		if strings.HasPrefix(strings.ToLower(res.ContentType), "text/html") && looksLikeHTML(res.Body) {
			return nil, notDAVError(op)
		}
		return res, nil
	case 304:
		res.NotModified = true
		if res.ETag == "" {
			res.ETag = NormalizeETag(ifNoneMatch)
		}
		return res, nil
	}
	return nil, c.statusError(op, "GET", rel, resp)
}

// PutCondition says when a Put may replace what is on the server.
type PutCondition struct {
	// IfMatch, when set, makes the write succeed only if the file still has
	// this ETag (If-Match). Servers that ignore it are found by Check.
	IfMatch string
	// IfNoneMatchAny makes the write succeed only if the file does not exist
	// yet (If-None-Match: *).
	IfNoneMatchAny bool
	// ContentType is sent as Content-Type; default by extension (.json ->
	// application/json, .gz -> application/gzip, else
	// application/octet-stream).
	ContentType string
	// IfHeader sends IfMatch as the WebDAV If header (If: (["etag"]),
	// RFC 4918 10.4) instead of If-Match: on a server whose ETags are weak
	// for a while after a write (Traits.WeakETags) it matches where
	// If-Match always fails. Use it only where Traits.IfHeader is Yes: a
	// server that ignores it writes unconditionally.
	IfHeader bool
	// Verify re-reads the file after a successful write and fails with
	// bad_response unless it holds exactly body (the "verify_after_write"
	// strategy, for servers that ignore preconditions or store short
	// files). It also supplies the ETag when the PUT answer had none.
	Verify bool
}

// PutResult is the outcome of a successful Put.
type PutResult struct {
	// ETag of the new content, normalised; "" when the server sent none and
	// it was not re-read (never guessed from a later read of someone else's
	// write).
	ETag string
	// Created is true when the server said 201 Created.
	Created bool
	// Verified is true when the content was read back and matched.
	Verified bool
	// Recovered is true when the reply to the PUT was lost and a re-read
	// showed that the write had landed.
	Recovered bool
	// Date is the server's Date header of the answer (zero when absent).
	Date time.Time
}

// weakETagPause is how long Put waits before repeating a write that Apache
// refused with 412 although the file's ETag is the caller's: Apache's ETag
// is weak for about a second after a write and If-Match never matches a weak
// ETag.
const weakETagPause = 1100 * time.Millisecond

// Put uploads body to p with an explicit Content-Type and Content-Length
// (the transport sends len(body)) and no Expect: 100-continue.
//
// Why this cannot lose an edit: a PUT is not idempotent under a
// precondition. If its answer is lost (connection reset, timeout) or is a
// 5xx that may come after the write, Put never simply sends it again. It
// first re-reads the file (putLanded): if the server holds exactly body, the
// earlier write landed and Put reports success (Recovered). If the file
// changed to something else, or vanished, while cond required a specific
// version, Put reports precondition instead of overwriting a concurrent
// writer. Only when the condition still holds is the PUT repeated, with the
// same condition, so a server that honours it still guards the write.
// 429 and 423 (the server refused before doing anything) are retried after
// their Retry-After or the backoff without the re-read.
func (c *Client) Put(ctx context.Context, p string, body []byte, cond PutCondition) (*PutResult, error) {
	rel, err := cleanRel("put", p)
	if err != nil {
		return nil, err
	}
	op := "PUT " + displayRel(rel)
	if rel == "" {
		return nil, errkind.Internal(errkind.Invalid, op, "cannot write a file over the configured folder itself; give a file name", nil)
	}
	if cond.IfMatch != "" && cond.IfNoneMatchAny {
		return nil, errkind.Internal(errkind.Invalid, op, "If-Match and If-None-Match: * together can never succeed", nil)
	}
	if body == nil {
		body = []byte{}
	}
	ct := cond.ContentType
	if ct == "" {
		ct = contentTypeFor(rel)
	}
	hdr := map[string]string{"Content-Type": ct}
	switch {
	case cond.IfMatch != "" && cond.IfHeader:
		hdr["If"] = "([" + quoteETag(NormalizeETag(cond.IfMatch)) + "])"
	case cond.IfMatch != "":
		hdr["If-Match"] = quoteETag(NormalizeETag(cond.IfMatch))
	}
	if cond.IfNoneMatchAny {
		hdr["If-None-Match"] = "*"
	}
	u := c.urlFor(rel, false)
	var waited time.Duration
	weakRetried := false
	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, op, "PUT", u, hdr, body)
		if err == nil && resp.Status >= 200 && resp.Status <= 299 {
			res := &PutResult{ETag: NormalizeETag(resp.Header["etag"]), Created: resp.Status == 201}
			c.learnETag(resp.Header["etag"])
			c.learn(func(t *Traits) { t.PutETag = yesNo(res.ETag != "") })
			res.Date, _ = ParseHTTPDate(resp.Header["date"])
			if cond.Verify {
				if err := c.verifyPut(ctx, op, rel, body, res); err != nil {
					return nil, err
				}
			}
			return res, nil
		}
		if err != nil && !c.shouldRetry(nil, err) {
			return nil, err // canceled: nothing to recover
		}
		if err == nil && resp.Status == 412 && cond.IfMatch != "" && !cond.IfHeader && !weakRetried {
			// Apache's fresh-write 412: retry once if the file's current
			// ETag is the one we asked for, i.e. nobody else wrote.
			cur, _, cerr := c.currentETag(ctx, rel)
			if cerr == nil && cur != "" && cur == NormalizeETag(cond.IfMatch) {
				weakRetried = true
				if c.Traits().WeakETags && c.ifHeaderHonoured(ctx, rel) {
					// The If header takes the weak tag: the write stays
					// conditional without waiting out the window.
					delete(hdr, "If-Match")
					hdr["If"] = "([" + quoteETag(NormalizeETag(cond.IfMatch)) + "])"
					continue
				}
				if serr := c.cfg.sleep(ctx, weakETagPause); serr != nil {
					return nil, c.transportError(ctx, op, serr)
				}
				continue
			}
		}
		if err == nil && !retryableStatus(resp.Status) {
			return nil, c.statusError(op, "PUT", rel, resp)
		}
		if err == nil && refusedUnread(resp.Status) {
			// Refused before processing: safe to resend as is.
		} else {
			landed, etag, verr := c.putLanded(ctx, op, rel, body, cond)
			if verr != nil {
				return nil, verr
			}
			if landed {
				res := &PutResult{ETag: etag, Recovered: true, Verified: true}
				return res, nil
			}
		}
		var d time.Duration
		ok := attempt < c.cfg.maxAttempts
		if ok {
			d, ok = c.backoff(attempt, resp, waited)
		}
		if !ok {
			if err != nil {
				return nil, err
			}
			return nil, c.statusError(op, "PUT", rel, resp)
		}
		if serr := c.cfg.sleep(ctx, d); serr != nil {
			return nil, c.transportError(ctx, op, serr)
		}
		waited += d
	}
}

// ifHeaderHonoured reports whether the server refuses a write whose WebDAV
// If header names another ETag and takes one naming the current ETag
// (Traits.IfHeader). Unknown (a server never checked) is found out once,
// on a scratch file beside rel, which costs about five requests where
// waiting out Apache's weak-ETag window costs a second on every write.
// A server that ignores the header gets No, and its writes keep waiting.
func (c *Client) ifHeaderHonoured(ctx context.Context, rel string) bool {
	switch c.Traits().IfHeader {
	case Yes:
		return true
	case No:
		return false
	}
	dir := path.Dir(rel)
	if dir == "." {
		dir = ""
	}
	scratch := joinRel(dir, ".davsync-probe-"+c.randomHex(6)+".tmp")
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = c.Delete(cctx, scratch, "")
	}()
	if _, err := c.Put(ctx, scratch, []byte(checkBody), PutCondition{IfNoneMatchAny: true, ContentType: checkType}); err != nil {
		return false // no verdict: wait this time, ask again next time
	}
	honoured, err := c.probeIfHeader(ctx, scratch)
	if err != nil {
		return false
	}
	c.learn(func(t *Traits) { t.IfHeader = honoured })
	return honoured == Yes
}

// probeIfHeader finds out on file, which exists and may be overwritten,
// whether the server honours the WebDAV If header: a made-up ETag must be
// refused, the current one taken.
func (c *Client) probeIfHeader(ctx context.Context, file string) (Support, error) {
	switch _, err := c.Put(ctx, file, []byte(checkBody), PutCondition{IfMatch: "davsync-bogus-etag", IfHeader: true, ContentType: checkType}); errkind.Of(err) {
	case "":
		return No, nil
	case errkind.Precondition:
	default:
		return Unknown, err
	}
	cur, _, err := c.currentETag(ctx, file)
	if err != nil {
		return Unknown, err
	}
	if _, err := c.Put(ctx, file, []byte(checkBody), PutCondition{IfMatch: cur, IfHeader: true, ContentType: checkType}); err != nil {
		return No, nil
	}
	return Yes, nil
}

// putLanded re-reads p after a PUT whose outcome is unknown. landed is true
// when the server holds exactly body. An error means repeating the PUT
// would not be safe: the precondition no longer holds (someone else wrote
// or deleted the file), the parent folder is missing, or the file could not
// be read.
func (c *Client) putLanded(ctx context.Context, op, rel string, body []byte, cond PutCondition) (landed bool, etag string, err error) {
	resp, _, err := c.do(ctx, "GET "+rel, "GET", c.urlFor(rel, false), nil, nil)
	if err != nil {
		e := errkind.SayWrap(errkind.Of(err), op, msg.New("errReplyLost"), err)
		return false, "", e
	}
	switch resp.Status {
	case 200, 203:
		etag = NormalizeETag(resp.Header["etag"])
		if bytes.Equal(resp.Body, body) {
			return true, etag, nil
		}
		if cond.IfNoneMatchAny {
			return false, "", errkind.Say(errkind.Precondition, op, msg.New("errCreatedMeanwhile", rel))
		}
		if cond.IfMatch != "" {
			if etag == "" {
				etag, _, _ = c.currentETag(ctx, rel)
			}
			if etag != "" && etag != NormalizeETag(cond.IfMatch) {
				return false, "", errkind.Say(errkind.Precondition, op, msg.New("errChangedMeanwhile", rel))
			}
		}
		return false, "", nil
	case 404:
		// nginx answers a PUT below a missing folder with 500, which would
		// otherwise read as a server failure. The file being absent and a
		// PROPFIND of its folder answering 404 (one request, only on this
		// error path) is what tells the two apart.
		if ferr := c.parentMissing(ctx, op, rel); ferr != nil {
			return false, "", ferr
		}
		if cond.IfMatch != "" {
			return false, "", errkind.Say(errkind.Precondition, op, msg.New("errDeletedMeanwhile", rel))
		}
		return false, "", nil
	}
	return false, "", c.statusError("GET "+rel, "GET", rel, resp)
}

// parentMissing returns a folder_missing error if the folder that should
// hold rel does not exist (PROPFIND answers 404), and nil otherwise,
// including when that cannot be found out.
func (c *Client) parentMissing(ctx context.Context, op, rel string) error {
	parent := path.Dir(rel)
	if parent == "." {
		parent = ""
	}
	if _, serr := c.Stat(ctx, parent); errkind.Of(serr) != errkind.NotFound {
		return nil
	}
	if parent == "" {
		return errkind.Say(errkind.FolderMissing, op, msg.New("errRootMissing"))
	}
	return errkind.Say(errkind.FolderMissing, op, msg.New("errFolderMissing", parent))
}

// verifyPut reads back a file just written and checks it holds body.
func (c *Client) verifyPut(ctx context.Context, op, rel string, body []byte, res *PutResult) error {
	g, err := c.Get(ctx, rel, "")
	if err != nil {
		return errkind.SayWrap(errkind.Of(err), op, msg.New("errReadBackFailed"), err)
	}
	if !bytes.Equal(g.Body, body) {
		return errkind.Say(errkind.BadResponse, op, msg.New("errWrongContent", itoa(len(g.Body)), itoa(len(body))))
	}
	res.Verified = true
	if g.ETag != "" {
		res.ETag = g.ETag
	}
	return nil
}

// currentETag returns the server's ETag for rel from PROPFIND, falling back
// to HEAD for servers without getetag (nginx). exists is false on 404.
func (c *Client) currentETag(ctx context.Context, rel string) (etag string, exists bool, err error) {
	r, err := c.Stat(ctx, rel)
	if err != nil {
		if errkind.Of(err) == errkind.NotFound {
			return "", false, nil
		}
		return "", false, err
	}
	if r.ETag != "" {
		return r.ETag, true, nil
	}
	resp, _, err := c.do(ctx, "HEAD "+rel, "HEAD", c.urlFor(rel, r.IsDir), nil, nil)
	if err != nil {
		return "", true, err
	}
	return NormalizeETag(resp.Header["etag"]), true, nil
}

func contentTypeFor(rel string) string {
	switch strings.ToLower(path.Ext(rel)) {
	case ".json":
		return "application/json"
	case ".gz":
		return "application/gzip"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// MkcolAll creates the folder p and every missing folder above it, the
// configured folder included. A folder that already exists is success (405
// from most servers, 201 from rclone); a file in the way is an error.
func (c *Client) MkcolAll(ctx context.Context, p string) error {
	rel, err := cleanRel("mkcol", p)
	if err != nil {
		return err
	}
	op := "MKCOL " + displayRel(rel)
	r, err := c.Stat(ctx, rel)
	switch {
	case err == nil && r.IsDir:
		return nil
	case err == nil:
		return errkind.Say(errkind.Invalid, op, msg.New("errFileInTheWay", displayRel(rel)))
	case errkind.Of(err) != errkind.NotFound:
		return err
	}
	// Levels from the host root down: the configured folder's own path
	// first (it may be missing too), then rel's segments.
	var levels []string
	var names []string
	acc := strings.TrimSuffix(c.base.Scheme+"://"+c.base.Host, "/")
	for _, s := range strings.Split(strings.Trim(c.base.EscapedPath(), "/"), "/") {
		if s == "" {
			continue
		}
		acc += "/" + s
		levels = append(levels, acc+"/")
		names = append(names, "(folder)")
	}
	if rel != "" {
		cur := ""
		for _, s := range strings.Split(rel, "/") {
			cur = joinRel(cur, s)
			acc += "/" + escapeSegment(s)
			levels = append(levels, acc+"/")
			names = append(names, cur)
		}
	}
	// Walk up until a level can be created or exists, then back down.
	i := len(levels) - 1
	for ; i >= 0; i-- {
		created, parentMissing, err := c.mkcol(ctx, names[i], levels[i])
		if err != nil {
			return err
		}
		if created {
			break
		}
		if !parentMissing {
			return errkind.Say(errkind.FolderMissing, op, msg.New("errMkcolRefused", displayRel(names[i])))
		}
	}
	if i < 0 {
		return errkind.Say(errkind.FolderMissing, op, msg.New("errNoFolderCreated"))
	}
	for j := i + 1; j < len(levels); j++ {
		created, _, err := c.mkcol(ctx, names[j], levels[j])
		if err != nil {
			return err
		}
		if !created {
			return errkind.Say(errkind.FolderMissing, op, msg.New("errMkcolIgnored", displayRel(names[j])))
		}
	}
	return nil
}

// Mkcol creates the folder p whose parent the caller knows exists (a
// listing of p just answered 404): one MKCOL instead of MkcolAll's
// PROPFIND and walk. If the parent is missing after all, it falls back
// to MkcolAll.
func (c *Client) Mkcol(ctx context.Context, p string) error {
	rel, err := cleanRel("mkcol", p)
	if err != nil {
		return err
	}
	_, parentMissing, err := c.mkcol(ctx, rel, c.urlFor(rel, true))
	if err == nil && parentMissing {
		return c.MkcolAll(ctx, rel)
	}
	return err
}

// mkcol creates one collection. created is true if it now exists.
func (c *Client) mkcol(ctx context.Context, name, u string) (created, parentMissing bool, err error) {
	op := "MKCOL " + displayRel(name)
	resp, _, err := c.do(ctx, op, "MKCOL", u, nil, nil)
	if err != nil {
		return false, false, err
	}
	switch s := resp.Status; {
	case s >= 200 && s <= 299, s == 405:
		// 405 Method Not Allowed is RFC 4918's answer for "already exists".
		return true, false, nil
	case s == 409, s == 404, s == 424:
		return false, true, nil
	case s == 500:
		// Some servers answer a missing parent with 500; walking up costs
		// one more request and fails properly if that was not the cause.
		return false, true, nil
	case s == 403 && u == c.urlFor(name, true):
		// Apache answers 403 to the loser of two MKCOLs of one folder at
		// the same moment (two devices taking their first snapshot): if
		// the folder is there now, it was made, whoever made it. (Levels
		// above the configured folder have no relative name to look up.)
		if r, serr := c.Stat(ctx, name); serr == nil && r.IsDir {
			return true, false, nil
		}
	}
	return false, false, c.statusError(op, "MKCOL", name, resp)
}

// Move renames from to to (MOVE). overwrite false makes it fail with
// precondition when to exists. Destination is sent as a full, escaped URL
// because Apache rejects a bare path.
func (c *Client) Move(ctx context.Context, from, to string, overwrite bool) error {
	return c.moveCopy(ctx, "MOVE", from, to, overwrite)
}

// Copy duplicates from to to (COPY), with the same overwrite rule as Move.
func (c *Client) Copy(ctx context.Context, from, to string, overwrite bool) error {
	return c.moveCopy(ctx, "COPY", from, to, overwrite)
}

func (c *Client) moveCopy(ctx context.Context, method, from, to string, overwrite bool) error {
	fr, err := cleanRel(strings.ToLower(method), from)
	if err != nil {
		return err
	}
	tr, err := cleanRel(strings.ToLower(method), to)
	if err != nil {
		return err
	}
	op := method + " " + displayRel(fr) + " -> " + displayRel(tr)
	if fr == "" || tr == "" || fr == tr {
		return errkind.Internal(errkind.Invalid, op, "source and destination must be different paths inside the configured folder", nil)
	}
	ow := "F"
	if overwrite {
		ow = "T"
	}
	send := func(dir bool) (*Response, int, error) {
		hdr := map[string]string{"Destination": c.urlFor(tr, dir), "Overwrite": ow}
		return c.do(ctx, op, method, c.urlFor(fr, dir), hdr, nil)
	}
	// A caller that names the source with a trailing slash says it is a
	// folder: both URLs then end in "/", which nginx requires.
	dir := strings.HasSuffix(from, "/")
	resp, attempts, err := send(dir)
	if err != nil {
		return err
	}
	if resp.Status == 409 && !dir {
		// nginx refuses a folder named without its slash with 409. Nothing
		// was moved or copied, so trying once more with slashes on both
		// sides is safe; if that fails too (a file whose destination folder
		// is missing), the first answer is the one to report.
		r2, a2, err2 := send(true)
		if err2 != nil {
			return err2
		}
		if !slashNamesNothing(r2.Status, a2) {
			resp, attempts = r2, a2
		}
	}
	if method == "COPY" {
		switch resp.Status {
		case 200, 201, 204:
			c.learn(func(t *Traits) { t.Copy = Yes })
		case 400, 405, 501, 502:
			c.learn(func(t *Traits) { t.Copy = No })
		}
	}
	switch s := resp.Status; {
	case s >= 200 && s <= 299 && s != 207:
		return nil
	case s == 207:
		return c.multistatusFailure(op, method, fr, resp)
	case s == 404 && method == "MOVE" && attempts > 1:
		// An earlier attempt whose reply was lost may have moved the file:
		// then the source is gone and the destination exists.
		if _, serr := c.Stat(ctx, tr); serr == nil {
			return nil
		}
	case s == 403:
		// golang.org/x/net/webdav (and rclone) answer 403 when the source
		// does not exist; say so instead of blaming permissions.
		if _, serr := c.Stat(ctx, fr); errkind.Of(serr) == errkind.NotFound {
			return serr
		}
		// They (MOVE) also answer 403 when the destination's folder is
		// missing.
		if ferr := c.parentMissing(ctx, op, tr); ferr != nil {
			return ferr
		}
	case s == 412:
		// A retried request with Overwrite: F whose first attempt's reply
		// was lost lands here when that attempt did its work. For MOVE the
		// source is then gone (the 404 case above); for COPY the
		// destination holds the source's bytes, which two reads show.
		if attempts > 1 && !overwrite && c.sameContent(ctx, fr, tr) {
			return nil
		}
		return errkind.Say(errkind.Precondition, op, msg.New("errExists", tr))
	case s == 500:
		// nginx (COPY) and Apache (MOVE) answer 500 when the destination's
		// folder is missing; as for Put, a PROPFIND of that folder answering
		// 404 tells it from a real server failure.
		if ferr := c.parentMissing(ctx, op, tr); ferr != nil {
			return ferr
		}
	case s == 502:
		// RFC 4918: the destination is on another server or refused.
		return errkind.Say(errkind.Forbidden, op, msg.New("errDestRefused", tr))
	}
	name := fr
	if resp.Status == 409 {
		name = tr // the destination's parent is what is missing
	}
	return c.statusError(op, method, name, resp)
}

// sameContent reports whether files a and b both exist with the same bytes.
func (c *Client) sameContent(ctx context.Context, a, b string) bool {
	ga, err := c.Get(ctx, a, "")
	if err != nil {
		return false
	}
	gb, err := c.Get(ctx, b, "")
	return err == nil && bytes.Equal(ga.Body, gb.Body)
}

// Delete removes a file or folder. With ifMatch set the delete happens only
// if the file still has that ETag (servers that ignore If-Match delete
// anyway; Check reports which do). A path ending in "/" names a folder and
// is sent with its slash; a folder named without one that the server
// refuses with 409 (nginx) is deleted with a second request that adds it.
func (c *Client) Delete(ctx context.Context, p string, ifMatch string) error {
	rel, err := cleanRel("delete", p)
	if err != nil {
		return err
	}
	op := "DELETE " + displayRel(rel)
	if rel == "" {
		return errkind.Internal(errkind.Invalid, op, "refusing to delete the configured folder itself", nil)
	}
	hdr := map[string]string{}
	if ifMatch != "" {
		hdr["If-Match"] = quoteETag(NormalizeETag(ifMatch))
	}
	dir := strings.HasSuffix(p, "/")
	resp, attempts, err := c.do(ctx, op, "DELETE", c.urlFor(rel, dir), hdr, nil)
	if err != nil {
		return err
	}
	if resp.Status == 409 && !dir {
		// nginx answers 409 to DELETE of a folder without its trailing
		// slash. A 409 deleted nothing, so one more try with the slash
		// cannot remove more than the caller asked for: for a file the
		// slashed URL names nothing (404/409) and the first answer stands.
		r2, a2, err2 := c.do(ctx, op, "DELETE", c.urlFor(rel, true), hdr, nil)
		if err2 != nil {
			return err2
		}
		if !slashNamesNothing(r2.Status, a2) {
			resp, attempts = r2, a2
		}
	}
	switch s := resp.Status; {
	case s == 409:
		// Not necessarily a missing parent (most servers answer 404 then):
		// say what is known.
		return errkind.Say(errkind.FolderMissing, op, msg.New("errDeleteConflict", rel))
	case s == 207:
		return c.multistatusFailure(op, "DELETE", rel, resp)
	case s >= 200 && s <= 299:
		return nil
	case s == 404 && attempts > 1:
		// The first attempt's reply was lost after the delete happened.
		return nil
	}
	return c.statusError(op, "DELETE", rel, resp)
}

// slashNamesNothing reports whether the answer to the slashed retry of a
// request refused with 409 only says that "name/" is not a folder, so the
// first answer is the one to report: nginx answers 409 or 404, Apache 400,
// lighttpd 403 (measured on a file, see scripts/servers). A 404 after a
// retried attempt may be a lost reply's success and is kept.
func slashNamesNothing(status, attempts int) bool {
	switch status {
	case 400, 403, 405, 409:
		return true
	case 404:
		return attempts == 1
	}
	return false
}

// multistatusFailure reports the first failed member of a 207 answer to
// DELETE, MOVE or COPY (RFC 4918 lists only the members that failed).
func (c *Client) multistatusFailure(op, method, rel string, resp *Response) error {
	entries, err := parseMultistatus(op, resp.Body, "/", c.cfg.maxXML)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.status >= 300 {
			name := rel
			if r, ok := c.relPath(e.path); ok {
				name = r
			}
			return c.statusError(op, method, name, &Response{Status: e.status, Header: resp.Header})
		}
	}
	return nil
}
