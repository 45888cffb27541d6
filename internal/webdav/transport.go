package webdav

import (
	"context"
	"time"
)

// Transport carries one HTTP request and returns the whole answer. It is the
// only thing that differs between platforms: httptransport implements it with
// net/http, wasm/jsfetch with the browser's fetch.
//
// A Transport must not follow redirects (the client reports them), must not
// add credentials, cookies or cache validators of its own, must send Body
// with a known length and no "Expect: 100-continue", and must honour
// Request.Timeout and ctx. It must not read more than Request.MaxBody bytes
// of an answer: it refuses a declared Content-Length above it before reading,
// and stops reading (aborting the request) once the body passes it, with an
// error of kind too_large. It returns an error only when no HTTP answer
// arrived (or the body was cut short or too large); any status, 4xx and 5xx
// included, is a Response. Errors may be *errkind.Error of kind Network,
// Timeout or TooLarge; any other error is treated as a network failure.
type Transport interface {
	RoundTrip(ctx context.Context, req *Request) (*Response, error)
}

// Request is one HTTP request as the client builds it.
type Request struct {
	Method string
	// URL is absolute and already percent-encoded.
	URL string
	// Header holds the request headers (canonical or any case; one value each).
	Header map[string]string
	// Body is sent with Content-Length: len(Body). nil means no body.
	Body []byte
	// Timeout bounds the whole exchange, body included; 0 means no limit
	// beyond ctx.
	Timeout time.Duration
	// MaxBody is the most answer body bytes the caller accepts (see
	// internal/limits); 0 means limits.Reply.
	MaxBody int64
	// Progress, when set, is told how many body bytes have moved: the
	// request's while it is sent (where the platform can see that) and the
	// answer's while it arrives; total is -1 when not known. It must not
	// block.
	Progress func(done, total int64)
}

// Response is one HTTP answer.
type Response struct {
	Status int
	// Header keys are lower-case; a header sent several times is joined
	// with ", " (as fetch's Headers.get does).
	Header map[string]string
	Body   []byte
}
