//go:build js && wasm

package jsstore

import (
	"bytes"
	"context"
	"testing"

	"github.com/davsync/davsync/wasm/jsasync"
)

// fakeArea is chrome.storage.local's promise API over a Map, built in JS so
// the values go through the same structured JS objects as in the browser.
func fakeArea(t *testing.T) *Store {
	t.Helper()
	mk, err := jsasync.Global("Function").New(`
const m = new Map();
const clone = (v) => JSON.parse(JSON.stringify(v));
return {
  get: (keys) => Promise.resolve(Object.fromEntries(keys.filter((k) => m.has(k)).map((k) => [k, clone(m.get(k))]))),
  set: (items) => { for (const [k, v] of Object.entries(items)) m.set(k, clone(v)); return Promise.resolve(); },
  remove: (keys) => { for (const k of keys) m.delete(k); return Promise.resolve(); },
};`)
	if err != nil {
		t.Fatal(err)
	}
	area, err := mk.Invoke()
	if err != nil {
		t.Fatal(err)
	}
	return NewArea(area)
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := fakeArea(t)
	items := map[string][]byte{
		"json":   []byte(`{"a":"日本語","b":[1,2]}`),
		"binary": {0x1f, 0x8b, 0x00, 0xff, 0xfe},
		"empty":  {},
	}
	if err := s.Set(ctx, items); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "json", "binary", "empty", "missing")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["missing"]; ok {
		t.Fatal("missing key returned")
	}
	for k, want := range items {
		if !bytes.Equal(got[k], want) {
			t.Fatalf("%s: got %q want %q", k, got[k], want)
		}
	}
	if err := s.Delete(ctx, "json", "missing"); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, "json", "binary")
	if _, ok := got["json"]; ok || len(got["binary"]) != 5 {
		t.Fatalf("after delete: %v", got)
	}
}

func TestNewWithoutChrome(t *testing.T) {
	if _, err := New(); err == nil {
		t.Fatal("New succeeded outside an extension")
	}
}
