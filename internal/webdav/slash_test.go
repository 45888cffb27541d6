package webdav

import (
	"context"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

func requestURLs(s *fakeServer, method string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.log {
		if r.Method == method {
			out = append(out, r.URL)
		}
	}
	return out
}

// nginx refuses DELETE of a folder without its trailing slash (409). The
// client retries once with the slash; a caller that names the folder with
// a slash pays no extra request.
func TestDeleteFolderNeedsSlash(t *testing.T) {
	for _, p := range []string{"d", "d/"} {
		s := newNoAuthServer()
		s.dirNeedsSlash = true
		s.dirs["/dav/d"] = true
		s.dirs["/dav/d/sub"] = true
		seed(s, "/dav/d/sub/x.json", "x")
		if err := s.client(t).Delete(context.Background(), p, ""); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		if s.dirs["/dav/d"] || s.files["/dav/d/sub/x.json"] != nil {
			t.Fatalf("%q: folder still there", p)
		}
		urls := requestURLs(s, "DELETE")
		want := []string{fakeBase + "d", fakeBase + "d/"}
		if p == "d/" {
			want = want[1:]
		}
		if strings.Join(urls, " ") != strings.Join(want, " ") {
			t.Fatalf("%q: DELETEs %q, want %q", p, urls, want)
		}
	}
}

// Files are unaffected by the slash retry: one DELETE on nginx, and a file
// whose DELETE the server refuses with 409 either way keeps the first
// answer's error, which no longer claims the parent is surely missing.
func TestDeleteFile409(t *testing.T) {
	s := newNoAuthServer()
	s.dirNeedsSlash = true
	seed(s, "/dav/f.json", "x")
	if err := s.client(t).Delete(context.Background(), "f.json", ""); err != nil {
		t.Fatal(err)
	}
	if n := countMethod(s, "DELETE"); n != 1 {
		t.Fatalf("%d DELETEs for a file", n)
	}

	s = newNoAuthServer()
	seed(s, "/dav/f.json", "x")
	s.hook = func(req *Request) (*Response, error, bool) {
		if req.Method == "DELETE" {
			return s.reply(409, ""), nil, true
		}
		return nil, nil, false
	}
	err := s.client(t).Delete(context.Background(), "f.json", "")
	wantKind(t, err, errkind.FolderMissing)
	if !strings.Contains(err.Error(), "may not exist") {
		t.Fatal(err)
	}
	if n := countMethod(s, "DELETE"); n != 2 || s.files["/dav/f.json"] == nil {
		t.Fatalf("%d DELETEs", n)
	}
}

// MOVE/COPY of a folder on nginx needs slashes on both URLs: a 409 is
// retried once with them.
func TestMoveFolderNeedsSlash(t *testing.T) {
	for _, method := range []string{"MOVE", "COPY"} {
		for _, from := range []string{"a", "a/"} {
			s := newNoAuthServer()
			s.hook = func(req *Request) (*Response, error, bool) {
				if req.Method != method {
					return nil, nil, false
				}
				if strings.HasSuffix(req.URL, "/a/") && strings.HasSuffix(hdr(req, "Destination"), "/b/") {
					return s.reply(201, ""), nil, true
				}
				return s.reply(409, ""), nil, true
			}
			c := s.client(t)
			var err error
			if method == "MOVE" {
				err = c.Move(context.Background(), from, "b", false)
			} else {
				err = c.Copy(context.Background(), from, "b", false)
			}
			if err != nil {
				t.Fatalf("%s %q: %v", method, from, err)
			}
			want := 2
			if from == "a/" {
				want = 1
			}
			if n := countMethod(s, method); n != want {
				t.Fatalf("%s %q: %d requests, want %d", method, from, n, want)
			}
		}
	}
	// A file whose destination folder is missing: the retry changes
	// nothing and the error names the destination.
	s := newNoAuthServer()
	seed(s, "/dav/f.json", "x")
	err := s.client(t).Move(context.Background(), "f.json", "no/g.json", false)
	wantKind(t, err, errkind.FolderMissing)
	if !strings.Contains(err.Error(), "no/g.json") || s.files["/dav/f.json"] == nil {
		t.Fatal(err)
	}
}

// nginx answers 500 to a PUT whose folder is missing. Only when the file is
// absent and a PROPFIND of its folder answers 404 does that become
// folder_missing; a real 500 stays a server error.
func TestPut500FolderMissing(t *testing.T) {
	cases := []struct {
		name, path, drop string
		msg              string
	}{
		{"nested", "no/such/doc.json", "", `the folder "no/such" does not exist`},
		{"configured folder", "doc.json", "/dav", "the configured folder does not exist"},
	}
	for _, tc := range cases {
		s := newNoAuthServer()
		s.putParentMissing = 500
		if tc.drop != "" {
			delete(s.dirs, tc.drop)
		}
		_, err := s.client(t).Put(context.Background(), tc.path, []byte("x"), PutCondition{IfMatch: "old"})
		wantKind(t, err, errkind.FolderMissing)
		if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "davsync creates it") {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := countMethod(s, "PUT"); n != 1 {
			t.Fatalf("%s: %d PUTs", tc.name, n)
		}
	}

	s := newNoAuthServer()
	s.hook = func(req *Request) (*Response, error, bool) {
		if req.Method == "PUT" {
			return s.reply(500, "boom"), nil, true
		}
		return nil, nil, false
	}
	_, err := s.client(t).Put(context.Background(), "doc.json", []byte("x"), PutCondition{})
	wantKind(t, err, errkind.Server)
}
