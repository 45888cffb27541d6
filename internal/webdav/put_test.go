package webdav_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// The reply to a PUT that landed is lost: the client must notice that the
// server holds our bytes and report success without writing again.
func TestPutLostReplyLanded(t *testing.T) {
	for _, cond := range []string{"if-match", "if-none-match", "none"} {
		t.Run(cond, func(t *testing.T) {
			s := newNoAuthServer()
			pc := webdav.PutCondition{}
			switch cond {
			case "if-match":
				pc.IfMatch = seed(s, "doc.json", "old")
			case "if-none-match":
				pc.IfNoneMatchAny = true
			}
			lost := false
			s.After = func(req *webdav.Request, resp *webdav.Response) (*webdav.Response, error) {
				if req.Method == "PUT" && !lost {
					lost = true
					return nil, errors.New("read: connection reset by peer")
				}
				return resp, nil
			}
			res, err := newClient(t, s).Put(context.Background(), "doc.json", []byte("new"), pc)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Recovered || res.ETag != s.ETag("doc.json") {
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
	etag := seed(s, "doc.json", "old")
	clk := newClock()
	failFirst(s, "PUT", 2, func() (*webdav.Response, error) { return nil, errkind.New(errkind.Timeout, "", "no answer") })
	res, err := newClient(t, s, clk.opts()...).Put(context.Background(), "doc.json", []byte("new"), webdav.PutCondition{IfMatch: etag})
	if err != nil || res.Recovered {
		t.Fatal(res, err)
	}
	if b, _ := s.File("doc.json"); string(b) != "new" || countMethod(s, "PUT") != 3 || countMethod(s, "GET") != 2 {
		t.Fatalf("files %q methods %v", b, methods(s))
	}
	for _, r := range s.Log() {
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
		setup  func(s *davtest.Server) webdav.PutCondition
		meddle func(s *davtest.Server)
	}{
		{"if-match-changed", func(s *davtest.Server) webdav.PutCondition {
			return webdav.PutCondition{IfMatch: seed(s, "doc.json", "old")}
		}, func(s *davtest.Server) { seed(s, "doc.json", "theirs") }},
		{"if-match-deleted", func(s *davtest.Server) webdav.PutCondition {
			return webdav.PutCondition{IfMatch: seed(s, "doc.json", "old")}
		}, func(s *davtest.Server) { s.Remove("doc.json") }},
		{"if-none-match-created", func(s *davtest.Server) webdav.PutCondition {
			return webdav.PutCondition{IfNoneMatchAny: true}
		}, func(s *davtest.Server) { seed(s, "doc.json", "theirs") }},
	}
	for _, tc := range cases {
		for _, ignores := range []bool{false, true} {
			name := tc.name
			if ignores {
				name += "-server-ignores-preconditions"
			}
			t.Run(name, func(t *testing.T) {
				s := newNoAuthServer()
				if ignores {
					s.Traits.IfMatch, s.Traits.IfNoneMatch, s.Traits.IfHeader = webdav.No, webdav.No, webdav.No
				}
				pc := tc.setup(s)
				s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
					if req.Method == "PUT" {
						tc.meddle(s)
						return nil, errors.New("connection reset")
					}
					return nil, nil
				}
				_, err := newClient(t, s).Put(context.Background(), "doc.json", []byte("mine"), pc)
				wantKind(t, err, errkind.Precondition)
				if n := countMethod(s, "PUT"); n != 1 {
					t.Fatalf("%d PUTs: the client wrote over a concurrent change", n)
				}
				if b, ok := s.File("doc.json"); ok && string(b) != "theirs" {
					t.Fatalf("server holds %q", b)
				}
			})
		}
	}
}

func TestPutLostReplyCannotReread(t *testing.T) {
	s := newNoAuthServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		return nil, errors.New("network is unreachable")
	}
	_, err := newClient(t, s).Put(context.Background(), "doc.json", []byte("x"), webdav.PutCondition{})
	wantKind(t, err, errkind.Network)
	if n := countMethod(s, "PUT"); n != 1 {
		t.Fatalf("%d PUTs without knowing the outcome", n)
	}
}

func TestPut500MissingParent(t *testing.T) {
	s := newNoAuthServer()
	s.PutNoFolder = 500 // nginx
	_, err := newClient(t, s).Put(context.Background(), "no/such/doc.json", []byte("x"), webdav.PutCondition{})
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
	etag := seed(s, "doc.json", "old")
	clk := newClock()
	failFirst(s, "PUT", 1, func() (*webdav.Response, error) { return &webdav.Response{Status: 412}, nil })
	res, err := newClient(t, s, clk.opts()...).Put(context.Background(), "doc.json", []byte("new"), webdav.PutCondition{IfMatch: `W/"` + etag + `"`})
	if err != nil || res.ETag == "" {
		t.Fatal(res, err)
	}
	if !reflect.DeepEqual(clk.waits, []time.Duration{webdav.WeakETagPause}) || countMethod(s, "PUT") != 2 {
		t.Fatal(clk.waits, methods(s))
	}
	// A real conflict: 412 and a different ETag. No second PUT.
	s2 := newNoAuthServer()
	seed(s2, "doc.json", "theirs")
	_, err = newClient(t, s2).Put(context.Background(), "doc.json", []byte("new"), webdav.PutCondition{IfMatch: etag + "-old"})
	wantKind(t, err, errkind.Precondition)
	if countMethod(s2, "PUT") != 1 {
		t.Fatal(methods(s2))
	}
	// nginx has no getetag: the re-read falls back to HEAD.
	s3 := newNoAuthServer()
	s3.Traits.PropfindETag = webdav.No
	etag3 := seed(s3, "doc.json", "old")
	failFirst(s3, "PUT", 1, func() (*webdav.Response, error) { return &webdav.Response{Status: 412}, nil })
	if _, err := newClient(t, s3).Put(context.Background(), "doc.json", []byte("new"), webdav.PutCondition{IfMatch: etag3}); err != nil {
		t.Fatal(err)
	}
	if countMethod(s3, "HEAD") != 1 {
		t.Fatal(methods(s3))
	}
}

func TestPut429RetriedWithoutReread(t *testing.T) {
	s := newNoAuthServer()
	clk := newClock()
	failFirst(s, "PUT", 1, func() (*webdav.Response, error) {
		return &webdav.Response{Status: 429, Header: map[string]string{"retry-after": "2"}}, nil
	})
	if _, err := newClient(t, s, clk.opts()...).Put(context.Background(), "doc.json", []byte("x"), webdav.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	if countMethod(s, "GET") != 0 || !reflect.DeepEqual(clk.waits, []time.Duration{2 * time.Second}) {
		t.Fatal(methods(s), clk.waits)
	}
}

func TestPutGivesUp(t *testing.T) {
	s := newNoAuthServer()
	clk := newClock()
	failFirst(s, "PUT", 100, func() (*webdav.Response, error) { return &webdav.Response{Status: 502}, nil })
	_, err := newClient(t, s, clk.opts()...).Put(context.Background(), "doc.json", []byte("x"), webdav.PutCondition{})
	wantKind(t, err, errkind.Server)
	if countMethod(s, "PUT") != 4 {
		t.Fatal(methods(s))
	}
}

// On a server with weak ETags whose If header was never checked (a remote
// that never ran Test connection), the first weak-ETag 412 is answered by
// finding out once, on a scratch file, that the If header takes the weak
// tag; the write then goes through guarded by it, without the pause, and
// the next write uses it at once. A server that ignores the If header gets
// the pause, as before.
func TestPutWeakETagLearnsIfHeader(t *testing.T) {
	for _, honours := range []bool{true, false} {
		s := newNoAuthServer()
		if !honours {
			s.Traits.IfHeader = webdav.No
		}
		etag := seed(s, "doc.json", "old")
		clk := newClock()
		failFirst(s, "PUT", 1, func() (*webdav.Response, error) { return &webdav.Response{Status: 412}, nil })
		c := newClient(t, s, append(clk.opts(), webdav.WithTraits(webdav.Traits{WeakETags: true}))...)
		if _, err := c.Put(context.Background(), "doc.json", []byte("new"), webdav.PutCondition{IfMatch: etag}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.File("doc.json"); string(got) != "new" {
			t.Fatalf("file holds %q", got)
		}
		var leftover []string
		for _, f := range s.Files() {
			if strings.Contains(f, "probe") {
				leftover = append(leftover, f)
			}
		}
		if len(leftover) > 0 {
			t.Fatalf("scratch files left: %v", leftover)
		}
		if honours {
			if len(clk.waits) != 0 || c.Traits().IfHeader != webdav.Yes {
				t.Fatalf("honours: waits %v, IfHeader %v, requests %v", clk.waits, c.Traits().IfHeader, methods(s))
			}
			continue
		}
		if !reflect.DeepEqual(clk.waits, []time.Duration{webdav.WeakETagPause}) || c.Traits().IfHeader != webdav.No {
			t.Fatalf("ignores: waits %v, IfHeader %v", clk.waits, c.Traits().IfHeader)
		}
	}
}
