package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ControlPrefix is the path under which the proxy answers its own control
// API (see Handler) instead of forwarding.
const ControlPrefix = "/_faultproxy/"

// Proxy is a fault-injecting reverse proxy listening on 127.0.0.1.
type Proxy struct {
	target    *url.URL
	srv       *http.Server
	ln        net.Listener
	url       string
	transport *http.Transport

	mu       sync.Mutex
	rules    []*rule
	nextID   int
	rng      *rand.Rand
	stats    Stats
	fakes    int // counter for unique fake ETags
	received []Received
	logGen   int                   // bumped by Reset, so a request in flight does not log into the next run
	logZero  time.Time             // Start or the last Reset: LogEntry.AtMs counts from here
	recvBody int                   // body bytes held in received
	open     int                   // Endless streams running
	conns    map[net.Conn]struct{} // hijacked connections still in use
	closing  chan struct{}
	once     sync.Once
}

// Stats counts what clients sent through the proxy, faults included.
type Stats struct {
	Requests  int                     `json:"requests"`
	Forwarded int                     `json:"forwarded"` // requests the server received
	ByMethod  map[string]*MethodStats `json:"by_method"`
	Faults    map[Kind]int            `json:"faults"` // how often each fault fired
	// EndlessBytes counts the body bytes Endless faults wrote before their
	// clients went away (what the sockets accepted: at most a few MiB of
	// socket buffers more than the clients read).
	EndlessBytes int64 `json:"endless_bytes"`
	// EndlessOpen is the number of Endless streams still writing; it drops
	// when a stream's client has gone away and the proxy has noticed.
	EndlessOpen int `json:"endless_open"`
	// Log lists every request in arrival order (control requests excepted):
	// method, path, status, body bytes each way, duration. A request still
	// running shows status 0 and duration 0. At most LogMax entries;
	// LogDropped counts the rest.
	Log        []LogEntry `json:"log"`
	LogDropped int        `json:"log_dropped,omitempty"`
}

// MethodStats are the counts for one method. Bytes are message bodies:
// BytesUp what clients sent, BytesDown what they were sent.
type MethodStats struct {
	Requests  int   `json:"requests"`
	BytesUp   int64 `json:"bytes_up"`
	BytesDown int64 `json:"bytes_down"`
}

// New starts a proxy on a free port of 127.0.0.1 in front of target (a base
// URL such as "http://127.0.0.1:8080"; a path in it is prepended to every
// request path). Like httptest.NewServer it panics when it cannot listen;
// use Start to get an error instead.
func New(target string) *Proxy {
	p, err := Start(target, "127.0.0.1:0")
	if err != nil {
		panic("faultproxy: " + err.Error())
	}
	return p
}

// Start is New with a listen address and an error.
func Start(target, addr string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q is not an http(s) URL", target)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		target: u,
		ln:     ln,
		url:    "http://" + ln.Addr().String(),
		transport: &http.Transport{
			Proxy:               nil,
			DisableCompression:  true, // pass Accept-Encoding and bodies through untouched
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		},
		rng:     rand.New(rand.NewPCG(1, 2)),
		logZero: time.Now(),
		conns:   map[net.Conn]struct{}{},
		closing: make(chan struct{}),
	}
	p.stats = newStats()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func newStats() Stats {
	return Stats{ByMethod: map[string]*MethodStats{}, Faults: map[Kind]int{}}
}

// URL is the proxy's base URL ("http://127.0.0.1:port"), the stand-in for
// the target's scheme and host.
func (p *Proxy) URL() string { return p.url }

// Close stops listening, drops open connections (Endless streams included)
// and idle upstream ones.
func (p *Proxy) Close() {
	p.once.Do(func() { close(p.closing) })
	_ = p.srv.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.transport.CloseIdleConnections()
}

// track registers a hijacked connection so that Close ends it; it reports
// false when the proxy is closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closing:
		return false
	default:
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// Add installs a rule and returns its id for Remove. Rules are checked in
// the order they were added.
func (p *Proxy) Add(r Rule) (int, error) {
	if err := r.validate(); err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextID++
	p.rules = append(p.rules, &rule{Rule: r, id: p.nextID})
	return p.nextID, nil
}

// MustAdd is Add for tests: it panics on an invalid rule.
func (p *Proxy) MustAdd(r Rule) int {
	id, err := p.Add(r)
	if err != nil {
		panic("faultproxy: " + err.Error())
	}
	return id
}

