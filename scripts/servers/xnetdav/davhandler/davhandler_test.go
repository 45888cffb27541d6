//go:build !js

package davhandler

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type step struct {
	method, path string
	hdr          map[string]string
	body         string
}

func newServer(t *testing.T, pre bool) (*httptest.Server, string) {
	t.Helper()
	root := t.TempDir()
	h, err := New(Config{Root: root, Prefix: "/dav/", User: "u", Pass: "p", Preconditions: pre})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s, root
}

func do(t *testing.T, s *httptest.Server, st step, auth bool) *http.Response {
	t.Helper()
	req, err := http.NewRequest(st.method, s.URL+st.path, strings.NewReader(st.body))
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth("u", "p")
	}
	for k, v := range st.hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAuth(t *testing.T) {
	s, _ := newServer(t, true)
	resp := do(t, s, step{method: "PROPFIND", path: "/dav/", hdr: map[string]string{"Depth": "0"}}, false)
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("no credentials: got %d %q, want 401 Basic", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if r := do(t, s, step{method: "PROPFIND", path: "/dav/", hdr: map[string]string{"Depth": "0"}}, true); r.StatusCode != 207 {
		t.Fatalf("with credentials: got %d, want 207", r.StatusCode)
	}
}

// TestPreconditions walks a writer through every precondition case. It is
// the test of put's promise: a write with a stale ETag never lands.
func TestPreconditions(t *testing.T) {
	s, root := newServer(t, true)
	put := func(body string, hdr map[string]string) *http.Response {
		return do(t, s, step{method: "PUT", path: "/dav/f.json", body: body, hdr: hdr}, true)
	}
	r := put("one", map[string]string{"If-None-Match": "*"})
	if r.StatusCode != 201 || r.Header.Get("ETag") == "" {
		t.Fatalf("create: %d etag %q", r.StatusCode, r.Header.Get("ETag"))
	}
	tag1 := r.Header.Get("ETag")
	if r := put("two", map[string]string{"If-None-Match": "*"}); r.StatusCode != 412 {
		t.Fatalf("If-None-Match * on existing: %d, want 412", r.StatusCode)
	}
	// Same size, written at once: a content hash still tells them apart.
	r = put("uno", map[string]string{"If-Match": tag1})
	if r.StatusCode != 204 {
		t.Fatalf("If-Match current: %d, want 204", r.StatusCode)
	}
	tag2 := r.Header.Get("ETag")
	if tag2 == tag1 {
		t.Fatalf("ETag unchanged after a same-size rewrite: %s", tag2)
	}
	if r := put("lost", map[string]string{"If-Match": tag1}); r.StatusCode != 412 {
		t.Fatalf("If-Match stale: %d, want 412", r.StatusCode)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "f.json")); string(b) != "uno" {
		t.Fatalf("content after a refused write = %q, want %q", b, "uno")
	}
	if r := do(t, s, step{method: "GET", path: "/dav/f.json", hdr: map[string]string{"If-None-Match": tag2}}, true); r.StatusCode != 304 {
		t.Fatalf("GET If-None-Match current: %d, want 304", r.StatusCode)
	}
	if r := do(t, s, step{method: "PROPFIND", path: "/dav/", hdr: map[string]string{"Depth": "1"}}, true); r.StatusCode != 207 {
		t.Fatalf("PROPFIND: %d", r.StatusCode)
	}
	if r := do(t, s, step{method: "DELETE", path: "/dav/f.json", hdr: map[string]string{"If-Match": tag1}}, true); r.StatusCode != 412 {
		t.Fatalf("DELETE If-Match stale: %d, want 412", r.StatusCode)
	}
	if r := do(t, s, step{method: "PUT", path: "/dav/f.json", body: "x", hdr: map[string]string{"If-Match": "*"}}, true); r.StatusCode != 204 {
		t.Fatalf("If-Match * on existing: %d, want 204", r.StatusCode)
	}
	if r := do(t, s, step{method: "PUT", path: "/dav/new.json", body: "x", hdr: map[string]string{"If-Match": "*"}}, true); r.StatusCode != 412 {
		t.Fatalf("If-Match * on missing: %d, want 412", r.StatusCode)
	}
	if r := do(t, s, step{method: "PUT", path: "/dav/no/such/f.json", body: "x"}, true); r.StatusCode != 409 {
		t.Fatalf("PUT with missing parent: %d, want 409", r.StatusCode)
	}
	get := do(t, s, step{method: "HEAD", path: "/dav/f.json"}, true)
	if r := do(t, s, step{method: "DELETE", path: "/dav/f.json", hdr: map[string]string{"If-Match": get.Header.Get("ETag")}}, true); r.StatusCode != 204 {
		t.Fatalf("DELETE If-Match current: %d, want 204", r.StatusCode)
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}

// TestPlainIgnoresPreconditions pins the deviation the contract suite
// expects from a bare x/net/webdav server.
func TestPlainIgnoresPreconditions(t *testing.T) {
	s, _ := newServer(t, false)
	if r := do(t, s, step{method: "PUT", path: "/dav/f", body: "a"}, true); r.StatusCode != 201 {
		t.Fatalf("PUT: %d", r.StatusCode)
	}
	if r := do(t, s, step{method: "PUT", path: "/dav/f", body: "b", hdr: map[string]string{"If-Match": `"bogus"`}}, true); r.StatusCode != 201 {
		t.Fatalf("plain x/net with a bogus If-Match: %d, want 201 (ignored)", r.StatusCode)
	}
}

// TestConcurrentConditionalPuts races writers that all hold the same ETag:
// exactly one may win, and the file must hold the winner's body. This is
// the lost-update case the write lock exists for.
func TestConcurrentConditionalPuts(t *testing.T) {
	s, root := newServer(t, true)
	first := do(t, s, step{method: "PUT", path: "/dav/race.json", body: "base"}, true)
	tag := first.Header.Get("ETag")
	const n = 16
	codes := make(chan int, n)
	bodies := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			body := strings.Repeat("w", i+1)
			req, _ := http.NewRequest("PUT", s.URL+"/dav/race.json", strings.NewReader(body))
			req.SetBasicAuth("u", "p")
			req.Header.Set("If-Match", tag)
			resp, err := s.Client().Do(req)
			if err != nil {
				codes <- -1
				return
			}
			resp.Body.Close()
			if resp.StatusCode == 204 {
				bodies <- body
			}
			codes <- resp.StatusCode
		}()
	}
	won := 0
	for i := 0; i < n; i++ {
		switch c := <-codes; c {
		case 204:
			won++
		case 412:
		default:
			t.Fatalf("unexpected status %d", c)
		}
	}
	if won != 1 {
		t.Fatalf("%d writers with the same If-Match won, want exactly 1", won)
	}
	winner := <-bodies
	if b, _ := os.ReadFile(filepath.Join(root, "race.json")); string(b) != winner {
		t.Fatalf("file holds %q, want the winner's %q", b, winner)
	}
}
