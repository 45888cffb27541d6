//go:build !js

package serverctl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

func TestHtpasswdSHA(t *testing.T) {
	// {SHA} is base64(sha1(password)); "password" is the documented example.
	if got, want := htpasswdSHA("u", "password"), "u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"; got != want {
		t.Fatalf("htpasswdSHA = %q, want %q", got, want)
	}
}

func TestStatFields(t *testing.T) {
	for _, tc := range []struct {
		in    string
		state string
		n     int
	}{
		{"12 (sleep) S 1 2 3", "S", 4},
		{"12 (a) b) (c) Z 1", "Z", 2},
		{"garbage", "", 0},
	} {
		f := statFields([]byte(tc.in))
		if len(f) != tc.n || (tc.n > 0 && f[0] != tc.state) {
			t.Errorf("statFields(%q) = %q, want %d fields starting with %q", tc.in, f, tc.n, tc.state)
		}
	}
}

// TestStopByPIDOnly checks that Stop kills the process its pidfile names,
// and leaves alone a process whose PID matches but whose start time does
// not (a PID reused after the server died).
func TestStopByPIDOnly(t *testing.T) {
	run := t.TempDir()
	if err := os.MkdirAll(filepath.Join(run, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := func() (*exec.Cmd, chan struct{}) {
		cmd := exec.Command("sleep", "60")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, done
	}
	writePid := func(pid int, st uint64) {
		if err := os.WriteFile(pidFile(run, "x"), []byte(fmt.Sprintf("%d %d\n", pid, st)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	other, otherDone := start()
	st, err := startTime(other.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	writePid(other.Process.Pid, st+1)
	if err := Stop(run, "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-otherDone:
		t.Fatal("Stop killed a process whose start time differs from the pidfile's")
	default:
	}
	if _, err := os.Stat(pidFile(run, "x")); !os.IsNotExist(err) {
		t.Fatalf("stale pidfile not removed: %v", err)
	}

	writePid(other.Process.Pid, st)
	if err := Stop(run, "x"); err != nil {
		t.Fatal(err)
	}
	<-otherDone // Stop returns once the process is gone; this must not block.
	if err := Stop(run, "x"); err != nil {
		t.Fatalf("Stop without a pidfile: %v", err)
	}
}
