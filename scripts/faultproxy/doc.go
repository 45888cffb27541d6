// Package faultproxy is a fault-injecting HTTP reverse proxy for tests: it
// sits on 127.0.0.1 in front of a real WebDAV server and, per request and by
// rule, resets connections (before forwarding, or after the server acted),
// answers 5xx/429/507/423 with Retry-After, delays or trickles, truncates
// bodies, drops writes while answering 2xx, strips, fakes or weakens ETags
// (headers and getetag properties in multistatus bodies) and redirects.
// It counts requests and body bytes per method, and logs every request
// (method, path, status, body bytes each way, duration; Stats.Log).
//
// It also plays a hostile server or a man in the middle, so tests can show
// that a client does not trust the server: Replace hands out a document of
// its choosing (another file, plaintext instead of ciphertext), Challenge
// asks for credentials with any WWW-Authenticate (a Digest to Basic
// downgrade), Endless streams a body (or a multistatus) that never ends,
// HugeMultistatus answers a PROPFIND with a listing of any size, and
// FakeETag with RawHeader puts CR LF into the ETag header byte for byte
// (getetag values always carry them as character references). Redirect
// sends the client to another origin and Status with RetryAfter sends any
// Retry-After, both verbatim. Everything clients send is recorded, headers
// (Authorization too) verbatim and the first MiB of each body, so a test
// can assert that a secret never left the client:
//
//	p.MustAdd(faultproxy.Rule{Fault: faultproxy.Challenge, Challenge: `Basic realm="x"`})
//	// ... let the client talk to p.URL() ...
//	if bytes.Contains(p.ReceivedBytes(), []byte(password)) { ... }
//	for _, r := range p.Received() { _ = r.Header.Get("Authorization") }
//
//	p := faultproxy.New(server.URL)
//	defer p.Close()
//	p.MustAdd(faultproxy.Rule{Method: "PUT", Nth: 1, Fault: faultproxy.ResetAfter})
//	// ... point the client at p.URL() ...
//	st := p.Stats() // st.Method("PUT").BytesUp, st.Faults[faultproxy.ResetAfter]
//
// Forwarding is faithful otherwise: hop-by-hop headers are dropped, the
// Destination header of MOVE/COPY and Location headers are rewritten
// between the proxy's and the target's origin (and so are absolute hrefs in
// XML bodies), and bodies pass through uncompressed and unchanged. Request
// and response bodies are buffered whole, which is fine for test documents.
//
// Give New the server's origin and keep the server's path in the client's
// URL (p.URL()+"/dav/"): servers answer PROPFIND with hrefs that are
// absolute paths, which the proxy leaves alone, so the paths the client
// sees must be the server's. A path in the target is prepended to every
// request, which suits plain GET/PUT tools only.
//
// The same proxy runs as a program (cmd/faultproxy) with a small control API
// under ControlPrefix for harnesses that are not written in Go (rules as
// JSON, GET .../stats and .../received). With no rules it is a faithful
// counting relay: the browser cycle bench (tests/browser/cyclebench.js,
// `make bench-cycle`) runs it between the extension and real servers and
// takes requests, bytes and the request list of each cycle from its stats.
package faultproxy
