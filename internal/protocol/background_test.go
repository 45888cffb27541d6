//go:build !js

package protocol

import (
	"context"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/davtest"
)

// After a rejected password ("automatic sync is paused until you change the
// server settings") or a 429 with Retry-After, the background triggers the
// worker sends (an edit 3 s after it, the browser start) must not go to the
// server: issue 4 says an auth failure stops automatic sync until the
// settings change and Retry-After is honoured, and PROTOCOL.md says
// "alarm/edit/startup honour schedule and backoff".
func TestBackgroundTriggersHonourPauseAndRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(srv *davtest.Server)
		pass  string
	}{
		{"auth paused", func(srv *davtest.Server) {}, "rejected-pw"},
		{"retry-after", func(srv *davtest.Server) {
			srv.Faults = func(req *webdav.Request) davtest.Fault {
				return davtest.Fault{Status: 429, RetryAfter: 3600}
			}
		}, "pw-good"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := davtest.New()
			srv.User, srv.Password = "ann", "pw-good"
			tc.setup(srv)
			e, _ := newTest(t, func(c *app.Config) {
				c.Transport = srv
				c.Wall = func() int64 { return time.Now().UnixMilli() }
				c.WebDAVOptions = []webdav.Option{webdav.WithRetry(1, time.Millisecond, time.Millisecond)}
			})
			call(t, e, "settings.save", map[string]any{"settings": map[string]any{
				"url": srv.URL(), "username": "ann", "password": tc.pass, "autoSync": true, "intervalMinutes": 60, "syncOnStartup": true}})
			if _, err := e.Handle(context.Background(), "sync.now", []byte(`{"trigger":"alarm"}`)); err == nil {
				t.Fatal("first cycle should fail")
			}
			st := call(t, e, "sync.status", nil)
			t.Logf("status after failure: paused=%v error=%s nextRun-now=%ds", st.Get("status.paused").Bool(),
				st.Get("status.error.kind").String(), (st.Get("status.nextRun").Int()-time.Now().UnixMilli())/1000)
			// The user keeps working; the worker syncs 3 s after each edit,
			// and the browser is restarted.
			srv.ResetStats()
			for i := 0; i < 3; i++ {
				call(t, e, "accounts.put", map[string]any{"account": map[string]any{"site_name": "edit"}})
				_, _ = e.Handle(context.Background(), "sync.now", []byte(`{"trigger":"edit"}`))
			}
			_, _ = e.Handle(context.Background(), "sync.now", []byte(`{"trigger":"startup"}`))
			if n := srv.Stats().Total(); n != 0 {
				t.Fatalf("background syncs sent %d requests to the server while automatic sync is paused/backing off: %v", n, srv.Stats().Requests)
			}
		})
	}
}
