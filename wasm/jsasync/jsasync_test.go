//go:build js && wasm

package jsasync

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/hack-pad/safejs"
)

func resolved(t *testing.T, v any) safejs.Value {
	t.Helper()
	p, err := promiseCtor.Call("resolve", v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAwaitResolvedAndRejected(t *testing.T) {
	ctx := context.Background()
	v, err := Await(ctx, resolved(t, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := v.String(); s != "hello" {
		t.Fatalf("got %q", s)
	}
	errObj, _ := Global("TypeError").New("Failed to fetch")
	rej, _ := promiseCtor.Call("reject", errObj)
	_, err = Await(ctx, rej)
	var je *JSError
	if !errors.As(err, &je) || je.Name != "TypeError" || je.Message != "Failed to fetch" {
		t.Fatalf("rejection: %#v", err)
	}
}

func TestAwaitHonoursContext(t *testing.T) {
	exec, _ := safejs.FuncOf(func(safejs.Value, []safejs.Value) any { return nil })
	defer exec.Release()
	pending, err := promiseCtor.New(exec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := Await(ctx, pending); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

// await runs a JS promise returned by Promise to completion from Go.
func settle(t *testing.T, p safejs.Value) (safejs.Value, error) {
	t.Helper()
	return Await(context.Background(), p)
}

func TestPromiseResolvesRejectsAndRecoversPanics(t *testing.T) {
	p, err := Promise(func() (any, error) { return "ok", nil })
	if err != nil {
		t.Fatal(err)
	}
	if v, err := settle(t, p); err != nil {
		t.Fatal(err)
	} else if s, _ := v.String(); s != "ok" {
		t.Fatalf("got %q", s)
	}
	for name, fn := range map[string]func() (any, error){
		"error": func() (any, error) {
			return nil, errkind.New(errkind.Auth, "GET", "wrong password; fix it in the settings")
		},
		"panic": func() (any, error) { panic("boom") },
	} {
		t.Run(name, func(t *testing.T) {
			p, err := Promise(fn)
			if err != nil {
				t.Fatal(err)
			}
			// Catch the rejection reason as a value, not an error.
			caught, _ := p.Call("catch", mustFunc(t, func(_ safejs.Value, args []safejs.Value) any { return args[0] }))
			v, err := settle(t, caught)
			if err != nil {
				t.Fatal(err)
			}
			kind, _ := v.Get("kind")
			k, _ := kind.String()
			msg, _ := v.Get("message")
			m, _ := msg.String()
			want := map[string]string{"error": "auth", "panic": "unknown"}[name]
			if k != want || m == "" {
				t.Fatalf("rejection {kind:%q message:%q}", k, m)
			}
		})
	}
}

func mustFunc(t *testing.T, fn func(safejs.Value, []safejs.Value) any) safejs.Func {
	t.Helper()
	f, err := safejs.FuncOf(fn)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConcurrentPromises(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p, err := Promise(func() (any, error) {
				// Each call awaits another promise, as real calls await storage.
				v, err := Await(context.Background(), resolved(t, i))
				if err != nil {
					return nil, err
				}
				n, _ := v.Int()
				return n * 2, nil
			})
			if err != nil {
				errs <- err
				return
			}
			v, err := Await(context.Background(), p)
			if err != nil {
				errs <- err
				return
			}
			if n, _ := v.Int(); n != i*2 {
				errs <- errors.New("wrong result")
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
