//go:build !js

package webdav_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/httptransport"
	"github.com/davsync/davsync/scripts/servers/xnetdav/davhandler"
)

// A server that refuses MOVE works (davsync writes in place), and Test
// connection says so; its note must not tell the user the URL is wrong
// when every other check just proved it is a WebDAV folder.
func TestCheckNoMoveWarningDoesNotBlameTheURL(t *testing.T) {
	h, err := davhandler.New(davhandler.Config{Root: t.TempDir(), Prefix: "/dav/", User: "u", Pass: "p", Preconditions: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "MOVE" || r.Method == "COPY" {
			w.Header().Set("Allow", "GET, PUT, DELETE, PROPFIND, MKCOL, OPTIONS")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer hs.Close()
	c, err := webdav.New(hs.URL+"/dav/", "u", "p", httptransport.New())
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Check(context.Background())
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if !res.OK {
		t.Fatalf("check not ok: %+v", res)
	}
	for _, w := range res.Warnings {
		t.Logf("warning: %q", w)
		if strings.Contains(w.String(), "check that the URL points at a WebDAV folder") {
			t.Errorf("a benign MOVE note tells the user the URL is wrong: %q", w)
		}
	}
}
