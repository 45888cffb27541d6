package serverctl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strings"
)

// digestAuthorization answers a Digest challenge (RFC 7616, qop=auth, MD5
// or SHA-256) for the readiness probe, so a digest server counts as ready
// only once its credentials work. ok is false for any other challenge.
func digestAuthorization(challenge, user, pass, method, uri string) (string, bool) {
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(challenge)), "digest ") {
		return "", false
	}
	params := map[string]string{}
	rest := strings.TrimSpace(challenge)[len("digest "):]
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = rest[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", false
			}
			val, rest = rest[1:1+end], rest[2+end:]
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		params[key] = val
	}
	var newHash func() hash.Hash
	alg := params["algorithm"]
	switch strings.ToUpper(alg) {
	case "", "MD5":
		newHash, alg = md5.New, "MD5"
	case "SHA-256":
		newHash = sha256.New
	default:
		return "", false
	}
	h := func(s string) string {
		x := newHash()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	cnonce := hex.EncodeToString(b)
	ha1 := h(user + ":" + params["realm"] + ":" + pass)
	ha2 := h(method + ":" + uri)
	resp := h(ha1 + ":" + params["nonce"] + ":00000001:" + cnonce + ":auth:" + ha2)
	v := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=%s, qop=auth, nc=00000001, cnonce="%s", response="%s"`,
		user, params["realm"], params["nonce"], uri, alg, cnonce, resp)
	if o, ok := params["opaque"]; ok {
		v += fmt.Sprintf(`, opaque="%s"`, o)
	}
	return v, true
}

// probe sends an authenticated PROPFIND Depth 0: Basic first, Digest when
// the server challenges for it.
func probe(client *http.Client, req func() *http.Request, user, pass string) (*http.Response, error) {
	r := req()
	r.SetBasicAuth(user, pass)
	resp, err := client.Do(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	for _, ch := range resp.Header.Values("WWW-Authenticate") {
		r2 := req()
		if a, ok := digestAuthorization(ch, user, pass, r2.Method, r2.URL.RequestURI()); ok {
			resp.Body.Close()
			r2.Header.Set("Authorization", a)
			return client.Do(r2)
		}
	}
	return resp, nil
}
