package saz

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// FuzzOpen feeds arbitrary archives to the reader: it must never panic and
// must report every problem as a *trace.InputError.
func FuzzOpen(f *testing.F) {
	for _, p := range testutil.SharedFiles(f, "saz", "*.saz") {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add(writeAll(f, &trace.Meta{}, synthetic(), WriterOptions{}))
	f.Add(mkzip(f, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", respOK}, {"raw/1_w.txt", "\r\nResponse-Length: 4\r\n\r\n\x81\x02hi\r\n"}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		opts := Options{Password: "pw", MaxEntryBytes: 1 << 20, MaxTotalBytes: 8 << 20}
		r, err := Open(bytes.NewReader(b), int64(len(b)), "fuzz.saz", opts)
		if err != nil {
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("not an InputError: %v", err)
			}
			return
		}
		for fl, err := range r.Flows() {
			if err != nil {
				var ie *trace.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("not an InputError: %v", err)
				}
				return
			}
			if fl.Request == nil {
				t.Fatal("flow without a request")
			}
		}
	})
}
