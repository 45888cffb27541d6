// Package davtest is davsync's one fake WebDAV server: an in-memory server
// behind the webdav.Transport interface. A webdav.Traits value makes it keep
// or break the promises the client learns about (preconditions, the If
// header, ETags on PUT, GET and PROPFIND, conditional GET, COPY, ETags built
// from seconds and size); a few more fields give it the habits of real
// servers that are no trait (Basic or Digest login with expiring nonces, the
// shape of PROPFIND answers, the status of a PUT into a missing folder, a
// Server header); Faults, Hook and After change the answer to any request,
// and the request log shows what the client sent. It has no sockets, so the
// tests run natively and under GOOS=js alike, thousands of cycles a second.
package davtest

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

// Fault is what the server does to one request instead of (or besides)
// answering it normally.
type Fault struct {
	// ResetBefore drops the connection before the request is processed.
	ResetBefore bool
	// ResetAfter processes the request, then drops the connection (not
	// with Status, which answers instead).
	ResetAfter bool
	// Status answers with this status without processing (5xx, 429, 507, 423...).
	Status int
	// RetryAfter is sent with Status (seconds).
	RetryAfter int
	// DropWrite answers a PUT with 201 without storing anything.
	DropWrite bool
	// Truncate cuts the response body in half.
	Truncate bool
	// StripETag removes the ETag header of the answer.
	StripETag bool
	// FakeETag replaces the ETag header of the answer with a made-up one.
	FakeETag bool
	// StoreEmpty stores zero bytes on a PUT while answering 201.
	StoreEmpty bool
}

// Stats count requests and bytes per method.
type Stats struct {
	Requests map[string]int
	Up, Down map[string]int64
}

// Total returns the request count over all methods.
func (s Stats) Total() int {
	n := 0
	for _, v := range s.Requests {
		n += v
	}
	return n
}

// Auth is the login a Server asks for when its User is set.
type Auth int

// The logins. Digest is RFC 7616 with qop "auth"; its nonces are "nonce-1",
// "nonce-2", ... so that a test can tell which one a client used.
const (
	// AuthBasic is Basic login (RFC 7617) with charset UTF-8.
	AuthBasic Auth = iota
	// AuthDigest is Digest login with MD5.
	AuthDigest
	// AuthDigestSHA256 offers Digest with SHA-256 (qop auth or auth-int)
	// before Digest with MD5, and takes only SHA-256: a client that does
	// not pick the strongest challenge fails.
	AuthDigestSHA256
)

// PropfindStyle is the shape of PROPFIND answers, in the ways real servers
// differ and the client must cope with. The zero value writes paths with
// upper-case escapes, the "D" prefix for DAV:, the folder itself first and
// a trailing slash on every folder.
type PropfindStyle struct {
	// Absolute writes each href as a full URL, scheme and host included
	// (npm webdav-server).
	Absolute bool
	// LowerHex writes percent escapes in lower case (Apache, sabre/dav).
	LowerHex bool
	// Namespace is the XML prefix bound to DAV: ("D" when empty; sabre/dav
	// writes "d", and a parser that matched the prefix instead of the
	// namespace would miss every element).
	Namespace string
	// SelfLast lists the folder itself after its children (lighttpd).
	SelfLast bool
	// NoDirSlash writes folder hrefs without the trailing slash (rclone,
	// x/net), so only resourcetype says what is a folder.
	NoDirSlash bool
}

type file struct {
	body  []byte
	etag  string
	mtime time.Time
}

// origin is the scheme and host of every Server; the host is never looked
// at, so a client may use any (a redirect to another name still arrives).
const origin = "https://dav.test"

