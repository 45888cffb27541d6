package webdav_test

import (
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/webdav"
)

func FuzzMultistatus(f *testing.F) {
	for _, tc := range msCases {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`<!DOCTYPE html><html>`))
	f.Add([]byte(`<D:multistatus xmlns:D="DAV:"><D:response><D:href>../../x%</D:href></D:response></D:multistatus>`))
	c, err := webdav.New("http://h/dav/sub/", "u", "p", newServer())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := webdav.ParseMultistatus("PROPFIND", body, "/dav/sub/", 1<<20)
		if err != nil {
			if entries != nil {
				t.Fatal("entries with an error")
			}
			return
		}
		for _, e := range entries {
			p := e.Path()
			if !strings.HasPrefix(p, "/") || (p != "/" && strings.HasSuffix(p, "/")) || strings.Contains(p, "//") {
				t.Fatalf("bad path %q", p)
			}
			for _, seg := range strings.Split(p, "/") {
				if seg == ".." || seg == "." {
					t.Fatalf("path %q keeps a dot segment", p)
				}
			}
		}
		self, kids := c.Resources(entries, "sub", "/dav/sub/")
		all := kids
		if self != nil {
			all = append(all, *self)
		}
		for _, r := range all {
			if strings.HasPrefix(r.Path, "/") || strings.HasSuffix(r.Path, "/") {
				t.Fatalf("resource path %q", r.Path)
			}
			if r.Size < -1 {
				t.Fatalf("size %d", r.Size)
			}
		}
	})
}

func FuzzWWWAuthenticate(f *testing.F) {
	for _, s := range []string{
		`Basic realm="WebDAV"`,
		`Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
		`Negotiate YII+/abc==, NTLM, Basic realm="a, b"`,
		`Digest realm="x\"y", nonce=abc, stale=true, userhash=true`,
		`,,, =, "`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, ch := range webdav.ParseWWWAuthenticate(v) {
			if ch.Scheme == "" || ch.Scheme != strings.ToLower(ch.Scheme) {
				t.Fatalf("scheme %q", ch.Scheme)
			}
			for i := 0; i < len(ch.Scheme); i++ {
				if !webdav.IsTchar(ch.Scheme[i]) {
					t.Fatalf("scheme %q is not a token", ch.Scheme)
				}
			}
		}
		if ch, ok := webdav.PickChallenge(webdav.ParseWWWAuthenticate(v)); ok && ch.Scheme == "digest" {
			a := webdav.DigestAuth(ch, "jürgen", "pw", "PUT", "/a%20b", "cn", 1)
			if strings.ContainsAny(a, "\r\n\x00") {
				t.Fatalf("header injection: %q", a)
			}
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994", "99999999999999999999", "-1", "1e3", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		at, ok := webdav.ParseRetryAfter(v, now)
		if !ok {
			if !at.IsZero() {
				t.Fatal("time without ok")
			}
			return
		}
		if at.Before(now) || at.After(now.Add(webdav.MaxRetryAfter)) {
			t.Fatalf("ParseRetryAfter(%q) = %v, outside [now, now+24h]", v, at)
		}
	})
}

func FuzzETag(f *testing.F) {
	for _, s := range []string{`"abc"`, `W/"abc"`, `abc`, ` "x" `, `"`, `""`, `W/""`, "\"a\r\nb\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n := webdav.NormalizeETag(v)
		if len(n) > len(v) {
			t.Fatalf("grew: %q -> %q", v, n)
		}
		q := webdav.QuoteETag(n)
		if strings.ContainsAny(q, "\r\n\x00") {
			t.Fatalf("control characters in %q", q)
		}
		clean := make([]byte, 0, len(n))
		for i := 0; i < len(n); i++ {
			if n[i] >= 0x20 && n[i] != 0x7f {
				clean = append(clean, n[i])
			}
		}
		// A stored ETag sent back as If-Match reads as itself.
		if got := webdav.NormalizeETag(q); got != string(clean) {
			t.Fatalf("round trip %q -> %q -> %q", n, q, got)
		}
	})
}
