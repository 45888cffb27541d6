package webdav

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

func TestNewValidatesURL(t *testing.T) {
	s := newFakeServer()
	for _, u := range []string{"", "ftp://x/", "dav.example.com/x", "http://", "::"} {
		_, err := New(u, "u", testPass, s)
		wantKind(t, err, errkind.Invalid)
	}
	_, err := New("https://x/", "u", "p", nil)
	wantKind(t, err, errkind.Invalid)
	// Credentials in the URL are taken out of it.
	c, err := New("https://me:"+url.PathEscape(testPass)+"@host.example/dav", "", "", s)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "https://host.example/dav/" || c.user != "me" || c.pass != testPass {
		t.Fatalf("got %q %q", c.BaseURL(), c.user)
	}
	_, err = New("https://me:"+testPass+"@host example/dav", "", "", s)
	wantKind(t, err, errkind.Invalid)
}

func TestRoundTripOperations(t *testing.T) {
	ctx := context.Background()
	s := newFakeServer()
	c := s.client(t)

	if err := c.MkcolAll(ctx, "Ordner mit Leerzeichen/日本語/tief"); err != nil {
		t.Fatal(err)
	}
	if !s.dirs["/dav/Ordner mit Leerzeichen/日本語/tief"] {
		t.Fatalf("dirs = %v", s.dirs)
	}
	// Existing: no error, and only a PROPFIND.
	n := len(s.log)
	if err := c.MkcolAll(ctx, "Ordner mit Leerzeichen/日本語"); err != nil {
		t.Fatal(err)
	}
	if len(s.log) != n+1 {
		t.Fatalf("MkcolAll on an existing folder sent %d requests", len(s.log)-n)
	}

	p := "Ordner mit Leerzeichen/日本語/daten 1+1=2 #x%.json"
	pr, err := c.Put(ctx, p, []byte(`{"a":1}`), PutCondition{IfNoneMatchAny: true})
	if err != nil {
		t.Fatal(err)
	}
	if pr.ETag == "" || !pr.Created {
		t.Fatalf("put result %+v", pr)
	}
	last := s.log[len(s.log)-1]
	if hdr(&last, "Content-Type") != "application/json" || hdr(&last, "If-None-Match") != "*" || hdr(&last, "Expect") != "" {
		t.Fatalf("PUT headers %v", last.Header)
	}
	if !strings.Contains(last.URL, "daten%201%2B1%3D2%20%23x%25.json") || !strings.Contains(last.URL, "%E6%97%A5") {
		t.Fatalf("PUT URL not escaped: %s", last.URL)
	}

	g, err := c.Get(ctx, p, "")
	if err != nil || string(g.Body) != `{"a":1}` || g.ETag != pr.ETag || g.Date.IsZero() {
		t.Fatalf("get %+v %v", g, err)
	}
	g2, err := c.Get(ctx, p, `W/"`+g.ETag+`"`)
	if err != nil || !g2.NotModified || g2.ETag != g.ETag || len(g2.Body) != 0 {
		t.Fatalf("conditional get %+v %v", g2, err)
	}

	st, err := c.Stat(ctx, p)
	if err != nil || st.Path != p || st.IsDir || st.Size != 7 || st.ETag != pr.ETag || st.Modified.IsZero() {
		t.Fatalf("stat %+v %v", st, err)
	}
	list, err := c.List(ctx, "Ordner mit Leerzeichen/日本語")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("list %+v", list)
	}
	names := map[string]bool{}
	for _, r := range list {
		names[r.Path] = r.IsDir
	}
	if isDir, ok := names["Ordner mit Leerzeichen/日本語/tief"]; !ok || !isDir {
		t.Fatalf("list %+v", list)
	}
	if isDir, ok := names[p]; !ok || isDir {
		t.Fatalf("list %+v", list)
	}

	// Conditional overwrite with the right and a wrong ETag.
	pr2, err := c.Put(ctx, p, []byte(`{"a":2}`), PutCondition{IfMatch: pr.ETag})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Put(ctx, p, []byte(`{"a":3}`), PutCondition{IfMatch: pr.ETag})
	wantKind(t, err, errkind.Precondition)

	// Move, copy, delete.
	if err := c.Copy(ctx, p, "kopie.json", false); err != nil {
		t.Fatal(err)
	}
	wantKind(t, c.Copy(ctx, p, "kopie.json", false), errkind.Precondition)
	last = s.log[len(s.log)-1]
	if hdr(&last, "Destination") != "https://dav.test/dav/kopie.json" || hdr(&last, "Overwrite") != "F" {
		t.Fatalf("COPY headers %v", last.Header)
	}
	if err := c.Move(ctx, "kopie.json", "Ordner mit Leerzeichen/neu ü.json", true); err != nil {
		t.Fatal(err)
	}
	last = s.log[len(s.log)-1]
	if hdr(&last, "Destination") != "https://dav.test/dav/Ordner%20mit%20Leerzeichen/neu%20%C3%BC.json" || hdr(&last, "Overwrite") != "T" {
		t.Fatalf("MOVE headers %v", last.Header)
	}
	wantKind(t, c.Move(ctx, "kopie.json", "x.json", true), errkind.NotFound)
	wantKind(t, c.Move(ctx, p, "nowhere/x.json", true), errkind.FolderMissing)
	wantKind(t, c.Delete(ctx, p, "stale-etag"), errkind.Precondition)
	if err := c.Delete(ctx, p, pr2.ETag); err != nil {
		t.Fatal(err)
	}
	_, err = c.Stat(ctx, p)
	wantKind(t, err, errkind.NotFound)
	_, err = c.Get(ctx, p, "")
	wantKind(t, err, errkind.NotFound)
	wantKind(t, c.Delete(ctx, p, ""), errkind.NotFound)
	_, err = c.Put(ctx, "missing/x.json", []byte("x"), PutCondition{})
	wantKind(t, err, errkind.FolderMissing)
}