// Server is the in-memory WebDAV server. It is safe for concurrent use; its
// fields are set before the first request (or between requests of one
// goroutine).
type Server struct {
	// Prefix is the URL path the server answers under, e.g. "/dav/".
	Prefix string
	// Traits is how the server behaves, in the terms the client learns it
	// (webdav.Traits): the zero value keeps every promise of RFC 4918 and
	// RFC 7232; a No is the deviation of a real server. IfMatch No: If-Match
	// is not checked on PUT and DELETE; IfNoneMatch No: nor is
	// If-None-Match: * (nginx, rclone, x/net, npm); IfHeader No: nor is the
	// WebDAV If header (nginx, x/net). PutETag No: PUT answers carry no
	// ETag (Apache, nginx, npm). GetETag No: GET answers carry none, and
	// ConditionalGet No: If-None-Match on a GET is not checked (npm: both).
	// PropfindETag No: PROPFIND reports no getetag (nginx). Copy No: COPY
	// is refused with 501. SecondETags: ETags are the mtime in whole
	// seconds plus the size (nginx), so a same-size rewrite within a second
	// keeps the ETag.
	Traits webdav.Traits
	// Now is the server clock (default time.Now): the Date header and file
	// times. A fixed Now gives a fixed Date, which the client's clock check
	// compares with its own.
	Now func() time.Time
	// Faults, when set, is asked about every request; nil = no fault.
	Faults func(req *webdav.Request) Fault
	// User and Password, when set, are required, in the login Auth names.
	User, Password string
	// Auth is the login asked for when User is set (default AuthBasic).
	Auth Auth
	// NonceUses, with Digest, makes the server replace its nonce once it
	// accepted it this many times, and say stale=true in the next
	// challenge (0: a nonce never expires). Real servers expire nonces; the
	// client must answer the new challenge without calling the password
	// wrong.
	NonceUses int
	// Propfind is the shape of PROPFIND answers.
	Propfind PropfindStyle
	// ServerHeader, when set, is sent as the Server header of every answer
	// (the server check reports it).
	ServerHeader string
	// PutNoFolder is the status of a PUT into a missing folder; 0 means 409
	// (RFC 4918). nginx answers 500, rclone and sabre/dav 404, and the
	// client must still say the folder is missing.
	PutNoFolder int
	// MkcolExisting is the status of a MKCOL on an existing folder; 0 means
	// 405 (RFC 4918). rclone answers 201.
	MkcolExisting int
	// FolderSlash refuses, with 409, a DELETE of a folder named without its
	// trailing slash or of a file named with one (nginx).
	FolderSlash bool
	// Hook, when set, sees every request before the server does (Faults
	// are not applied to it). A response or an error it returns is the
	// answer; nil and nil let the server answer.
	Hook func(req *webdav.Request) (*webdav.Response, error)
	// After, when set, gets every answer the server made itself (faults
	// included, Hook's not) and returns what the client receives instead:
	// e.g. an error for the lost reply of a PUT that did land.
	After func(req *webdav.Request, resp *webdav.Response) (*webdav.Response, error)
	// KeepLog makes the server record every request it receives (see Log).
	// It is off by default because the randomized suites send hundreds of
	// thousands of requests, bodies and all.
	KeepLog bool

	mu      sync.Mutex
	files   map[string]*file // path (unescaped, no prefix) -> file
	dirs    map[string]bool
	version int
	stats   Stats
	log     []webdav.Request
	nonce   string // the Digest nonce in use
	nonces  int    // nonces handed out so far
	uses    int    // times the current nonce was accepted
	stale   bool   // the next challenge says stale=true
}

// New returns an empty server answering under https://dav.test/dav/.
func New() *Server {
	s := &Server{Prefix: "/dav/", files: map[string]*file{}, dirs: map[string]bool{"": true}, nonce: "nonce-1", nonces: 1}
	s.ResetStats()
	return s
}

// URL is the base URL of the server's root folder.
func (s *Server) URL() string { return origin + s.Prefix }

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{Requests: map[string]int{}, Up: map[string]int64{}, Down: map[string]int64{}}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Requests: maps.Clone(s.stats.Requests), Up: maps.Clone(s.stats.Up), Down: maps.Clone(s.stats.Down)}
}

// Log returns the requests received since the last ResetLog, in order, as
// they arrived (their header maps copied); empty unless KeepLog is set.
func (s *Server) Log() []webdav.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]webdav.Request(nil), s.log...)
}

// ResetLog forgets the requests logged so far.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// File returns the stored bytes at path (relative to the root) and whether it exists.
func (s *Server) File(p string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[strings.Trim(p, "/")]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), f.body...), true
}

