package webdav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// Resource is one file or folder as a PROPFIND reports it.
type Resource struct {
	// Path is relative to the client's folder, unescaped, '/'-separated,
	// without a leading or trailing slash ("" is the folder itself).
	Path  string
	IsDir bool
	// ETag is normalised (see NormalizeETag); "" when the server sent none
	// (nginx never does in PROPFIND).
	ETag string
	// Size is getcontentlength, -1 when the server did not say.
	Size int64
	// Modified is getlastmodified; zero when absent or unreadable.
	Modified    time.Time
	ContentType string
}

// The XML shapes below use local names only, so they match DAV: elements
// whatever prefix the server picked ("d:", "D:", "lp1:", a default
// namespace, or, for broken servers, no namespace at all).
type msMultistatus struct {
	Responses []msResponse `xml:"response"`
}

type msResponse struct {
	Hrefs     []string     `xml:"href"`
	Status    string       `xml:"status"`
	Propstats []msPropstat `xml:"propstat"`
}

type msPropstat struct {
	Status string `xml:"status"`
	Prop   msProp `xml:"prop"`
}

type msProp struct {
	ResourceType *msResourceType `xml:"resourcetype"`
	ETag         *string         `xml:"getetag"`
	Length       *string         `xml:"getcontentlength"`
	Modified     *string         `xml:"getlastmodified"`
	ContentType  *string         `xml:"getcontenttype"`
}

type msResourceType struct {
	Collection *struct{} `xml:"collection"`
}

// msEntry is one <response> reduced to what the client uses.
type msEntry struct {
	path   string // unescaped absolute path, no trailing slash ("/" for the root)
	slash  bool   // the href ended in '/'
	status int    // the response-level status; 0 when it has propstats instead
	res    Resource
	// rawETag is getetag as sent (W/ and all), for what it says about the
	// server (Client.learnETag).
	rawETag string
}

// parseMultistatus reads a 207 body. reqPath is the unescaped path of the
// request URL, used to resolve relative hrefs. It refuses bodies above max
// bytes and anything whose root element is not a multistatus.
func parseMultistatus(op string, body []byte, reqPath string, max int64) ([]msEntry, error) {
	if max > 0 && int64(len(body)) > max {
		return nil, errkind.Say(errkind.TooLarge, op, msg.New("errListingTooLarge", formatSize(max)))
	}
	if looksLikeHTML(body) {
		return nil, notDAVError(op)
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader
	var start xml.StartElement
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) && len(bytes.TrimSpace(body)) == 0 {
				return nil, errkind.Say(errkind.BadResponse, op, msg.New("errEmptyListing"))
			}
			if errors.Is(err, io.EOF) {
				err = errors.New("no XML element")
			}
			return nil, errkind.SayWrap(errkind.BadResponse, op, msg.New("errNotXML"), err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			start = se
			break
		}
	}
	switch strings.ToLower(start.Name.Local) {
	case "multistatus":
	case "html":
		return nil, notDAVError(op)
	default:
		return nil, errkind.Say(errkind.BadResponse, op, msg.New("errNotMultistatus", truncate(start.Name.Local, 40)))
	}
	var ms msMultistatus
	if err := d.DecodeElement(&ms, &start); err != nil {
		return nil, errkind.SayWrap(errkind.BadResponse, op, msg.New("errBrokenListing"), err)
	}
	out := make([]msEntry, 0, len(ms.Responses))
	for _, r := range ms.Responses {
		for _, href := range r.Hrefs {
			if strings.TrimSpace(href) == "" {
				continue
			}
			out = append(out, r.entry(href, reqPath))
		}
	}
	return out, nil
}

