package webdav

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
)

func countMethod(s *fakeServer, m string) int {
	n := 0
	for _, x := range s.methods() {
		if x == m {
			n++
		}
	}
	return n
}

func seed(s *fakeServer, p, body string) string {
	s.files[p] = []byte(body)
	return s.newETag(p, []byte(body))
}

// The reply to a PUT that landed is lost: the client must notice that the
// server holds our bytes and report success without writing again.
func TestPutLostReplyLanded(t *testing.T) {
	for _, cond := range []string{"if-match", "if-none-match", "none"} {
		t.Run(cond, func(t *testing.T) {
			s := newNoAuthServer()
			pc := PutCondition{}
			switch cond {
			case "if-match":
				pc.IfMatch = seed(s, "/dav/doc.json", "old")
			case "if-none-match":
				pc.IfNoneMatchAny = true
			}
			lost := false
			s.after = func(req *Request, resp *Response) (*Response, error) {
				if req.Method == "PUT" && !lost {
					lost = true
					return nil, errors.New("read: connection reset by peer")
				}
				return resp, nil
			}
			res, err := s.client(t).Put(context.Background(), "doc.json", []byte("new"), pc)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Recovered || res.ETag != s.etags["/dav/doc.json"] {
				t.Fatalf("%+v", res)
			}
			if n := countMethod(s, "PUT"); n != 1 {
				t.Fatalf("%d PUTs, want 1", n)
			}
		})
	}
}

// The PUT never reached the server: the precondition still holds, so the
// client writes again, with the same precondition.
func TestPutLostBeforeServerRetries(t *testing.T) {
	s := newNoAuthServer()
	etag := seed(s, "/dav/doc.json", "old")
	clk := newClock()
	failFirst(s, "PUT", 2, func() (*Response, error) { return nil, errkind.New(errkind.Timeout, "", "no answer") })
	res, err := s.client(t, clk.opts()...).Put(context.Background(), "doc.json", []byte("new"), PutCondition{IfMatch: etag})
	if err != nil || res.Recovered {
		t.Fatal(res, err)
	}
	if string(s.files["/dav/doc.json"]) != "new" || countMethod(s, "PUT") != 3 || countMethod(s, "GET") != 2 {
		t.Fatalf("files %q methods %v", s.files["/dav/doc.json"], s.methods())
	}
	for _, r := range s.log {
		if r.Method == "PUT" && hdr(&r, "If-Match") != `"`+etag+`"` {
			t.Fatalf("retried PUT lost its precondition: %v", r.Header)
		}
	}
	if !reflect.DeepEqual(clk.waits, []time.Duration{500 * time.Millisecond, time.Second}) {
		t.Fatal(clk.waits)
	}
}

// While the reply was lost another device wrote: the client must not
// overwrite it, even on a server that ignores If-Match.
func TestPutLostReplyConcurrentWriter(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(s *fakeServer) PutCondition
		meddle func(s *fakeServer)
	}{
		{"if-match-changed", func(s *fakeServer) PutCondition {
			return PutCondition{IfMatch: seed(s, "/dav/doc.json", "old")}
		}, func(s *fakeServer) { seed(s, "/dav/doc.json", "theirs") }},
		{"if-match-deleted", func(s *fakeServer) PutCondition {
			return PutCondition{IfMatch: seed(s, "/dav/doc.json", "old")}
		}, func(s *fakeServer) { delete(s.files, "/dav/doc.json") }},
		{"if-none-match-created", func(s *fakeServer) PutCondition {
			return PutCondition{IfNoneMatchAny: true}
		}, func(s *fakeServer) { seed(s, "/dav/doc.json", "theirs") }},
	}
	for _, tc := range cases {
		for _, ignores := range []bool{false, true} {
			name := tc.name
			if ignores {
				name += "-server-ignores-preconditions"
			}
			t.Run(name, func(t *testing.T) {
				s := newNoAuthServer()
				s.ignorePreconditions = ignores
				pc := tc.setup(s)
				s.hook = func(req *Request) (*Response, error, bool) {
					if req.Method == "PUT" {
						s.mu.Lock()
						tc.meddle(s)
						s.mu.Unlock()
						return nil, errors.New("connection reset"), true
					}
					return nil, nil, false
				}
				_, err := s.client(t).Put(context.Background(), "doc.json", []byte("mine"), pc)
				wantKind(t, err, errkind.Precondition)
				if n := countMethod(s, "PUT"); n != 1 {
					t.Fatalf("%d PUTs: the client wrote over a concurrent change", n)
				}
				if b, ok := s.files["/dav/doc.json"]; ok && string(b) != "theirs" {
					t.Fatalf("server holds %q", b)
				}
			})
		}
	}
}

