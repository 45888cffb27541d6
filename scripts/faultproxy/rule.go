package faultproxy

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
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
)

var kinds = []Kind{ResetBefore, ResetAfter, Status, Delay, Trickle, Truncate, DropWrite, StripETag, FakeETag, WeakETag, Redirect}

func (k Kind) terminal() bool {
	return k == ResetBefore || k == Status || k == DropWrite || k == Redirect
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

	Status       int           `json:"status,omitempty"`        // Status, DropWrite, Redirect
	RetryAfter   string        `json:"retry_after,omitempty"`   // Status: seconds ("5") or an HTTP date
	Delay        time.Duration `json:"-"`                       // Delay
	TrickleBytes int           `json:"trickle_bytes,omitempty"` // Trickle: bytes per piece (default 1)
	TrickleEvery time.Duration `json:"-"`                       // Trickle: pause between pieces
	TruncateAt   int           `json:"truncate_at,omitempty"`   // Truncate: body bytes sent before closing
	ETag         string        `json:"etag,omitempty"`          // FakeETag, DropWrite: the value, quotes included
	Location     string        `json:"location,omitempty"`      // Redirect
}

// UnmarshalJSON reads a rule with durations written as Go duration strings
// ("delay": "250ms", "trickle_every": "10ms").
func (r *Rule) UnmarshalJSON(b []byte) error {
	type plain Rule
	aux := struct {
		*plain
		Delay        string `json:"delay"`
		TrickleEvery string `json:"trickle_every"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	var err error
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

// MarshalJSON writes durations the way UnmarshalJSON reads them.
func (r Rule) MarshalJSON() ([]byte, error) {
	type plain Rule
	aux := struct {
		plain
		Delay        string `json:"delay,omitempty"`
		TrickleEvery string `json:"trickle_every,omitempty"`
	}{plain: plain(r)}
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
	case r.Prob < 0 || r.Prob > 1:
		return fmt.Errorf("prob must be between 0 and 1")
	}
	return nil
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
