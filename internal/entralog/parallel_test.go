package entralog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// readWith reads data with the given number of workers (and the Extra
// filter when keep is non-nil) and returns the events, the error that ended
// the stream (if any) and Skipped.
func readWith(t *testing.T, data []byte, workers int, keep []string) ([]*trace.Event, map[string]int, error) {
	t.Helper()
	return readAs(t, data, workers, keep, ShapeDiagnostic)
}

// readAs is readWith for an input of the given shape.
func readAs(t *testing.T, data []byte, workers int, keep []string, shape string) ([]*trace.Event, map[string]int, error) {
	t.Helper()
	name := "in.ndjson"
	if shape != ShapeDiagnostic {
		name = "in.csv"
	}
	r, err := NewReader(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	if r.Shape() != shape {
		t.Fatalf("shape %s, want %s", r.Shape(), shape)
	}
	if keep != nil {
		r.KeepExtra(keep)
	}
	r.SetWorkers(workers)
	var evs []*trace.Event
	var last error
	for ev, err := range r.Events() {
		if last != nil {
			t.Fatal("yield after an error")
		}
		if err != nil {
			last = err
			continue
		}
		evs = append(evs, ev)
	}
	return evs, r.Skipped(), last
}

// sameRead checks that reading data on several workers gives what one gives:
// the same events in the same order, the same error at the same place, the
// same skipped counts.
func sameRead(t *testing.T, name string, data []byte, keep []string) {
	t.Helper()
	sameReadAs(t, name, data, keep, ShapeDiagnostic)
}

// sameReadAs is sameRead for an input of the given shape.
func sameReadAs(t *testing.T, name string, data []byte, keep []string, shape string) {
	t.Helper()
	want, wantSkip, wantErr := readAs(t, data, 1, keep, shape)
	for _, w := range []int{2, 3} {
		got, gotSkip, gotErr := readAs(t, data, w, keep, shape)
		if len(got) != len(want) {
			t.Errorf("%s, %d workers: %d events, want %d", name, w, len(got), len(want))
		}
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("%s, %d workers: event %d (line %d) differs:\n got %+v\nwant %+v", name, w, i, want[i].Line, got[i], want[i])
				break
			}
		}
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%s, %d workers: error %v, want %v", name, w, gotErr, wantErr)
		}
		var ge, we *trace.InputError
		if errors.As(gotErr, &ge) && errors.As(wantErr, &we) {
			g, w2 := *ge, *we
			g.Err, w2.Err = nil, nil
			if g != w2 || ge.Err.Error() != we.Err.Error() {
				t.Errorf("%s, %d workers: error %+v, want %+v", name, w, *ge, *we)
			}
		}
		if !reflect.DeepEqual(gotSkip, wantSkip) {
			t.Errorf("%s, %d workers: skipped %v, want %v", name, w, gotSkip, wantSkip)
		}
	}
}

