//go:build js && wasm

// Package jsfetch sends davsync's WebDAV requests with the browser's fetch,
// implementing webdav.Transport. Go's net/http is never linked into the
// module: it would triple its size and does not use fetch.
//
// Every request is sent with credentials 'omit' (a browser session cookie
// makes Nextcloud answer "CSRF check not passed"), cache 'no-store' (the HTTP
// cache would add its own validators to our conditional requests) and
// redirect 'manual' (a redirected WebDAV URL is a settings problem the user
// must see, and following it could replay a PUT against another resource).
package jsfetch

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/wasm/jsasync"
	"github.com/hack-pad/safejs"
)

// DefaultTimeout bounds a request whose webdav.Request has no Timeout.
const DefaultTimeout = 60 * time.Second

var (
	fetchFn  = jsasync.Global("fetch")
	abortCtl = jsasync.Global("AbortController")
	headersC = jsasync.Global("Headers")
	objectC  = jsasync.Global("Object")
	uint8Arr = jsasync.Global("Uint8Array")
	arrayC   = jsasync.Global("Array")
	blobC    = jsasync.Global("Blob")
)

// Transport is a webdav.Transport over fetch.
type Transport struct{}

// New returns the fetch transport.
func New() *Transport { return &Transport{} }

var _ webdav.Transport = (*Transport)(nil)

// RoundTrip sends req and returns the server's answer, whatever its status.
// A redirect is returned as an errkind.Redirected error, never followed.
func (t *Transport) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	op := req.Method + " " + redact(req.URL)
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ctl, err := abortCtl.New()
	if err != nil {
		return nil, internal(op, err)
	}
	// Aborting the controller when ctx ends cancels the request in the
	// browser, so a timed-out request does not keep the socket busy.
	stop := context.AfterFunc(ctx, func() { _, _ = ctl.Call("abort") })
	defer stop()
	signal, err := ctl.Get("signal")
	if err != nil {
		return nil, internal(op, err)
	}

	headers, err := headersC.New()
	if err != nil {
		return nil, internal(op, err)
	}
	hasType := false
	for k, v := range req.Header {
		if strings.EqualFold(k, "content-length") {
			continue // forbidden header: fetch computes it from the byte body
		}
		if strings.EqualFold(k, "content-type") {
			hasType = true
		}
		if _, err := headers.Call("set", k, toByteString(v)); err != nil {
			return nil, errkind.Internal(errkind.Invalid, op, "the request header "+k+" is not valid", err)
		}
	}
	init, err := objectC.New()
	if err != nil {
		return nil, internal(op, err)
	}
	fields := map[string]any{
		"method":      req.Method,
		"credentials": "omit",
		"cache":       "no-store",
		"redirect":    "manual",
		"signal":      signal,
	}
	if req.Body != nil {
		if !hasType {
			// Without it a byte body goes out untyped and a string body as
			// text/plain; some servers store that type with the file.
			if _, err := headers.Call("set", "Content-Type", "application/octet-stream"); err != nil {
				return nil, internal(op, err)
			}
		}
		bytes, err := uint8Arr.New(len(req.Body))
		if err != nil {
			return nil, internal(op, err)
		}
		if _, err := safejs.CopyBytesToJS(bytes, req.Body); err != nil {
			return nil, internal(op, err)
		}
		// A Blob, not the array itself: Chromium uploads a Blob body
		// several times faster from a service worker (a 700 kB PUT, the
		// sync file of 10,000 accounts, took 17-30 ms as a Blob and 45-110
		// ms as a Uint8Array, measured in the worker). The bytes on the
		// wire are the same; the Content-Type header set above still
		// decides the type.
		parts, err := arrayC.New(1)
		if err != nil {
			return nil, internal(op, err)
		}
		if err := parts.SetIndex(0, bytes); err != nil {
			return nil, internal(op, err)
		}
		body, err := blobC.New(parts)
		if err != nil {
			return nil, internal(op, err)
		}
		fields["body"] = body
	}
	fields["headers"] = headers
	for k, v := range fields {
		if err := init.Set(k, v); err != nil {
			return nil, internal(op, err)
		}
	}

	p, err := fetchFn.Invoke(req.URL, init)
	if err != nil {
		return nil, fetchErr(ctx, op, err)
	}
	resp, err := jsasync.Await(ctx, p)
	if err != nil {
		return nil, fetchErr(ctx, op, err)
	}
	typ, _ := stringProp(resp, "type")
	if typ == "opaqueredirect" {
		return nil, errkind.Say(errkind.Redirected, op, msg.New("errFetchRedirected"))
	}
	statusV, err := resp.Get("status")
	if err != nil {
		return nil, internal(op, err)
	}
	status, err := statusV.Int()
	if err != nil {
		return nil, internal(op, err)
	}
	out := &webdav.Response{Status: status, Header: map[string]string{}}
	if err := readHeaders(resp, out.Header); err != nil {
		return nil, internal(op, err)
	}
	max := req.MaxBody
	if max <= 0 {
		max = limits.Reply
	}
	var progress func(done, total int64)
	if req.Method == "GET" {
		progress = req.Progress
	}
	body, err := readBody(ctx, resp, out.Header, max, progress, func() { _, _ = ctl.Call("abort") })
	if err != nil {
		if errkind.Of(err) == errkind.TooLarge {
			return nil, errkind.Wrap(errkind.TooLarge, op, errkind.Message(err), err)
		}
		return nil, fetchErr(ctx, op, err)
	}
	out.Body = body
	return out, nil
}

