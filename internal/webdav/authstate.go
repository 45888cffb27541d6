package webdav

import "strings"

// AuthState is what a Client learned about a server's login: the scheme
// and, for Digest, the challenge it answers. It never holds the username or
// the password, so it may be stored next to the other per-server facts
// (e.g. beside a CheckResult) and given back to the next Client with
// WithAuthState. Then that client sends credentials with its first request
// instead of paying a 401 round trip to learn the scheme: a sync cycle whose
// file did not change costs one request (a GET answered 304), not two.
//
// The zero value means "not known": the client waits for a 401 as before.
type AuthState struct {
	// Scheme is "basic" or "digest" ("" or "none": not known / no login).
	Scheme string `json:"scheme"`
	// The Digest challenge parameters (empty for Basic). Nonce and Opaque
	// are the server's public values from WWW-Authenticate, not secrets.
	Realm     string `json:"realm,omitempty"`
	Nonce     string `json:"nonce,omitempty"`
	Opaque    string `json:"opaque,omitempty"`
	Algorithm string `json:"algorithm,omitempty"` // e.g. "MD5", "SHA-256"
	Qop       string `json:"qop,omitempty"`       // as offered, e.g. "auth,auth-int"
	Userhash  bool   `json:"userhash,omitempty"`
}

// WithAuthScheme makes the client send credentials with its first request
// when the scheme is already known ("basic", e.g. CheckResult.AuthScheme of
// an earlier check). "digest" alone cannot be answered without a nonce, so
// it changes nothing (use WithAuthState); "", "none" and unknown schemes
// change nothing either.
func WithAuthScheme(scheme string) Option {
	return WithAuthState(AuthState{Scheme: scheme})
}

// WithAuthState gives the client a login state saved from an earlier
// client's AuthState, so the first request already carries credentials:
// Basic as is, Digest with the stored nonce and a fresh cnonce and nonce
// count. If the server no longer accepts the stored nonce (any 401, stale or
// not), the client answers the new challenge and retries once; only a 401 to
// that retry is a credential failure. A state the client cannot use (no
// nonce, an algorithm or qop it does not speak) is ignored, and so is any
// state when the client has neither username nor password.
func WithAuthState(st AuthState) Option {
	return func(c *config) {
		if ch, ok := st.challenge(); ok {
			c.authState = &ch
		} else {
			c.authState = nil
		}
	}
}

// challenge rebuilds the challenge a state was taken from; ok is false when
// it is not one the client can answer.
func (st AuthState) challenge() (Challenge, bool) {
	switch strings.ToLower(strings.TrimSpace(st.Scheme)) {
	case "basic":
		return Challenge{Scheme: "basic", Params: map[string]string{}}, true
	case "digest":
		if st.Nonce == "" {
			return Challenge{}, false
		}
		p := map[string]string{"realm": st.Realm, "nonce": st.Nonce}
		if st.Opaque != "" {
			p["opaque"] = st.Opaque
		}
		if st.Algorithm != "" {
			p["algorithm"] = st.Algorithm
		}
		if st.Qop != "" {
			p["qop"] = st.Qop
		}
		if st.Userhash {
			p["userhash"] = "true"
		}
		ch := Challenge{Scheme: "digest", Params: p}
		if _, ok := pickChallenge([]Challenge{ch}); !ok {
			return Challenge{}, false
		}
		return ch, true
	}
	return Challenge{}, false
}

// AuthState returns what the client knows about the server's login now
// (the zero value before any challenge and when the server asks for none).
// Digest nonces change over time: save the value again after a sync so the
// next client starts with a current one. It is safe to call concurrently
// with requests.
func (c *Client) AuthState() AuthState {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.auth.scheme {
	case "basic":
		return AuthState{Scheme: "basic"}
	case "digest":
		p := c.auth.ch.Params
		return AuthState{
			Scheme:    "digest",
			Realm:     p["realm"],
			Nonce:     p["nonce"],
			Opaque:    p["opaque"],
			Algorithm: digestAlgorithm(c.auth.ch),
			Qop:       p["qop"],
			Userhash:  strings.EqualFold(p["userhash"], "true"),
		}
	}
	return AuthState{}
}
