//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/davsync/davsync/internal/errkind"
)

// lockState takes an exclusive lock on dir so that two runs of one replica
// (a slow cron run and the next) never interleave; the kernel drops it
// when the process dies, so a killed run leaves nothing to clean up.
func lockState(dir string) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, errkind.Wrap(errkind.Storage, "state", "cannot lock "+dir+": "+err.Error(), err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, errkind.New(errkind.Busy, "state", "another davsync sync is running on "+dir)
	}
	return func() { _ = f.Close() }, nil
}
