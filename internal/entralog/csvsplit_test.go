package entralog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
)

// splitLikeCSV runs csvSplitter over data next to encoding/csv configured as
// the CSV reader configures it, record by record, and fails the test where
// the splitter accepts a record that encoding/csv reads differently (fields
// or starting line) or rejects, or ends where encoding/csv does not. It
// returns the number of records the splitter accepted and whether it
// stopped at a record it leaves to encoding/csv, with encoding/csv's error
// there (nil if it read that record).
func splitLikeCSV(t *testing.T, name string, data []byte, n int) (int, bool, error) {
	t.Helper()
	var sp csvSplitter
	sp.reset(string(data), n, 1<<30)
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = n
	for recs := 0; ; recs++ {
		line, ok, bad := sp.next()
		var fields []string
		if ok {
			fields = sp.fields()
		}
		want, err := cr.Read()
		switch {
		case bad:
			return recs, true, err
		case !ok:
			if err != io.EOF {
				t.Fatalf("%s: the splitter ended after %d records; encoding/csv read on (%q, %v)", name, recs, want, err)
			}
			return recs, false, nil
		case err != nil:
			t.Fatalf("%s: record %d: the splitter read %q (line %d); encoding/csv: %v", name, recs+1, fields, line, err)
		}
		if wantLine, _ := cr.FieldPos(0); line != wantLine || !slices.Equal(fields, want) {
			t.Fatalf("%s: record %d: the splitter read %q on line %d; encoding/csv %q on line %d", name, recs+1, fields, line, want, wantLine)
		}
	}
}

func headerFields(t *testing.T, data []byte) int {
	t.Helper()
	hdr, err := csv.NewReader(bytes.NewReader(data)).Read()
	if err != nil {
		t.Fatal(err)
	}
	return len(hdr)
}

// TestCSVSplitterReadsExports checks that the splitter reads the CSV
// exports it is meant for to the end — with quoted fields holding newlines,
// CRLF and doubled quotes, blank lines, no newline at the end — exactly as
// encoding/csv does, so the parallel reader does not fall back on them.
func TestCSVSplitterReadsExports(t *testing.T) {
	odd := oddCSV(t, generatedCSV(t, 300))
	inputs := map[string][]byte{"generated": generatedCSV(t, 300), "odd": odd, "odd-no-eol": bytes.TrimRight(odd, "\r\n")}
	for _, p := range append(testutil.SharedFiles(t, "entra", "*.csv"), mustGlob(t, filepath.Join("testdata", "*.csv"))...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(p)] = b
	}
	for name, data := range inputs {
		n, bad, err := splitLikeCSV(t, name, data, headerFields(t, data))
		if bad {
			t.Errorf("%s: the splitter left record %d to encoding/csv (which says %v)", name, n+1, err)
		}
		if want := bytes.Count(data, []byte("\n")); n < 2 && want > 2 {
			t.Errorf("%s: the splitter read %d records", name, n)
		}
	}
}

// TestCSVSplitterLeavesErrors checks that the splitter stops at each record
// encoding/csv rejects (and at the lone carriage returns it keeps as data),
// leaving that record to it.
func TestCSVSplitterLeavesErrors(t *testing.T) {
	for _, c := range []struct {
		name, in string
		rec      int  // records read before the stop
		csvErr   bool // encoding/csv rejects the record
	}{
		{"bare quote", "a,b\nc,d\"x\ne,f\n", 1, true},
		{"text after a closing quote", "a,b\n\"c\"x,d\n", 1, true},
		{"unterminated quote", "a,b\nc,\"d\ne,f\n", 1, true},
		{"too many fields", "a,b\nc,d,e\n", 1, true},
		{"too few fields", "a,b\nc\n", 1, true},
		{"lone carriage return", "a,b\nc\rd,e\n", 1, false},
		{"carriage return in quotes", "a,b\n\"c\rd\",e\n", 1, false},
		{"carriage return at the end", "a,b\nc,d\r", 1, false},
	} {
		rec, bad, err := splitLikeCSV(t, c.name, []byte(c.in), 2)
		if !bad || rec != c.rec || (err != nil) != c.csvErr {
			t.Errorf("%s: the splitter stopped %v after %d records (encoding/csv: %v); want a stop after %d, encoding/csv error %v",
				c.name, bad, rec, err, c.rec, c.csvErr)
		}
		var pe *csv.ParseError
		if c.csvErr && !errors.As(err, &pe) {
			t.Errorf("%s: encoding/csv error %v is not a ParseError", c.name, err)
		}
	}
}

