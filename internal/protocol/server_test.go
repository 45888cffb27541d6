//go:build !js

package protocol

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/davsync/davsync/internal/errkind"
)

// The first-run path in messages: a provider's URL filled from what the
// user typed, a bare host's folder found by the test, folders listed and
// created for the picker, and the chosen folder saved.
func TestServerFormFlow(t *testing.T) {
	url, root := davServer(t)
	e := remoteEngine(t)
	host := url[:strings.Index(url[len("http://"):], "/")+len("http://")]

	ps := call(t, e, "providers.list", nil).Get("providers").Array()
	if len(ps) < 12 || ps[len(ps)-1].Get("id").String() != "other" {
		t.Fatalf("providers: %d", len(ps))
	}
	u := call(t, e, "providers.fill", `{"id":"nextcloud","inputs":{"host":"cloud.example.com","user":"ann"}}`).Get("url").String()
	if u != "https://cloud.example.com/remote.php/dav/files/ann/" {
		t.Fatalf("filled %s", u)
	}
	if err := callErr(t, e, "providers.fill", `{"id":"nextcloud","inputs":{"host":"evil.com/x?","user":"ann"}}`); !errors.Is(err, errkind.Invalid) {
		t.Fatalf("an injected host was taken: %v", err)
	}

	form := map[string]any{"url": host, "username": "ann", "password": "pw-good"}
	chk := call(t, e, "webdav.test", map[string]any{"settings": form})
	if chk.Get("discovered.url").String() != url || !chk.Get("check.ok").Bool() {
		t.Fatalf("test of a bare host: %s", chk.Raw)
	}
	form["url"] = url
	if got := call(t, e, "webdav.mkdir", map[string]any{"settings": form, "path": "Backups/davsync"}).Get("path").String(); got != "Backups/davsync" {
		t.Fatalf("mkdir: %s", got)
	}
	fs := call(t, e, "webdav.folders", map[string]any{"settings": form, "path": "Backups"})
	if fs.Get("path").String() != "Backups" || fs.Get("folders.0.path").String() != "Backups/davsync" {
		t.Fatalf("folders: %s", fs.Raw)
	}
	if err := callErr(t, e, "webdav.folders", `{"settings":{"url":"`+url+`","username":"ann","password":"wrong"},"path":""}`); !errors.Is(err, errkind.Auth) {
		t.Fatalf("wrong password: %v", err)
	}
	form["folder"] = "Backups/davsync"
	call(t, e, "settings.save", map[string]any{"settings": form})
	call(t, e, "accounts.put", `{"account":{"site_name":"X"}}`)
	if _, err := e.Handle(context.Background(), "sync.now", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Backups", "davsync", "davsync.json")); err != nil {
		t.Fatalf("the sync file is not in the chosen folder: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "Backups", "davsync", "README.txt")); err != nil || !strings.Contains(string(b), "davsync export") {
		t.Fatalf("the folder does not explain itself: %v %q", err, b)
	}
}

// A provider that limits requests gets an interval floor, said with the
// reason.
func TestRateLimitedProviderFloor(t *testing.T) {
	e, _ := newTest(t)
	err := callErr(t, e, "settings.save", `{"settings":{"provider":"jianguoyun","url":"https://dav.jianguoyun.com/dav/","intervalMinutes":1}}`)
	if !errors.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), "600 per 30 minutes") {
		t.Fatalf("want the floor with its reason, got %v", err)
	}
	call(t, e, "settings.save", `{"settings":{"provider":"jianguoyun","url":"https://dav.jianguoyun.com/dav/","intervalMinutes":5}}`)
}
