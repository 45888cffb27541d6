package webdav_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

func TestNewValidatesURL(t *testing.T) {
	s := newServer()
	for _, u := range []string{"", "ftp://x/", "dav.example.com/x", "http://", "::"} {
		_, err := webdav.New(u, "u", testPass, s)
		wantKind(t, err, errkind.Invalid)
	}
	_, err := webdav.New("https://x/", "u", "p", nil)
	wantKind(t, err, errkind.Invalid)
	// Credentials in the URL are taken out of it.
	c, err := webdav.New("https://me:"+url.PathEscape(testPass)+"@host.example/dav", "", "", s)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "https://host.example/dav/" {
		t.Fatalf("got %q", c.BaseURL())
	}
	// ... and are the login: a server that asks for exactly them gets them.
	s.User, s.Password = "me", testPass
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if last := lastRequest(t, s); hdr(&last, "Authorization") != basicAuth("me", testPass) {
		t.Fatal("the login sent is not the URL's username and password")
	}
	_, err = webdav.New("https://me:"+testPass+"@host example/dav", "", "", s)
	wantKind(t, err, errkind.Invalid)
}

func TestRoundTripOperations(t *testing.T) {
	ctx := context.Background()
	s := newServer()
	c := newClient(t, s)

	if err := c.MkcolAll(ctx, "Ordner mit Leerzeichen/日本語/tief"); err != nil {
		t.Fatal(err)
	}
	if !s.IsDir("Ordner mit Leerzeichen/日本語/tief") {
		t.Fatalf("not created; files = %v", s.Files())
	}
	// Existing: no error, and only a PROPFIND.
	n := len(s.Log())
	if err := c.MkcolAll(ctx, "Ordner mit Leerzeichen/日本語"); err != nil {
		t.Fatal(err)
	}
	if len(s.Log()) != n+1 {
		t.Fatalf("MkcolAll on an existing folder sent %d requests", len(s.Log())-n)
	}

	p := "Ordner mit Leerzeichen/日本語/daten 1+1=2 #x%.json"
	pr, err := c.Put(ctx, p, []byte(`{"a":1}`), webdav.PutCondition{IfNoneMatchAny: true})
	if err != nil {
		t.Fatal(err)
	}
	if pr.ETag == "" || !pr.Created {
		t.Fatalf("put result %+v", pr)
	}
	last := lastRequest(t, s)
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
	pr2, err := c.Put(ctx, p, []byte(`{"a":2}`), webdav.PutCondition{IfMatch: pr.ETag})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Put(ctx, p, []byte(`{"a":3}`), webdav.PutCondition{IfMatch: pr.ETag})
	wantKind(t, err, errkind.Precondition)

	// Move, copy, delete.
	if err := c.Copy(ctx, p, "kopie.json", false); err != nil {
		t.Fatal(err)
	}
	wantKind(t, c.Copy(ctx, p, "kopie.json", false), errkind.Precondition)
	last = lastRequest(t, s)
	if hdr(&last, "Destination") != "https://dav.test/dav/kopie.json" || hdr(&last, "Overwrite") != "F" {
		t.Fatalf("COPY headers %v", last.Header)
	}
	if err := c.Move(ctx, "kopie.json", "Ordner mit Leerzeichen/neu ü.json", true); err != nil {
		t.Fatal(err)
	}
	last = lastRequest(t, s)
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
	_, err = c.Put(ctx, "missing/x.json", []byte("x"), webdav.PutCondition{})
	wantKind(t, err, errkind.FolderMissing)
}

func TestPathsAreConfined(t *testing.T) {
	c := newClient(t, newServer())
	ctx := context.Background()
	_, err := c.Stat(ctx, "../etc/passwd")
	wantKind(t, err, errkind.Invalid)
	_, err = c.Put(ctx, "a/../../b", nil, webdav.PutCondition{})
	wantKind(t, err, errkind.Invalid)
	_, err = c.Put(ctx, "", nil, webdav.PutCondition{})
	wantKind(t, err, errkind.Invalid)
	wantKind(t, c.Delete(ctx, "/", ""), errkind.Invalid)
	_, err = c.Put(ctx, "x", nil, webdav.PutCondition{IfMatch: "a", IfNoneMatchAny: true})
	wantKind(t, err, errkind.Invalid)
	_, err = c.Stat(ctx, "a\nb")
	wantKind(t, err, errkind.Invalid)
}

