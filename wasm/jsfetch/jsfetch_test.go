//go:build js && wasm

package jsfetch

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

// server returns the real WebDAV server `make test-servers` starts
// (scripts/servers/with-server.sh exports these variables). js/wasm cannot
// listen on a socket, so the server always comes from outside.
func server(t *testing.T) (url, user, pass string) {
	t.Helper()
	url, user, pass = os.Getenv("DAVSYNC_TEST_URL"), os.Getenv("DAVSYNC_TEST_USER"), os.Getenv("DAVSYNC_TEST_PASS")
	if url == "" || user == "" || pass == "" {
		// Fail, never skip: a run without a server would pass without
		// having tested anything. `make test-servers` sets them.
		t.Fatal("DAVSYNC_TEST_URL, DAVSYNC_TEST_USER and DAVSYNC_TEST_PASS are not set: run this through `make test-servers`")
	}
	if !strings.HasSuffix(url, "/") {
		url += "/"
	}
	return url, user, pass
}

func TestRoundTripAgainstServer(t *testing.T) {
	base, user, pass := server(t)
	ctx := context.Background()
	c, err := webdav.New(base, user, pass, New(), webdav.WithRetry(1, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	name := "jsfetch-test-" + time.Now().Format("150405.000000") + ".bin"
	body := []byte{0x1f, 0x8b, 0, 0xff, 'd', 'a', 'v', '\n'} // not UTF-8: must arrive byte for byte
	put, err := c.Put(ctx, name, body, webdav.PutCondition{IfNoneMatchAny: true, ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	defer func() { _ = c.Delete(ctx, name, "") }()
	got, err := c.Get(ctx, name, "")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	if !bytes.Equal(got.Body, body) {
		t.Fatalf("GET body %x, want %x", got.Body, body)
	}
	if put.ETag != "" && got.ETag == "" {
		t.Fatal("PUT returned an ETag but GET did not: response headers lost")
	}
	res, err := c.Stat(ctx, name)
	if err != nil || res.Size != int64(len(body)) {
		t.Fatalf("PROPFIND: %+v %v", res, err)
	}
}

func TestWrongPasswordIsAResponse(t *testing.T) {
	base, user, _ := server(t)
	resp, err := New().RoundTrip(context.Background(), &webdav.Request{
		Method: "PROPFIND", URL: base, Header: map[string]string{"Depth": "0", "Authorization": "Basic " + b64(user+":definitely-wrong")},
	})
	if err != nil {
		t.Fatalf("a 401 must come back as a response, not an error: %v", err)
	}
	if resp.Status != 401 {
		t.Fatalf("status %d", resp.Status)
	}
	for k := range resp.Header {
		if k != strings.ToLower(k) {
			t.Fatalf("header %q not lower-case", k)
		}
	}
}

func TestTimeoutAndNetworkErrors(t *testing.T) {
	base, _, _ := server(t)
	_, err := New().RoundTrip(context.Background(), &webdav.Request{Method: "GET", URL: base, Timeout: time.Nanosecond})
	if !errors.Is(err, errkind.Timeout) {
		t.Fatalf("timeout: kind %s (%v)", errkind.Of(err), err)
	}
	_, err = New().RoundTrip(context.Background(), &webdav.Request{Method: "GET", URL: "http://127.0.0.1:1/", Timeout: 5 * time.Second})
	if !errors.Is(err, errkind.Network) {
		t.Fatalf("refused: kind %s (%v)", errkind.Of(err), err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@host/dav/x?token=1": "https://host/dav/x",
		"https://host/a@b/c":             "https://host/a@b/c",
		"http://host/x#frag":             "http://host/x",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