// FuzzCSVSplitter compares csvSplitter with encoding/csv on any input and
// field count: every record the splitter reads is the one encoding/csv
// reads, fields and line; where it stops, encoding/csv either fails or is
// at the end too.
func FuzzCSVSplitter(f *testing.F) {
	data := generatedCSV(f, 5)
	f.Add(data, uint8(57))
	f.Add(oddCSV(f, generatedCSV(f, 12)), uint8(57))
	f.Add([]byte("a,\"b\r\nc\"\"\",d\r\n\r\n\n\"\",,\n"), uint8(3))
	f.Add([]byte("x\n\"y\"\"\"\nz"), uint8(1))
	f.Add([]byte("a,b\nc,"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		splitLikeCSV(t, "fuzz", data, int(n%60)+1)
	})
}

// recordsEndByByte is csvRecordsEnd walked byte by byte: the end of the last
// newline with an even number of quotes before it.
func recordsEndByByte(b []byte) int {
	end, in := 0, false
	for i, c := range b {
		switch {
		case c == '"':
			in = !in
		case c == '\n' && !in:
			end = i + 1
		}
	}
	return end
}

// TestCSVRecordsEndByByte compares csvRecordsEnd with the byte-by-byte
// walk on every prefix of a CSV with multi-line quoted fields and doubled
// quotes.
func TestCSVRecordsEndByByte(t *testing.T) {
	data := oddCSV(t, generatedCSV(t, 20))
	inside := 0
	for n := range len(data) + 1 {
		got, want := csvRecordsEnd(data[:n]), recordsEndByByte(data[:n])
		if got != want {
			t.Fatalf("prefix of %d bytes: csvRecordsEnd = %d, the byte walk %d", n, got, want)
		}
		if n > 0 && data[n-1] == '\n' && want < n {
			inside++ // a newline inside quotes was passed over
		}
	}
	if inside == 0 {
		t.Fatal("no prefix ended in a newline inside quotes")
	}
}

// FuzzCSVRecordsEnd compares csvRecordsEnd with the byte-by-byte walk.
func FuzzCSVRecordsEnd(f *testing.F) {
	f.Add([]byte("a,\"b\n\"\"c\"\nd,\"e\n"))
	f.Add([]byte("\"\n\"\n\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := csvRecordsEnd(data), recordsEndByByte(data); got != want {
			t.Fatalf("csvRecordsEnd = %d, the byte walk %d", got, want)
		}
	})
}

