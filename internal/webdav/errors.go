package webdav

import (
	"strings"
	"unicode/utf8"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// statusError turns an HTTP answer the operation did not expect into an
// *errkind.Error whose message says what happened and what the user can do.
// rel is the path the operation was about (for the message); it never
// contains credentials, and neither does anything else used here.
func (c *Client) statusError(op, method, rel string, resp *Response) *errkind.Error {
	s := resp.Status
	name := rel
	if rel == "" {
		name = c.base.Path
	}
	code := itoa(s)
	e := func(k errkind.Kind, key string, args ...string) *errkind.Error {
		return errkind.Say(k, op, msg.New(key, append(args, code)...))
	}
	switch {
	case s == 401:
		if schemes := c.unsupportedAuth(resp); schemes != "" {
			return e(errkind.Auth, "errHTTPAuthScheme", schemes)
		}
		return e(errkind.Auth, "errHTTPAuth")
	case s == 403:
		return e(errkind.Forbidden, "errHTTPForbidden", name)
	case (s == 404 || s == 409 || s == 424) && method == "PUT":
		return e(errkind.FolderMissing, "errHTTPPutNoFolder", name)
	case s == 404 && method == "MKCOL", s == 409 || s == 424:
		return e(errkind.FolderMissing, "errHTTPNoFolder", name)
	case s == 404:
		return e(errkind.NotFound, "errHTTPNotFound", name)
	case s == 412:
		return e(errkind.Precondition, "errHTTPChanged", name)
	case s == 423:
		return e(errkind.Locked, "errHTTPLocked", name)
	case s == 507:
		return e(errkind.InsufficientStorage, "errHTTPFull", name)
	case s == 413:
		return e(errkind.TooLarge, "errHTTPTooLarge", name)
	case s == 405 || s == 501:
		return e(errkind.Unsupported, "errHTTPMethod", method, name)
	case s == 429 || (s == 503 && resp.Header["retry-after"] != ""):
		if t, ok := retryAfterOf(resp, c.cfg.now()); ok {
			err := e(errkind.RateLimited, "errHTTPSlowDownUntil", t.UTC().Format("15:04:05 UTC"))
			err.RetryAfter = t
			return err
		}
		return e(errkind.RateLimited, "errHTTPSlowDown")
	case s == 503:
		return e(errkind.Server, "errHTTPUnavailable")
	case s >= 500:
		return e(errkind.Server, "errHTTPServer")
	case s == 408:
		return e(errkind.Timeout, "errHTTPTimeout")
	case s >= 300 && s < 400:
		loc := clip(redactURL(resolveRef(c.urlFor(rel, false), resp.Header["location"])), 200)
		if loc == "" {
			return e(errkind.Redirected, "errHTTPRedirectNowhere")
		}
		return e(errkind.Redirected, "errHTTPRedirect", loc)
	case s == 400:
		return e(errkind.BadResponse, "errHTTPMalformed")
	}
	return e(errkind.BadResponse, "errHTTPUnexpected", method, name)
}

// clip makes a server-supplied string safe to show: no control characters
// and at most n bytes (whole runes), so a hostile header cannot flood the
// status page or forge extra lines in it.
func clip(s string, n int) string {
	out := make([]rune, 0, min(len(s), n))
	size := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			continue
		}
		if size += utf8.RuneLen(r); size > n {
			return string(out) + "…"
		}
		out = append(out, r)
	}
	return string(out)
}

// unsupportedAuth names the schemes of a 401 whose challenges the client
// cannot answer (NTLM, Bearer, ...), because then the password is not the
// problem; "" when it can answer one.
func (c *Client) unsupportedAuth(resp *Response) string {
	chs := ParseWWWAuthenticate(resp.Header["www-authenticate"])
	if len(chs) == 0 {
		return ""
	}
	if _, ok := pickChallenge(chs); ok {
		return ""
	}
	names := make([]string, 0, len(chs))
	for _, ch := range chs {
		names = append(names, clip(ch.Scheme, 20))
	}
	return strings.Join(names, ", ")
}
