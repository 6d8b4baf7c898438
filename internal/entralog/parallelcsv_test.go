package entralog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

func generatedCSV(t testing.TB, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Generate(&b, ShapePortalCSV, trace.KindSignIn, n, 7); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// oddCSV rewrites a generated portal CSV so that every few records has a
// quoted field with newlines, doubled quotes and commas in it, a CRLF ending
// or a blank line before it.
func oddCSV(t testing.TB, data []byte) []byte {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(data))
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	for i, rec := range recs {
		if i > 0 && i%7 == 3 {
			// User agent: a multi-line value with quotes and commas.
			rec[2] = "line one\n\"quoted\", and more\n\nlast line " + fmt.Sprint(i)
		}
		w.UseCRLF = i%5 == 2
		if i > 0 && i%11 == 4 {
			w.Flush()
			b.WriteString("\n")
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return b.Bytes()
}

func TestParallelCSVSameAsOneWorker(t *testing.T) {
	signins := generatedCSV(t, 2500)
	if len(signins) < 3*chunkSize {
		t.Fatalf("generated input of %d bytes is less than three chunks", len(signins))
	}
	odd := oddCSV(t, generatedCSV(t, 800))
	if !bytes.Contains(odd, []byte("\"\"quoted\"\"")) {
		t.Fatal("oddCSV wrote no doubled quote")
	}
	lines := bytes.SplitAfter(signins, []byte("\n"))
	// A bare quote deep in the input, then more records.
	bareQuote := append(bytes.Join(lines[:1234], nil), append([]byte(`a"b`), lines[1234]...)...)
	bareQuote = append(bareQuote, bytes.Join(lines[1235:1300], nil)...)
	// A record with one field too many.
	tooMany := append(bytes.Join(lines[:999], nil), bytes.Replace(lines[999], []byte("\r\n"), []byte(",x\r\n"), 1)...)
	tooMany = append(tooMany, bytes.Join(lines[1000:1100], nil)...)
	// A record whose mapping fails (a bad timestamp), not its CSV.
	badTime := append(bytes.Join(lines[:777], nil), append([]byte("x"), lines[777]...)...)
	badTime = append(badTime, bytes.Join(lines[778:800], nil)...)
	// An unterminated quote at the end.
	unterminated := append(bytes.Join(lines[:600], nil), `2024-05-01T00:00:02Z,"never closed`...)
	inputs := map[string][]byte{"signins": signins, "odd": odd, "odd-no-eol": bytes.TrimRight(odd, "\r\n"),
		"bare-quote": bareQuote, "too-many": tooMany, "bad-time": badTime, "unterminated": unterminated}
	for _, p := range append(testutil.SharedFiles(t, "entra", "*.csv"), mustGlob(t, filepath.Join("testdata", "*.csv"))...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(p)] = b
	}
	if r, err := NewReader(bytes.NewReader(signins), "in.csv"); err != nil || !r.csv.split {
		t.Fatalf("the generated CSV would be read in one goroutine (error %v)", err)
	}
	for _, small := range []bool{false, true} {
		if small {
			defer func(n int) { chunkSize = n }(chunkSize)
			chunkSize = 300 // most record ends are chunk ends somewhere
		}
		for name, data := range inputs {
			r, err := NewReader(bytes.NewReader(data), "in.csv")
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			sameReadAs(t, name, data, nil, r.Shape())
			sameReadAs(t, name+" (KeepExtra)", data, []string{"location", "Conditional Access", "Request ID"}, r.Shape())
		}
	}
	// The errors are the ones expected, not merely the same.
	for name, want := range map[string]int{"bare-quote": 1235, "too-many": 1000, "bad-time": 778, "unterminated": 601} {
		_, _, err := readAs(t, inputs[name], 2, nil, ShapePortalCSV)
		var ie *trace.InputError
		if !errors.As(err, &ie) || ie.Line != want || ie.Entry != want-1 {
			t.Errorf("%s: error %v, want one at record %d, line %d", name, err, want-1, want)
		}
	}
	evs, _, err := readAs(t, odd, 2, nil, ShapePortalCSV)
	if err != nil || len(evs) != 800 {
		t.Errorf("odd: %d events, error %v; want 800 and none", len(evs), err)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("no files match %s", pattern)
	}
	return m
}

// TestCSVRecordsEnd checks the quote-counting cut against encoding/csv: the
// cut is the end of a record encoding/csv reads.
func TestCSVRecordsEnd(t *testing.T) {
	in := "a,b\n\"x\ny\",\"q\"\"\n\"\nlast,\"open\n"
	if got, want := csvRecordsEnd([]byte(in)), strings.Index(in, "last"); got != want {
		t.Errorf("csvRecordsEnd = %d, want %d", got, want)
	}
	if got := csvRecordsEnd([]byte(`"only a quoted field`)); got != 0 {
		t.Errorf("csvRecordsEnd of an open quote = %d, want 0", got)
	}
}

// FuzzParallelCSV checks the parallel CSV reader against the one-goroutine
// reader, which parses with encoding/csv in one pass, on any input detected
// as CSV: the same events, the same error at the same place. Small chunks
// make record ends chunk ends.
func FuzzParallelCSV(f *testing.F) {
	data := generatedCSV(f, 20)
	f.Add(data)
	f.Add(oddCSV(f, data))
	f.Add([]byte("OperationName,InitiatedBy,TargetResources\nx,\"{}\",\"[\n]\"\n\"y\"\"\",{},[]\r\n"))
	for _, p := range []string{"AuditLogs_2024-05-14.csv", filepath.Join("bad", "badquote.csv"), filepath.Join("bad", "toomany.csv")} {
		b, err := os.ReadFile(filepath.Join("testdata", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	defer func(n int) { chunkSize = n }(chunkSize)
	chunkSize = 200
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "in.csv")
		if err != nil || (r.Shape() != ShapePortalCSV && r.Shape() != ShapeLACSV) {
			return
		}
		sameReadAs(t, "fuzz", data, nil, r.Shape())
	})
}
