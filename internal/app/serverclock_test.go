package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/hlc"
	"github.com/davsync/davsync/internal/webdav"
)

// datedTransport rewrites the Date header of every answer to a fixed time:
// a server whose clock is broken, or that lies.
type datedTransport struct {
	next webdav.Transport
	date time.Time
}

func (t datedTransport) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	resp, err := t.next.RoundTrip(ctx, req)
	if resp != nil {
		resp.Header["Date"] = t.date.UTC().Format(time.RFC1123)
	}
	return resp, err
}

// A server's Date far ahead cannot push this device's edits into the
// future: beyond maxServerAhead it is ignored. A Date weeks ahead (this
// device's clock is behind) is observed, and the status says which clock
// to check.
func TestServerDateIsBelievedWithinBounds(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	liar := newDevice(t, "liar", w, datedTransport{srv, w.now().AddDate(260, 0, 0)}, srv.URL(), 0)
	liar.put("r1", "x")
	liar.mustCycle()
	liar.put("r2", "y")
	liar.mustCycle()
	if ts := liar.store.Clock().Now(); hlc.Ahead(ts, liar.wall().UnixMilli()) {
		t.Fatalf("a server Date 260 years ahead moved this device's clock to %d", ts)
	}

	behind := newDevice(t, "behind", w, srv, srv.URL(), -30*24*time.Hour)
	res := behind.mustCycle()
	if ts := behind.store.Clock().Now(); ts < w.now().UnixMilli() {
		t.Fatal("a device 30 days behind did not observe the server's time")
	}
	found := false
	for _, warn := range res.Warnings {
		found = found || strings.Contains(warn.String(), "30 days ahead")
	}
	if !found {
		t.Fatalf("no warning names the clock difference: %q", res.Warnings)
	}
}
