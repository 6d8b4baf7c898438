package record

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

// FuzzReader: any bytes give flows, a torn tail or one InputError; never a panic.
func FuzzReader(f *testing.F) {
	path := filepath.Join(f.TempDir(), "j")
	j, err := Create(path, &trace.Meta{Creator: trace.Software{Name: "idtrace"}})
	if err != nil {
		f.Fatal(err)
	}
	j.Append(flow(1))
	j.AddPage(trace.Page{ID: "p"})
	j.Append(flow(7))
	j.Close()
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Add([]byte(Magic))
	f.Add([]byte(Magic + "F 2 00000000\n{}\n"))
	f.Add([]byte(Magic + "F 99999999999 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), "fuzz")
		if err != nil {
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an InputError", err)
			}
			return
		}
		for fl, err := range r.Flows() {
			if err != nil {
				var ie *trace.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("error %v is not an InputError", err)
				}
				return
			}
			if fl == nil {
				t.Fatal("nil flow without an error")
			}
		}
	})
}
