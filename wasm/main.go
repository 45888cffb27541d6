//go:build js && wasm

// Command wasm is davsync's WebAssembly module: the only place in the
// repository that knows it runs in a browser.
//
// main puts one object on the JS global and blocks:
//
//	globalThis.davsync = { call(method: string, paramsJSON: string): Promise<string> }
//
// call resolves with the result JSON of internal/protocol's Handle over the
// app layer (internal/app), or rejects with {kind, message, detail?}. When
// the object is in place main calls globalThis.davsyncReady(); after every
// status change it calls globalThis.davsyncOnStatus(statusJSON). Both are set
// by the worker (extension/background.js); extension/PROTOCOL.md, generated
// from internal/protocol, describes the contract.
package main

import (
	"context"
	"time"

	"encoding/json"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/protocol"
	"github.com/davsync/davsync/wasm/jsasync"
	"github.com/davsync/davsync/wasm/jscrypto"
	"github.com/davsync/davsync/wasm/jsfetch"
	"github.com/davsync/davsync/wasm/jsstore"
	"github.com/hack-pad/safejs"
)

// callTimeout bounds one protocol call; a sync cycle has its own, shorter
// per-request timeouts inside.
const callTimeout = 10 * time.Minute

func main() {
	cfg := app.Config{
		Transport: jsfetch.New(),
		KDF:       jscrypto.New(),
		OnStatus:  onStatus,
	}
	kv, err := jsstore.New()
	if err == nil {
		cfg.KV = kv
		if sess, err := jsstore.NewNamed("session"); err == nil {
			cfg.SessionKV = sess
		}
	}
	var a *app.App
	if cfg.KV != nil {
		a = app.New(cfg)
	}

	call, ferr := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		method, params := argString(args, 0), argString(args, 1)
		p, perr := jsasync.Promise(func() (any, error) {
			if a == nil {
				return nil, err
			}
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			out, err := protocol.Handle(ctx, a, method, []byte(params))
			if err != nil {
				return nil, err
			}
			return string(out), nil
		})
		if perr != nil {
			return nil
		}
		return p
	})
	if ferr != nil {
		panic(ferr)
	}
	api, _ := jsasync.Global("Object").New()
	_ = api.Set("call", call)
	_ = safejs.Global().Set("davsync", api)

	if ready := jsasync.Global("davsyncReady"); ready.Type() == safejs.TypeFunction {
		_, _ = ready.Invoke()
	}
	select {}
}

func argString(args []safejs.Value, i int) string {
	if i >= len(args) || args[i].Type() != safejs.TypeString {
		return ""
	}
	s, _ := args[i].String()
	return s
}

// onStatus hands a status change to the worker, which broadcasts it to open
// pages and updates the badge.
func onStatus(status app.Status) {
	b, err := json.Marshal(status)
	if err != nil {
		return
	}
	if fn := jsasync.Global("davsyncOnStatus"); fn.Type() == safejs.TypeFunction {
		_, _ = fn.Invoke(string(b))
	}
}