// ETag returns the ETag the server sends for the file at path (relative to
// the root), unquoted; "" when there is no such file.
func (s *Server) ETag(p string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.files[strings.Trim(p, "/")]; ok {
		return f.etag
	}
	return ""
}

// PutFile stores bytes at path directly (another writer, outside any client).
func (s *Server) PutFile(p string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(strings.Trim(p, "/"), body)
}

// Files lists the stored file paths, sorted.
func (s *Server) Files() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for p := range s.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// IsDir reports whether the folder at path (relative to the root; "" is
// the root) exists.
func (s *Server) IsDir(p string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirs[strings.Trim(p, "/")]
}

// MkdirAll creates the folder at path and every missing folder above it
// (another writer, outside any client).
func (s *Server) MkdirAll(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p = strings.Trim(p, "/"); p != ""; p = parent(p) {
		s.dirs[p] = true
	}
	s.dirs[""] = true
}

// Remove deletes the file or the folder (with everything in it) at path
// (another writer, outside any client). Removing "" removes the root folder
// itself, as for a client whose configured folder does not exist yet: the
// Prefix then answers as a missing folder until a MKCOL creates it again.
func (s *Server) Remove(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(strings.Trim(p, "/"))
}

// Nonce returns the Digest nonce the server accepts now.
func (s *Server) Nonce() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nonce
}

// NewNonce makes the server replace its Digest nonce, as when one expires,
// and returns the new one; stale says whether the next challenge says
// stale=true (a server that forgot the old nonce says nothing).
func (s *Server) NewNonce(stale bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotate(stale)
	return s.nonce
}

// Challenge returns the WWW-Authenticate value of the server's next 401,
// for a Hook that refuses a request the way the server would.
func (s *Server) Challenge() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.challenge()
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) store(p string, body []byte) *file {
	s.version++
	t := s.now()
	f := &file{body: append([]byte(nil), body...), mtime: t}
	if s.Traits.SecondETags {
		f.etag = fmt.Sprintf("%x-%x", t.Unix(), len(body))
	} else {
		f.etag = fmt.Sprintf("v%d-%x", s.version, len(body))
	}
	s.files[p] = f
	return f
}

// remove deletes the file or folder tree at p ("" is everything).
func (s *Server) remove(p string) {
	delete(s.files, p)
	for k := range s.files {
		if p == "" || strings.HasPrefix(k, p+"/") {
			delete(s.files, k)
		}
	}
	for k := range s.dirs {
		if p == "" || k == p || strings.HasPrefix(k, p+"/") {
			delete(s.dirs, k)
		}
	}
}

// rotate replaces the Digest nonce with the next one.
func (s *Server) rotate(stale bool) {
	s.nonces++
	s.nonce = "nonce-" + strconv.Itoa(s.nonces)
	s.uses = 0
	s.stale = stale
}

func parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// ErrReset is the transport error of a dropped connection.
var ErrReset = errkind.New(errkind.Network, "request", "connection reset by the test server")

// RoundTrip implements webdav.Transport.
func (s *Server) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var f Fault
	if s.Faults != nil {
		f = s.Faults(req)
	}
	s.mu.Lock()
	s.stats.Requests[req.Method]++
	s.stats.Up[req.Method] += int64(len(req.Body))
	if s.KeepLog {
		r := *req
		r.Header = maps.Clone(req.Header)
		s.log = append(s.log, r)
	}
	s.mu.Unlock()
	if s.Hook != nil {
		if resp, err := s.Hook(req); resp != nil || err != nil {
			s.countDown(req, resp)
			return resp, err
		}
	}
	if f.ResetBefore {
		return nil, ErrReset
	}
	var resp *webdav.Response
	if f.Status != 0 {
		h := map[string]string{}
		if f.RetryAfter > 0 {
			h["retry-after"] = strconv.Itoa(f.RetryAfter)
		}
		resp = &webdav.Response{Status: f.Status, Header: h, Body: []byte("fault")}
	} else {
		resp = s.serve(req, f)
		if f.StripETag {
			delete(resp.Header, "etag")
		}
		if f.FakeETag && resp.Header["etag"] != "" {
			resp.Header["etag"] = `"fake-etag"`
		}
		if f.Truncate && len(resp.Body) > 1 {
			resp.Body = resp.Body[:len(resp.Body)/2]
		}
	}
	s.countDown(req, resp)
	if f.ResetAfter && f.Status == 0 {
		return nil, ErrReset
	}
	if s.After != nil {
		return s.After(req, resp)
	}
	return resp, nil
}

