package cli

import (
	"net"
	"runtime"
)

// setSystemProxy points the operating system's proxy settings at addr and
// returns the function that restores the previous ones. On systems without
// a setting idtrace can change (Linux and the other Unixes), it changes
// nothing: it tells (even under --quiet, since the user asked) what to set,
// and returns a no-op.
func setSystemProxy(addr string, say, tell func(string, ...any)) (restore func(), err error) {
	switch runtime.GOOS {
	case "windows", "darwin":
		return setOSProxy(addr, say)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // listening on every address: local programs use loopback
	}
	hp := net.JoinHostPort(host, port)
	tell("idtrace: --system-proxy: %s has no one system-wide proxy setting, so idtrace changes nothing; point programs at the capture:\n"+
		"  export HTTPS_PROXY=http://%[2]s HTTP_PROXY=http://%[2]s   (commands and most programs)\n"+
		"  gsettings set org.gnome.system.proxy mode manual; "+
		"gsettings set org.gnome.system.proxy.http host %[3]s; gsettings set org.gnome.system.proxy.http port %[4]s; "+
		"gsettings set org.gnome.system.proxy.https host %[3]s; gsettings set org.gnome.system.proxy.https port %[4]s   (GNOME and the browsers that follow it)\n"+
		"  undo with: gsettings set org.gnome.system.proxy mode none\n", runtime.GOOS, hp, host, port)
	return func() {}, nil
}
