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
// the object is in place main calls globalThis.davsyncReady(mainAt), mainAt
// being performance.now() when main began (the worker's boot breakdown);
// after every status change it calls globalThis.davsyncOnStatus(statusJSON).
// Both are set by the worker (extension/background.js); extension/PROTOCOL.md,
// generated from internal/protocol, describes the contract. Beyond it,
// sync.now's result carries timings and timingCounts: where the call spent
// its time (storage, each request method, status broadcasts, and the
// cycle's phases; see withTimings).
package main

import (
	"context"
	"time"

	"encoding/json"

	"github.com/davsync/davsync/internal/app"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/protocol"
	"github.com/davsync/davsync/wasm/jsasync"
	"github.com/davsync/davsync/wasm/jscrypto"
	"github.com/davsync/davsync/wasm/jsfetch"
	"github.com/davsync/davsync/wasm/jsstore"
	"github.com/davsync/davsync/wasm/timing"
	"github.com/hack-pad/safejs"
)

// callTimeout bounds one protocol call; a sync cycle has its own, shorter
// per-request timeouts inside.
const callTimeout = 10 * time.Minute

func main() {
	startedAt := perfNow()
	cfg := app.Config{
		Transport: timing.Transport(jsfetch.New()),
		KDF:       jscrypto.New(),
		OnStatus:  onStatus,
		OnPhase:   func(ctx context.Context, phase string) { timing.From(ctx).Mark(phase) },
	}
	// The stores are cached in memory (local.Cached): this module is the
	// only writer of its chrome.storage keys (the pages ask the worker; the
	// worker's own keys, davsync.lastNotified and davsync.sessionStarted,
	// are never read here; the manifest keeps incognito "spanning", so one
	// worker serves the profile), so a cycle need not ask the browser for
	// the settings, status and markers it wrote itself. A new worker
	// starts with an empty cache.
	kv, err := jsstore.New()
	if err == nil {
		cfg.KV = local.Cached(timing.KV(kv, "kv"), 0)
		if sess, err := jsstore.NewNamed("session"); err == nil {
			cfg.SessionKV = local.Cached(timing.KV(sess, "session"), 0)
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
			rec := timing.New()
			defer active.Enter(rec)()
			out, err := protocol.Handle(timing.With(ctx, rec), a, method, []byte(params))
			if err != nil {
				return nil, err
			}
			if method == "sync.now" {
				out = withTimings(out, rec.Done())
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
		_, _ = ready.Invoke(startedAt)
	}
	select {}
}

// perfNow is performance.now(), the worker's clock, or 0: main passes
// when it began to davsyncReady, so the worker can tell Go's runtime and
// package initialisation from main's own work.
func perfNow() float64 {
	now, err := jsasync.Global("performance").Call("now")
	if err != nil || now.Type() != safejs.TypeNumber {
		return 0
	}
	f, _ := now.Float()
	return f
}

func argString(args []safejs.Value, i int) string {
	if i >= len(args) || args[i].Type() != safejs.TypeString {
		return ""
	}
	s, _ := args[i].String()
	return s
}

// active holds the recorders of the calls running now: a status change
// has no context, so its cost goes to each of them.
var active timing.Active

// onStatus hands a status change to the worker, which broadcasts it to open
// pages and updates the badge.
func onStatus(status app.Status) {
	defer func(t time.Time) { active.Add("status", time.Since(t)) }(time.Now())
	b, err := json.Marshal(status)
	if err != nil {
		return
	}
	if fn := jsasync.Global("davsyncOnStatus"); fn.Type() == safejs.TypeFunction {
		_, _ = fn.Invoke(string(b))
	}
}

// withTimings adds the call's timings to sync.now's result as
// result.timings (ms by name) and result.timingCounts: a diagnostic
// outside the typed protocol, read by the browser bench (make
// bench-cycle). A reply it cannot parse is returned as it is.
func withTimings(out []byte, t timing.Result) []byte {
	var reply map[string]json.RawMessage
	if json.Unmarshal(out, &reply) != nil || reply["result"] == nil {
		return out
	}
	var res map[string]json.RawMessage
	if json.Unmarshal(reply["result"], &res) != nil || res == nil {
		return out
	}
	res["timings"], _ = json.Marshal(t.MS)
	res["timingCounts"], _ = json.Marshal(t.Counts)
	b, err := json.Marshal(res)
	if err != nil {
		return out
	}
	reply["result"] = b
	if b, err = json.Marshal(reply); err != nil {
		return out
	}
	return b
}
