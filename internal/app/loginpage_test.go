//go:build !js

package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav/httptransport"
)

// TestLoginPageURL: a folder URL that leads to a web page (an SSO or login
// page answering 200 to every path) is "not a WebDAV folder", as Test
// connection says, on sync and on Upload, confirmed or not; never a damaged
// backup with the advice to Upload over it, never a success.
func TestLoginPageURL(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(200)
		_, _ = w.Write([]byte("<!doctype html><html><head><title>Login</title></head><body><form>User <input name=u></form></body></html>"))
	}))
	defer hs.Close()
	d := newDevice(t, "A", newWorld(), httptransport.New(), hs.URL+"/remote.php/dav/files/alice/", 0)
	d.put("a1", "Site")
	ops := map[string]func() error{
		"sync":             func() error { _, err := d.cycle(CycleOptions{}); return err },
		"upload":           func() error { _, err := d.eng.Upload(context.Background(), CycleOptions{}); return err },
		"confirmed upload": func() error { _, err := d.eng.Upload(context.Background(), CycleOptions{Confirm: true}); return err },
	}
	for name, op := range ops {
		err := op()
		if !errors.Is(err, errkind.BadResponse) {
			t.Errorf("%s: %v (kind %s), want bad_response", name, err, errkind.Of(err))
		}
		if strings.Contains(errkind.Message(err), "Upload") {
			t.Errorf("%s: the message advises Upload over a login page: %q", name, errkind.Message(err))
		}
	}
}
