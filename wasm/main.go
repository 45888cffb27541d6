//go:build js && wasm

// Command wasm is davsync's WebAssembly module: the only place in the
// repository that knows it runs in a browser.
package main

func main() { select {} }
