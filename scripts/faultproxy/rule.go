package faultproxy

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind names a fault. The strings are what the control API and the cmd's
// rule files use.
type Kind string

// The faults. "Terminal" faults answer instead of the server; the others
// change how the server's answer reaches the client and combine freely.
const (
	// ResetBefore resets the connection without forwarding (terminal).
	ResetBefore Kind = "reset-before"
	// ResetAfter forwards the request (the server acts on it) and then resets
	// the connection instead of answering: the client cannot know the write
	// landed.
	ResetAfter Kind = "reset-after"
	// Status answers Rule.Status (e.g. 500, 502, 503, 429, 507, 423, 413)
	// with Rule.RetryAfter when set, without forwarding (terminal).
	Status Kind = "status"
	// Delay waits Rule.Delay before forwarding (slow headers).
	Delay Kind = "delay"
	// Trickle sends the response body Rule.TrickleBytes at a time with
	// Rule.TrickleEvery between the pieces.
	Trickle Kind = "trickle"
	// Truncate declares the full Content-Length but sends only
	// Rule.TruncateAt bytes of the body, then closes the connection.
	Truncate Kind = "truncate"
	// DropWrite does not forward and answers Rule.Status (default 204) as if
	// the write had been stored, with Rule.ETag as ETag when set (terminal).
	DropWrite Kind = "drop-write"
	// StripETag removes the ETag header and every getetag property in
	// multistatus bodies.
	StripETag Kind = "strip-etag"
	// FakeETag replaces the ETag header and every getetag value with
	// Rule.ETag, or with a new unique value per response when it is empty.
	FakeETag Kind = "fake-etag"
	// WeakETag marks the ETag header and getetag values weak (W/"...").
	WeakETag Kind = "weak-etag"
	// Redirect answers Rule.Status (default 307) with Location Rule.Location
	// (terminal). "{path}" in Location is replaced by the request's path and
	// query, so a redirect can move to another host or prefix.
	Redirect Kind = "redirect"

	// The faults below play a hostile server or a man in the middle.

	// Replace answers Rule.Status (default 200) with the body Rule.Body, the
	// ETag Rule.ETag and the Content-Type Rule.ContentType when they are set
	// (verbatim; no Content-Type is sent otherwise) and a correct
	// Content-Length, without forwarding (terminal): the server hands out a
	// document of the attacker's choosing.
	Replace Kind = "replace"
	// Challenge answers 401 with "WWW-Authenticate: " + Rule.Challenge
	// (e.g. `Basic realm="x"`), without forwarding (terminal): an
	// authentication downgrade.
	Challenge Kind = "challenge"
	// Endless answers Rule.Status (default 200, and 207 for PROPFIND) and
	// streams a body that never ends, until the client goes away or the proxy
	// closes (terminal). A 207 body is a well-formed multistatus that never
	// closes (one <d:response> after another); other bodies repeat a byte
	// pattern. The Content-Type is Rule.ContentType, else application/xml for
	// 207 and application/octet-stream otherwise. With Rule.DeclaredLength >
	// 0 that is sent as Content-Length (a lie: the bytes keep coming past
	// it), otherwise the body is chunked. Stats.EndlessBytes counts the body
	// bytes the client's socket accepted, Stats.EndlessOpen the streams
	// still running.
	Endless Kind = "endless"
	// HugeMultistatus answers 207 with a well-formed multistatus of
	// Rule.Size bytes (default 16 MiB; more when Size is too small for the
	// frame) listing made-up files in the requested collection, with a
	// correct Content-Length, without forwarding (terminal).
	HugeMultistatus Kind = "huge-multistatus"
)

var kinds = []Kind{ResetBefore, ResetAfter, Status, Delay, Trickle, Truncate, DropWrite, StripETag, FakeETag, WeakETag, Redirect,
	Replace, Challenge, Endless, HugeMultistatus}

