package webdav

import (
	"strconv"
	"strings"
)

// Support says whether a server keeps one of WebDAV's promises: not known
// yet, yes, or no. In JSON it is "" (omitted), "yes" or "no".
type Support int8

// The answers.
const (
	Unknown Support = iota
	Yes
	No
)

// MarshalText writes "", "yes" or "no".
func (s Support) MarshalText() ([]byte, error) {
	switch s {
	case Yes:
		return []byte("yes"), nil
	case No:
		return []byte("no"), nil
	}
	return []byte(""), nil
}

// UnmarshalText reads what MarshalText writes; anything else is Unknown.
func (s *Support) UnmarshalText(b []byte) error {
	switch string(b) {
	case "yes":
		*s = Yes
	case "no":
		*s = No
	default:
		*s = Unknown
	}
	return nil
}

// Traits is what davsync knows about one server's behaviour: what the server
// check measured and what answers showed since. The client and the sync
// cycle read it instead of branching on server names, the app layer keeps it
// per remote, and the test server (davtest) is configured by the same type.
// It never holds a username or password.
type Traits struct {
	// Login is the login the server asked for ("basic" or "digest" with its
	// last challenge): the client sends credentials with its first request
	// instead of paying a 401 (Basic only where the password crosses no
	// network unencrypted), and once Digest worked it refuses a Basic-only
	// challenge as a downgrade.
	Login *AuthState `json:"login,omitempty"`
	// IfMatch: a PUT with If-Match on a stale ETag is refused (412). Only
	// the server check finds this out; until then writes are read back.
	IfMatch Support `json:"ifMatch,omitempty"`
	// IfNoneMatch: a PUT with If-None-Match: * on an existing file is refused.
	IfNoneMatch Support `json:"ifNoneMatch,omitempty"`
	// IfHeader: the WebDAV If header with an entity tag (RFC 4918 10.4) is
	// honoured, and matches a weak ETag in its own form. On a server whose
	// ETags turn weak after a write (WeakETags) it guards a write where
	// If-Match would fail.
	IfHeader Support `json:"ifHeader,omitempty"`
	// ConditionalGet: a GET with If-None-Match on the current ETag is
	// answered 304 (npm webdav-server sends the body).
	ConditionalGet Support `json:"conditionalGet,omitempty"`
	// GetETag: a GET's answer carries the file's ETag (npm webdav-server:
	// no, though its PROPFIND reports one).
	GetETag Support `json:"getETag,omitempty"`
	// PutETag: a PUT's answer carries the new ETag (Apache and nginx: no).
	PutETag Support `json:"putETag,omitempty"`
	// PropfindETag: PROPFIND reports getetag (nginx: no).
	PropfindETag Support `json:"propfindETag,omitempty"`
	// WeakETags: ETags are weak (W/) for a while after a write, and If-Match
	// fails during that window (Apache, about a second).
	WeakETags bool `json:"weakETags,omitempty"`
	// SecondETags: ETags are built from the whole-second modification time
	// and the size (nginx), so a same-size rewrite within a second keeps the
	// ETag; a 304 for it is trusted only once it settled.
	SecondETags bool `json:"secondETags,omitempty"`
	// Copy: COPY works; when No, snapshots are uploaded instead.
	Copy Support `json:"copy,omitempty"`
	// MoveOverwrite: MOVE onto an existing file replaces it.
	MoveOverwrite Support `json:"moveOverwrite,omitempty"`
	// Checked is when the server check last ran (ms); 0: only learned from
	// answers.
	Checked int64 `json:"checked,omitempty"`
}

// WithTraits gives the client what is known about the server: its login
// (sent up front; Digest refuses a downgrade) and the behaviour it learns
// more of from answers (Client.Traits).
func WithTraits(t Traits) Option {
	return func(c *config) {
		c.traits = t
		if t.Login != nil {
			WithAuthState(*t.Login)(c)
			c.refuseBasic = c.refuseBasic || strings.EqualFold(t.Login.Scheme, "digest")
		}
	}
}

// Traits returns what the client knows about the server now: what it was
// given and what answers showed since. Save it after every use of the
// client (Digest nonces change).
func (c *Client) Traits() Traits {
	c.mu.Lock()
	t := c.traits
	c.mu.Unlock()
	if st := c.AuthState(); st.Scheme != "" {
		t.Login = &st
	}
	return t
}

// learn updates the client's traits under its lock.
func (c *Client) learn(f func(t *Traits)) {
	c.mu.Lock()
	f(&c.traits)
	c.mu.Unlock()
}

// learnETag notes what an ETag's form says about the server: weak tags
// (Apache right after a write) and ETags built from whole seconds (nginx).
func (c *Client) learnETag(raw string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return
	}
	weak := strings.HasPrefix(raw, "W/") || strings.HasPrefix(raw, "w/")
	second := SecondETag(NormalizeETag(raw))
	if weak || second {
		c.learn(func(t *Traits) {
			t.WeakETags = t.WeakETags || weak
			t.SecondETags = t.SecondETags || second
		})
	}
}

// SecondETag reports whether an ETag looks like nginx's "<mtime seconds
// hex>-<size hex>", whose value survives a same-size rewrite within the
// same second. (Apache's "<size>-<mtime µs>" and content-hash ETags do not
// match.)
func SecondETag(etag string) bool {
	a, b, ok := strings.Cut(etag, "-")
	if !ok || len(a) < 8 || len(a) > 9 || b == "" {
		return false
	}
	secs, err := strconv.ParseInt(a, 16, 64)
	if err != nil {
		return false
	}
	if _, err := strconv.ParseInt(b, 16, 64); err != nil {
		return false
	}
	return secs > 1e9 && secs < 1e10 // 2001 .. 2286
}
