package certs

import (
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Store names a trust store a Step changes.
type Store string

// The trust stores idtrace knows how to change.
const (
	StoreSystem Store = "system" // the OS store: Linux ca-certificates, macOS login keychain, Windows user Root store
	StoreNSS    Store = "nss"    // NSS databases: Chromium and Firefox on Linux, Firefox elsewhere
)

// Step is one change to one trust store: a command to run, or, where no
// command can do it, the words that tell a user what to do by hand.
type Step struct {
	Store Store
	// Where names the store for people ("Firefox profile abc.default").
	Where string
	// Cmds are run in order; nil for a manual step.
	Cmds [][]string
	// NeedsAdmin is true when the commands need root (sudo) to succeed.
	NeedsAdmin bool
	// Manual explains what to do by hand when Cmds is nil or cannot run.
	Manual string
}

// Nickname is the name under which the CA is installed in NSS databases:
// its common name, which carries the host and the creation date.
func (ca *CA) Nickname() string { return ca.Cert.Subject.CommonName }

// sha1Hex is the certificate's SHA-1 thumbprint, as macOS and Windows tools name certificates.
func (ca *CA) sha1Hex() string {
	s := sha1.Sum(ca.Cert.Raw)
	return fmt.Sprintf("%X", s[:])
}

// InstallPlan lists the steps that make the CA trusted on goos ("linux",
// "darwin", "windows"), for the user whose home directory is home. haveCmd
// reports whether a command is on PATH. Nothing is run.
func InstallPlan(ca *CA, goos, home string, haveCmd func(string) bool) []Step {
	return plan(ca, goos, home, haveCmd, true)
}

// UninstallPlan lists the steps that remove the CA from the same stores.
func UninstallPlan(ca *CA, goos, home string, haveCmd func(string) bool) []Step {
	return plan(ca, goos, home, haveCmd, false)
}

// linuxAnchors are the system anchor directories and refresh commands of the common distributions.
var linuxAnchors = []struct{ dir, refresh, family string }{
	{"/usr/local/share/ca-certificates", "update-ca-certificates", "Debian, Ubuntu, Alpine"},
	{"/etc/pki/ca-trust/source/anchors", "update-ca-trust", "Fedora, RHEL"},
	{"/etc/ca-certificates/trust-source/anchors", "update-ca-trust", "Arch"},
	{"/usr/share/pki/trust/anchors", "update-ca-certificates", "openSUSE"},
}

func plan(ca *CA, goos, home string, haveCmd func(string) bool, install bool) []Step {
	var steps []Step
	switch goos {
	case "linux":
		steps = append(steps, linuxSystemStep(ca, haveCmd, install))
	case "darwin":
		kc := filepath.Join(home, "Library", "Keychains", "login.keychain-db")
		s := Step{Store: StoreSystem, Where: "macOS login keychain"}
		if install {
			s.Cmds = [][]string{{"security", "add-trusted-cert", "-r", "trustRoot", "-k", kc, ca.CertPath}}
			s.Manual = fmt.Sprintf("Open Keychain Access, drag %s into the login keychain, open it and set \"When using this certificate\" to Always Trust.", ca.CertPath)
		} else {
			s.Cmds = [][]string{{"security", "delete-certificate", "-Z", ca.sha1Hex(), kc}}
			s.Manual = fmt.Sprintf("Open Keychain Access, find %q in the login keychain and delete it.", ca.Nickname())
		}
		steps = append(steps, s)
	case "windows":
		s := Step{Store: StoreSystem, Where: "Windows current-user Trusted Root store"}
		if install {
			s.Cmds = [][]string{{"certutil", "-user", "-addstore", "Root", ca.CertPath}}
			s.Manual = fmt.Sprintf("Run certmgr.msc, right-click Trusted Root Certification Authorities > All Tasks > Import, and import %s.", ca.CertPath)
		} else {
			s.Cmds = [][]string{{"certutil", "-user", "-delstore", "Root", ca.sha1Hex()}}
			s.Manual = fmt.Sprintf("Run certmgr.msc, open Trusted Root Certification Authorities > Certificates and delete %q.", ca.Nickname())
		}
		steps = append(steps, s)
	}
	steps = append(steps, nssSteps(ca, goos, home, haveCmd, install)...)
	return steps
}

func linuxSystemStep(ca *CA, haveCmd func(string) bool, install bool) Step {
	s := Step{Store: StoreSystem, Where: "Linux system store", NeedsAdmin: true}
	name := "idtrace-ca.crt"
	for _, a := range linuxAnchors {
		if _, err := os.Stat(a.dir); err != nil || !haveCmd(a.refresh) {
			continue
		}
		dst := filepath.Join(a.dir, name)
		s.Where = fmt.Sprintf("Linux system store (%s: %s)", a.family, a.dir)
		if install {
			s.Cmds = [][]string{{"install", "-m", "0644", ca.CertPath, dst}, {a.refresh}}
		} else {
			s.Cmds = [][]string{{"rm", "-f", dst}, {a.refresh}}
			if a.refresh == "update-ca-certificates" {
				s.Cmds[1] = []string{a.refresh, "--fresh"}
			}
		}
		return s
	}
	if install {
		s.Manual = fmt.Sprintf("No known system store was found. Copy %s to your distribution's CA anchor directory "+
			"(Debian/Ubuntu: /usr/local/share/ca-certificates/%s then update-ca-certificates; Fedora: "+
			"/etc/pki/ca-trust/source/anchors/ then update-ca-trust).", ca.CertPath, name)
	} else {
		s.Manual = fmt.Sprintf("Remove %s from your distribution's CA anchor directory and refresh the store.", name)
	}
	return s
}

// nssDatabases finds the NSS databases of Chromium (Linux) and Firefox profiles.
func nssDatabases(goos, home string) []struct{ where, dir string } {
	var dbs []struct{ where, dir string }
	add := func(where, dir string) {
		if _, err := os.Stat(filepath.Join(dir, "cert9.db")); err == nil {
			dbs = append(dbs, struct{ where, dir string }{where, dir})
		}
	}
	if goos == "linux" {
		add("Chromium / Chrome (~/.pki/nssdb)", filepath.Join(home, ".pki", "nssdb"))
		add("Chromium snap", filepath.Join(home, "snap", "chromium", "current", ".pki", "nssdb"))
	}
	var profileRoots []string
	switch goos {
	case "linux":
		profileRoots = []string{filepath.Join(home, ".mozilla", "firefox"), filepath.Join(home, "snap", "firefox", "common", ".mozilla", "firefox")}
	case "darwin":
		profileRoots = []string{filepath.Join(home, "Library", "Application Support", "Firefox", "Profiles")}
	case "windows":
		profileRoots = []string{filepath.Join(home, "AppData", "Roaming", "Mozilla", "Firefox", "Profiles")}
	}
	for _, root := range profileRoots {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if e.IsDir() {
				add("Firefox profile "+e.Name(), filepath.Join(root, e.Name()))
			}
		}
	}
	return dbs
}

