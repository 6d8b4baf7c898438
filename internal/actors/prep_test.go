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

// FuzzQuotedIndex: quotedIndex answers as strings.Index of the quoted key.
func FuzzQuotedIndex(f *testing.F) {
	f.Add(`{"city":"Oslo"}`, 0, "city")
	f.Add(`"city"city"`, 1, "city")
	f.Add(`""`, 0, "")
	f.Add(`x"a"`, 2, "a")
	f.Fuzz(func(t *testing.T, obj string, from int, key string) {
		if from < 0 || from > len(obj) {
			return
		}
		want := strings.Index(obj[from:], `"`+key+`"`)
		if want >= 0 {
			want += from
		}
		if got := quotedIndex(obj, from, key); got != want {
			t.Errorf("quotedIndex(%q, %d, %q) = %d, want %d", obj, from, key, got, want)
		}
	})
}
