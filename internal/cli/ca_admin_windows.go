//go:build windows

package cli

// isAdmin is true on Windows: idtrace installs into the current user's store,
// which needs no elevation.
func isAdmin() bool { return true }
