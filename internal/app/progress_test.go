package app

import (
	"context"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// A sync that takes longer than a moment tells the pages its phase and the
// bytes a download moved, through the status broadcast.
func TestProgressIsBroadcast(t *testing.T) {
	srv := davtest.New()
	srv.User, srv.Password = "u", "p"
	slow := transportFunc(func(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
		resp, err := srv.RoundTrip(ctx, req)
		if err == nil && req.Method == "GET" && req.Progress != nil && len(resp.Body) > 0 {
			n := int64(len(resp.Body))
			time.Sleep(200 * time.Millisecond)
			req.Progress(n/2, n)
			time.Sleep(300 * time.Millisecond)
			req.Progress(n, n)
		}
		return resp, err
	})
	var seen []Progress
	a := New(Config{KV: local.NewMemKV(), Transport: slow, OnStatus: func(st Status) {
		for _, r := range st.Remotes {
			if p := r.Status.Progress; p != nil {
				seen = append(seen, *p)
			}
		}
	}})
	ctx := context.Background()
	if _, _, err := a.SaveRemote(ctx, "", []byte(`{"url":"`+srv.URL()+`","username":"u","password":"p"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutAccount(ctx, []byte(`{"site_name":"X"}`), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(ctx, "1", SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	// Another device's change: this sync reads the file slowly.
	srv.PutFile(remotePath, func() []byte { b, _ := srv.File(remotePath); return b }())
	phases := map[string]bool{}
	bytes := false
	seen = nil
	if _, err := a.Download(ctx, "1", "merge", SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range seen {
		phases[p.Phase] = true
		bytes = bytes || (p.Total > 0 && p.Done > 0)
	}
	if !phases["reading"] || !phases["merging"] || !bytes {
		t.Fatalf("progress seen: %+v", seen)
	}
	if st, _ := a.Status(ctx); st.Remotes[0].Status.Progress != nil {
		t.Fatal("progress left in the status after the sync")
	}
}
