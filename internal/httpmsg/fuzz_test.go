package httpmsg

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
)

// seedFromSAZ adds the raw/N_<kind>.txt entries of the shared SAZ samples.
// A sample that is a zip but cannot be read fails the target: seeds are
// never dropped silently.
func seedFromSAZ(f *testing.F, kind string) {
	seeds := 0
	for _, p := range testutil.SharedFiles(f, "saz", "*.saz") {
		head, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if !bytes.HasPrefix(head, []byte("PK")) {
			continue // the not-a-zip sample
		}
		zr, err := zip.OpenReader(p)
		if err != nil {
			f.Fatalf("%s: %v", filepath.Base(p), err)
		}
		for _, e := range zr.File {
			if !strings.HasSuffix(e.Name, "_"+kind+".txt") || e.UncompressedSize64 > 1<<20 {
				continue
			}
			rc, err := e.Open()
			if err != nil {
				f.Fatalf("%s: %s: %v", filepath.Base(p), e.Name, err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				f.Fatalf("%s: %s: %v", filepath.Base(p), e.Name, err)
			}
			f.Add(b)
			seeds++
		}
		zr.Close()
	}
	if seeds == 0 {
		f.Fatalf("no raw/N_%s.txt seed found in the shared SAZ samples", kind)
	}
}

func FuzzParseResponse(f *testing.F) {
	seedFromSAZ(f, "s")
	f.Add(resp("Transfer-Encoding: chunked\r\nContent-Encoding: gzip, br\r\n", chunk(br(gz([]byte(jsonBody))), 7)))
	f.Add(resp("Content-Encoding: zstd\r\n", zs([]byte(jsonBody))))
	f.Fuzz(func(t *testing.T, raw []byte) {
		lim := Limits{MaxBodyBytes: 4 << 20}
		r, err := ParseResponse(raw, lim)
		var be *BodyError
		if err != nil && !errors.As(err, &be) {
			if r != nil {
				t.Fatalf("syntax error with a response")
			}
			return
		}
		if r == nil {
			t.Fatalf("no response and no syntax error")
		}
		var buf bytes.Buffer
		if err := WriteResponse(&buf, r); err != nil {
			t.Fatal(err)
		}
		r2, err2 := ParseResponse(buf.Bytes(), lim)
		if r2 == nil {
			t.Fatalf("written response does not parse: %v\n%q", err2, buf.Bytes())
		}
		if r.Status >= 100 && r.Status < 200 {
			return // a 1xx followed by more answers than the parser unwraps
		}
		if err == nil && err2 == nil && !bytes.Equal(r.Body, r2.Body) {
			t.Fatalf("decoded body changed in a round trip")
		}
		if len(r2.Headers) > len(r.Headers) || r2.Status != r.Status {
			t.Fatalf("round trip changed status or added headers")
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	seedFromSAZ(f, "c")
	f.Add([]byte("POST http://x.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := ParseRequest(raw)
		var be *BodyError
		if err != nil && !errors.As(err, &be) {
			return
		}
		var buf bytes.Buffer
		if err := WriteRequest(&buf, r); err != nil {
			t.Fatal(err)
		}
		r2, err2 := ParseRequest(buf.Bytes())
		if r2 == nil {
			t.Fatalf("written request does not parse: %v\n%q", err2, buf.Bytes())
		}
		if err == nil && err2 == nil && !bytes.Equal(r.Body, r2.Body) {
			t.Fatalf("body changed in a round trip: %q -> %q", r.Body, r2.Body)
		}
		if r2.Method != r.Method {
			t.Fatalf("method changed: %q -> %q", r.Method, r2.Method)
		}
	})
}