// Remove deletes the rule with id; unknown ids are ignored.
func (p *Proxy) Remove(id int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.rules {
		if r.id == id {
			p.rules = append(p.rules[:i], p.rules[i+1:]...)
			return
		}
	}
}

// Clear deletes every rule: from now on the proxy forwards faithfully.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Seed restarts the random source that Rule.Prob draws from, so a schedule
// of probabilistic faults can be replayed.
func (p *Proxy) Seed(seed uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Requests: p.stats.Requests, Forwarded: p.stats.Forwarded, ByMethod: map[string]*MethodStats{}, Faults: map[Kind]int{},
		EndlessBytes: p.stats.EndlessBytes, EndlessOpen: p.open,
		Log: append([]LogEntry{}, p.stats.Log...), LogDropped: p.stats.LogDropped}
	for m, ms := range p.stats.ByMethod {
		c := *ms
		s.ByMethod[m] = &c
	}
	for k, n := range p.stats.Faults {
		s.Faults[k] = n
	}
	return s
}

// Method returns the counters of one method (zero when unseen).
func (s Stats) Method(m string) MethodStats {
	if ms := s.ByMethod[m]; ms != nil {
		return *ms
	}
	return MethodStats{}
}

// Reset zeroes the counters, empties the log and forgets the received
// requests (the rules stay).
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats = newStats()
	p.logGen++
	p.logZero = time.Now()
	p.received = nil
	p.recvBody = 0
}

// plan is what the rules decided for one request.
type plan struct {
	terminal *Rule // the first terminal fault, if any
	delay    time.Duration
	resetAft bool
	trickle  *Rule
	truncate *Rule
	etag     []*Rule // strip/fake/weak, applied in order
	rawETag  bool    // write the ETag header byte for byte
}

// decide counts the request and runs the rules.
func (p *Proxy) decide(method, path string, up int64) plan {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Requests++
	ms := p.stats.ByMethod[method]
	if ms == nil {
		ms = &MethodStats{}
		p.stats.ByMethod[method] = ms
	}
	ms.Requests++
	ms.BytesUp += up
	var pl plan
	for _, r := range p.rules {
		if !r.matches(method, path) || !r.eligible() {
			continue
		}
		if r.Prob > 0 && r.Prob < 1 && p.rng.Float64() >= r.Prob {
			continue
		}
		if r.Fault.terminal() && pl.terminal != nil {
			continue // an earlier terminal fault already answers
		}
		r.fired++
		p.stats.Faults[r.Fault]++
		rc := r.Rule
		switch r.Fault {
		case ResetBefore, Status, DropWrite, Redirect, Replace, Challenge, Endless, HugeMultistatus:
			pl.terminal = &rc
		case Delay:
			pl.delay += r.Delay
		case ResetAfter:
			pl.resetAft = true
		case Trickle:
			pl.trickle = &rc
		case Truncate:
			pl.truncate = &rc
		case StripETag, FakeETag, WeakETag:
			pl.etag = append(pl.etag, &rc)
			pl.rawETag = pl.rawETag || r.RawHeader
		}
	}
	return pl
}

func (p *Proxy) countDown(method string, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ms := p.stats.ByMethod[method]; ms != nil {
		ms.BytesDown += n
	}
}

// ServeHTTP is the proxy: it answers the control API under ControlPrefix
// and forwards everything else through the rules.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		p.control(w, r)
		return
	}
	start := time.Now()
	body, err := io.ReadAll(r.Body)
	p.receive(r, body)
	if err != nil {
		// The client went away mid-upload; there is nobody to answer.
		return
	}
	lw := &logWriter{ResponseWriter: w}
	w = lw
	li, gen := p.logBegin(r.Method, r.URL.Path, int64(len(body)), start)
	ended := false
	lw.end = func() {
		if !ended {
			ended = true
			p.logEnd(li, gen, lw, start)
		}
	}
	defer lw.end()
	pl := p.decide(r.Method, r.URL.Path, int64(len(body)))

	if pl.delay > 0 && !sleep(r.Context(), pl.delay) {
		return
	}
	if t := pl.terminal; t != nil {
		p.answer(w, r, t)
		return
	}

	resp, err := p.forward(r, body)
	if err != nil {
		if pl.resetAft {
			reset(w)
			return
		}
		http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
		p.countDown(r.Method, 0)
		return
	}
	if pl.resetAft {
		// The server has acted on the request; the client only sees a reset.
		reset(w)
		return
	}
	p.respond(w, r, resp, pl)
}

