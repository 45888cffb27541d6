package app

import (
	"net/url"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

// A sync file that does not parse is read once more before the cycle
// gives up: another device may be writing it at that moment (rclone serves
// an upload while it arrives). The second read brings the whole file and
// the cycle goes on; a file that reads back the same bytes is damaged for
// real and reported, with nothing changed here.
func TestHalfWrittenRemoteIsReadAgain(t *testing.T) {
	for _, damaged := range []bool{false, true} {
		w := newWorld()
		srv := newServer(w, webdav.Traits{})
		a := newDevice(t, "a", w, srv, srv.URL(), 0)
		b := newDevice(t, "b", w, srv, srv.URL(), 0)
		a.put("r0", "zero")
		a.mustCycle()
		b.mustCycle()
		a.put("r1", "one")
		a.mustCycle()
		gets := 0
		srv.Hook = func(req *webdav.Request) (*webdav.Response, error) {
			if req.Method != "GET" || !strings.HasSuffix(req.URL, "/davsync.json") {
				return nil, nil
			}
			gets++
			if gets > 1 && !damaged {
				return nil, nil // the upload finished
			}
			u, _ := url.Parse(req.URL)
			rel := strings.TrimPrefix(u.Path, "/dav/")
			body, _ := srv.File(rel)
			return &webdav.Response{Status: 200, Header: map[string]string{"etag": `"` + srv.ETag(rel) + `"`}, Body: body[:len(body)/2]}, nil
		}
		before := b.docHash()
		_, err := b.cycle(CycleOptions{})
		srv.Hook = nil
		if damaged {
			if errkind.Of(err) != errkind.BadDocument || gets != 2 || b.docHash() != before {
				t.Fatalf("damaged: err %v after %d GETs, local changed: %v", err, gets, b.docHash() != before)
			}
			continue
		}
		if err != nil || gets != 2 || b.names()["r1"] != "one" {
			t.Fatalf("half-written: err %v after %d GETs, names %v", err, gets, b.names())
		}
	}
}
