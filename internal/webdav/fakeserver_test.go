package webdav

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
)

// Test credentials. The password is distinctive so that scanning error
// strings for it (and for the Basic credentials built from it) is reliable.
const (
	testUser = "jürgen"
	testPass = "Pässw0rd-SECRET-xyzzy"
)

// secrets are strings that must never appear in an error.
var secrets = []string{
	testPass,
	base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass)),
	"Authorization",
}

// wantKind fails unless err has kind k, and fails whenever err's text holds
// a secret. Every error a test sees goes through it or noSecret.
func wantKind(t *testing.T, err error, k errkind.Kind) {
	t.Helper()
	noSecret(t, err)
	if got := errkind.Of(err); got != k {
		t.Fatalf("kind = %q, want %q (err: %v)", got, k, err)
	}
	if k != "" {
		var e *errkind.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not an *errkind.Error: %v", err, err)
		}
	}
}

func noSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), errkind.Message(err)} {
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Fatalf("error leaks a secret %q: %s", sec, s)
			}
		}
	}
}

// fakeServer is an in-memory WebDAV server behind the Transport interface,
// with switches for the deviations of the real servers in
// webdav-servers.md. It is deliberately simple: one namespace, files and
// folders by unescaped absolute path.
type fakeServer struct {
	mu     sync.Mutex
	prefix string // e.g. "/dav"
	files  map[string][]byte
	dirs   map[string]bool
	etags  map[string]string
	n      int

	auth        string // "", "basic", "digest", "digest-sha256"
	nonce       string
	nonceUses   int  // successful uses of the current nonce
	rotateEvery int  // replace the nonce after this many uses (0 = never)
	staleNext   bool // the next 401 says stale=true

	ignorePreconditions  bool // nginx, rclone, x/net, npm
	noIfHeader           bool // nginx, x/net: the WebDAV If header is ignored
	noPropfindETag       bool // nginx
	noPutETag            bool // Apache, nginx, npm
	noGetETag            bool // npm
	noConditionalGet     bool // npm: GET If-None-Match answers 200
	absoluteHrefs        bool // npm
	lowerHex             bool // Apache, sabre
	mkcolExistingCreated bool // rclone
	putParentMissing     int  // status for PUT into a missing folder (409 default)
	namespacePrefix      string
	selfLast             bool // list the collection itself last
	noSlashOnDirs        bool
	dirNeedsSlash        bool // nginx: DELETE of a folder without "/" (or a file with one) is 409
	serverHeader         string
	date                 time.Time

	// hook runs before the server handles a request; if it returns
	// handled=true its answer is used instead.
	hook func(req *Request) (resp *Response, err error, handled bool)
	// after runs after the server handled a request and may replace the
	// answer (e.g. to lose the reply of a PUT that did land).
	after func(req *Request, resp *Response) (*Response, error)

	log []Request
}

func newFakeServer() *fakeServer {
	return &fakeServer{
		prefix: "/dav",
		files:  map[string][]byte{},
		dirs:   map[string]bool{"/dav": true},
		etags:  map[string]string{},
		auth:   "basic",
		nonce:  "nonce-1",
		date:   time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC),
	}
}

const fakeBase = "https://dav.test/dav/"

func (s *fakeServer) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{
		WithSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() }),
		WithClock(func() time.Time { return s.date }),
	}, opts...)
	c, err := New(fakeBase, testUser, testPass, s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *fakeServer) methods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m []string
	for _, r := range s.log {
		m = append(m, r.Method)
	}
	return m
}

func (s *fakeServer) RoundTrip(ctx context.Context, req *Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.log = append(s.log, *req)
	hook, after := s.hook, s.after
	s.mu.Unlock()
	if hook != nil {
		if resp, err, ok := hook(req); ok {
			return resp, err
		}
	}
	resp := s.handle(req)
	if after != nil {
		return after(req, resp)
	}
	return resp, nil
}