// countDown adds an answer's body to the bytes sent down.
func (s *Server) countDown(req *webdav.Request, resp *webdav.Response) {
	if resp == nil {
		return
	}
	s.mu.Lock()
	s.stats.Down[req.Method] += int64(len(resp.Body))
	s.mu.Unlock()
}

func header(req *webdav.Request, name string) string {
	for k, v := range req.Header {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func normETag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	return strings.Trim(s, `"`)
}

// relPath maps a request URL to a stored path; slash says whether the URL
// ended in "/" (which FolderSlash looks at).
func (s *Server) relPath(raw string) (p string, slash, ok bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, false
	}
	p = u.Path
	if !strings.HasPrefix(p+"/", s.Prefix) {
		return "", false, false
	}
	slash = strings.HasSuffix(p, "/")
	p = strings.TrimPrefix(p, strings.TrimSuffix(s.Prefix, "/"))
	return strings.Trim(p, "/"), slash, true
}

const realm = "test"

// challenge is the WWW-Authenticate value of a 401 now.
func (s *Server) challenge() string {
	stale := ""
	if s.stale {
		stale = ", stale=true"
	}
	switch s.Auth {
	case AuthDigest:
		return `Digest realm="` + realm + `", qop="auth", nonce="` + s.nonce + `", opaque="op", algorithm=MD5` + stale
	case AuthDigestSHA256:
		return `Digest realm="` + realm + `", qop="auth,auth-int", nonce="` + s.nonce + `", algorithm=SHA-256` + stale +
			`, Digest realm="` + realm + `", qop="auth", nonce="` + s.nonce + `", algorithm=MD5` + stale
	}
	return `Basic realm="` + realm + `", charset="UTF-8"`
}

// authorized checks a request's credentials; a Digest nonce accepted
// NonceUses times is replaced afterwards, so the next request carries an
// expired one.
func (s *Server) authorized(req *webdav.Request) bool {
	if s.User == "" {
		return true
	}
	a := header(req, "Authorization")
	if s.Auth == AuthBasic {
		return a == "Basic "+base64.StdEncoding.EncodeToString([]byte(s.User+":"+s.Password))
	}
	if !s.digestOK(req, a) {
		return false
	}
	s.uses++
	s.stale = false
	if s.NonceUses > 0 && s.uses >= s.NonceUses {
		s.rotate(true)
	}
	return true
}

// digestOK checks a Digest Authorization value (RFC 7616, qop auth)
// against the current nonce, the request and the password.
func (s *Server) digestOK(req *webdav.Request, a string) bool {
	if !strings.HasPrefix(a, "Digest ") {
		return false
	}
	chs := webdav.ParseWWWAuthenticate(a)
	if len(chs) != 1 {
		return false
	}
	p := chs[0].Params
	alg := "MD5"
	if s.Auth == AuthDigestSHA256 {
		alg = "SHA-256"
	}
	if p["nonce"] != s.nonce || !strings.EqualFold(p["algorithm"], alg) || p["uri"] != webdav.RequestTarget(req.URL) {
		return false
	}
	user := p["username"]
	if u, ok := p["username*"]; ok {
		user, _ = url.PathUnescape(strings.TrimPrefix(u, "UTF-8''"))
	}
	ha1 := hexHash(alg, s.User, realm, s.Password)
	ha2 := hexHash(alg, req.Method, p["uri"])
	want := hexHash(alg, ha1, p["nonce"], p["nc"], p["cnonce"], "auth", ha2)
	return user == s.User && p["response"] == want
}

// hexHash is RFC 7616's H(a:b:...) in hex, for MD5 or SHA-256.
func hexHash(alg string, parts ...string) string {
	var h hash.Hash = md5.New()
	if alg == "SHA-256" {
		h = sha256.New()
	}
	h.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h.Sum(nil))
}

