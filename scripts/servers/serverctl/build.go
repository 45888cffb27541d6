package serverctl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

var (
	buildMu    sync.Mutex
	buildCache = map[string]string{}
)

// buildXnet compiles scripts/servers/xnetdav once per run directory and
// process, so the plain and the preconditions server share one binary.
// `go build` itself skips the work when nothing changed.
func buildXnet(opt Options) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	bin := filepath.Join(opt.RunDir, ".bin", "xnetdav")
	if buildCache[bin] != "" {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", bin, "./scripts/servers/xnetdav")
	cmd.Dir = opt.Repo
	// A test binary may carry GOOS/GOARCH of a cross build in its
	// environment; the server runs here.
	cmd.Env = append(os.Environ(), "GOOS=", "GOARCH=", "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build xnetdav: %v\n%s", err, out)
	}
	buildCache[bin] = bin
	return bin, nil
}
