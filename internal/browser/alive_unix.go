//go:build !windows

package browser

import (
	"errors"
	"os"
	"syscall"
)

// processAlive reports whether a process with this ID runs (or may: one
// that exists but belongs to another user counts as running).
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
