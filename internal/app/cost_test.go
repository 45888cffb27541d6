package app

import (
	"context"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
)

// countingKV counts the calls that reach the device's storage.
type countingKV struct {
	local.KV
	gets, sets int
}

func (c *countingKV) Get(ctx context.Context, keys ...string) (map[string][]byte, error) {
	c.gets++
	return c.KV.Get(ctx, keys...)
}

func (c *countingKV) Set(ctx context.Context, items map[string][]byte) error {
	c.sets++
	return c.KV.Set(ctx, items)
}

// What a cycle costs the browser beyond its requests: an idle cycle reads
// nothing from storage (the cache), writes once (its markers and status
// together) and broadcasts once; a cycle that uploads an edit adds no
// write of its own either.
func TestCycleStorageAndBroadcasts(t *testing.T) {
	w := newWorld()
	srv := newServer(w, webdav.Traits{})
	a := newDevice(t, "a", w, srv, srv.URL(), 0)
	ckv := &countingKV{KV: a.kv}
	a.kv = ckv
	a.open(srv) // a worker start over the counted storage
	broadcasts := 0
	a.app.cfg.OnStatus = func(Status) { broadcasts++ }
	a.put("r1", "one")
	a.mustCycle()
	w.advance(time.Minute) // the ETag settles
	a.mustCycle()
	w.advance(time.Minute)

	ckv.gets, ckv.sets, broadcasts = 0, 0, 0
	if res := a.mustCycle(); res.Requests != 1 || res.Uploaded || res.Applied {
		t.Fatalf("not an idle cycle: %+v", res)
	}
	if ckv.gets != 0 || ckv.sets != 1 || broadcasts != 1 {
		t.Fatalf("idle cycle: %d reads, %d writes, %d broadcasts; want 0, 1, 1", ckv.gets, ckv.sets, broadcasts)
	}

	a.put("r2", "two")
	w.advance(time.Minute)
	ckv.gets, ckv.sets, broadcasts = 0, 0, 0
	if res := a.mustCycle(); !res.Uploaded {
		t.Fatalf("the edit was not uploaded: %+v", res)
	}
	if ckv.gets != 0 || ckv.sets != 1 || broadcasts != 1 {
		t.Fatalf("edit cycle: %d reads, %d writes, %d broadcasts; want 0, 1, 1", ckv.gets, ckv.sets, broadcasts)
	}
}
