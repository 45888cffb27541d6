package webdav

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/msg"
)

// Client talks WebDAV to one folder on one server. It is safe for
// concurrent use.
type Client struct {
	base     *url.URL // path ends in "/", no user info
	insecure bool     // http:// to another machine (see Insecure)
	baseStr  string   // base.String()
	basePath string   // base path, unescaped, ends in "/"
	user     string
	pass     string
	t        Transport
	cfg      config

	mu   sync.Mutex
	auth authState
	// digestWorked: a request answered with Digest credentials was
	// accepted, so a later Basic-only challenge is a downgrade (see adopt).
	digestWorked bool
	traits       Traits // what is known about the server (WithTraits, learn)
	count        Count  // traffic since the last ResetCount
	progress     func(done, total int64)
}

// SetProgress makes every GET and PUT report its body's bytes to f (nil
// stops it): a long download or upload shows how far it got.
func (c *Client) SetProgress(f func(done, total int64)) {
	c.mu.Lock()
	c.progress = f
	c.mu.Unlock()
}

// Count is a client's traffic: requests sent and body bytes up and down.
type Count struct {
	Requests  int   `json:"requests"`
	BytesUp   int64 `json:"bytesUp"`
	BytesDown int64 `json:"bytesDown"`
}

// ResetCount returns the traffic since the last call and starts counting
// again.
func (c *Client) ResetCount() Count {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.count
	c.count = Count{}
	return n
}

// authState remembers the server's last challenge so that every later
// request carries credentials at once instead of paying a 401 round trip.
type authState struct {
	scheme string    // "", "basic" or "digest"
	ch     Challenge // the digest challenge in use
	nc     uint32    // how many times ch's nonce has been used
	// restored is true while ch came from WithAuthState and the server has
	// not challenged this client yet: a 401 to it means "old nonce", not
	// "wrong password", and earns one retry with the new challenge.
	restored bool
}

type config struct {
	timeout     time.Duration
	maxAttempts int
	baseDelay   time.Duration
	maxDelay    time.Duration
	maxWait     time.Duration
	sleep       func(ctx context.Context, d time.Duration) error
	now         func() time.Time
	random      func(b []byte)
	userAgent   string
	maxXML      int64
	maxGet      int64
	authState   *Challenge // from WithAuthState/WithAuthScheme
	// refuseBasic: Digest worked for these settings before (WithDigestOnly).
	refuseBasic bool
	traits      Traits // WithTraits
}

// Option changes a Client's defaults.
type Option func(*config)

// WithTimeout sets the time one HTTP exchange may take, body included
// (default 60 s).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithRetry sets how often a retryable request is tried in all (default 4)
// and the backoff: base doubles after each try up to max (defaults 500 ms
// and 8 s).
func WithRetry(attempts int, base, max time.Duration) Option {
	return func(c *config) {
		if attempts < 1 {
			attempts = 1
		}
		c.maxAttempts, c.baseDelay, c.maxDelay = attempts, base, max
	}
}

// WithMaxRetryWait caps the total time one call spends waiting between
// retries (default 30 s). A Retry-After beyond it ends the call with a
// rate_limited error that carries the Retry-After time, so the caller can
// schedule the next attempt instead of blocking.
func WithMaxRetryWait(d time.Duration) Option { return func(c *config) { c.maxWait = d } }

// WithSleep replaces the wait between retries (tests use it to not sleep).
// sleep must return ctx.Err() if ctx ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) { c.sleep = sleep }
}

// WithClock replaces time.Now (for Retry-After dates and clock offsets).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRandom replaces crypto/rand for digest cnonces and probe file names.
func WithRandom(fill func(b []byte)) Option { return func(c *config) { c.random = fill } }

// WithDigestOnly tells the client that Digest authentication has worked
// with these settings before: a server that now asks only for Basic (which
// sends the password itself) is refused as a downgrade, as a man in the
// middle would ask. The client learns the same by itself once a Digest
// request succeeds.
func WithDigestOnly() Option { return func(c *config) { c.refuseBasic = true } }