func hdr(req *Request, name string) string {
	for k, v := range req.Header {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func (s *fakeServer) reply(status int, body string, h ...string) *Response {
	r := &Response{Status: status, Header: map[string]string{"date": s.date.Format(time.RFC1123)}, Body: []byte(body)}
	if s.serverHeader != "" {
		r.Header["server"] = s.serverHeader
	}
	for i := 0; i+1 < len(h); i += 2 {
		r.Header[h[i]] = h[i+1]
	}
	return r
}

func (s *fakeServer) checkAuth(req *Request) bool {
	a := hdr(req, "Authorization")
	switch s.auth {
	case "":
		return true
	case "basic":
		return a == basicAuth(testUser, testPass)
	case "digest", "digest-sha256":
		if !strings.HasPrefix(a, "Digest ") {
			return false
		}
		chs := ParseWWWAuthenticate(a)
		if len(chs) != 1 {
			return false
		}
		p := chs[0].Params
		if p["nonce"] != s.nonce {
			return false
		}
		alg := "MD5"
		if s.auth == "digest-sha256" {
			alg = "SHA-256"
		}
		if !strings.EqualFold(p["algorithm"], alg) {
			return false
		}
		if p["uri"] != requestTarget(req.URL) {
			return false
		}
		ha1 := hexHash(alg, testUser, "fake", testPass)
		ha2 := hexHash(alg, req.Method, p["uri"])
		want := hexHash(alg, ha1, p["nonce"], p["nc"], p["cnonce"], "auth", ha2)
		user := p["username"]
		if u, ok := p["username*"]; ok {
			user, _ = url.PathUnescape(strings.TrimPrefix(u, "UTF-8''"))
		}
		if user != testUser || p["response"] != want {
			return false
		}
		s.nonceUses++
		s.staleNext = false
		return true
	}
	return false
}

func (s *fakeServer) challenge(stale bool) string {
	switch s.auth {
	case "digest":
		c := `Digest realm="fake", qop="auth", nonce="` + s.nonce + `", opaque="op", algorithm=MD5`
		if stale {
			c += ", stale=true"
		}
		return c
	case "digest-sha256":
		c := `Digest realm="fake", qop="auth,auth-int", nonce="` + s.nonce + `", algorithm=SHA-256, Digest realm="fake", qop="auth", nonce="` + s.nonce + `", algorithm=MD5`
		if stale {
			c += ", stale=true"
		}
		return c
	}
	return `Basic realm="fake", charset="UTF-8"`
}

func (s *fakeServer) newETag(p string, body []byte) string {
	s.n++
	sum := sha256.Sum256(body)
	e := "fk" + hex.EncodeToString(sum[:4]) + "-" + itoa(s.n) // not nginx's second-based form
	s.etags[p] = e
	return e
}

// precondition evaluates If-Match / If-None-Match against p.
func (s *fakeServer) precondition(req *Request, p string) bool {
	if s.ignorePreconditions {
		return true
	}
	_, exists := s.files[p]
	cur := s.etags[p]
	if im := hdr(req, "If-Match"); im != "" {
		if !exists || (im != "*" && NormalizeETag(im) != cur) {
			return false
		}
	}
	if hdr(req, "If-None-Match") == "*" && (exists || s.dirs[p]) {
		return false
	}
	// The WebDAV If header with one entity tag: `(["etag"])`.
	if ih := hdr(req, "If"); ih != "" && !s.noIfHeader {
		tag := strings.TrimSuffix(strings.TrimPrefix(ih, "(["), "])")
		if !exists || NormalizeETag(tag) != cur {
			return false
		}
	}
	return true
}

func (s *fakeServer) handle(req *Request) *Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.checkAuth(req) {
		return s.reply(401, "", "www-authenticate", s.challenge(s.staleNext))
	}
	if s.rotateEvery > 0 && s.nonceUses >= s.rotateEvery {
		// The next request will carry an expired nonce.
		s.nonce = "nonce-" + itoa(len(s.log))
		s.nonceUses = 0
		s.staleNext = true
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		return s.reply(400, "bad url")
	}
	p := strings.TrimSuffix(u.Path, "/")
	if p == "" {
		p = "/"
	}
	parent := path.Dir(p)
	switch req.Method {
	case "OPTIONS":
		return s.reply(200, "", "dav", "1, 2", "allow", "OPTIONS, GET, PUT, PROPFIND")
	case "PROPFIND":
		return s.propfind(req, p)
	case "GET", "HEAD":
		b, ok := s.files[p]
		if !ok {
			if s.dirs[p] {
				return s.reply(200, "<html>folder</html>")
			}
			return s.reply(404, "not found")
		}
		e := s.etags[p]
		if inm := hdr(req, "If-None-Match"); inm != "" && NormalizeETag(inm) == e && !s.noConditionalGet {
			return s.reply(304, "", "etag", `"`+e+`"`)
		}
		r := s.reply(200, string(b), "content-length", itoa(len(b)), "content-type", "application/octet-stream")
		if !s.noGetETag {
			r.Header["etag"] = `"` + e + `"`
		}
		if req.Method == "HEAD" {
			r.Body = nil
		}
		return r
	case "PUT":
		if !s.dirs[parent] {
			st := s.putParentMissing
			if st == 0 {
				st = 409
			}
			return s.reply(st, "parent missing")
		}
		if s.dirs[p] {
			return s.reply(405, "is a folder")
		}
		if !s.precondition(req, p) {
			return s.reply(412, "precondition failed")
		}
		_, existed := s.files[p]
		s.files[p] = append([]byte(nil), req.Body...)
		e := s.newETag(p, req.Body)
		st := 201
		if existed {
			st = 204
		}
		r := s.reply(st, "")
		if !s.noPutETag {
			r.Header["etag"] = `"` + e + `"`
		}
		return r
	case "MKCOL":
		if s.dirs[p] {
			if s.mkcolExistingCreated {
				return s.reply(201, "")
			}
			return s.reply(405, "exists")
		}
		if _, ok := s.files[p]; ok {
			return s.reply(405, "a file")
		}
		if !s.dirs[parent] {
			return s.reply(409, "parent missing")
		}
		s.dirs[p] = true
		return s.reply(201, "")
	case "DELETE":
		if _, ok := s.files[p]; !ok && !s.dirs[p] {
			return s.reply(404, "")
		}
		if s.dirNeedsSlash && s.dirs[p] != strings.HasSuffix(u.Path, "/") {
			return s.reply(409, "")
		}
		if !s.precondition(req, p) {
			return s.reply(412, "")
		}
		for k := range s.files {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(s.files, k)
				delete(s.etags, k)
			}
		}
		for k := range s.dirs {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(s.dirs, k)
			}
		}
		return s.reply(204, "")
	case "MOVE", "COPY":
		dst := hdr(req, "Destination")
		du, err := url.Parse(dst)
		if err != nil || du.Scheme == "" {
			return s.reply(400, "Destination must be an absolute URL")
		}
		dp := strings.TrimSuffix(du.Path, "/")
		b, ok := s.files[p]
		if !ok {
			return s.reply(404, "")
		}
		if !s.dirs[path.Dir(dp)] {
			return s.reply(409, "")
		}
		_, exists := s.files[dp]
		if exists && hdr(req, "Overwrite") == "F" {
			return s.reply(412, "")
		}
		s.files[dp] = b
		s.etags[dp] = s.etags[p]
		if req.Method == "MOVE" {
			delete(s.files, p)
			delete(s.etags, p)
		} else {
			s.newETag(dp, b)
		}
		if exists {
			return s.reply(204, "")
		}
		return s.reply(201, "")
	}
	return s.reply(405, "")
}

