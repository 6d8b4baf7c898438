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
	"sync"
	"time"
)

// processWait bounds how long a flow waits for its client's process name.
const processWait = 200 * time.Millisecond

// lookupProcessAsync starts finding the local process that owns the client
// end of c and returns a function that gives its "name:pid" ("" if unknown).
func lookupProcessAsync(c net.Conn) func() string {
	client, err1 := netip.ParseAddrPort(c.RemoteAddr().String())
	server, err2 := netip.ParseAddrPort(c.LocalAddr().String())
	if err1 != nil || err2 != nil {
		return nil
	}
	done := make(chan struct{})
	var result string
	go func() {
		defer close(done)
		if inode := socketInode(client, server, "/proc"); inode != "" {
			result = procScanner.lookup(inode)
		}
	}()
	return sync.OnceValue(func() string {
		select {
		case <-done:
			return result
		case <-time.After(processWait):
			return ""
		}
	})
}

// scanner finds the processes holding socket inodes. Lookups that arrive
// while a scan of /proc runs wait for the next one, which answers them all:
// a burst of new connections costs one or two scans, not one each.
type scanner struct {
	proc    string
	mu      sync.Mutex
	pending map[string][]chan string
	running bool
}

var procScanner = &scanner{proc: "/proc", pending: map[string][]chan string{}}

func (s *scanner) lookup(inode string) string {
	ch := make(chan string, 1)
	s.mu.Lock()
	s.pending[inode] = append(s.pending[inode], ch)
	if !s.running {
		s.running = true
		go s.loop()
	}
	s.mu.Unlock()
	return <-ch
}

func (s *scanner) loop() {
	for {
		s.mu.Lock()
		batch := s.pending
		if len(batch) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.pending = map[string][]chan string{}
		s.mu.Unlock()
		found := scanProc(s.proc, batch)
		for inode, chans := range batch {
			for _, ch := range chans {
				ch <- found[inode]
			}
		}
	}
}

// scanProc walks proc/PID/fd once and names the process of each wanted socket inode.
func scanProc(proc string, want map[string][]chan string) map[string]string {
	found := map[string]string{}
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
			inode := strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")
			if _, ok := want[inode]; ok {
				if _, dup := found[inode]; !dup {
					name, _ := os.ReadFile(filepath.Join(proc, d.Name(), "comm"))
					found[inode] = fmt.Sprintf("%s:%d", strings.TrimSpace(string(name)), pid)
				}
			}
		}
		if len(found) == len(want) {
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