// answer writes a terminal fault's response.
func (p *Proxy) answer(w http.ResponseWriter, r *http.Request, t *Rule) {
	switch t.Fault {
	case ResetBefore:
		reset(w)
	case Status:
		if t.RetryAfter != "" {
			w.Header().Set("Retry-After", t.RetryAfter)
		}
		msg := fmt.Sprintf("faultproxy: injected %d %s\n", t.Status, http.StatusText(t.Status))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
		w.WriteHeader(t.Status)
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, msg)
			p.countDown(r.Method, int64(len(msg)))
		}
	case DropWrite:
		status := t.Status
		if status == 0 {
			status = http.StatusNoContent
		}
		if t.ETag != "" && t.RawHeader {
			p.writeByHand(w, r.Method, status, w.Header(), "ETag: "+t.ETag+"\r\n", nil)
			return
		}
		if t.ETag != "" {
			w.Header().Set("ETag", t.ETag)
		}
		w.WriteHeader(status)
	case Redirect:
		status := t.Status
		if status == 0 {
			status = http.StatusTemporaryRedirect
		}
		w.Header().Set("Location", strings.ReplaceAll(t.Location, "{path}", r.URL.RequestURI()))
		w.WriteHeader(status)
	case Replace:
		p.replace(w, r, t)
	case Challenge:
		msg := "faultproxy: injected 401 Unauthorized\n"
		w.Header().Set("WWW-Authenticate", t.Challenge)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
		w.WriteHeader(http.StatusUnauthorized)
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, msg)
			p.countDown(r.Method, int64(len(msg)))
		}
	case Endless:
		p.endless(w, r, t)
	case HugeMultistatus:
		p.hugeMultistatus(w, r, t)
	}
}

