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

func TestPhasesAreTimedAndLeftOutOfOther(t *testing.T) {
	r := New()
	r.Mark("reading")
	time.Sleep(20 * time.Millisecond)
	r.Add("netGET", 15*time.Millisecond) // inside the phase
	r.Mark("writing")
	time.Sleep(5 * time.Millisecond)
	res := r.Done()
	if res.Counts["phase.reading"] != 1 || res.Counts["phase.writing"] != 1 {
		t.Fatalf("counts %v", res.Counts)
	}
	if res.MS["phase.reading"] < 20 || res.MS["phase.writing"] < 5 {
		t.Fatalf("ms %v", res.MS)
	}
	// other is the total less netGET only: the phases contain it.
	if got := res.MS["total"] - res.MS["netGET"]; res.MS["other"] < got-0.05 || res.MS["other"] > got+0.05 {
		t.Fatalf("other %v, want total-netGET %v", res.MS["other"], got)
	}
}
