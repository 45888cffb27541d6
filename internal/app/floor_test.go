package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// checked runs the server check as Test connection does, so the remote's
// traits (its login, whether it honours preconditions) are known.
func (d *device) checked() {
	d.t.Helper()
	s, err := d.app.Settings(context.Background())
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.app.Check(context.Background(), s.Remotes[0]); err != nil {
		d.t.Fatal(err)
	}
}

// TestCycleFloor: on a server the check found honouring preconditions, a
// first sync sends the body once in at most five requests (listing, MKCOL,
// PUT, README, PROPFIND for the new ETag), and an edit confirms its write
// by the ETag, not by downloading the file. A server that ignores If-Match
// (nginx) still gets the read-back, because only the bytes prove the write
// there.
func TestCycleFloor(t *testing.T) {
	for _, c := range []struct {
		name     string
		q        webdav.Traits
		readBack bool
	}{
		{"strict", webdav.Traits{}, false},
		{"apache", webdav.Traits{PutETag: webdav.No}, false},
		{"nginx", webdav.Traits{IfMatch: webdav.No, IfNoneMatch: webdav.No, SecondETags: true, PutETag: webdav.No}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld()
			srv := newServer(w, c.q)
			a := newDevice(t, "a", w, srv, srv.URL(), 0)
			for i := 0; i < 200; i++ {
				a.put(fmt.Sprintf("r%03d", i), "a fairly long account name to give the file some size")
			}
			a.checked()
			srv.ResetStats()
			res := a.mustCycle()
			if !res.Uploaded {
				t.Fatalf("first sync did not upload: %+v", res)
			}
			size := int64(len(mustFile(t, srv, "davsync/davsync.json.gz", "davsync/davsync.json")))
			readme := int64(len(mustFile(t, srv, "davsync/README.txt")))
			if res.BytesUp > size+readme+1024 {
				t.Fatalf("first sync sent %d bytes for a %d-byte file (and a %d-byte README): the body went more than once", res.BytesUp, size, readme)
			}
			if !c.readBack && res.Requests > 5 {
				t.Fatalf("first sync made %d requests (%v), want at most 5", res.Requests, srv.Stats().Requests)
			}

			w.advance(2 * time.Minute)
			a.setField("r007", "site_name", "edited")
			res = a.mustCycle()
			if !res.Uploaded {
				t.Fatalf("edit did not upload: %+v", res)
			}
			edited := int64(len(mustFile(t, srv, "davsync/davsync.json.gz", "davsync/davsync.json")))
			if c.readBack && res.BytesDown < edited {
				t.Fatalf("a server that ignores If-Match: the write must be read back, got %d bytes down for a %d-byte file", res.BytesDown, edited)
			}
			if !c.readBack && res.BytesDown >= 2048 {
				t.Fatalf("edit downloaded %d bytes; a PROPFIND for the ETag proves the write on this server", res.BytesDown)
			}
			// Whatever proved the write, the next cycle finds nothing to do.
			w.advance(2 * time.Minute)
			if res := a.mustCycle(); res.Uploaded || res.Applied || res.Requests != 1 {
				t.Fatalf("idle after the edit: %+v", res)
			}
		})
	}
}

func mustFile(t *testing.T, srv *davtest.Server, names ...string) []byte {
	t.Helper()
	for _, n := range names {
		if b, ok := srv.File(n); ok {
			return b
		}
	}
	t.Fatalf("none of %v on the server: %v", names, srv.Files())
	return nil
}
