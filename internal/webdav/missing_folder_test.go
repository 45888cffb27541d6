package webdav_test

import (
	"context"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

// COPY/MOVE of a file into a missing folder: the server's 409 is what the
// caller sees, not the answer to the slashed retry ("f.json/" ->
// "no/g.json/"), which Apache gives as 400 and lighttpd as 403. Reported as
// anything but folder_missing, the sync's snapshot code would take the
// server for one that refuses COPY and upload every later snapshot.
func TestCopyMoveIntoMissingFolderSlashRetryAnswer(t *testing.T) {
	for _, tc := range []struct {
		server      string
		slashStatus int
	}{{"apache", 400}, {"lighttpd", 403}} {
		for _, method := range []string{"COPY", "MOVE"} {
			s := newNoAuthServer()
			seed(s, "f.json", "x")
			s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
				if req.Method == method && strings.HasSuffix(req.URL, "/f.json/") {
					return reply(tc.slashStatus, "<html>nope</html>"), nil
				}
				return nil, nil
			}
			c := newClient(t, s)
			err := moveOrCopy(c, method, "f.json", "no/g.json")
			if errkind.Of(err) != errkind.FolderMissing {
				t.Errorf("%s %s: kind %q, want folder_missing: %v", tc.server, method, errkind.Of(err), err)
			}
		}
	}
}

// nginx answers COPY into a missing folder with 500, Apache MOVE likewise,
// x/net and rclone MOVE with 403: a PROPFIND of the destination's folder
// tells that from a real failure, as for Put. (The contract suite checks
// the same against the real servers.)
func TestCopyMoveMissingFolderAnswered500Or403(t *testing.T) {
	for _, tc := range []struct {
		method string
		status int
	}{{"COPY", 500}, {"MOVE", 500}, {"MOVE", 403}} { // 403: x/net and rclone MOVE
		method := tc.method
		s := newNoAuthServer()
		seed(s, "f.json", "x")
		s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
			if req.Method == method && strings.Contains(hdr(req, "Destination"), "/no/") {
				return reply(tc.status, "<html>refused</html>"), nil
			}
			return nil, nil
		}
		c := newClient(t, s)
		err := moveOrCopy(c, method, "f.json", "no/g.json")
		if errkind.Of(err) != errkind.FolderMissing {
			t.Errorf("%s answered %d: kind %q, want folder_missing: %v", method, tc.status, errkind.Of(err), err)
		}
	}
}

func moveOrCopy(c *webdav.Client, method, from, to string) error {
	if method == "MOVE" {
		return c.Move(context.Background(), from, to, false)
	}
	return c.Copy(context.Background(), from, to, false)
}
