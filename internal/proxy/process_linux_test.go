package proxy

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func TestProcAddr(t *testing.T) {
	// As the kernel prints 127.0.0.1:8888 and [::1]:443 in /proc/net/tcp{,6}.
	if got := procAddr(netip.MustParseAddrPort("127.0.0.1:8888"), false); got != "0100007F:22B8" {
		t.Errorf("v4: %s", got)
	}
	if got := procAddr(netip.MustParseAddrPort("[::1]:443"), true); got != "00000000000000000000000001000000:01BB" {
		t.Errorf("v6: %s", got)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "net"), 0o755)
	os.WriteFile(filepath.Join(dir, "net", "tcp"), []byte("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"+
		"   0: 0100007F:9C40 0100007F:22B8 01 00000000:00000000 00:00000000 00000000  1000        0 424242 1 0000000000000000 20 4 30 10 -1\n"), 0o644)
	k := connKey{netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:8888")}
	if got := socketInodes([]connKey{k}, dir); got["424242"] != k || len(got) != 1 {
		t.Errorf("inodes %v", got)
	}
	// Processes: 7 holds other sockets, 123 (curl) the connection's.
	for pid, link := range map[string]string{"7": "socket:[1]", "123": "socket:[424242]"} {
		os.MkdirAll(filepath.Join(dir, pid, "fd"), 0o755)
		os.Symlink(link, filepath.Join(dir, pid, "fd", "3"))
		os.Symlink("/dev/null", filepath.Join(dir, pid, "fd", "0"))
		os.WriteFile(filepath.Join(dir, pid, "comm"), []byte("proc"+pid+"\n"), 0o644)
	}
	for range 2 { // the second time from the processes found last
		if got := resolveProc(dir, []connKey{k}); got[k] != "proc123:123" {
			t.Errorf("resolved %v", got)
		}
	}
	hotPIDs.Lock()
	hot := hotPIDs.pids
	hotPIDs.Unlock()
	if len(hot) != 1 || hot[0] != "123" {
		t.Errorf("hot processes %v", hot)
	}
}
