// Package davtest is an in-memory WebDAV server behind the webdav.Transport
// interface, configured by a webdav.Traits value to behave like real
// servers (preconditions ignored, ETags built from seconds and size, no ETag
// on PUT or GET), with per-request fault injection. It has no sockets, so the sync tests run natively and under
// GOOS=js alike, thousands of cycles a second.
package davtest

import (
	"context"
	"encoding/base64"
	"fmt"
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
	// ResetAfter processes the request, then drops the connection.
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

type file struct {
	body  []byte
	etag  string
	mtime time.Time
}

// Server is the in-memory WebDAV server. It is safe for concurrent use.
type Server struct {
	// Prefix is the URL path the server answers under, e.g. "/dav/".
	Prefix string
	// Traits is how the server behaves, in the terms the client learns it
	// (webdav.Traits): the zero value keeps every promise of RFC 4918 and
	// RFC 7232; a No is the deviation of a real server. IfMatch No: If-Match
	// is not checked on writes; IfNoneMatch No: nor is If-None-Match: *
	// (nginx, rclone, x/net, npm). PutETag No: PUT answers carry no ETag
	// (Apache, nginx, npm). GetETag No: GET answers carry none, and
	// ConditionalGet No: If-None-Match on a GET is not checked (npm: both).
	// Copy No: COPY is refused with 501. SecondETags: ETags are the
	// mtime in whole seconds plus the size (nginx), so a same-size rewrite
	// within a second keeps the ETag.
	Traits webdav.Traits
	// Now is the server clock (default time.Now).
	Now func() time.Time
	// Faults, when set, is asked about every request; nil = no fault.
	Faults func(req *webdav.Request) Fault
	// User and Password, when set, are required as Basic auth.
	User, Password string

	mu      sync.Mutex
	files   map[string]*file // path (unescaped, no prefix) -> file
	dirs    map[string]bool
	version int
	stats   Stats
}

// New returns an empty server answering under https://dav.test/dav/.
func New() *Server {
	s := &Server{Prefix: "/dav/", files: map[string]*file{}, dirs: map[string]bool{"": true}}
	s.ResetStats()
	return s
}

// URL is the base URL of the server's root folder.
func (s *Server) URL() string { return "https://dav.test" + s.Prefix }

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
	c := Stats{Requests: map[string]int{}, Up: map[string]int64{}, Down: map[string]int64{}}
	for k, v := range s.stats.Requests {
		c.Requests[k] = v
	}
	for k, v := range s.stats.Up {
		c.Up[k] = v
	}
	for k, v := range s.stats.Down {
		c.Down[k] = v
	}
	return c
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
	s.mu.Unlock()
	if f.ResetBefore {
		return nil, ErrReset
	}
	if f.Status != 0 {
		h := map[string]string{}
		if f.RetryAfter > 0 {
			h["retry-after"] = strconv.Itoa(f.RetryAfter)
		}
		return &webdav.Response{Status: f.Status, Header: h, Body: []byte("fault")}, nil
	}
	resp := s.serve(req, f)
	if f.StripETag {
		delete(resp.Header, "etag")
	}
	if f.FakeETag && resp.Header["etag"] != "" {
		resp.Header["etag"] = `"fake-etag"`
	}
	if f.Truncate && len(resp.Body) > 1 {
		resp.Body = resp.Body[:len(resp.Body)/2]
	}
	s.mu.Lock()
	s.stats.Down[req.Method] += int64(len(resp.Body))
	s.mu.Unlock()
	if f.ResetAfter {
		return nil, ErrReset
	}
	return resp, nil
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

func (s *Server) relPath(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	p := u.Path
	if !strings.HasPrefix(p+"/", s.Prefix) {
		return "", false
	}
	p = strings.TrimPrefix(p, strings.TrimSuffix(s.Prefix, "/"))
	return strings.Trim(p, "/"), true
}

func (s *Server) authorized(req *webdav.Request) bool {
	if s.User == "" {
		return true
	}
	want := "Basic " + basic(s.User+":"+s.Password)
	return header(req, "Authorization") == want
}

func (s *Server) serve(req *webdav.Request, f Fault) *webdav.Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := map[string]string{"date": s.now().UTC().Format(time.RFC1123)}
	r := &webdav.Response{Header: h}
	if !s.authorized(req) {
		h["www-authenticate"] = `Basic realm="test"`
		r.Status = 401
		return r
	}
	p, ok := s.relPath(req.URL)
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
			return r
		}
		if s.dirs[p] {
			r.Status = 405
			return r
		}
		cur, exists := s.files[p]
		if im := header(req, "If-Match"); im != "" && (!exists || normETag(im) != cur.etag) && s.Traits.IfMatch != webdav.No {
			r.Status = 412
			return r
		}
		if header(req, "If-None-Match") == "*" && exists && s.Traits.IfNoneMatch != webdav.No {
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
		if s.dirs[p] || s.files[p] != nil {
			r.Status = 405
			return r
		}
		if !s.dirs[parent(p)] {
			r.Status = 409
			return r
		}
		s.dirs[p] = true
		r.Status = 201
		return r
	case "DELETE":
		if _, ok := s.files[p]; ok {
			delete(s.files, p)
			r.Status = 204
			return r
		}
		if s.dirs[p] && p != "" {
			for k := range s.files {
				if strings.HasPrefix(k, p+"/") {
					delete(s.files, k)
				}
			}
			for k := range s.dirs {
				if k == p || strings.HasPrefix(k, p+"/") {
					delete(s.dirs, k)
				}
			}
			r.Status = 204
			return r
		}
		r.Status = 404
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
		dst, ok := s.relPath(header(req, "Destination"))
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

func (s *Server) propfind(req *webdav.Request, p string, r *webdav.Response) *webdav.Response {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:">`)
	entry := func(path string, fl *file) {
		href := s.Prefix + escape(path)
		if fl == nil && path != "" {
			href += "/"
		}
		b.WriteString("<D:response><D:href>" + href + "</D:href><D:propstat><D:prop>")
		if fl == nil {
			b.WriteString("<D:resourcetype><D:collection/></D:resourcetype>")
		} else {
			b.WriteString("<D:resourcetype/><D:getetag>\"" + fl.etag + "\"</D:getetag><D:getcontentlength>" +
				strconv.Itoa(len(fl.body)) + "</D:getcontentlength><D:getlastmodified>" +
				fl.mtime.UTC().Format(time.RFC1123) + "</D:getlastmodified>")
		}
		b.WriteString("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>")
	}
	if fl, ok := s.files[p]; ok {
		entry(p, fl)
	} else if s.dirs[p] {
		entry(p, nil)
		if header(req, "Depth") != "0" {
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
			for _, k := range kids {
				entry(k, s.files[k])
			}
		}
	} else {
		r.Status = 404
		return r
	}
	b.WriteString("</D:multistatus>")
	r.Status = 207
	r.Header["content-type"] = "application/xml; charset=utf-8"
	r.Body = []byte(b.String())
	return r
}

func escape(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func basic(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