func (s *fakeServer) escapeHref(p string) string {
	parts := strings.Split(p, "/")
	for i, x := range parts {
		parts[i] = escapeSegment(x)
		if s.lowerHex {
			parts[i] = lowerPercent(parts[i])
		}
	}
	h := strings.Join(parts, "/")
	if s.absoluteHrefs {
		h = "https://dav.test" + h
	}
	return h
}

func lowerPercent(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = strings.ToLower(string(b[i+1]))[0]
			b[i+2] = strings.ToLower(string(b[i+2]))[0]
		}
	}
	return string(b)
}

func (s *fakeServer) propfind(req *Request, p string) *Response {
	depth := hdr(req, "Depth")
	if depth != "0" && depth != "1" {
		return s.reply(403, "depth infinity refused")
	}
	_, isFile := s.files[p]
	if !isFile && !s.dirs[p] {
		return s.reply(404, "")
	}
	names := []string{p}
	if depth == "1" && s.dirs[p] {
		var kids []string
		for k := range s.files {
			if path.Dir(k) == p {
				kids = append(kids, k)
			}
		}
		for k := range s.dirs {
			if k != p && path.Dir(k) == p {
				kids = append(kids, k)
			}
		}
		sort.Strings(kids)
		if s.selfLast {
			names = append(kids, p)
		} else {
			names = append(names, kids...)
		}
	}
	px := s.namespacePrefix
	if px == "" {
		px = "D:"
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><` + px + `multistatus xmlns:` + strings.TrimSuffix(px, ":") + `="DAV:">`)
	for _, n := range names {
		href := s.escapeHref(n)
		if s.dirs[n] && !s.noSlashOnDirs {
			href += "/"
		}
		b.WriteString("<" + px + "response><" + px + "href>" + href + "</" + px + "href><" + px + "propstat><" + px + "prop>")
		if s.dirs[n] {
			b.WriteString("<" + px + "resourcetype><" + px + "collection/></" + px + "resourcetype>")
		} else {
			b.WriteString("<" + px + "resourcetype/>")
			b.WriteString("<" + px + "getcontentlength>" + itoa(len(s.files[n])) + "</" + px + "getcontentlength>")
			if !s.noPropfindETag {
				b.WriteString("<" + px + "getetag>\"" + s.etags[n] + "\"</" + px + "getetag>")
			}
		}
		b.WriteString("<" + px + "getlastmodified>" + s.date.Format(time.RFC1123) + "</" + px + "getlastmodified>")
		b.WriteString("</" + px + "prop><" + px + "status>HTTP/1.1 200 OK</" + px + "status></" + px + "propstat>")
		if s.noPropfindETag || s.dirs[n] {
			b.WriteString("<" + px + "propstat><" + px + "prop><" + px + "getetag/></" + px + "prop><" + px + "status>HTTP/1.1 404 Not Found</" + px + "status></" + px + "propstat>")
		}
		b.WriteString("</" + px + "response>")
	}
	b.WriteString("</" + px + "multistatus>")
	return s.reply(207, b.String(), "content-type", "application/xml; charset=utf-8")
}