// TestSpecialAt compares the eight-bytes-at-a-time scan with a byte loop on
// every placement of two bytes from a set of special bytes, their
// neighbours and high bytes, in strings of up to 20 bytes from each start.
func TestSpecialAt(t *testing.T) {
	set := []byte{',', '\n', '\r', '"', 0x00, 0x01, 0x09, 0x0b, 0x0c, 0x21, 0x23, 0x2b, 0x2d, 0x80, 0xac, 0xff, 'a'}
	byLoop := func(s string, i int) int {
		for i < len(s) && !csvSpecial[s[i]] {
			i++
		}
		return i
	}
	checked := 0
	for n := 0; n <= 20; n++ {
		for p1 := 0; p1 < max(n, 1); p1++ {
			for p2 := p1; p2 < n; p2++ {
				for _, c1 := range set {
					for _, c2 := range set {
						b := bytes.Repeat([]byte{'x'}, n)
						if n > 0 {
							b[p1], b[p2] = c1, c2
						}
						s := string(b)
						for i := 0; i <= n; i++ {
							if got, want := specialAt(s, i), byLoop(s, i); got != want {
								t.Fatalf("specialAt(%q, %d) = %d, want %d", s, i, got, want)
							}
							checked++
						}
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

// TestCSVFastPath checks that the parallel reader's fast path maps whole
// chunks of portal exports without handing them to encoding/csv, with the
// Events of the one-goroutine reader (which uses encoding/csv).
func TestCSVFastPath(t *testing.T) {
	odd := oddCSV(t, generatedCSV(t, 200))
	for name, data := range map[string][]byte{"generated": generatedCSV(t, 200), "odd": odd, "odd-no-eol": bytes.TrimRight(odd, "\r\n")} {
		for _, keep := range [][]string{nil, {"location", "Conditional Access"}} {
			want, _, err := readAs(t, data, 1, keep, ShapePortalCSV)
			if err != nil || len(want) != 200 {
				t.Fatalf("%s: %d events, error %v", name, len(want), err)
			}
			r, err := NewReader(bytes.NewReader(data), "in.csv")
			if err != nil {
				t.Fatal(err)
			}
			if keep != nil {
				r.KeepExtra(keep)
			}
			r.csvStart()
			adm := r.csvAdmits()
			c := &ndChunk{data: data[bytes.IndexByte(data, '\n')+1:], line: 1}
			var sp csvSplitter
			if !r.csvFast(&sp, r.csvRow(adm), r.csvReadColumns(adm), c, 1<<30) {
				t.Fatalf("%s (keep %v): the fast path handed the chunk to encoding/csv", name, keep)
			}
			if len(c.out) != len(want) {
				t.Fatalf("%s (keep %v): %d results, want %d", name, keep, len(c.out), len(want))
			}
			for i, res := range c.out {
				if !reflect.DeepEqual(res.ev, want[i]) {
					t.Fatalf("%s (keep %v): event %d differs:\n got %+v\nwant %+v", name, keep, i, res.ev, want[i])
				}
			}
		}
	}
}

// TestOneLineReadsPlainRecords checks that the one-line path, not the
// byte-by-byte loop, reads the records of a portal export (a quoted
// location in each; CRLF or LF line ends), as the speed of the parallel
// reader depends on it, and that it leaves a record spanning lines to the loop.
func TestOneLineReadsPlainRecords(t *testing.T) {
	data := generatedCSV(t, 300)
	n := headerFields(t, data)
	body := string(data[bytes.IndexByte(data, '\n')+1:])
	if !strings.Contains(body, "\r\n") {
		t.Fatal("the generated export has no CRLF line ends")
	}
	for name, s := range map[string]string{"crlf": body, "lf": strings.ReplaceAll(body, "\r\n", "\n")} {
		var sp, one csvSplitter
		sp.reset(s, n, 1<<30)
		one.reset(s, n, 1<<30)
		recs := 0
		for {
			from := sp.pos
			_, ok, bad := sp.next()
			if bad {
				t.Fatalf("%s: record %d left to encoding/csv", name, recs+1)
			}
			if !ok {
				break
			}
			recs++
			if next, ok := one.oneLine(from); !ok || next != sp.pos {
				t.Fatalf("%s: record %d (%q): oneLine = %d, %v; next ended at %d", name, recs, s[from:sp.pos], next, ok, sp.pos)
			}
		}
		if recs != 300 {
			t.Fatalf("%s: %d records, want 300", name, recs)
		}
	}
	var sp csvSplitter
	sp.reset("a,\"b\nc\",d\n", 3, 1<<30)
	if _, ok := sp.oneLine(0); ok {
		t.Fatal("oneLine read a record whose quoted field holds a newline")
	}
	if _, ok, bad := sp.next(); !ok || bad || sp.field(1) != "b\nc" {
		t.Fatalf("next: ok %v bad %v, field 1 %q", ok, bad, sp.field(1))
	}
}