// WithUserAgent sets the User-Agent header (default "davsync").
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }

// WithMaxXML sets the largest multistatus body the client reads (default
// limits.Multistatus).
func WithMaxXML(n int64) Option { return func(c *config) { c.maxXML = n } }

// WithMaxDownload sets the largest file Get reads (default limits.Download).
func WithMaxDownload(n int64) Option { return func(c *config) { c.maxGet = n } }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// New returns a client for the folder at baseURL (http or https). Paths
// given to its methods are relative to that folder. Credentials in the URL
// (https://user:pass@host/) are used when username is empty and are never
// kept in the URL.
func New(baseURL, username, password string, t Transport, opts ...Option) (*Client, error) {
	const op = "webdav setup"
	if t == nil {
		return nil, errkind.Internal(errkind.Invalid, op, "no transport given", nil)
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errkind.Say(errkind.Invalid, op, msg.New("errURLInvalid"))
	}
	if u.User != nil {
		if username == "" {
			username = u.User.Username()
			password, _ = u.User.Password()
		}
		u.User = nil
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	c := &Client{
		base: u, user: username, pass: password, t: t,
		cfg: config{
			timeout:     60 * time.Second,
			maxAttempts: 4,
			baseDelay:   500 * time.Millisecond,
			maxDelay:    8 * time.Second,
			maxWait:     30 * time.Second,
			sleep:       sleepCtx,
			now:         time.Now,
			random:      func(b []byte) { _, _ = rand.Read(b) },
			userAgent:   "davsync",
			maxXML:      limits.Multistatus,
			maxGet:      limits.Download,
		},
	}
	for _, o := range opts {
		o(&c.cfg)
	}
	if c.cfg.authState != nil && (username != "" || password != "") {
		c.auth = authState{scheme: c.cfg.authState.Scheme, ch: *c.cfg.authState, restored: true}
	}
	c.baseStr = u.String()
	c.insecure = Insecure(c.baseStr)
	c.traits = c.cfg.traits
	c.traits.Login = nil // kept in auth, reported by Traits
	c.basePath, _ = hrefPath(u.EscapedPath(), "/")
	if !strings.HasSuffix(c.basePath, "/") {
		c.basePath += "/"
	}
	return c, nil
}

// BaseURL returns the folder URL the client works in (without credentials).
func (c *Client) BaseURL() string { return c.baseStr }

// urlFor builds the escaped absolute URL of a clean relative path; dir adds
// the trailing slash collections want (nginx refuses MKCOL without it).
func (c *Client) urlFor(rel string, dir bool) string {
	s := c.baseStr + escapePath(rel)
	if dir && rel != "" {
		s += "/"
	}
	return s
}

// RequestTarget is the path?query part of an absolute URL, as it goes on
// the request line and into a Digest response (which a test server checks
// the same way).
func RequestTarget(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			u = rest[j:]
		} else {
			u = "/"
		}
	}
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	return u
}

func (c *Client) randomHex(n int) string {
	b := make([]byte, n)
	c.cfg.random(b)
	return hex.EncodeToString(b)
}

// sentAuth describes the credentials one request carried, so that a 401 is
// judged against what was sent, not against a state another concurrent
// request may have updated since.
type sentAuth struct {
	scheme   string // "" when the request carried no credentials
	nonce    string // the Digest nonce used
	restored bool   // built from a state given with WithAuthState
}

// Insecure reports whether the URL would carry passwords and data across a
// network unencrypted: http:// to anything but this machine. (Loopback
// never leaves the device, so local servers and tests are not insecure.)
func Insecure(rawURL string) bool {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	return !loopback(u.Hostname())
}

func loopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "::1" {
		return true
	}
	return strings.HasPrefix(h, "127.") && net4(h)
}

// net4 reports whether h is a dotted IPv4 address.
func net4(h string) bool {
	parts := strings.Split(h, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 || p == "" {
			return false
		}
	}
	return true
}

