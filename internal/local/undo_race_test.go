package local

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/backup"
)

// hookKV runs hook (once) when a Get for a key with the given prefix arrives,
// before serving it: another goroutine's write landing between two awaits.
type hookKV struct {
	KV
	mu     sync.Mutex
	prefix string
	hook   func()
}

func (h *hookKV) Get(ctx context.Context, keys ...string) (map[string][]byte, error) {
	h.mu.Lock()
	f := h.hook
	for _, k := range keys {
		if f != nil && strings.HasPrefix(k, h.prefix) {
			h.hook = nil
			h.mu.Unlock()
			f()
			return h.KV.Get(ctx, keys...)
		}
	}
	h.mu.Unlock()
	return h.KV.Get(ctx, keys...)
}

// TestUndoRestoreRacingALabelledCommit: the user restores the oldest of the
// five undo points while a sync cycle applies its merge. The index and the
// point's document (its chunks, or the ring slot id%5 of a gzip copy) are
// two KV reads, and the sync's new undo point evicts the oldest one; read
// without the store's lock, the restore reported success but restored the
// newest state instead.
func TestUndoRestoreRacingALabelledCommit(t *testing.T) {
	ctx := context.Background()
	kv := &hookKV{KV: NewMemKV(), prefix: keyChunk}
	st := openTest(t, kv)
	for i := 0; i < 6; i++ {
		if _, err := st.UpdateWith(ctx, "import", func(d *backup.Document) error {
			_, err := PutRecord(d, "accounts", []byte(fmt.Sprintf(`{"id":"r%d","site_name":"v%d"}`, i, i)), st.Clock().Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	pts, err := st.UndoList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldest := pts[len(pts)-1] // the state with r0 only
	if oldest.Records != 1 {
		t.Fatalf("oldest point has %d records", oldest.Records)
	}
	// The sync cycle's commit lands between the index read and the chunks' read.
	// (It runs on its own goroutine, as the cycle does; the restore waits
	// for it up to 100 ms, which a store that serialises the two outlasts.)
	synced := make(chan struct{})
	kv.hook = func() {
		go func() {
			defer close(synced)
			if _, err := st.UpdateWith(ctx, "sync", func(d *backup.Document) error {
				_, err := PutRecord(d, "accounts", []byte(`{"id":"remote","site_name":"from another device"}`), st.Clock().Now())
				return err
			}); err != nil {
				t.Error(err)
			}
		}()
		select {
		case <-synced:
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer func() { <-synced }()
	if _, err := st.UndoRestore(ctx, oldest.ID); err != nil {
		t.Logf("restore refused: %v (acceptable: the point was evicted)", err)
		return
	}
	<-synced
	n := names(t, st)
	delete(n, "remote") // the sync may land after the restore
	if len(n) != 1 || n["r0"] != "v0" {
		t.Fatalf("UndoRestore(%d) reported success but the store now holds %v, not the chosen point's %d record(s) {r0}",
			oldest.ID, n, oldest.Records)
	}
}
