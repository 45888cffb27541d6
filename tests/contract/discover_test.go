//go:build !js

package contract

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/httptransport"
	"github.com/davsync/davsync/scripts/servers/serverctl"
)

// A person with only a Nextcloud host name, a user name and an app
// password gets their files folder found: discovery from the bare host of
// the Nextcloud-shaped server (sabre/dav at /remote.php/dav/files/<user>/,
// status.php), and a generic server is found at its common path.
func TestDiscoverFromBareHost(t *testing.T) {
	repo, err := serverctl.FindRepo(".")
	if err != nil {
		t.Fatal(err)
	}
	if err := serverctl.Install(repo, []string{"nextcloud"}, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nc, err := serverctl.Start(ctx, serverctl.Options{Repo: repo, RunDir: runDir}, "nextcloud")
	if err != nil {
		t.Fatalf("the Nextcloud-shaped server must start: %v", err)
	}
	defer func() { _ = serverctl.Stop(runDir, "nextcloud") }()
	tr := httptransport.New()
	d, err := webdav.Discover(ctx, nc.URL, nc.User, nc.Pass, tr)
	if err != nil {
		t.Fatal(err)
	}
	if d.URL != nc.FilesURL || !strings.Contains(d.Product, "Nextcloud") || d.Reason.Key != "discFilesFolder" || !strings.Contains(d.Reason.String(), "files folder") {
		t.Fatalf("discovered %+v, want %s", d, nc.FilesURL)
	}
	// The folder found works for the server check.
	c, err := webdav.New(d.URL, nc.User, nc.Pass, tr)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.Check(ctx); err != nil || !res.OK {
		t.Fatalf("check of the discovered folder: %+v %v", res, err)
	}
	// A wrong password is said at once, not searched for elsewhere.
	if _, err := webdav.Discover(ctx, nc.URL, nc.User, "wrong", tr); errkind.Of(err) != errkind.Auth {
		t.Fatalf("wrong password: %v", err)
	}
	for _, s := range servers {
		if s.Name != "apache" {
			continue
		}
		host := s.URL[:strings.Index(s.URL[len("http://"):], "/")+len("http://")]
		d, err := webdav.Discover(ctx, host, s.User, s.Pass, tr)
		if err != nil || d.URL != s.URL {
			t.Fatalf("apache from %s: %+v %v (want %s)", host, d, err, s.URL)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
