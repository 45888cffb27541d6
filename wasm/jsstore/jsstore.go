//go:build js && wasm

// Package jsstore keeps davsync's local state in chrome.storage.local,
// implementing local.KV.
//
// A value that is valid UTF-8 (all of davsync's JSON) is stored as a plain
// string, so it stays readable in the browser's storage inspector; any other
// bytes are stored as {"b64": "..."}. The two cannot be confused because one
// is a string and the other an object.
package jsstore

import (
	"context"
	"encoding/base64"
	"unicode/utf8"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/wasm/jsasync"
	"github.com/hack-pad/safejs"
)

// Store is a local.KV over one chrome.storage area.
type Store struct {
	area safejs.Value
}

// New returns a Store over chrome.storage.local.
func New() (*Store, error) { return NewNamed("local") }

// NewNamed returns a Store over chrome.storage.<name> ("local" or
// "session").
func NewNamed(name string) (*Store, error) {
	chrome := jsasync.Global("chrome")
	if chrome.Type() != safejs.TypeObject {
		return nil, errkind.Internal(errkind.Storage, "chrome.storage", "chrome.storage is not available here; davsync must run inside the extension", nil)
	}
	storage, err := chrome.Get("storage")
	if err != nil || storage.Type() != safejs.TypeObject {
		return nil, errkind.Internal(errkind.Storage, "chrome.storage", "chrome.storage is not available; check that the extension has the storage permission", nil)
	}
	area, err := storage.Get(name)
	if err != nil || area.Type() != safejs.TypeObject {
		return nil, errkind.Internal(errkind.Storage, "chrome.storage."+name, "chrome.storage."+name+" is not available", nil)
	}
	return &Store{area: area}, nil
}

// NewArea returns a Store over any object with the chrome.storage area
// methods get/set/remove returning promises (tests pass a fake).
func NewArea(area safejs.Value) *Store { return &Store{area: area} }

func storageErr(op string, err error) error {
	e := errkind.SayWrap(errkind.Storage, op, msg.New("errExtStorageFailed"), err)
	e.Msg = "the browser's extension storage failed (" + err.Error() + "); free disk space or restart the browser, then try again"
	return e
}

func keyArray(keys []string) (safejs.Value, error) {
	arr, err := jsasync.Global("Array").New(len(keys))
	if err != nil {
		return arr, err
	}
	for i, k := range keys {
		if err := arr.SetIndex(i, k); err != nil {
			return arr, err
		}
	}
	return arr, nil
}

// Get returns the values stored under keys; a key with no value is absent
// from the map.
func (s *Store) Get(ctx context.Context, keys ...string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	arr, err := keyArray(keys)
	if err != nil {
		return nil, storageErr("storage get", err)
	}
	p, err := s.area.Call("get", arr)
	if err != nil {
		return nil, storageErr("storage get", err)
	}
	obj, err := jsasync.Await(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, storageErr("storage get", err)
	}
	for _, k := range keys {
		v, err := obj.Get(k)
		if err != nil {
			return nil, storageErr("storage get", err)
		}
		b, ok, err := decode(v)
		if err != nil {
			return nil, storageErr("storage get "+k, err)
		}
		if ok {
			out[k] = b
		}
	}
	return out, nil
}

func decode(v safejs.Value) ([]byte, bool, error) {
	switch v.Type() {
	case safejs.TypeUndefined, safejs.TypeNull:
		return nil, false, nil
	case safejs.TypeString:
		s, err := v.String()
		return []byte(s), err == nil, err
	case safejs.TypeObject:
		b64, err := v.Get("b64")
		if err != nil {
			return nil, false, err
		}
		s, err := b64.String()
		if err != nil {
			return nil, false, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		return b, err == nil, err
	}
	return nil, false, errkind.Internal(errkind.Storage, "", "a stored value has an unexpected type", nil)
}

// Set stores all items in one chrome.storage call, which the browser applies
// atomically: either every item is written or none is, so a worker stopped
// mid-write never leaves half a state behind.
func (s *Store) Set(ctx context.Context, items map[string][]byte) error {
	if len(items) == 0 {
		return nil
	}
	obj, err := jsasync.Global("Object").New()
	if err != nil {
		return storageErr("storage set", err)
	}
	for k, b := range items {
		var v any
		if utf8.Valid(b) {
			v = string(b)
		} else {
			o, err := jsasync.Global("Object").New()
			if err != nil {
				return storageErr("storage set", err)
			}
			if err := o.Set("b64", base64.StdEncoding.EncodeToString(b)); err != nil {
				return storageErr("storage set", err)
			}
			v = o
		}
		if err := obj.Set(k, v); err != nil {
			return storageErr("storage set", err)
		}
	}
	p, err := s.area.Call("set", obj)
	if err != nil {
		return storageErr("storage set", err)
	}
	if _, err := jsasync.Await(ctx, p); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return storageErr("storage set", err)
	}
	return nil
}

// Delete removes keys; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	arr, err := keyArray(keys)
	if err != nil {
		return storageErr("storage remove", err)
	}
	p, err := s.area.Call("remove", arr)
	if err != nil {
		return storageErr("storage remove", err)
	}
	if _, err := jsasync.Await(ctx, p); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return storageErr("storage remove", err)
	}
	return nil
}
