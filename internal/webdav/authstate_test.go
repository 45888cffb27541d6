package webdav_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// learnState runs one request with a fresh client and returns the state it
// learned, after a JSON round trip (the way the engine persists it).
func learnState(t *testing.T, s *davtest.Server) webdav.AuthState {
	t.Helper()
	c := newClient(t, s)
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c.AuthState())
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range append(secrets, testUser) {
		if strings.Contains(string(b), sec) {
			t.Fatalf("auth state %s holds a credential", b)
		}
	}
	var st webdav.AuthState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	s.ResetLog()
	return st
}

// The point of the feature: a sync cycle whose file did not change costs
// exactly one request, a conditional GET answered 304, with credentials on
// it from the start.
func TestPreemptiveAuthOneRequest(t *testing.T) {
	for _, scheme := range []string{"basic", "digest", "digest-sha256"} {
		t.Run(scheme, func(t *testing.T) {
			s := newAuthServer(scheme)
			etag := seed(s, "doc.json", "data")
			st := learnState(t, s)
			if st.Scheme != strings.TrimSuffix(scheme, "-sha256") {
				t.Fatalf("state %+v", st)
			}
			c := newClient(t, s, webdav.WithAuthState(st))
			g, err := c.Get(context.Background(), "doc.json", etag)
			if err != nil {
				t.Fatal(err)
			}
			if !g.NotModified || len(s.Log()) != 1 {
				t.Fatalf("not modified %v after %d requests, want one 304", g.NotModified, len(s.Log()))
			}
			a := hdr(&s.Log()[0], "Authorization")
			if a == "" {
				t.Fatal("first request without credentials")
			}
			if strings.HasPrefix(scheme, "digest") && !strings.Contains(a, "nc=00000001") {
				t.Fatalf("restored digest must start a fresh nonce count: %s", a)
			}
		})
	}
}

func TestWithAuthSchemeBasic(t *testing.T) {
	s := newServer()
	c := newClient(t, s, webdav.WithAuthScheme("Basic"))
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if len(s.Log()) != 1 || hdr(&s.Log()[0], "Authorization") != basicAuth(testUser, testPass) {
		t.Fatalf("%d requests, first Authorization %q", len(s.Log()), hdr(&s.Log()[0], "Authorization"))
	}
	if st := c.AuthState(); st != (webdav.AuthState{Scheme: "basic"}) {
		t.Fatalf("state %+v", st)
	}
}

// A stored Digest nonce the server no longer accepts is not a credential
// failure: the client answers the new challenge once, and the next state
// holds the new nonce.
func TestRestoredDigestExpiredNonce(t *testing.T) {
	for _, stale := range []bool{false, true} {
		s := newServer()
		s.Auth = davtest.AuthDigest
		st := learnState(t, s)
		nonce := s.NewNonce(stale)
		c := newClient(t, s, webdav.WithAuthState(st))
		if _, err := c.Stat(context.Background(), ""); err != nil {
			t.Fatalf("stale=%v: %v", stale, err)
		}
		if len(s.Log()) != 2 {
			t.Fatalf("stale=%v: %d requests, want 2", stale, len(s.Log()))
		}
		if got := c.AuthState().Nonce; got != nonce {
			t.Fatalf("state nonce %q after the server changed it", got)
		}
	}
}

// The server may also refuse the stored nonce while sending the same nonce
// again (e.g. it counts nonce uses); one retry from the fresh challenge is
// still allowed, and only its 401 counts as a wrong password.
func TestRestoredDigestRefusedSameNonce(t *testing.T) {
	s := newServer()
	s.Auth = davtest.AuthDigest
	st := learnState(t, s)
	first := true
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if first {
			first = false
			r := reply(401, "")
			r.Header["www-authenticate"] = s.Challenge()
			return r, nil
		}
		return nil, nil
	}
	c := newClient(t, s, webdav.WithAuthState(st))
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if len(s.Log()) != 2 {
		t.Fatalf("%d requests", len(s.Log()))
	}
}

func TestRestoredStateWrongPassword(t *testing.T) {
	for _, scheme := range []string{"basic", "digest"} {
		for _, rotated := range []bool{false, true} {
			s := newAuthServer(scheme)
			st := learnState(t, s)
			if rotated {
				s.NewNonce(false)
			}
			c, err := webdav.New(fakeBase, testUser, testPass+"-wrong", s, webdav.WithAuthState(st))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Stat(context.Background(), "")
			wantKind(t, err, errkind.Auth)
			want := 2 // the restored try, one try with the server's challenge
			if scheme == "basic" {
				want = 1 // nothing new to learn from a Basic challenge
			}
			if len(s.Log()) != want {
				t.Fatalf("%s rotated=%v: %d requests, want %d", scheme, rotated, len(s.Log()), want)
			}
		}
	}
}

// A saved scheme that no longer matches the server (it switched from Basic
// to Digest) costs one round trip, as without a state.
func TestRestoredSchemeChanged(t *testing.T) {
	s := newServer()
	s.Auth = davtest.AuthDigest
	c := newClient(t, s, webdav.WithAuthScheme("basic"))
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if len(s.Log()) != 2 || c.AuthState().Scheme != "digest" {
		t.Fatalf("%d requests, state %+v", len(s.Log()), c.AuthState())
	}
}

// States the client cannot use, and any state without credentials, leave
// today's behaviour: the first request goes out without Authorization.
func TestUnusableAuthStateIgnored(t *testing.T) {
	states := []webdav.AuthState{
		{},
		{Scheme: "none"},
		{Scheme: "digest"}, // no nonce
		{Scheme: "digest", Nonce: "n", Algorithm: "SHA-1"},
		{Scheme: "digest", Nonce: "n", Qop: "auth-int"},
		{Scheme: "bearer"},
	}
	for _, st := range states {
		s := newServer()
		s.Auth = davtest.AuthDigest
		c := newClient(t, s, webdav.WithAuthState(st))
		if _, err := c.Stat(context.Background(), ""); err != nil {
			t.Fatalf("%+v: %v", st, err)
		}
		if len(s.Log()) != 2 || hdr(&s.Log()[0], "Authorization") != "" {
			t.Fatalf("%+v: %d requests, first Authorization %q", st, len(s.Log()), hdr(&s.Log()[0], "Authorization"))
		}
	}
	s := newNoAuthServer()
	c, err := webdav.New(fakeBase, "", "", s, webdav.WithAuthScheme("basic"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if a := hdr(&s.Log()[0], "Authorization"); a != "" || c.AuthState() != (webdav.AuthState{}) {
		t.Fatalf("credentials sent without a username: %q", a)
	}
}

// Check hands out the state to store; a client given it pays no 401.
func TestCheckResultAuthState(t *testing.T) {
	s := newServer()
	s.Auth = davtest.AuthDigest
	res, err := newClient(t, s).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.AuthScheme != "digest" || res.Traits.Login == nil || res.Traits.Login.Nonce != s.Nonce() {
		t.Fatalf("scheme %q state %+v", res.AuthScheme, res.Traits.Login)
	}
	s.ResetLog()
	if _, err := newClient(t, s, webdav.WithAuthState(*res.Traits.Login)).Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if len(s.Log()) != 1 {
		t.Fatalf("%d requests", len(s.Log()))
	}
	noAuth := newNoAuthServer()
	res, err = newClient(t, noAuth).Check(context.Background())
	if err != nil || res.AuthScheme != "none" || res.Traits.Login != nil {
		t.Fatalf("%v %q %+v", err, res.AuthScheme, res.Traits.Login)
	}
}