// forward sends the request to the target and reads the whole response.
func (p *Proxy) forward(r *http.Request, body []byte) (*upstream, error) {
	u := *p.target
	u.Path = strings.TrimSuffix(p.target.Path, "/") + r.URL.Path
	u.RawPath = ""
	if r.URL.RawPath != "" {
		u.RawPath = strings.TrimSuffix(p.target.EscapedPath(), "/") + r.URL.RawPath
	}
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out.ContentLength = int64(len(body))
	if len(body) == 0 && r.ContentLength <= 0 {
		out.Body = http.NoBody
	}
	for k, vs := range r.Header {
		if hopByHop(k) {
			continue
		}
		out.Header[k] = append([]string(nil), vs...)
	}
	// WebDAV names the target of MOVE and COPY with an absolute URL.
	if d := out.Header.Get("Destination"); d != "" {
		out.Header.Set("Destination", p.toTarget(d))
	}
	out.Host = p.target.Host
	p.mu.Lock()
	p.stats.Forwarded++
	p.mu.Unlock()
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &upstream{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

type upstream struct {
	status int
	header http.Header
	body   []byte
}

// toTarget rewrites a URL on the proxy into the same URL on the target.
func (p *Proxy) toTarget(s string) string {
	if rest, ok := strings.CutPrefix(s, p.url); ok {
		return strings.TrimSuffix(p.target.String(), "/") + rest
	}
	return s
}

// toProxy rewrites a URL on the target into the same URL on the proxy.
func (p *Proxy) toProxy(s string) string {
	base := p.target.Scheme + "://" + p.target.Host
	if rest, ok := strings.CutPrefix(s, base); ok {
		return p.url + rest
	}
	return s
}

// respond relays the server's answer with the response faults applied.
func (p *Proxy) respond(w http.ResponseWriter, r *http.Request, up *upstream, pl plan) {
	h := w.Header()
	for k, vs := range up.header {
		if hopByHop(k) || strings.EqualFold(k, "Content-Length") {
			continue
		}
		h[k] = vs
	}
	if loc := h.Get("Location"); loc != "" {
		h.Set("Location", p.toProxy(loc))
	}
	body := up.body
	if isXML(up) {
		base := []byte(p.target.Scheme + "://" + p.target.Host)
		body = bytes.ReplaceAll(body, base, []byte(p.url))
	}
	for _, e := range pl.etag {
		body = p.applyETag(h, body, e)
	}
	raw := ""
	if v, ok := h["Etag"]; ok && pl.rawETag && len(v) > 0 {
		raw = "ETag: " + v[0] + "\r\n"
		h.Del("ETag")
	}

	noBody := r.Method == http.MethodHead || up.status == http.StatusNoContent || up.status == http.StatusNotModified || up.status < 200
	if noBody {
		if cl := up.header.Get("Content-Length"); cl != "" && r.Method == http.MethodHead {
			h.Set("Content-Length", cl)
		}
		if raw != "" {
			p.writeByHand(w, r.Method, up.status, h, raw, nil)
			return
		}
		w.WriteHeader(up.status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if t := pl.truncate; t != nil {
		p.writeByHand(w, r.Method, up.status, h, raw, body[:min(max(t.TruncateAt, 0), len(body))])
		return
	}
	if raw != "" {
		p.writeByHand(w, r.Method, up.status, h, raw, body)
		return
	}
	w.WriteHeader(up.status)
	if t := pl.trickle; t != nil {
		step := max(t.TrickleBytes, 1)
		rc := http.NewResponseController(w)
		for i := 0; i < len(body); i += step {
			if i > 0 && !sleep(r.Context(), t.TrickleEvery) {
				return
			}
			n, err := w.Write(body[i:min(i+step, len(body))])
			p.countDown(r.Method, int64(n))
			if err != nil || rc.Flush() != nil {
				return
			}
		}
		return
	}
	n, _ := w.Write(body)
	p.countDown(r.Method, int64(n))
}

// writeByHand writes a response on the hijacked connection and closes it:
// the status line, h (as net/http would write it), the raw header lines
// (each ending in CRLF) byte for byte, "Connection: close", then body as it
// is, whatever Content-Length h declares (Truncate sends less).
func (p *Proxy) writeByHand(w http.ResponseWriter, method string, status int, h http.Header, raw string, body []byte) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	h.Del("Transfer-Encoding")
	h.Set("Connection", "close")
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	_ = h.Write(buf)
	_, _ = buf.WriteString(raw)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body)
	// Counted before the flush: once the answer is out the client may ask
	// for Stats, and must find it there.
	p.countDown(method, int64(len(body)))
	noteHijacked(w, status, int64(len(body)))
	endHijacked(w)
	_ = buf.Flush()
}

var getetagRE = regexp.MustCompile(`(?s)<([A-Za-z][\w.-]*:)?getetag(\s[^>]*)?(/>|>(.*?)</([A-Za-z][\w.-]*:)?getetag\s*>)`)

func (p *Proxy) applyETag(h http.Header, body []byte, e *Rule) []byte {
	switch e.Fault {
	case StripETag:
		h.Del("ETag")
		return getetagRE.ReplaceAll(body, nil)
	case FakeETag:
		val := e.ETag
		if val == "" {
			p.mu.Lock()
			p.fakes++
			val = fmt.Sprintf(`"faultproxy-%d"`, p.fakes)
			p.mu.Unlock()
		}
		if h.Get("ETag") != "" {
			h.Set("ETag", val)
		}
		return getetagRE.ReplaceAllFunc(body, func(m []byte) []byte {
			prefix := string(getetagRE.FindSubmatch(m)[1])
			return []byte("<" + prefix + "getetag>" + xmlEscape(val) + "</" + prefix + "getetag>")
		})
	case WeakETag:
		if v := h.Get("ETag"); v != "" && !strings.HasPrefix(v, "W/") {
			h.Set("ETag", "W/"+v)
		}
		return getetagRE.ReplaceAllFunc(body, func(m []byte) []byte {
			sub := getetagRE.FindSubmatch(m)
			val := strings.TrimSpace(string(sub[4]))
			if val == "" || strings.HasPrefix(val, "W/") {
				return m
			}
			return []byte("<" + string(sub[1]) + "getetag>W/" + val + "</" + string(sub[1]) + "getetag>")
		})
	}
	return body
}

// xmlEscape escapes s for XML character data. Control characters become
// character references (CR LF as "&#13;&#10;"), so that they reach the
// parser's output as they are instead of being normalized as line ends.
func xmlEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '&':
			b.WriteString("&amp;")
		case c < 0x20:
			fmt.Fprintf(&b, "&#%d;", c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func isXML(up *upstream) bool {
	return up.status == http.StatusMultiStatus || strings.Contains(up.header.Get("Content-Type"), "xml")
}

// reset closes the client's connection with a TCP RST (SO_LINGER 0), which
// clients see as "connection reset by peer", not as a clean close.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // closes the connection without a response
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	endHijacked(w) // before the client can see the reset and ask for Stats
	_ = conn.Close()
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func hopByHop(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}
