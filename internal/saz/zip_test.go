package saz

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// manyFlows returns n copies of the first synthetic flow.
func manyFlows(n int) []*trace.Flow {
	base := synthetic()[0]
	out := make([]*trace.Flow, n)
	for i := range out {
		f := base.Clone()
		f.ID = i + 1
		f.Session = i + 1
		f.Request.URL = fmt.Sprintf("https://login.example/common/oauth2/v2.0/token?n=%d", i+1)
		out[i] = f
	}
	return out
}

// TestWriterArchiveZipReads checks that archive/zip (and unzip -t, when
// installed) reads every archive the Writer produces: the names in
// Fiddler's order and the bytes of each entry, which must also be what the
// compact reader reads.
func TestWriterArchiveZipReads(t *testing.T) {
	tests := []struct {
		name    string
		flows   []*trace.Flow
		force64 bool
		long    bool
	}{
		{"synthetic", synthetic(), false, false},
		{"empty", nil, false, false},
		{"ZIP64 records forced", synthetic(), true, false},
		{"more than 65,535 entries", manyFlows(22000), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.long && testing.Short() {
				t.Skip("writes a 22,000-session archive")
			}
			var buf bytes.Buffer
			w := NewWriter(&buf, &trace.Meta{}, WriterOptions{Count: len(tc.flows)})
			w.zw.force64 = tc.force64
			for _, f := range tc.flows {
				if err := w.WriteFlow(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(&trace.Meta{}); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			_, _, entries, err := findDirectory(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if tc.long && entries <= 65535 {
				t.Fatalf("%d entries, want more than 65,535", entries)
			}
			zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatalf("archive/zip: %v", err)
			}
			if !strings.HasPrefix(zr.Comment, "Fiddler Session Archive") {
				t.Errorf("comment %q", zr.Comment)
			}
			width := len(fmt.Sprint(len(tc.flows)))
			want := []string{"raw/"}
			for i, f := range tc.flows {
				num := fmt.Sprintf("%0*d", width, i+1)
				want = append(want, "raw/"+num+"_c.txt", "raw/"+num+"_s.txt", "raw/"+num+"_m.xml")
				if len(f.WebSocket) > 0 {
					want = append(want, "raw/"+num+"_w.txt")
				}
			}
			want = append(want, "_index.htm", "[Content_Types].xml")
			if len(zr.File) != len(want) {
				t.Fatalf("%d entries, want %d", len(zr.File), len(want))
			}
			content := map[string][]byte{}
			for i, f := range zr.File {
				if f.Name != want[i] {
					t.Fatalf("entry %d is %q, want %q", i, f.Name, want[i])
				}
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				c, err := io.ReadAll(rc) // archive/zip checks size and CRC-32
				rc.Close()
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				content[f.Name] = c
			}
			// The compact reader reads the same bytes from each session file.
			r, err := Open(bytes.NewReader(b), int64(len(b)), "w.saz", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.zr != nil || r.Len() != len(tc.flows) {
				t.Fatalf("compact path %v, %d sessions, want %d", r.zr == nil, r.Len(), len(tc.flows))
			}
			for i := range r.sessions {
				s := &r.sessions[i]
				for k := fileC; k <= fileW; k++ {
					if s.files[k] == none {
						continue
					}
					e, err := r.entryAt(s.files[k])
					if err != nil {
						t.Fatal(err)
					}
					got, err := r.readPlain(&e, 1<<30)
					if err != nil || !bytes.Equal(got, content[s.name(k)]) {
						t.Fatalf("%s: compact reader got %d bytes (%v), archive/zip %d", s.name(k), len(got), err, len(content[s.name(k)]))
					}
				}
				if c := content[s.name(fileC)]; !bytes.HasPrefix(c, []byte(tc.flows[i].Request.Method+" "+tc.flows[i].Request.URL+" ")) {
					t.Fatalf("%s starts %q", s.name(fileC), c[:min(len(c), 60)])
				}
			}
			_, back, err := readAll(t, b, Options{})
			if err != nil || len(back) != len(tc.flows) {
				t.Fatalf("read back %d flows (%v), want %d", len(back), err, len(tc.flows))
			}
			for i, f := range back {
				a := tc.flows[i]
				if f.Request.URL != a.Request.URL || !bytes.Equal(f.Request.Body, a.Request.Body) || (a.Response != nil && !bytes.Equal(f.Response.Body, a.Response.Body)) || len(f.WebSocket) != len(a.WebSocket) {
					t.Fatalf("flow %d read back differs: %s", i+1, f.Request.URL)
				}
			}
			if idx := string(content["_index.htm"]); strings.Count(idx, "<tr><td><a href") != min(len(tc.flows), maxIndexRows) {
				t.Errorf("_index.htm lists %d sessions", strings.Count(idx, "<tr><td><a href"))
			} else if more := len(tc.flows) - maxIndexRows; more > 0 && !strings.Contains(idx, fmt.Sprintf("%d more sessions", more)) {
				t.Errorf("_index.htm does not say %d more sessions", more)
			}
			unzipTest(t, b)
		})
	}
}

// unzipTest runs Info-ZIP's unzip -t on b when it is installed.
func unzipTest(t *testing.T, b []byte) {
	t.Helper()
	bin, err := exec.LookPath("unzip")
	if err != nil {
		return
	}
	p := filepath.Join(t.TempDir(), "t.saz")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-tqq", p).CombinedOutput(); err != nil {
		t.Errorf("unzip -t: %v\n%s", err, out)
	}
}

// TestSharedCompactPath checks that real unencrypted Fiddler archives are
// read through the compact directory, not archive/zip.
func TestSharedCompactPath(t *testing.T) {
	for _, p := range testutil.SharedFiles(t, "saz", "*.saz") {
		r, err := OpenFile(p, Options{})
		if err != nil {
			continue // not a zip: TestSharedFiles checks the error
		}
		if r.zr != nil && r.yz == nil {
			t.Errorf("%s: plain archive read through archive/zip", filepath.Base(p))
		}
		r.Close()
	}
}

// patchCentral calls fix on the central directory record and the local
// header of entry name (tests only: the archive must be small and sane).
func patchCentral(t *testing.T, b []byte, name string, fix func(central, local []byte)) []byte {
	t.Helper()
	b = bytes.Clone(b)
	off, _, entries, err := findDirectory(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	for i := uint64(0); i < entries; i++ {
		rec := b[off:]
		nlen, xlen, clen := int(le.Uint16(rec[28:])), int(le.Uint16(rec[30:])), int(le.Uint16(rec[32:]))
		if string(rec[46:46+nlen]) == name {
			fix(rec, b[le.Uint32(rec[42:]):])
			return b
		}
		off += int64(46 + nlen + xlen + clen)
	}
	t.Fatalf("no entry %q", name)
	return nil
}

func storedZip(t *testing.T, entries []entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCompactReader covers the entry reader of plain archives: stored
// entries, data descriptors, names rebuilt for errors, and corrupt entries.
func TestCompactReader(t *testing.T) {
	const marked = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nMARKER"
	stored := storedZip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", marked}})
	tests := []struct {
		name   string
		zip    []byte
		legacy bool
		want   error  // nil: reads; else errors.Is
		field  string // error's Field
		entry  int
	}{
		{"stored with data descriptors", stored, false, nil, "", 0},
		{"deflated with data descriptors", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", marked}}), false, nil, "", 0},
		{"data before the zip", append([]byte("prefix bytes "), stored...), true, nil, "", 0},
		{"corrupt data", bytes.Replace(stored, []byte("MARKER"), []byte("MARKEX"), 1), false, zip.ErrChecksum, "raw/1_s.txt", 1},
		{"size mismatch", patchCentral(t, stored, "raw/1_s.txt", func(c, _ []byte) {
			binary.LittleEndian.PutUint32(c[24:], binary.LittleEndian.Uint32(c[24:])+1)
		}), false, zip.ErrFormat, "raw/1_s.txt", 1},
		{"unknown method", patchCentral(t, stored, "raw/1_s.txt", func(c, l []byte) {
			binary.LittleEndian.PutUint16(c[10:], 99)
			binary.LittleEndian.PutUint16(l[8:], 99)
		}), false, zip.ErrAlgorithm, "raw/1_s.txt", 1},
		{"bad local header", patchCentral(t, stored, "raw/1_s.txt", func(_, l []byte) { l[0] = 'X' }), false, zip.ErrFormat, "raw/1_s.txt", 1},
		{"header offset past the end", patchCentral(t, stored, "raw/1_s.txt", func(c, _ []byte) {
			binary.LittleEndian.PutUint32(c[42:], 1<<30)
		}), false, zip.ErrFormat, "raw/1_s.txt", 1},
		{"long extra field", func() []byte {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, e := range []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", marked}} {
				w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Extra: append([]byte{0x99, 0x99, 200, 0}, make([]byte, 200)...)})
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(w, e.data)
			}
			zw.Close()
			return buf.Bytes()
		}(), false, nil, "", 0},
		{"upper-case name", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/7_C.TXT", "hello\r\n\r\n"}}), false, errors.New("request line"), "raw/7_C.TXT", 7},
		{"padded name", mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/007_c.txt", "hello\r\n\r\n"}}), false, errors.New("request line"), "raw/007_c.txt", 7},
		{"truncated deflate", patchCentral(t, mkzip(t, []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", marked}}), "raw/1_s.txt", func(c, _ []byte) {
			binary.LittleEndian.PutUint32(c[20:], 3)
		}), false, zip.ErrFormat, "raw/1_s.txt", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, flows, err := readAll(t, tc.zip, Options{})
			if r != nil && (r.zr != nil) != tc.legacy {
				t.Errorf("read through archive/zip: %v, want %v", r.zr != nil, tc.legacy)
			}
			if tc.want == nil {
				if err != nil || len(flows) != 1 || string(flows[0].Response.Body) != "MARKER" {
					t.Fatalf("flows %v, err %v", flows, err)
				}
				return
			}
			var ie *trace.InputError
			if !errors.As(err, &ie) || ie.Field != tc.field || ie.Entry != tc.entry || ie.EntryKind != "session" {
				t.Fatalf("error %v, want an InputError for %s of session %d", err, tc.field, tc.entry)
			}
			if !errors.Is(err, tc.want) && !strings.Contains(err.Error(), tc.want.Error()) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}
