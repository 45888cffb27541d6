package webdav

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
)

// Challenge is one challenge from a WWW-Authenticate header.
type Challenge struct {
	// Scheme is lower-case ("basic", "digest", "bearer", ...).
	Scheme string
	// Params holds the auth-params with lower-case names and unquoted values.
	Params map[string]string
	// Token68 is the bare token some schemes send instead of params.
	Token68 string
}

// ParseWWWAuthenticate splits a WWW-Authenticate value (several headers may
// have been joined with ", ") into its challenges. It never fails: anything
// it cannot read is skipped, so a server's odd syntax costs at most that
// challenge.
func ParseWWWAuthenticate(v string) []Challenge {
	var out []Challenge
	p := &authLexer{s: v}
	for {
		p.skipSpaceComma()
		if p.done() {
			return out
		}
		scheme := p.token()
		if scheme == "" {
			// Not a token where a scheme must start: skip one byte and resync.
			p.i++
			continue
		}
		ch := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
		p.skipSpace()
		// Token68 form: a token-ish run ending in '=' padding and then a comma or end.
		if t, ok := p.token68(); ok {
			ch.Token68 = t
			out = append(out, ch)
			continue
		}
		for {
			save := p.i
			p.skipSpaceComma()
			name := p.token()
			if name == "" {
				break
			}
			p.skipSpace()
			if p.done() || p.s[p.i] != '=' {
				// A bare token: the start of the next challenge.
				p.i = save
				break
			}
			p.i++ // '='
			p.skipSpace()
			var val string
			if !p.done() && p.s[p.i] == '"' {
				val = p.quoted()
			} else {
				val = p.bare()
			}
			ch.Params[strings.ToLower(name)] = val
		}
		out = append(out, ch)
	}
}

type authLexer struct {
	s string
	i int
}

func (p *authLexer) done() bool { return p.i >= len(p.s) }

func (p *authLexer) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *authLexer) skipSpaceComma() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