// authorization returns the Authorization value for a request, or "" before
// the server has asked for credentials (and no state was given).
// challenged says this request is the answer to a 401: over an insecure
// connection Basic credentials (the password itself) go only there, never
// up front, so they reach no one who did not ask for them.
func (c *Client) authorization(method, u string, challenged bool) (string, sentAuth) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent := sentAuth{scheme: c.auth.scheme, restored: c.auth.restored}
	switch c.auth.scheme {
	case "basic":
		if c.insecure && !challenged {
			return "", sentAuth{}
		}
		return basicAuth(c.user, c.pass), sent
	case "digest":
		c.auth.nc++
		sent.nonce = c.auth.ch.Params["nonce"]
		return digestAuth(c.auth.ch, c.user, c.pass, method, RequestTarget(u), c.randomHex(16), c.auth.nc), sent
	}
	return "", sentAuth{}
}

// adopt takes the challenges of a 401 and reports whether retrying with new
// credentials can help. It does not loop on a wrong password: with Basic, or
// with a Digest nonce we already used and the server did not call stale, a
// second 401 is final. A 401 to Digest credentials built from a restored
// state (restored) always earns one retry with the new challenge: the
// stored nonce may simply have expired, which says nothing about the
// password.
func (c *Client) adopt(chs []Challenge, sent sentAuth) bool {
	if c.downgrade(chs) {
		return false
	}
	ch, ok := pickChallenge(chs)
	if !ok {
		if len(chs) > 0 || sent.scheme != "" || (c.user == "" && c.pass == "") {
			return false
		}
		// A 401 without any challenge breaks RFC 9110, but some proxies
		// strip the header; Basic is what such setups expect.
		ch = Challenge{Scheme: "basic", Params: map[string]string{}}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sent.scheme != "" && ch.Scheme == sent.scheme && !(sent.restored && ch.Scheme == "digest") {
		if ch.Scheme == "basic" {
			return false
		}
		stale := strings.EqualFold(ch.Params["stale"], "true")
		if !stale && ch.Params["nonce"] == sent.nonce {
			return false
		}
	}
	if ch.Scheme == c.auth.scheme && ch.Scheme == "digest" && ch.Params["nonce"] == c.auth.ch.Params["nonce"] && !c.auth.restored {
		// A concurrent request already adopted this challenge: keep its
		// nonce count running instead of restarting at 1.
		return true
	}
	c.auth = authState{scheme: ch.Scheme, ch: ch}
	return true
}

// downgrade reports whether a 401's challenges would move the client from
// Digest, which has worked here, to Basic: the password in the clear (only
// base64), which is what a man in the middle asks for.
func (c *Client) downgrade(chs []Challenge) bool {
	c.mu.Lock()
	digest := c.digestWorked || c.cfg.refuseBasic
	c.mu.Unlock()
	if !digest {
		return false
	}
	ch, ok := pickChallenge(chs)
	return !ok || ch.Scheme != "digest"
}

// DigestWorked reports whether a request with Digest credentials was
// accepted, so the caller can remember it (WithDigestOnly) for later
// clients of the same settings.
func (c *Client) DigestWorked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.digestWorked
}

