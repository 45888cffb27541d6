package webdav_test

import (
	"context"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

// nginx refuses DELETE of a folder without its trailing slash (409). The
// client retries once with the slash; a caller that names the folder with
// a slash pays no extra request.
func TestDeleteFolderNeedsSlash(t *testing.T) {
	for _, p := range []string{"d", "d/"} {
		s := newNoAuthServer()
		s.FolderSlash = true
		s.MkdirAll("d")
		s.MkdirAll("d/sub")
		seed(s, "d/sub/x.json", "x")
		if err := newClient(t, s).Delete(context.Background(), p, ""); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		if _, ok := s.File("d/sub/x.json"); s.IsDir("d") || ok {
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
	s.FolderSlash = true
	seed(s, "f.json", "x")
	if err := newClient(t, s).Delete(context.Background(), "f.json", ""); err != nil {
		t.Fatal(err)
	}
	if n := countMethod(s, "DELETE"); n != 1 {
		t.Fatalf("%d DELETEs for a file", n)
	}

	s = newNoAuthServer()
	seed(s, "f.json", "x")
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if req.Method == "DELETE" {
			return reply(409, ""), nil
		}
		return nil, nil
	}
	err := newClient(t, s).Delete(context.Background(), "f.json", "")
	wantKind(t, err, errkind.FolderMissing)
	if !strings.Contains(err.Error(), "may not exist") {
		t.Fatal(err)
	}
	if _, ok := s.File("f.json"); countMethod(s, "DELETE") != 2 || !ok {
		t.Fatalf("%d DELETEs, file kept: %v", countMethod(s, "DELETE"), ok)
	}
}

// MOVE/COPY of a folder on nginx needs slashes on both URLs: a 409 is
// retried once with them.
func TestMoveFolderNeedsSlash(t *testing.T) {
	for _, method := range []string{"MOVE", "COPY"} {
		for _, from := range []string{"a", "a/"} {
			s := newNoAuthServer()
			s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
				if req.Method != method {
					return nil, nil
				}
				if strings.HasSuffix(req.URL, "/a/") && strings.HasSuffix(hdr(req, "Destination"), "/b/") {
					return reply(201, ""), nil
				}
				return reply(409, ""), nil
			}
			c := newClient(t, s)
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
	seed(s, "f.json", "x")
	err := newClient(t, s).Move(context.Background(), "f.json", "no/g.json", false)
	wantKind(t, err, errkind.FolderMissing)
	if _, ok := s.File("f.json"); !strings.Contains(err.Error(), "no/g.json") || !ok {
		t.Fatal(err)
	}
}

// nginx answers 500 to a PUT whose folder is missing. Only when the file is
// absent and a PROPFIND of its folder answers 404 does that become
// folder_missing; a real 500 stays a server error.
func TestPut500FolderMissing(t *testing.T) {
	cases := []struct {
		name, path  string
		rootMissing bool
		msg         string
	}{
		{"nested", "no/such/doc.json", false, `the folder "no/such" does not exist`},
		{"configured folder", "doc.json", true, "the configured folder does not exist"},
	}
	for _, tc := range cases {
		s := newNoAuthServer()
		s.PutNoFolder = 500
		if tc.rootMissing {
			s.Remove("")
		}
		_, err := newClient(t, s).Put(context.Background(), tc.path, []byte("x"), webdav.PutCondition{IfMatch: "old"})
		wantKind(t, err, errkind.FolderMissing)
		if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "davsync creates it") {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := countMethod(s, "PUT"); n != 1 {
			t.Fatalf("%s: %d PUTs", tc.name, n)
		}
	}

	s := newNoAuthServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if req.Method == "PUT" {
			return reply(500, "boom"), nil
		}
		return nil, nil
	}
	_, err := newClient(t, s).Put(context.Background(), "doc.json", []byte("x"), webdav.PutCondition{})
	wantKind(t, err, errkind.Server)
}