func TestPathsAreConfined(t *testing.T) {
	c := newFakeServer().client(t)
	ctx := context.Background()
	_, err := c.Stat(ctx, "../etc/passwd")
	wantKind(t, err, errkind.Invalid)
	_, err = c.Put(ctx, "a/../../b", nil, PutCondition{})
	wantKind(t, err, errkind.Invalid)
	_, err = c.Put(ctx, "", nil, PutCondition{})
	wantKind(t, err, errkind.Invalid)
	wantKind(t, c.Delete(ctx, "/", ""), errkind.Invalid)
	_, err = c.Put(ctx, "x", nil, PutCondition{IfMatch: "a", IfNoneMatchAny: true})
	wantKind(t, err, errkind.Invalid)
	_, err = c.Stat(ctx, "a\nb")
	wantKind(t, err, errkind.Invalid)
}

func TestServerStyles(t *testing.T) {
	styles := map[string]func(s *fakeServer){
		"apache": func(s *fakeServer) { s.lowerHex = true; s.noPutETag = true; s.serverHeader = "Apache/2.4" },
		"nginx": func(s *fakeServer) {
			s.noPropfindETag = true
			s.ignorePreconditions = true
			s.noPutETag = true
			s.putParentMissing = 500
		},
		"lighttpd": func(s *fakeServer) { s.selfLast = true },
		"rclone": func(s *fakeServer) {
			s.ignorePreconditions = true
			s.mkcolExistingCreated = true
			s.putParentMissing = 404
			s.noSlashOnDirs = true
		},
		"sabre": func(s *fakeServer) { s.lowerHex = true; s.namespacePrefix = "d:"; s.putParentMissing = 404 },
		"xnet":  func(s *fakeServer) { s.ignorePreconditions = true; s.namespacePrefix = "lp0:" },
		"npm": func(s *fakeServer) {
			s.absoluteHrefs = true
			s.noGetETag = true
			s.noConditionalGet = true
			s.noPutETag = true
			s.ignorePreconditions = true
		},
	}
	for name, style := range styles {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newFakeServer()
			style(s)
			c := s.client(t)
			if err := c.MkcolAll(ctx, "a b/ü"); err != nil {
				t.Fatal(err)
			}
			if err := c.MkcolAll(ctx, "a b/ü"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Put(ctx, "a b/ü/f ö.json", []byte("{}"), PutCondition{}); err != nil {
				t.Fatal(err)
			}
			list, err := c.List(ctx, "a b/ü")
			if err != nil || len(list) != 1 || list[0].Path != "a b/ü/f ö.json" || list[0].Size != 2 {
				t.Fatalf("list %+v %v", list, err)
			}
			top, err := c.List(ctx, "")
			if err != nil || len(top) != 1 || top[0].Path != "a b" || !top[0].IsDir {
				t.Fatalf("top %+v %v", top, err)
			}
			st, err := c.Stat(ctx, "a b/ü")
			if err != nil || !st.IsDir || st.Path != "a b/ü" {
				t.Fatalf("stat %+v %v", st, err)
			}
			_, err = c.Put(ctx, "nope/f.json", []byte("{}"), PutCondition{})
			wantKind(t, err, errkind.FolderMissing)
		})
	}
}

func TestMkcolAllCreatesConfiguredFolder(t *testing.T) {
	s := newFakeServer()
	s.dirs = map[string]bool{"/": true}
	c, err := New("https://dav.test/dav/sub%20dir/", testUser, testPass, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MkcolAll(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"/dav", "/dav/sub dir", "/dav/sub dir/x"} {
		if !s.dirs[d] {
			t.Fatalf("%s not created: %v", d, s.dirs)
		}
	}
	// A file in the way.
	s.files["/dav/sub dir/f"] = []byte("x")
	s.etags["/dav/sub dir/f"] = "e"
	wantKind(t, c.MkcolAll(context.Background(), "f"), errkind.Invalid)
}

func TestPutVerify(t *testing.T) {
	s := newFakeServer()
	s.noPutETag = true
	c := s.client(t)
	res, err := c.Put(context.Background(), "v.json", []byte("data"), PutCondition{Verify: true})
	if err != nil || !res.Verified || res.ETag == "" {
		t.Fatalf("%+v %v", res, err)
	}
	// A server that stores nothing although it says 201.
	s.after = func(req *Request, resp *Response) (*Response, error) {
		if req.Method == "PUT" {
			s.mu.Lock()
			s.files["/dav/v.json"] = nil
			s.mu.Unlock()
		}
		return resp, nil
	}
	_, err = c.Put(context.Background(), "v.json", []byte("data"), PutCondition{Verify: true})
	wantKind(t, err, errkind.BadResponse)
	if !strings.Contains(errkind.Message(err), "0 bytes instead of 4") {
		t.Fatal(err)
	}
}

func TestNilBodiesAndEmptyFiles(t *testing.T) {
	s := newFakeServer()
	c := s.client(t)
	if _, err := c.Put(context.Background(), "empty", nil, PutCondition{}); err != nil {
		t.Fatal(err)
	}
	g, err := c.Get(context.Background(), "empty", "")
	if err != nil || g.Body == nil || !bytes.Equal(g.Body, []byte{}) {
		t.Fatalf("%+v %v", g, err)
	}
}
