//go:build js && wasm

package timing

import (
	"context"
	"time"

	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/webdav"
)

// KV wraps a local.KV, adding each call's time to the recorder of its
// context under prefix+"Get", "Set" or "Del".
func KV(kv local.KV, prefix string) local.KV { return timedKV{kv, prefix} }

type timedKV struct {
	kv     local.KV
	prefix string
}

func (t timedKV) Get(ctx context.Context, keys ...string) (map[string][]byte, error) {
	defer From(ctx).Since(t.prefix+"Get", time.Now())
	return t.kv.Get(ctx, keys...)
}

func (t timedKV) Set(ctx context.Context, items map[string][]byte) error {
	defer From(ctx).Since(t.prefix+"Set", time.Now())
	return t.kv.Set(ctx, items)
}

func (t timedKV) Delete(ctx context.Context, keys ...string) error {
	defer From(ctx).Since(t.prefix+"Del", time.Now())
	return t.kv.Delete(ctx, keys...)
}

// Transport wraps a webdav.Transport, adding each request's time under
// "net"+its method ("netGET", "netPUT", ...).
func Transport(t webdav.Transport) webdav.Transport { return timedTransport{t} }

type timedTransport struct{ t webdav.Transport }

func (t timedTransport) RoundTrip(ctx context.Context, req *webdav.Request) (*webdav.Response, error) {
	defer From(ctx).Since("net"+req.Method, time.Now())
	return t.t.RoundTrip(ctx, req)
}
