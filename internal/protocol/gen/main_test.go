package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The generated files in the tree are what the generator writes now: a
// protocol change without `go generate ./internal/protocol` fails here.
func TestGeneratedFilesAreFresh(t *testing.T) {
	for name, want := range map[string][]byte{
		"extension/PROTOCOL.md":       markdown(),
		"extension/protocol.gen.js":   constants(),
		"extension/protocol.gen.d.ts": types(),
	} {
		got, err := os.ReadFile(filepath.Join("..", "..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./internal/protocol", name)
		}
	}
}
