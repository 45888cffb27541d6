package webdav

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

func TestParseWWWAuthenticate(t *testing.T) {
	cases := []struct {
		in   string
		want []Challenge
	}{
		{`Basic realm="WebDAV"`, []Challenge{{Scheme: "basic", Params: map[string]string{"realm": "WebDAV"}}}},
		{`Basic realm="a, b", charset="UTF-8", Digest realm="r", nonce="n=", qop="auth,auth-int", algorithm=SHA-256, stale=TRUE`,
			[]Challenge{
				{Scheme: "basic", Params: map[string]string{"realm": "a, b", "charset": "UTF-8"}},
				{Scheme: "digest", Params: map[string]string{"realm": "r", "nonce": "n=", "qop": "auth,auth-int", "algorithm": "SHA-256", "stale": "TRUE"}},
			}},
		{`Negotiate, NTLM`, []Challenge{{Scheme: "negotiate", Params: map[string]string{}}, {Scheme: "ntlm", Params: map[string]string{}}}},
		{`Negotiate YII+/abc==`, []Challenge{{Scheme: "negotiate", Params: map[string]string{}, Token68: "YII+/abc=="}}},
		{`Bearer realm="x", error="invalid_token", Basic realm="y"`, []Challenge{
			{Scheme: "bearer", Params: map[string]string{"realm": "x", "error": "invalid_token"}},
			{Scheme: "basic", Params: map[string]string{"realm": "y"}},
		}},
		{`DIGEST Realm = "q\"uo\\te" , NONCE=abc/def+=, opaque=""`, []Challenge{{Scheme: "digest", Params: map[string]string{"realm": `q"uo\te`, "nonce": "abc/def+=", "opaque": ""}}}},
		{`Basic realm="unterminated`, []Challenge{{Scheme: "basic", Params: map[string]string{"realm": "unterminated"}}}},
		{``, nil},
		{` , ,`, nil},
	}
	for _, tc := range cases {
		got := ParseWWWAuthenticate(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseWWWAuthenticate(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

// The examples of RFC 7616 section 3.9.1.
func TestDigestRFC7616Vectors(t *testing.T) {
	base := `realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	const cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	for alg, want := range map[string]string{
		"MD5":     "8ca523f5e9506fed4657c9700eebdbec",
		"SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
	} {
		chs := ParseWWWAuthenticate("Digest " + base + ", algorithm=" + alg)
		got := digestAuth(chs[0], "Mufasa", "Circle of Life", "GET", "/dir/index.html", cnonce, 1)
		if !strings.Contains(got, `response="`+want+`"`) {
			t.Errorf("%s: %s", alg, got)
		}
		for _, part := range []string{`username="Mufasa"`, `uri="/dir/index.html"`, "nc=00000001", "qop=auth,", `cnonce="` + cnonce + `"`, `opaque="FQhe/`, "algorithm=" + alg} {
			if !strings.Contains(got, part) {
				t.Errorf("%s: %s lacks %s", alg, got, part)
			}
		}
	}
}

func TestDigestVariants(t *testing.T) {
	ch := Challenge{Scheme: "digest", Params: map[string]string{"realm": "r", "nonce": "n", "userhash": "true", "algorithm": "SHA-256-sess", "qop": "auth"}}
	got := digestAuth(ch, "Jäsøn Doe", "pw", "PUT", "/a%20b", "c", 0x1f)
	if !strings.Contains(got, "userhash=true") || strings.Contains(got, "Jäsøn") || !strings.Contains(got, "nc=0000001f") || !strings.Contains(got, "algorithm=SHA-256-SESS") {
		t.Fatal(got)
	}
	ch.Params["userhash"] = "false"
	got = digestAuth(ch, "Jäsøn Doe", "pw", "PUT", "/", "c", 1)
	if !strings.Contains(got, "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe") {
		t.Fatal(got)
	}
	// RFC 2069 style: no qop, no nc/cnonce.
	got = digestAuth(Challenge{Scheme: "digest", Params: map[string]string{"realm": "r", "nonce": "n"}}, "u", "p", "GET", "/", "c", 1)
	if strings.Contains(got, "nc=") || strings.Contains(got, "qop") {
		t.Fatal(got)
	}
}

func TestPickChallenge(t *testing.T) {
	cases := map[string]string{
		`Basic realm="x"`: "basic",
		`Basic realm="x", Digest realm="x", nonce="n", qop="auth"`:                                   "digest/MD5",
		`Digest realm="x", nonce="n", algorithm=MD5, Digest realm="x", nonce="n", algorithm=SHA-256`: "digest/SHA-256",
		`Digest realm="x", nonce="n", qop="auth-int", Basic realm="x"`:                               "basic",
		`Digest realm="x", nonce="n", algorithm=SHA-1, Basic realm="y"`:                              "basic",
		`Digest realm="x"`: "",
		`Bearer realm="x"`: "",
		`Digest realm="x", nonce="n", algorithm=SHA-512-256, Digest realm="x", nonce="n", algorithm="SHA-256"`: "digest/SHA-512-256",
	}
	for in, want := range cases {
		ch, ok := pickChallenge(ParseWWWAuthenticate(in))
		got := ""
		if ok {
			got = ch.Scheme
			if ch.Scheme == "digest" {
				got += "/" + digestAlgorithm(ch)
			}
		}
		if got != want {
			t.Errorf("%s: got %q want %q", in, got, want)
		}
	}
}

func TestAuthFlow(t *testing.T) {
	for _, scheme := range []string{"basic", "digest", "digest-sha256", ""} {
		t.Run(scheme, func(t *testing.T) {
			s := newFakeServer()
			s.auth = scheme
			c := s.client(t)
			ctx := context.Background()
			for i := 0; i < 5; i++ {
				if _, err := c.Stat(ctx, ""); err != nil {
					t.Fatal(err)
				}
			}
			want := 5
			if scheme != "" {
				want = 6 // one 401 to learn the challenge, then none
			}
			if got := len(s.log); got != want {
				t.Fatalf("%d requests for 5 stats, want %d", got, want)
			}
			if scheme == "digest-sha256" && !strings.Contains(hdr(&s.log[len(s.log)-1], "Authorization"), "algorithm=SHA-256") {
				t.Fatal(s.log[len(s.log)-1].Header)
			}
		})
	}
}

func TestDigestStaleNonce(t *testing.T) {
	s := newFakeServer()
	s.auth = "digest"
	s.rotateEvery = 2
	c := s.client(t)
	for i := 0; i < 7; i++ {
		if _, err := c.Stat(context.Background(), ""); err != nil {
			t.Fatalf("stat %d: %v", i, err)
		}
	}
}

func TestWrongPassword(t *testing.T) {
	for _, scheme := range []string{"basic", "digest"} {
		s := newFakeServer()
		s.auth = scheme
		c, err := New(fakeBase, testUser, testPass+"-wrong", s)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Stat(context.Background(), "")
		wantKind(t, err, errkind.Auth)
		if n := len(s.log); n != 2 {
			t.Fatalf("%s: %d requests, want 2 (no loop on a wrong password)", scheme, n)
		}
		if !strings.Contains(err.Error(), "username or password") {
			t.Fatal(err)
		}
		// The wrong password is not in the message either.
		if strings.Contains(err.Error(), testPass) {
			t.Fatal(err)
		}
	}
}

func TestUnsupportedAuthScheme(t *testing.T) {
	s := newFakeServer()
	s.hook = func(req *Request) (*Response, error, bool) {
		return &Response{Status: 401, Header: map[string]string{"WWW-Authenticate": "Bearer realm=\"x\", NTLM"}}, nil, true
	}
	_, err := s.client(t).Stat(context.Background(), "")
	wantKind(t, err, errkind.Auth)
	if !strings.Contains(err.Error(), "bearer, ntlm") || len(s.log) != 1 {
		t.Fatal(err, len(s.log))
	}
}

func TestConcurrentUse(t *testing.T) {
	s := newFakeServer()
	s.auth = "digest"
	s.rotateEvery = 20 // at most one rotation in the 32 requests: tolerated without flakes
	c := s.client(t)
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		go func(i int) {
			_, err := c.Put(context.Background(), "f"+itoa(i), []byte("x"), PutCondition{})
			if err == nil {
				_, err = c.Stat(context.Background(), "f"+itoa(i))
			}
			errs <- err
		}(i)
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestChallengeMissingTriesBasicOnce(t *testing.T) {
	s := newFakeServer()
	s.hook = func(req *Request) (*Response, error, bool) {
		if hdr(req, "Authorization") == "" {
			return &Response{Status: 401}, nil, true
		}
		return nil, nil, false
	}
	if _, err := s.client(t).Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	s2 := newFakeServer()
	s2.hook = func(req *Request) (*Response, error, bool) { return &Response{Status: 401}, nil, true }
	_, err := s2.client(t).Stat(context.Background(), "")
	wantKind(t, err, errkind.Auth)
	if len(s2.log) != 2 {
		t.Fatal(len(s2.log))
	}
}
