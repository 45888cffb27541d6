package webdav_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

func TestStatusKinds(t *testing.T) {
	type call func(c *webdav.Client) error
	ops := map[string]call{
		"PROPFIND": func(c *webdav.Client) error { _, err := c.Stat(context.Background(), "f.json"); return err },
		"GET":      func(c *webdav.Client) error { _, err := c.Get(context.Background(), "f.json", ""); return err },
		"PUT": func(c *webdav.Client) error {
			_, err := c.Put(context.Background(), "f.json", []byte("new"), webdav.PutCondition{})
			return err
		},
		"DELETE": func(c *webdav.Client) error { return c.Delete(context.Background(), "f.json", "") },
		"MOVE":   func(c *webdav.Client) error { return c.Move(context.Background(), "f.json", "g.json", false) },
		// Mkcol of a folder whose parent exists: one MKCOL, whose status
		// decides (no MkcolAll walk for the statuses tested here).
		"MKCOL": func(c *webdav.Client) error { return c.Mkcol(context.Background(), "d") },
	}
	cases := []struct {
		status int
		header map[string]string
		kind   errkind.Kind
		msg    string
		only   string // method, when the kind depends on it
	}{
		{401, map[string]string{"www-authenticate": `Basic realm="x"`}, errkind.Auth, "username or password", ""},
		{403, nil, errkind.Forbidden, "refused access", ""},
		{404, nil, errkind.NotFound, "does not exist", "GET"},
		{404, nil, errkind.FolderMissing, "folder that should contain", "PUT"},
		{409, nil, errkind.FolderMissing, "folder that should contain", ""},
		{412, nil, errkind.Precondition, "changed on the server", "PUT"},
		{412, nil, errkind.Precondition, "already exists", "MOVE"},
		{423, nil, errkind.Locked, "locked", ""},
		{507, nil, errkind.InsufficientStorage, "no space", ""},
		{413, nil, errkind.TooLarge, "too large", ""},
		{429, map[string]string{"retry-after": "120"}, errkind.RateLimited, "slow down until 03:02:00 UTC", ""},
		{429, nil, errkind.RateLimited, "slow down", ""},
		{503, map[string]string{"retry-after": "Sun, 22 Nov 2026 04:00:00 GMT"}, errkind.RateLimited, "until 04:00:00 UTC", ""},
		{503, nil, errkind.Server, "temporarily unavailable", ""},
		{500, nil, errkind.Server, "failed to handle", "GET"},
		{502, nil, errkind.Server, "failed to handle", "GET"},
		{504, nil, errkind.Server, "failed", "GET"},
		{301, map[string]string{"location": "https://dav.test/dav/f.json"}, errkind.Redirected, "the server moved to https://dav.test/dav/f.json", ""},
		{308, map[string]string{"location": "/other/"}, errkind.Redirected, "moved to https://dav.test/other/", ""},
		{302, map[string]string{"location": "https://user:" + testPass + "@evil.test/"}, errkind.Redirected, "moved to https://evil.test/", ""},
		{307, nil, errkind.Redirected, "without saying where", ""},
		{400, nil, errkind.BadResponse, "malformed", ""},
		{405, nil, errkind.Unsupported, "does not allow", "GET"},
		{408, nil, errkind.Timeout, "gave up waiting", "GET"},
		{418, nil, errkind.BadResponse, "unexpectedly", ""},
	}
	for _, tc := range cases {
		for method, op := range ops {
			if tc.only != "" && tc.only != method {
				continue
			}
			if method == "MKCOL" && tc.status == 409 {
				continue // MkcolAll's walk handles it (TestMkcolAllCreatesConfiguredFolder)
			}
			s := newServer()
			s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
				if req.Method != method {
					return nil, nil
				}
				h := map[string]string{}
				for k, v := range tc.header {
					h[k] = v
				}
				return &webdav.Response{Status: tc.status, Header: h, Body: []byte("<html>error</html>")}, nil
			}
			s.PutFile("f.json", []byte("x"))
			c := newClient(t, s, webdav.WithMaxRetryWait(time.Second))
			err := op(c)
			if errkind.Of(err) != tc.kind {
				t.Errorf("%s %d: kind %q, want %q (%v)", method, tc.status, errkind.Of(err), tc.kind, err)
				continue
			}
			noSecret(t, err)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s %d: %q lacks %q", method, tc.status, err, tc.msg)
			}
			if !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(tc.status)) {
				t.Errorf("%s %d: %q lacks the status", method, tc.status, err)
			}
			var e *errkind.Error
			errors.As(err, &e)
			if tc.kind == errkind.RateLimited && tc.header != nil && e.RetryAfter.IsZero() {
				t.Errorf("%s %d: no RetryAfter", method, tc.status)
			}
		}
	}
}

