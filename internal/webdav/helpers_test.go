package webdav_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// Test credentials. The password is distinctive so that scanning error
// strings for it (and for the Basic credentials built from it) is reliable.
const (
	testUser = "jürgen"
	testPass = "Pässw0rd-SECRET-xyzzy"
)

// secrets are strings that must never appear in an error.
var secrets = []string{
	testPass,
	base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass)),
	"Authorization",
}

// wantKind fails unless err has kind k, and fails whenever err's text holds
// a secret. Every error a test sees goes through it or noSecret.
func wantKind(t *testing.T, err error, k errkind.Kind) {
	t.Helper()
	noSecret(t, err)
	if got := errkind.Of(err); got != k {
		t.Fatalf("kind = %q, want %q (err: %v)", got, k, err)
	}
	if k != "" {
		var e *errkind.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not an *errkind.Error: %v", err, err)
		}
	}
}

func noSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), errkind.Message(err)} {
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Fatalf("error leaks a secret %q: %s", sec, s)
			}
		}
	}
}

// basicAuth is the Authorization value of a Basic login, built here
// independently of the client.
func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// fakeBase is where the test clients point: davtest's root folder.
const fakeBase = "https://dav.test/dav/"

// serverDate is the fixed clock of the test servers and clients.
var serverDate = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// newServer is a davtest server that asks for testUser's Basic login, runs
// on serverDate and logs every request.
func newServer() *davtest.Server {
	s := davtest.New()
	s.User, s.Password = testUser, testPass
	s.Now = func() time.Time { return serverDate }
	s.KeepLog = true
	return s
}

// newAuthServer is newServer asking for the login scheme names: "basic",
// "digest" (MD5), "digest-sha256", or "" for none.
func newAuthServer(scheme string) *davtest.Server {
	s := newServer()
	switch scheme {
	case "basic":
		s.Auth = davtest.AuthBasic
	case "digest":
		s.Auth = davtest.AuthDigest
	case "digest-sha256":
		s.Auth = davtest.AuthDigestSHA256
	case "":
		s.User, s.Password = "", ""
	default:
		panic("no login scheme " + scheme)
	}
	return s
}

// newNoAuthServer is a test server without authentication, so that request
// counts are not shifted by the first 401.
func newNoAuthServer() *davtest.Server {
	s := newServer()
	s.User, s.Password = "", ""
	return s
}

// newClient is a client of s at fakeBase with testUser's credentials, the
// servers' clock and no real sleeping; opts come after those defaults.
func newClient(t *testing.T, s *davtest.Server, opts ...webdav.Option) *webdav.Client {
	t.Helper()
	opts = append([]webdav.Option{
		webdav.WithSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() }),
		webdav.WithClock(func() time.Time { return serverDate }),
	}, opts...)
	c, err := webdav.New(fakeBase, testUser, testPass, s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// hdr returns a request header by name in any case.
func hdr(req *webdav.Request, name string) string {
	for k, v := range req.Header {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// reply is a server answer for a Hook, with a Date header as the server's
// own answers have.
func reply(status int, body string) *webdav.Response {
	return &webdav.Response{Status: status, Header: map[string]string{"date": serverDate.Format(time.RFC1123)}, Body: []byte(body)}
}

// seed stores a file on the server behind the client's back and returns
// its ETag.
func seed(s *davtest.Server, p, body string) string {
	s.PutFile(p, []byte(body))
	return s.ETag(p)
}

func methods(s *davtest.Server) []string {
	var m []string
	for _, r := range s.Log() {
		m = append(m, r.Method)
	}
	return m
}

func countMethod(s *davtest.Server, m string) int {
	n := 0
	for _, x := range methods(s) {
		if x == m {
			n++
		}
	}
	return n
}

func requestURLs(s *davtest.Server, method string) []string {
	var out []string
	for _, r := range s.Log() {
		if r.Method == method {
			out = append(out, r.URL)
		}
	}
	return out
}

// lastRequest is the last request the server received.
func lastRequest(t *testing.T, s *davtest.Server) webdav.Request {
	t.Helper()
	log := s.Log()
	if len(log) == 0 {
		t.Fatal("no request")
	}
	return log[len(log)-1]
}

// fakeClock records the waits a client asks for and advances time by them,
// so no test sleeps.
type fakeClock struct {
	now   time.Time
	waits []time.Duration
}

func (f *fakeClock) opts() []webdav.Option {
	return []webdav.Option{
		webdav.WithClock(func() time.Time { return f.now }),
		webdav.WithSleep(func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			f.waits = append(f.waits, d)
			f.now = f.now.Add(d)
			return nil
		}),
	}
}

func newClock() *fakeClock { return &fakeClock{now: serverDate} }

// failFirst makes the first n requests of method get resp's answer instead
// of the server's.
func failFirst(s *davtest.Server, method string, n int, resp func() (*webdav.Response, error)) *int {
	count := 0
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if req.Method != method || count >= n {
			return nil, nil
		}
		count++
		return resp()
	}
	return &count
}