// send performs one logical request: it answers an authentication challenge
// and follows the one redirect that is not a configuration problem (a
// collection URL without its trailing slash). It returns every HTTP answer
// as a Response and classifies transport failures as *errkind.Error.
func (c *Client) send(ctx context.Context, op, method, u string, hdr map[string]string, body []byte) (*Response, error) {
	authTries, slashRedirects := 0, 0
	for {
		h := make(map[string]string, len(hdr)+2)
		for k, v := range hdr {
			h[k] = v
		}
		if c.cfg.userAgent != "" {
			h["User-Agent"] = c.cfg.userAgent
		}
		authz, sent := c.authorization(method, u, authTries > 0)
		if authz != "" {
			h["Authorization"] = authz
		}
		maxBody := c.maxBody(method)
		c.mu.Lock()
		c.count.Requests++
		c.count.BytesUp += int64(len(body))
		progress := c.progress
		c.mu.Unlock()
		if method != "GET" && method != "PUT" {
			progress = nil
		}
		resp, err := c.t.RoundTrip(ctx, &Request{Method: method, URL: u, Header: h, Body: body, Timeout: c.cfg.timeout, MaxBody: maxBody, Progress: progress})
		if err != nil {
			return nil, c.transportError(ctx, op, err)
		}
		if resp == nil {
			return nil, errkind.Say(errkind.Network, op, msg.New("errNoAnswer"))
		}
		c.mu.Lock()
		c.count.BytesDown += int64(len(resp.Body))
		c.mu.Unlock()
		if int64(len(resp.Body)) > maxBody {
			// A transport that ignored MaxBody: still refuse what no
			// davsync answer can be.
			return nil, tooLarge(op, method, maxBody)
		}
		lowerHeaders(resp)
		if n, ok := declaredLength(resp); ok && method != "HEAD" && resp.Status != 204 && resp.Status != 304 && n != int64(len(resp.Body)) {
			// A transport that does not check Content-Length itself (or a
			// proxy that cut the body) must not hand a truncated file to
			// the sync cycle; as a network error it is retried.
			return nil, errkind.Say(errkind.Network, op, msg.New("errCutShort", itoa(len(resp.Body)), formatInt(n)))
		}
		if resp.Status == 401 {
			chs := ParseWWWAuthenticate(resp.Header["www-authenticate"])
			if c.downgrade(chs) {
				return nil, errkind.Say(errkind.Auth, op, msg.New("errAuthDowngrade"))
			}
			if authTries < 2 && c.adopt(chs, sent) {
				authTries++
				continue
			}
		} else if sent.scheme == "digest" {
			c.mu.Lock()
			c.digestWorked = true
			c.mu.Unlock()
		}
		if isRedirect(resp.Status) && slashRedirects == 0 && !strings.HasSuffix(u, "/") {
			// Apache answers a collection URL without its slash with a
			// redirect to the same path plus "/", naming its ServerName as
			// the host (often not the address the user typed). Follow it on
			// our own host; anything else is a configuration problem the
			// user must see.
			if loc := resolveRef(u, resp.Header["location"]); loc != "" && RequestTarget(loc) == RequestTarget(u)+"/" {
				u += "/"
				slashRedirects++
				continue
			}
		}
		return resp, nil
	}
}

