//go:build js && wasm

// Package jsasync joins JavaScript promises and Go goroutines, the one place
// davsync crosses between the two async models.
//
// The rule it enforces: Go code never blocks on the JS event loop. A function
// JS calls returns a Promise at once and does its work in a goroutine
// (Promise); a goroutine waits for a JS promise through then() callbacks that
// feed a channel (Await). Blocking inside a js.FuncOf callback instead would
// deadlock the whole module.
package jsasync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/hack-pad/safejs"
)

var (
	promiseCtor = Global("Promise")
	objectCtor  = Global("Object")
	jsonParse   = func() safejs.Value {
		v, _ := Global("JSON").Get("parse")
		return v
	}()
)

// Global returns the JS global named name, or undefined. Packages look
// their globals up once, at package level.
func Global(name string) safejs.Value {
	v, err := safejs.Global().Get(name)
	if err != nil {
		return safejs.Undefined()
	}
	return v
}

// settled is the outcome of a JS promise.
type settled struct {
	value safejs.Value
	err   error
}

// Await waits until p settles and returns its value, or an *JSError when it
// rejects. It must run in a goroutine, never inside a callback JS is
// executing. When ctx ends first Await returns ctx.Err(); the promise keeps
// running and its callbacks release themselves when it settles.
func Await(ctx context.Context, p safejs.Value) (safejs.Value, error) {
	ch := make(chan settled, 1) // buffered: a late settle never blocks the event loop
	var onOK, onFail safejs.Func
	release := func() { onOK.Release(); onFail.Release() }
	var err error
	onOK, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- settled{value: arg0(args)}
		release()
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	onFail, err = safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- settled{err: ErrorFrom(arg0(args))}
		release()
		return nil
	})
	if err != nil {
		onOK.Release()
		return safejs.Undefined(), err
	}
	if _, err := p.Call("then", onOK, onFail); err != nil {
		release()
		return safejs.Undefined(), fmt.Errorf("not a promise: %w", err)
	}
	select {
	case s := <-ch:
		return s.value, s.err
	case <-ctx.Done():
		return safejs.Undefined(), ctx.Err()
	}
}

func arg0(args []safejs.Value) safejs.Value {
	if len(args) == 0 {
		return safejs.Undefined()
	}
	return args[0]
}

// JSError is a JavaScript exception or promise rejection seen from Go.
type JSError struct {
	Name    string // e.g. "TypeError", "AbortError"; "" when the reason was not an Error
	Message string
}

func (e *JSError) Error() string {
	if e.Name == "" {
		return e.Message
	}
	return e.Name + ": " + e.Message
}

// ErrorFrom turns a rejection reason or thrown value into a *JSError.
func ErrorFrom(reason safejs.Value) *JSError {
	if reason.Type() == safejs.TypeObject {
		name, _ := stringProp(reason, "name")
		msg, _ := stringProp(reason, "message")
		if name != "" || msg != "" {
			return &JSError{Name: name, Message: msg}
		}
	}
	s, err := Global("String").Invoke(reason)
	if err != nil {
		return &JSError{Message: "unknown JavaScript error"}
	}
	str, _ := s.String()
	return &JSError{Message: str}
}

// AsJSError finds a JS error in err's chain: either a *JSError or the
// js.Error that safejs wraps a thrown exception in.
func AsJSError(err error) (*JSError, bool) {
	var je *JSError
	if errors.As(err, &je) {
		return je, true
	}
	var raw js.Error
	if errors.As(err, &raw) {
		return ErrorFrom(safejs.Safe(raw.Value)), true
	}
	return nil, false
}

func stringProp(v safejs.Value, name string) (string, error) {
	p, err := v.Get(name)
	if err != nil || p.Type() != safejs.TypeString {
		return "", err
	}
	return p.String()
}

// Promise returns a JS Promise settled by fn, which runs in its own
// goroutine so it may Await other promises. A nil error resolves with the
// value; an error rejects with {kind, message} (see ErrorValue). A panic in
// fn rejects the same way with kind "unknown", so one bad call can never stop
// the Go runtime.
func Promise(fn func() (any, error)) (safejs.Value, error) {
	exec, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := run(fn)
			if err != nil {
				ev, everr := ErrorValue(err)
				if everr != nil {
					ev = safejs.Undefined()
				}
				_, _ = reject.Invoke(ev)
				return
			}
			if _, err := resolve.Invoke(v); err != nil {
				ev, _ := ErrorValue(errkind.Internal(errkind.Unknown, "", "could not hand the result to JavaScript", err))
				_, _ = reject.Invoke(ev)
			}
		}()
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	// The executor runs synchronously inside the constructor, so it can be
	// released as soon as the constructor returns.
	defer exec.Release()
	return promiseCtor.New(exec)
}

func run(fn func() (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errkind.Internal(errkind.Unknown, "", fmt.Sprintf("internal error (%v); please report it", r), nil)
		}
	}()
	return fn()
}

// ErrorValue builds the plain object {kind, message, detail?, notes?} that
// every rejection carries; kind is one of the stable strings of package
// errkind, detail the error's Detail JSON, parsed, and notes its message
// keys (errkind.Notes).
func ErrorValue(err error) (safejs.Value, error) {
	o, e := objectCtor.New()
	if e != nil {
		return safejs.Undefined(), e
	}
	kind := errkind.Of(err)
	msg := errkind.Message(err)
	if errors.Is(err, context.DeadlineExceeded) {
		kind = errkind.Timeout
	} else if errors.Is(err, context.Canceled) {
		kind = errkind.Canceled
	}
	if e := o.Set("kind", string(kind)); e != nil {
		return safejs.Undefined(), e
	}
	if e := o.Set("message", msg); e != nil {
		return safejs.Undefined(), e
	}
	if d := errkind.DetailOf(err); d != nil {
		if v, e := jsonParse.Invoke(string(d)); e == nil {
			_ = o.Set("detail", v)
		}
	}
	if n := errkind.Notes(err); n != nil {
		if b, e := json.Marshal(n); e == nil {
			if v, e := jsonParse.Invoke(string(b)); e == nil {
				_ = o.Set("notes", v)
			}
		}
	}
	return o, nil
}
