package actors

import (
	"strings"
	"testing"
)

// FuzzIndexIn: indexIn answers as strings.Index does.
func FuzzIndexIn(f *testing.F) {
	f.Add("from 203.0.113.7 (Oslo, Oslo, NO)", "NO")
	f.Add("aaab", "ab")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, b, s string) {
		if s == "" {
			return
		}
		if got, want := indexIn([]byte(b), s), strings.Index(b, s); got != want {
			t.Errorf("indexIn(%q, %q) = %d, want %d", b, s, got, want)
		}
	})
}
