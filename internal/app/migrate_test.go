//go:build !js

package app

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/envelope"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/httptransport"
	"github.com/davsync/davsync/scripts/servers/xnetdav/davhandler"
)

// rewriteHost sends requests for https://dav.example to the test server, so
// a stored profile's URL (and the markers bound to it) stays what it was.
type rewriteHost struct {
	to   string
	next webdav.Transport
}

func (r rewriteHost) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	c := *req
	c.URL = strings.Replace(req.URL, "https://dav.example", r.to, 1)
	h := make(map[string]string, len(req.Header))
	for k, v := range req.Header {
		h[k] = strings.Replace(v, "https://dav.example", r.to, 1)
	}
	c.Header = h
	return r.next.RoundTrip(ctx, &c)
}

// copyTree copies testdata's server folder into a fresh directory.
func copyTree(t *testing.T, src string) string {
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// A profile davsync 0.1 wrote (testdata/profile-0.1: its chrome.storage.local
// and the server folder it synced, made by 0.1's own code) upgrades to
// server "1" untouched: the same server, folder and schedule, its data,
// status and markers, so the first cycle after the upgrade is an ordinary
// idle one (one request), not a first sync; the remembered passphrase 0.1
// kept on disk leaves the disk once a derived key replaces it.
func TestUpgradeFromProfile01(t *testing.T) {
	var dump map[string][]byte
	b, err := os.ReadFile("testdata/profile-0.1/kv.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dump); err != nil {
		t.Fatal(err)
	}
	kv := local.NewMemKV()
	ctx := context.Background()
	if err := kv.Set(ctx, dump); err != nil {
		t.Fatal(err)
	}
	root := copyTree(t, "testdata/profile-0.1/server")
	h, err := davhandler.New(davhandler.Config{Root: root, Prefix: "/dav/", User: "ann", Pass: "pw-good", Preconditions: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	a := New(Config{KV: kv, Transport: rewriteHost{srv.URL, httptransport.New()},
		KeyOptions: envelope.KeyOptions{Iterations: envelope.MinIterations}})

	s, err := a.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Remotes) != 1 {
		t.Fatalf("remotes %+v", s.Remotes)
	}
	r := s.Remotes[0]
	if r.ID != "1" || r.URL != "https://dav.example/dav/" || r.Folder != "davsync" || r.Username != "ann" || r.Password != "pw-good" ||
		r.IntervalMinutes != 30 || r.SnapshotsKeep != 3 || !r.AutoSync || !r.Enabled || !r.Encryption.Enabled || r.Encryption.Passphrase == "" {
		t.Fatalf("server 1 after the upgrade: %+v", r)
	}
	st, _ := a.Status(ctx)
	if st.LastSync == 0 || st.Remotes[0].Status.State != StateIdle {
		t.Fatalf("the status did not come along: %+v", st)
	}
	raw, _ := a.Accounts(ctx)
	if !strings.Contains(string(raw), "Bravo two") || !strings.Contains(string(raw), "Alpha") {
		t.Fatalf("accounts: %s", raw)
	}
	old, _ := kv.Get(ctx, local.StatePrefix+"sync.marker", local.StatePrefix+"sync.status", "davsync.engine.trigger")
	if len(old) != 0 {
		t.Fatalf("0.1's keys are still there: %v", old)
	}

	res, err := a.Sync(ctx, "1", SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 1 || res.Uploaded || res.Applied {
		t.Fatalf("the first cycle after the upgrade was not an idle one: %+v", res)
	}
	snaps, err := a.Snapshots(ctx, "1")
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots %v %v", snaps, err)
	}

	if _, err := a.PutAccount(ctx, []byte(`{"site_name":"Charlie"}`), nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := a.Sync(ctx, "1", SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	m, _ := kv.Get(ctx, keySettings)
	if strings.Contains(string(m[keySettings]), "old passphrase") {
		t.Fatal("the passphrase 0.1 kept on disk is still there after a derived key replaced it")
	}
	// A restarted browser (no session) still syncs with the remembered key.
	b2 := New(Config{KV: kv, Transport: rewriteHost{srv.URL, httptransport.New()}})
	if _, err := b2.PutAccount(ctx, []byte(`{"site_name":"Delta"}`), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.Sync(ctx, "1", SyncOptions{}); err != nil {
		t.Fatalf("after the browser restarted: %v", err)
	}
}