// preconditions reports whether If-Match, If-None-Match: * and the WebDAV
// If header with one entity tag ("([\"etag\"])"), each where Traits says
// the server honours it, allow a write to p.
func (s *Server) preconditions(req *webdav.Request, p string) bool {
	cur, exists := s.files[p]
	if im := header(req, "If-Match"); im != "" && s.Traits.IfMatch != webdav.No {
		if !exists || (im != "*" && normETag(im) != cur.etag) {
			return false
		}
	}
	if header(req, "If-None-Match") == "*" && s.Traits.IfNoneMatch != webdav.No && (exists || s.dirs[p]) {
		return false
	}
	if ih := header(req, "If"); ih != "" && s.Traits.IfHeader != webdav.No {
		tag := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(ih), "(["), "])")
		if !exists || normETag(tag) != cur.etag {
			return false
		}
	}
	return true
}

func (s *Server) serve(req *webdav.Request, f Fault) *webdav.Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := map[string]string{"date": s.now().UTC().Format(time.RFC1123)}
	if s.ServerHeader != "" {
		h["server"] = s.ServerHeader
	}
	r := &webdav.Response{Header: h}
	if !s.authorized(req) {
		h["www-authenticate"] = s.challenge()
		r.Status = 401
		return r
	}
	p, slash, ok := s.relPath(req.URL)
	if !ok {
		r.Status = 404
		return r
	}
	setFile := func(fl *file) {
		h["etag"] = `"` + fl.etag + `"`
		h["last-modified"] = fl.mtime.UTC().Format(time.RFC1123)
	}
	switch req.Method {
	case "GET", "HEAD":
		fl, ok := s.files[p]
		if !ok {
			r.Status = 404
			if s.dirs[p] {
				r.Status = 403
			}
			return r
		}
		setFile(fl)
		if s.Traits.GetETag == webdav.No {
			delete(h, "etag")
		}
		if inm := header(req, "If-None-Match"); inm != "" && normETag(inm) == fl.etag && s.Traits.ConditionalGet != webdav.No {
			r.Status = 304
			return r
		}
		r.Status = 200
		if req.Method == "GET" {
			r.Body = append([]byte(nil), fl.body...)
		}
		return r
	case "PUT":
		if !s.dirs[parent(p)] {
			r.Status = 409
			if s.PutNoFolder != 0 {
				r.Status = s.PutNoFolder
			}
			return r
		}
		if s.dirs[p] {
			r.Status = 405
			return r
		}
		_, exists := s.files[p]
		if !s.preconditions(req, p) {
			r.Status = 412
			return r
		}
		if f.DropWrite {
			r.Status = 201
			return r
		}
		body := req.Body
		if f.StoreEmpty {
			body = nil
		}
		fl := s.store(p, body)
		r.Status = 201
		if exists {
			r.Status = 204
		}
		if s.Traits.PutETag != webdav.No {
			h["etag"] = `"` + fl.etag + `"`
		}
		return r
	case "MKCOL":
		if s.dirs[p] {
			r.Status = 405
			if s.MkcolExisting != 0 {
				r.Status = s.MkcolExisting
			}
			return r
		}
		if s.files[p] != nil {
			r.Status = 405
			return r
		}
		// The root's own parent, above Prefix, is taken to exist: a root
		// that Remove("") took away can be created again.
		if p != "" && !s.dirs[parent(p)] {
			r.Status = 409
			return r
		}
		s.dirs[p] = true
		r.Status = 201
		return r
	case "DELETE":
		_, isFile := s.files[p]
		if !isFile && (!s.dirs[p] || p == "") { // the root is never deleted
			r.Status = 404
			return r
		}
		if s.FolderSlash && isFile == slash {
			r.Status = 409
			return r
		}
		if !s.preconditions(req, p) {
			r.Status = 412
			return r
		}
		s.remove(p)
		r.Status = 204
		return r
	case "COPY", "MOVE":
		if s.Traits.Copy == webdav.No && req.Method == "COPY" {
			r.Status = 501
			return r
		}
		src, ok := s.files[p]
		if !ok {
			r.Status = 404
			return r
		}
		dst, _, ok := s.relPath(header(req, "Destination"))
		if !ok {
			r.Status = 400
			return r
		}
		if !s.dirs[parent(dst)] {
			r.Status = 409
			return r
		}
		_, exists := s.files[dst]
		if exists && strings.EqualFold(header(req, "Overwrite"), "F") {
			r.Status = 412
			return r
		}
		s.store(dst, src.body)
		if req.Method == "MOVE" {
			delete(s.files, p)
		}
		r.Status = 201
		if exists {
			r.Status = 204
		}
		return r
	case "PROPFIND":
		return s.propfind(req, p, r)
	case "OPTIONS":
		h["dav"] = "1, 2"
		h["allow"] = "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND"
		r.Status = 200
		return r
	}
	r.Status = 405
	return r
}

