// Package httptransport is the native webdav.Transport, built on net/http.
// It is for tests and command-line tools: the extension's wasm module uses
// wasm/jsfetch instead and must never import this package (net/http would
// triple its size).
package httptransport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/webdav"
)

// Native implements webdav.Transport natively (the browser uses fetch),
// with an http.Client that follows no redirects (the webdav client reports
// them so the user can fix the URL), keeps no cookies, and sends every body
// with a known length.
type Native struct {
	// Client is the underlying client; New sets one up.
	Client *http.Client
}

// New returns a Native transport with sane connection timeouts.
func New() *Native {
	rt := http.DefaultTransport.(*http.Transport).Clone()
	rt.ResponseHeaderTimeout = 60 * time.Second
	rt.ExpectContinueTimeout = 0
	// Headers are not bodies, but a server can send megabytes of them:
	// browsers stop at a few hundred KiB, and so does this transport.
	rt.MaxResponseHeaderBytes = 256 << 10
	return &Native{
		Client: &http.Client{
			Transport: rt,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// RoundTrip sends one request and reads the whole answer.
func (t *Native) RoundTrip(ctx context.Context, r *webdav.Request) (*webdav.Response, error) {
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	var body io.Reader = http.NoBody
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
		if r.Progress != nil {
			body = &counting{r: body, total: int64(len(r.Body)), f: r.Progress}
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, "", "the request could not be built ("+err.Error()+"); check the server URL", err)
	}
	req.ContentLength = int64(len(r.Body))
	for k, v := range r.Header {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	req.Header.Del("Expect")
	resp, err := t.Client.Do(req)
	if err != nil {
		return nil, classify(err)
	}
	defer resp.Body.Close()
	max := r.MaxBody
	if max <= 0 {
		max = limits.Reply
	}
	// A declared length above the limit is refused before reading; an
	// undeclared (chunked) or lying one is cut off one byte past it, so a
	// server that streams without end costs at most max bytes.
	if resp.ContentLength > max {
		return nil, tooLarge(max)
	}
	var in io.Reader = resp.Body
	if r.Progress != nil && r.Method == "GET" {
		in = &counting{r: in, total: resp.ContentLength, f: r.Progress}
	}
	data, err := io.ReadAll(io.LimitReader(in, max+1))
	if err != nil {
		return nil, classify(err)
	}
	if int64(len(data)) > max {
		return nil, tooLarge(max)
	}
	h := make(map[string]string, len(resp.Header))
	for k, vs := range resp.Header {
		h[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	if resp.Uncompressed {
		// net/http removed gzip transfer coding; the length no longer applies.
		delete(h, "content-length")
	}
	return &webdav.Response{Status: resp.StatusCode, Header: h, Body: data}, nil
}

// classify maps a net/http failure to Timeout or Network. The error text
// names the URL, which never holds credentials (webdav.New strips them).
func classify(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return errkind.Wrap(errkind.Timeout, "", "no answer in time: "+err.Error(), err)
	}
	if errors.Is(err, context.Canceled) {
		return errkind.Wrap(errkind.Canceled, "", "canceled", err)
	}
	return errkind.Wrap(errkind.Network, "", err.Error(), err)
}

// counting reports the bytes read through it.
type counting struct {
	r     io.Reader
	done  int64
	total int64
	f     func(done, total int64)
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.done += int64(n)
		c.f(c.done, c.total)
	}
	return n, err
}

func tooLarge(max int64) error {
	return errkind.New(errkind.TooLarge, "", "the server's answer is larger than "+itoa(max>>10)+" KiB, the most davsync reads for this request; it stopped reading")
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
