//go:build js && wasm

package contract

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/wasm/jsfetch"
)

// TestMain under GOOS=js: a wasm test under Node cannot start processes, so
// the servers come from the environment, as scripts/servers/with-server.sh
// exports them: DAVSYNC_TEST_SERVERS names a file with one JSON object per
// server (what `go run ./scripts/servers start -json` prints). The suite
// then runs through the fetch transport the extension uses.
func TestMain(m *testing.M) {
	list := os.Getenv("DAVSYNC_TEST_SERVERS")
	if list == "" {
		fmt.Println("contract (js): DAVSYNC_TEST_SERVERS is not set; nothing to test. Run it through scripts/servers/with-server.sh.")
		os.Exit(0)
	}
	f, err := os.Open(list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "contract (js):", err)
		os.Exit(1)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s struct{ Name, URL, User, Pass, Data string }
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			fmt.Fprintf(os.Stderr, "contract (js): %s: %v\n", list, err)
			os.Exit(1)
		}
		servers = append(servers, server{Name: s.Name, URL: s.URL, User: s.User, Pass: s.Pass, Data: s.Data})
	}
	f.Close()
	if len(servers) == 0 {
		fmt.Fprintln(os.Stderr, "contract (js): no servers listed in", list)
		os.Exit(1)
	}
	newTransport = func() webdav.Transport { return jsfetch.New() }
	transportName = "fetch under Node (wasm/jsfetch, GOOS=js)"
	// go test runs in the package directory.
	checkTablePath = filepath.Join("..", "..", "test-results", "server-check-jsfetch.md")
	os.Exit(m.Run())
}
