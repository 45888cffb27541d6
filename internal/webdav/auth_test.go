package webdav_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

func TestParseWWWAuthenticate(t *testing.T) {
	cases := []struct {
		in   string
		want []webdav.Challenge
	}{
		{`Basic realm="WebDAV"`, []webdav.Challenge{{Scheme: "basic", Params: map[string]string{"realm": "WebDAV"}}}},
		{`Basic realm="a, b", charset="UTF-8", Digest realm="r", nonce="n=", qop="auth,auth-int", algorithm=SHA-256, stale=TRUE`,
			[]webdav.Challenge{
				{Scheme: "basic", Params: map[string]string{"realm": "a, b", "charset": "UTF-8"}},
				{Scheme: "digest", Params: map[string]string{"realm": "r", "nonce": "n=", "qop": "auth,auth-int", "algorithm": "SHA-256", "stale": "TRUE"}},
			}},
		{`Negotiate, NTLM`, []webdav.Challenge{{Scheme: "negotiate", Params: map[string]string{}}, {Scheme: "ntlm", Params: map[string]string{}}}},
		{`Negotiate YII+/abc==`, []webdav.Challenge{{Scheme: "negotiate", Params: map[string]string{}, Token68: "YII+/abc=="}}},
		{`Bearer realm="x", error="invalid_token", Basic realm="y"`, []webdav.Challenge{
			{Scheme: "bearer", Params: map[string]string{"realm": "x", "error": "invalid_token"}},
			{Scheme: "basic", Params: map[string]string{"realm": "y"}},
		}},
		{`DIGEST Realm = "q\"uo\\te" , NONCE=abc/def+=, opaque=""`, []webdav.Challenge{{Scheme: "digest", Params: map[string]string{"realm": `q"uo\te`, "nonce": "abc/def+=", "opaque": ""}}}},
		{`Basic realm="unterminated`, []webdav.Challenge{{Scheme: "basic", Params: map[string]string{"realm": "unterminated"}}}},
		{``, nil},
		{` , ,`, nil},
	}
	for _, tc := range cases {
		got := webdav.ParseWWWAuthenticate(tc.in)
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
		chs := webdav.ParseWWWAuthenticate("Digest " + base + ", algorithm=" + alg)
		got := webdav.DigestAuth(chs[0], "Mufasa", "Circle of Life", "GET", "/dir/index.html", cnonce, 1)
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
	ch := webdav.Challenge{Scheme: "digest", Params: map[string]string{"realm": "r", "nonce": "n", "userhash": "true", "algorithm": "SHA-256-sess", "qop": "auth"}}
	got := webdav.DigestAuth(ch, "Jäsøn Doe", "pw", "PUT", "/a%20b", "c", 0x1f)
	if !strings.Contains(got, "userhash=true") || strings.Contains(got, "Jäsøn") || !strings.Contains(got, "nc=0000001f") || !strings.Contains(got, "algorithm=SHA-256-SESS") {
		t.Fatal(got)
	}
	ch.Params["userhash"] = "false"
	got = webdav.DigestAuth(ch, "Jäsøn Doe", "pw", "PUT", "/", "c", 1)
	if !strings.Contains(got, "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe") {
		t.Fatal(got)
	}
	// RFC 2069 style: no qop, no nc/cnonce.
	got = webdav.DigestAuth(webdav.Challenge{Scheme: "digest", Params: map[string]string{"realm": "r", "nonce": "n"}}, "u", "p", "GET", "/", "c", 1)
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
		ch, ok := webdav.PickChallenge(webdav.ParseWWWAuthenticate(in))
		got := ""
		if ok {
			got = ch.Scheme
			if ch.Scheme == "digest" {
				got += "/" + webdav.DigestAlgorithm(ch)
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
			s := newAuthServer(scheme)
			c := newClient(t, s)
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
			if got := len(s.Log()); got != want {
				t.Fatalf("%d requests for 5 stats, want %d", got, want)
			}
			if last := lastRequest(t, s); scheme == "digest-sha256" && !strings.Contains(hdr(&last, "Authorization"), "algorithm=SHA-256") {
				t.Fatal(last.Header)
			}
		})
	}
}

func TestDigestStaleNonce(t *testing.T) {
	s := newServer()
	s.Auth = davtest.AuthDigest
	s.NonceUses = 2
	c := newClient(t, s)
	for i := 0; i < 7; i++ {
		if _, err := c.Stat(context.Background(), ""); err != nil {
			t.Fatalf("stat %d: %v", i, err)
		}
	}
	if s.Nonce() == "nonce-1" {
		t.Fatal("the server never replaced its nonce: nothing was tested")
	}
}

func TestWrongPassword(t *testing.T) {
	for _, scheme := range []string{"basic", "digest"} {
		s := newAuthServer(scheme)
		c, err := webdav.New(fakeBase, testUser, testPass+"-wrong", s)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Stat(context.Background(), "")
		wantKind(t, err, errkind.Auth)
		if n := len(s.Log()); n != 2 {
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
	s := newServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		return &webdav.Response{Status: 401, Header: map[string]string{"WWW-Authenticate": "Bearer realm=\"x\", NTLM"}}, nil
	}
	_, err := newClient(t, s).Stat(context.Background(), "")
	wantKind(t, err, errkind.Auth)
	if !strings.Contains(err.Error(), "bearer, ntlm") || len(s.Log()) != 1 {
		t.Fatal(err, len(s.Log()))
	}
}

func TestConcurrentUse(t *testing.T) {
	s := newServer()
	s.Auth = davtest.AuthDigest
	s.NonceUses = 20 // at most one rotation in the 32 requests: tolerated without flakes
	c := newClient(t, s)
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		go func(i int) {
			_, err := c.Put(context.Background(), "f"+strconv.Itoa(i), []byte("x"), webdav.PutCondition{})
			if err == nil {
				_, err = c.Stat(context.Background(), "f"+strconv.Itoa(i))
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
	s := newServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if hdr(req, "Authorization") == "" {
			return &webdav.Response{Status: 401}, nil
		}
		return nil, nil
	}
	if _, err := newClient(t, s).Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	s2 := newServer()
	s2.Hook = func(req *webdav.Request) (*webdav.Response, error) { return &webdav.Response{Status: 401}, nil }
	_, err := newClient(t, s2).Stat(context.Background(), "")
	wantKind(t, err, errkind.Auth)
	if len(s2.Log()) != 2 {
		t.Fatal(len(s2.Log()))
	}
}
