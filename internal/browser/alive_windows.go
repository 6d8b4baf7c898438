//go:build windows

package browser

import "os"

// processAlive reports whether a process with this ID runs: on Windows,
// FindProcess opens the process and fails for one that does not exist.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
