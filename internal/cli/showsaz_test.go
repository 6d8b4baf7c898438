package cli

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBigSAZ writes a SAZ whose one response body (3 MB of text, gzip
// and chunked on the wire) is over the 1 MB that show and ls leave in
// the archive.
func writeBigSAZ(t *testing.T) (path string, body []byte) {
	t.Helper()
	var b strings.Builder
	for i := 0; b.Len() < 3<<20; i++ {
		fmt.Fprintf(&b, "line %d of a large response body\n", i)
	}
	body = []byte(b.String())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("raw/1_c.txt")
	f.Write([]byte("GET https://a.example/big HTTP/1.1\r\nHost: a.example\r\n\r\n"))
	f, _ = w.Create("raw/1_s.txt")
	fmt.Fprintf(f, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", gz.Len())
	f.Write(gz.Bytes())
	f.Write([]byte("\r\n0\r\n\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "big.saz")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, body
}

// TestShowSAZStreamsLargeBodies: show on a SAZ body over 1 MB prints its
// decoded head with the whole size, and --body writes it whole, both
// streamed from the zip entry; the result is what the whole-entry reader
// (convert to HAR, then show) gives.
func TestShowSAZStreamsLargeBodies(t *testing.T) {
	p, body := writeBigSAZ(t)
	code, out, errOut := run(t, "", "show", "1", p)
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "line 0 of a large response body") || !strings.Contains(out, "first 64.0 kB of 3.0 MB shown") {
		t.Errorf("show 1: want the decoded head and the whole size:\n%.400s", out)
	}
	dst := filepath.Join(t.TempDir(), "body.txt")
	if code, _, errOut := run(t, "", "show", "--body", dst, "1", p); code != 0 {
		t.Fatalf("show --body: exit %d: %s", code, errOut)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, body) {
		t.Errorf("show --body: %d bytes, want the %d-byte decoded body", len(got), len(body))
	}
	if _, out, _ := run(t, "", "show", "--body", "-", "1", p); out != string(body) {
		t.Errorf("show --body -: not the whole decoded body")
	}
	// The oracle: the reader that holds the whole entry, through convert.
	h := filepath.Join(t.TempDir(), "big.har")
	if code, _, errOut := run(t, "", "convert", p, h); code != 0 {
		t.Fatalf("convert: exit %d: %s", code, errOut)
	}
	_, flows := readAll(t, h)
	if !bytes.Equal(flows[0].Response.Body, body) {
		t.Fatalf("convert: the whole-entry reader decodes %d bytes, want %d", len(flows[0].Response.Body), len(body))
	}
	if _, out, _ := run(t, "", "ls", "--json", p); !strings.Contains(out, `"response_bytes":`) || strings.Contains(out, `"response_bytes":0`) {
		t.Errorf("ls --json: the body size is lost: %s", out)
	}
}