func isTchar(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (p *authLexer) token() string {
	st := p.i
	for p.i < len(p.s) && isTchar(p.s[p.i]) {
		p.i++
	}
	return p.s[st:p.i]
}

// token68 reads `abc+/=` style credentials if what follows is one; it leaves
// the position unchanged otherwise.
func (p *authLexer) token68() (string, bool) {
	st := p.i
	j := p.i
	for j < len(p.s) && (isTchar(p.s[j]) || p.s[j] == '/') {
		j++
	}
	if j == st {
		return "", false
	}
	k := j
	for k < len(p.s) && p.s[k] == '=' {
		k++
	}
	e := k
	for e < len(p.s) && (p.s[e] == ' ' || p.s[e] == '\t') {
		e++
	}
	if e < len(p.s) && p.s[e] != ',' {
		return "", false // "name=value": params, not token68
	}
	if k == j && e < len(p.s) {
		// "Basic realm" style ambiguity: a bare token followed by a comma is
		// the next challenge's scheme only if params follow; treat a lone
		// token without '=' as token68 only at the end.
		return "", false
	}
	p.i = k
	return p.s[st:k], true
}

// bare reads an unquoted param value. It takes everything up to a comma or
// space, not just token characters, because servers put unquoted base64
// nonces there.
func (p *authLexer) bare() string {
	st := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != ' ' && p.s[p.i] != '\t' {
		p.i++
	}
	return p.s[st:p.i]
}

func (p *authLexer) quoted() string {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\\' && p.i+1 < len(p.s):
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c == '"':
			p.i++
			return b.String()
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return b.String() // unterminated: take what there is
}

// basicAuth builds a Basic Authorization value. The credentials are sent as
// UTF-8, which is what RFC 7617's charset="UTF-8" asks for and what every
// server in the test set expects.
func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// digestAlgorithms are the RFC 7616 algorithms the client speaks, best first.
var digestAlgorithms = map[string]int{
	"SHA-512-256":      6,
	"SHA-512-256-SESS": 5,
	"SHA-256":          4,
	"SHA-256-SESS":     3,
	"MD5":              2,
	"MD5-SESS":         1,
}

// digestAlgorithm returns the canonical algorithm name of a digest challenge
// (MD5 when absent), or "" if it is one the client does not speak.
func digestAlgorithm(ch Challenge) string {
	a := strings.ToUpper(strings.TrimSpace(ch.Params["algorithm"]))
	if a == "" {
		a = "MD5"
	}
	if _, ok := digestAlgorithms[a]; !ok {
		return ""
	}
	return a
}

// digestQop picks "auth" from the challenge's qop list; "" means the server
// sent no qop (RFC 2069 compatibility) and ok=false means it offers only
// qops the client cannot do (auth-int would need the body hashed into every
// retry; no WebDAV server in the test set asks for it alone).
func digestQop(ch Challenge) (qop string, ok bool) {
	q, present := ch.Params["qop"]
	if !present {
		return "", true
	}
	for _, o := range strings.Split(q, ",") {
		if strings.EqualFold(strings.TrimSpace(o), "auth") {
			return "auth", true
		}
	}
	return "", false
}

// pickChallenge chooses the strongest challenge the client can answer:
// Digest (by algorithm) before Basic.
func pickChallenge(chs []Challenge) (Challenge, bool) {
	best, bestRank := Challenge{}, 0
	for _, ch := range chs {
		rank := 0
		switch ch.Scheme {
		case "basic":
			rank = 1
		case "digest":
			a := digestAlgorithm(ch)
			if a == "" || ch.Params["nonce"] == "" {
				continue
			}
			if _, ok := digestQop(ch); !ok {
				continue
			}
			rank = 10 + digestAlgorithms[a]
		}
		if rank > bestRank {
			best, bestRank = ch, rank
		}
	}
	return best, bestRank > 0
}

func newDigestHash(alg string) hash.Hash {
	switch strings.TrimSuffix(alg, "-SESS") {
	case "SHA-256":
		return sha256.New()
	case "SHA-512-256":
		return sha512.New512_256()
	default:
		return md5.New()
	}
}

func hexHash(alg string, parts ...string) string {
	h := newDigestHash(alg)
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// digestAuth computes an RFC 7616 Authorization value for one request. uri
// is the request-target exactly as sent (path and query, escaped); nc is the
// nonce count for this use of the nonce.
func digestAuth(ch Challenge, user, pass, method, uri, cnonce string, nc uint32) string {
	alg := digestAlgorithm(ch)
	realm := ch.Params["realm"]
	nonce := ch.Params["nonce"]
	qop, _ := digestQop(ch)
	ha1 := hexHash(alg, user, realm, pass)
	if strings.HasSuffix(alg, "-SESS") {
		ha1 = hexHash(alg, ha1, nonce, cnonce)
	}
	ha2 := hexHash(alg, method, uri)
	ncs := strconv.FormatUint(uint64(nc)|1<<32, 16)[1:] // 8 hex digits
	var resp string
	if qop == "" {
		resp = hexHash(alg, ha1, nonce, ha2)
	} else {
		resp = hexHash(alg, ha1, nonce, ncs, cnonce, qop, ha2)
	}

	var b strings.Builder
	b.WriteString("Digest ")
	userhash := strings.EqualFold(ch.Params["userhash"], "true")
	switch {
	case userhash:
		b.WriteString(`username="` + hexHash(alg, user, realm) + `", userhash=true`)
	case isQuotable(user):
		b.WriteString(`username="` + quoteParam(user) + `"`)
	default:
		// RFC 7616 section 3.4.4: a name that cannot go in a quoted string
		// goes in username* as an RFC 8187 extended value.
		b.WriteString(`username*=UTF-8''` + escapeSegment(user))
	}
	b.WriteString(`, realm="` + quoteParam(realm) + `"`)
	b.WriteString(`, uri="` + quoteParam(uri) + `"`)
	b.WriteString(`, algorithm=` + alg)
	b.WriteString(`, nonce="` + quoteParam(nonce) + `"`)
	if qop != "" {
		b.WriteString(`, nc=` + ncs + `, cnonce="` + quoteParam(cnonce) + `", qop=` + qop)
	}
	b.WriteString(`, response="` + resp + `"`)
	if op, ok := ch.Params["opaque"]; ok {
		b.WriteString(`, opaque="` + quoteParam(op) + `"`)
	}
	return b.String()
}

// isQuotable reports whether s can go inside a quoted-string as plain ASCII.
func isQuotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// quoteParam escapes s for a quoted-string. Control characters are dropped:
// a realm or nonce with CR/LF from a hostile server must not become a header
// injection (the digest then simply fails).
func quoteParam(s string) string {
	if !strings.ContainsAny(s, "\"\\\r\n\x00") && isQuotable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f:
			continue
		case c == '"' || c == '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}