func TestServerStyles(t *testing.T) {
	// ignoresPreconditions is what nginx, rclone, x/net and npm do.
	ignoresPreconditions := webdav.Traits{IfMatch: webdav.No, IfNoneMatch: webdav.No, IfHeader: webdav.No}
	styles := map[string]func(s *davtest.Server){
		"apache": func(s *davtest.Server) {
			s.Propfind.LowerHex = true
			s.Traits.PutETag = webdav.No
			s.ServerHeader = "Apache/2.4"
		},
		"nginx": func(s *davtest.Server) {
			s.Traits = ignoresPreconditions
			s.Traits.PropfindETag = webdav.No
			s.Traits.PutETag = webdav.No
			s.PutNoFolder = 500
		},
		"lighttpd": func(s *davtest.Server) { s.Propfind.SelfLast = true },
		"rclone": func(s *davtest.Server) {
			s.Traits = ignoresPreconditions
			s.MkcolExisting = 201
			s.PutNoFolder = 404
			s.Propfind.NoDirSlash = true
		},
		"sabre": func(s *davtest.Server) {
			s.Propfind.LowerHex = true
			s.Propfind.Namespace = "d"
			s.PutNoFolder = 404
		},
		"xnet": func(s *davtest.Server) {
			s.Traits = ignoresPreconditions
			s.Propfind.Namespace = "lp0"
		},
		"npm": func(s *davtest.Server) {
			s.Propfind.Absolute = true
			s.Traits = ignoresPreconditions
			s.Traits.GetETag = webdav.No
			s.Traits.ConditionalGet = webdav.No
			s.Traits.PutETag = webdav.No
		},
	}
	for name, style := range styles {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newServer()
			style(s)
			c := newClient(t, s)
			if err := c.MkcolAll(ctx, "a b/ü"); err != nil {
				t.Fatal(err)
			}
			if err := c.MkcolAll(ctx, "a b/ü"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Put(ctx, "a b/ü/f ö.json", []byte("{}"), webdav.PutCondition{}); err != nil {
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
			_, err = c.Put(ctx, "nope/f.json", []byte("{}"), webdav.PutCondition{})
			wantKind(t, err, errkind.FolderMissing)
		})
	}
}

func TestMkcolAllCreatesConfiguredFolder(t *testing.T) {
	s := newServer()
	s.Remove("")
	c, err := webdav.New("https://dav.test/dav/sub%20dir/", testUser, testPass, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MkcolAll(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"", "sub dir", "sub dir/x"} {
		if !s.IsDir(d) {
			t.Fatalf("/dav/%s not created", d)
		}
	}
	// A file in the way.
	s.PutFile("sub dir/f", []byte("x"))
	wantKind(t, c.MkcolAll(context.Background(), "f"), errkind.Invalid)
}

func TestPutVerify(t *testing.T) {
	s := newServer()
	s.Traits.PutETag = webdav.No
	c := newClient(t, s)
	res, err := c.Put(context.Background(), "v.json", []byte("data"), webdav.PutCondition{Verify: true})
	if err != nil || !res.Verified || res.ETag == "" {
		t.Fatalf("%+v %v", res, err)
	}
	// A server that stores nothing although it says 201.
	s.Faults = func(req *webdav.Request) davtest.Fault {
		return davtest.Fault{StoreEmpty: req.Method == "PUT"}
	}
	_, err = c.Put(context.Background(), "v.json", []byte("data"), webdav.PutCondition{Verify: true})
	wantKind(t, err, errkind.BadResponse)
	if !strings.Contains(errkind.Message(err), "0 bytes instead of 4") {
		t.Fatal(err)
	}
}

func TestNilBodiesAndEmptyFiles(t *testing.T) {
	s := newServer()
	c := newClient(t, s)
	if _, err := c.Put(context.Background(), "empty", nil, webdav.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	g, err := c.Get(context.Background(), "empty", "")
	if err != nil || g.Body == nil || !bytes.Equal(g.Body, []byte{}) {
		t.Fatalf("%+v %v", g, err)
	}
}
