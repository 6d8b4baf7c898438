// Package testutil helps tests find the real third-party samples in
// ../shared/testdata (beside the checkout). Tests only.
package testutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the repository root (the directory holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// SharedDir returns the absolute path of ../shared/testdata/<rel> beside the
// checkout. When it is missing the test fails if CI=true and is skipped
// otherwise, so CI never passes silently without the real samples.
func SharedDir(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(), "..", "shared", "testdata", rel)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing (required when CI=true): %v", err)
		}
		t.Skipf("shared test data missing: %v", err)
	}
	return p
}

// SharedFiles returns the files of ../shared/testdata/<dir> matching pattern.
func SharedFiles(t testing.TB, dir, pattern string) []string {
	t.Helper()
	d := SharedDir(t, dir)
	m, err := filepath.Glob(filepath.Join(d, pattern))
	if err != nil || len(m) == 0 {
		t.Fatalf("no files match %s in %s", pattern, d)
	}
	return m
}
