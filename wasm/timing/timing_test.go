//go:build js && wasm

package timing

import (
	"context"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/local"
)

func TestRecorderSumsByContext(t *testing.T) {
	r := New()
	ctx := With(context.Background(), r)
	kv := KV(local.NewMemKV(), "kv")
	_ = kv.Set(ctx, map[string][]byte{"a": []byte("1")})
	_, _ = kv.Get(ctx, "a")
	_, _ = kv.Get(ctx, "a")
	_, _ = kv.Get(context.Background(), "a") // no recorder: not counted
	var act Active
	leave := act.Enter(r)
	act.Add("status", time.Millisecond)
	leave()
	act.Add("status", time.Millisecond) // r left: not counted
	res := r.Done()
	if res.Counts["kvGet"] != 2 || res.Counts["kvSet"] != 1 || res.Counts["status"] != 1 {
		t.Fatalf("counts %v", res.Counts)
	}
	if res.MS["status"] != 1 || res.MS["total"] < res.MS["other"] {
		t.Fatalf("ms %v", res.MS)
	}
}
