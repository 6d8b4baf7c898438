//go:build windows

package cli

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
)

const inetKey = `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`

// regValue reads one value of the Internet Settings key with reg.exe ("" and
// false when it is not set).
func regValue(name string) (typ, value string, ok bool) {
	out, err := exec.Command("reg", "query", inetKey, "/v", name).Output()
	if err != nil {
		return "", "", false
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.EqualFold(f[0], name) {
			v := ""
			if len(f) >= 3 {
				v = strings.Join(f[2:], " ")
			}
			return f[1], v, true
		}
	}
	return "", "", false
}

func regSet(name, typ, value string) error {
	return exec.Command("reg", "add", inetKey, "/v", name, "/t", typ, "/d", value, "/f").Run()
}

// refreshWinINET tells running programs that the proxy settings changed
// (INTERNET_OPTION_SETTINGS_CHANGED, then INTERNET_OPTION_REFRESH).
func refreshWinINET() {
	dll := syscall.NewLazyDLL("wininet.dll")
	proc := dll.NewProc("InternetSetOptionW")
	if proc.Find() != nil {
		return
	}
	proc.Call(0, 39, 0, 0)
	proc.Call(0, 37, 0, 0)
}

// setOSProxy points WinINET (the proxy Edge, Chrome and most programs use)
// at addr, like Fiddler's capture toggle, and restores the previous values.
func setOSProxy(addr string, say func(string, ...any)) (func(), error) {
	type old struct {
		name, typ, value string
		ok               bool
	}
	var saved []old
	for _, n := range []string{"ProxyEnable", "ProxyServer", "ProxyOverride"} {
		t, v, ok := regValue(n)
		saved = append(saved, old{n, t, v, ok})
	}
	restore := func() {
		for _, o := range saved {
			if o.ok {
				val := o.value
				if o.typ == "REG_DWORD" && strings.HasPrefix(val, "0x") {
					var n uint64
					fmt.Sscanf(val, "0x%x", &n)
					val = fmt.Sprint(n)
				}
				regSet(o.name, o.typ, val)
			} else {
				exec.Command("reg", "delete", inetKey, "/v", o.name, "/f").Run()
			}
		}
		refreshWinINET()
	}
	if err := regSet("ProxyServer", "REG_SZ", addr); err != nil {
		return nil, fmt.Errorf("reg add ProxyServer: %w", err)
	}
	if err := regSet("ProxyOverride", "REG_SZ", "<-loopback>"); err != nil {
		restore()
		return nil, fmt.Errorf("reg add ProxyOverride: %w", err)
	}
	if err := regSet("ProxyEnable", "REG_DWORD", "1"); err != nil {
		restore()
		return nil, fmt.Errorf("reg add ProxyEnable: %w", err)
	}
	refreshWinINET()
	say("idtrace: system (WinINET) proxy set to %s; the previous setting is restored when the capture ends\n", addr)
	return restore, nil
}