func generated(t *testing.T, kind string, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Generate(&b, ShapeDiagnostic, kind, n, 7); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParallelNDJSONSameAsOneWorker(t *testing.T) {
	signins := generated(t, trace.KindSignIn, 2500) // several chunks
	audit := generated(t, trace.KindAudit, 2500)
	if len(signins) < 3*chunkSize {
		t.Fatalf("generated input of %d bytes is less than three chunks", len(signins))
	}
	lines := bytes.SplitAfter(signins, []byte("\n"))
	other, err := os.ReadFile(filepath.Join("testdata", "bad", "unknown_category.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	// Blank lines, CRLF endings, a record of another category, no final newline.
	var odd bytes.Buffer
	for i, l := range lines[:1500] {
		switch i % 400 {
		case 3:
			odd.WriteString("\n   \n")
		case 5:
			l = append(bytes.TrimSuffix(l, []byte("\n")), "\r\n"...)
		case 7:
			odd.Write(bytes.TrimSpace(other))
			odd.WriteString("\n")
		}
		odd.Write(l)
	}
	oddNoEOL := bytes.TrimSuffix(odd.Bytes(), []byte("\n"))
	// A malformed line deep in the input, then more lines.
	bad := append(append(bytes.Join(lines[:1234], nil), `{"time": "2024-05-01T00:00:00Z", "category": "SignInLogs", "properties": {"appId": `+"\n"...), bytes.Join(lines[1234:1300], nil)...)
	// A record whose mapping fails (a bad timestamp), not its JSON.
	badTime := append(bytes.Join(lines[:777], nil), bytes.Replace(lines[777], []byte(`"createdDateTime":"2`), []byte(`"createdDateTime":"x2`), 1)...)
	inputs := map[string][]byte{"signins": signins, "audit": audit, "odd": odd.Bytes(), "odd-no-eol": oddNoEOL, "bad-line": bad, "bad-time": badTime}
	for _, p := range testutil.SharedFiles(t, "entra", "*.log") {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := NewReader(bytes.NewReader(b), p); err == nil && r.Shape() == ShapeDiagnostic {
			inputs[filepath.Base(p)] = b
		}
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "diag_mixed.ndjson")); err == nil {
		inputs["diag_mixed"] = b
	} else {
		t.Fatal(err)
	}
	for name, data := range inputs {
		sameRead(t, name, data, nil)
		sameRead(t, name+" (KeepExtra)", data, []string{"location", "tenantId", "conditionalAccessStatus"})
	}
	// The errors are the ones expected, not merely the same.
	if _, _, err := readWith(t, bad, 2, nil); err == nil || !strings.Contains(err.Error(), "record 1235: line 1235") {
		t.Errorf("bad line: error %v, want one at line 1235", err)
	}
	if _, _, err := readWith(t, badTime, 2, nil); err == nil || !strings.Contains(err.Error(), "unrecognised timestamp") {
		t.Errorf("bad time: error %v, want an unrecognised timestamp", err)
	}
}

func TestParallelNDJSONLineTooLong(t *testing.T) {
	defer func(n int) { maxRecordBytes = n }(maxRecordBytes)
	maxRecordBytes = 4000
	lines := bytes.SplitAfter(generated(t, trace.KindSignIn, 50), []byte("\n"))
	long := func(n int) []byte {
		return []byte(`{"time": "2024-05-01T00:00:00Z", "category": "SignInLogs", "properties": {"x": "` + strings.Repeat("a", n) + `"}}` + "\n")
	}
	for _, size := range []int{5000, chunkSize + 1000} {
		in := append(append(bytes.Join(lines[:20], nil), long(size)...), bytes.Join(lines[20:40], nil)...)
		sameRead(t, fmt.Sprintf("line of %d bytes", size), in, nil)
		evs, _, err := readWith(t, in, 2, nil)
		var ie *trace.InputError
		if len(evs) != 20 || !errors.As(err, &ie) || ie.Line != 21 || ie.Entry != 21 || !errors.Is(err, errTooLarge) {
			t.Errorf("line of %d bytes: %d events, error %v; want 20 events and a too-large error at line 21", size, len(evs), err)
		}
	}
}

// TestKeepExtraKeepsTheNamedFields checks the filter: the named fields, by
// their last dotted segment in any ASCII case, in the order of the full
// Extra; the mapped fields unchanged.
func TestKeepExtraKeepsTheNamedFields(t *testing.T) {
	data := generated(t, trace.KindSignIn, 200)
	keep := []string{"LOCATION", "tenantid", "city"}
	all, _, err1 := readWith(t, data, 1, nil)
	some, _, err2 := readWith(t, data, 1, keep)
	if err1 != nil || err2 != nil || len(all) != len(some) || len(all) == 0 {
		t.Fatalf("reads: %v, %v, %d and %d events", err1, err2, len(all), len(some))
	}
	f := newExtraFilter(keep)
	kept := 0
	for i := range all {
		var want []trace.KV
		for _, kv := range all[i].Extra {
			last := kv.Key[strings.LastIndexByte(kv.Key, '.')+1:]
			if slices_containsFold(keep, last) {
				want = append(want, kv)
			}
		}
		if !reflect.DeepEqual(some[i].Extra, want) {
			t.Fatalf("event %d: Extra %v, want %v", i, some[i].Extra, want)
		}
		kept += len(want)
		a, b := *all[i], *some[i]
		a.Extra, b.Extra = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("event %d: mapped fields differ with the filter", i)
		}
	}
	if kept == 0 {
		t.Fatal("the filter kept nothing: the generated records have tenantId and location")
	}
	if !f.admits("properties.Location") || f.admits("deviceDetail") || !f.admits("loc\u0131tion") {
		t.Error("admits: wrong answer for properties.Location, deviceDetail or a non-ASCII name")
	}
}

func slices_containsFold(names []string, s string) bool {
	for _, n := range names {
		if strings.EqualFold(n, s) {
			return true
		}
	}
	return false
}

// FuzzParallelNDJSON checks the parallel NDJSON reader against the
// one-goroutine reader on any input detected as NDJSON: the same events,
// the same error, the same skipped counts. Small chunks make every line
// boundary a chunk boundary somewhere.
func FuzzParallelNDJSON(f *testing.F) {
	lines := bytes.SplitAfter(generatedF(f, 30), []byte("\n"))
	f.Add(bytes.Join(lines, nil))
	f.Add(append(bytes.Join(lines[:5], nil), "\n\r\n{\"category\":\"RiskyUsers\",\"properties\":{}}\n{\"time\": 1"...))
	if b, err := os.ReadFile(filepath.Join("testdata", "diag_mixed.ndjson")); err == nil {
		f.Add(b)
	}
	defer func(n int) { chunkSize = n }(chunkSize)
	chunkSize = 200
	f.Fuzz(func(t *testing.T, data []byte) {
		if r, err := NewReader(bytes.NewReader(data), "in.ndjson"); err != nil || r.Shape() != ShapeDiagnostic {
			return
		}
		sameRead(t, "fuzz", data, nil)
	})
}

func generatedF(f *testing.F, n int) []byte {
	var b bytes.Buffer
	if err := Generate(&b, ShapeDiagnostic, trace.KindSignIn, n, 1); err != nil {
		f.Fatal(err)
	}
	return b.Bytes()
}
