package browser

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Temporary profiles: each capture without --profile runs the browser in a
// fresh directory named tempProfilePrefix+random in the temp directory, with
// an ownerFile holding the capturing process's ID. The capture removes it at
// the end; a capture killed with kill -9 cannot, so the next capture removes
// the directories whose owner is gone (CleanStaleProfiles).
const (
	tempProfilePrefix = "idtrace-browser-"
	ownerFile         = "idtrace-owner"
)

// newTempProfile makes a temporary profile directory owned by this process
// in base (the temp directory when "").
func newTempProfile(base string) (string, error) {
	dir, err := os.MkdirTemp(base, tempProfilePrefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// removeProfile removes a temporary profile once the browser has gone. A
// helper process of the browser (its crash reporter, say) can still write
// into the directory for a moment after the browser exits, so the removal
// is repeated until the directory stays gone, for up to three seconds.
func removeProfile(dir string) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		if err := os.RemoveAll(dir); err == nil {
			time.Sleep(100 * time.Millisecond)
			if _, err := os.Lstat(dir); os.IsNotExist(err) {
				return
			}
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// CleanStaleProfiles removes from base (the temp directory when "") the
// temporary profiles of captures that ended without removing them: those
// whose owner file names a process that no longer runs, and which no
// browser still uses (Chromium's SingletonLock names the browser's process
// on Linux and macOS; on Windows a profile a browser has open cannot be
// renamed). A directory without an owner file, or whose owner or browser
// still runs, is left alone. It returns the directories removed.
func CleanStaleProfiles(base string) []string {
	if base == "" {
		base = os.TempDir()
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempProfilePrefix) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		if !stale(dir) {
			continue
		}
		// Claim the directory first: of two captures starting at once,
		// one renames it, and a profile a browser holds open on Windows
		// cannot be renamed.
		claimed := filepath.Join(base, "idtrace-stale-"+strings.TrimPrefix(e.Name(), tempProfilePrefix))
		if err := os.Rename(dir, claimed); err != nil {
			continue
		}
		if err := os.RemoveAll(claimed); err != nil {
			continue
		}
		removed = append(removed, dir)
	}
	return removed
}

// stale reports whether the profile's owner and browser are both gone.
func stale(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
		return false
	}
	// Chromium's lock: a symbolic link to "HOSTNAME-PID".
	if target, err := os.Readlink(filepath.Join(dir, "SingletonLock")); err == nil {
		host, p, ok := cutLast(target, "-")
		if !ok {
			return false
		}
		bpid, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		if me, _ := os.Hostname(); host != me || processAlive(bpid) {
			return false // another machine's (a shared temp directory), or running
		}
	}
	return true
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