func TestTransportErrors(t *testing.T) {
	cases := []struct {
		err  error
		kind errkind.Kind
	}{
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), errkind.Network},
		{errkind.New(errkind.Network, "", "reset"), errkind.Network},
		// What jsfetch says when fetch fails: only what to check.
		{errkind.New(errkind.Network, "", "check the address, your connection, and that davsync may access this server"), errkind.Network},
		{errkind.New(errkind.Timeout, "", "slow"), errkind.Timeout},
		{context.DeadlineExceeded, errkind.Timeout},
		{context.Canceled, errkind.Canceled},
		{errkind.New(errkind.TooLarge, "", "huge"), errkind.TooLarge},
	}
	for _, tc := range cases {
		s := newServer()
		s.Hook = func(req *webdav.Request) (*webdav.Response, error) { return nil, tc.err }
		_, err := newClient(t, s).Get(context.Background(), "x", "")
		wantKind(t, err, tc.kind)
		if tc.kind == errkind.Network && !strings.Contains(err.Error(), "dav.test") {
			t.Errorf("network error does not name the host: %v", err)
		}
		if msg := errkind.Message(err); strings.Count(msg, "reach") > 1 || strings.Count(msg, "check") > 1 {
			t.Errorf("the message says the same thing twice: %q", msg)
		}
	}
	// The caller's own deadline.
	s := newServer()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newClient(t, s).Get(ctx, "x", "")
	wantKind(t, err, errkind.Canceled)
}

func TestTruncatedBody(t *testing.T) {
	s := newServer()
	calls := 0
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		calls++
		if calls == 1 {
			return &webdav.Response{Status: 200, Header: map[string]string{"Content-Length": "10"}, Body: []byte("12345")}, nil
		}
		return &webdav.Response{Status: 200, Header: map[string]string{"content-length": "10"}, Body: []byte("1234567890")}, nil
	}
	g, err := newClient(t, s).Get(context.Background(), "x", "")
	if err != nil || string(g.Body) != "1234567890" || calls != 2 {
		t.Fatalf("%v %v %d", g, err, calls)
	}
}

func TestRedirectToSlashIsFollowed(t *testing.T) {
	s := newServer()
	s.MkdirAll("d")
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if !strings.HasSuffix(req.URL, "/") {
			return &webdav.Response{Status: 301, Header: map[string]string{"location": strings.Replace(req.URL, "dav.test", "servername.internal", 1) + "/"}}, nil
		}
		return nil, nil
	}
	st, err := newClient(t, s).Stat(context.Background(), "d")
	if err != nil || !st.IsDir {
		t.Fatal(st, err)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"Sun, 22 Nov 2026 03:01:00 GMT", time.Minute, true},
		{"Sunday, 22-Nov-26 03:01:00 GMT", time.Minute, true},
		{"Sun Nov 22 03:01:00 2026", time.Minute, true},
		{"Sun, 22 Nov 2026 02:00:00 GMT", 0, true},        // past: now
		{"99999999999999999999999", 24 * time.Hour, true}, // capped
		{"86401", 24 * time.Hour, true},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tc := range cases {
		got, ok := webdav.ParseRetryAfter(tc.in, now)
		if ok != tc.ok || (ok && got.Sub(now) != tc.want) {
			t.Errorf("ParseRetryAfter(%q) = %v %v, want +%v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNormalizeETag(t *testing.T) {
	cases := map[string]string{
		`"abc"`:      "abc",
		`W/"abc"`:    "abc",
		`w/"abc"`:    "abc",
		` "a b" `:    "a b",
		`abc`:        "abc",
		`"`:          `"`,
		`""`:         "",
		`W/"W/"x""`:  `W/"x"`,
		`"abc`:       `"abc`,
		"":           "",
		`"12-5f3b4"`: "12-5f3b4",
	}
	for in, want := range cases {
		if got := webdav.NormalizeETag(in); got != want {
			t.Errorf("NormalizeETag(%q) = %q, want %q", in, got, want)
		}
	}
	if q := webdav.QuoteETag("a\r\nX-Evil: 1"); q != `"aX-Evil: 1"` {
		t.Fatal(q)
	}
}

// TestRetryAfterDateAgainstServerDate: a date-form Retry-After counts from
// the response's own Date, so a server whose clock runs three hours ahead
// (a NAS set to local time) asking for a minute gets a minute, not 3h01m
// (capped at a day), and one running behind does not get "now".
func TestRetryAfterDateAgainstServerDate(t *testing.T) {
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for _, skew := range []time.Duration{3 * time.Hour, -3 * time.Hour, 0} {
		sent := now.Add(skew)
		resp := &webdav.Response{Status: 429, Header: map[string]string{
			"date":        sent.Format(http1123),
			"retry-after": sent.Add(time.Minute).Format(http1123),
		}}
		got, ok := webdav.RetryAfterOf(resp, now)
		if !ok || got.Sub(now) != time.Minute {
			t.Errorf("server clock %v off: wait %v (%v), want 1m", skew, got.Sub(now), ok)
		}
	}
	// Without a Date header the device's clock is all there is.
	resp := &webdav.Response{Status: 429, Header: map[string]string{"retry-after": now.Add(time.Minute).Format(http1123)}}
	if got, ok := webdav.RetryAfterOf(resp, now); !ok || got.Sub(now) != time.Minute {
		t.Errorf("no Date: wait %v (%v), want 1m", got.Sub(now), ok)
	}
	// Seconds are seconds whatever the Date says.
	resp = &webdav.Response{Status: 429, Header: map[string]string{"date": now.Add(5 * time.Hour).Format(http1123), "retry-after": "30"}}
	if got, ok := webdav.RetryAfterOf(resp, now); !ok || got.Sub(now) != 30*time.Second {
		t.Errorf("seconds form: wait %v (%v), want 30s", got.Sub(now), ok)
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"