func TestPutLostReplyCannotReread(t *testing.T) {
	s := newNoAuthServer()
	s.hook = func(req *Request) (*Response, error, bool) {
		return nil, errors.New("network is unreachable"), true
	}
	_, err := s.client(t).Put(context.Background(), "doc.json", []byte("x"), PutCondition{})
	wantKind(t, err, errkind.Network)
	if n := countMethod(s, "PUT"); n != 1 {
		t.Fatalf("%d PUTs without knowing the outcome", n)
	}
}

func TestPut500MissingParent(t *testing.T) {
	s := newNoAuthServer()
	s.putParentMissing = 500 // nginx
	_, err := s.client(t).Put(context.Background(), "no/such/doc.json", []byte("x"), PutCondition{})
	wantKind(t, err, errkind.FolderMissing)
	if n := countMethod(s, "PUT"); n != 1 {
		t.Fatalf("%d PUTs", n)
	}
}

// Apache answers 412 to If-Match with the current ETag for about a second
// after a write (the ETag is weak then). The client re-reads, sees the ETag
// is unchanged, waits and tries once more.
func TestPutWeakETag412(t *testing.T) {
	s := newNoAuthServer()
	etag := seed(s, "/dav/doc.json", "old")
	clk := newClock()
	failFirst(s, "PUT", 1, func() (*Response, error) { return &Response{Status: 412}, nil })
	res, err := s.client(t, clk.opts()...).Put(context.Background(), "doc.json", []byte("new"), PutCondition{IfMatch: `W/"` + etag + `"`})
	if err != nil || res.ETag == "" {
		t.Fatal(res, err)
	}
	if !reflect.DeepEqual(clk.waits, []time.Duration{weakETagPause}) || countMethod(s, "PUT") != 2 {
		t.Fatal(clk.waits, s.methods())
	}
	// A real conflict: 412 and a different ETag. No second PUT.
	s2 := newNoAuthServer()
	seed(s2, "/dav/doc.json", "theirs")
	_, err = s2.client(t).Put(context.Background(), "doc.json", []byte("new"), PutCondition{IfMatch: etag + "-old"})
	wantKind(t, err, errkind.Precondition)
	if countMethod(s2, "PUT") != 1 {
		t.Fatal(s2.methods())
	}
	// nginx has no getetag: the re-read falls back to HEAD.
	s3 := newNoAuthServer()
	s3.noPropfindETag = true
	etag3 := seed(s3, "/dav/doc.json", "old")
	failFirst(s3, "PUT", 1, func() (*Response, error) { return &Response{Status: 412}, nil })
	if _, err := s3.client(t).Put(context.Background(), "doc.json", []byte("new"), PutCondition{IfMatch: etag3}); err != nil {
		t.Fatal(err)
	}
	if countMethod(s3, "HEAD") != 1 {
		t.Fatal(s3.methods())
	}
}

func TestPut429RetriedWithoutReread(t *testing.T) {
	s := newNoAuthServer()
	clk := newClock()
	failFirst(s, "PUT", 1, func() (*Response, error) {
		return &Response{Status: 429, Header: map[string]string{"retry-after": "2"}}, nil
	})
	if _, err := s.client(t, clk.opts()...).Put(context.Background(), "doc.json", []byte("x"), PutCondition{}); err != nil {
		t.Fatal(err)
	}
	if countMethod(s, "GET") != 0 || !reflect.DeepEqual(clk.waits, []time.Duration{2 * time.Second}) {
		t.Fatal(s.methods(), clk.waits)
	}
}

func TestPutGivesUp(t *testing.T) {
	s := newNoAuthServer()
	clk := newClock()
	failFirst(s, "PUT", 100, func() (*Response, error) { return &Response{Status: 502}, nil })
	_, err := s.client(t, clk.opts()...).Put(context.Background(), "doc.json", []byte("x"), PutCondition{})
	wantKind(t, err, errkind.Server)
	if countMethod(s, "PUT") != 4 {
		t.Fatal(s.methods())
	}
}

// newNoAuthServer is a fake server without authentication, so that request
// counts are not shifted by the first 401.
func newNoAuthServer() *fakeServer {
	s := newFakeServer()
	s.auth = ""
	return s
}
