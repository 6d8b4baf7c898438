package entralog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// FuzzReader feeds arbitrary bytes to NewReader and Events: no panic, every
// failure a *trace.InputError, at most one error and nothing after it, and
// every Event with a kind and a position.
func FuzzReader(f *testing.F) {
	seeds := testutil.SharedFiles(f, "entra", "*")
	local, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*"))
	for _, p := range append(append(seeds, local...), bad...) {
		if filepath.Ext(p) == ".md" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("NewReader error %T is not an InputError: %v", err, err)
			}
			return
		}
		failed := false
		for ev, err := range r.Events() {
			if failed {
				t.Fatal("yield after an error")
			}
			if err != nil {
				failed = true
				var ie *trace.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("error %T is not an InputError: %v", err, err)
				}
				if ev != nil {
					t.Fatal("event with an error")
				}
				continue
			}
			if ev == nil || ev.Kind == "" || ev.Line <= 0 || ev.Shape != r.Shape() {
				t.Fatalf("incomplete event %+v", ev)
			}
		}
	})
}
