//go:build !windows

package cli

import "os"

// isAdmin reports whether the process may change the system trust store.
func isAdmin() bool { return os.Geteuid() == 0 }
