package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// procBatcher finds processes from procfs: the socket's inode in
// /proc/net/tcp{,6}, then the process whose /proc/PID/fd links to it.
var procBatcher = &batcher{resolve: func(keys []connKey) map[connKey]string { return resolveProc("/proc", keys) }}

func lookupProcessAsync(c net.Conn) func() string { return processLookup(procBatcher, c) }

// hotPIDs are the processes whose sockets were found last (a browser or a
// tool opens many connections): they are looked at before every other
// process, so a lookup seldom has to read every process's descriptors.
var hotPIDs struct {
	sync.Mutex
	proc string
	pids []string
}

const maxHotPIDs = 8

func resolveProc(proc string, keys []connKey) map[connKey]string {
	inodes := socketInodes(keys, proc)
	found := map[connKey]string{}
	if len(inodes) == 0 {
		return found
	}
	var matched []string
	scan := func(pid string) {
		fdDir := filepath.Join(proc, pid, "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			return
		}
		hit := false
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !strings.HasPrefix(l, "socket:[") {
				continue
			}
			k, ok := inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")]
			if _, dup := found[k]; ok && !dup {
				name, _ := os.ReadFile(filepath.Join(proc, pid, "comm"))
				found[k] = strings.TrimSpace(string(name)) + ":" + pid
				hit = true
			}
		}
		if hit {
			matched = append(matched, pid)
		}
	}
	hotPIDs.Lock()
	var hot []string
	if hotPIDs.proc == proc {
		hot = append(hot, hotPIDs.pids...)
	}
	hotPIDs.Unlock()
	for _, pid := range hot {
		if len(found) == len(inodes) {
			break
		}
		scan(pid)
	}
	if len(found) < len(inodes) {
		dirs, _ := os.ReadDir(proc)
		for _, d := range dirs {
			if _, err := strconv.Atoi(d.Name()); err != nil || slices.Contains(hot, d.Name()) {
				continue
			}
			scan(d.Name())
			if len(found) == len(inodes) {
				break
			}
		}
	}
	if len(matched) > 0 {
		hotPIDs.Lock()
		if hotPIDs.proc != proc {
			hotPIDs.proc, hotPIDs.pids = proc, nil
		}
		pids := matched
		for _, p := range hotPIDs.pids {
			if !slices.Contains(pids, p) {
				pids = append(pids, p)
			}
		}
		hotPIDs.pids = pids[:min(len(pids), maxHotPIDs)]
		hotPIDs.Unlock()
	}
	return found
}

// socketInodes reads /proc/net/tcp and tcp6 once for all the connections
// of keys and returns the socket inode of each that was found.
func socketInodes(keys []connKey, proc string) map[string]connKey {
	want := map[string]connKey{}
	for _, k := range keys {
		for _, v6 := range []bool{false, true} {
			if l, r := procAddr(k.client, v6), procAddr(k.server, v6); l != "" && r != "" {
				want[l+" "+r] = k
			}
		}
	}
	inodes := map[string]connKey{}
	for _, file := range []string{"net/tcp", "net/tcp6"} {
		f, err := os.Open(filepath.Join(proc, file))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() && len(inodes) < len(keys) {
			// "  sl: LOCAL REMOTE st ...": look at the two addresses first,
			// without splitting every line of a busy machine's table.
			line := sc.Bytes()
			i := bytes.IndexByte(line, ':')
			if i < 0 {
				continue
			}
			rest := bytes.TrimLeft(line[i+1:], " ")
			sp := bytes.IndexByte(rest, ' ')
			if sp < 0 {
				continue
			}
			sp2 := bytes.IndexByte(rest[sp+1:], ' ')
			if sp2 < 0 {
				continue
			}
			k, ok := want[string(rest[:sp+1+sp2])]
			if !ok {
				continue
			}
			if fl := strings.Fields(string(line)); len(fl) >= 10 {
				inodes[fl[9]] = k
			}
		}
		f.Close()
	}
	return inodes
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
