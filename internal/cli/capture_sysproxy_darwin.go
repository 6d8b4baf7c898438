//go:build darwin

package cli

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
)

// macProxy is one network service's web proxy setting as networksetup reports it.
type macProxy struct {
	enabled    bool
	host, port string
}

func getMacProxy(svc, kind string) (macProxy, error) {
	out, err := exec.Command("networksetup", "-get"+kind, svc).Output()
	if err != nil {
		return macProxy{}, err
	}
	var p macProxy
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Enabled":
			p.enabled = v == "Yes"
		case "Server":
			p.host = v
		case "Port":
			p.port = v
		}
	}
	return p, nil
}

// setOSProxy sets the web and secure web proxy of every enabled network
// service with networksetup, and restores each as it was.
func setOSProxy(addr string, say func(string, ...any)) (func(), error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command("networksetup", "-listallnetworkservices").Output()
	if err != nil {
		return nil, fmt.Errorf("networksetup: %w", err)
	}
	type saved struct {
		svc, kind string
		p         macProxy
	}
	var undo []saved
	restore := func() {
		for _, s := range undo {
			if s.p.enabled {
				exec.Command("networksetup", "-set"+s.kind, s.svc, s.p.host, s.p.port).Run()
			} else {
				exec.Command("networksetup", "-set"+s.kind+"state", s.svc, "off").Run()
			}
		}
	}
	for _, svc := range strings.Split(string(out), "\n")[1:] {
		svc = strings.TrimSpace(svc)
		if svc == "" || strings.HasPrefix(svc, "*") { // "*" marks a disabled service
			continue
		}
		for _, kind := range []string{"webproxy", "securewebproxy"} {
			p, err := getMacProxy(svc, kind)
			if err != nil {
				continue
			}
			if err := exec.Command("networksetup", "-set"+kind, svc, host, port).Run(); err != nil {
				restore()
				return nil, fmt.Errorf("networksetup -set%s %q: %w (administrator rights may be needed)", kind, svc, err)
			}
			undo = append(undo, saved{svc, kind, p})
		}
	}
	say("idtrace: system proxy set to %s on %d network services; it is restored when the capture ends\n", addr, len(undo)/2)
	return restore, nil
}
