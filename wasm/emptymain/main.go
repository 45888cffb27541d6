//go:build js && wasm

// Command emptymain is the smallest Go module that signals ready the way
// davsync's does: the baseline the cold-start benchmark compares against.
package main

import "github.com/hack-pad/safejs"

func main() {
	if f, err := safejs.Global().Get("davsyncReady"); err == nil && f.Type() == safejs.TypeFunction {
		_, _ = f.Invoke()
	}
	select {}
}
