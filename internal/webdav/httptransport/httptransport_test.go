//go:build !js

package httptransport_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xwebdav "golang.org/x/net/webdav"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/httptransport"
)

const (
	user = "jürgen"
	pass = "Pässw0rd-SECRET-xyzzy"
)

func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && (strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), "Authorization")) {
		t.Fatalf("error leaks a secret: %v", err)
	}
}

func wantKind(t *testing.T, err error, k errkind.Kind) {
	t.Helper()
	noSecret(t, err)
	if errkind.Of(err) != k {
		t.Fatalf("kind %q, want %q: %v", errkind.Of(err), k, err)
	}
}

// xnet serves golang.org/x/net/webdav at /dav/ behind Basic auth (UTF-8),
// and records what each request looked like on the wire.
type xnet struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []*http.Request
}

func newXNet(t *testing.T, wrap func(http.Handler) http.Handler) *xnet {
	x := &xnet{}
	dav := &xwebdav.Handler{Prefix: "/dav", FileSystem: xwebdav.NewMemFS(), LockSystem: xwebdav.NewMemLS()}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x.mu.Lock()
		x.seen = append(x.seen, r)
		x.mu.Unlock()
		dav.ServeHTTP(w, r)
	})
	if wrap != nil {
		h = wrap(h)
	} else {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="dav", charset="UTF-8"`)
				w.WriteHeader(401)
				return
			}
			inner.ServeHTTP(w, r)
		})
	}
	x.srv = httptest.NewServer(h)
	t.Cleanup(x.srv.Close)
	return x
}

func (x *xnet) client(t *testing.T, folder string, opts ...webdav.Option) *webdav.Client {
	t.Helper()
	c, err := webdav.New(x.srv.URL+"/dav/"+folder, user, pass, httptransport.New(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestXNetEndToEnd(t *testing.T) {
	ctx := context.Background()
	x := newXNet(t, nil)
	root := x.client(t, "")
	if err := root.MkcolAll(ctx, "Sync Ordner/日本"); err != nil {
		t.Fatal(err)
	}
	c := x.client(t, "Sync%20Ordner/%E6%97%A5%E6%9C%AC/")
	pr, err := c.Put(ctx, "daten ü.json", []byte(`{"v":1}`), webdav.PutCondition{IfNoneMatchAny: true})
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.Get(ctx, "daten ü.json", "")
	if err != nil || string(g.Body) != `{"v":1}` || g.ETag == "" {
		t.Fatal(g, err)
	}
	if g2, err := c.Get(ctx, "daten ü.json", g.ETag); err != nil || !g2.NotModified {
		t.Fatal(g2, err)
	}
	if _, err := c.Put(ctx, "leer", nil, webdav.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	if err := c.MkcolAll(ctx, "unter ordner"); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx, "")
	if err != nil || len(list) != 3 {
		t.Fatalf("%+v %v", list, err)
	}
	got := map[string]webdav.Resource{}
	for _, r := range list {
		got[r.Path] = r
	}
	if r := got["daten ü.json"]; r.Size != 7 || r.IsDir || r.ETag == "" {
		t.Fatalf("%+v", got)
	}
	if r := got["unter ordner"]; !r.IsDir {
		t.Fatalf("%+v", got)
	}
	if err := c.Copy(ctx, "daten ü.json", "unter ordner/kopie ß.json", false); err != nil {
		t.Fatal(err)
	}
	wantKind(t, c.Copy(ctx, "daten ü.json", "unter ordner/kopie ß.json", false), errkind.Precondition)
	if err := c.Move(ctx, "unter ordner/kopie ß.json", "daten ü.json", true); err != nil {
		t.Fatal(err)
	}
	wantKind(t, c.Move(ctx, "fehlt", "x", true), errkind.NotFound)
	if err := c.Delete(ctx, "daten ü.json", ""); err != nil {
		t.Fatal(err)
	}
	_, err = c.Stat(ctx, "daten ü.json")
	wantKind(t, err, errkind.NotFound)
	_, err = c.Put(ctx, "nirgends/x.json", []byte("x"), webdav.PutCondition{})
	wantKind(t, err, errkind.FolderMissing)
	_ = pr

	// On the wire: full Destination URLs, explicit lengths, no Expect, and
	// one 401 in the whole session.
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, r := range x.seen {
		if r.Header.Get("Expect") != "" || len(r.TransferEncoding) > 0 {
			t.Errorf("%s %s: Expect %q TE %v", r.Method, r.URL, r.Header.Get("Expect"), r.TransferEncoding)
		}
		if r.Method == "PUT" && r.Header.Get("Content-Type") == "" {
			t.Errorf("PUT without Content-Type")
		}
		if d := r.Header.Get("Destination"); d != "" && !strings.HasPrefix(d, x.srv.URL+"/dav/Sync%20Ordner/%E6%97%A5%E6%9C%AC/") {
			t.Errorf("Destination %q", d)
		}
	}
}

func TestXNetCheck(t *testing.T) {
	x := newXNet(t, nil)
	c := x.client(t, "neu/tiefer")
	res, err := c.Check(context.Background())
	if err != nil {
		t.Fatalf("%+v %v", res, err)
	}
	// golang.org/x/net/webdav as webdav-servers.md measured it.
	if !res.OK || res.Folder != webdav.FolderCreated || !res.CredentialsOK || res.AuthScheme != "basic" ||
		res.Traits.PropfindETag != webdav.Yes || res.Traits.PutETag != webdav.Yes || res.Traits.MoveOverwrite != webdav.Yes || !res.ClockKnown {
		t.Fatalf("%+v", res)
	}
	if res.ClockOffsetMs > 2000 || res.ClockOffsetMs < -2000 {
		t.Fatalf("clock offset %d ms on loopback", res.ClockOffsetMs)
	}
	t.Logf("x/net check: %+v", res)
	list, err := c.List(context.Background(), "")
	if err != nil || len(list) != 0 {
		t.Fatalf("scratch files left: %+v %v", list, err)
	}
	// Wrong password.
	bad, _ := webdav.New(x.srv.URL+"/dav/", user, "wrong", httptransport.New())
	res, err = bad.Check(context.Background())
	wantKind(t, err, errkind.Auth)
	if res.CredentialsOK {
		t.Fatal(res)
	}
}

// digestOnly wraps a handler with RFC 7616 Digest (SHA-256, qop=auth),
// verified against what arrived on the wire.
func digestOnly(t *testing.T, challenges *int) func(http.Handler) http.Handler {
	h := func(parts ...string) string {
		s := sha256.Sum256([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(s[:])
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := r.Header.Get("Authorization")
			ok := false
			if strings.HasPrefix(a, "Digest ") {
				chs := webdav.ParseWWWAuthenticate(a)
				if len(chs) == 1 {
					p := chs[0].Params
					ha1 := h(user, "dav", pass)
					want := h(ha1, p["nonce"], p["nc"], p["cnonce"], p["qop"], h(r.Method, r.RequestURI))
					ok = p["uri"] == r.RequestURI && p["response"] == want && p["nonce"] == "n0nce" && p["username"] == ""
					if !ok && strings.HasPrefix(p["username*"], "UTF-8''") {
						ok = p["uri"] == r.RequestURI && p["response"] == want && p["nonce"] == "n0nce"
					}
				}
			}
			if !ok {
				*challenges++
				w.Header().Add("WWW-Authenticate", `Basic realm="dav"`)
				w.Header().Add("WWW-Authenticate", `Digest realm="dav", qop="auth", algorithm=SHA-256, nonce="n0nce", opaque="o"`)
				w.WriteHeader(401)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestDigestOverHTTP(t *testing.T) {
	n := 0
	x := newXNet(t, digestOnly(t, &n))
	c := x.client(t, "")
	ctx := context.Background()
	if err := c.MkcolAll(ctx, "a b"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Put(ctx, "a b/f ü.json", []byte("x"), webdav.PutCondition{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.List(ctx, "a b"); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d challenges; the client should remember the first", n)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://cloud.example.com/remote.php/dav/files/me/", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	c, _ := webdav.New(srv.URL+"/dav/", user, pass, httptransport.New())
	_, err := c.Stat(context.Background(), "")
	wantKind(t, err, errkind.Redirected)
	if !strings.Contains(err.Error(), "the server moved to https://cloud.example.com/remote.php/dav/files/me/") {
		t.Fatal(err)
	}
}

func TestHTMLLoginPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body><form>Login</form></body></html>"))
	}))
	defer srv.Close()
	c, _ := webdav.New(srv.URL+"/", user, pass, httptransport.New())
	_, err := c.List(context.Background(), "")
	wantKind(t, err, errkind.BadResponse)
	if !strings.Contains(err.Error(), "web page, not a WebDAV folder") {
		t.Fatal(err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c, _ := webdav.New(srv.URL+"/", user, pass, httptransport.New(),
		webdav.WithTimeout(20*time.Millisecond), webdav.WithRetry(2, 0, 0),
		webdav.WithSleep(func(ctx context.Context, d time.Duration) error { return nil }))
	_, err := c.Get(context.Background(), "x", "")
	wantKind(t, err, errkind.Timeout)
}

func TestTruncatedAndRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
		_ = buf.Flush()
		conn.Close()
	}))
	defer srv.Close()
	opts := []webdav.Option{webdav.WithSleep(func(ctx context.Context, d time.Duration) error { return nil })}
	c, _ := webdav.New(srv.URL+"/", user, pass, httptransport.New(), opts...)
	_, err := c.Get(context.Background(), "x", "")
	wantKind(t, err, errkind.Network)

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, _ = webdav.New("http://"+addr+"/dav/", user, pass, httptransport.New(), opts...)
	_, err = c.Stat(context.Background(), "")
	wantKind(t, err, errkind.Network)
	if !strings.Contains(err.Error(), addr) {
		t.Fatal(err)
	}
}

func TestResponseHeadersLowerCaseJoined(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("WWW-Authenticate", `Basic realm="a"`)
		w.Header().Add("WWW-Authenticate", `Digest realm="b", nonce="n"`)
		w.Header().Set("ETag", `"x"`)
		w.WriteHeader(401)
	}))
	defer srv.Close()
	resp, err := httptransport.New().RoundTrip(context.Background(), &webdav.Request{Method: "GET", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 401 || resp.Header["www-authenticate"] != `Basic realm="a", Digest realm="b", nonce="n"` || resp.Header["etag"] != `"x"` {
		t.Fatalf("%+v", resp)
	}
	_ = bufio.NewReader
}

func TestBodyLimit(t *testing.T) {
	// sent counts what the server managed to write before the client
	// stopped reading: an endless stream must cost about MaxBody, not
	// everything the server cares to send.
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/declared":
			w.Header().Set("Content-Length", "1073741824")
			_, _ = w.Write(make([]byte, 4096))
		case "/endless":
			chunk := make([]byte, 32<<10)
			for r.Context().Err() == nil {
				n, err := w.Write(chunk)
				sent.Add(int64(n))
				if err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		default:
			_, _ = w.Write(make([]byte, 2048))
		}
	}))
	defer srv.Close()
	tr := httptransport.New()
	for _, c := range []struct {
		path string
		max  int64
	}{{"/small", 1024}, {"/declared", 1 << 20}, {"/endless", 1 << 20}, {"/small", 0}} {
		_, err := tr.RoundTrip(context.Background(), &webdav.Request{Method: "GET", URL: srv.URL + c.path, MaxBody: c.max})
		if c.max == 0 {
			if err != nil {
				t.Fatalf("%s with the default limit: %v", c.path, err)
			}
			continue
		}
		wantKind(t, err, errkind.TooLarge)
	}
	if n := sent.Load(); n > 8<<20 {
		t.Fatalf("the endless body was read for %d bytes past a 1 MiB limit", n)
	}
}
