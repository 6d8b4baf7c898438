package browser

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
)

// deadPID returns the ID of a process that has exited: a child started and
// waited for.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// liveChild starts a process that runs until the test ends.
func liveChild(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "IDTRACE_HELPER_WAIT=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	return cmd.Process.Pid
}

// TestMain runs the tests, or, in a process liveChild started, waits until
// its standard input closes.
func TestMain(m *testing.M) {
	if os.Getenv("IDTRACE_HELPER_WAIT") == "1" {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func profileDir(t *testing.T, base, name string, owner int, lock string) string {
	t.Helper()
	dir := filepath.Join(base, name)
	if err := os.MkdirAll(filepath.Join(dir, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "Default", "Cookies"), []byte("x"), 0o600)
	if owner != 0 {
		if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(owner)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if lock != "" {
		if err := os.Symlink(lock, filepath.Join(dir, "SingletonLock")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCleanStaleProfiles removes the temporary profiles whose owning
// capture is gone, and none that a running capture or browser still uses.
func TestCleanStaleProfiles(t *testing.T) {
	base := t.TempDir()
	dead, live := deadPID(t), liveChild(t)
	host, _ := os.Hostname()
	stale := profileDir(t, base, tempProfilePrefix+"dead", dead, "")
	mine := profileDir(t, base, tempProfilePrefix+"mine", os.Getpid(), "")
	running := profileDir(t, base, tempProfilePrefix+"running", live, "")
	noOwner := profileDir(t, base, tempProfilePrefix+"old", 0, "")
	other := profileDir(t, base, "someone-else-dead", dead, "")
	keep := []string{mine, running, noOwner, other}
	want := []string{stale}
	if runtime.GOOS != "windows" { // symbolic links need a privilege there
		// The capture is gone but its browser still runs: kept.
		keep = append(keep, profileDir(t, base, tempProfilePrefix+"browser-running", dead, host+"-"+strconv.Itoa(live)))
		// Both gone: removed.
		want = append(want, profileDir(t, base, tempProfilePrefix+"browser-dead", dead, host+"-"+strconv.Itoa(dead)))
		// A lock from another machine sharing the directory: kept.
		keep = append(keep, profileDir(t, base, tempProfilePrefix+"elsewhere", dead, "another-host.example-"+strconv.Itoa(dead)))
	}
	removed := CleanStaleProfiles(base)
	slices.Sort(removed)
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %q, want %q", removed, want)
	}
	for _, d := range want {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s: still there (%v)", d, err)
		}
	}
	for _, d := range keep {
		if _, err := os.Stat(filepath.Join(d, "Default", "Cookies")); err != nil {
			t.Errorf("%s: a profile in use or not idtrace's was touched: %v", d, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(base, "idtrace-stale-*"))
	if len(left) != 0 {
		t.Errorf("claimed directories left behind: %q", left)
	}
}

// TestTempProfileOwner checks that a new temporary profile names this
// process as its owner, so no other capture removes it while it runs.
func TestTempProfileOwner(t *testing.T) {
	dir, err := newTempProfile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if stale(dir) {
		t.Fatal("a profile this process owns is taken for stale")
	}
	for _, d := range CleanStaleProfiles(filepath.Dir(dir)) {
		if d == dir {
			t.Fatal("CleanStaleProfiles removed this process's own profile")
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}
