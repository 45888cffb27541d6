//go:build js && wasm

// Command emptymain is the smallest Go module that signals ready the way
// davsync's does (davsyncReady(mainAt), mainAt being performance.now() when
// main began): the baseline the cold-start benchmark compares against.
package main

import "github.com/hack-pad/safejs"

func main() {
	var mainAt any
	if perf, err := safejs.Global().Get("performance"); err == nil {
		if now, err := perf.Call("now"); err == nil {
			mainAt = now
		}
	}
	if f, err := safejs.Global().Get("davsyncReady"); err == nil && f.Type() == safejs.TypeFunction {
		_, _ = f.Invoke(mainAt)
	}
	select {}
}
