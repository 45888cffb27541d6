package webdav_test

import (
	"context"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/limits"
	"github.com/davsync/davsync/internal/webdav"
)

// Every request tells the transport how much answer it accepts: the whole
// sync file for GET, a listing for PROPFIND, an error page for the rest.
func TestRequestsCarryTheirBodyLimit(t *testing.T) {
	s := newServer()
	c := newClient(t, s)
	ctx := context.Background()
	if _, err := c.Put(ctx, "f.json", []byte("{}"), webdav.PutCondition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "f.json", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx, ""); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"PUT": limits.Reply, "GET": limits.Download, "PROPFIND": limits.Multistatus}
	for _, r := range s.Log() {
		if w, ok := want[r.Method]; ok && r.MaxBody != w {
			t.Errorf("%s carried MaxBody %d, want %d", r.Method, r.MaxBody, w)
		}
	}
}

// A transport that ignores MaxBody does not get a larger answer past the
// client.
func TestClientRefusesAnswerAboveItsLimit(t *testing.T) {
	s := newServer()
	s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
		if req.Method == "GET" {
			return &webdav.Response{Status: 200, Header: map[string]string{}, Body: make([]byte, req.MaxBody+1)}, nil
		}
		return nil, nil
	}
	c := newClient(t, s, webdav.WithMaxDownload(1<<20))
	_, err := c.Get(context.Background(), "f.json", "")
	wantKind(t, err, errkind.TooLarge)
	if got := len(s.Log()); got != 1 {
		t.Fatalf("a too-large answer was retried: %d requests", got)
	}
}
