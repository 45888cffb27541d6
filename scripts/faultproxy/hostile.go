package faultproxy

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// replace answers the Replace fault: Rule.Body as the document.
func (p *Proxy) replace(w http.ResponseWriter, r *http.Request, t *Rule) {
	status := t.Status
	if status == 0 {
		status = http.StatusOK
	}
	h := w.Header()
	if t.ContentType != "" {
		h.Set("Content-Type", t.ContentType)
	} else {
		h["Content-Type"] = nil // no sniffing: send no Content-Type at all
	}
	if !noBodyStatus(status) {
		h.Set("Content-Length", strconv.Itoa(len(t.Body)))
	}
	body := []byte(t.Body)
	if r.Method == http.MethodHead || noBodyStatus(status) {
		body = nil
	}
	if t.ETag != "" && t.RawHeader {
		p.writeByHand(w, r.Method, status, h, "ETag: "+t.ETag+"\r\n", body)
		return
	}
	if t.ETag != "" {
		h.Set("ETag", t.ETag)
	}
	w.WriteHeader(status)
	n, _ := w.Write(body)
	p.countDown(r.Method, int64(n))
}

// endlessPiece is about how much an Endless stream writes at a time.
const endlessPiece = 32 << 10

// endless answers the Endless fault on the hijacked connection.
func (p *Proxy) endless(w http.ResponseWriter, r *http.Request, t *Rule) {
	status := t.Status
	if status == 0 {
		status = http.StatusOK
		if r.Method == "PROPFIND" {
			status = http.StatusMultiStatus
		}
	}
	multi := status == http.StatusMultiStatus
	ct := t.ContentType
	if ct == "" {
		ct = "application/octet-stream"
		if multi {
			ct = "application/xml; charset=utf-8"
		}
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if !p.track(conn) {
		return
	}
	defer p.untrack(conn)
	p.mu.Lock()
	p.open++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.open--
		p.mu.Unlock()
	}()
	// A small send buffer keeps the count of accepted bytes close to what
	// the client actually read.
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(64 << 10)
	}

	chunked := t.DeclaredLength <= 0
	h := http.Header{}
	h.Set("Content-Type", ct)
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Set("Connection", "close")
	if chunked {
		h.Set("Transfer-Encoding", "chunked")
	} else {
		h.Set("Content-Length", strconv.FormatInt(t.DeclaredLength, 10))
	}
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	if buf.Flush() != nil || r.Method == http.MethodHead {
		return
	}
	noteHijacked(w, status, 0)

	var next func() []byte
	if multi {
		next = endlessMultistatus(r)
	} else {
		pattern := bytes.Repeat([]byte("faultproxy endless body 0123456789abcdefghijklmnopqrstuvwxyz\n"), endlessPiece/61+1)
		next = func() []byte { return pattern }
	}
	ctx := r.Context()
	var frame []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.closing:
			return
		default:
		}
		piece := next()
		head := 0
		frame = frame[:0]
		if chunked {
			frame = fmt.Appendf(frame, "%x\r\n", len(piece))
			head = len(frame)
		}
		frame = append(frame, piece...)
		if chunked {
			frame = append(frame, "\r\n"...)
		}
		n, err := conn.Write(frame)
		sent := int64(min(max(n-head, 0), len(piece)))
		noteHijacked(w, status, sent)
		p.mu.Lock()
		p.stats.EndlessBytes += sent
		if ms := p.stats.ByMethod[r.Method]; ms != nil {
			ms.BytesDown += sent
		}
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// endlessMultistatus returns the pieces of a multistatus that never ends:
// the opening tags, then one response for a made-up file after another.
func endlessMultistatus(r *http.Request) func() []byte {
	dir := collectionHref(r)
	i := 0
	var b []byte
	return func() []byte {
		b = b[:0]
		if i == 0 {
			b = append(b, multistatusHead...)
		}
		for len(b) < endlessPiece {
			i++
			b = fmt.Appendf(b, `<d:response><d:href>%sendless-%d.bin</d:href><d:propstat><d:prop>`+
				`<d:getetag>"endless-%d"</d:getetag><d:getcontentlength>1024</d:getcontentlength><d:resourcetype/>`+
				`</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`+"\n", dir, i, i)
		}
		return b
	}
}

const (
	multistatusHead = `<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<d:multistatus xmlns:d="DAV:">` + "\n"
	multistatusTail = `</d:multistatus>` + "\n"
	defaultHugeSize = 16 << 20
)

// collectionHref is the request path as an XML-escaped href ending in "/".
func collectionHref(r *http.Request) string {
	dir := r.URL.EscapedPath()
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	return xmlEscape(dir)
}

// hugeMultistatus answers the HugeMultistatus fault: the collection itself,
// then made-up files of a fixed-width entry each, then whitespace to make
// up Rule.Size exactly. It is generated while it is written.
func (p *Proxy) hugeMultistatus(w http.ResponseWriter, r *http.Request, t *Rule) {
	size := t.Size
	if size == 0 {
		size = defaultHugeSize
	}
	dir := collectionHref(r)
	head := multistatusHead + `<d:response><d:href>` + dir + `</d:href><d:propstat><d:prop>` +
		`<d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>` + "\n"
	entry := func(b []byte, i int64) []byte {
		return fmt.Appendf(b, `<d:response><d:href>%shuge-%010d.bin</d:href><d:propstat><d:prop>`+
			`<d:getetag>"huge-%010d"</d:getetag><d:getcontentlength>1024</d:getcontentlength>`+
			`<d:getlastmodified>Mon, 02 Jan 2006 15:04:05 GMT</d:getlastmodified><d:resourcetype/>`+
			`</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`+"\n", dir, i, i)
	}
	entryLen := int64(len(entry(nil, 0)))
	room := max(size-int64(len(head)+len(multistatusTail)), 0)
	count, pad := room/entryLen, room%entryLen
	total := int64(len(head)+len(multistatusTail)) + count*entryLen + pad

	h := w.Header()
	h.Set("Content-Type", "application/xml; charset=utf-8")
	h.Set("Content-Length", strconv.FormatInt(total, 10))
	w.WriteHeader(http.StatusMultiStatus)
	if r.Method == http.MethodHead {
		return
	}
	b := append(make([]byte, 0, endlessPiece+entryLen), head...)
	flush := func() bool {
		n, err := w.Write(b)
		p.countDown(r.Method, int64(n))
		b = b[:0]
		return err == nil
	}
	for i := range count {
		b = entry(b, i+1)
		if len(b) >= endlessPiece && !flush() {
			return
		}
	}
	b = append(b, bytes.Repeat([]byte{'\n'}, int(pad))...)
	b = append(b, multistatusTail...)
	flush()
}
