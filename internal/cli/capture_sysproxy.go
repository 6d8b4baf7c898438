package cli

import "runtime"

// setSystemProxy points the operating system's proxy settings at addr and
// returns the function that restores the previous ones. On systems without
// a setting idtrace can change (Linux), it prints what to set and returns a
// no-op.
func setSystemProxy(addr string, say func(string, ...any)) (restore func(), err error) {
	switch runtime.GOOS {
	case "windows", "darwin":
		return setOSProxy(addr, say)
	}
	say("idtrace: --system-proxy: Linux has no single system proxy; use one of:\n"+
		"  export HTTPS_PROXY=http://%[1]s HTTP_PROXY=http://%[1]s   (commands and most programs)\n"+
		"  gsettings set org.gnome.system.proxy mode manual && gsettings set org.gnome.system.proxy.https host 127.0.0.1 && gsettings set org.gnome.system.proxy.https port PORT\n"+
		"  (undo with: gsettings set org.gnome.system.proxy mode none)\n", addr)
	return func() {}, nil
}
