//go:build js && wasm

package jsfetch

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

// proxy returns the fault proxy in front of the test server
// (scripts/with-faultproxy.sh) and a function that installs one rule.
func proxy(t *testing.T) (url string, rule func(string)) {
	t.Helper()
	url, ctl := os.Getenv("DAVSYNC_PROXY_URL"), os.Getenv("DAVSYNC_PROXY_CONTROL")
	if url == "" || ctl == "" {
		t.Fatal("DAVSYNC_PROXY_URL and DAVSYNC_PROXY_CONTROL are not set: run this through `make test-servers`")
	}
	do := func(method, u, body string) []byte {
		req := &webdav.Request{Method: method, URL: u, Header: map[string]string{"Content-Type": "application/json"}, MaxBody: 1 << 20}
		if body != "" {
			req.Body = []byte(body)
		}
		resp, err := New().RoundTrip(context.Background(), req)
		if err != nil || resp.Status >= 300 {
			t.Fatalf("%s %s: %v %+v", method, u, err, resp)
		}
		return resp.Body
	}
	do("DELETE", ctl+"/rules", "")
	do("POST", ctl+"/reset", "")
	t.Cleanup(func() { do("DELETE", ctl+"/rules", "") })
	return url, func(r string) { do("POST", ctl+"/rules", r) }
}

// An answer past Request.MaxBody is refused, and the browser stops
// reading it: a server that streams without end (chunked, or behind a
// Content-Length that lies) costs about MaxBody, not memory until the
// worker dies. A declared length above the limit is refused unread.
func TestAnswerLimit(t *testing.T) {
	url, rule := proxy(t)
	const max = 1 << 20
	rule(`{"method":"GET","fault":"endless"}`)
	_, err := New().RoundTrip(context.Background(), &webdav.Request{Method: "GET", URL: url + "endless", MaxBody: max})
	if !errors.Is(err, errkind.TooLarge) {
		t.Fatalf("endless chunked body: kind %s (%v)", errkind.Of(err), err)
	}
	rule(`{"method":"PROPFIND","fault":"endless"}`)
	_, err = New().RoundTrip(context.Background(), &webdav.Request{Method: "PROPFIND", URL: url, Header: map[string]string{"Depth": "1"}, MaxBody: max})
	if !errors.Is(err, errkind.TooLarge) {
		t.Fatalf("endless multistatus: kind %s (%v)", errkind.Of(err), err)
	}
	rule(`{"method":"GET","path":"declared","fault":"huge-multistatus","size":4194304}`)
	_, err = New().RoundTrip(context.Background(), &webdav.Request{Method: "GET", URL: url + "declared", MaxBody: max})
	if !errors.Is(err, errkind.TooLarge) {
		t.Fatalf("declared 4 MiB over a 1 MiB limit: kind %s (%v)", errkind.Of(err), err)
	}
	ctl := os.Getenv("DAVSYNC_PROXY_CONTROL")
	resp, err := New().RoundTrip(context.Background(), &webdav.Request{Method: "GET", URL: ctl + "/stats", MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		EndlessBytes int64 `json:"endless_bytes"`
	}
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		t.Fatalf("stats %s: %v", resp.Body, err)
	}
	// Two endless answers read up to 1 MiB each; what the server got out
	// before the abort reached the browser stays within a few MiB.
	if st.EndlessBytes > 16<<20 {
		t.Fatalf("the endless bodies were read for %d bytes", st.EndlessBytes)
	}
}
