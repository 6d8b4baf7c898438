package saz

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
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
	f.Add(writeAll(f, &trace.Meta{}, synthetic()[:1], WriterOptions{Password: "pw"}))
	f.Add(zipCrypto(f, "pw", []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", respOK}}))
	f.Add(mkzip(f, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", respOK}, {"raw/1_w.txt", "\r\nResponse-Length: 4\r\n\r\n\x81\x02hi\r\n"}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		opts := Options{Password: "pw", MaxEntryBytes: 1 << 20, MaxTotalBytes: 8 << 20}
		r, err := Open(bytes.NewReader(b), int64(len(b)), "fuzz.saz", opts)
		n, cerr := Count(bytes.NewReader(b), int64(len(b)), "fuzz.saz", opts)
		if cerr != nil {
			var ie *trace.InputError
			if !errors.As(cerr, &ie) {
				t.Fatalf("Count: not an InputError: %v", cerr)
			}
		}
		if err != nil {
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("not an InputError: %v", err)
			}
			return
		}
		if cerr != nil || n != r.Len() {
			t.Fatalf("Open found %d sessions, Count %d (%v)", r.Len(), n, cerr)
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

// FuzzSession fuzzes the content of one session's files (request,
// response, metadata, WebSocket messages) inside a valid archive, which
// FuzzOpen rarely reaches past the zip checksums.
func FuzzSession(f *testing.F) {
	seeds := 0
	for _, p := range testutil.SharedFiles(f, "saz", "*.saz") {
		if !isZip(p) {
			continue // the not-a-zip sample
		}
		zr, err := zip.OpenReader(p)
		if err != nil {
			f.Fatalf("%s: %v", filepath.Base(p), err)
		}
		get := func(name string) []byte {
			for _, e := range zr.File {
				if e.Name == name {
					rc, err := e.Open()
					if err != nil {
						f.Fatalf("%s: %s: %v", filepath.Base(p), name, err)
					}
					defer rc.Close()
					b, err := io.ReadAll(io.LimitReader(rc, 64<<10))
					if err != nil {
						f.Fatalf("%s: %s: %v", filepath.Base(p), name, err)
					}
					return b
				}
			}
			return nil
		}
		for _, n := range []string{"1", "01", "2", "02"} {
			if c := get("raw/" + n + "_c.txt"); c != nil {
				f.Add(c, get("raw/"+n+"_s.txt"), get("raw/"+n+"_m.xml"), []byte(nil))
				seeds++
			}
		}
		zr.Close()
	}
	if seeds == 0 {
		f.Fatal("no seed session found in the shared SAZ samples")
	}
	f.Add([]byte(reqGet), []byte(respOK), []byte(nil), []byte("\r\nRequest-Length: 8\r\n\r\n\x81\x82\x00\x00\x00\x00hi\r\n"))
	f.Fuzz(func(t *testing.T, c, s, m, w []byte) {
		es := []entry{{"raw/1_c.txt", string(c)}, {"raw/1_s.txt", string(s)}}
		if m != nil {
			es = append(es, entry{"raw/1_m.xml", string(m)})
		}
		if w != nil {
			es = append(es, entry{"raw/1_w.txt", string(w)})
		}
		b := mkzip(t, es)
		_, flows, err := readAll(t, b, Options{MaxEntryBytes: 1 << 20})
		if err != nil {
			var ie *trace.InputError
			if !errors.As(err, &ie) || ie.Entry != 1 {
				t.Fatalf("want an InputError for session 1: %v", err)
			}
			return
		}
		if len(flows) != 1 || flows[0].Request == nil {
			t.Fatalf("flows = %v", flows)
		}
		// What was read can be written and read again.
		out := writeAll(t, &trace.Meta{}, flows, WriterOptions{})
		if _, back, err := readAll(t, out, Options{}); err != nil || len(back) != 1 {
			t.Fatalf("rewritten archive: %v", err)
		}
	})
}
