package webdav

import (
	"strings"
	"unicode/utf8"

	"github.com/davsync/davsync/internal/errkind"
)

// statusError turns an HTTP answer the operation did not expect into an
// *errkind.Error whose message says what happened and what the user can do.
// rel is the path the operation was about (for the message); it never
// contains credentials, and neither does anything else used here.
func (c *Client) statusError(op, method, rel string, resp *Response) *errkind.Error {
	s := resp.Status
	name := "\"" + rel + "\""
	if rel == "" {
		name = "the configured folder"
	}
	code := " (HTTP " + itoa(s) + ")"
	e := func(k errkind.Kind, msg string) *errkind.Error { return errkind.New(k, op, msg+code) }
	switch {
	case s == 401:
		return e(errkind.Auth, "the server rejected the username or password; check them in the settings (an app password may be needed if the account uses two-factor login)"+c.unsupportedAuth(resp))
	case s == 403:
		return e(errkind.Forbidden, "the server accepted the login but refused access to "+name+"; check that this account may read and write that folder")
	case (s == 404 || s == 409 || s == 424) && method == "PUT":
		return e(errkind.FolderMissing, "the folder that should contain "+name+" does not exist on the server; davsync creates it when it syncs — or check the folder URL in the settings")
	case s == 404 && method == "MKCOL":
		return e(errkind.FolderMissing, "the folder that should contain "+name+" does not exist on the server; check the folder path in the settings")
	case s == 404:
		return e(errkind.NotFound, name+" does not exist on the server")
	case s == 409 || s == 424:
		return e(errkind.FolderMissing, "the folder that should contain "+name+" does not exist on the server; check the folder path in the settings")
	case s == 412:
		return e(errkind.Precondition, name+" was changed on the server by someone else since it was last read; read it again before writing")
	case s == 423:
		return e(errkind.Locked, name+" is locked by another program on the server; wait until it finishes or remove the lock on the server")
	case s == 507:
		return e(errkind.InsufficientStorage, "the server has no space left for "+name+"; free space or raise the account's quota")
	case s == 413:
		return e(errkind.TooLarge, "the server refused "+name+" as too large; raise the server's upload limit (for nginx, client_max_body_size)")
	case s == 405 || s == 501:
		return e(errkind.Unsupported, "the server does not allow "+method+" on "+name+"; check that the URL points at a WebDAV folder")
	case s == 429 || (s == 503 && resp.Header["retry-after"] != ""):
		err := e(errkind.RateLimited, "the server asks to slow down; davsync will try again later")
		if t, ok := retryAfterOf(resp, c.cfg.now()); ok {
			err.RetryAfter = t
			err.Msg = "the server asks to slow down until " + t.UTC().Format("15:04:05 UTC") + "; davsync will try again then" + code
		}
		return err
	case s == 503:
		return e(errkind.Server, "the server is temporarily unavailable; try again later")
	case s >= 500:
		return e(errkind.Server, "the server failed to handle the request; try again later, and if it keeps failing check the server's error log")
	case s == 408:
		return e(errkind.Timeout, "the server gave up waiting for the request; check the connection and try again")
	case s >= 300 && s < 400:
		loc := clip(redactURL(resolveRef(c.urlFor(rel, false), resp.Header["location"])), 200)
		if loc == "" {
			return e(errkind.Redirected, "the server redirects this address elsewhere without saying where; check the server URL in the settings")
		}
		return e(errkind.Redirected, "the server moved to "+loc+"; update the server URL in the settings")
	case s == 400:
		return e(errkind.BadResponse, "the server refused the request as malformed; it may not support WebDAV at this URL")
	}
	return e(errkind.BadResponse, "the server answered unexpectedly to "+method+" on "+name)
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

// unsupportedAuth explains a 401 whose challenges the client cannot answer
// (NTLM, Bearer, ...), because then the password is not the problem.
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
	return "; the server only offers " + strings.Join(names, ", ") + " login, which davsync does not support (it needs Basic or Digest)"
}