// propfind answers Depth 0 and 1 in the Propfind style; Depth infinity
// (or none, which means infinity) is refused with 403, as most servers do.
func (s *Server) propfind(req *webdav.Request, p string, r *webdav.Response) *webdav.Response {
	depth := header(req, "Depth")
	if depth != "0" && depth != "1" {
		r.Status = 403
		return r
	}
	if _, ok := s.files[p]; !ok && !s.dirs[p] {
		r.Status = 404
		return r
	}
	names := []string{p}
	if depth == "1" && s.dirs[p] {
		var kids []string
		for k := range s.files {
			if parent(k) == p {
				kids = append(kids, k)
			}
		}
		for k := range s.dirs {
			if k != "" && k != p && parent(k) == p {
				kids = append(kids, k)
			}
		}
		sort.Strings(kids)
		if s.Propfind.SelfLast {
			names = append(kids, p)
		} else {
			names = append(names, kids...)
		}
	}
	ns := s.Propfind.Namespace
	if ns == "" {
		ns = "D"
	}
	var b strings.Builder
	el := func(name, content string) {
		b.WriteString("<" + ns + ":" + name + ">" + content + "</" + ns + ":" + name + ">")
	}
	noETag := "<" + ns + ":propstat><" + ns + ":prop><" + ns + ":getetag/></" + ns + ":prop>" +
		"<" + ns + ":status>HTTP/1.1 404 Not Found</" + ns + ":status></" + ns + ":propstat>"
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><` + ns + `:multistatus xmlns:` + ns + `="DAV:">`)
	for _, n := range names {
		fl := s.files[n]
		b.WriteString("<" + ns + ":response>")
		el("href", s.href(n, fl == nil))
		b.WriteString("<" + ns + ":propstat><" + ns + ":prop>")
		if fl == nil {
			el("resourcetype", "<"+ns+":collection/>")
		} else {
			b.WriteString("<" + ns + ":resourcetype/>")
			if s.Traits.PropfindETag != webdav.No {
				el("getetag", `"`+fl.etag+`"`)
			}
			el("getcontentlength", strconv.Itoa(len(fl.body)))
			el("getlastmodified", fl.mtime.UTC().Format(time.RFC1123))
		}
		b.WriteString("</" + ns + ":prop>")
		el("status", "HTTP/1.1 200 OK")
		b.WriteString("</" + ns + ":propstat>")
		if fl == nil || s.Traits.PropfindETag == webdav.No {
			// As real servers do for a property they do not have.
			b.WriteString(noETag)
		}
		b.WriteString("</" + ns + ":response>")
	}
	b.WriteString("</" + ns + ":multistatus>")
	r.Status = 207
	r.Header["content-type"] = "application/xml; charset=utf-8"
	r.Body = []byte(b.String())
	return r
}

// href is the href of the stored path p in the Propfind style.
func (s *Server) href(p string, dir bool) string {
	h := strings.TrimSuffix(s.Prefix, "/")
	if p != "" {
		h += "/" + escape(p)
	}
	if (dir && !s.Propfind.NoDirSlash) || h == "" {
		h += "/"
	}
	if s.Propfind.LowerHex {
		h = lowerHex(h)
	}
	if s.Propfind.Absolute {
		h = origin + h
	}
	return h
}

func escape(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// lowerHex writes the hex digits of every percent escape in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = strings.ToLower(string(b[i+1]))[0]
			b[i+2] = strings.ToLower(string(b[i+2]))[0]
		}
	}
	return string(b)
}
