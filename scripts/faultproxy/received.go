package faultproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"unicode/utf8"
)

const (
	// ReceivedBodyMax is how much of each request body Received keeps.
	ReceivedBodyMax = 1 << 20
	// ReceivedBodiesMax caps the body bytes Received holds in all; the
	// bodies of later requests are left out (BodyLen still tells their
	// size) until Reset.
	ReceivedBodiesMax = 64 << 20
)

// Received is a request as it reached the proxy, before any rule acted on
// it (control API requests are not recorded).
type Received struct {
	Method string
	Path   string // the decoded path, as rules match it
	URI    string // the request target as sent, query included
	Proto  string // "HTTP/1.1"
	// Header holds every header field as received, values verbatim
	// (Authorization included), keys in canonical form; Host is in it too.
	Header http.Header
	// Body is the start of the request body, at most ReceivedBodyMax bytes.
	Body    []byte
	BodyLen int64 // the whole body's length
}

// receive records a request.
func (p *Proxy) receive(r *http.Request, body []byte) {
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	// net/http moves these out of the header map; put them back.
	if r.Host != "" && h.Get("Host") == "" {
		h.Set("Host", r.Host)
	}
	if len(r.TransferEncoding) > 0 && h.Get("Transfer-Encoding") == "" {
		h["Transfer-Encoding"] = slices.Clone(r.TransferEncoding)
	}
	rec := Received{Method: r.Method, Path: r.URL.Path, URI: r.RequestURI, Proto: r.Proto, Header: h, BodyLen: int64(len(body))}
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := min(len(body), ReceivedBodyMax, max(ReceivedBodiesMax-p.recvBody, 0))
	if keep > 0 {
		rec.Body = slices.Clone(body[:keep])
		p.recvBody += keep
	}
	p.received = append(p.received, rec)
}

// Received returns the requests the proxy received since it started or
// was Reset, oldest first.
func (p *Proxy) Received() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Received, len(p.received))
	for i, r := range p.received {
		r.Header = r.Header.Clone()
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

// ReceivedBytes is Received as text, each request the way it looks on the
// wire: request line, header lines (sorted), blank line, body (as kept),
// CRLF. It is for assertions such as
// bytes.Contains(p.ReceivedBytes(), []byte(secret)).
func (p *Proxy) ReceivedBytes() []byte {
	var b bytes.Buffer
	for _, r := range p.Received() {
		r.writeTo(&b)
	}
	return b.Bytes()
}

func (r Received) writeTo(b *bytes.Buffer) {
	fmt.Fprintf(b, "%s %s %s\r\n", r.Method, r.URI, r.Proto)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	b.WriteString("\r\n")
}

type receivedJSON struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	URI     string      `json:"uri"`
	Proto   string      `json:"proto"`
	Header  http.Header `json:"header"`
	Body    *string     `json:"body,omitempty"`     // when the body is UTF-8
	BodyB64 *string     `json:"body_b64,omitempty"` // otherwise
	BodyLen int64       `json:"body_len"`
}

// MarshalJSON writes the body as "body" (a string) when it is UTF-8 and as
// "body_b64" (standard base64) otherwise, like Rule.
func (r Received) MarshalJSON() ([]byte, error) {
	j := receivedJSON{Method: r.Method, Path: r.Path, URI: r.URI, Proto: r.Proto, Header: r.Header, BodyLen: r.BodyLen}
	if len(r.Body) > 0 {
		if utf8.Valid(r.Body) {
			s := string(r.Body)
			j.Body = &s
		} else {
			s := base64.StdEncoding.EncodeToString(r.Body)
			j.BodyB64 = &s
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Received) UnmarshalJSON(b []byte) error {
	var j receivedJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Received{Method: j.Method, Path: j.Path, URI: j.URI, Proto: j.Proto, Header: j.Header, BodyLen: j.BodyLen}
	switch {
	case j.Body != nil:
		r.Body = []byte(*j.Body)
	case j.BodyB64 != nil:
		data, err := base64.StdEncoding.DecodeString(*j.BodyB64)
		if err != nil {
			return fmt.Errorf("body_b64: %w", err)
		}
		r.Body = data
	}
	return nil
}
