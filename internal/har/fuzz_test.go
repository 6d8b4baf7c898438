package har

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// seed adds the small shared HAR samples (and a few synthetic documents).
// Large samples are left out: the fuzzer minimizes every new interesting
// input, which takes minutes on inputs of tens of kilobytes.
func seed(f *testing.F) {
	for _, path := range testutil.SharedFiles(f, "har", "*") {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 16<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(doc(minimalEntry)))
	f.Add([]byte(doc(`{"request":{"headers":[["a","b"]]},"_webSocketMessages":[{"type":"send","data":"x"}]}`)))
}

// FuzzReader: any input gives flows or an InputError, never a panic; what
// reads successfully must agree with Count and survive a write and re-read.
func FuzzReader(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		flows, meta, err := readAll(data, "fuzz")
		if err != nil {
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error is %T, not *trace.InputError: %v", err, err)
			}
			if ie.Offset < 0 || ie.Offset > int64(len(data)) {
				t.Fatalf("offset %d outside the input (%d bytes): %v", ie.Offset, len(data), err)
			}
			return
		}
		n, err := Count(bytes.NewReader(data), "fuzz")
		if err != nil || n != len(flows) {
			t.Fatalf("reader read %d flows, Count = %d, %v", len(flows), n, err)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, meta)
		for _, fl := range flows {
			if err := w.WriteFlow(fl); err != nil {
				t.Fatalf("write: %v", err)
			}
		}
		if err := w.Close(meta); err != nil {
			t.Fatalf("close: %v", err)
		}
		again, _, err := readAll(buf.Bytes(), "rewritten")
		if err != nil || len(again) != len(flows) {
			t.Fatalf("re-read %d of %d flows: %v", len(again), len(flows), err)
		}
		for i := range flows {
			a, b := flows[i], again[i]
			if a.Request.Method != b.Request.Method || a.Request.URL != b.Request.URL || !bytes.Equal(a.Request.Body, b.Request.Body) {
				t.Fatalf("flow %d request changed", a.ID)
			}
			if (a.Response == nil) != (b.Response == nil) || a.Response != nil && !bytes.Equal(a.Response.Body, b.Response.Body) {
				t.Fatalf("flow %d response changed", a.ID)
			}
		}
	})
}

// FuzzCount: Count never panics, returns InputErrors, and whenever the full
// reader succeeds Count agrees with it.
func FuzzCount(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Count(bytes.NewReader(data), "fuzz")
		if err != nil {
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error is %T, not *trace.InputError: %v", err, err)
			}
			if _, _, rerr := readAll(data, "fuzz"); rerr == nil {
				t.Fatalf("Count failed (%v) but the reader succeeded", err)
			}
			return
		}
		if flows, _, rerr := readAll(data, "fuzz"); rerr == nil && len(flows) != n {
			t.Fatalf("Count = %d, reader read %d", n, len(flows))
		}
	})
}

// FuzzUnquote holds the reader's fast unescaping of body text to
// jsontext.AppendUnquote's result for every JSON string jsontext accepts.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`""`, `"plain"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20AC\u0000x"`, `"\ud83d\ude00"`, `"\udc00"`, "\"\xff\"", `"{\"k\":\"v\"}"`, `"é€😀"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := jsontext.NewDecoder(bytes.NewReader(in), jsontext.AllowInvalidUTF8(true))
		v, err := d.ReadValue()
		if err != nil || v.Kind() != '"' {
			return
		}
		want, _ := jsontext.AppendUnquote(nil, v)
		got, ok := unquote(nil, v)
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("unquote(%q) = %q, jsontext gives %q", v, got, want)
		}
		if !ok && utf8.Valid(v) && !bytes.Contains(bytes.ToLower(v), []byte(`\ud`)) {
			t.Fatalf("unquote gave up on %q, which has no invalid UTF-8 and no surrogate", v)
		}
	})
}
