package entralog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// FuzzReader feeds arbitrary bytes to NewReader and Events: no panic, every
// failure a *trace.InputError, at most one error and nothing after it, and
// every Event with a kind and a position.
func FuzzReader(f *testing.F) {
	seeds := testutil.SharedFiles(f, "entra", "*")
	local, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*"))
	for _, p := range append(append(seeds, local...), bad...) {
		if filepath.Ext(p) == ".md" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("NewReader error %T is not an InputError: %v", err, err)
			}
			return
		}
		failed := false
		for ev, err := range r.Events() {
			if failed {
				t.Fatal("yield after an error")
			}
			if err != nil {
				failed = true
				var ie *trace.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("error %T is not an InputError: %v", err, err)
				}
				if ev != nil {
					t.Fatal("event with an error")
				}
				continue
			}
			if ev == nil || ev.Kind == "" || ev.Line <= 0 || ev.Shape != r.Shape() {
				t.Fatalf("incomplete event %+v", ev)
			}
		}
	})
}

// FuzzFastJSON checks the NDJSON fast path against jsontext: whatever the
// fast parser accepts, jsontext accepts too, with the same tree.
func FuzzFastJSON(f *testing.F) {
	for _, p := range testutil.SharedFiles(f, "entra", "*.log") {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range bytes.Split(b, []byte("\n")) {
			f.Add(l)
		}
	}
	for _, s := range []string{`{"a":"\u00e9\n","b":[1,-0.5e+3,true,null,{}],"c":{"d":[]}}`, `{"a":01}`, `{"a":"x`, `[1,]`, `{"a":"\t"}`, `"x" 1`, `-`, `1.`, `{"k":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps := newParser(nil)
		fastN, ok := ps.fastLine(string(data), false)
		dec := jsontext.NewDecoder(bytes.NewReader(data), jsonOpts...)
		ps.dec = dec
		slowN, err := ps.record(false)
		if err == nil {
			if _, e := dec.ReadToken(); e != io.EOF {
				err = errors.New("trailing data")
			}
		}
		if !ok {
			return // the slow path decides
		}
		if err != nil {
			t.Fatalf("fast path accepted %q, jsontext rejects it: %v", data, err)
		}
		if utf8.Valid(data) {
			if a, b := string(fastN.appendJSON(nil)), string(slowN.appendJSON(nil)); a != b {
				t.Fatalf("trees differ for %q:\nfast %s\nslow %s", data, a, b)
			}
		}
	})
}

// FuzzFastJSONLines is FuzzFastJSON over the lines of the input read by one
// parser, as NDJSON is: object names predicted from the line before (see
// fast.predicted) must give the trees jsontext gives, and nothing jsontext
// rejects.
func FuzzFastJSONLines(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":"x"}}` + "\n" + `{"a":2,"b":{"c":"y"}}` + "\n" + `{"a":3,"bb":{"c":"z"}}`))
	f.Add([]byte(`{"k":1}` + "\n" + `{"k"x:1}` + "\n" + `{"k\"":1}` + "\n" + `{"k":1,"k":2}`))
	f.Add([]byte(`{"ab":1}` + "\n" + `{"a":1}` + "\n" + `{"abc":1}` + "\n" + `{"ab" :1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps := newParser(nil)
		for _, line := range bytes.Split(data, []byte("\n")) {
			fastN, ok := ps.fastLine(string(line), true)
			if !ok {
				continue
			}
			slow := newParser(jsontext.NewDecoder(bytes.NewReader(line), jsonOpts...))
			slowN, err := slow.record(true)
			if err == nil {
				if _, e := slow.dec.ReadToken(); e != io.EOF {
					err = errors.New("trailing data")
				}
			}
			if err != nil {
				t.Fatalf("fast path accepted %q after the lines before it, jsontext rejects it: %v", line, err)
			}
			if utf8.Valid(line) {
				if a, b := string(fastN.appendJSON(nil)), string(slowN.appendJSON(nil)); a != b {
					t.Fatalf("trees differ for %q:\nfast %s\nslow %s", line, a, b)
				}
			}
		}
	})
}