func (k Kind) terminal() bool {
	switch k {
	case ResetBefore, Status, DropWrite, Redirect, Replace, Challenge, Endless, HugeMultistatus:
		return true
	}
	return false
}

// Rule says which requests get which fault. A request matches when its
// method and path match; among the matching requests the rule fires on the
// Nth one and after it, at most Times times, each time with probability Prob.
type Rule struct {
	// Method matches the request method, case-insensitively; "" matches any.
	Method string `json:"method,omitempty"`
	// Path matches when it is a substring of the request path; "" matches any.
	Path string `json:"path,omitempty"`
	// Nth is the first matching request (1-based) the rule may fire on;
	// 0 means the first.
	Nth int `json:"nth,omitempty"`
	// Times is how often the rule fires at most: 0 means once when Nth is
	// set and without limit otherwise; a negative value means without limit.
	Times int `json:"times,omitempty"`
	// Prob, when between 0 and 1 exclusive, is the chance that an eligible
	// request gets the fault, drawn from the proxy's seeded random source.
	Prob float64 `json:"prob,omitempty"`

	Fault Kind `json:"fault"`

	Status       int           `json:"status,omitempty"`        // Status, DropWrite, Redirect, Replace, Endless
	RetryAfter   string        `json:"retry_after,omitempty"`   // Status: seconds ("5") or an HTTP date, verbatim
	Delay        time.Duration `json:"-"`                       // Delay
	TrickleBytes int           `json:"trickle_bytes,omitempty"` // Trickle: bytes per piece (default 1)
	TrickleEvery time.Duration `json:"-"`                       // Trickle: pause between pieces
	TruncateAt   int           `json:"truncate_at,omitempty"`   // Truncate: body bytes sent before closing
	ETag         string        `json:"etag,omitempty"`          // FakeETag, DropWrite, Replace: the value, quotes included
	Location     string        `json:"location,omitempty"`      // Redirect

	// Body is the Replace body. It may hold any bytes; in JSON it is "body"
	// (a string) or, for binary content, "body_b64" (standard base64).
	Body        string `json:"body,omitempty"`
	ContentType string `json:"content_type,omitempty"` // Replace, Endless: the Content-Type
	Challenge   string `json:"challenge,omitempty"`    // Challenge: the WWW-Authenticate value
	// DeclaredLength, when > 0, is the Content-Length an Endless answer
	// claims.
	DeclaredLength int64 `json:"declared_length,omitempty"`
	Size           int64 `json:"size,omitempty"` // HugeMultistatus: body size in bytes (default 16 MiB)
	// RawHeader writes the ETag header (of FakeETag, DropWrite, Replace)
	// byte for byte on the hijacked connection, so CR, LF and other control
	// characters in ETag reach the client as they are; net/http would turn
	// CR and LF into spaces. Such responses end with "Connection: close"
	// and are sent at once (Trickle does not apply).
	RawHeader bool `json:"raw_header,omitempty"`
}

