package webdav

import (
	"strings"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// cleanRel turns a caller's path ("a/b c/d.json", "/a/", "") into the
// canonical relative form: no leading or trailing slash, no empty, "." or
// ".." segments. ".." is refused rather than resolved so that no path can
// leave the configured folder.
func cleanRel(op, p string) (string, error) {
	if strings.ContainsAny(p, "\x00\r\n") {
		return "", errkind.Say(errkind.Invalid, op, msg.New("errPathControl"))
	}
	parts := strings.Split(p, "/")
	out := parts[:0]
	for _, s := range parts {
		switch s {
		case "", ".":
			continue
		case "..":
			return "", errkind.Say(errkind.Invalid, op, msg.New("errPathDotDot", p))
		}
		out = append(out, s)
	}
	return strings.Join(out, "/"), nil
}

// escapeSegment percent-encodes everything but RFC 3986 unreserved
// characters. Being stricter than url.PathEscape costs nothing and avoids
// servers that treat '+', ';', ':' or '@' in a path specially.
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// escapePath escapes each segment of a clean relative path.
func escapePath(rel string) string {
	if rel == "" {
		return ""
	}
	parts := strings.Split(rel, "/")
	for i, s := range parts {
		parts[i] = escapeSegment(s)
	}
	return strings.Join(parts, "/")
}

// unescapeLenient decodes %XX in either case. Unlike url.PathUnescape it
// never fails: a '%' not followed by two hex digits stays as it is, because
// a listing must not break over one odd name some other client wrote.
func unescapeLenient(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// hrefPath reduces an href from a multistatus (absolute URL, absolute path
// or a path relative to the request URL) to an unescaped absolute path
// without a trailing slash, and reports whether it had one.
func hrefPath(href, reqPath string) (p string, slash bool) {
	h := strings.TrimSpace(href)
	if i := strings.Index(h, "://"); i > 0 && !strings.Contains(h[:i], "/") {
		rest := h[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			h = rest[j:]
		} else {
			h = "/"
		}
	}
	if i := strings.IndexAny(h, "?#"); i >= 0 {
		h = h[:i]
	}
	if !strings.HasPrefix(h, "/") {
		dir := reqPath
		if !strings.HasSuffix(dir, "/") {
			if j := strings.LastIndexByte(dir, '/'); j >= 0 {
				dir = dir[:j+1]
			} else {
				dir = "/"
			}
		}
		h = dir + h
	}
	h = unescapeLenient(h)
	slash = strings.HasSuffix(h, "/")
	// Collapse duplicate slashes and "." segments so that hrefs from servers
	// that write "//dav/x" or "/dav/./x" still compare equal.
	parts := strings.Split(h, "/")
	out := make([]string, 0, len(parts))
	for _, s := range parts {
		switch s {
		case "", ".":
			continue
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			continue
		}
		out = append(out, s)
	}
	return "/" + strings.Join(out, "/"), slash
}

// redactURL drops any user:password@ from a URL before it goes into a
// message. It works on the raw text, so it also cleans URLs that do not
// parse (a password with a space makes url.Parse fail).
func redactURL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return raw
	}
	return raw[:i+3] + rest[at+1:]
}
