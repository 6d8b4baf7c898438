package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
)

func TestParseLsof(t *testing.T) {
	k4 := connKey{netip.MustParseAddrPort("127.0.0.1:50123"), netip.MustParseAddrPort("127.0.0.1:8888")}
	k6 := connKey{netip.MustParseAddrPort("[::1]:50124"), netip.MustParseAddrPort("[::1]:8888")}
	other := connKey{netip.MustParseAddrPort("127.0.0.1:50999"), netip.MustParseAddrPort("127.0.0.1:8888")}
	out := "p812\ncGoogle Chrome He\nf31\nn127.0.0.1:50123->127.0.0.1:8888\np900\ncidtrace\nf9\nn127.0.0.1:8888->127.0.0.1:50123\np1201\nccurl\nf5\nn[::1]:50124->[::1]:8888\n"
	got := parseLsof(out, []connKey{k4, k6, other})
	if got[k4] != "Google Chrome He:812" || got[k6] != "curl:1201" || got[other] != "" {
		t.Errorf("parseLsof = %v", got)
	}
}

// TestParseLsofReal checks the parser against lsof's own output for a real connection.
func TestParseLsofReal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no lsof on Windows")
	}
	if _, err := exec.LookPath("lsof"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("lsof not installed")
		}
		t.Skip("lsof not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := ln.Accept()
	defer s.Close()
	k := connKey{netip.MustParseAddrPort(c.LocalAddr().String()), netip.MustParseAddrPort(ln.Addr().String())}
	out, err := exec.Command("lsof", "-nP", fmt.Sprintf("-iTCP:%d", k.server.Port()), "-sTCP:ESTABLISHED", "-a", "-p", fmt.Sprint(os.Getpid()), "-F", "pcn").Output()
	if err != nil {
		t.Fatalf("lsof: %v", err)
	}
	if got := parseLsof(string(out), []connKey{k}); got[k] != fmt.Sprintf("%s:%d", lsofCommand(t), os.Getpid()) {
		t.Errorf("parseLsof of real output = %q\n%s", got[k], out)
	}
}

func lsofCommand(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skip("no /proc/self/comm")
	}
	return string(b[:len(b)-1])
}

func TestParseNetstatTasklist(t *testing.T) {
	k4 := connKey{netip.MustParseAddrPort("127.0.0.1:50123"), netip.MustParseAddrPort("127.0.0.1:8888")}
	k6 := connKey{netip.MustParseAddrPort("[::1]:50124"), netip.MustParseAddrPort("[::1]:8888")}
	netstat := "\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n" +
		"  TCP    127.0.0.1:8888         127.0.0.1:50123        ESTABLISHED     900\r\n" +
		"  TCP    127.0.0.1:50123        127.0.0.1:8888         ESTABLISHED     4312\r\n" +
		"  TCP    [::1]:50124            [::1]:8888             ESTABLISHED     77\r\n" +
		"  UDP    0.0.0.0:5353           *:*                                    1888\r\n"
	pids := parseNetstat(netstat, []connKey{k4, k6})
	if pids[k4] != 4312 || pids[k6] != 77 {
		t.Errorf("parseNetstat = %v", pids)
	}
	names := parseTasklist("\"msedge.exe\",\"4312\",\"Console\",\"1\",\"123,456 K\"\r\n\"az.exe\",\"77\",\"Console\",\"1\",\"9,000 K\"\r\n")
	if names[4312] != "msedge.exe" || names[77] != "az.exe" {
		t.Errorf("parseTasklist = %v", names)
	}
}
