//go:build !linux

package proxy

import "net"

// lookupProcessAsync returns nil where the OS gives no cheap way to find the
// process behind a socket.
func lookupProcessAsync(net.Conn) func() string { return nil }
