//go:build js && wasm

// Package jscrypto derives encryption keys with the browser's WebCrypto,
// implementing envelope.KDF. Go's own PBKDF2 compiled to wasm takes many
// seconds at the iteration counts davsync uses; WebCrypto runs natively.
package jscrypto

import (
	"context"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/wasm/jsasync"
	"github.com/hack-pad/safejs"
)

var (
	cryptoObj = jsasync.Global("crypto")
	uint8Arr  = jsasync.Global("Uint8Array")
)

// KDF is an envelope.KDF backed by crypto.subtle.
type KDF struct{}

// New returns the WebCrypto KDF.
func New() KDF { return KDF{} }

func bytesToJS(b []byte) (safejs.Value, error) {
	arr, err := uint8Arr.New(len(b))
	if err != nil {
		return arr, err
	}
	_, err = safejs.CopyBytesToJS(arr, b)
	return arr, err
}

func fail(err error) error {
	e := errkind.SayWrap(errkind.Unknown, "PBKDF2", msg.New("errDeriveFailed"), err)
	e.Msg = "the browser could not derive the encryption key (" + err.Error() + ")"
	return e
}

// PBKDF2SHA256 derives keyLen bytes from passphrase and salt with
// PBKDF2-HMAC-SHA256. It blocks its goroutine, not the JS event loop.
func (KDF) PBKDF2SHA256(passphrase, salt []byte, iterations, keyLen int) ([]byte, error) {
	ctx := context.Background()
	subtle, err := cryptoObj.Get("subtle")
	if err != nil || subtle.Type() != safejs.TypeObject {
		return nil, errkind.Internal(errkind.Unknown, "PBKDF2", "WebCrypto is not available in this context", nil)
	}
	pass, err := bytesToJS(passphrase)
	if err != nil {
		return nil, fail(err)
	}
	usages, err := safejs.ValueOf([]any{"deriveBits"})
	if err != nil {
		return nil, fail(err)
	}
	p, err := subtle.Call("importKey", "raw", pass, "PBKDF2", false, usages)
	if err != nil {
		return nil, fail(err)
	}
	key, err := jsasync.Await(ctx, p)
	if err != nil {
		return nil, fail(err)
	}
	saltJS, err := bytesToJS(salt)
	if err != nil {
		return nil, fail(err)
	}
	params, err := jsasync.Global("Object").New()
	if err != nil {
		return nil, fail(err)
	}
	for k, v := range map[string]any{"name": "PBKDF2", "hash": "SHA-256", "salt": saltJS, "iterations": iterations} {
		if err := params.Set(k, v); err != nil {
			return nil, fail(err)
		}
	}
	p, err = subtle.Call("deriveBits", params, key, keyLen*8)
	if err != nil {
		return nil, fail(err)
	}
	buf, err := jsasync.Await(ctx, p)
	if err != nil {
		return nil, fail(err)
	}
	view, err := uint8Arr.New(buf)
	if err != nil {
		return nil, fail(err)
	}
	out := make([]byte, keyLen)
	n, err := safejs.CopyBytesToGo(out, view)
	if err != nil {
		return nil, fail(err)
	}
	return out[:n], nil
}
