package webdav_test

import (
	"context"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

func TestInsecure(t *testing.T) {
	for u, want := range map[string]bool{
		"http://nas.example.com/dav/": true,
		"http://192.168.1.5:5005/":    true,
		"HTTP://Nas.Local/":           true,
		"http://127.0.0.1:8080/dav/":  false,
		"http://127.9.9.9/":           false,
		"http://localhost:5005/":      false,
		"http://dav.localhost/":       false,
		"http://[::1]:8080/":          false,
		"http://127.0.0.1.evil.com/":  true,
		"https://nas.example.com/":    false,
	} {
		if got := webdav.Insecure(u); got != want {
			t.Errorf("Insecure(%q) = %v, want %v", u, got, want)
		}
	}
}

// Over http:// to another machine the password goes only to a request the
// server challenged: never up front, where whoever answers at that address
// gets it without asking.
func TestNoBasicUpFrontOverInsecureHTTP(t *testing.T) {
	s := newServer()
	c, err := webdav.New("http://nas.example.com/dav/", testUser, testPass, s)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := c.Stat(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	log := s.Log()
	for i, r := range log {
		challenged := i > 0 && log[i-1].Header["Authorization"] == ""
		if a := hdr(&r, "Authorization"); a != "" && !challenged {
			t.Fatalf("request %d carried credentials without a challenge", i)
		}
	}
	if len(s.Log()) != 6 {
		t.Fatalf("%d requests for 3 challenged stats, want 6", len(s.Log()))
	}
}

// After Digest has worked, a 401 offering only Basic is a downgrade (what a
// man in the middle would ask for): refused without sending the password.
func TestDigestToBasicDowngradeRefused(t *testing.T) {
	for _, learned := range []bool{true, false} {
		s := newServer()
		s.Auth = davtest.AuthDigest
		var opts []webdav.Option
		if !learned {
			opts = append(opts, webdav.WithDigestOnly())
		}
		c := newClient(t, s, opts...)
		ctx := context.Background()
		if learned {
			if _, err := c.Stat(ctx, ""); err != nil {
				t.Fatal(err)
			}
			if !c.DigestWorked() {
				t.Fatal("the client did not notice that Digest worked")
			}
		}
		s.Auth = davtest.AuthBasic // the man in the middle now answers
		n := len(s.Log())
		_, err := c.Stat(ctx, "")
		wantKind(t, err, errkind.Auth)
		if !strings.Contains(err.Error(), "Basic") || !strings.Contains(err.Error(), "did not send the password") {
			t.Fatalf("the error does not name the downgrade: %v", err)
		}
		for _, r := range s.Log()[n:] {
			if strings.HasPrefix(hdr(&r, "Authorization"), "Basic ") {
				t.Fatalf("learned=%v: Basic credentials sent after Digest had worked", learned)
			}
		}
	}
}

// A COPY with Overwrite: F whose reply was lost after the server made the
// copy is retried, gets 412, and still reports success: the destination
// holds the source's bytes. A destination with other bytes stays a 412.
func TestCopyRetriedAfterLostReply(t *testing.T) {
	for _, same := range []bool{true, false} {
		s := newServer()
		c := newClient(t, s)
		ctx := context.Background()
		if _, err := c.Put(ctx, "f.json", []byte(`{"a":1}`), webdav.PutCondition{}); err != nil {
			t.Fatal(err)
		}
		if !same {
			if _, err := c.Put(ctx, "g.json", []byte(`{"other":1}`), webdav.PutCondition{}); err != nil {
				t.Fatal(err)
			}
		}
		lost := false
		s.After = func(req *webdav.Request, resp *webdav.Response) (*webdav.Response, error) {
			if req.Method == "COPY" && !lost {
				lost = true
				return nil, errkind.New(errkind.Network, "", "connection reset")
			}
			return resp, nil
		}
		err := c.Copy(ctx, "f.json", "g.json", false)
		if same {
			if err != nil {
				t.Fatalf("a COPY that landed before its reply was lost: %v", err)
			}
		} else {
			wantKind(t, err, errkind.Precondition)
		}
	}
}

// What a server says about itself reaches messages and storage only clipped:
// an ETag too long to be real is no ETag, and a redirect target or Server
// header cannot inject lines or flood the status page.
func TestServerStringsAreBounded(t *testing.T) {
	if webdav.NormalizeETag(`"`+strings.Repeat("e", 600)+`"`) != "" {
		t.Fatal("a 600-byte ETag was kept")
	}
	if webdav.NormalizeETag(`W/"abc"`) != "abc" {
		t.Fatal("a normal ETag was lost")
	}
	s := newServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		return &webdav.Response{Status: 301, Header: map[string]string{
			"location": "https://evil.example/" + strings.Repeat("x", 5000) + "\r\nSet-Cookie: a=b",
			"server":   strings.Repeat("S", 1000),
		}}, nil
	}
	c := newClient(t, s)
	_, err := c.Get(context.Background(), "f.json", "")
	wantKind(t, err, errkind.Redirected)
	if msg := err.Error(); len(msg) > 600 || strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("the redirect target reached the message unbounded (%d bytes)", len(msg))
	}
	res, _ := c.Check(context.Background())
	if len(res.Server) > 110 {
		t.Fatalf("Server header kept at %d bytes", len(res.Server))
	}
}
