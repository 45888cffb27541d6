//go:build !js

package main

import (
	"go/build/constraint"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every Go file under wasm/ talks to JavaScript, so each must build only
// for js/wasm; a file that forgets the tag would break the native build.
func TestEveryFileIsTaggedJSWasm(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || path == "tags_test.go" {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(src), "\n") {
			if constraint.IsGoBuild(line) {
				expr, err := constraint.Parse(line)
				if err != nil {
					return err
				}
				js := expr.Eval(func(tag string) bool { return tag == "js" || tag == "wasm" })
				native := expr.Eval(func(tag string) bool { return tag == "linux" || tag == "amd64" })
				if !js || native {
					t.Errorf("%s: build constraint %q must be js && wasm", path, line)
				}
				return nil
			}
			if strings.HasPrefix(line, "package ") {
				break
			}
		}
		t.Errorf("%s: no //go:build js && wasm line", path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