// readBody reads an answer's body, never more than max bytes. A declared
// Content-Length above max is refused before anything is read. With a
// declared length and no content coding the browser reads exactly that many
// bytes, so the body is taken in one piece; otherwise (chunked, or a
// Content-Encoding the browser undoes, which could expand without bound) it
// is read from the stream piece by piece and the request is aborted as soon
// as it passes max, so an endless or inflating body costs at most max bytes.
//
// With progress set, a body of more than a megabyte is read from the
// stream too, reporting each piece, so a long download shows how far it got.
func readBody(ctx context.Context, resp safejs.Value, h map[string]string, max int64, progress func(done, total int64), abort func()) ([]byte, error) {
	tooLarge := func() error {
		abort()
		return errkind.Say(errkind.TooLarge, "", msg.New("errAnswerLimit", strconv.FormatInt(max>>10, 10)))
	}
	declared, derr := strconv.ParseInt(strings.TrimSpace(h["content-length"]), 10, 64)
	known := derr == nil && declared >= 0 && h["content-encoding"] == ""
	if known && declared > max {
		return nil, tooLarge()
	}
	stream, err := resp.Get("body")
	if err != nil {
		return nil, err
	}
	total := int64(-1)
	if known {
		total = declared
	}
	if (known && (progress == nil || declared < 1<<20)) || stream.IsNull() || stream.IsUndefined() {
		bp, err := resp.Call("arrayBuffer")
		if err != nil {
			return nil, err
		}
		buf, err := jsasync.Await(ctx, bp)
		if err != nil {
			return nil, err
		}
		b, err := bytesOf(buf)
		if err != nil {
			return nil, err
		}
		if int64(len(b)) > max {
			return nil, tooLarge()
		}
		return b, nil
	}
	reader, err := stream.Call("getReader")
	if err != nil {
		return nil, err
	}
	var out []byte
	for {
		rp, err := reader.Call("read")
		if err != nil {
			return nil, err
		}
		chunk, err := jsasync.Await(ctx, rp)
		if err != nil {
			return nil, err
		}
		done, _ := chunk.Get("done")
		if b, _ := done.Bool(); b {
			return out, nil
		}
		v, err := chunk.Get("value")
		if err != nil {
			return nil, err
		}
		n, err := v.Length()
		if err != nil {
			return nil, err
		}
		if int64(len(out)+n) > max {
			_, _ = reader.Call("cancel")
			return nil, tooLarge()
		}
		start := len(out)
		out = append(out, make([]byte, n)...)
		if _, err := safejs.CopyBytesToGo(out[start:], v); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(int64(len(out)), total)
		}
	}
}

// bytesOf copies an ArrayBuffer into Go.
func bytesOf(buf safejs.Value) ([]byte, error) {
	view, err := uint8Arr.New(buf)
	if err != nil {
		return nil, err
	}
	n, err := view.Length()
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := safejs.CopyBytesToGo(b, view); err != nil {
		return nil, err
	}
	return b, nil
}

func readHeaders(resp safejs.Value, into map[string]string) error {
	h, err := resp.Get("headers")
	if err != nil {
		return err
	}
	cb, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		if len(args) < 2 {
			return nil
		}
		v, _ := args[0].String()
		k, _ := args[1].String()
		into[strings.ToLower(k)] = fromByteString(v) // Headers.forEach already joins repeated headers with ", "
		return nil
	})
	if err != nil {
		return err
	}
	defer cb.Release()
	_, err = h.Call("forEach", cb)
	return err
}

// Header values cross fetch as ByteStrings: one UTF-16 code unit per octet
// on the wire. fromByteString turns such a string (which syscall/js has
// re-encoded as UTF-8) back into the octets the server sent, so a raw UTF-8
// realm or ETag reaches Go unchanged; toByteString is its inverse for
// request headers.
func fromByteString(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return s // not a ByteString: leave it alone
		}
		b = append(b, byte(r))
	}
	return string(b)
}

func toByteString(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			r := make([]rune, len(s))
			for j := 0; j < len(s); j++ {
				r[j] = rune(s[j])
			}
			return string(r)
		}
	}
	return s
}

func stringProp(v safejs.Value, name string) (string, error) {
	p, err := v.Get(name)
	if err != nil || p.Type() != safejs.TypeString {
		return "", err
	}
	return p.String()
}

func internal(op string, err error) error {
	return errkind.Internal(errkind.Unknown, op, "the browser refused to build the request ("+err.Error()+")", err)
}

// fetchErr classifies a failed fetch. The browser hides the cause of a
// network failure ("Failed to fetch"), so the message lists the likely ones.
func fetchErr(ctx context.Context, op string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errkind.SayWrap(errkind.Timeout, op, msg.New("errFetchTimeout"), err)
	}
	if ctx.Err() != nil {
		return errkind.SayWrap(errkind.Canceled, op, msg.New("errCanceled"), err)
	}
	if je, ok := jsasync.AsJSError(err); ok && je.Name == "AbortError" {
		return errkind.SayWrap(errkind.Timeout, op, msg.New("errFetchAborted"), err)
	}
	// The webdav client puts "could not reach the server at <host>:" before it.
	return errkind.SayWrap(errkind.Network, op, msg.New("errFetchFailed"), err)
}

// redact drops user info and the query from a URL before it goes into an
// error message, so no credential can leak into status or logs.
func redact(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 {
			if slash := strings.Index(rest, "/"); slash < 0 || at < slash {
				u = u[:i+3] + rest[at+1:]
			}
		}
	}
	if q := strings.IndexAny(u, "?#"); q >= 0 {
		u = u[:q]
	}
	return u
}