// declaredLength is the Content-Length of an answer whose body arrived as
// sent (no content coding the transport may have undone).
func declaredLength(r *Response) (int64, bool) {
	cl := strings.TrimSpace(r.Header["content-length"])
	if cl == "" || r.Header["content-encoding"] != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(cl, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// maxBody is the most answer bytes a request of method may bring: the
// whole sync file for GET, a folder listing for PROPFIND, and for anything
// else (PUT, MKCOL, MOVE, COPY, DELETE, HEAD) an error page at most.
func (c *Client) maxBody(method string) int64 {
	switch method {
	case "GET":
		return c.cfg.maxGet
	case "PROPFIND":
		return c.cfg.maxXML
	}
	return limits.Reply
}

// tooLarge is the error for an answer to method above its limit max.
func tooLarge(op, method string, max int64) *errkind.Error {
	switch method {
	case "PROPFIND":
		return errkind.Say(errkind.TooLarge, op, msg.New("errListingTooLarge", formatSize(max)))
	case "GET":
		return errkind.Say(errkind.TooLarge, op, msg.New("errFileTooLarge", formatSize(max)))
	}
	return errkind.Say(errkind.TooLarge, op, msg.New("errAnswerTooLarge", method, formatSize(max)))
}

// formatSize writes n bytes as "64 MiB", "1.5 MiB" or "900 KiB".
func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}

func isRedirect(s int) bool { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308 }

// resolveRef resolves a Location header against the request URL.
func resolveRef(base, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

func lowerHeaders(r *Response) {
	for k, v := range r.Header {
		if lk := strings.ToLower(k); lk != k {
			delete(r.Header, k)
			if old, ok := r.Header[lk]; ok && old != "" {
				v = old + ", " + v
			}
			r.Header[lk] = v
		}
	}
	if r.Header == nil {
		r.Header = map[string]string{}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

// transportError classifies a failure that produced no HTTP answer.
func (c *Client) transportError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errkind.SayWrap(errkind.Timeout, op, msg.New("errTookTooLong"), err)
		}
		return errkind.SayWrap(errkind.Canceled, op, msg.New("errCanceled"), err)
	}
	cause := errkind.Message(err)
	switch {
	case errkind.Of(err) == errkind.Timeout || errors.Is(err, context.DeadlineExceeded):
		return errkind.SayWrap(errkind.Timeout, op, msg.New("errNoAnswerInTime"), err)
	case errkind.Of(err) == errkind.Canceled || errors.Is(err, context.Canceled):
		return errkind.SayWrap(errkind.Canceled, op, msg.New("errCanceled"), err)
	case errkind.Of(err) == errkind.Network:
		// The transport already said what to check (fetch hides the cause).
		return errkind.SayWrap(errkind.Network, op, msg.New("errUnreachable", c.base.Host), err)
	case errkind.Of(err) != errkind.Unknown:
		// The transport already knew better (e.g. too_large).
		return errkind.Wrap(errkind.Of(err), op, cause, err)
	}
	return errkind.SayWrap(errkind.Network, op, msg.New("errUnreachableCheck", c.base.Host), err)
}

// retryableStatus lists answers after which the same request may succeed.
// 423 is among them: davsync never takes a WebDAV lock, so a locked answer
// is always another client's, and servers lock for an instant while they
// store an upload (rclone answers a second device's concurrent PUT so).
// Only a lock that outlasts the retries is the user's to look into.
func retryableStatus(s int) bool {
	return s == 408 || s == 423 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504
}

// refusedUnread says the server refused a request without acting on it,
// so that sending it again as it is cannot write twice: 429 (slow down)
// and 423 (locked by another client).
func refusedUnread(s int) bool { return s == 423 || s == 429 }

// do sends an idempotent request, retrying network failures and retryable
// statuses with capped exponential backoff, honouring Retry-After. It
// returns the last answer (whatever its status) or the last transport
// error. Only methods whose repetition cannot change the outcome go through
// do; PUT has its own loop (see Put).
func (c *Client) do(ctx context.Context, op, method, u string, hdr map[string]string, body []byte) (*Response, int, error) {
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, op, method, u, hdr, body)
		if !c.shouldRetry(resp, err) || attempt >= c.cfg.maxAttempts {
			return resp, attempt, err
		}
		d, ok := c.backoff(attempt, resp, waited)
		if !ok {
			return resp, attempt, err
		}
		if serr := c.cfg.sleep(ctx, d); serr != nil {
			return nil, attempt, c.transportError(ctx, op, serr)
		}
		waited += d
	}
}

func (c *Client) shouldRetry(resp *Response, err error) bool {
	if err != nil {
		k := errkind.Of(err)
		return k == errkind.Network || k == errkind.Timeout
	}
	return retryableStatus(resp.Status)
}

// backoff returns how long to wait before the next attempt: base·2^(n-1)
// capped at maxDelay, or the server's Retry-After if later. ok is false when
// that would exceed the call's total wait budget.
func (c *Client) backoff(attempt int, resp *Response, waited time.Duration) (time.Duration, bool) {
	d := c.cfg.baseDelay
	for i := 1; i < attempt && d < c.cfg.maxDelay; i++ {
		d *= 2
	}
	if d > c.cfg.maxDelay {
		d = c.cfg.maxDelay
	}
	if resp != nil {
		now := c.cfg.now()
		if t, ok := retryAfterOf(resp, now); ok {
			if ra := t.Sub(now); ra > d {
				d = ra
			}
		}
	}
	if waited+d > c.cfg.maxWait {
		return 0, false
	}
	return d, true
}