// UnmarshalJSON reads a rule with durations written as Go duration strings
// ("delay": "250ms", "trickle_every": "10ms").
func (r *Rule) UnmarshalJSON(b []byte) error {
	type plain Rule
	aux := struct {
		*plain
		Delay        string `json:"delay"`
		TrickleEvery string `json:"trickle_every"`
		BodyB64      string `json:"body_b64"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	var err error
	if aux.BodyB64 != "" {
		if r.Body != "" {
			return fmt.Errorf("give body or body_b64, not both")
		}
		data, err := base64.StdEncoding.DecodeString(aux.BodyB64)
		if err != nil {
			return fmt.Errorf("body_b64: %w", err)
		}
		r.Body = string(data)
	}
	if aux.Delay != "" {
		if r.Delay, err = time.ParseDuration(aux.Delay); err != nil {
			return fmt.Errorf("delay: %w", err)
		}
	}
	if aux.TrickleEvery != "" {
		if r.TrickleEvery, err = time.ParseDuration(aux.TrickleEvery); err != nil {
			return fmt.Errorf("trickle_every: %w", err)
		}
	}
	return r.validate()
}

// MarshalJSON writes durations the way UnmarshalJSON reads them, and a
// Body that is not UTF-8 as body_b64.
func (r Rule) MarshalJSON() ([]byte, error) {
	type plain Rule
	aux := struct {
		plain
		Delay        string `json:"delay,omitempty"`
		TrickleEvery string `json:"trickle_every,omitempty"`
		BodyB64      string `json:"body_b64,omitempty"`
	}{plain: plain(r)}
	if !utf8.ValidString(r.Body) {
		aux.BodyB64 = base64.StdEncoding.EncodeToString([]byte(r.Body))
		aux.plain.Body = ""
	}
	if r.Delay != 0 {
		aux.Delay = r.Delay.String()
	}
	if r.TrickleEvery != 0 {
		aux.TrickleEvery = r.TrickleEvery.String()
	}
	return json.Marshal(aux)
}

func (r *Rule) validate() error {
	known := false
	for _, k := range kinds {
		known = known || r.Fault == k
	}
	switch {
	case !known:
		return fmt.Errorf("unknown fault %q", r.Fault)
	case r.Fault == Status && (r.Status < 100 || r.Status > 599):
		return fmt.Errorf("fault status needs a status code, not %d", r.Status)
	case r.Fault == Redirect && r.Location == "":
		return fmt.Errorf("fault redirect needs a location")
	case r.Fault == Redirect && r.Status != 0 && (r.Status < 300 || r.Status > 399):
		return fmt.Errorf("fault redirect needs a 3xx status, not %d", r.Status)
	case r.Fault == DropWrite && r.Status != 0 && (r.Status < 200 || r.Status > 299):
		return fmt.Errorf("fault drop-write needs a 2xx status, not %d", r.Status)
	case r.Fault == Truncate && r.TruncateAt < 0:
		return fmt.Errorf("truncate_at must not be negative")
	case r.Fault == Replace && r.Status != 0 && (r.Status < 200 || r.Status > 599):
		return fmt.Errorf("fault replace needs a status from 200 to 599, not %d", r.Status)
	case r.Fault == Replace && noBodyStatus(r.Status) && r.Body != "":
		return fmt.Errorf("fault replace cannot send a body with status %d", r.Status)
	case r.Fault == Challenge && r.Challenge == "":
		return fmt.Errorf("fault challenge needs a challenge (the WWW-Authenticate value)")
	case r.Fault == Endless && r.Status != 0 && (r.Status < 200 || r.Status > 599 || noBodyStatus(r.Status)):
		return fmt.Errorf("fault endless needs a status with a body, not %d", r.Status)
	case r.DeclaredLength < 0 || r.Size < 0:
		return fmt.Errorf("declared_length and size must not be negative")
	case r.RawHeader && r.Fault != FakeETag && r.Fault != DropWrite && r.Fault != Replace:
		return fmt.Errorf("raw_header applies to fake-etag, drop-write and replace, not %s", r.Fault)
	case r.Prob < 0 || r.Prob > 1:
		return fmt.Errorf("prob must be between 0 and 1")
	}
	return nil
}

func noBodyStatus(s int) bool {
	return s == 204 || s == 304
}

// rule is a Rule with its counters.
type rule struct {
	Rule
	id      int
	matched int // matching requests seen
	fired   int
}

func (r *rule) matches(method, path string) bool {
	return (r.Method == "" || strings.EqualFold(r.Method, method)) && strings.Contains(path, r.Path)
}

// eligible counts a matching request and reports whether the rule may fire
// on it, before the probability draw.
func (r *rule) eligible() bool {
	r.matched++
	first := max(r.Nth, 1)
	limit := r.Times
	if limit == 0 && r.Nth > 0 {
		limit = 1
	}
	return r.matched >= first && (limit <= 0 || r.fired < limit)
}
