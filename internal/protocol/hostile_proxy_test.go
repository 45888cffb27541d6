//go:build !js

package protocol

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/httptransport"
	"github.com/davsync/davsync/scripts/faultproxy"
)

// The hostile server, played by scripts/faultproxy in front of a real
// WebDAV folder behind Digest login: each case is one lie or attack. For
// every case nothing changes on this device without a confirmation, no
// secret leaves (checked on the bytes the proxy received), and the error
// has a kind the page can explain.

const (
	hostilePassphrase = "hostile-test passphrase"
	hostilePassword   = "pw-good"
)

func TestHostileServer(t *testing.T) {
	sealedOther := func() string {
		k, err := envelope.NewKey("not the user's passphrase", envelope.GoKDF, envelope.KeyOptions{Iterations: envelope.MinIterations})
		if err != nil {
			t.Fatal(err)
		}
		b, err := k.SealBinary([]byte(foreignDoc))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}()
	cases := []struct {
		name   string
		rules  []faultproxy.Rule
		method string // default sync.now
		want   errkind.Kind
		check  func(t *testing.T, e *Engine, p *faultproxy.Proxy, err error)
	}{
		{name: "plaintext swap", want: errkind.NeedsConfirmation,
			rules: []faultproxy.Rule{{Method: "GET", Path: "davsync.json", Fault: faultproxy.Replace, Body: foreignDoc, ETag: `"swapped"`}}},
		{name: "re-keyed swap", want: errkind.Decrypt,
			rules: []faultproxy.Rule{{Method: "GET", Path: "davsync.json", Fault: faultproxy.Replace, Body: sealedOther, ETag: `"rekeyed"`}}},
		{name: "Digest to Basic downgrade", want: errkind.Auth,
			rules: []faultproxy.Rule{{Fault: faultproxy.Challenge, Challenge: `Basic realm="dav"`}},
			check: func(t *testing.T, _ *Engine, _ *faultproxy.Proxy, err error) {
				if !strings.Contains(err.Error(), "Digest") {
					t.Errorf("the error does not name the downgrade: %v", err)
				}
			}},
		{name: "endless body", want: errkind.TooLarge,
			rules: []faultproxy.Rule{{Method: "GET", Path: "davsync.json", Fault: faultproxy.Endless}},
			check: func(t *testing.T, _ *Engine, p *faultproxy.Proxy, _ error) {
				if n := p.Stats().EndlessBytes; n > 2*(64<<20) {
					t.Errorf("the endless body was read for %d bytes", n)
				}
			}},
		{name: "endless body with a lying length", want: errkind.TooLarge,
			rules: []faultproxy.Rule{{Method: "GET", Path: "davsync.json", Fault: faultproxy.Endless, DeclaredLength: 1 << 40}}},
		{name: "huge multistatus", method: "snapshots.list", want: errkind.TooLarge,
			rules: []faultproxy.Rule{{Method: "PROPFIND", Fault: faultproxy.HugeMultistatus, Size: 20 << 20}}},
		{name: "redirect to another host", want: errkind.Redirected,
			rules: []faultproxy.Rule{{Method: "GET", Fault: faultproxy.Redirect, Status: 307, Location: "https://evil.example/{path}"}},
			check: func(t *testing.T, _ *Engine, _ *faultproxy.Proxy, err error) {
				if !strings.Contains(err.Error(), "evil.example") {
					t.Errorf("the error does not name where the server points: %v", err)
				}
			}},
		{name: "absurd Retry-After", want: errkind.RateLimited,
			rules: []faultproxy.Rule{{Method: "GET", Fault: faultproxy.Status, Status: 503, RetryAfter: "99999999999"}},
			check: func(t *testing.T, e *Engine, _ *faultproxy.Proxy, _ error) {
				next := call(t, e, "sync.status", nil).Get("status.nextRun").Int()
				if limit := time.Now().Add(25 * time.Hour).UnixMilli(); next == 0 || next > limit {
					t.Errorf("next run %d: a Retry-After of 3000 years was believed", next)
				}
			}},
		{name: "header injection in ETags", want: "",
			rules: []faultproxy.Rule{{Method: "GET", Path: "davsync.json", Fault: faultproxy.FakeETag, ETag: "\"x\r\nX-Injected: 1\"", RawHeader: true}},
			check: func(t *testing.T, _ *Engine, p *faultproxy.Proxy, _ error) {
				for _, r := range p.Received() {
					if r.Header.Get("X-Injected") != "" || strings.ContainsAny(r.Header.Get("If-None-Match")+r.Header.Get("If-Match"), "\r\n") {
						t.Errorf("an ETag injected a header into %s %s: %v", r.Method, r.Path, r.Header)
					}
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := digestServer(t)
			origin := url[:strings.Index(url[len("http://"):], "/")+len("http://")]
			p := faultproxy.New(origin)
			t.Cleanup(p.Close)
			kv, session := local.NewMemKV(), local.NewMemKV()
			e, _ := newTest(t, func(c *app.Config) {
				c.KV, c.SessionKV = kv, session
				c.Transport = httptransport.New()
				c.Wall = func() int64 { return time.Now().UnixMilli() }
				c.WebDAVOptions = []webdav.Option{webdav.WithRetry(2, time.Millisecond, time.Millisecond), webdav.WithMaxRetryWait(time.Second)}
				c.KeyOptions = envelope.KeyOptions{Iterations: envelope.MinIterations}
			})
			call(t, e, "settings.save", map[string]any{"settings": map[string]any{"url": p.URL() + "/dav/", "username": "ann", "password": hostilePassword, "autoSync": true,
				"encryption": map[string]any{"enabled": true, "passphrase": hostilePassphrase, "remember": true}}})
			call(t, e, "accounts.put", `{"account":{"site_name":"Mine","username":"me"}}`)
			call(t, e, "sync.now", nil)
			call(t, e, "accounts.put", `{"account":{"site_name":"Mine too","username":"me2"}}`)
			before := call(t, e, "accounts.list", nil).Raw
			for _, r := range tc.rules {
				p.MustAdd(r)
			}
			method := tc.method
			if method == "" {
				method = "sync.now"
			}
			_, err := e.Handle(context.Background(), method, nil)
			if tc.want != "" && !errors.Is(err, tc.want) {
				t.Fatalf("want %s, got %v", tc.want, err)
			}
			if err != nil && strings.Contains(err.Error(), hostilePassword) {
				t.Fatal("the error holds the password")
			}
			if tc.check != nil {
				tc.check(t, e, p, err)
			}
			if tc.want != "" {
				if after := call(t, e, "accounts.list", nil).Raw; after != before {
					t.Fatalf("local data changed:\nbefore %s\nafter  %s", before, after)
				}
			}
			received := p.ReceivedBytes()
			for _, secret := range []string{hostilePassphrase, hostilePassword, base64.StdEncoding.EncodeToString([]byte("ann:" + hostilePassword))} {
				if strings.Contains(string(received), secret) {
					t.Fatalf("a secret reached the server: %q", secret)
				}
			}
		})
	}
}