func (r *msResponse) entry(href, reqPath string) msEntry {
	p, slash := hrefPath(href, reqPath)
	e := msEntry{path: p, slash: slash, res: Resource{Size: -1}}
	if len(r.Propstats) == 0 {
		e.status = statusCode(r.Status)
		if e.status == 0 {
			e.status = 200
		}
	}
	sawType := false
	for _, ps := range r.Propstats {
		// A propstat without a status line is taken as 200; a 404 propstat
		// lists the properties the server does not have, whose (empty)
		// elements must not be read as values.
		if st := statusCode(ps.Status); st != 0 && (st < 200 || st > 299) {
			continue
		}
		pr := ps.Prop
		if pr.ResourceType != nil {
			sawType = true
			if pr.ResourceType.Collection != nil {
				e.res.IsDir = true
			}
		}
		if pr.ETag != nil {
			e.rawETag = *pr.ETag
			e.res.ETag = NormalizeETag(*pr.ETag)
		}
		if pr.Length != nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(*pr.Length), 10, 64); err == nil && n >= 0 {
				e.res.Size = n
			}
		}
		if pr.Modified != nil {
			e.res.Modified = parseDAVDate(*pr.Modified)
		}
		if pr.ContentType != nil {
			e.res.ContentType = strings.TrimSpace(*pr.ContentType)
		}
	}
	if !sawType && slash {
		e.res.IsDir = true
	}
	if e.res.IsDir && e.res.Size < 0 {
		e.res.Size = 0
	}
	return e
}

// statusCode reads the code out of "HTTP/1.1 404 Not Found"; 0 if absent.
func statusCode(line string) int {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0
	}
	n, err := strconv.Atoi(f[1])
	if err != nil || n < 100 || n > 999 {
		return 0
	}
	return n
}

func looksLikeHTML(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	if len(b) > 512 {
		b = b[:512]
	}
	l := bytes.ToLower(b)
	return bytes.HasPrefix(l, []byte("<!doctype html")) || bytes.HasPrefix(l, []byte("<html"))
}

func notDAVError(op string) error {
	return errkind.Say(errkind.BadResponse, op, msg.New("errHTMLPage"))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// charsetReader accepts the encodings servers declare besides UTF-8: ASCII
// (a subset) and Latin-1 (bytes map to the same code points).
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1", "windows-1252":
		b, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(b)+len(b)/8)
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, errors.New("unsupported XML encoding " + truncate(label, 40))
}

// relPath maps an entry's absolute path into the client's folder. ok is
// false when the href lies outside it; then the caller may fall back to the
// request path (servers behind a path-rewriting proxy answer with their own
// prefix).
func (c *Client) relPath(p string) (string, bool) {
	if p+"/" == c.basePath || p == c.basePath {
		return "", true
	}
	if strings.HasPrefix(p, c.basePath) {
		return strings.TrimSuffix(p[len(c.basePath):], "/"), true
	}
	return "", false
}

// resources turns the entries of a PROPFIND on rel into Resources with
// paths relative to the client's folder. reqAbs is the unescaped absolute
// path of the request URL. The entry for rel itself may be anywhere in the
// list (servers differ), so it is found by path, not position.
func (c *Client) resources(entries []msEntry, rel, reqAbs string) (self *Resource, children []Resource) {
	reqAbs = strings.TrimSuffix(reqAbs, "/")
	if reqAbs == "" {
		reqAbs = "/"
	}
	for _, e := range entries {
		if e.status != 0 && (e.status < 200 || e.status > 299) {
			continue
		}
		r := e.res
		p, ok := c.relPath(e.path)
		if !ok {
			// Outside the configured folder: place it by its relation to
			// the request URL instead.
			switch {
			case e.path == reqAbs:
				p = rel
			case strings.HasPrefix(e.path, reqAbs+"/"):
				p = joinRel(rel, e.path[len(reqAbs)+1:])
			default:
				// A different prefix altogether: the last segment still
				// names the child of a Depth 1 listing.
				if i := strings.LastIndexByte(e.path, '/'); i >= 0 {
					name := e.path[i+1:]
					if rel != "" && strings.HasSuffix(rel, name) && (len(rel) == len(name) || rel[len(rel)-len(name)-1] == '/') && self == nil {
						p = rel
					} else {
						p = joinRel(rel, name)
					}
				}
			}
		}
		r.Path = p
		if p == rel {
			if self == nil {
				rr := r
				self = &rr
			}
			continue
		}
		children = append(children, r)
	}
	return self, children
}

func joinRel(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "/" + b
}
