//go:build !js

// Package contract runs one contract suite against every real WebDAV server
// serverctl knows (Apache, nginx, lighttpd, rclone, sabre/dav, x/net/webdav
// plain and with preconditions, npm webdav-server, and Apache and lighttpd
// with Digest auth), through the client in internal/webdav over the native
// transport. Under GOOS=js (main_js_test.go) the same suite runs through the
// browser transport, wasm/jsfetch, against one server named in the
// environment.
//
// TestMain installs and starts all servers in parallel; a server that does
// not start fails the whole suite. Every server is stopped by its PID when
// the tests end, when they fail, on SIGINT/SIGTERM, and - through a guard
// process that outlives a panicking or killed test binary - when the test
// process dies any other way.
package contract

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/webdav"
	"github.com/davsync/davsync/internal/webdav/httptransport"
	"github.com/davsync/davsync/scripts/servers/serverctl"
)

var runDir string

const guardEnv = "DAVSYNC_CONTRACT_GUARD"

func TestMain(m *testing.M) {
	if v := os.Getenv(guardEnv); v != "" {
		guard(v)
		return
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	repo, err := serverctl.FindRepo(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "contract:", err)
		return 1
	}
	// Beside the servers' default run directory: under the system's temp
	// directory when www-data could not enter the repository.
	parent := filepath.Dir(serverctl.DefaultRunDir(repo))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "contract:", err)
		return 1
	}
	runDir, err = os.MkdirTemp(parent, "davsync-contract-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "contract:", err)
		return 1
	}
	names := serverctl.Names()
	var once sync.Once
	stopAll := func() {
		once.Do(func() {
			for _, n := range names {
				if err := serverctl.Stop(runDir, n); err != nil {
					fmt.Fprintln(os.Stderr, "contract: stop:", err)
				}
			}
		})
	}
	defer stopAll()
	startGuard()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintf(os.Stderr, "contract: %v: stopping the servers\n", s)
		stopAll()
		os.Exit(1)
	}()

	if err := serverctl.Install(repo, names, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "contract: FAIL: cannot install the servers:", err)
		return 1
	}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	started, err := serverctl.StartAll(ctx, serverctl.Options{Repo: repo, RunDir: runDir}, names)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "contract: FAIL: every server must start; these did not:\n%v\n(run directory kept: %s)\n", err, runDir)
		return 1
	}
	fmt.Fprintf(os.Stderr, "contract: %d servers started in %s\n", len(started), time.Since(t0).Round(time.Millisecond))
	for _, s := range started {
		servers = append(servers, server{Name: s.Name, URL: s.URL, User: s.User, Pass: s.Pass, Data: s.Data})
	}
	newTransport = func() webdav.Transport { return httptransport.New() }
	transportName = "net/http (internal/webdav/httptransport)"
	checkTablePath = filepath.Join(repo, "test-results", "server-check.md")
	code := m.Run()
	stopAll()
	if code == 0 {
		_ = os.RemoveAll(runDir)
	} else {
		fmt.Fprintf(os.Stderr, "contract: server logs kept in %s\n", runDir)
	}
	return code
}

// startGuard starts this test binary again as a guard process in its own
// session. The guard waits for this process to end and then stops every
// server of runDir by its pidfile: the cleanup that still happens when a
// test panics, times out or the binary is killed, which defers cannot do.
func startGuard() {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "contract: no guard process:", err)
		return
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), guardEnv+"="+strconv.Itoa(os.Getpid())+":"+runDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "contract: no guard process:", err)
		return
	}
	go func() { _ = cmd.Wait() }()
}

// guard is the body of the guard process: "PID:RUNDIR" in its environment.
func guard(v string) {
	var pid int
	var dir string
	for i := 0; i < len(v); i++ {
		if v[i] == ':' {
			pid, _ = strconv.Atoi(v[:i])
			dir = v[i+1:]
			break
		}
	}
	if pid <= 1 || dir == "" {
		return
	}
	for syscall.Kill(pid, 0) == nil && os.Getppid() == pid {
		time.Sleep(300 * time.Millisecond)
	}
	for _, n := range serverctl.Names() {
		_ = serverctl.Stop(dir, n)
	}
}
