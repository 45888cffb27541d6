package webdav

import (
	"strconv"
	"strings"
	"time"
)

// NormalizeETag reduces an ETag as servers send it (`"abc"`, `W/"abc"`,
// `abc`, with or without surrounding space) to its opaque value `abc`.
//
// Weakness is dropped on purpose: Apache marks a fresh ETag weak for about a
// second after a write, and the same entity must compare equal before and
// after. Quotes are dropped because some servers quote getetag and not the
// ETag header or the other way round. quoteETag turns the value back into a
// header value, so NormalizeETag(quoteETag(v)) == v for every v without
// control characters.
//
// An ETag whose value is longer than maxETag is no ETag at all (""): real
// ones are short hashes or counters, and a value that long is a broken or
// hostile server trying to make davsync store and resend it. The limit is
// on the value, not on what the server sent around it, so a value kept
// reads as itself when it comes back quoted.
func NormalizeETag(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "W/") || strings.HasPrefix(s, "w/") {
		s = s[2:]
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if len(s) > maxETag {
		return ""
	}
	return s
}

// maxETag is the longest ETag the client keeps.
const maxETag = 512

// quoteETag makes a stored ETag into an If-Match / If-None-Match value.
// Control characters are dropped so that a hostile ETag cannot inject a
// header; the altered value then simply fails to match (412), which is safe.
func quoteETag(v string) string {
	b := make([]byte, 0, len(v)+2)
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			continue
		}
		b = append(b, v[i])
	}
	return string(append(b, '"'))
}

// httpDateLayouts are the three date forms RFC 9110 obliges a recipient to
// accept, most common first.
var httpDateLayouts = []string{
	time.RFC1123,                     // Sun, 06 Nov 1994 08:49:37 GMT
	"Monday, 02-Jan-06 15:04:05 MST", // RFC 850
	time.ANSIC,                       // Sun Nov  6 08:49:37 1994
	"Mon, 2 Jan 2006 15:04:05 MST",   // single-digit day, seen in the wild
	time.RFC1123Z,
}

// ParseHTTPDate parses an HTTP-date (Date, Last-Modified, Retry-After).
func ParseHTTPDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, l := range httpDateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseDAVDate parses getlastmodified, which servers send as an HTTP-date
// (as RFC 4918 says) or, some of them, as ISO 8601.
func parseDAVDate(s string) time.Time {
	if t, ok := ParseHTTPDate(s); ok {
		return t
	}
	s = strings.TrimSpace(s)
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// maxRetryAfter bounds what a server can ask for: a Retry-After of a year is
// a broken server, not a plan.
const maxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After header, either delay-seconds or an
// HTTP-date, relative to now. It returns the absolute time to wait until,
// capped at now+24h and never before now, and false when the header is
// absent or unreadable.
func ParseRetryAfter(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			// Too many digits for uint64 is still "a very long time".
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return now.Add(maxRetryAfter), true
			}
			return time.Time{}, false
		}
		if n > uint64(maxRetryAfter/time.Second) {
			return now.Add(maxRetryAfter), true
		}
		return now.Add(time.Duration(n) * time.Second), true
	}
	t, ok := ParseHTTPDate(v)
	if !ok {
		return time.Time{}, false
	}
	if t.Before(now) {
		return now, true
	}
	if t.After(now.Add(maxRetryAfter)) {
		return now.Add(maxRetryAfter), true
	}
	return t, true
}

// retryAfterOf is when resp allows the next request, on this device's
// clock (now). The date form of Retry-After is measured against the
// response's own Date header when it has one (RFC 9110, 10.2.3): a server
// whose clock is off, a NAS set to local time, would otherwise make
// davsync wait hours too long, or not at all.
func retryAfterOf(resp *Response, now time.Time) (time.Time, bool) {
	v := strings.TrimSpace(resp.Header["retry-after"])
	if v == "" || (v[0] >= '0' && v[0] <= '9') {
		return ParseRetryAfter(v, now)
	}
	sent, ok := ParseHTTPDate(resp.Header["date"])
	if !ok {
		return ParseRetryAfter(v, now)
	}
	t, ok := ParseRetryAfter(v, sent)
	if !ok {
		return time.Time{}, false
	}
	return now.Add(t.Sub(sent)), true
}
