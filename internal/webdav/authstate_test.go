package webdav

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

// learnState runs one request with a fresh client and returns the state it
// learned, after a JSON round trip (the way the engine persists it).
func learnState(t *testing.T, s *fakeServer) AuthState {
	t.Helper()
	c := s.client(t)
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
	var st AuthState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	s.log = nil
	return st
}

// The point of the feature: a sync cycle whose file did not change costs
// exactly one request, a conditional GET answered 304, with credentials on
// it from the start.
func TestPreemptiveAuthOneRequest(t *testing.T) {
	for _, scheme := range []string{"basic", "digest", "digest-sha256"} {
		t.Run(scheme, func(t *testing.T) {
			s := newFakeServer()
			s.auth = scheme
			etag := seed(s, "/dav/doc.json", "data")
			st := learnState(t, s)
			if st.Scheme != strings.TrimSuffix(scheme, "-sha256") {
				t.Fatalf("state %+v", st)
			}
			c := s.client(t, WithAuthState(st))
			g, err := c.Get(context.Background(), "doc.json", etag)
			if err != nil {
				t.Fatal(err)
			}
			if !g.NotModified || len(s.log) != 1 {
				t.Fatalf("not modified %v after %d requests, want one 304", g.NotModified, len(s.log))
			}
			a := hdr(&s.log[0], "Authorization")
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
	s := newFakeServer()
	c := s.client(t, WithAuthScheme("Basic"))
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if len(s.log) != 1 || hdr(&s.log[0], "Authorization") != basicAuth(testUser, testPass) {
		t.Fatalf("%d requests, first Authorization %q", len(s.log), hdr(&s.log[0], "Authorization"))
	}
	if st := c.AuthState(); st != (AuthState{Scheme: "basic"}) {
		t.Fatalf("state %+v", st)
	}
}

// A stored Digest nonce the server no longer accepts is not a credential
// failure: the client answers the new challenge once, and the next state
// holds the new nonce.
func TestRestoredDigestExpiredNonce(t *testing.T) {
	for _, stale := range []bool{false, true} {
		s := newFakeServer()
		s.auth = "digest"
		st := learnState(t, s)
		s.nonce, s.staleNext = "nonce-2", stale
		c := s.client(t, WithAuthState(st))
		if _, err := c.Stat(context.Background(), ""); err != nil {
			t.Fatalf("stale=%v: %v", stale, err)
		}
		if len(s.log) != 2 {
			t.Fatalf("stale=%v: %d requests, want 2", stale, len(s.log))
		}
		if got := c.AuthState().Nonce; got != "nonce-2" {
			t.Fatalf("state nonce %q after the server changed it", got)
		}
	}
}

// The server may also refuse the stored nonce while sending the same nonce
// again (e.g. it counts nonce uses); one retry from the fresh challenge is
// still allowed, and only its 401 counts as a wrong password.
func TestRestoredDigestRefusedSameNonce(t *testing.T) {
	s := newFakeServer()
	s.auth = "digest"
	st := learnState(t, s)
	first := true
	s.hook = func(req *Request) (*Response, error, bool) {
		if first {
			first = false
			return s.reply(401, "", "www-authenticate", s.challenge(false)), nil, true
		}
		return nil, nil, false
	}
	c := s.client(t, WithAuthState(st))
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if len(s.log) != 2 {
		t.Fatalf("%d requests", len(s.log))
	}
}

func TestRestoredStateWrongPassword(t *testing.T) {
	for _, scheme := range []string{"basic", "digest"} {
		for _, rotated := range []bool{false, true} {
			s := newFakeServer()
			s.auth = scheme
			st := learnState(t, s)
			if rotated {
				s.nonce = "nonce-2"
			}
			c, err := New(fakeBase, testUser, testPass+"-wrong", s, WithAuthState(st))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Stat(context.Background(), "")
			wantKind(t, err, errkind.Auth)
			want := 2 // the restored try, one try with the server's challenge
			if scheme == "basic" {
				want = 1 // nothing new to learn from a Basic challenge
			}
			if len(s.log) != want {
				t.Fatalf("%s rotated=%v: %d requests, want %d", scheme, rotated, len(s.log), want)
			}
		}
	}
}

// A saved scheme that no longer matches the server (it switched from Basic
// to Digest) costs one round trip, as without a state.
func TestRestoredSchemeChanged(t *testing.T) {
	s := newFakeServer()
	s.auth = "digest"
	c := s.client(t, WithAuthScheme("basic"))
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if len(s.log) != 2 || c.AuthState().Scheme != "digest" {
		t.Fatalf("%d requests, state %+v", len(s.log), c.AuthState())
	}
}

// States the client cannot use, and any state without credentials, leave
// today's behaviour: the first request goes out without Authorization.
func TestUnusableAuthStateIgnored(t *testing.T) {
	states := []AuthState{
		{},
		{Scheme: "none"},
		{Scheme: "digest"}, // no nonce
		{Scheme: "digest", Nonce: "n", Algorithm: "SHA-1"},
		{Scheme: "digest", Nonce: "n", Qop: "auth-int"},
		{Scheme: "bearer"},
	}
	for _, st := range states {
		s := newFakeServer()
		s.auth = "digest"
		c := s.client(t, WithAuthState(st))
		if _, err := c.Stat(context.Background(), ""); err != nil {
			t.Fatalf("%+v: %v", st, err)
		}
		if len(s.log) != 2 || hdr(&s.log[0], "Authorization") != "" {
			t.Fatalf("%+v: %d requests, first Authorization %q", st, len(s.log), hdr(&s.log[0], "Authorization"))
		}
	}
	s := newNoAuthServer()
	c, err := New(fakeBase, "", "", s, WithAuthScheme("basic"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if a := hdr(&s.log[0], "Authorization"); a != "" || c.AuthState() != (AuthState{}) {
		t.Fatalf("credentials sent without a username: %q", a)
	}
}

// Check hands out the state to store; a client given it pays no 401.
func TestCheckResultAuthState(t *testing.T) {
	s := newFakeServer()
	s.auth = "digest"
	res, err := s.client(t).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.AuthScheme != "digest" || res.Traits.Login == nil || res.Traits.Login.Nonce != s.nonce {
		t.Fatalf("scheme %q state %+v", res.AuthScheme, res.Traits.Login)
	}
	s.log = nil
	if _, err := s.client(t, WithAuthState(*res.Traits.Login)).Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if len(s.log) != 1 {
		t.Fatalf("%d requests", len(s.log))
	}
	noAuth := newNoAuthServer()
	res, err = noAuth.client(t).Check(context.Background())
	if err != nil || res.AuthScheme != "none" || res.Traits.Login != nil {
		t.Fatalf("%v %q %+v", err, res.AuthScheme, res.Traits.Login)
	}
}
