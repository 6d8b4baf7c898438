// Package testutil helps tests find what lives outside the repository: the
// real third-party samples in ../shared/testdata (beside the checkout) and
// the peer programs some tests compare with (7-Zip, Node packages, a
// browser). Tests only.
//
// The rule it enforces: a test that needs something missing FAILS when
// CI=true (.ci/run sets it) and is skipped otherwise, so a CI run never
// passes silently without the samples or the peers.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the repository root (the directory holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CI reports whether the tests run under CI (CI=true).
func CI() bool { return os.Getenv("CI") == "true" }

// Require stops the test when err (what is missing, and why) is not nil:
// it fails under CI and skips otherwise.
func Require(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if CI() {
		t.Fatalf("%s missing (required when CI=true): %v", what, err)
	}
	t.Skipf("%s missing: %v", what, err)
}

// SharedDir returns the absolute path of ../shared/testdata/<rel> beside the
// checkout. When it is missing the test fails if CI=true and is skipped
// otherwise, so CI never passes silently without the real samples.
func SharedDir(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(), "..", "shared", "testdata", rel)
	_, err := os.Stat(p)
	Require(t, "shared test data", err)
	return p
}

// SharedFiles returns the files of ../shared/testdata/<dir> matching
// pattern; none matching fails the test.
func SharedFiles(t testing.TB, dir, pattern string) []string {
	t.Helper()
	d := SharedDir(t, dir)
	m, err := filepath.Glob(filepath.Join(d, pattern))
	if err != nil || len(m) == 0 {
		t.Fatalf("no files match %s in %s", pattern, d)
	}
	return m
}

// Tool returns the path of the first of names found on PATH; when none
// is, the test fails under CI and is skipped otherwise.
func Tool(t testing.TB, names ...string) string {
	t.Helper()
	var first error
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err == nil {
			return p
		}
		if first == nil {
			first = err
		}
	}
	Require(t, "program "+names[0], first)
	return ""
}