func nssSteps(ca *CA, goos, home string, haveCmd func(string) bool, install bool) []Step {
	var steps []Step
	dbs := nssDatabases(goos, home)
	for _, db := range dbs {
		s := Step{Store: StoreNSS, Where: db.where + ": " + db.dir}
		if haveCmd("certutil") && goos != "windows" {
			if install {
				s.Cmds = [][]string{{"certutil", "-A", "-d", "sql:" + db.dir, "-t", "C,,", "-n", ca.Nickname(), "-i", ca.CertPath}}
			} else {
				s.Cmds = [][]string{{"certutil", "-D", "-d", "sql:" + db.dir, "-n", ca.Nickname()}}
			}
		}
		if install {
			s.Manual = fmt.Sprintf("Install certutil (Debian/Ubuntu: apt install libnss3-tools; Fedora: dnf install nss-tools; macOS: brew install nss), "+
				"or in the browser open Settings > Privacy and security > Certificates > Authorities > Import, choose %s and trust it for websites.", ca.CertPath)
		} else {
			s.Manual = fmt.Sprintf("In the browser open Settings > Privacy and security > Certificates > Authorities and delete %q.", ca.Nickname())
		}
		steps = append(steps, s)
	}
	if len(dbs) == 0 && goos == "linux" && install {
		steps = append(steps, Step{Store: StoreNSS, Where: "Chromium / Firefox",
			Manual: "No browser certificate database was found. Start Chromium or Firefox once, then run this again, " +
				"or import " + ca.CertPath + " in the browser's certificate settings (Authorities)."})
	}
	return steps
}

// CommandLine renders a command for a person to copy (quoting arguments with spaces).
func CommandLine(cmd []string) string {
	parts := make([]string, len(cmd))
	for i, a := range cmd {
		if a == "" || strings.ContainsAny(a, " \t'\"$\\") {
			parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			parts[i] = a
		}
	}
	return strings.Join(parts, " ")
}
