package msg

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Every key the Go code sends (msg.New, msg.Count, and the key tables
// beside them) is in the catalog: a missing one would reach the pages as
// "key(args)". Keys are found as string literals named like the catalog's
// families, by parsing the source, so a new family needs a line here.
func TestEveryKeyUsedIsInTheCatalog(t *testing.T) {
	families := []string{"err", "note", "ask", "warn", "import", "disc", "aah"}
	notKeys := map[string]bool{"importKey": true} // WebCrypto's method
	used := map[string]string{}
	for _, dir := range []string{"../../internal", "../../cmd", "../../wasm"} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				for _, fam := range families {
					if r, ok := strings.CutPrefix(s, fam); ok && r != "" && r[0] >= 'A' && r[0] <= 'Z' && !strings.ContainsAny(r, " .:/-") {
						used[s] = p
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(used) < 100 {
		t.Fatalf("found only %d keys: the search is broken", len(used))
	}
	for k, file := range used {
		if notKeys[k] {
			continue
		}
		_, one := English[k+"_one"]
		if _, ok := English[k]; !ok && !one {
			t.Errorf("%s uses %q, which the catalog lacks", file, k)
		}
	}
}
