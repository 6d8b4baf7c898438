package saz

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// countBoth returns what Open (sessions it will read) and Count say of b.
func countBoth(t *testing.T, b []byte, opts Options) (open int, openErr error, count int, countErr error) {
	t.Helper()
	r, openErr := Open(bytes.NewReader(b), int64(len(b)), "x.saz", opts)
	if openErr == nil {
		open = r.Len()
	}
	count, countErr = Count(bytes.NewReader(b), int64(len(b)), "x.saz", opts)
	return
}

func TestCountAgreesWithOpen(t *testing.T) {
	for _, p := range testutil.SharedFiles(t, "saz", "*.saz") {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		o, oerr, c, cerr := countBoth(t, b, Options{})
		if (oerr == nil) != (cerr == nil) || o != c {
			t.Errorf("%s: Open %d (%v), Count %d (%v)", filepath.Base(p), o, oerr, c, cerr)
		}
		if cerr != nil {
			var ie *trace.InputError
			if !errors.As(cerr, &ie) {
				t.Errorf("%s: Count error is not an InputError: %v", filepath.Base(p), cerr)
			}
		}
	}
	// Encrypted: Count needs no password.
	enc := writeAll(t, &trace.Meta{}, synthetic(), WriterOptions{Password: "pw"})
	if o, oerr, c, cerr := countBoth(t, enc, Options{Password: "pw"}); oerr != nil || cerr != nil || o != c || c != len(synthetic()) {
		t.Errorf("encrypted: Open %d (%v), Count %d (%v), want %d", o, oerr, c, cerr, len(synthetic()))
	}
	// Empty archive written by idtrace: zero sessions, no error.
	if c, err := Count(bytes.NewReader(writeAll(t, &trace.Meta{}, nil, WriterOptions{})), int64(len(writeAll(t, &trace.Meta{}, nil, WriterOptions{}))), "e.saz", Options{}); err != nil || c != 0 {
		t.Errorf("empty archive: %d, %v", c, err)
	}
}

// TestCountZip64 writes more than 65,535 zip entries, so the archive needs
// the ZIP64 end records, and checks Count reads them.
func TestCountZip64(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 22,000-session archive")
	}
	base := synthetic()[0]
	const n = 22000 // three entries each: c, s, m
	var buf bytes.Buffer
	w := NewWriter(&buf, &trace.Meta{}, WriterOptions{Count: n})
	for i := 1; i <= n; i++ {
		f := base.Clone()
		f.ID = i
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(&trace.Meta{}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if _, _, entries, err := findDirectory(bytes.NewReader(b), int64(len(b))); err != nil || entries <= 65535 {
		t.Fatalf("want a ZIP64 archive of more than 65,535 entries, got %d (%v)", entries, err)
	}
	o, oerr, c, cerr := countBoth(t, b, Options{})
	if oerr != nil || cerr != nil || o != n || c != n {
		t.Fatalf("Open %d (%v), Count %d (%v), want %d", o, oerr, c, cerr, n)
	}
}

func TestCountRefusesWhatOpenRefuses(t *testing.T) {
	good := writeAll(t, &trace.Meta{}, synthetic(), WriterOptions{})
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"not a zip", []byte("I'm not a saz file.")},
		{"truncated", good[:len(good)-10]},
		{"zip-slip", mkzip(t, []entry{{"raw/../../evil_c.txt", reqGet}, {"raw/1_c.txt", reqGet}})},
		{"duplicate", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_c.txt", reqGet}})},
		{"no sessions", mkzip(t, []entry{{"hello.txt", "hi"}})},
	} {
		_, oerr, _, cerr := countBoth(t, c.b, Options{})
		if oerr == nil || cerr == nil {
			t.Errorf("%s: Open error %v, Count error %v; want both to fail", c.name, oerr, cerr)
			continue
		}
		var ie *trace.InputError
		if !errors.As(cerr, &ie) || ie.File != "x.saz" {
			t.Errorf("%s: Count error %v is not an InputError naming the file", c.name, cerr)
		}
	}
}
