package certs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlans(t *testing.T) {
	ca := newCA(t)
	home := t.TempDir()
	for _, d := range []string{".pki/nssdb", ".mozilla/firefox/abc.default-release", "Library/Application Support/Firefox/Profiles/x.default",
		"AppData/Roaming/Mozilla/Firefox/Profiles/y.default"} {
		os.MkdirAll(filepath.Join(home, d), 0o700)
		os.WriteFile(filepath.Join(home, d, "cert9.db"), nil, 0o600)
	}
	have := func(string) bool { return true }
	join := func(steps []Step) string {
		var b strings.Builder
		for _, s := range steps {
			b.WriteString(s.Where + "|")
			for _, c := range s.Cmds {
				b.WriteString(CommandLine(c) + "\n")
			}
		}
		return b.String()
	}
	linux := join(InstallPlan(ca, "linux", home, have))
	for _, want := range []string{"sql:" + filepath.Join(home, ".pki", "nssdb"), "abc.default-release", "-t C,, -n '" + ca.Nickname() + "'"} {
		if !strings.Contains(linux, want) {
			t.Errorf("linux plan lacks %q:\n%s", want, linux)
		}
	}
	mac := join(InstallPlan(ca, "darwin", home, have))
	if !strings.Contains(mac, "security add-trusted-cert -r trustRoot") || !strings.Contains(mac, ca.CertPath) || !strings.Contains(mac, "x.default") {
		t.Errorf("darwin plan:\n%s", mac)
	}
	win := InstallPlan(ca, "windows", home, have)
	if len(win) == 0 || CommandLine(win[0].Cmds[0]) != "certutil -user -addstore Root "+CommandLine([]string{ca.CertPath}) {
		t.Errorf("windows plan: %+v", win)
	}
	for _, s := range win[1:] {
		if s.Cmds != nil || s.Manual == "" {
			t.Errorf("windows Firefox step should be manual: %+v", s)
		}
	}
	unmac := join(UninstallPlan(ca, "darwin", home, have))
	if !strings.Contains(unmac, "delete-certificate -Z "+ca.sha1Hex()) {
		t.Errorf("darwin uninstall:\n%s", unmac)
	}
	noTools := InstallPlan(ca, "linux", t.TempDir(), func(string) bool { return false })
	for _, s := range noTools {
		if s.Cmds != nil || s.Manual == "" {
			t.Errorf("without tools every step must be manual: %+v", s)
		}
	}
}
