package proxy

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procBatcher finds processes from procfs: the socket's inode in
// /proc/net/tcp{,6}, then the process whose /proc/PID/fd links to it.
var procBatcher = &batcher{resolve: func(keys []connKey) map[connKey]string { return resolveProc("/proc", keys) }}

func lookupProcessAsync(c net.Conn) func() string { return processLookup(procBatcher, c) }

func resolveProc(proc string, keys []connKey) map[connKey]string {
	inodes := map[string]connKey{}
	for _, k := range keys {
		if inode := socketInode(k.client, k.server, proc); inode != "" {
			inodes[inode] = k
		}
	}
	found := map[connKey]string{}
	if len(inodes) == 0 {
		return found
	}
	dirs, _ := os.ReadDir(proc)
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join(proc, d.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !strings.HasPrefix(l, "socket:[") {
				continue
			}
			k, ok := inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")]
			if _, dup := found[k]; ok && !dup {
				name, _ := os.ReadFile(filepath.Join(proc, d.Name(), "comm"))
				found[k] = fmt.Sprintf("%s:%d", strings.TrimSpace(string(name)), pid)
			}
		}
		if len(found) == len(inodes) {
			break
		}
	}
	return found
}

// socketInode reads /proc/net/tcp and tcp6 for the connection client->server.
func socketInode(client, server netip.AddrPort, proc string) string {
	for _, file := range []string{"net/tcp", "net/tcp6"} {
		v6 := strings.HasSuffix(file, "6")
		local, remote := procAddr(client, v6), procAddr(server, v6)
		if local == "" || remote == "" {
			continue
		}
		f, err := os.Open(filepath.Join(proc, file))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fl := strings.Fields(sc.Text())
			if len(fl) >= 10 && fl[1] == local && fl[2] == remote {
				f.Close()
				return fl[9]
			}
		}
		f.Close()
	}
	return ""
}

// procAddr writes ap as procfs does: the address in host-order 32-bit words, then the port.
func procAddr(ap netip.AddrPort, v6 bool) string {
	a := ap.Addr()
	var b []byte
	switch {
	case !v6 && a.Unmap().Is4():
		x := a.Unmap().As4()
		b = x[:]
	case v6:
		x := a.As16() // an IPv4 address becomes ::ffff:a.b.c.d, as dual-stack sockets show it
		b = x[:]
	default:
		return ""
	}
	var s strings.Builder
	for i := 0; i < len(b); i += 4 {
		fmt.Fprintf(&s, "%02X%02X%02X%02X", b[i+3], b[i+2], b[i+1], b[i])
	}
	fmt.Fprintf(&s, ":%04X", ap.Port())
	return s.String()
}
