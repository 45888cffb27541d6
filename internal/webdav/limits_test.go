package webdav

import (
	"context"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
)

// Every request tells the transport how much answer it accepts: the whole
// sync file for GET, a listing for PROPFIND, an error page for the rest.
func TestRequestsCarryTheirBodyLimit(t *testing.T) {
	s := newFakeServer()
	c := s.client(t)
	ctx := context.Background()
	if _, err := c.Put(ctx, "f.json", []byte("{}"), PutCondition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "f.json", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx, ""); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"PUT": limits.Reply, "GET": limits.Download, "PROPFIND": limits.Multistatus}
	for _, r := range s.log {
		if w, ok := want[r.Method]; ok && r.MaxBody != w {
			t.Errorf("%s carried MaxBody %d, want %d", r.Method, r.MaxBody, w)
		}
	}
}

// A transport that ignores MaxBody does not get a larger answer past the
// client.
func TestClientRefusesAnswerAboveItsLimit(t *testing.T) {
	s := newFakeServer()
	s.hook = func(req *Request) (*Response, error, bool) {
		if req.Method == "GET" {
			return &Response{Status: 200, Header: map[string]string{}, Body: make([]byte, req.MaxBody+1)}, nil, true
		}
		return nil, nil, false
	}
	c := s.client(t, WithMaxDownload(1<<20))
	_, err := c.Get(context.Background(), "f.json", "")
	wantKind(t, err, errkind.TooLarge)
	if got := len(s.log); got != 1 {
		t.Fatalf("a too-large answer was retried: %d requests", got)
	}
}
